

*msgpack