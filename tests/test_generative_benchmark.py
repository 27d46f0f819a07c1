"""scripts/benchmark_generative.py in a tiny setting, and its two-way scores on hand-made samples."""

import json

import numpy as np
import pytest
from conftest import run_script

from audio2motion.generative_benchmark import diversity, lean_scores

SCORES = [
    "nmse_nearest_valid",
    "left",
    "right",
    "diversity_two_way",
    "nmse_unique_rules",
    "diversity_unique_rules",
]


def test_lean_scores_find_the_nearest_side_of_each_beat():
    beats = np.repeat([0, 1, 2, 3], 10)  # four beats of 10 frames
    shape = np.tile(np.sin(np.pi * np.arange(10) / 10), 4)
    truth = shape * np.repeat([1, -1, 1, 1], 10)
    faithful = shape * np.repeat([-1, -1, 1, -1], 10)  # other sides, each one valid
    timid = np.zeros(40)  # the mean of the two sides: regression's answer
    half = 0.5 * faithful  # halfway to a side counts as leaning to it
    scores = lean_scores(np.stack([faithful, timid, half]), truth, beats)
    assert scores["beats"] == 12 and scores["left"] == 6 and scores["right"] == 2
    variance = 3 * ((truth - truth.mean()) ** 2).sum()
    expected = 0 + (shape**2).sum() + 0.25 * (shape**2).sum()  # faithful, timid, half
    assert scores["error"] / scores["variance"] == pytest.approx(expected / variance)
    samples = np.stack([faithful, -faithful])[:, :, None]
    assert diversity(samples, np.ones(1)) == pytest.approx(2 * np.sqrt((shape**2).mean()))
    assert diversity(np.stack([timid, timid])[:, :, None], np.ones(1)) == 0


@pytest.mark.slow
def test_tiny_benchmark_reports_both_objectives(tmp_path):
    result = run_script(
        "scripts/benchmark_generative.py",
        f"hydra.run.dir={tmp_path}",
        "benchmark.suite.train_clips=6",
        "benchmark.suite.heldout_clips=2",
        "benchmark.suite.duration=4.0",
        "benchmark.samples=3",
        "trainer.max_epochs=2",
        "model.net.dim=16",
        "model.net.blocks=2",
        "model.net.encoder_layers=1",
        "++benchmark.objectives.diffusion.steps=4",
        "data.window_seconds=1.0",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "results.json").read_text())
    assert list(report["results"]) == ["regression", "diffusion"]
    for scores in report["results"].values():
        assert list(scores) == SCORES and all(np.isfinite(v) for v in scores.values())
        assert 0 <= scores["left"] + scores["right"] <= 1
    # Regression gives one motion per audio, whatever the seed; diffusion samples differ.
    assert report["results"]["regression"]["diversity_two_way"] == 0
    assert report["results"]["diffusion"]["diversity_two_way"] > 0
    table = (tmp_path / "results.md").read_text()
    assert table in result.stdout
    assert [line.split(" | ")[0] for line in table.splitlines() if line.startswith("| ")][1:] == [
        "| regression",
        "| diffusion",
    ]
    assert np.load(tmp_path / "suite" / "heldout" / "clip_000.npy").shape[1] == 10  # with torso.lean
