"""One BEAT2 take cut in time into pieces, written as a BEAT2 folder of their own (the real-data benchmark,
real.py, and the tests that train on real capture).

A piece is frames [start, end) of the take's motion at its recorded rate and the same span of its speech
(the take's audio runs on past its last motion frame; the last piece's audio ends with its motion).
`train_test_split.csv` marks each piece with its split, so that data=beat2 trains, validates and tests on
the pieces as cut.
"""

import csv
from pathlib import Path

import numpy as np
import soundfile

from audio2motion.atomic import atomic_write
from audio2motion.audio_io import load_audio

PER_FRAME = ("poses", "trans", "expressions")  # the npz keys with one row per motion frame


def cut_take(take: Path, out: Path, pieces: dict[str, tuple[str, float, float]]) -> dict[str, int]:
    """Write `out/smplxflame_30/NAME.npz`, `out/wave16k/NAME.wav` and `out/train_test_split.csv` for
    `pieces` `{NAME: (split, start_seconds, end_seconds)}` of the take `take` (its .npz, with its speech in
    the take folder's wave16k/); returns each piece's frame count."""
    data = dict(np.load(take, allow_pickle=False))
    rate = float(data["mocap_frame_rate"])
    waveform, sample_rate = load_audio(take.parent.parent / "wave16k" / f"{take.stem}.wav")  # [C, S]
    frames = {}
    for folder in ("smplxflame_30", "wave16k"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for name, (_, start, end) in pieces.items():
        first, last = round(start * rate), min(round(end * rate), len(data["poses"]))
        piece = {k: v[first:last] if k in PER_FRAME else v for k, v in data.items()}
        with atomic_write(out / "smplxflame_30" / f"{name}.npz") as handle:
            np.savez(handle, **piece)
        audio = waveform[:, round(first / rate * sample_rate) : round(last / rate * sample_rate)]
        with atomic_write(out / "wave16k" / f"{name}.wav") as handle:
            soundfile.write(handle, audio.T.numpy(), sample_rate, format="WAV", subtype="FLOAT")
        frames[name] = last - first
    with open(out / "train_test_split.csv", "w", newline="") as handle:
        table = csv.writer(handle)
        table.writerow(["id", "type"])
        table.writerows((name, split) for name, (split, _, _) in pieces.items())
    return frames
