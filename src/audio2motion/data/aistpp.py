"""The AIST++ layout (data=aistpp): `motions/NAME.pkl` holding `smpl_poses` `[N, 72]` (24 joints,
axis-angle), `smpl_trans` `[N, 3]` and `smpl_scaling` `[1]` at 60 fps, music in `wav/ID.wav` where ID is
the music id inside NAME (`gBR_sBM_cAll_d04_mBR0_ch01` plays `mBR0`), and optionally `ignore_list.txt`
and the official `splits/crossmodal_{train,val,test}.txt`.

The music runs past the dance and is trimmed to it. Motion becomes root translation (divided by the
scaling, so in metres) and 6D rotations on the SMPL skeleton, at data.fps (60, 30, 20 or 15).
"""

import logging
import pickle
from pathlib import Path

import numpy as np

from audio2motion.data.folder import Pair, split_names
from audio2motion.data.skeleton_motion import (
    checked_root,
    frame_step,
    listed_splits,
    require,
    skeleton_motion,
)
from audio2motion.errors import InputError
from audio2motion.motion.layout import skeleton_layout
from audio2motion.motion.skeleton import SMPL

log = logging.getLogger(__name__)

SOURCE_FPS = 60.0
# What an AIST++ motion pickle may build: numpy arrays and scalars, nothing that runs code.
ARRAY_GLOBALS = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {("numpy", "ndarray"), ("numpy", "dtype")}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in ARRAY_GLOBALS:
            raise pickle.UnpicklingError(f"it holds pickled objects other than arrays ({module}.{name})")
        return super().find_class(module, name)


def read_motion_pickle(path: Path) -> dict:
    """The dict of arrays in an AIST++ motion file, unpickled with numpy arrays as the only objects."""
    try:
        with open(path, "rb") as handle:
            data = _ArraysOnly(handle).load()
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, AttributeError) as err:
        raise InputError(f"{path}: not a readable AIST++ motion file ({err})") from err
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a readable AIST++ motion file (a {type(data).__name__}, not a dict)")
    return data


def music_id(name: str) -> str | None:
    """`mBR0` from `gBR_sBM_cAll_d04_mBR0_ch01`: the part that starts with m after the dancer."""
    parts = name.split("_")
    return next((p for p in parts[4:5] if p.startswith("m")), None)


def motion_files(root: Path) -> tuple[list[Path], set[str]]:
    """The motion files of an AIST++ folder, sorted, less those ignore_list.txt names; and those names."""
    motions = root / "motions"
    if not motions.is_dir():
        raise InputError(f"{root}: no motions/ folder (the AIST++ layout: motions/NAME.pkl, wav/ID.wav)")
    ignore_file = root / "ignore_list.txt"
    ignored = set(ignore_file.read_text().split()) if ignore_file.is_file() else set()
    return [path for path in sorted(motions.glob("*.pkl")) if path.stem not in ignored], ignored


class AistppReader:
    """Pairs, splits, motion and layout of an AIST++ folder."""

    trims_audio = True  # the music is longer than the dance
    source_fps = SOURCE_FPS  # the rate of the recording, which data.fps must divide

    def __init__(self, contacts: bool = False, contact_speed: float = 0.3, root: str = "position"):
        self.contacts, self.contact_speed, self.root = contacts, contact_speed, checked_root(root)
        self.settings = {"contacts": contacts, "contact_speed": contact_speed, "root": root}

    def pairs(self, root: Path) -> tuple[dict[str, Pair], list[str]]:
        pairs, problems = {}, []
        paths, ignored = motion_files(root)
        for path in paths:
            music = music_id(path.stem)
            audio = root / "wav" / f"{music}.wav"
            if music is None:
                problems.append(f"{path}: no music id (mXXN, the fifth part) in its name")
            elif not audio.is_file():
                problems.append(f"{path}: motion without audio ({audio} is missing)")
            else:
                pairs[path.stem] = Pair(path.stem, audio, path)
        if ignored:
            log.info("%s: %d motions left out as ignore_list.txt says", root, len(ignored))
        if not pairs and not problems:
            raise InputError(f"{root / 'motions'}: no .pkl motion files")
        return pairs, problems

    def split(self, root: Path, names: list[str], seed: int, val_fraction: float, test_fraction: float):
        files = {split: root / "splits" / f"crossmodal_{split}.txt" for split in ("train", "val", "test")}
        if not any(file.is_file() for file in files.values()):
            return split_names(root, names, seed, val_fraction, test_fraction)
        listed = {split: file.read_text().split() for split, file in files.items() if file.is_file()}
        return listed_splits(root / "splits", listed, names)

    def motion(self, pair: Pair, fps: float) -> np.ndarray:
        return self.motion_from(pair.motion, read_motion_pickle(pair.motion), SOURCE_FPS, fps)

    def motion_from(
        self, path: Path, data: dict, source_fps: float, fps: float, scaling_required: bool = True
    ) -> np.ndarray:
        """Motion `[T, D]` at `fps` of an AIST++ motion dict at `source_fps` read from `path`:
        `smpl_poses`, `smpl_trans` and `smpl_scaling` (1 when absent unless `scaling_required`)."""
        poses = require(path, data, "smpl_poses", (None, 72))
        trans = require(path, data, "smpl_trans", (poses.shape[0], 3))
        scaling = np.ones(1)
        if scaling_required or "smpl_scaling" in data:
            scaling = require(path, data, "smpl_scaling", (1,))
        if not (np.isfinite(scaling).all() and scaling[0] > 0):
            raise InputError(f"{path}: smpl_scaling must be a positive number, got {scaling[0]}")
        step = frame_step(source_fps, fps, path)
        speed = self.contact_speed if self.contacts else None
        translation = trans[::step] / scaling[0]
        return skeleton_motion(path, translation, poses[::step], SMPL, fps, speed, root=self.root)

    def recorded_motions(self, root: Path) -> tuple[dict, list[tuple[Path, np.ndarray]], list[str]]:
        """Every motion of motions/ less ignore_list.txt's, whole, at its recorded 60 fps, whether a split
        lists it or not and with music or without (the reference pool Bailando's
        extract_aist_features.py computes): their layout, (file, motion `[T, D]`) pairs, and the bad
        files."""
        motions, problems = [], []
        for path in motion_files(root)[0]:
            try:
                motions.append(
                    (path, self.motion_from(path, read_motion_pickle(path), SOURCE_FPS, SOURCE_FPS))
                )
            except InputError as err:
                problems.append(str(err))
        return self.layout(root, SOURCE_FPS, 0), motions, problems

    def layout(self, root: Path, fps: float, dim: int) -> dict:
        return skeleton_layout(fps, SMPL, self.contacts, root=self.root)
