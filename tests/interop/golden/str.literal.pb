


héllo