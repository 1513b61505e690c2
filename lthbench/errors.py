"""The one exception type for bad input: the CLI prints its message and exits with status 2."""


class UserError(Exception):
    """Bad input from the user (an entry, a flag, missing data): one clear line, no traceback."""

    exit_status = 2
