J(
&
$
literal_values2
fast
slow