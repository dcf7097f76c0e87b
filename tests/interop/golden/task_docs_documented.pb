	Adds one.3
Adds one to a number."https://acme.io/icon.png"
https://github.com/acme/repo