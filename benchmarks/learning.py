"""The learning benchmark: does a model use the audio, frame by frame and over time?
`python benchmarks/learning.py [overrides]` (see conf/learning.yaml).

It writes a synthetic suite (training clips, and held-out clips rendered three ways; see suite.py),
trains model variants on it with one budget, and scores them with baselines on the held-out clips, per
rule (see `audio2motion.data.synthetic`) and overall. It prints a Markdown table and writes
`results.json` and `results.md` into the run folder.
"""

import copy
import time
from collections.abc import Callable
from pathlib import Path

import hydra
import numpy as np
from baselines import NearestNeighbourRetrieval
from omegaconf import DictConfig, OmegaConf, open_dict
from scipy import stats
from suite import SETS, run_and_write, train_variants, write_suite

from audio2motion.audio_io import load_audio
from audio2motion.data.datamodule import MotionDataModule
from audio2motion.data.synthetic import rules_from_config
from audio2motion.errors import InputError
from audio2motion.inference import MotionGenerator, load_model
from audio2motion.metrics import beat_alignment, correlation, motion_beats, music_beats, nmse

BASELINES = ("shuffled_audio", "nearest_neighbour", "mean_pose")
GROUND_TRUTH = "ground_truth"
METRICS = ("nmse", "correlation", "beat_alignment")


def evaluate_set(
    folder: Path,
    predictors: dict[str, Callable],
    channel_rules: dict[str, str],
    fps: float,
    scale: np.ndarray,
) -> dict[str, dict[str, dict[str, float]]]:
    """`result[method][rule][metric]` over the clips of one held-out folder; `overall` is every channel.
    Predictors take `(clips, i)` and return clip i's motion; `scale` (per channel) evens out channel
    sizes before motion beats are found."""
    clips = []
    for audio in sorted(folder.glob("*.wav")):
        waveform, sample_rate = load_audio(audio)
        clips.append((waveform, sample_rate, np.load(audio.with_suffix(".npy"))))
    rules = list(channel_rules.values())
    groups = {rule: [i for i, r in enumerate(rules) if r == rule] for rule in dict.fromkeys(rules)}
    groups["overall"] = list(range(len(channel_rules)))
    beats = [music_beats(waveform, sample_rate, fps) for waveform, sample_rate, _ in clips]
    results = {}
    for method, predict in {**predictors, GROUND_TRUTH: lambda clips, i: clips[i][2]}.items():
        preds = [np.asarray(predict(clips, i))[: len(clip[2])] for i, clip in enumerate(clips)]
        truths = [clip[2][: len(p)] for clip, p in zip(clips, preds, strict=True)]
        pred, truth = np.concatenate(preds), np.concatenate(truths)
        results[method] = {}
        for rule, idx in groups.items():
            alignment = [
                beat_alignment(music, motion_beats(p[:, idx] / scale[idx], fps), fps)
                for music, p in zip(beats, preds, strict=True)
            ]
            results[method][rule] = {
                "nmse": nmse(pred[:, idx], truth[:, idx]),
                "correlation": correlation(pred[:, idx], truth[:, idx]),
                "beat_alignment": float(np.nanmean(alignment)),  # NaN: a clip without music beats
            }
    return results


def checked_seeds(seeds: list) -> list[int]:
    """`seeds` as given; an InputError unless they are one or more different whole numbers."""
    if not seeds or len(set(seeds)) != len(seeds) or not all(isinstance(seed, int) for seed in seeds):
        raise InputError(f"benchmark.seeds must list one or more different whole numbers, got {seeds}")
    return seeds


def predictors_for(models: dict, main: MotionGenerator, retrieve: Callable) -> dict[str, Callable]:
    """The trained models and the baselines as predictors `(clips, i) -> clip i's motion`: shuffled_audio
    plays `main` the next clip's audio, nearest_neighbour is `retrieve((waveform, sample_rate))`."""
    predictors = {
        name: lambda clips, i, model=model: model.generate(*clips[i][:2]).values.numpy()
        for name, model in models.items()
    }
    predictors["shuffled_audio"] = lambda clips, i: main.generate(
        *clips[(i + 1) % len(clips)][:2]
    ).values.numpy()
    predictors["nearest_neighbour"] = lambda clips, i: retrieve(clips[i][:2])
    mean_pose = main.motion_norm.mean.numpy()
    predictors["mean_pose"] = lambda clips, i: np.broadcast_to(mean_pose, clips[i][2].shape)
    return predictors


def run_benchmark(cfg: DictConfig, run_dir: Path) -> dict:
    """Write the suite, train the variants once per seed of `benchmark.seeds` (into `run_dir/seed_S/`),
    evaluate everything; the results as plain data, averaged over the seeds and per seed."""
    started = time.perf_counter()
    suite = OmegaConf.to_container(cfg.benchmark.suite, resolve=True)
    if suite["heldout_clips"] < 2:
        raise InputError("benchmark.suite.heldout_clips must be 2 or more: shuffled_audio plays another clip")
    seeds = checked_seeds(list(cfg.benchmark.seeds))
    rules = rules_from_config(suite.pop("rules"))
    fps = float(cfg.data.fps)
    write_suite(run_dir / "suite", suite, rules, fps)
    with open_dict(cfg):  # fixed now: each variant moves paths.output_dir, which data.root refers to
        cfg.data.root = str(run_dir / "suite" / "train")
    data = MotionDataModule(
        cfg.data.root,
        fps,
        OmegaConf.to_container(cfg.features, resolve=True),
        cfg.benchmark.retrieval.window_seconds,
        cfg.benchmark.retrieval.stride_seconds,
        val_fraction=cfg.data.val_fraction,
        test_fraction=cfg.data.test_fraction,
        split_seed=cfg.data.split_seed,
    )
    data.setup()
    retrieval = NearestNeighbourRetrieval(
        data.clips["train"], data.window, data.stride, data.stats["feature_mean"], data.stats["feature_std"]
    )
    variants = {name: {"model": {"net": net or {}}} for name, net in cfg.benchmark.variants.items()}
    per_seed, train_seconds = {}, {}
    for seed in seeds:
        seeded = copy.deepcopy(cfg)
        with open_dict(seeded):
            seeded.seed = seed
        checkpoints, train_seconds[seed] = train_variants(seeded, run_dir / f"seed_{seed}", variants)
        models = {name: load_model(path) for name, path in checkpoints.items()}
        main = models[cfg.benchmark.main]
        predictors = predictors_for(models, main, lambda clip: retrieval(data.featurizer(*clip)).numpy())
        scale = main.motion_norm.std.numpy()
        per_seed[seed] = {
            name: evaluate_set(run_dir / "suite" / name, predictors, rules.channel_rules, fps, scale)
            for name in SETS
        }
    return {
        "results": mean_over_seeds(list(per_seed.values())),
        "train_seconds": {
            name: float(np.mean([seconds[name] for seconds in train_seconds.values()])) for name in variants
        },
        "seeds": seeds,
        "per_seed": {str(seed): results for seed, results in per_seed.items()},
        "wall_seconds": time.perf_counter() - started,
        "main": cfg.benchmark.main,
    }


def mean_over_seeds(per_seed: list[dict]) -> dict:
    """`result[set][method][rule][metric]`, each the mean of that number over the seeds' results."""
    first = per_seed[0]
    return {
        name: {
            method: {
                rule: {
                    metric: float(np.mean([results[name][method][rule][metric] for results in per_seed]))
                    for metric in first[name][method][rule]
                }
                for rule in first[name][method]
            }
            for method in first[name]
        }
        for name in first
    }


def seeds_line(seeds: list[int]) -> str:
    """How many trainings each number averages, as the start of a sentence (empty for one)."""
    if len(seeds) == 1:
        return ""
    listed = ", ".join(map(str, seeds))
    return f"Every trained model's number is the mean over {len(seeds)} seeds ({listed}). "


def margin(results: dict, main: str, other: str) -> float:
    """How much lower `main`'s overall held-out NMSE is than `other`'s, in percent (negative: higher)."""
    return 100 * (
        1 - results["heldout"][main]["overall"]["nmse"] / results["heldout"][other]["overall"]["nmse"]
    )


def margin_interval(margins: list[float]) -> tuple[float, float]:
    """95 % confidence interval of the mean of per-seed margins (Student's t): whether a difference
    between two models is more than seed noise."""
    if np.ptp(margins) == 0:  # no spread: t's interval would be NaN
        return margins[0], margins[0]
    interval = stats.ttest_1samp(margins, 0.0).confidence_interval(0.95)
    return float(interval.low), float(interval.high)


def format_report(report: dict, command: str, hardware: str) -> str:
    """The results as Markdown: a summary per method and held-out set, then every rule."""
    results, main = report["results"], report["main"]
    methods = [m for m in results["heldout"] if m != GROUND_TRUTH] + [GROUND_TRUTH]
    lines = [
        "## Learning benchmark",
        "",
        f"`{command}` on {hardware}: {report['wall_seconds']:.0f} s in all.",
        seeds_line(report["seeds"])
        + "NMSE is the squared error over the target's variance (0 is perfect, the mean pose about 1), "
        "correlation the mean per-channel Pearson correlation, beat alignment Bailando's score of motion "
        "beats against the music's tracked beats, over the channels of each rule (ground truth gives the "
        "reference: the rhythm rule's bob turns on the beats; other rules' channels follow loudness and "
        "pitch).",
        "",
        "| method | train s | "
        + " | ".join(f"NMSE {name}" for name in SETS)
        + " | correlation | beat alignment | worst rule (heldout NMSE) |",
        "|---|---:|" + "---:|" * (len(SETS) + 2) + "---|",
    ]
    for method in methods:
        overall = [results[name][method]["overall"] for name in SETS]
        seconds = report["train_seconds"].get(method)
        rules = {rule: v["nmse"] for rule, v in results["heldout"][method].items() if rule != "overall"}
        worst = max(rules, key=rules.get)
        lines.append(
            f"| {method} | {'' if seconds is None else f'{seconds:.0f}'} | "
            + " | ".join(f"{o['nmse']:.4f}" for o in overall)
            + f" | {overall[0]['correlation']:.3f} | {overall[0]['beat_alignment']:.3f}"
            + f" | {worst} {rules[worst]:.3f} |"
        )
    best_other = min(
        (m for m in methods if m not in (main, GROUND_TRUTH)),
        key=lambda m: results["heldout"][m]["overall"]["nmse"],
    )
    ours, theirs = (results["heldout"][m]["overall"]["nmse"] for m in (main, best_other))
    change = margin(results, main, best_other)
    direction = "below" if change >= 0 else "above"
    lines += [
        "",
        f"{main}: NMSE {ours:.4f} on held-out clips, {abs(change):.0f} % {direction} the best other method "
        f"({best_other}, {theirs:.4f}). Target (at least 30 % below, and under 0.05): "
        f"{'met' if change >= 30 and ours < 0.05 else 'not met'}.",
    ]
    if len(report["seeds"]) > 1:
        margins = [margin(per, main, best_other) for per in report["per_seed"].values()]
        low, high = margin_interval(margins)
        lines[-1] += (
            f" Seed by seed, {main} below {best_other}: {', '.join(f'{m:.0f} %' for m in margins)} (negative:"
            f" above); mean {np.mean(margins):.0f} %, 95 % confidence interval {low:.0f} to {high:.0f} %."
        )
    for name, description in SETS.items():
        rules = list(results[name][main])
        lines += [
            "",
            f"### Per rule: {name} ({description})",
            "",
            "| method | metric | " + " | ".join(rules) + " |",
        ]
        lines.append("|---|---|" + "---:|" * len(rules))
        for method in methods:
            for metric in METRICS:
                values = " | ".join(f"{results[name][method][rule][metric]:.3f}" for rule in rules)
                lines.append(f"| {method} | {metric} | {values} |")
    return "\n".join(lines) + "\n"


@hydra.main(version_base="1.3", config_path="conf", config_name="learning")
def main(cfg: DictConfig) -> None:
    run_and_write("learning.py", lambda run_dir: run_benchmark(cfg, run_dir), format_report)


if __name__ == "__main__":
    main()
