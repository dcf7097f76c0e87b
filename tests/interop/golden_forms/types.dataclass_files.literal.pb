
ge
Zƒ¤data¤path¾s3://my-bucket/data/report.csv¦folder¤pathºs3://my-bucket/data/tables¤name¡bmsgpack