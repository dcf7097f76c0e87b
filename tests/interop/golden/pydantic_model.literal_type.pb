	2Ž
¾

properties¯*¬
P
layersF*D

items*

type	integer

titleLayers

typearray
)
lr#*!

titleLr

typenumber
-
name%*#

titleName

typestring
&
required2
lr
layers
name

titleConfig

typeobjectJ?
=
;
cache-key-metadata%*#
!
serialization-format	msgpackZ&
layers
lr

name