"""Audio file(s) + checkpoint -> motion: `python scripts/infer.py ckpt=PATH audio=FILE_OR_DIR out=DIR`.

Writes `out/NAME.npz` holding `motion` float32 `[T, D]`, `fps`, `source` (the audio file's name) and
`layout` (JSON: channel names and groups, fps, skeleton; see audio2motion/motion/layout.py), or with
`format=bvh` (models of a skeleton layout) `out/NAME.bvh`. Diffusion models write `num_samples` motions,
`out/NAME_K.npz` for K = 0 .. num_samples - 1 when there are several, and take `seed`, `sampling.*` and
`edit.*` (keep parts of a given motion and fill in the rest).
A file that fails is reported on one line and the rest go on; the exit code is 1 if any failed.
"""

import json
import sys
import time
from collections import Counter
from pathlib import Path

import hydra
import numpy as np
from omegaconf import DictConfig
from tqdm import tqdm

from audio2motion import load_model
from audio2motion.atomic import atomic_write
from audio2motion.audio_io import is_audio_file
from audio2motion.cli import CONFIG_PATH
from audio2motion.diffusion import sampling_settings
from audio2motion.editing import check_motion, edit_constraints
from audio2motion.errors import InputError, exit_on_user_error
from audio2motion.motion.bvh import bvh_text
from audio2motion.render import write_preview, write_video

FORMATS = ("npz", "bvh")


def read_motion(path: Path) -> np.ndarray:
    """`[T, D]` from an .npz that infer.py wrote (its `motion`) or an .npy array."""
    if path.suffix not in (".npz", ".npy"):
        raise InputError(
            f"{path}: edit.motion takes an .npz as infer.py writes (its `motion`) or an .npy array"
        )
    try:
        data = np.load(path, allow_pickle=False)
        motion = data["motion"] if isinstance(data, np.lib.npyio.NpzFile) else data
        return np.asarray(motion, dtype=np.float32)
    except (OSError, ValueError, KeyError) as err:
        raise InputError(f"{path}: not a motion .npz (with `motion`) or .npy array ({err})") from err


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


def write_outputs(target: Path, values: np.ndarray, audio: Path, generator, cfg: DictConfig) -> None:
    """The motion file `target` (npz or bvh) and, with render.enabled, its video and preview beside it."""
    if cfg.render.enabled:  # first: a failed render leaves no motion file, so a rerun redoes both
        render = cfg.render
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
        if cfg.format == "bvh":
            handle.write(bvh_text(values, generator.layout).encode())
        else:
            arrays = {"motion": values, "fps": np.float32(generator.fps)}
            text = {"source": np.str_(audio.name), "layout": np.str_(json.dumps(generator.layout))}
            np.savez(handle, **arrays, **text)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="infer")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        if cfg.overlap is not None and cfg.overlap < 0:
            raise InputError(f"overlap={cfg.overlap}: must be 0 or more frames")
        if cfg.format not in FORMATS:
            raise InputError(f"format={cfg.format}: must be one of {', '.join(FORMATS)}")
        if cfg.num_samples < 1:
            raise InputError(f"num_samples={cfg.num_samples}: must be 1 or more")
        generator = load_model(cfg.ckpt, device=cfg.device)
        sampling = {key: value for key, value in cfg.sampling.items() if value is not None}
        if generator.diffusion is None and (cfg.num_samples > 1 or sampling or cfg.edit.motion):
            raise InputError(
                f"{cfg.ckpt}: num_samples > 1, sampling.* and edit.motion need a model trained with "
                "objective=diffusion; a regression model gives one motion per audio"
            )
        try:
            generator.check_overlap(cfg.overlap)
        except ValueError as err:
            raise InputError(str(err)) from err
        if generator.diffusion is not None:
            try:
                generator.diffusion.check(**sampling_settings(generator.objective, **sampling))
            except ValueError as err:
                raise InputError(f"sampling: {err}") from err
        given = read_motion(Path(cfg.edit.motion)) if cfg.edit.motion else None
        if given is not None:
            try:
                check_motion(given, generator.layout)
            except ValueError as err:
                raise InputError(f"{cfg.edit.motion}: {err}") from err
        if cfg.format == "bvh" and not generator.layout.get("skeleton"):
            raise InputError(
                f"{cfg.ckpt}: format=bvh needs a model trained on motion with a skeleton (data=aistpp or "
                "data=beat2); this one's channels have none"
            )
        files = audio_files(Path(cfg.audio))
        out = Path(cfg.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # a file of that name, or a file in its path
            raise InputError(f"{out}: cannot be the output folder ({err.strerror or err})") from err
    counts, written, seconds, started = Counter(), {}, 0.0, time.perf_counter()
    bar = tqdm(files, unit="file", file=sys.stderr, disable=len(files) < 2 or not cfg.progress)
    for file in bar:
        target = out / f"{file.stem}.{cfg.format}"  # a name alone: never outside `out`
        targets = (
            [target]
            if cfg.num_samples == 1
            else [out / f"{file.stem}_{k}.{cfg.format}" for k in range(cfg.num_samples)]
        )
        try:
            if target in written:
                raise InputError(f"{file}: same output name {target.name} as {written[target].name}")
            written[target] = file  # a later file of the same name is refused, done or skipped
            if all(t.exists() for t in targets) and not cfg.overwrite:
                counts["skipped"] += 1
                bar.write(f"{file}: {targets[-1]} is there already, skipped (overwrite=true redoes it)")
                continue
            features = generator.features_file(file)  # [T, F]
            constraints = None
            if given is not None:
                edit = cfg.edit
                try:
                    constraints = edit_constraints(
                        given,
                        features.shape[0],
                        generator.layout,
                        edit.prefix_seconds,
                        tuple(edit.keyframes),
                        tuple(edit.channels),
                    )
                except ValueError as err:
                    raise InputError(f"{edit.motion}: {err}") from err
            for k, path in enumerate(targets):
                motion = generator.motion_from_features(
                    features, cfg.overlap, seed=cfg.seed + k, constraints=constraints, sampling=sampling
                )
                values = motion.values.cpu().numpy()  # [T, D]
                write_outputs(path, values, file, generator, cfg)
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
    if counts["failed"]:
        print(f"{counts['failed']} of {len(files)} files failed", file=sys.stderr)
        sys.exit(1)
