Only short."
https://github.com/acme/repo