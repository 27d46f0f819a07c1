"""The generic folder format: `ROOT/NAME.{wav,flac,ogg,mp3}` beside `ROOT/NAME.npy` (float32 `[T, D]`).

Optional files: `train.txt`, `val.txt`, `test.txt` (one name a line) fix the split; `channels.txt` names
the D motion channels, one a line. docs/data.md documents the format for users.
"""

import logging
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from audio2motion.audio_io import AUDIO_EXTENSIONS, is_audio_file, load_audio
from audio2motion.errors import InputError
from audio2motion.features import AudioFeaturizer
from audio2motion.motion.layout import plain_layout

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Pair:
    name: str
    audio: Path
    motion: Path


@dataclass(frozen=True)
class Clip:
    name: str
    features: torch.Tensor  # [T, F]
    motion: torch.Tensor  # [T, D]


def find_pairs(root: str | Path) -> dict[str, Pair]:
    """Every audio file with a motion file of the same name, by name."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: data root is not a folder")
    pairs, unpaired = {}, []
    for audio in sorted(p for p in root.iterdir() if is_audio_file(p)):
        motion = audio.with_suffix(".npy")
        if not motion.is_file():
            unpaired.append(audio.name)
        elif audio.stem in pairs:
            raise InputError(f"{audio}: a second audio file for the motion {motion.name}")
        else:
            pairs[audio.stem] = Pair(audio.stem, audio, motion)
    if not pairs:
        raise InputError(
            f"{root}: no pairs of audio ({', '.join(AUDIO_EXTENSIONS)}) and motion (.npy) files of one name"
        )
    if unpaired:
        log.warning(
            "%s: %d audio files have no .npy motion and are left out: %s", root, len(unpaired), unpaired[:5]
        )
    return pairs


def split_names(root: str | Path, names: list[str], seed: int, val_fraction: float, test_fraction: float):
    """Names per split. Split files, where any exist, decide the split alone (a missing file is an empty
    split); otherwise a seeded shuffle gives val and test at least one clip each whenever there are 3 or
    more clips (2 clips: one train, one val), and test none when its fraction is 0."""
    root = Path(root)
    files = {split: root / f"{split}.txt" for split in SPLITS}
    if any(f.is_file() for f in files.values()):
        splits, seen = {}, {}
        for split, file in files.items():
            listed = [line.strip() for line in file.read_text().splitlines()] if file.is_file() else []
            splits[split] = [name for name in listed if name]
            for name in splits[split]:
                if name not in names:
                    raise InputError(f"{file}: lists '{name}', which has no audio and motion pair in {root}")
                if name in seen and seen[name] != split:
                    raise InputError(f"{file}: lists '{name}', which {files[seen[name]].name} lists too")
                seen[name] = split
        for split in ("train", "val"):
            if not splits[split]:
                raise InputError(f"{files[split]}: the {split} split is empty; list at least one name")
        return splits
    if not (min(val_fraction, test_fraction) >= 0 and val_fraction + test_fraction < 1):
        raise InputError(
            f"data.val_fraction={val_fraction} and data.test_fraction={test_fraction} must be at least 0 "
            "and add up to less than 1"
        )
    if len(names) < 2:
        raise InputError(
            f"{root}: {len(names)} clip; a train/val split needs 2 or more (or train.txt and val.txt)"
        )
    order = sorted(names)
    random.Random(seed).shuffle(order)
    n_test = (
        0
        if test_fraction == 0 or len(order) < 3
        else min(max(1, round(test_fraction * len(order))), len(order) - 2)
    )
    n_val = min(max(1, round(val_fraction * len(order))), len(order) - 1 - n_test)
    return {
        "val": order[:n_val],
        "test": order[n_val : n_val + n_test],
        "train": order[n_val + n_test :],
    }


def read_channel_names(root: str | Path, dim: int) -> list[str]:
    """`channels.txt` when present (one name per motion channel), else `c0 .. c{D-1}`."""
    file = Path(root) / "channels.txt"
    if not file.is_file():
        return [f"c{i}" for i in range(dim)]
    names = file.read_text().split()
    if len(names) != dim:
        raise InputError(f"{file}: names {len(names)} channels but the motion has {dim}")
    return names


def load_motion(path: Path) -> np.ndarray:
    """A finite float32 `[T, D]` array (C order) from a .npy file of any floating-point type.

    Raises InputError naming the file when it is not one .npy array (an .npz archive is not), is not
    2-D with T and D at least 1, is not floating point, or holds NaN, infinite values or values beyond
    float32's range."""
    try:
        motion = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise InputError(f"{path}: not a readable .npy array ({err or 'empty file'})") from err
    if not isinstance(motion, np.ndarray):  # np.load opens an .npz archive whatever its name
        motion.close()
        raise InputError(f"{path}: not a readable .npy array (an .npz archive of several arrays)")
    if motion.ndim != 2 or motion.shape[0] == 0 or motion.shape[1] == 0:
        raise InputError(f"{path}: motion must be a [T, D] array, got shape {list(motion.shape)}")
    if not np.issubdtype(motion.dtype, np.floating):
        raise InputError(f"{path}: motion must be floating point, got {motion.dtype}")
    if not np.isfinite(motion).all():
        raise InputError(f"{path}: motion holds NaN or infinite values")
    with np.errstate(over="ignore"):
        single = np.ascontiguousarray(motion, dtype=np.float32)
    if not np.isfinite(single).all():
        raise InputError(f"{path}: motion holds values beyond float32's range (+-3.4e38)")
    return single


class FolderReader:
    """Pairs, splits, motion and layout of the folder format (the readers of other layouts have the same
    methods: data/aistpp.py, data/beat2.py)."""

    trims_audio = False  # audio and motion cover the same time
    settings: dict = {}  # what the cache key needs of the reader: its arguments

    def pairs(self, root: Path) -> tuple[dict[str, Pair], list[str]]:
        """Pairs by name, and a line per motion file without audio."""
        pairs = find_pairs(root)
        problems = [
            f"{path}: motion without audio (no {path.stem}{'/'.join(AUDIO_EXTENSIONS)})"
            for path in sorted(Path(root).glob("*.npy"))
            if path.stem not in pairs
        ]
        return pairs, problems

    def split(self, root: Path, names: list[str], seed: int, val_fraction: float, test_fraction: float):
        return split_names(root, names, seed, val_fraction, test_fraction)

    def motion(self, pair: Pair, fps: float) -> np.ndarray:
        return load_motion(pair.motion)

    def layout(self, root: Path, fps: float, dim: int) -> dict:
        return plain_layout(fps, read_channel_names(root, dim))


def load_clip(
    pair: Pair,
    featurizer: AudioFeaturizer,
    max_length_mismatch: int,
    motion: np.ndarray | None = None,
    trims_audio: bool = False,
) -> Clip:
    """Features and motion of one pair (`motion` as read already, or the pair's .npy file), trimmed to
    the shorter when they differ by at most `max_length_mismatch` frames; with `trims_audio`, audio that
    runs past the motion by any length is trimmed too."""
    motion = load_motion(pair.motion) if motion is None else motion
    waveform, sample_rate = load_audio(pair.audio)
    try:
        features = featurizer(waveform, sample_rate)
    except ValueError as err:
        raise InputError(f"{pair.audio}: {err}") from err
    frames = shared_frames(
        pair, motion.shape[0], features.shape[0], featurizer.fps, max_length_mismatch, trims_audio
    )
    return Clip(pair.name, features[:frames], torch.from_numpy(motion[:frames]))


def shared_frames(
    pair: Pair, motion_frames: int, audio_frames: int, fps: float, max_length_mismatch: int, trims_audio: bool
) -> int:
    """The frames a pair's motion and audio both cover, when they differ by at most `max_length_mismatch`
    (with `trims_audio`, audio that runs past the motion by any length); InputError naming the pair."""
    mismatch = audio_frames - motion_frames
    mismatch = max(-mismatch, 0) if trims_audio else abs(mismatch)
    if mismatch > max_length_mismatch:
        raise InputError(
            f"{pair.motion}: {motion_frames} frames but its audio gives {audio_frames} at {fps:g} fps (more "
            f"than data.max_length_mismatch={max_length_mismatch} apart)"
        )
    return min(audio_frames, motion_frames)
