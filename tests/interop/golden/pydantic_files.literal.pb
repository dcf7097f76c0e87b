
ge
Zƒ¤name¡r¤data¤path¾s3://my-bucket/data/report.csv¦folder¤pathºs3://my-bucket/data/imagesmsgpack