"""Checkpoint writing that survives a kill: Lightning's own save renames from the system's temporary
folder, which is a copy, not an atomic rename, when that folder is on another file system."""

from pathlib import Path

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from audio2motion.atomic import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """Each checkpoint is written beside its final name and renamed over it: `last.ckpt` is always the
    previous epoch's or the new one, whole."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as handle:
            torch.save(checkpoint, handle)
