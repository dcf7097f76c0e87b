

‚¡a¡bmsgpack