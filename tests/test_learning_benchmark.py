"""scripts/benchmark_learning.py in a tiny setting: its suite, its report, every row."""

import json

import numpy as np
import pytest
import soundfile
import torch
from conftest import ROOT, run_script
from hydra import compose, initialize_config_dir

from audio2motion.errors import InputError
from audio2motion.learning_benchmark import (
    BASELINES,
    GROUND_TRUTH,
    METRICS,
    SETS,
    checked_seeds,
    format_report,
    margin_interval,
    mean_over_seeds,
    run_benchmark,
)

RULES = ["rhythm", "loudness", "pitch_height", "pitch_band", "all_three", "overall"]
VARIANTS = ["densefilm", "densefilm_per_clip", "concat"]
TINY = [
    "benchmark.suite.train_clips=6",
    "benchmark.suite.heldout_clips=4",
    "benchmark.suite.duration=4.0",
    "trainer.max_epochs=2",
    "model.net.dim=16",
    "model.net.blocks=2",
    "model.net.encoder_layers=1",
    "features.n_mels=16",
    "data.window_seconds=1.0",
]


@pytest.mark.slow
def test_tiny_benchmark_reports_every_row(tmp_path):
    result = run_script(
        "scripts/benchmark_learning.py", f"hydra.run.dir={tmp_path}", *TINY, "benchmark.seeds=[3,4]"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "results.json").read_text())
    # Every variant trained once per seed; each number is the mean of the seeds' numbers.
    assert report["seeds"] == [3, 4] and list(report["per_seed"]) == ["3", "4"]
    for seed in (3, 4):
        for variant in VARIANTS:
            assert (tmp_path / f"seed_{seed}" / variant / "checkpoints" / "last.ckpt").is_file()
    per_seed = [report["per_seed"][seed]["heldout"]["concat"]["rhythm"]["nmse"] for seed in ("3", "4")]
    assert per_seed[0] != per_seed[1]
    assert report["results"]["heldout"]["concat"]["rhythm"]["nmse"] == pytest.approx(np.mean(per_seed))
    methods = [*VARIANTS, *BASELINES, GROUND_TRUTH]
    assert set(report["results"]) == set(SETS)
    for name in SETS:
        assert list(report["results"][name]) == methods
        for method in methods:
            assert list(report["results"][name][method]) == RULES
            for rule in RULES:
                values = report["results"][name][method][rule]
                assert list(values) == list(METRICS) and all(np.isfinite(v) for v in values.values())
        truth = report["results"][name][GROUND_TRUTH]
        assert truth["overall"]["nmse"] == 0 and truth["overall"]["correlation"] == 1
        # the bob of the rhythm rule turns on the beats; the other rules' channels move with loudness and
        # pitch, so over all channels together the beats are harder to find
        assert truth["rhythm"]["beat_alignment"] > 0.8
        assert 0.9 < report["results"][name]["mean_pose"]["overall"]["nmse"] < 1.5
    table = (tmp_path / "results.md").read_text()
    for method in methods:  # a summary row, and a row per metric for each set
        assert sum(line.startswith(f"| {method} | ") for line in table.splitlines()) == 1 + len(SETS) * len(
            METRICS
        )
    assert table in result.stdout
    # The held-out sets: same motion, audio at other rates and channel counts, another timbre.
    for clip in ("clip_000", "clip_001"):
        motion = np.load(tmp_path / "suite" / "heldout" / f"{clip}.npy")
        assert np.array_equal(motion, np.load(tmp_path / "suite" / "heldout_timbre" / f"{clip}.npy"))
        assert np.array_equal(motion, np.load(tmp_path / "suite" / "heldout_rates" / f"{clip}.npy"))
    rates = [soundfile.info(tmp_path / "suite" / "heldout_rates" / f"clip_00{i}.wav") for i in range(4)]
    assert [(r.samplerate, r.channels) for r in rates] == [(22050, 1), (44100, 1), (48000, 1), (22050, 2)]
    assert "Target (at least 30 % below, and under 0.05)" in table
    assert "mean over 2 seeds (3, 4)" in table and "Seed by seed, densefilm below " in table


@pytest.mark.slow
def test_tiny_benchmark_compares_the_variants_as_diffusion_denoisers(tmp_path):
    result = run_script(
        "scripts/benchmark_learning.py", f"hydra.run.dir={tmp_path}", *TINY, "objective=diffusion"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for variant in VARIANTS:
        checkpoint = tmp_path / "seed_1234" / variant / "checkpoints" / "last.ckpt"
        hparams = torch.load(checkpoint, weights_only=True)["hyper_parameters"]
        assert hparams["objective"]["name"] == "diffusion" and hparams["net"]["modulation"] == (
            "concat" if variant == "concat" else "film"
        )
    heldout = json.loads((tmp_path / "results.json").read_text())["results"]["heldout"]
    assert all(np.isfinite(heldout[variant]["overall"]["nmse"]) for variant in VARIANTS)


@pytest.mark.parametrize("seeds", [[], [1, 1], ["a"], [1.5]])
def test_seeds_must_be_different_whole_numbers(seeds):
    with pytest.raises(InputError, match="benchmark.seeds must list one or more different whole numbers"):
        checked_seeds(seeds)
    assert checked_seeds([7, 3]) == [7, 3]


def test_bad_seeds_stop_the_benchmark_before_it_writes(tmp_path):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("benchmark_learning", [f"paths.output_dir={tmp_path}", "benchmark.seeds=[1,1]"])
    with pytest.raises(InputError, match=r"benchmark.seeds must list .*, got \[1, 1\]$"):
        run_benchmark(cfg, tmp_path)
    assert list(tmp_path.iterdir()) == []


def _results(nmse_by_method: dict[str, float]) -> dict:
    """Benchmark results in which every set and rule of a method has one NMSE."""
    return {
        name: {
            method: {rule: {"nmse": value, "correlation": 0.5, "beat_alignment": 0.5} for rule in RULES}
            for method, value in {**nmse_by_method, GROUND_TRUTH: 0.0}.items()
        }
        for name in SETS
    }


def test_report_gives_the_mean_over_seeds_and_each_seeds_margin():
    per_seed = [
        _results({"densefilm": 0.002, "concat": 0.004}),
        _results({"densefilm": 0.004, "concat": 0.004}),
    ]
    report = {
        "results": mean_over_seeds(per_seed),
        "per_seed": {"5": per_seed[0], "6": per_seed[1]},
        "seeds": [5, 6],
        "train_seconds": {"densefilm": 10.0, "concat": 8.0},
        "wall_seconds": 30.0,
        "main": "densefilm",
    }
    assert report["results"]["heldout_rates"]["densefilm"]["pitch_band"]["nmse"] == pytest.approx(0.003)
    table = format_report(report, "python scripts/benchmark_learning.py", "a test")
    assert "the mean over 2 seeds (5, 6)" in table
    assert (
        "densefilm: NMSE 0.0030 on held-out clips, 25 % below the best other method (concat, 0.0040). "
        "Target (at least 30 % below, and under 0.05): not met. "
        "Seed by seed, densefilm below concat: 50 %, 0 % (negative: above); mean 25 %, 95 % confidence "
        "interval -293 to 343 %."
    ) in table


def test_margin_interval_is_students_t_interval_of_the_mean():
    # The 14 per-seed margins (rounded) of densefilm over concat measured on an H100 (README): seed noise.
    margins = [13, -18, 5, 3, -21, 9, 11, 9, 3, -5, -10, -1, -11, -14]
    low, high = margin_interval(margins)
    assert (low, high) == pytest.approx((-8.44, 4.58), abs=0.01)
    assert low < np.mean(margins) < high and low < 0 < high
    assert margin_interval([50.0, 0.0]) == pytest.approx((-292.66, 342.66), abs=0.01)
    assert margin_interval([12.0, 12.0, 12.0]) == (12.0, 12.0)
