

Àmsgpack