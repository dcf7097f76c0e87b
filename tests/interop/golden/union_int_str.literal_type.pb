R
	Z
int
	Z
str