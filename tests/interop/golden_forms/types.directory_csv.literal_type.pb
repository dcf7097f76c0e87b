*
csv