"""render.enabled=true: an mp4 as long as the audio, with an audio stream, and a GIF preview."""

import re
import subprocess

import imageio_ffmpeg
import pytest
from conftest import infer, write_audio
from PIL import Image

pytestmark = pytest.mark.slow  # renders the trained model's motion through scripts/infer.py


def probe(path) -> tuple[float, list[str]]:
    """Duration in seconds and the stream lines that ffmpeg reports for a media file."""
    text = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(path)], capture_output=True, text=True
    ).stderr
    h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text).groups()
    return int(h) * 3600 + int(m) * 60 + float(s), [
        line.strip() for line in text.splitlines() if "Stream #" in line
    ]


def check_video(out, name: str, seconds: float, fps: float = 30.0) -> None:
    duration, streams = probe(out / f"{name}.mp4")
    assert abs(duration - seconds) < 0.05, duration
    assert any("Video: h264" in s for s in streams) and any("Audio: aac" in s for s in streams), streams
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(out / f"{name}.mp4"))
    assert frames == int(seconds * fps)
    with Image.open(out / f"{name}.gif") as preview:
        assert preview.size == (240, 240) and preview.n_frames > 1
        shown = 0  # Pillow merges identical neighbouring frames, adding up their durations
        for index in range(preview.n_frames):
            preview.seek(index)
            shown += preview.info["duration"]
        assert shown == 1000 * min(seconds, 10.0)


def test_render_writes_mp4_with_sound_and_a_gif_preview(trained_run, tmp_path):
    audio = write_audio(tmp_path / "take one.flac", 44100, 4.0, channels=2)
    result = infer(trained_run / "checkpoints" / "last.ckpt", audio, tmp_path / "out", "render.enabled=true")
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "take one.gif",
        "take one.mp4",
        "take one.npz",
    ]
    check_video(tmp_path / "out", "take one", 4.0)
