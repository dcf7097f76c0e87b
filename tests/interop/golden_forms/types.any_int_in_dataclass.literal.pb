

‚¡a¤tags‘¡tmsgpack