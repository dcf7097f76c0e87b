

msgpack