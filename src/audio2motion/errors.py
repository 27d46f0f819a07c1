"""The one exception type for bad user input; command-line entry points print it as one line."""


class InputError(ValueError):
    """A file, folder or setting given by the user cannot be used. The message names it and the problem."""
