
~|


PyTorchTensorg/tmp/flytelite-golden-mkk787l3/raw/063ba222577fc010506363855a14bd09/60086e8318ebfcda0ea7516a062efe5e.pt