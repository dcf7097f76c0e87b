

¡xmsgpack