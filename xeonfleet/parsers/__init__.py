"""Pure parsers of the probe output: text in, plain dicts out; no I/O, no pyinfra.

Every parser takes an `errors` list and appends one line per thing it could not read, so a
messy node yields the best honest answer plus the reason, never an exception.
"""
