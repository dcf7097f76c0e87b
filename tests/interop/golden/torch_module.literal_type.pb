*
PyTorchModule