
'%
É§flag√•namesí°x°y•maybe°mmsgpack