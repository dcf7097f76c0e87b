

¤slowmsgpack