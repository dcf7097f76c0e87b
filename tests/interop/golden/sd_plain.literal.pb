
TBR
C/tmp/flytelite-golden-tw33lxbb/raw/5dbb8348f4a94d36156b6ef1140071e7
	parquet