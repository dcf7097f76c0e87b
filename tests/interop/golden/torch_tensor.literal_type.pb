*
PyTorchTensor