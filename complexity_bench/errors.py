"""One exception type for everything a user can fix.

The CLI prints a ``UserError`` as a single line and exits non-zero; anything
else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input: the message says what was wrong and how to fix it."""
