

ƒ¡a¡b’¡c¡d¡emsgpack