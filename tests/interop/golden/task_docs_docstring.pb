Doubles a number.-
)Longer text about
doubling, in two lines.