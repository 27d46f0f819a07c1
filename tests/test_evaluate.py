"""scripts/evaluate.py: a report of every measure for generated motion, ground truth and the mean pose."""

import json
import math
import re

import numpy as np
import pytest
import torch
from browser import Opened
from conftest import run_script
from test_datasets import SMALL, write_aistpp

from audio2motion.data.aistpp import AistppReader
from audio2motion.evaluation import METRICS, SOURCES
from audio2motion.motion.layout import joint_positions

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
    settings = report["settings"]
    assert settings["layout"] == "smpl" and settings["protocol"] == "published"
    # the reference pool: all 7 motions, whole, at their recorded 60 fps (the model runs at 30)
    assert settings["reference_pool"].startswith("7 motions") and "at 60 fps" in settings["reference_pool"]
    assert report["notes"] == {} and "Protocol `published`" in page
    # Seven short clips: some yes-or-no geometric features never vary over them, and normalising by no
    # spread (as Bailando does) makes FID_g explode; the report says so.
    (warning,) = report["warnings"]
    assert re.match(r"fid: \d+ of the 32 geometric features do not vary over the 7 motions", warning)
    generated, truth, still = (report["metrics"][s] for s in SOURCES)
    # each clip generated for its whole music (the dance's 3 s and the 2.5 s of music after it), as
    # Bailando does; the truth is the dance
    for row in report["per_clip"]:
        assert row["seconds"] == pytest.approx(3.0)
        assert row["generated_seconds"] == pytest.approx(5.5, abs=0.05)
    # Two of the pool's seven motions against the pool: a finite distance. The mean pose gives every clip
    # the same features (no spread), far from the pool's: a larger FID, and no diversity at all.
    assert 0 <= truth["fid_k"] < still["fid_k"] and truth["fid_g"] >= 0 and truth["diversity"]["kinetic"] > 0
    # a two-epoch model: no known value
    assert math.isfinite(generated["fid_k"]) and math.isfinite(generated["fid_g"])
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
    seconds = [row["generated_seconds"] for row in report["per_clip"]]  # the frames scored
    for key in ("beat_consistency", "l1_diversity"):
        values = [row["generated"][key] for row in report["per_clip"]]
        assert generated[key] == pytest.approx(np.average(values, weights=seconds))
        assert f"| {key} | " in page


def test_each_clip_gets_a_page_of_the_generated_motion_beside_the_truth(
    aistpp_run, tmp_path, browser_context
):
    root, ckpt = aistpp_run
    report, page = evaluate(ckpt, tmp_path / "eval", "data=aistpp", f"data.root={root}")
    assert report["pages"] == {name: f"pages/{name}.html" for name in NAMES[5:]}
    assert all(f"[{name}](pages/{name}.html)" in page for name in NAMES[5:])
    reader = AistppReader()
    pairs, _ = reader.pairs(root)
    truth = reader.motion(pairs[NAMES[5]], 30)
    layout = reader.layout(root, 30, truth.shape[1])
    opened = Opened(browser_context, tmp_path / "eval" / report["pages"][NAMES[5]], "#t=1.5")
    assert opened.value("viewer.panels.map(p => [p.label, p.frames])") == [
        ["generated", 90],
        ["ground truth", 90],
    ]
    # over the dance's 3 s, with its music cut there (the music runs 2.5 s past it)
    assert opened.sound_seconds() == pytest.approx(3.0, abs=1 / 48000)
    generated, shown = opened.drawn(45)
    expected = joint_positions(torch.from_numpy(truth), layout)[45].numpy()
    np.testing.assert_allclose(shown["joints"], expected, atol=1e-3)
    assert np.abs(np.array(generated["joints"]) - expected).max() > 0.01  # a two-epoch model's own motion
    assert opened.errors == []


def test_a_test_split_of_one_clip_leaves_the_set_measures_null_and_says_why(aistpp_run, tmp_path):
    root, ckpt = aistpp_run
    report, page = evaluate(
        ckpt, tmp_path / "eval", "data=aistpp", f"data.root={root}", "split=val", "viewer=false"
    )
    assert "pages" not in report and "Watch" not in page and not (tmp_path / "eval" / "pages").exists()
    assert report["settings"]["clips"] == 1
    for key in ("fid_k", "fid_g", "diversity"):
        assert all(report["metrics"][s][key] is None for s in SOURCES)
        assert "at least 2 clips" in report["notes"][key]
    assert report["metrics"]["generated"]["pfc"] is not None  # per-clip measures still stand
    assert "at least 2 clips" in page


def test_bad_arguments_are_one_line_errors(trained_run, tmp_path):
    data = trained_run.parent / "data" / "synthetic_tiny"
    # other bad arguments: test_scoring_files.py, in process
    missing = tmp_path / "none.ckpt"
    result = run_script("scripts/evaluate.py", f"ckpt={missing}", f"data.root={data}", *TINY_DATA)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: {missing}: no such checkpoint"]
