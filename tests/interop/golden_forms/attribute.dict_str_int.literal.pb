

‚¡a¡bmsgpack