"""Whole-or-nothing file writes: a kill at any moment leaves the old file or the new one, never a part."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

SUFFIX = ".tmp"  # of the hidden temporary files, `.NAME.RANDOM.tmp`


@contextmanager
def atomic_write(path: str | Path) -> Iterator[BinaryIO]:
    """Open a hidden temporary file beside `path` for writing; on success flush it to disk and rename it
    over `path` (atomic on one file system), on failure delete it. A process killed mid-write can leave
    only the hidden `.NAME.*.tmp` file, which nothing reads."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~umask())  # what open() would give; mkstemp makes 0o600
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_leftovers(folder: str | Path) -> None:
    """Delete the temporary files that writes killed midway left in `folder`."""
    for leftover in Path(folder).glob(f".*{SUFFIX}"):
        leftover.unlink()


def umask() -> int:
    """The process's file-creation mask (reading it means setting it, so it is set back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
