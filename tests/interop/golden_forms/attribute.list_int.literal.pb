

“msgpack