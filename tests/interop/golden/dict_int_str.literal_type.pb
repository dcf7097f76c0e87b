	J?
=
;
cache-key-metadata%*#
!
serialization-format	msgpack