
zx


PythonPickled/tmp/flytelite-golden-jah6m72v/raw/4a83a46576ac3afb7fc6e29203e7acc6/b04c01a6d1a38357097b97c5c50cde5b