*
PythonPickle2/
-
python_class_name<class 'cases.Opaque'>