"""The scoring benchmark: `python benchmarks/scoring.py [overrides]` (see conf/scoring.yaml).

Writes an AIST++-shaped folder (smoothly swaying SMPL poses at 60 fps, a click track per music id, the
official split lists) into the run folder, and a folder of the scored split's motion as `.pkl` files;
then times `python scripts/evaluate.py generated=DIR` under each protocol as a user runs it, start-up
included, and the reference pool's features alone per minute of motion. Prints a Markdown table and
writes results.json and results.md into the run folder.
"""

import json
import pickle
import shlex
import subprocess
import sys
import time
from pathlib import Path

import hydra
import numpy as np
import soundfile
from omegaconf import DictConfig
from suite import run_and_write

from audio2motion.data.aistpp import AistppReader
from audio2motion.data.datamodule import MotionDataModule
from audio2motion.evaluation import protocol_of
from audio2motion.evaluation.pool import reference_pool

CHECKOUT = Path(__file__).resolve().parents[1]
GENRES = ("BR", "PO", "LO", "MH", "LH", "HO", "WA", "KR", "JS", "JB")


def write_folder(root: Path, clips: dict, seconds: float, music_seconds: float, seed: int = 0) -> dict:
    """An AIST++ folder of `clips[split]` motions per split; returns the names by split."""
    rng = np.random.default_rng(seed)
    (root / "motions").mkdir(parents=True)
    (root / "wav").mkdir()
    (root / "splits").mkdir()
    frames, rate = round(seconds * 60), 16000
    names, index = {}, 0
    for split, count in clips.items():
        names[split] = []
        for _ in range(count):
            genre = GENRES[index % len(GENRES)]
            name = f"g{genre}_sBM_cAll_d{index:02d}_m{genre}{index}_ch{index:02d}"
            t = np.arange(frames)[:, None] / 60
            phase, speed = rng.uniform(0, 6.3, (1, 72)), rng.uniform(0.2, 2.0, (1, 72))
            motion = {
                "smpl_poses": 0.4 * np.sin(2 * np.pi * speed * t + phase),
                "smpl_trans": np.cumsum(rng.normal(0, 0.3, (frames, 3)), axis=0) + [0, 90, 0],
                "smpl_scaling": np.array([93.5]),
            }
            with open(root / "motions" / f"{name}.pkl", "wb") as handle:
                pickle.dump(motion, handle)
            beat = rng.uniform(0.4, 0.7)  # seconds between clicks
            audio = np.zeros(round(music_seconds * rate), np.float32)
            for start in np.arange(0, music_seconds, beat):
                at = round(start * rate)
                audio[at : at + 400] += np.hanning(len(audio[at : at + 400])).astype(np.float32) * 0.5
            soundfile.write(root / "wav" / f"m{genre}{index}.wav", audio, rate)
            names[split].append(name)
            index += 1
        (root / "splits" / f"crossmodal_{split}.txt").write_text("\n".join(names[split]) + "\n")
    return names


def run_benchmark(cfg: DictConfig, run_dir: Path) -> dict:
    root = run_dir / "aist"
    names = write_folder(root, dict(cfg.clips), cfg.seconds, cfg.music_seconds)
    folder = run_dir / "generated"
    folder.mkdir()
    scored = [name for split in cfg.split.split("+") for name in names[split]]
    for name in scored:
        (folder / f"{name}.pkl").symlink_to(root / "motions" / f"{name}.pkl")
    runs = {}
    for protocol in cfg.protocols:
        command = [
            sys.executable, "scripts/evaluate.py", "data=aistpp", f"data.root={root}", f"generated={folder}",
            "generated_fps=60", f"split={cfg.split}", f"protocol={protocol}", "progress=false",
            f"hydra.run.dir={run_dir / protocol}",
        ]  # fmt: skip
        started = time.perf_counter()
        result = subprocess.run(command, cwd=CHECKOUT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"{shlex.join(command)} failed:\n{result.stderr[-3000:]}")
        report = json.loads((run_dir / protocol / "report.json").read_text())
        runs[protocol] = {
            "seconds": seconds,
            "in_script_seconds": report["seconds"],
            "fid_k": report["metrics"]["generated"]["fid_k"],
            "fid_g": report["metrics"]["generated"]["fid_g"],
        }
    # the pool alone: its motions at 60 fps, read and featurised
    datamodule = MotionDataModule(str(root), fps=60, features={}, reader=AistppReader())
    motions = sum(cfg.clips.values())
    started = time.perf_counter()
    pool, _ = reference_pool(datamodule, protocol_of("published", "bailando"))
    pool_seconds = time.perf_counter() - started
    per_minute = pool_seconds / (motions * cfg.seconds / 60)
    return {
        "clips_scored": len(scored),
        "seconds_per_clip": cfg.seconds,
        "pool_motions": len(pool[0]),
        "runs": runs,
        "pool_seconds": pool_seconds,
        "pool_seconds_per_minute": per_minute,
        "aistpp_pool_seconds": per_minute * cfg.aistpp_minutes,
    }


def format_report(report: dict, command: str, hardware: str) -> str:
    lines = [
        f"# Scoring speed: {report['clips_scored']} clips of {report['seconds_per_clip']:g} s against a pool "
        f"of {report['pool_motions']}",
        "",
        f"`{command}` on {hardware}.",
        "",
        "| protocol | wall seconds, start-up included | inside the script | FID_k | FID_g |",
        "|---|---:|---:|---:|---:|",
    ]
    for protocol, run in report["runs"].items():
        lines.append(
            f"| {protocol} | {run['seconds']:.1f} | {run['in_script_seconds']:.1f} | {run['fid_k']:.3g} | "
            f"{run['fid_g']:.3g} |"
        )
    lines += [
        "",
        f"Reference pool alone: {report['pool_seconds']:.1f} s for {report['pool_motions']} motions, "
        f"{report['pool_seconds_per_minute']:.2f} s per minute of motion at 60 fps; a full AIST++ pool "
        f"would take about {report['aistpp_pool_seconds']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


@hydra.main(version_base="1.3", config_path="conf", config_name="scoring")
def main(cfg: DictConfig) -> None:
    run_and_write("scoring.py", lambda run_dir: run_benchmark(cfg, run_dir), format_report)


if __name__ == "__main__":
    main()
