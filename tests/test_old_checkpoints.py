"""Checkpoints written before the model builder and the inference split (main at a78aa55, tiny models
trained with `experiment=tiny`) still load and give the motion they gave then."""

import numpy as np
import pytest
import torch
from conftest import ROOT, tone_mix

from audio2motion import load_model
from audio2motion.checkpoint import read_checkpoint

DATA = ROOT / "tests" / "data"


@pytest.mark.parametrize(
    ("name", "sample"),
    [("regression", {}), ("attention", {}), ("diffusion", {"seed": 3})],
)
def test_checkpoint_of_a78aa55_gives_the_same_motion(name, sample):
    generator = load_model(DATA / f"{name}_a78aa55.ckpt")
    waveform = torch.from_numpy(tone_mix(22050, 3.0, channels=2).T.copy())  # 90 frames: windows of 60
    motion = generator.generate(waveform, 22050, **sample).values.numpy()
    expected = np.load(DATA / f"{name}_a78aa55_motion.npy")
    assert motion.shape == expected.shape == (90, 9)
    np.testing.assert_allclose(motion, expected, rtol=0, atol=1e-5)


def test_checkpoint_without_an_objective_is_a_regression_model(tmp_path):
    """Checkpoints from before the objective was a choice name none."""
    checkpoint = read_checkpoint(DATA / "regression_a78aa55.ckpt")
    del checkpoint["hyper_parameters"]["objective"]
    torch.save(checkpoint, tmp_path / "old.ckpt")
    generator = load_model(tmp_path / "old.ckpt")
    assert generator.sampler is None and generator.objective == {"name": "regression"}
    waveform = torch.from_numpy(tone_mix(22050, 3.0).copy())
    reference = load_model(DATA / "regression_a78aa55.ckpt").generate(waveform, 22050).values
    assert torch.equal(generator.generate(waveform, 22050).values, reference)
