
|z



NumpyArrayh/tmp/flytelite-golden-mkk787l3/raw/103fd9b2291ced97c06cdccd10a4f976/55ea48376d7e19290d047e538e339bd8.npy