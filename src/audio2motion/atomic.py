"""Whole-or-nothing file writes: a kill at any moment leaves the old file or the new one, never a part."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

SUFFIX = ".tmp"  # of the hidden temporary files, `.NAME.RANDOM.tmp`


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A hidden temporary file beside `path` for a writer that wants a path (ffmpeg, say); on success it
    is flushed to disk and renamed over `path` (atomic on one file system), on failure deleted. A process
    killed mid-write can leave only the hidden `.NAME.*.tmp` file, which nothing reads."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~umask())  # what open() would give; mkstemp makes 0o600
        os.close(fd)
        yield Path(tmp)
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_write(path: str | Path) -> Iterator[BinaryIO]:
    """`atomic_path`, opened for writing: `path` gets everything written to the handle, or nothing."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        yield handle


@contextmanager
def atomic_folder(folder: str | Path, replace: bool) -> Iterator[Path]:
    """A hidden folder beside `folder` to fill; on success renamed to `folder`, on failure deleted. An
    existing `folder` is replaced when `replace`, otherwise kept (the new one is dropped)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        building.chmod(0o777 & ~umask())  # what mkdir would give; mkdtemp makes 0o700
        yield building
        if folder.exists() and replace:
            shutil.rmtree(folder)
        if not folder.exists():
            os.replace(building, folder)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def remove_leftovers(folder: str | Path) -> None:
    """Delete the temporary files that writes killed midway left in `folder`."""
    for leftover in Path(folder).glob(f".*{SUFFIX}"):
        leftover.unlink()


def umask() -> int:
    """The process's file-creation mask (reading it means setting it, so it is set back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
