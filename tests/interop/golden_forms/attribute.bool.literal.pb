

Ãmsgpack