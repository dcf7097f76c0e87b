*
csv