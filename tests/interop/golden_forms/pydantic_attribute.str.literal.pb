

¶h√©llomsgpack