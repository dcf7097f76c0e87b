
'%
§by_rank‚¡1¤gold¡2¦silvermsgpack