"""Motions of one audio side by side in one web page: `audio2motion-view a.npz b.npz ... [audio=FILE]
out=page.html` (`python scripts/view.py` in a checkout; see conf/view.yaml).

Each motion is labelled and plays in sync with the sound: .npz files as infer.py writes them, a clip of a
data set as the ground truth (`data=... data.root=DIR clip=NAME`, its sound too) and motion generated
here by checkpoints (`ckpt=PATH` or a list, `num_samples=` each). Motions of another layout than the
first, or longer or shorter than the audio, are refused with one line and no page.
"""

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig

from audio2motion.audio_io import load_audio
from audio2motion.cli import CONFIG_PATH
from audio2motion.data.folder import shared_frames
from audio2motion.errors import InputError, exit_on_user_error
from audio2motion.features import num_frames
from audio2motion.inference import MotionGenerator, load_model
from audio2motion.inference.batch import read_motion
from audio2motion.motion.layout import channel_mismatch
from audio2motion.viewer import check_compression, cut_audio, length_mismatch, motion_track, write_page

# Hydra options that take the next argument as their value: it is no motion file.
VALUED_OPTIONS = (
    "-cn",
    "--config-name",
    "-cp",
    "--config-path",
    "-cd",
    "--config-dir",
    "-c",
    "--cfg",
    "-p",
    "--package",
)


@dataclass(frozen=True)
class Shown:
    """One motion of the page: where it comes from (for errors), its label, `[T, D]` and layout."""

    source: str
    label: str
    motion: np.ndarray
    layout: dict


def with_motion_files(argv: list[str]) -> list[str]:
    """The command line with its bare arguments (the motion files) as one `motions=[...]` override."""
    files, rest, valued = [], [], False
    for arg in argv[1:]:
        if valued or "=" in arg or arg.startswith("-"):
            rest.append(arg)
            valued = arg in VALUED_OPTIONS
        else:
            files.append(arg)
    if not files:
        return argv
    quoted = ",".join("'" + file.replace("\\", "\\\\").replace("'", "\\'") + "'" for file in files)
    return [argv[0], *rest, f"motions=[{quoted}]"]


def main() -> None:
    sys.argv = with_motion_files(sys.argv)
    view()


def as_list(value) -> list[str]:
    """A setting given as one value or a list (`ckpt=a.ckpt`, `ckpt=[a.ckpt,b.ckpt]`)."""
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, ListConfig | list) else [str(value)]


def motion_file(path: Path) -> Shown:
    """An .npz as infer.py writes it; InputError naming it when it is not one, or cannot be drawn."""
    motion, layout = read_motion(path)
    if layout is None or not isinstance(layout.get("fps"), int | float):
        raise InputError(f"{path}: an .npz as infer.py writes it, with its `layout`, is needed to draw it")
    if not len(motion):
        raise InputError(f"{path}: the motion has no frames")
    if motion.ndim != 2 or motion.shape[1] != len(layout["channels"]):
        raise InputError(
            f"{path}: motion of shape {list(motion.shape)} for {len(layout['channels'])} channels"
        )
    return Shown(str(path), path.stem, motion, layout)


def data_clip(cfg: DictConfig, fps: float | None) -> tuple[Shown, tuple[torch.Tensor, int]]:
    """Clip `cfg.clip` of the data set `cfg.data` at `fps` (the data's own when None) and its sound, over
    the time both cover, as training reads it (AIST++'s music runs past the dance)."""
    if cfg.get("data") is None:
        raise InputError(f"clip={cfg.clip}: name the data set too (data=aistpp data.root=DIR)")
    reader, root = instantiate(cfg.data.reader), Path(cfg.data.root)
    fps = float(cfg.data.fps if fps is None else fps)
    pairs, _ = reader.pairs(root)
    clip = str(cfg.clip)  # clip=1_2 reads as the number 12 unless quoted
    if clip not in pairs:
        shown = ", ".join(sorted(pairs)[:5]) + (" ..." if len(pairs) > 5 else "")
        raise InputError(f"{root}: no clip named {clip} (it has {len(pairs)}: {shown})")
    pair = pairs[clip]
    motion = reader.motion(pair, fps)
    audio = load_audio(pair.audio)
    audio_frames = num_frames(audio[0].shape[1], audio[1], fps)
    frames = shared_frames(
        pair, len(motion), audio_frames, fps, cfg.data.max_length_mismatch, reader.trims_audio
    )
    layout = reader.layout(root, fps, motion.shape[1])
    truth = Shown(str(pair.motion), f"ground truth: {clip}", motion[:frames], layout)
    return truth, cut_audio(audio, frames, fps)


def generated(cfg: DictConfig, generators: dict[str, MotionGenerator], audio, sound: str) -> list[Shown]:
    """Each checkpoint's motion for `audio` (`[channels, samples]`, its rate; `sound` names it),
    num_samples each."""
    shown = []
    for ckpt, generator in generators.items():
        try:
            features = generator.featurizer(audio[0].to(cfg.device), audio[1])  # [T, F]
        except ValueError as err:
            raise InputError(f"{sound}: {err}") from err
        for k in range(cfg.num_samples):
            seed = cfg.seed + k
            motion = generator.motion_from_features(features, seed=seed).values.cpu().numpy()
            label = ckpt if generator.sampler is None else f"{ckpt} (seed {seed})"
            shown.append(Shown(ckpt, label, motion, generator.layout))
    return shown


def cut_to_shortest(shown: list[Shown], fps: float, audio: tuple[torch.Tensor, int] | None):
    """Every motion, and the sound, over the time of the shortest."""
    frames = min(len(one.motion) for one in shown)
    if audio is not None:
        frames = min(frames, num_frames(audio[0].shape[1], audio[1], fps))
        audio = cut_audio(audio, frames, fps)
    return [replace(one, motion=one.motion[:frames]) for one in shown], audio


def page_of(cfg: DictConfig) -> dict:
    """write_page's arguments for view.yaml's settings `cfg`; InputError for bad input."""
    if cfg.num_samples < 1:
        raise InputError(f"num_samples={cfg.num_samples}: must be 1 or more")
    check_compression(cfg.audio_compression, "audio_compression")
    if not (cfg.motions or cfg.ckpt or cfg.clip):
        raise InputError("nothing to show: give motion files (a.npz b.npz ...), ckpt= or clip=")
    files = [motion_file(Path(path)) for path in as_list(cfg.motions)]
    generators = {ckpt: load_model(ckpt, device=cfg.device) for ckpt in as_list(cfg.ckpt)}
    for ckpt, generator in generators.items():
        if generator.sampler is None and cfg.num_samples > 1:
            raise InputError(f"{ckpt}: num_samples > 1 needs a model trained with objective=diffusion")
    audio = None if cfg.audio is None else load_audio(cfg.audio)
    shown = []
    if cfg.clip is not None:  # at the frame rate of the motion it is shown beside
        rates = [one.layout["fps"] for one in files] + [generator.fps for generator in generators.values()]
        truth, sound = data_clip(cfg, rates[0] if rates else None)
        shown.append(truth)
        audio = sound if audio is None else audio
    shown += files
    if generators:
        if audio is None:
            raise InputError("ckpt= generates motion for a sound: give audio= (or clip=)")
        shown += generated(cfg, generators, audio, cfg.audio or f"the audio of clip {cfg.clip}")
    first = shown[0]
    for other in shown[1:]:
        fps, first_fps = other.layout["fps"], first.layout["fps"]
        problem = channel_mismatch(other.layout["channels"], first.layout["channels"], first.source)
        if fps != first_fps:
            problem = f"motion at {fps:g} fps, {first.source}'s is at {first_fps:g} fps"
        if problem:
            raise InputError(f"{other.source}: {problem}: one page shows motions of one layout")
    fps = float(first.layout["fps"])
    if cfg.cut:
        shown, audio = cut_to_shortest(shown, fps, audio)
    if audio is not None:
        for one in shown:
            problem = length_mismatch(len(one.motion), fps, audio, cfg.max_length_mismatch)
            if problem:
                raise InputError(f"{one.source}: {problem} (max_length_mismatch={cfg.max_length_mismatch})")
    labels = [str(label) for label in cfg.labels] or [one.label for one in shown]
    if len(labels) != len(shown):
        raise InputError(f"labels: {len(labels)} given for {len(shown)} motions")
    title = cfg.title or (Path(cfg.audio).name if cfg.audio else cfg.clip or first.label)
    tracks = []
    for label, one in zip(labels, shown, strict=True):
        try:
            tracks.append(motion_track(label, one.motion, one.layout))
        except ValueError as err:  # no frames (cut=true to an empty file), NaN from a model or a file
            raise InputError(f"{one.source}: {err}") from err
    return {
        "tracks": tracks,
        "fps": fps,
        "title": str(title),
        "audio": audio,
        "compression": cfg.audio_compression,
    }


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="view")
def view(cfg: DictConfig) -> None:
    with exit_on_user_error():
        page = page_of(cfg)
        out = Path(cfg.out)
        if out.is_dir():
            raise InputError(f"out={out}: a folder; give the page's file name (page.html)")
        try:
            write_page(out, **page)
        except OSError as err:
            raise InputError(f"out={out}: cannot write the page ({err.strerror or err})") from err
    seconds = max(track.frames for track in page["tracks"]) / page["fps"]
    sound = "with its sound" if page["audio"] is not None else "without sound"
    size = out.stat().st_size / 1e6
    print(f"{out}: {len(page['tracks'])} motions of {seconds:.1f} s, {sound} ({size:.2f} MB)")
