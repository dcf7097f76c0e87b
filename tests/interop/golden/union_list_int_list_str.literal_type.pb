R(
Z

Typed List
Z

Typed List