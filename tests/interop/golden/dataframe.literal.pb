
TBR
C/tmp/flytelite-golden-yfgwo1i0/raw/718715e9a8dc823053568c935e27ddcc
	parquet