"""The synthetic suite that the learning and generative benchmarks train and score on (training clips,
and held-out clips rendered up to three ways; see `audio2motion.data.synthetic`), the training of model
variants on it with one budget, and the writing of their results."""

import copy
import json
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from audio2motion.data.synthetic import (
    ClipPlan,
    SyntheticRules,
    draw_clip,
    render_audio,
    render_motion,
    write_clips,
    write_synthetic_dataset,
)
from audio2motion.errors import exit_on_user_error
from audio2motion.hardware import hardware
from audio2motion.training.run import train

# Held-out sets: the training timbre and rate; other sample rates, every other clip in stereo; square waves.
SETS = {
    "heldout": "held-out clips, training timbre",
    "heldout_rates": "the same clips at other sample rates, mono and stereo",
    "heldout_timbre": "the same clips as square waves",
}


def write_suite(
    root: Path, suite: dict, rules: SyntheticRules, fps: float, sets: tuple[str, ...] = tuple(SETS)
) -> list[ClipPlan]:
    """`root/train` (training clips) and a folder per held-out set of `sets`, all in the folder format;
    returns the held-out clips' plans."""
    write_synthetic_dataset(
        root / "train",
        suite["train_clips"],
        suite["duration"],
        suite["sample_rate"],
        fps,
        suite["seed"],
        rules,
    )
    rng = np.random.default_rng(suite["seed"] + 1)
    plans = [draw_clip(suite["duration"], rng, rules, heldout=True) for _ in range(suite["heldout_clips"])]
    square = replace(rules, timbre="square")
    for name in sets:

        def clips(name=name):
            for i, plan in enumerate(plans):
                rate, channels, timbre = suite["sample_rate"], 1, rules
                if name == "heldout_rates":
                    rates = suite["other_rates"]
                    rate, channels = (
                        rates[i % len(rates)],
                        1 + (i // len(rates)) % 2,
                    )  # each rate mono and stereo
                elif name == "heldout_timbre":
                    timbre = square
                audio = render_audio(plan, timbre, rate, channels, suite["pan"])
                yield f"clip_{i:03d}", audio, render_motion(plan, timbre, fps, audio.shape[0], rate), rate

        write_clips(
            root / name, clips(), rules.channels, {"set": name, "suite": suite, "rules": asdict(rules)}
        )
    return plans


def train_variants(
    cfg: DictConfig, run_dir: Path, variants: dict[str, dict]
) -> tuple[dict[str, Path], dict[str, float]]:
    """Train `cfg` once per variant, its overrides (nested config data) merged in, with the same data,
    trainer and seed; each one's best checkpoint and training seconds."""
    checkpoints, seconds = {}, {}
    for name, overrides in variants.items():
        variant = copy.deepcopy(cfg)
        with open_dict(variant):
            variant.paths.output_dir = str(run_dir / name)
            variant.merge_with(overrides)
        start = time.perf_counter()
        train(variant)
        seconds[name] = time.perf_counter() - start
        best = sorted((run_dir / name / "checkpoints").glob("best-*.ckpt"))
        checkpoints[name] = best[0] if best else run_dir / name / "checkpoints" / "last.ckpt"
    return checkpoints, seconds


def write_results(run_dir: Path, report: dict, markdown: str) -> None:
    """`results.json` (the report) and `results.md` (its table) into the run folder, and the table on
    stdout."""
    (run_dir / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    (run_dir / "results.md").write_text(markdown)
    print(markdown)
    print(f"written to {run_dir / 'results.md'} and results.json")


def run_and_write(script: str, run: Callable[[Path], dict], table: Callable[[dict, str, str], str]) -> None:
    """A benchmark's main: `run` it in Hydra's run folder (a user's error is one line and exit 1), then
    write its results there with `table` of the report, the command that reproduces it and the hardware."""
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    with exit_on_user_error():
        report = run(run_dir)
    command = shlex.join(["python", f"benchmarks/{script}", *sys.argv[1:]])
    write_results(run_dir, report, table(report, command, hardware()))
