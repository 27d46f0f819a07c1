"""Reading training checkpoints safely, and saying how a checkpoint's settings differ from a config's."""

import pickle
from pathlib import Path

import torch

from audio2motion.errors import InputError

# Where each part of a checkpoint's `hyper_parameters` comes from in the config.
CONFIG_NAMES = {
    "net": "model.net",
    "loss": "model.loss",
    "optimizer": "model.optimizer",
    "scheduler": "model.scheduler",
    "max_nonfinite_steps": "model.max_nonfinite_steps",
    "features": "features",
    "layout": "motion layout (data)",
    "feature_dim": "feature channels (features)",
    "window": "window frames (data.window_seconds x data.fps)",
}


def read_checkpoint(path: str | Path) -> dict:
    """A checkpoint as plain data and tensors, read with `torch.load(weights_only=True)`: a file that
    carries pickled code is refused before any of it can run."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such checkpoint")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise InputError(
            f"{path}: refused: it holds pickled objects other than tensors and plain data (code may hide "
            "there), so it is not an audio2motion checkpoint; nothing in it was run"
        ) from err
    except Exception as err:  # a truncated zip, an empty file, a file of another kind
        reason = " ".join(f"{type(err).__name__}: {err}".split())
        raise InputError(f"{path}: not a readable audio2motion checkpoint ({reason})") from err
    if not isinstance(checkpoint, dict) or not {"hyper_parameters", "state_dict"} <= checkpoint.keys():
        raise InputError(f"{path}: not an audio2motion checkpoint (no hyper_parameters and state_dict)")
    return checkpoint


def _flatten(value, prefix: str) -> dict[str, object]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flatten(item, f"{prefix}.{key}").items()}
    return {prefix: list(value) if isinstance(value, tuple) else value}


def config_differences(saved: dict, current: dict) -> list[str]:
    """'NAME: A in the checkpoint, B now' for every setting that differs between two `hyper_parameters`."""
    differences = []
    for part in sorted(saved.keys() | current.keys()):
        name = CONFIG_NAMES.get(part, part)
        old, new = _flatten(saved.get(part), name), _flatten(current.get(part), name)
        for key in sorted(old.keys() | new.keys()):
            if old.get(key) != new.get(key):
                differences.append(f"{key}: {old.get(key)!r} in the checkpoint, {new.get(key)!r} now")
    return differences
