*

NumpyArray