

‚¡aþ¡bmsgpack