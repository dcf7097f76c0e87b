
PBN
C/tmp/flytelite-golden-tw33lxbb/raw/387058e9542ce198dc57ee4e79868bd1
csv