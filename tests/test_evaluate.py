"""scripts/evaluate.py: a report of every measure for generated motion, ground truth and the mean pose."""

import json
import math
import re

import numpy as np
import pytest
from conftest import run_script
from test_datasets import SMALL, write_aistpp

from audio2motion.evaluation import METRICS, SOURCES

pytestmark = pytest.mark.slow  # every test trains a model or runs scripts/evaluate.py

TINY_DATA = ["data.generator.num_clips=24", "data.generator.duration=6.0"]  # experiment=tiny's set
NAMES = [
    f"g{g}_sBM_cAll_d0{i}_m{g}{i}_ch0{i}" for i, g in enumerate(["BR", "PO", "LO", "HO", "WA", "KR", "JS"])
]


def evaluate(ckpt, run_dir, *overrides):
    result = run_script("scripts/evaluate.py", f"ckpt={ckpt}", f"hydra.run.dir={run_dir}", *overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((run_dir / "report.json").read_text()), (run_dir / "report.md").read_text()


def test_report_of_a_model_without_a_skeleton(trained_run, tmp_path):
    data = trained_run.parent / "data" / "synthetic_tiny"
    report, page = evaluate(
        trained_run / "checkpoints" / "last.ckpt", tmp_path / "eval", f"data.root={data}", *TINY_DATA
    )
    assert report["settings"]["clips"] == 2 and report["settings"]["split"] == "test"
    assert len(report["per_clip"]) == 2 and "cores" in report["hardware"]
    metrics = report["metrics"]
    assert set(metrics) == set(SOURCES) and all(set(METRICS) <= set(m) for m in metrics.values())
    assert metrics["ground_truth"]["nmse"] == 0 and metrics["ground_truth"]["correlation"] == pytest.approx(1)
    assert metrics["generated"]["nmse"] < 0.5 < metrics["mean_pose"]["nmse"]
    assert metrics["mean_pose"]["jerk"] == 0 and metrics["mean_pose"]["beat_alignment"] == 0
    assert 0 < metrics["ground_truth"]["beat_alignment"] <= 1
    for key in ("beat_consistency", "fid_k", "fid_g", "diversity", "l1_diversity", "foot_skating", "pfc"):
        assert all(metrics[s][key] is None for s in SOURCES) and "skeleton" in report["notes"][key]
    assert "| nmse | " in page and "needs joint positions" in page


@pytest.fixture(scope="module")
def aistpp_run(tmp_path_factory):
    """An AIST++ set of 7 clips (4 train, 1 val, 2 test by the official lists) and a 2-epoch model."""
    base = tmp_path_factory.mktemp("aist")
    root = write_aistpp(base / "aist", names=NAMES)
    (root / "splits").mkdir()
    for split, names in [("train", NAMES[:4]), ("val", NAMES[4:5]), ("test", NAMES[5:])]:
        (root / "splits" / f"crossmodal_{split}.txt").write_text("\n".join(names) + "\n")
    run = base / "run"
    result = run_script(
        "train.py", "data=aistpp", f"data.root={root}", f"hydra.run.dir={run}", "trainer.max_epochs=2", *SMALL
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return root, run / "checkpoints" / "last.ckpt"


def test_report_of_an_aistpp_model_has_every_measure(aistpp_run, tmp_path):
    root, ckpt = aistpp_run
    report, page = evaluate(ckpt, tmp_path / "eval", "data=aistpp", f"data.root={root}")
    assert report["settings"]["layout"] == "smpl"
    # two real clips: some of the 32 yes-or-no geometric features cannot vary over them, which is said
    assert report["notes"] == {} and "geometric features do not vary over the 2 real clips" in page
    generated, truth, still = (report["metrics"][s] for s in SOURCES)
    # against itself: 0 but for sqrtm rounding on a covariance of rank 1 (two clips)
    assert truth["fid_k"] == pytest.approx(0, abs=1e-4) and truth["fid_g"] == pytest.approx(0, abs=1e-4)
    # Normalised by the two real clips' own mean and spread, each feature that varies over them is -1 on
    # one and +1 on the other: the clips lie 2 sqrt(varying features) apart. All 72 kinetic features vary;
    # the report names the geometric ones that do not.
    (warning,) = report["warnings"]
    constant = int(re.search(r"fid: (\d+) of the 32 geometric features do not vary", warning)[1])
    assert truth["diversity"]["kinetic"] == pytest.approx(2 * math.sqrt(72), rel=1e-5)
    assert truth["diversity"]["geometric"] == pytest.approx(2 * math.sqrt(32 - constant), rel=1e-5)
    # The mean pose gives every clip the same features (kinetic ones all 0): no spread, so its FID is the
    # squared distance of means plus the truth's spread, whose trace is 2 per varying feature (variance of
    # -1 and +1 over two clips): at least 2 x 72.
    assert still["fid_k"] >= 2 * 72 and still["fid_g"] >= 2 * (32 - constant)
    assert generated["fid_k"] >= -1e-4 and generated["fid_g"] >= -1e-4  # a two-epoch model: no known value
    for source in (generated, truth):
        assert set(source["diversity"]) == {"kinetic", "geometric"}
        assert all(math.isfinite(v) and v >= 0 for v in source["diversity"].values())
        assert 0 <= source["foot_skating"] <= 1 and source["pfc"] >= 0 and source["jerk"] > 0
    assert still["jerk"] == 0 and still["pfc"] == 0 and still["foot_skating"] == 0
    assert still["diversity"] == {"kinetic": 0, "geometric": 0}  # every clip of the mean pose is the same
    assert "| fid_k | " in page and "| diversity (kinetic) | " in page
    # EMAGE's speech measures: the test sound's loudness rises are onsets. The truth pauses near some. A
    # two-epoch model barely moves: its pauses may all fall under 0.3 x the truth's mean speed, no beats.
    # The mean pose never moves, so it has no motion beats (BC 0) and stays at its mean (L1div 0, but for
    # rounding in forward kinematics).
    assert all(row["speech_onsets"] > 0 for row in report["per_clip"])
    assert 0 < truth["beat_consistency"] <= 1 and 0 <= generated["beat_consistency"] <= 1
    assert truth["l1_diversity"] > 0 and generated["l1_diversity"] > 0
    assert still["beat_consistency"] == 0 and still["l1_diversity"] == pytest.approx(0, abs=1e-9)
    # over the split, each clip counts by its length, as EMAGE sums over frames
    seconds = [row["seconds"] for row in report["per_clip"]]
    for key in ("beat_consistency", "l1_diversity"):
        values = [row["generated"][key] for row in report["per_clip"]]
        assert generated[key] == pytest.approx(np.average(values, weights=seconds))
        assert f"| {key} | " in page


def test_a_test_split_of_one_clip_leaves_the_set_measures_null_and_says_why(aistpp_run, tmp_path):
    root, ckpt = aistpp_run
    report, page = evaluate(ckpt, tmp_path / "eval", "data=aistpp", f"data.root={root}", "split=val")
    assert report["settings"]["clips"] == 1
    for key in ("fid_k", "fid_g", "diversity"):
        assert all(report["metrics"][s][key] is None for s in SOURCES)
        assert "at least 2 clips" in report["notes"][key]
    assert report["metrics"]["generated"]["pfc"] is not None  # per-clip measures still stand
    assert "at least 2 clips" in page


def test_bad_arguments_are_one_line_errors(trained_run, tmp_path):
    data = trained_run.parent / "data" / "synthetic_tiny"
    ckpt = trained_run / "checkpoints" / "last.ckpt"
    for overrides, message in [
        (["split=holdout"], "split=holdout: must be one of train, val, test"),
        ([f"ckpt={tmp_path / 'none.ckpt'}"], f"{tmp_path / 'none.ckpt'}: no such checkpoint"),
    ]:
        result = run_script(
            "scripts/evaluate.py", f"ckpt={ckpt}", f"data.root={data}", *TINY_DATA, *overrides
        )
        assert result.returncode == 1 and result.stderr.strip().splitlines() == [f"error: {message}"]
