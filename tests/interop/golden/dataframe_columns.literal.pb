
fBd
C/tmp/flytelite-golden-tw33lxbb/raw/58ebb8f724f9039b02d17e200c7b1629


a

cparquet