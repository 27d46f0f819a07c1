"""benchmarks/scoring.py and benchmarks/body_scale.py in tiny settings."""

import pytest
from body_scale import format_report as body_scale_table
from body_scale import run_benchmark as body_scale
from conftest import ROOT
from omegaconf import OmegaConf
from scoring import format_report as scoring_table
from scoring import run_benchmark as scoring

TAKE = ROOT.parent / "shared" / "realdata" / "beat2" / "smplxflame_30" / "2_scott_0_1_1.npz"


def test_scoring_times_evaluate_as_a_user_runs_it(tmp_path):
    cfg = OmegaConf.create(
        {
            "clips": {"train": 2, "val": 1, "test": 1},
            "seconds": 3.0,
            "music_seconds": 4.0,
            "split": "test+val",
            "protocols": ["published"],  # both protocols' numbers: test_scoring_files.py
            "aistpp_minutes": 312,
        }
    )
    report = scoring(cfg, tmp_path)
    assert report["clips_scored"] == 2 and report["pool_motions"] == 4
    (run,) = report["runs"].values()
    assert run["seconds"] > run["in_script_seconds"] > 0  # start-up counts in the wall time
    assert run["fid_k"] > 0 and run["fid_g"] > 0
    assert "| published | " in scoring_table(report, "python benchmarks/scoring.py", "a test")


@pytest.mark.skipif(not TAKE.is_file(), reason=f"no real capture at {TAKE} (shared/realdata beside it)")
def test_body_scale_scores_real_capture_with_longer_bones():
    cfg = OmegaConf.create(
        {"take": str(TAKE), "clip_seconds": 10.0, "hop_seconds": 5.0, "scales": [1.0, 1.05]}
        | {"protocols": ["published", "corrected"]}
    )
    report = body_scale(cfg)
    assert report["clips"] == 11 and report["scored"] == 6  # 63.5 s: clips start every 5 s up to 50 s
    results = report["results"]
    for name in ("published", "corrected"):
        same, longer = results[name]["1.0"], results[name]["1.05"]
        # the translation is not scaled with the bones, nor are the geometric tests' thresholds
        assert abs(longer["fid_k"] / same["fid_k"] - 1) > 0.01
        assert longer["div_k"] == pytest.approx(same["div_k"], rel=0.01)
    # the geometric features do not depend on the kinetic quirk
    assert results["published"]["1.0"]["fid_g"] == pytest.approx(results["corrected"]["1.0"]["fid_g"])
    assert "| published | 1.05 |" in body_scale_table(report, "python benchmarks/body_scale.py", "a test")
