
fBd
C/tmp/flytelite-golden-tw33lxbb/raw/80ccfd231202efc85b48512e978f039a


a

cparquet