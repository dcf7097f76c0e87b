
,:*
(
path s3://my-bucket/data/report.csv