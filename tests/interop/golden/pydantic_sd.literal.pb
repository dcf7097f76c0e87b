
xv
k‚¤name¡t¤data‚£uriÙC/tmp/flytelite-golden-tw33lxbb/raw/9205ff24cd1e378efad22bd29818206f«file_format§parquetmsgpack