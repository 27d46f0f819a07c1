"""Motion files that some system already generated (evaluate.py's `generated=DIR`), one per clip of the
scored split and named after it:

- `NAME.npz` as scripts/infer.py writes it (its `motion`, `fps` and `layout`), of the data set's channels;
- `NAME.pkl` holding `smpl_poses` `[T, 72]` and `smpl_trans` `[T, 3]`, optionally `smpl_scaling` (the
  translation is divided by it, as AIST++ does): what AIST++ and EDGE write; an SMPL data set only;
- `NAME.npy`: SMPL joint positions `[T, 24, 3]` in metres, y up; an SMPL data set only.

`.pkl` and `.npy` hold no frame rate: `generated_fps=` gives it. Files of other suffixes are not read.
"""

from pathlib import Path

import numpy as np

from audio2motion.data.aistpp import read_motion_pickle
from audio2motion.errors import InputError
from audio2motion.evaluation.scores import ScoredMotion
from audio2motion.inference.batch import UNREADABLE
from audio2motion.inference.batch import read_motion as read_motion_file
from audio2motion.motion.layout import channel_mismatch, skeleton_of

SUFFIXES = (".npz", ".pkl", ".npy")


def files_by_clip(folder: Path) -> dict[str, list[Path]]:
    """The folder's motion files by clip name (more than one for a name is a problem to name)."""
    if not folder.is_dir():
        raise InputError(f"generated={folder}: no such folder")
    files: dict[str, list[Path]] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES):
        files.setdefault(path.stem, []).append(path)
    if not files:
        raise InputError(f"generated={folder}: no motion files ({', '.join(SUFFIXES)}) in it")
    return files


def generated_rate(folder: Path, generated_fps) -> float:
    """The frame rate of the folder's motion: the rate each .npz records, and `generated_fps` for .pkl
    and .npy files; InputError when one is missing, not positive, or they differ."""
    if generated_fps is not None:
        try:
            generated_fps = float(generated_fps)
        except ValueError as err:
            raise InputError(f"generated_fps={generated_fps}: must be a number of frames per second") from err
    rates, problems = {}, []
    for path in (path for paths in files_by_clip(folder).values() for path in paths):
        if path.suffix == ".npz":
            try:
                with np.load(path, allow_pickle=False) as data:
                    rates[path] = float(data["fps"])
            except UNREADABLE as err:
                problems.append(f"{path}: not an .npz as infer.py writes it, with `fps` ({err or 'empty'})")
                continue
            if generated_fps is not None and rates[path] != generated_fps:
                problems.append(f"{path}: records {rates[path]:g} fps, not generated_fps={generated_fps:g}")
        elif generated_fps is None:
            problems.append(f"{path}: a {path.suffix} file records no frame rate: give generated_fps=")
        else:
            rates[path] = generated_fps
    if problems:
        raise InputError("; ".join(dict.fromkeys(problems)))
    distinct = sorted(set(rates.values()))
    if len(distinct) > 1:
        examples = ", ".join(
            f"{next(p.name for p, r in rates.items() if r == rate)} at {rate:g}" for rate in distinct
        )
        raise InputError(f"generated={folder}: its files are at different frame rates ({examples})")
    if not 0 < distinct[0] < float("inf"):
        raise InputError(f"generated={folder}: a frame rate must be a positive number, got {distinct[0]}")
    return distinct[0]


def read_generated(
    folder: Path, names: list[str], layout: dict, reader, split: str
) -> dict[str, ScoredMotion]:
    """The motion of each clip in `names` from its file in `folder`, at the rate `generated_rate` found,
    checked against the data set's `layout` (and made into its channels by `reader` for .pkl files).
    InputError naming every problem at once: a clip without a file, a file of no clip, a file of another
    layout or an unreadable one."""
    files, problems, motions = files_by_clip(folder), [], {}
    for name in names:
        if name not in files:
            problems.append(f"{folder}: no motion file for the clip {name} (NAME.npz, .pkl or .npy)")
    for name, paths in files.items():
        if name not in names:
            problems += [f"{path}: no clip {name} in the {split} split" for path in paths]
        elif len(paths) > 1:
            problems.append(f"{folder}: {' and '.join(p.name for p in paths)} are two files for one clip")
        else:
            try:
                motions[name] = read_motion(paths[0], layout, reader)
            except InputError as err:
                problems.append(str(err))
    if problems:
        raise InputError("; ".join(problems))
    return motions


def read_motion(path: Path, layout: dict, reader) -> ScoredMotion:
    """One file's motion (see the module's docstring); InputError naming the file."""
    skeleton, fps = skeleton_of(layout), float(layout["fps"])
    if path.suffix == ".npz":
        channels, file_layout = read_motion_file(path)
        if file_layout is None:
            raise InputError(f"{path}: an .npz without the `layout` that infer.py writes")
        names = file_layout["channels"]
        mismatch = channel_mismatch(names, layout["channels"], "the data set")
        if mismatch or channels.ndim != 2 or channels.shape[1] != len(names):
            raise InputError(f"{path}: {mismatch or f'motion of shape {list(channels.shape)}'}")
        motion = ScoredMotion(channels=channels)
    elif skeleton is None or skeleton.name != "smpl":
        data_skeleton = skeleton.name if skeleton else "no"
        raise InputError(
            f"{path}: SMPL motion, but the data set has {data_skeleton} skeleton (.pkl and "
            ".npy files are scored on an SMPL data set, data=aistpp)"
        )
    elif path.suffix == ".pkl":  # the SMPL skeleton is AIST++'s (data=aistpp)
        motion = ScoredMotion(channels=reader.motion_from(path, read_motion_pickle(path), fps, fps, False))
    else:
        try:
            positions = np.load(path, allow_pickle=False)
        except UNREADABLE as err:
            raise InputError(f"{path}: not a .npy array ({err or 'empty'})") from err
        if (
            not isinstance(positions, np.ndarray)
            or positions.ndim != 3
            or positions.shape[1:] != (24, 3)
            or not np.issubdtype(positions.dtype, np.number)
        ):
            got = (
                f"{positions.dtype} {list(positions.shape)}"
                if isinstance(positions, np.ndarray)
                else "an archive"
            )
            raise InputError(f"{path}: SMPL joint positions must be a numeric [T, 24, 3] array, got {got}")
        motion = ScoredMotion(positions=positions.astype(np.float64))
    values = motion.channels if motion.channels is not None else motion.positions
    if len(values) < 3 or not np.isfinite(values).all():  # 3: an acceleration, for the kinetic features
        raise InputError(f"{path}: motion must be finite and at least 3 frames long")
    return motion
