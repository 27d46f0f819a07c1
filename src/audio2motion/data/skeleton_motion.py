"""What the AIST++ and BEAT2 readers share: decimating to data.fps, turning SMPL-style axis-angle poses
into the training channels of a skeleton layout, and reading split lists."""

from pathlib import Path

import numpy as np
import torch

from audio2motion.errors import InputError
from audio2motion.motion.layout import (
    ROOTS,
    axis_angle_channels,
    foot_contacts,
    joint_positions,
    root_steps,
    skeleton_layout,
)
from audio2motion.motion.skeleton import Skeleton


def frame_step(source_fps: float, fps: float, path: Path) -> int:
    """Keep every `step`-th frame to go from `source_fps` to `fps`; only whole steps are exact."""
    step = source_fps / fps
    if fps <= 0 or abs(step - round(step)) > 1e-6 or round(step) < 1:
        raise InputError(
            f"{path}: recorded at {source_fps:g} fps, which data.fps={fps:g} does not divide "
            f"(use {', '.join(f'{source_fps / k:g}' for k in (1, 2, 3, 4))})"
        )
    return round(step)


def checked_root(root: str) -> str:
    """A reader's `root` setting, or InputError naming the choices."""
    if root not in ROOTS:
        raise InputError(f"data.reader.root must be one of {', '.join(ROOTS)}, got {root!r}")
    return root


def skeleton_motion(
    path: Path,
    translation: np.ndarray,
    axis_angle: np.ndarray,
    skeleton: Skeleton,
    fps: float,
    contact_speed: float | None,
    extra: np.ndarray | None = None,
    root: str = "position",
) -> np.ndarray:
    """Root translation `[T, 3]` (metres) and local axis-angle rotations `[T, J x 3]` -> float32 motion
    `[T, D]` in `skeleton_layout` order: the root (its translation, or its steps and height with
    `root="velocity"`), 6D rotations, foot contacts (when `contact_speed` is set), `extra` channels.
    Raises InputError naming `path` for non-finite values."""
    parts = [translation.astype(np.float32), axis_angle_channels(axis_angle)]
    if contact_speed is not None:
        layout = skeleton_layout(fps, skeleton, contacts=False)
        positions = joint_positions(torch.from_numpy(np.concatenate(parts, axis=1)), layout).numpy()
        feet = [skeleton.joints.index(f) for f in skeleton.feet]
        parts.append(foot_contacts(positions, fps, feet, contact_speed))
    if extra is not None:
        parts.append(extra.astype(np.float32))
    if root == "velocity":
        parts[0] = root_steps(translation).astype(np.float32)
    motion = np.concatenate(parts, axis=1)
    if not np.isfinite(motion).all():
        raise InputError(f"{path}: motion holds NaN or infinite values")
    return motion


def listed_splits(source: Path, listed: dict[str, list[str]], names: list[str]) -> dict[str, list[str]]:
    """Names per split from a data set's official lists (`source`: the file or folder they come from),
    keeping those present in the data: a subset of a published data set trains as it is. A name in two
    splits, or an empty train or val split, is an error."""
    present, seen, splits = set(names), {}, {}
    for split in ("train", "val", "test"):
        splits[split] = [name for name in listed.get(split, []) if name in present]
        for name in splits[split]:
            if seen.setdefault(name, split) != split:
                raise InputError(f"{source}: lists '{name}' in both {seen[name]} and {split}")
    for split in ("train", "val"):
        if not splits[split]:
            raise InputError(f"{source}: no clip of the {split} split is in the data")
    return splits


def require(path: Path, data, key: str, shape: tuple) -> np.ndarray:
    """`data[key]` as a float64 array of `shape` (None: any size); InputError naming `path` otherwise."""
    if key not in data:
        raise InputError(f"{path}: no '{key}' array")
    array = np.asarray(data[key])
    if (
        not np.issubdtype(array.dtype, np.number)
        or array.ndim != len(shape)
        or any(want is not None and got != want for got, want in zip(array.shape, shape, strict=True))
    ):
        wanted = "[" + ", ".join("N" if s is None else str(s) for s in shape) + "]"
        raise InputError(
            f"{path}: '{key}' must be a numeric {wanted} array, got {array.dtype} {list(array.shape)}"
        )
    return array.astype(np.float64)
