
(:&
$
paths3://my-bucket/data/images