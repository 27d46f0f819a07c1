"""Videos of motion with its sound: a stick figure for skeleton layouts (front view, joints from forward
kinematics), or the motion channels over time with a moving cursor for other layouts. The mp4 is encoded
by the ffmpeg binary that the imageio-ffmpeg wheel ships, with the input audio muxed in; a GIF preview of
the first seconds is drawn with Pillow."""

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from audio2motion.atomic import atomic_path, atomic_write
from audio2motion.motion.layout import joint_positions, skeleton_of

BACKGROUND, INK, CURSOR = (250, 250, 247), (30, 60, 110), (200, 40, 40)


def frames(motion: np.ndarray, layout: dict, size: int) -> Iterator[Image.Image]:
    """One `size` x `size` picture per motion frame."""
    skeleton = skeleton_of(layout)
    if skeleton is None:
        yield from _channel_frames(motion, size)
        return
    points = joint_positions(torch.from_numpy(np.ascontiguousarray(motion, np.float32)), layout)[
        ..., :2
    ].numpy()
    low, high = points.reshape(-1, 2).min(0), points.reshape(-1, 2).max(0)
    scale = 0.85 * size / max(float((high - low).max()), 1e-6)  # one scale for the clip: motion stays visible
    centre = (low + high) / 2
    pixels = (points - centre) * scale * np.array([1, -1]) + size / 2  # x right, y up
    ground = (low[1] - centre[1]) * -scale + size / 2
    for frame in pixels:
        picture = Image.new("RGB", (size, size), BACKGROUND)
        draw = ImageDraw.Draw(picture)
        draw.line([(0, ground), (size, ground)], fill=(190, 190, 190), width=1)
        for joint, parent in enumerate(skeleton.parents):
            if parent >= 0:
                draw.line([tuple(frame[parent]), tuple(frame[joint])], fill=INK, width=max(2, size // 120))
        yield picture


def _channel_frames(motion: np.ndarray, size: int) -> Iterator[Image.Image]:
    """Each channel's curve over the whole clip (one row each, scaled to its own range), and a cursor at
    the current frame."""
    count, channels = motion.shape
    low, span = motion.min(0), np.maximum(np.ptp(motion, axis=0), 1e-6)
    row = size / channels
    base = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(base)
    x = np.linspace(0, size - 1, count)
    for c in range(channels):
        y = (c + 0.9 - 0.8 * (motion[:, c] - low[c]) / span[c]) * row
        draw.line(list(zip(x.tolist(), y.tolist(), strict=True)), fill=INK, width=1)
    for t in range(count):
        picture = base.copy()
        ImageDraw.Draw(picture).line([(x[t], 0), (x[t], size)], fill=CURSOR, width=2)
        yield picture


def write_video(path: Path, motion: np.ndarray, layout: dict, audio: Path, size: int) -> None:
    """`path` (.mp4, H.264 at the motion's fps, the audio as AAC), whole or not at all."""
    import imageio_ffmpeg  # here: only videos need its ffmpeg binary

    size -= size % 16  # the encoder's macro blocks
    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp),
            (size, size),
            fps=layout["fps"],
            audio_path=str(audio),
            audio_codec="aac",
            output_params=["-f", "mp4"],  # the temporary name has no .mp4 to go by
            ffmpeg_log_level="error",
        )
        writer.send(None)  # start ffmpeg
        for picture in frames(motion, layout, size):
            writer.send(np.asarray(picture))
        writer.close()


def write_preview(
    path: Path, motion: np.ndarray, layout: dict, size: int, seconds: float, fps: float
) -> None:
    """An animated GIF of the first `seconds` at `fps` frames per second (at most the motion's own)."""
    step = max(1, round(layout["fps"] / fps))
    shown = motion[: max(1, int(seconds * layout["fps"]))]
    pictures = list(islice(frames(shown, layout, size), 0, None, step))
    with atomic_write(path) as handle:
        pictures[0].save(
            handle,
            format="GIF",
            save_all=True,
            append_images=pictures[1:],
            duration=round(1000 * step / layout["fps"]),
            loop=0,
        )
