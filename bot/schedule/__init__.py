"""Schedule maths: pure functions of dates.

Nothing in this package reads a clock, a file or a database.  ``now`` and the
holiday set are always passed in, so every function can be tested with plain
dates.
"""
