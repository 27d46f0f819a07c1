"""Reading training checkpoints safely, and saying how a checkpoint's settings differ from a config's."""

import pickle
from pathlib import Path

import torch

from audio2motion.errors import InputError


def read_checkpoint(path: str | Path) -> dict:
    """A checkpoint as plain data and tensors, read with `torch.load(weights_only=True)`: a file that
    carries pickled code is refused before any of it can run."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such checkpoint")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "GLOBAL" not in str(err):  # not a call to code: a file of another kind (.npy, old pickle)
            raise unreadable_checkpoint(path, err) from err
        raise InputError(
            f"{path}: refused: it holds pickled objects other than tensors and plain data (code may hide "
            "there), so it is not an audio2motion checkpoint; nothing in it was run"
        ) from err
    except Exception as err:  # a truncated zip, an empty file, a file of another kind
        raise unreadable_checkpoint(path, err) from err
    if not isinstance(checkpoint, dict) or not {"hyper_parameters", "state_dict"} <= checkpoint.keys():
        raise InputError(f"{path}: not an audio2motion checkpoint (no hyper_parameters and state_dict)")
    return checkpoint


def _flatten(value, prefix: str) -> dict[str, object]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flatten(item, f"{prefix}.{key}").items()}
    return {prefix: list(value) if isinstance(value, tuple) else value}


def config_differences(saved: dict, current: dict) -> list[str]:
    """'a.b.c: A in the checkpoint, B now' for every setting that differs between two nested dicts."""
    old = {k: v for key, value in saved.items() for k, v in _flatten(value, key).items()}
    new = {k: v for key, value in current.items() for k, v in _flatten(value, key).items()}
    return [
        f"{key}: {old.get(key)!r} in the checkpoint, {new.get(key)!r} now"
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    ]


def unreadable_checkpoint(path: Path, err: Exception) -> InputError:
    """The one-line error for a file that is not an audio2motion checkpoint, with `err` as the reason."""
    reason = " ".join(f"{type(err).__name__}: {err}".split())  # one line, even for load_state_dict's
    return InputError(f"{path}: not a readable audio2motion checkpoint ({reason})")
