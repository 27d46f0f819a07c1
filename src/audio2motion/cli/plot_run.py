"""A training run as pictures: `python scripts/plot_run.py RUN_DIR [--out DIR]`.

Reads the run's TensorBoard event files and writes, into RUN_DIR/plots (or --out):
- `curves.png`: losses, loss terms, validation NMSE against the mean pose, learning rate, gradient norm;
- `clip_channels.png` and `clip_motion.png`: the last validation clip that training drew (predicted
  against true channels over time; frames of the predicted motion over the truth).
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from audio2motion.atomic import atomic_write
from audio2motion.errors import InputError, exit_on_user_error
from audio2motion.plots import run_figure

IMAGES = {"val/channels": "clip_channels.png", "val/motion": "clip_motion.png"}


def read_events(folder: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, bytes]]:
    """Every scalar curve `{tag: (steps, values)}` of the event files under `folder` (a resumed run's
    files join up; a step logged twice keeps its last value) and the last PNG of each image tag."""
    curves: dict[str, dict[int, float]] = {}
    images: dict[str, tuple[float, bytes]] = {}
    for path in sorted(folder.rglob("events.out.tfevents.*")):
        events = EventAccumulator(str(path), size_guidance={"scalars": 0, "images": 0})
        events.Reload()
        for tag in events.Tags()["scalars"]:
            curves.setdefault(tag, {}).update({e.step: e.value for e in events.Scalars(tag)})
        for tag in set(events.Tags()["images"]) & IMAGES.keys():
            last = events.Images(tag)[-1]
            if tag not in images or last.wall_time > images[tag][0]:
                images[tag] = (last.wall_time, last.encoded_image_string)
    scalars = {tag: (np.array(sorted(c)), np.array([c[s] for s in sorted(c)])) for tag, c in curves.items()}
    return scalars, {tag: png for tag, (_, png) in images.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a training run folder (hydra.run.dir)")
    parser.add_argument("--out", type=Path, default=None, help="where the PNGs go (RUN_DIR/plots)")
    args = parser.parse_args(argv)
    with exit_on_user_error():
        if not args.run_dir.is_dir():
            raise InputError(f"{args.run_dir}: no such run folder")
        curves, images = read_events(args.run_dir)
        if not curves:
            raise InputError(f"{args.run_dir}: no TensorBoard event files with scalars (was logger=none?)")
        out = args.out or args.run_dir / "plots"
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # a file of that name, or a file in its path
            raise InputError(f"{out}: cannot be the output folder ({err.strerror or err})") from err
    with atomic_write(out / "curves.png") as handle:
        run_figure(curves).savefig(handle, format="png")
    for tag, png in images.items():
        with atomic_write(out / IMAGES[tag]) as handle:
            handle.write(png)
    written = ["curves.png", *(IMAGES[tag] for tag in images)]
    print(f"wrote {', '.join(written)} to {out} ({len(curves)} curves)")
    if not images:
        print("no validation clip was drawn (callbacks.validation_media off?)", file=sys.stderr)
