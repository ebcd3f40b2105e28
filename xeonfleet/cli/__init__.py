"""The one front door, `xeonfleet`: one module per command group (main.py assembles them).

Nothing else in xeonfleet imports this package: the commands call down into audit/, tune/, bench/ (the
fleet benchmarks), lab/ and connect/, never the other way round.
"""
