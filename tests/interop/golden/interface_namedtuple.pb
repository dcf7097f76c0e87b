


x
x,

label
label

total
total