
xv
k‚¤name¡t¤data‚£uriÙC/tmp/flytelite-golden-tw33lxbb/raw/0504e74e4cb4f57ecef1cd03a6f6903c«file_format§parquetmsgpack