"""`make bench`: Tandem against a hand-written floor app, on the same data and the same SQL."""
