"""The generative benchmark: where the audio admits two motions, does a model produce both?
`python benchmarks/generative.py [overrides]` (see conf/generative.yaml).

The synthetic suite (suite.py) gets the two-way rule (`torso.lean` leans left or right on each beat at
random; see `audio2motion.data.synthetic`). Each objective (the package's conf/objective/) trains on it
with one budget, draws several samples for each held-out clip, and is scored on the two-way channel (error
to the nearest valid motion, which side each beat leans to, diversity across samples) and on the rules
whose answer is unique. It prints a Markdown table and writes `results.json` and `results.md` into the run
folder.
"""

import time
from pathlib import Path

import hydra
import numpy as np
from groups import composed
from omegaconf import DictConfig, OmegaConf, open_dict
from suite import run_and_write, train_variants, write_suite

from audio2motion.audio_io import load_audio
from audio2motion.data.synthetic import ClipPlan, rules_from_config
from audio2motion.errors import InputError
from audio2motion.inference import load_model
from audio2motion.metrics import nmse

TWO_WAY = "torso.lean"
COMMIT = 0.5  # a beat leans to a side when the sample's projection on that side's motion is at least this


def lean_scores(samples: np.ndarray, truth: np.ndarray, beats: np.ndarray) -> dict[str, float]:
    """Sums over one clip's beats for `samples` `[S, T]` of the two-way channel against its `truth` `[T]`
    (beat index of each frame: `beats` `[T]`). Each beat's valid motions are `+|truth|` and `-|truth|`."""
    shape = np.abs(truth)
    sums = {"error": 0.0, "variance": 0.0, "left": 0, "right": 0, "beats": 0}
    for beat in np.unique(beats):
        frames = beats == beat
        energy = float((shape[frames] ** 2).sum())
        if energy < 1e-3:  # a sliver of a beat at the clip's edge
            continue
        sums["variance"] += float(((truth[frames] - truth.mean()) ** 2).sum()) * len(samples)
        for sample in samples[:, frames]:
            sums["error"] += float(
                min(((sample - shape[frames]) ** 2).sum(), ((sample + shape[frames]) ** 2).sum())
            )
            side = float((sample * shape[frames]).sum()) / energy  # 1: leans right as valid, -1: left
            sums["beats"] += 1
            sums["right"] += side >= COMMIT
            sums["left"] += side <= -COMMIT
    return sums


def diversity(samples: np.ndarray, scale: np.ndarray) -> float:
    """Mean over pairs of samples `[S, T, C]` of their RMS difference, in units of `scale` `[C]`."""
    pairs = [(i, j) for i in range(len(samples)) for j in range(i + 1, len(samples))]
    return float(np.mean([np.sqrt((((samples[i] - samples[j]) / scale) ** 2).mean()) for i, j in pairs]))


def score(folder: Path, plans: list[ClipPlan], model, samples: int, fps: float, channels: list[str]) -> dict:
    """One model's scores over the held-out clips of `folder`, `samples` seeds each."""
    lean = channels.index(TWO_WAY)
    others = [i for i in range(len(channels)) if i != lean]
    totals: dict[str, float] = {}
    per_sample_nmse, spread_lean, spread_others = [], [], []
    for audio, plan in zip(sorted(folder.glob("*.wav")), plans, strict=True):
        waveform, rate = load_audio(audio)
        truth = np.load(audio.with_suffix(".npy"))
        features = model.featurizer(waveform, rate)  # analysed once for all the samples
        drawn = np.stack(
            [model.motion_from_features(features, seed=s).values.numpy() for s in range(samples)]
        )
        beats = plan.beat_index(np.arange(len(truth)) / fps)
        for key, value in lean_scores(drawn[:, :, lean], truth[:, lean], beats).items():
            totals[key] = totals.get(key, 0) + value
        per_sample_nmse += [nmse(d[:, others], truth[:, others]) for d in drawn]
        spread_lean.append(diversity(drawn[:, :, [lean]], np.sqrt((truth[:, [lean]] ** 2).mean(0))))
        spread_others.append(diversity(drawn[:, :, others], model.motion_norm.std.numpy()[others]))
    return {
        "nmse_nearest_valid": totals["error"] / totals["variance"],
        "left": totals["left"] / totals["beats"],
        "right": totals["right"] / totals["beats"],
        "diversity_two_way": float(np.mean(spread_lean)),
        "nmse_unique_rules": float(np.mean(per_sample_nmse)),
        "diversity_unique_rules": float(np.mean(spread_others)),
    }


def run_benchmark(cfg: DictConfig, run_dir: Path) -> dict:
    """Write the suite, train one model per objective, score their samples; the results as plain data."""
    started = time.perf_counter()
    if cfg.benchmark.samples < 2:
        raise InputError(
            f"benchmark.samples={cfg.benchmark.samples}: diversity needs at least 2 samples a clip"
        )
    suite = OmegaConf.to_container(cfg.benchmark.suite, resolve=True)
    rules = rules_from_config({**suite.pop("rules"), "two_way": True})
    fps = float(cfg.data.fps)
    plans = write_suite(run_dir / "suite", suite, rules, fps, sets=("heldout",))
    with open_dict(cfg):  # fixed now: each variant moves paths.output_dir, which data.root refers to
        cfg.data.root = str(run_dir / "suite" / "train")
    variants = {
        name: {"objective": OmegaConf.merge(composed("objective", name), overrides)}
        for name, overrides in cfg.benchmark.objectives.items()
    }
    checkpoints, seconds = train_variants(cfg, run_dir, variants)
    results = {
        name: score(
            run_dir / "suite" / "heldout", plans, load_model(path), cfg.benchmark.samples, fps, rules.channels
        )
        for name, path in checkpoints.items()
    }
    return {"results": results, "train_seconds": seconds, "wall_seconds": time.perf_counter() - started}


def format_report(report: dict, command: str, hardware: str, samples: int) -> str:
    """The results as Markdown: one row per objective."""
    lines = [
        "## Generative benchmark",
        "",
        f"`{command}` on {hardware}: {report['wall_seconds']:.0f} s in all; {samples} samples (seeds) per "
        "held-out clip.",
        f"Two-way rule (`{TWO_WAY}`, a lean to either side on each beat): NMSE to the nearest valid motion "
        f"(per beat, the closer side), the share of beats leaning left and right (projection on that side's "
        f"motion of at least {COMMIT}; the rest lean neither way), diversity (RMS difference between two "
        "samples over the lean's RMS: 0 when every sample is the same, about 1.4 for sides drawn fairly). "
        "Rules with one answer: NMSE of each sample, and diversity in units of each channel's standard "
        "deviation in training.",
        "",
        "| objective | train s | NMSE to nearest valid | lean left | lean right | neither | diversity | "
        "NMSE unique rules | diversity unique rules |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in report["results"].items():
        neither = 1 - r["left"] - r["right"]
        lines.append(
            f"| {name} | {report['train_seconds'][name]:.0f} | {r['nmse_nearest_valid']:.3f} | "
            f"{100 * r['left']:.0f} % | {100 * r['right']:.0f} % | {100 * neither:.0f} % | "
            f"{r['diversity_two_way']:.2f} | {r['nmse_unique_rules']:.4f} | "
            f"{r['diversity_unique_rules']:.3f} |"
        )
    lines.append("")
    for name, r in report["results"].items():
        leaning = r["left"] + r["right"]
        shares = (
            f"of the beats that lean, {100 * r['left'] / leaning:.0f} % lean left and "
            f"{100 * r['right'] / leaning:.0f} % right"
            if leaning
            else "no beat leans to either side"
        )
        lines.append(f"- {name}: {shares}; {100 * leaning:.0f} % of beats lean.")
    return "\n".join(lines) + "\n"


@hydra.main(version_base="1.3", config_path="conf", config_name="generative")
def main(cfg: DictConfig) -> None:
    run_and_write(
        "generative.py",
        lambda run_dir: run_benchmark(cfg, run_dir),
        lambda report, command, hardware: format_report(report, command, hardware, cfg.benchmark.samples),
    )


if __name__ == "__main__":
    main()
