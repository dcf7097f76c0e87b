
#!
ƒ¤flag¥names‘¥maybemsgpack