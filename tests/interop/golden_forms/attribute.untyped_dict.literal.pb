

	‚¡a¡b’msgpack