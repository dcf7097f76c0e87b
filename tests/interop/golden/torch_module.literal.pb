
~|


PyTorchModuleg/tmp/flytelite-golden-mkk787l3/raw/cf7b14e20855421a5824cf33ae9179ca/4d99058cf7dae11714a5566a2b245e9f.pt