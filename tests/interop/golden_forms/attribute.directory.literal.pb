
.,
!¤pathºs3://my-bucket/data/imagesmsgpack