
20
%¤path¾s3://my-bucket/data/report.csvmsgpack