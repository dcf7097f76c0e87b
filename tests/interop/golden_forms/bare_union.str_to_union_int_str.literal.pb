
	
seven