
O
?
a:
5*
PythonPickle2#
!
python_class_name
typing.Anya

b
bC
A
o0;
5*
PythonPickle2#
!
python_class_name
typing.Anyo0