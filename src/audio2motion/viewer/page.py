"""One self-contained web page that plays motions with their sound: viewer.js, viewer.css and page.html
with the motion (joint positions for skeleton layouts, channels for others) and the audio (Ogg Vorbis)
inside it, so that it opens from disk with no network."""

import base64
import html
import io
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import soundfile
import torch

from audio2motion.atomic import atomic_write
from audio2motion.errors import InputError
from audio2motion.features import num_frames
from audio2motion.motion.layout import group_slices, joint_positions, skeleton_of
from audio2motion.motion.skeleton import Skeleton

ENCODE_BLOCK = 1 << 16  # samples per write: libsndfile's Vorbis encoder crashes on one very large write


@dataclass(frozen=True)
class Track:
    """One motion of a page: its label, frame count and what the page draws (see viewer.js)."""

    label: str
    frames: int
    drawn: dict


def pack(values: np.ndarray) -> dict:
    """`[T, C]` floats as int16 per column (offset + step x value): a quarter of the JSON of the floats,
    within step / 2 of each value (well under a millimetre for positions). ValueError for NaN or
    infinite values, which no page can draw."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        raise ValueError("the motion has no frames")
    if not np.isfinite(values).all():
        raise ValueError("the motion holds NaN or infinite values")
    low, high = values.min(0), values.max(0)
    offset, step = (low + high) / 2, np.maximum((high - low) / 65000, 1e-9)
    quantised = np.round((values - offset) / step).astype("<i2")
    return {
        "shape": list(values.shape),
        "offset": offset.tolist(),
        "step": step.tolist(),
        "data": base64.b64encode(quantised.tobytes()).decode(),
    }


def figure_track(label: str, positions: np.ndarray, skeleton: Skeleton, contacts: np.ndarray | None) -> Track:
    """Joint positions `[T, J, 3]` (metres, y up) drawn as `skeleton`'s figure; `contacts` `[T, feet]`
    (0 or 1, one per skeleton.feet) lights the feet."""
    frames = positions.shape[0]
    drawn = {
        "kind": "figure",
        "joints": list(skeleton.joints),
        "parents": list(skeleton.parents),
        "positions": pack(positions.reshape(frames, -1)),
        "feet": [skeleton.joints.index(foot) for foot in skeleton.feet] if contacts is not None else [],
        "contacts": None if contacts is None else pack(contacts),
    }
    return Track(label, frames, drawn)


def motion_track(label: str, motion: np.ndarray, layout: dict) -> Track:
    """Motion `[T, D]` of `layout`: a figure for skeleton layouts, the channels over time for others."""
    skeleton = skeleton_of(layout)
    if skeleton is None:
        drawn = {"kind": "channels", "channels": list(layout["channels"]), "values": pack(motion)}
        return Track(label, motion.shape[0], drawn)
    positions = joint_positions(torch.from_numpy(np.ascontiguousarray(motion, np.float32)), layout).numpy()
    contacts = group_slices(layout).get("foot_contact")
    return figure_track(label, positions, skeleton, None if contacts is None else motion[:, contacts])


def length_mismatch(frames: int, fps: float, audio: tuple[torch.Tensor, int], allowed: int) -> str | None:
    """How a motion of `frames` at `fps` differs in length from `audio` (`[channels, samples]`, its rate),
    which covers num_frames of it as features count them; None within `allowed` frames."""
    samples, sample_rate = audio[0].shape[1], audio[1]
    expected = num_frames(samples, sample_rate, fps)
    if abs(frames - expected) <= allowed:
        return None
    seconds = samples / sample_rate
    return (
        f"{frames} frames at {fps:g} fps ({frames / fps:.2f} s), but its audio lasts {seconds:.2f} s "
        f"({expected} frames): more than {allowed} frames apart"
    )


def cut_audio(audio: tuple[torch.Tensor, int], frames: int, fps: float) -> tuple[torch.Tensor, int]:
    """`audio` (`[channels, samples]`, its rate) over the time of `frames` motion frames at most."""
    waveform, sample_rate = audio
    return waveform[:, : int(np.ceil(frames / fps * sample_rate))], sample_rate


def check_compression(value: float, setting: str) -> None:
    """InputError naming `setting` unless the sound's compression `value` is from 0 to 1."""
    if not 0 <= value <= 1:
        raise InputError(f"{setting}={value}: must be from 0 to 1 (0 the best sound, 1 the smallest page)")


def compressed_audio(waveform: torch.Tensor, sample_rate: int, compression: float) -> bytes:
    """Audio `[channels, samples]` as Ogg Vorbis (`compression` 0 to 1: larger is smaller and rougher;
    0.6 gives about 1 MB per minute of 48 kHz stereo music)."""
    samples = waveform.clamp(-1, 1).T.numpy()  # [S, C]
    buffer = io.BytesIO()
    with soundfile.SoundFile(
        buffer,
        "w",
        sample_rate,
        samples.shape[1],
        format="OGG",
        subtype="VORBIS",
        compression_level=compression,
    ) as file:
        for start in range(0, len(samples), ENCODE_BLOCK):
            file.write(samples[start : start + ENCODE_BLOCK])
    return buffer.getvalue()


def page_html(
    tracks: list[Track],
    fps: float,
    title: str,
    audio: tuple[torch.Tensor, int] | None = None,
    note: str = "",
    compression: float = 0.6,
) -> str:
    """The page's text: `tracks` side by side at `fps`, played with `audio` (`[channels, samples]`, its
    rate) when given, on a clock of its own otherwise."""
    duration = max(track.frames for track in tracks) / fps
    sound = None
    if audio is not None:
        waveform, sample_rate = audio
        duration = max(duration, waveform.shape[1] / sample_rate)
        data = base64.b64encode(compressed_audio(waveform, sample_rate, compression)).decode()
        sound = {"type": "audio/ogg", "data": data}
    data = {
        "fps": float(fps),
        "duration": duration,
        "note": note,
        "audio": sound,
        "tracks": [{"label": track.label, "frames": track.frames, **track.drawn} for track in tracks],
    }
    static = resources.files("audio2motion.viewer")
    parts = {
        "title": html.escape(title),
        "style": static.joinpath("viewer.css").read_text(),
        # "</" inside a script element would end it
        "data": json.dumps(data, separators=(",", ":")).replace("</", "<\\/"),
        "script": static.joinpath("viewer.js").read_text(),
    }
    # one pass: a label that reads {{script}} stays text
    return re.sub(r"\{\{(\w+)\}\}", lambda match: parts[match[1]], static.joinpath("page.html").read_text())


def write_page(path: Path, *args, **kwargs) -> None:
    """`path` (.html) with page_html(*args, **kwargs), whole or not at all; its folder is made."""
    text = page_html(*args, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:
        handle.write(text.encode())
