"""model.net.spline_step: the blocks run on control points and a cubic B-spline gives the frames."""

import pytest
import torch
from conftest import ROOT
from omegaconf import OmegaConf

from audio2motion.builder import build_model
from audio2motion.models import Audio2Motion, NetworkConfig
from audio2motion.models.spline import control_count, from_controls, to_controls


def test_one_control_point_shapes_its_frames_by_the_cubic_bspline():
    """Control j sits at frame (j - 1) x step. With step 2 the uniform cubic B-spline at offsets of 0,
    1/2, 1 and 3/2 control spacings is 2/3, 23/48, 1/6 and 1/48 (B(u) = 2/3 - u^2 + |u|^3 / 2 inside 1,
    (2 - |u|)^3 / 6 outside)."""
    frames, step = 9, 2
    controls = torch.zeros(1, control_count(frames, step), 1, dtype=torch.float64)
    assert controls.shape[1] == 8  # (9 - 1) // 2 + 4
    controls[0, 3] = 1.0  # frame 4
    expected = [0, 1 / 48, 1 / 6, 23 / 48, 2 / 3, 23 / 48, 1 / 6, 1 / 48, 0]
    assert from_controls(controls, frames, step)[0, :, 0].tolist() == pytest.approx(expected)


def test_constants_and_lines_pass_through_unchanged():
    frames, step = 23, 4
    j = torch.arange(control_count(frames, step), dtype=torch.float64)[None, :, None]  # [1, C, 1]
    line = from_controls(
        torch.stack([torch.ones_like(j[..., 0]), 3 * (j[..., 0] - 1) * step], -1), frames, step
    )
    torch.testing.assert_close(line[0, :, 0], torch.ones(frames, dtype=torch.float64))
    torch.testing.assert_close(line[0, :, 1], 3 * torch.arange(frames, dtype=torch.float64))


def test_control_points_average_the_real_frames_around_them():
    """Step 4: control j averages frames (j - 1) 4 - 2 .. (j - 1) 4 + 1; control 0 (at frame -4) has none,
    but shapes frames 0 .. 3, so it is real; beyond the mask nothing is."""
    x = torch.arange(10, dtype=torch.float64)[None, :, None]  # frame f holds f
    mask = torch.arange(10)[None] < 7
    pooled, real = to_controls(x, mask, 4)
    assert pooled.shape == (1, control_count(10, 4), 1) == (1, 6, 1)
    assert pooled[0, :, 0].tolist() == pytest.approx([0, 0.5, 3.5, 6, 0, 0])  # frames {0, 1}, {2..5}, {6}
    # Control j shapes frames (j - 3) 4 + 1 .. (j + 1) 4 - 1; real frames are 0 .. 6.
    assert real[0].tolist() == [True, True, True, True, True, False]  # control 4 shapes frames 5 and 6


def test_the_motion_cannot_shake_from_frame_to_frame():
    """The same untrained network on white-noise features: per frame, its output's third differences
    (jerk) are about as large as the output itself; through a spline of step 4 they are a small part."""
    torch.manual_seed(0)
    features = torch.randn(1, 300, 10)
    ratios = {}
    for step in (1, 4):
        torch.manual_seed(1)
        model = Audio2Motion(10, 6, NetworkConfig(dim=32, blocks=2, spline_step=step, dropout=0.0)).eval()
        with torch.no_grad():
            out = model(features)[0]  # [T, D]
        ratios[step] = float(out.diff(n=3, dim=0).abs().mean() / (out - out.mean(0)).abs().mean())
    assert ratios[1] > 1.0 and ratios[4] < 0.1, ratios


def test_diffusion_with_a_spline_must_predict_the_clean_motion():
    objective = OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / "objective" / "diffusion.yaml"))
    hparams = {"net": {"dim": 16, "blocks": 1, "spline_step": 3}, "feature_dim": 4, "layout": {"dim": 5}}
    parts = build_model(hparams | {"objective": objective})  # x0
    noisy = torch.randn(2, 17, 5)
    out = parts.model(
        noisy, torch.tensor([3, 900]), parts.model.encode(torch.randn(2, 17, 4)), torch.ones(2, dtype=bool)
    )
    assert out.shape == (2, 17, 5)
    with pytest.raises(ValueError, match="spline_step=3 needs objective.prediction=x0"):
        build_model(hparams | {"objective": objective | {"prediction": "epsilon"}})
