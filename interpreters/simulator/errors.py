"""The error every failing run raises."""


class InterpreterError(Exception):
    """A run that cannot go on: out-of-bounds access, scratchpad overflow, a race...
    The message names the op and where it is."""
