
)'
	

csvs3://my-bucket/data/tables