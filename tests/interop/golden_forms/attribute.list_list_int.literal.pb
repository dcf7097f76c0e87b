

’‘’msgpack