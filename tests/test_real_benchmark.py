"""benchmarks/real.py in a tiny setting on the real BEAT2 take (shared/realdata beside the checkout)."""

import json

import numpy as np
import pytest
import soundfile
import torch
from beat2_pieces import cut_take
from conftest import ROOT, run_script
from real import MEASURES, ratio

from audio2motion.data.beat2 import Beat2Reader
from audio2motion.data.folder import Pair
from audio2motion.metrics import jerk, mean_speed
from audio2motion.motion.layout import joint_positions

TAKE = ROOT.parent / "shared" / "realdata" / "beat2" / "smplxflame_30" / "2_scott_0_1_1.npz"

pytestmark = pytest.mark.skipif(
    not TAKE.is_file(), reason=f"no real capture at {TAKE} (shared/realdata beside the clone)"
)


def test_pieces_are_the_take_cut_in_time(tmp_path):
    frames = cut_take(TAKE, tmp_path, {"a": ("train", 1.0, 3.0), "b": ("test", 62.0, 64.0)})
    assert frames == {"a": 60, "b": 1906 - 1860}  # the take ends at frame 1906, 63.53 s
    take = np.load(TAKE)
    with np.load(tmp_path / "smplxflame_30" / "a.npz") as piece:
        np.testing.assert_array_equal(piece["poses"], take["poses"][30:90])
        np.testing.assert_array_equal(piece["betas"], take["betas"])
        assert int(piece["mocap_frame_rate"]) == 30
    assert soundfile.info(tmp_path / "wave16k" / "a.wav").frames == 32000  # 2 s at 16 kHz
    assert soundfile.info(tmp_path / "wave16k" / "b.wav").frames == round(46 / 30 * 16000)
    assert (tmp_path / "train_test_split.csv").read_text().split() == ["id,type", "a,train", "b,test"]


@pytest.mark.slow
def test_tiny_real_benchmark_scores_real_and_generated_motion(tmp_path):
    result = run_script(
        "benchmarks/real.py",
        f"hydra.run.dir={tmp_path}",
        "pieces.train=[train,0,12]",
        "pieces.val=[val,12,16]",
        "pieces.heldout=[test,16,20]",
        "budget=00:00:00:04",
        "samples=2",
        'train=["experiment=beat2","model.net.dim=16","model.net.blocks=2","model.net.encoder_layers=1",'
        '"data.window_seconds=2.0"]',
        'objectives.diffusion=["objective.steps=4"]',
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "results.json").read_text())
    results = report["results"]
    assert list(results) == ["real", "regression", "diffusion"]
    assert [results[name]["samples"] for name in results] == [1, 1, 2]
    for row in results.values():
        assert all(np.isfinite(row[key]) for key in MEASURES), row
    assert report["pieces"]["heldout"] == {"split": "test", "start": 16, "end": 20, "frames": 120}
    # The real row is the held-out piece's own motion, scored by the library's measures.
    reader = Beat2Reader()
    motion = reader.motion(Pair("heldout", None, tmp_path / "data" / "smplxflame_30" / "heldout.npz"), 30.0)
    positions = joint_positions(torch.from_numpy(motion).double(), reader.layout(None, 30.0, 0)).numpy()
    assert results["real"]["jerk"] == pytest.approx(jerk(positions, 30.0))
    assert results["real"]["joint_speed"] == pytest.approx(mean_speed(positions, 30.0))
    table = (tmp_path / "results.md").read_text()
    assert f"({ratio(results['diffusion']['jerk'] / results['real']['jerk'])})" in table
    assert "| real | 1 |" in table
