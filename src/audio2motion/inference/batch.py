"""Audio files into motion files, as `audio2motion-infer` (scripts/infer.py) does for a file or a folder:
one motion file per audio file (and per sample of a diffusion model), optional videos, a file that fails
reported on one line while the rest go on, and outputs already there skipped."""

import json
import sys
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from audio2motion.atomic import atomic_write
from audio2motion.audio_io import is_audio_file, load_audio
from audio2motion.editing import check_motion, edit_constraints
from audio2motion.errors import InputError
from audio2motion.inference.generator import MotionGenerator
from audio2motion.motion.bvh import bvh_text
from audio2motion.motion.layout import channel_mismatch
from audio2motion.viewer import motion_track, write_page

FORMATS = ("npz", "bvh")
# what numpy raises on a file that is not the array or archive it should be (an empty one: EOFError)
UNREADABLE = (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile)


def read_motion(path: Path) -> tuple[np.ndarray, dict | None]:
    """`[T, D]` from an .npz that inference wrote (its `motion`) or an .npy array, and the .npz's `layout`
    (None for an .npy, or an .npz without one), its channel names checked to be a list of names."""
    if path.suffix not in (".npz", ".npy"):
        raise InputError(f"{path}: not a motion file (an .npz as infer.py writes, or an .npy array)")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            return np.asarray(data, dtype=np.float32), None
        layout = json.loads(str(data["layout"])) if "layout" in data.files else None
        if layout is not None:  # names as strings: channels that are not a list are this file's error
            layout["channels"] = [str(name) for name in layout["channels"]]
        return np.asarray(data["motion"], dtype=np.float32), layout
    except UNREADABLE as err:
        raise InputError(
            f"{path}: not a motion .npz (with `motion`) or .npy array ({err or 'empty'})"
        ) from err


def audio_files(source: Path) -> list[Path]:
    """The file itself, or the audio files directly inside the folder, sorted by name."""
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if is_audio_file(p))
        if not files:
            raise InputError(f"{source}: folder holds no .wav, .flac, .ogg or .mp3 files")
        return files
    if not source.exists():
        raise InputError(f"{source}: no such audio file or folder")
    return [source]


@dataclass(frozen=True)
class Edit:
    """What a diffusion sample keeps of a given motion (see editing.edit_constraints)."""

    path: Path
    motion: np.ndarray  # [G, D]
    prefix_seconds: float = 0.0
    keyframes: tuple[float, ...] = ()
    channels: tuple[str, ...] = ()

    @classmethod
    def read(cls, path: Path, layout: dict, **keep) -> "Edit":
        """The motion file at `path`, checked against the model's `layout`; InputError naming it."""
        motion, file_layout = read_motion(path)
        try:
            check_motion(motion, layout)
        except ValueError as err:
            raise InputError(f"{path}: {err}") from err
        channels = None if file_layout is None else file_layout["channels"]
        mismatch = None if channels is None else channel_mismatch(channels, layout["channels"], "the model")
        if mismatch:
            raise InputError(f"{path}: {mismatch}")
        return cls(path, motion, **keep)

    def constraints(self, frames: int, layout: dict) -> torch.Tensor:
        """`[frames, D]`: the values to keep, NaN elsewhere."""
        try:
            return edit_constraints(
                self.motion, frames, layout, self.prefix_seconds, self.keyframes, self.channels
            )
        except ValueError as err:
            raise InputError(f"{self.path}: {err}") from err


@dataclass(frozen=True)
class Render:
    """Videos beside each motion file: NAME.mp4 with the audio, NAME.gif a preview of its start (settings
    and their defaults: conf/infer.yaml's `render`)."""

    size: int  # pixels, square
    preview_seconds: float
    preview_fps: float
    preview_size: int


@dataclass(frozen=True)
class Viewer:
    """NAME.html beside each motion file: a web page that plays the motion (the samples side by side)
    with its sound (settings and their defaults: conf/infer.yaml's `viewer`)."""

    audio_compression: float


def write_viewer(
    path: Path,
    audio: Path,
    motions: list[np.ndarray],
    seeds: list[int],
    generator: MotionGenerator,
    viewer: Viewer,
) -> None:
    """The page `path` of `motions` (one per seed) generated for `audio`."""
    labels = (
        [audio.stem] if len(motions) == 1 else [f"sample {k} (seed {seed})" for k, seed in enumerate(seeds)]
    )
    try:
        tracks = [motion_track(label, m, generator.layout) for label, m in zip(labels, motions, strict=True)]
        sound = load_audio(audio)
        write_page(path, tracks, generator.fps, audio.name, sound, compression=viewer.audio_compression)
    except InputError:  # the audio file's, which names it
        raise
    except ValueError as err:  # the model's motion holds NaN: no page draws it
        raise InputError(f"{audio}: no page: {err}") from err
    except OSError as err:  # a full disk
        raise InputError(f"{audio}: could not write the page {path} ({err})") from err


def write_motion(
    target: Path, values: np.ndarray, audio: Path, generator: MotionGenerator, render: Render | None
) -> None:
    """The motion file `target` (.npz or .bvh, by its suffix) and, with `render`, its videos beside it.
    Each file is written whole or not at all."""
    if render is not None:  # first: a failed render leaves no motion file, so a rerun redoes both
        from audio2motion.render import write_preview, write_video  # imageio-ffmpeg: only when rendering

        try:
            write_video(target.with_suffix(".mp4"), values, generator.layout, audio, render.size)
            write_preview(
                target.with_suffix(".gif"),
                values,
                generator.layout,
                render.preview_size,
                render.preview_seconds,
                render.preview_fps,
            )
        except (OSError, RuntimeError) as err:  # ffmpeg's failures, a full disk
            raise InputError(f"{audio}: could not render the video ({err})") from err
    with atomic_write(target) as handle:
        if target.suffix == ".bvh":
            handle.write(bvh_text(values, generator.layout).encode())
        else:
            arrays = {"motion": values, "fps": np.float32(generator.fps)}
            text = {"source": np.str_(audio.name), "layout": np.str_(json.dumps(generator.layout))}
            np.savez(handle, **arrays, **text)


def infer_files(
    generator: MotionGenerator,
    files: list[Path],
    out: Path,
    file_format: str = "npz",
    overwrite: bool = False,
    overlap: int | None = None,
    seed: int = 0,
    num_samples: int = 1,
    sampling: dict | None = None,
    edit: Edit | None = None,
    render: Render | None = None,
    viewer: Viewer | None = None,
    progress: bool = True,
) -> Counter:
    """Motion for each audio file into `out` (which exists): `NAME.FORMAT`, or `NAME_K.FORMAT` for the
    K = 0 .. num_samples - 1 samples (seeds seed + K) of a diffusion model. Outputs already there are
    skipped unless `overwrite`. With `viewer`, `NAME.html` plays them with the audio. One line per file
    (stdout; failures as `error: ...` on stderr) and a summary; returns the counts of `done`, `skipped`
    and `failed` files."""
    counts, written, seconds, started = Counter(), {}, 0.0, time.perf_counter()
    bar = tqdm(files, unit="file", file=sys.stderr, disable=len(files) < 2 or not progress)
    for file in bar:
        target = out / f"{file.stem}.{file_format}"  # a name alone: never outside `out`
        targets = (
            [target]
            if num_samples == 1
            else [out / f"{file.stem}_{k}.{file_format}" for k in range(num_samples)]
        )
        try:
            if target in written:
                raise InputError(f"{file}: same output name {target.name} as {written[target].name}")
            written[target] = file  # a later file of the same name is refused, done or skipped
            if all(t.exists() for t in targets) and not overwrite:
                counts["skipped"] += 1
                bar.write(f"{file}: {targets[-1]} is there already, skipped (overwrite=true redoes it)")
                continue
            features = generator.features_file(file)  # [T, F]
            constraints = None if edit is None else edit.constraints(features.shape[0], generator.layout)
            seeds = [seed + k for k in range(len(targets))]
            motions = [
                generator.motion_from_features(
                    features, overlap, seed=s, constraints=constraints, sampling=sampling
                )
                .values.cpu()
                .numpy()  # [T, D]
                for s in seeds
            ]
            if (
                viewer is not None
            ):  # first, as videos: a failed page leaves no motion file, so a rerun redoes both
                write_viewer(out / f"{file.stem}.html", file, motions, seeds, generator, viewer)
            for path, values in zip(targets, motions, strict=True):
                write_motion(path, values, file, generator, render)
            counts["done"] += 1
            seconds += values.shape[0] / generator.fps
            names = str(targets[0]) + (f" .. {targets[-1].name}" if len(targets) > 1 else "")
            bar.write(f"{file} -> {names} ({values.shape[0]} frames at {generator.fps:g} fps)")
        except InputError as err:
            counts["failed"] += 1
            bar.write(f"error: {err}", file=sys.stderr)
    elapsed = time.perf_counter() - started
    print(
        f"{counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed: {seconds:.1f} s of "
        f"audio in {elapsed:.1f} s ({seconds / elapsed:.0f} s of audio per second)"
    )
    return counts
