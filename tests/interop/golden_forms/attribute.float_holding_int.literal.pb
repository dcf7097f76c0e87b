

msgpack