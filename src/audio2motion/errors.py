"""Errors that entry points print as one line (`error: ...`) before exiting with status 1."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from hydra.errors import InstantiationException
from omegaconf.errors import MissingMandatoryValue


class InputError(ValueError):
    """A file, folder or setting given by the user cannot be used. The message names it and the problem."""


class DivergedError(RuntimeError):
    """Training produced a non-finite loss or gradient too many steps in a row."""


@contextmanager
def exit_on_user_error() -> Iterator[None]:
    """For entry points: print a user's error as one line `error: ...` on stderr and exit 1, also when
    Hydra's `instantiate` wrapped it or a required setting (`???`) was left unset. Anything else is a bug
    and keeps its traceback."""
    try:
        yield
        return
    except (InputError, DivergedError) as err:
        message = str(err)
    except InstantiationException as err:
        if not isinstance(err.__cause__, InputError | DivergedError):
            raise
        message = str(err.__cause__)
    except MissingMandatoryValue as err:
        message = f"{err.full_key} has no value: give one on the command line ({err.full_key}=...)"
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)
