"""The real-data benchmark: `python benchmarks/real.py [overrides]` (see conf/real.yaml).

One real BEAT2 take (a person speaking, captured in a motion-capture studio) is cut in time into pieces
(beat2_pieces.py). Each objective trains on the training piece through `train.py data=beat2` with one
time budget, as a user would run it; `scripts/infer.py` turns the held-out piece's speech into motion
(several seeds for diffusion). Generated and real motion of the held-out piece are scored alike on joint
positions: jerk, root and joint speed, foot skating, PFC, beat consistency and L1 diversity, each with its
ratio to the real motion's. Prints a Markdown table and writes results.json and results.md into the run
folder.
"""

import json
import math
import shlex
import subprocess
import sys
import time
from pathlib import Path

import hydra
import numpy as np
import torch
from beat2_pieces import cut_take
from omegaconf import DictConfig, OmegaConf
from suite import run_and_write

from audio2motion.audio_io import load_audio
from audio2motion.data.beat2 import Beat2Reader
from audio2motion.data.folder import Pair
from audio2motion.errors import InputError
from audio2motion.evaluation import EMAGE_FPS, emage_positions, format_value, position_scores
from audio2motion.metrics import (
    joint_speed,
    mean_speed,
    speech_onsets,
)
from audio2motion.metrics.beats import onset_envelope
from audio2motion.motion.layout import joint_positions, skeleton_of

CHECKOUT = Path(__file__).resolve().parents[1]
MEASURES = {  # key: what the table's header says
    "jerk": "jerk (m/s³)",
    "root_speed": "root speed (m/s)",
    "joint_speed": "mean joint speed (m/s)",
    "foot_skating": "foot skating",
    "pfc": "PFC",
    "beat_consistency": "BC",
    "l1_diversity": "L1div",
}


def positions_of(motion: np.ndarray, layout: dict) -> np.ndarray:
    """Joint positions `[T, J, 3]` (metres, y up) of motion `[T, D]` in a skeleton layout."""
    return joint_positions(torch.from_numpy(motion).double(), layout).numpy()


def scores(
    positions: np.ndarray, layout: dict, onsets: np.ndarray, real_speed: np.ndarray
) -> dict[str, float]:
    """The measures of one motion's joint positions `[T, J, 3]`: evaluate.py's (beat consistency against
    the speech's onset times in seconds, with the real motion's mean joint speeds `[J]`) and the root's
    and the joints' mean speeds."""
    fps = float(layout["fps"])
    measured = position_scores(positions, skeleton_of(layout), fps, np.zeros(0, int), onsets, real_speed)
    measured |= {"root_speed": mean_speed(positions[:, :1], fps), "joint_speed": mean_speed(positions, fps)}
    return {key: measured[key] for key in MEASURES}


def run(command: list[str], what: str) -> None:
    """A user command; its output goes to the log only when it fails."""
    done = subprocess.run(command, cwd=CHECKOUT, capture_output=True, text=True)
    if done.returncode:
        raise InputError(f"{what} failed ({shlex.join(command)}):\n{done.stderr[-3000:]}")


def checkpoint(folder: Path, which: str) -> Path:
    """The run's last checkpoint or its best (lowest val/loss)."""
    best = sorted(folder.glob("best-*.ckpt"))
    return best[0] if which == "best" and best else folder / "last.ckpt"


def run_benchmark(cfg: DictConfig, run_dir: Path) -> dict:
    """Cut the take, train and generate for each objective, score; the results as plain data."""
    started = time.perf_counter()
    if cfg.checkpoint not in ("best", "last"):
        raise InputError(f"checkpoint={cfg.checkpoint}: must be best or last")
    take = Path(cfg.take)
    if not take.is_file():
        raise InputError(f"{take}: no such BEAT2 take (take= names its smplxflame_30/NAME.npz)")
    pieces = {name: tuple(piece) for name, piece in OmegaConf.to_container(cfg.pieces).items()}
    heldout = [name for name, (split, _, _) in pieces.items() if split == "test"]
    if len(heldout) != 1:
        raise InputError(f"pieces: needs exactly one held-out piece (split test), has {heldout}")
    data = run_dir / "data"
    frames = cut_take(take, data, pieces)
    reader = Beat2Reader()
    real_motion = reader.motion(Pair(heldout[0], None, data / "smplxflame_30" / f"{heldout[0]}.npz"), 30.0)
    layout = reader.layout(data, 30.0, real_motion.shape[1])
    speech = data / "wave16k" / f"{heldout[0]}.wav"
    onsets = speech_onsets(onset_envelope(*load_audio(speech), EMAGE_FPS), EMAGE_FPS)
    real = positions_of(real_motion, layout)
    real_speed = joint_speed(emage_positions(real, 30.0), EMAGE_FPS).mean(axis=0)  # [J]
    results = {"real": {"samples": 1, **scores(real, layout, onsets, real_speed)}}
    train_seconds = {}
    for name, overrides in cfg.objectives.items():
        folder = run_dir / name
        train_started = time.perf_counter()
        run(
            [
                sys.executable, "train.py", "data=beat2", f"data.root={data}", f"objective={name}",
                f"trainer.max_time={cfg.budget}", f"hydra.run.dir={folder}",
                "callbacks.progress_bar.refresh_rate=0",
                *cfg.train, *overrides,
            ],
            f"training {name}",
        )  # fmt: skip
        train_seconds[name] = time.perf_counter() - train_started
        ckpt = checkpoint(folder / "checkpoints", cfg.checkpoint)
        samples = cfg.samples if name != "regression" else 1
        out = folder / "heldout"
        run(
            [
                sys.executable, "scripts/infer.py", f"ckpt={ckpt}", f"audio={speech}", f"out={out}",
                f"num_samples={samples}", "progress=false",
            ],
            f"inference with {name}",
        )  # fmt: skip
        drawn = []
        for path in sorted(out.glob("*.npz")):
            with np.load(path) as npz:
                generated_layout = json.loads(str(npz["layout"]))
                if generated_layout["skeleton"] != layout["skeleton"]:
                    raise InputError(
                        f"{path}: its skeleton is not the real motion's (the body's 22 joints): the "
                        "benchmark compares data.reader.joints=body models"
                    )
                positions = positions_of(npz["motion"], generated_layout)
                drawn.append(scores(positions, generated_layout, onsets, real_speed))
        results[name] = {"samples": len(drawn)} | {
            key: float(np.mean([d[key] for d in drawn])) for key in MEASURES
        }
    cuts = {name: dict(zip(("split", "start", "end"), piece, strict=True)) for name, piece in pieces.items()}
    return {
        "pieces": {name: cut | {"frames": frames[name]} for name, cut in cuts.items()},
        "results": results,
        "train_seconds": train_seconds,
        "wall_seconds": time.perf_counter() - started,
    }


def ratio(value: float) -> str:
    """A ratio to the real motion's for the table: 0.47x, 1.10x, 118x."""
    return f"{value:.2f}x" if value < 10 else f"{value:.0f}x"


def format_report(report: dict, command: str, hardware: str) -> str:
    """The results as Markdown: the real motion's row, then one per objective, each measure with its
    ratio to the real one."""
    pieces = ", ".join(
        f"{name} {p['start']:g}-{p['end']:g} s ({p['split']})" for name, p in report["pieces"].items()
    )
    real = report["results"]["real"]
    lines = [
        "## Real-data benchmark (BEAT2)",
        "",
        f"`{command}` on {hardware}: {report['wall_seconds']:.0f} s in all. Pieces of the take: {pieces}. "
        "Measures of the held-out piece's motion, real and generated for its speech (diffusion: the mean "
        "over its samples), on joint positions; in brackets, the ratio to the real motion's.",
        "",
        "| motion | samples | " + " | ".join(MEASURES.values()) + " |",
        "|---|---:|" + "---:|" * len(MEASURES),
    ]
    for name, row in report["results"].items():
        cells = [
            format_value(row[key]) + ("" if name == "real" else f" ({ratio(row[key] / real[key])})")
            if math.isfinite(real[key]) and real[key] != 0
            else format_value(row[key])
            for key in MEASURES
        ]
        lines.append(f"| {name} | {row['samples']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@hydra.main(version_base="1.3", config_path="conf", config_name="real")
def main(cfg: DictConfig) -> None:
    run_and_write("real.py", lambda run_dir: run_benchmark(cfg, run_dir), format_report)


if __name__ == "__main__":
    main()
