
J


x	Z
str