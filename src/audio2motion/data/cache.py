"""The preprocessing cache (`python scripts/preprocess.py`): the features and motion of every clip of a
data set in two arrays plus a manifest, in `cache_dir/KEY/`. KEY hashes the data and feature settings
and the name, size and modification time of every file under the data root, so a change of either
makes a new entry, and nothing else (batch size, window, model, trainer) does.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from audio2motion.atomic import atomic_folder
from audio2motion.data.folder import Clip

MANIFEST = "manifest.json"


def cache_key(settings: dict, root: Path, cache_dir: Path | None) -> str:
    """Hash of `settings` (plain data) and of the files under `root` (the cache's own left out)."""
    skip = cache_dir.resolve() if cache_dir else None
    files = []
    for folder, _, names in os.walk(root, followlinks=True):  # linked folders too (wav -> /mnt/...)
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not (skip and skip in path.resolve().parents):
                stat = path.stat()  # of the file a link points to
                files.append((str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns))
    files.sort()
    blob = json.dumps({"settings": settings, "files": files}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def write_cache(folder: Path, clips: dict[str, list[Clip]], left_out: list[str]) -> int:
    """Write the clips by split into `folder` whole or not at all (built beside it, then renamed);
    returns its size in bytes."""
    # Another process that wrote this key meanwhile wrote the same content: keep its folder.
    with atomic_folder(folder, replace=False) as building:
        ordered = [(split, clip) for split, members in clips.items() for clip in members]
        np.save(building / "features.npy", torch.cat([c.features for _, c in ordered]).numpy())
        np.save(building / "motion.npy", torch.cat([c.motion for _, c in ordered]).numpy())
        entries, start = {split: [] for split in clips}, 0
        for split, clip in ordered:
            entries[split].append({"name": clip.name, "start": start, "frames": clip.motion.shape[0]})
            start += clip.motion.shape[0]
        (building / MANIFEST).write_text(json.dumps({"splits": entries, "left_out": left_out}, indent=1))
        return sum(path.stat().st_size for path in building.iterdir())


def read_cache(folder: Path) -> tuple[dict[str, list[Clip]], list[str]] | None:
    """The clips by split and the left-out lines of a cache entry, or None when there is none. The
    clips' tensors are views of the two arrays, read once."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return None
    recorded = json.loads(manifest.read_text())
    features = torch.from_numpy(np.load(folder / "features.npy", allow_pickle=False))
    motion = torch.from_numpy(np.load(folder / "motion.npy", allow_pickle=False))
    clips = {
        split: [
            Clip(
                e["name"],
                features[e["start"] : e["start"] + e["frames"]],
                motion[e["start"] : e["start"] + e["frames"]],
            )
            for e in entries
        ]
        for split, entries in recorded["splits"].items()
    }
    return clips, recorded["left_out"]
