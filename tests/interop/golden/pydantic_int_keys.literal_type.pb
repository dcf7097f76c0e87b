	2¶
s

propertiese*c
a
by_rankV*T
,
additionalProperties*

typestring

title	By Rank

typeobject

required2
	by_rank

title	Ranking

typeobjectJ?
=
;
cache-key-metadata%*#
!
serialization-format	msgpackZPN
by_rankC	J?
=
;
cache-key-metadata%*#
!
serialization-format	msgpack