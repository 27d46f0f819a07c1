"""objective=diffusion: the schedule and samplers against exact cases, the denoiser, and a tiny trained
model through the user commands (seeds, samples, editing, seamless long audio)."""

import json
import math
import re

import numpy as np
import pytest
import torch
from conftest import infer, run_script, tiny_run, tone_mix

from audio2motion import load_model
from audio2motion.data.windows import window_starts
from audio2motion.diffusion import PREDICTIONS, GaussianDiffusion, alpha_bars
from audio2motion.editing import edit_constraints
from audio2motion.models import MotionDenoiser, NetworkConfig


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_schedules_fall_from_clean_to_noise(schedule):
    abar = alpha_bars(schedule, 1000, (1e-4, 0.02))
    assert abar.shape == (1000,) and bool((abar.diff() < 0).all())
    assert abar[0] > 0.999 and abar[-1] < 1e-4
    # linear: abar_0 = 1 - beta_0; cosine: abar_t = f(t + 1) / f(0), f(t) = cos^2((t/T + s) / (1 + s) pi/2)
    expected = (
        1 - 1e-4
        if schedule == "linear"
        else (math.cos((0.001 + 0.008) / 1.008 * math.pi / 2) / math.cos(0.008 / 1.008 * math.pi / 2)) ** 2
    )
    assert abar[0].item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_each_prediction_converts_back_to_the_clean_motion(prediction):
    diffusion = GaussianDiffusion(prediction)
    x0, noise = torch.randn(4, 30, 5), torch.randn(4, 30, 5)
    t = torch.tensor([0, 10, 500, 950])  # at 999 epsilon -> x0 divides by sqrt(abar) = 0.007
    noisy = diffusion.noisy(x0, t, noise)
    assert torch.allclose(diffusion.clean(diffusion.target(x0, t, noise), noisy, t), x0, atol=1e-3)
    abar = diffusion.abar[t][:, None, None]
    assert torch.allclose(noisy, abar.sqrt() * x0 + (1 - abar).sqrt() * noise)


def oracle(diffusion: GaussianDiffusion, x0: torch.Tensor):
    """A denoiser that knows the clean motion: its prediction of x0, epsilon or v from any x_t."""

    def denoise(x, t, keep):
        a, s = diffusion.abar[t].sqrt()[:, None, None], (1 - diffusion.abar[t])[:, None, None].sqrt()
        eps = (x - a * x0) / s
        return {"x0": x0.expand_as(x), "epsilon": eps, "v": a * eps - s * x0}[diffusion.prediction]

    return denoise


@pytest.mark.parametrize("prediction", PREDICTIONS)
@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_samplers_reach_what_a_perfect_denoiser_knows(prediction, sampler):
    diffusion = GaussianDiffusion(prediction)
    x0 = torch.randn(1, 40, 3)
    out = diffusion.sample(oracle(diffusion, x0), (2, 40, 3), torch.Generator().manual_seed(0), 10, sampler)
    assert torch.allclose(out, x0.expand(2, -1, -1), atol=1e-3)


def test_guidance_mixes_conditional_and_unconditional_predictions():
    diffusion = GaussianDiffusion("x0")
    cond, uncond = torch.full((1, 5, 2), 2.0), torch.full((1, 5, 2), 0.5)
    calls = []

    def denoise(x, t, keep):
        calls.append(bool(keep.all()))
        return torch.where(keep[:, None, None], cond, uncond)

    for w, expected in [(1.0, 2.0), (3.0, 0.5 + 3 * 1.5), (0.0, 0.5)]:
        calls.clear()
        out = diffusion.sample(denoise, (1, 5, 2), torch.Generator().manual_seed(0), steps=1, guidance=w)
        assert torch.allclose(out, torch.full_like(out, expected))
        assert calls == ([True] if w == 1.0 else [True, False])  # w = 1 runs the conditional model alone


def test_inpainting_keeps_the_known_entries_and_samples_the_rest():
    diffusion = GaussianDiffusion("x0")
    x0 = torch.randn(1, 30, 4)
    known = torch.full((1, 30, 4), 7.0)
    mask = torch.zeros(1, 30, 4, dtype=torch.bool)
    mask[:, :10] = True  # a prefix
    mask[:, :, 2] = True  # a channel
    seen = []

    def denoise(x, t, keep):
        seen.append(x[mask].clone())
        return x0

    generator = torch.Generator().manual_seed(1)
    out = diffusion.sample(
        denoise, (1, 30, 4), generator, 8, constrain=diffusion.replace(known, mask, generator)
    )
    assert torch.equal(out[mask], known[mask]) and torch.allclose(out[~mask], x0[~mask])
    # From the second step on the network sees the known entries noised to its step's level.
    abar = diffusion.abar[torch.linspace(999, 0, 8).round().long()]
    for x, level in zip(seen[1:], abar[1:], strict=True):
        assert (x - level.sqrt() * 7.0).std() == pytest.approx((1 - level).sqrt().item(), rel=0.2)


def test_the_seed_picks_the_sample():
    diffusion = GaussianDiffusion("epsilon")

    def denoise(x, t, keep):  # a denoiser whose answer depends on the noise it is given
        return 0.5 * x

    def draw(seed, sampler="ddpm"):
        return diffusion.sample(denoise, (2, 20, 3), torch.Generator().manual_seed(seed), 10, sampler)

    assert torch.equal(draw(3), draw(3)) and not torch.allclose(draw(3), draw(4))
    assert not torch.allclose(draw(3, "ddim"), draw(3))


@pytest.mark.parametrize("modulation", ["film", "concat"])
def test_denoiser_takes_steps_and_drops_audio_for_guidance(modulation):
    torch.manual_seed(0)
    net = MotionDenoiser(
        6, 4, NetworkConfig(dim=16, blocks=2, encoder_layers=1, dropout=0.0, modulation=modulation)
    ).eval()
    assert all((block.film is None) == (modulation == "concat") for block in net.blocks)
    for p in net.parameters():  # DenseFiLM starts at the identity: move it so that the condition matters
        torch.nn.init.normal_(p, std=0.2) if p.dim() > 1 else None
    features, noisy = torch.randn(2, 25, 6), torch.randn(2, 25, 4)
    audio = net.encode(features)
    keep, drop = torch.ones(2, dtype=torch.bool), torch.zeros(2, dtype=torch.bool)
    t = torch.tensor([5, 5])
    out = net(noisy, t, audio, keep)
    assert out.shape == (2, 25, 4)
    assert not torch.allclose(out, net(noisy, torch.tensor([900, 900]), audio, keep))  # the step matters
    other = net.encode(torch.randn(2, 25, 6))
    assert not torch.allclose(out, net(noisy, t, other, keep))  # the audio matters ...
    assert torch.equal(net(noisy, t, audio, drop), net(noisy, t, other, drop))  # ... unless dropped


def test_edit_constraints_keep_prefix_keyframes_and_channels():
    layout = {"fps": 10.0, "dim": 3, "channels": ["hips.bob", "left_arm.raise", "left_arm.swing"]}
    given = np.arange(60, dtype=np.float32).reshape(20, 3)
    kept = edit_constraints(given, 30, layout, prefix_seconds=0.3, keyframes=(1.5,), channels=("hips",))
    known = ~kept.isnan()
    assert known[:3].all() and known[15].all() and known[:20, 0].all()
    assert known.sum() == 3 * 3 + 3 + (20 - 4)  # prefix, keyframe, the channel's other given frames
    assert not known[20:].any()  # nothing given there
    assert torch.equal(kept[known], torch.from_numpy(np.pad(given, ((0, 10), (0, 0))))[known])
    assert edit_constraints(given, 30, layout, channels=("left_arm",)).isnan().sum() == 30 * 3 - 20 * 2
    with pytest.raises(ValueError, match="keyframe at 2.0 s: the motion and audio have 20 frames, 2 s"):
        edit_constraints(given, 30, layout, keyframes=(2.0,))
    assert not edit_constraints(given, 30, layout, keyframes=(1.97,))[19].isnan().any()  # the nearest frame
    with pytest.raises(ValueError, match="prefix of -0.5 s"):
        edit_constraints(given, 30, layout, prefix_seconds=-0.5)
    with pytest.raises(ValueError, match="no channel is named 'tail'"):
        edit_constraints(given, 30, layout, channels=("tail",))
    with pytest.raises(ValueError, match=r"\[frames, 3\]"):
        edit_constraints(given[:, :2], 30, layout)


@pytest.fixture(scope="module")
def diffusion_run(tmp_path_factory):
    """RUN_DIR of `experiment=tiny objective=diffusion` on a fresh synthetic set."""
    return tiny_run(tmp_path_factory.mktemp("diffusion"), "objective=diffusion")


@pytest.mark.slow
def test_tiny_diffusion_model_samples_close_to_the_rule(diffusion_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    stdout = (diffusion_run / "stdout.txt").read_text()
    model, mean_pose = map(float, re.search(r"model ([\d.]+) \| mean pose ([\d.]+)", stdout).groups())
    assert model < 0.35 * mean_pose  # val/nmse of DDIM samples, not of one denoising step
    events = EventAccumulator(str(diffusion_run / "tensorboard"), size_guidance={"images": 0}).Reload()
    assert {"val/channels", "val/motion"} <= set(events.Tags()["images"])  # a sample, shown in TensorBoard


@pytest.mark.slow
def test_seeds_samples_editing_and_seamless_windows(diffusion_run):
    generator = load_model(diffusion_run / "checkpoints" / "last.ckpt")
    audio = torch.from_numpy(tone_mix(16000, 9.0))  # 270 frames: 7 windows of 60 frames, 20 shared
    a, again, other = (generator.generate(audio, 16000, seed=s).values for s in (1, 1, 2))
    assert a.shape == (270, generator.layout["dim"]) and torch.isfinite(a).all()
    assert torch.equal(a, again) and (a - other).abs().max() > 1e-3

    # No seams: where a window's own frames end, the motion jumps no more than it typically does inside
    # windows (the seam jumps rank, in the median, below the upper quartile of in-window jumps, over three
    # seeds); windows sampled apart (no shared frames) jump there more than anywhere inside.
    def seam_ranks(overlap):
        ranks = []
        for seed in (1, 2, 3):
            motion = generator.generate(audio, 16000, overlap=overlap, seed=seed).values
            jumps = (
                (motion.diff(dim=0) / generator.motion_norm.std).norm(dim=1).numpy()
            )  # [T-1], training units
            seams = [start + 60 - 1 for start in window_starts(270, 60, 60 - overlap)[:-1]]
            inside = np.delete(jumps, seams)
            ranks += [(inside < jump).mean() for jump in jumps[seams]]
        return np.median(ranks)

    assert seam_ranks(20) <= 0.75 and seam_ranks(0) > 0.95
    # Editing: a prefix and a channel of another sample are kept exactly; the rest follows the audio.
    constraints = torch.full_like(a, float("nan"))
    constraints[:45], constraints[:, 0] = other[:45], other[:, 0]
    edited = generator.generate(audio, 16000, seed=1, constraints=constraints).values
    kept = ~constraints.isnan()
    assert torch.allclose(edited[kept], other[kept], atol=1e-5)
    assert (edited[~kept] - other[~kept]).abs().max() > 1e-3


@pytest.mark.slow
def test_infer_writes_numbered_samples_and_refuses_sampling_for_regression(
    diffusion_run, trained_run, tmp_path
):
    import soundfile

    audio = tmp_path / "song.wav"
    soundfile.write(audio, tone_mix(22050, 3.0, channels=2), 22050)
    result = infer(
        diffusion_run / "checkpoints" / "last.ckpt", audio, tmp_path / "out", "num_samples=2", "seed=4"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    first, second = (np.load(tmp_path / "out" / f"song_{k}.npz")["motion"] for k in (0, 1))
    assert first.shape == second.shape == (90, 9) and np.abs(first - second).max() > 1e-3
    again = infer(diffusion_run / "checkpoints" / "last.ckpt", audio, tmp_path / "again", "seed=5")
    assert again.returncode == 0 and np.array_equal(
        np.load(tmp_path / "again" / "song.npz")["motion"], second
    )
    edit = infer(
        diffusion_run / "checkpoints" / "last.ckpt",
        audio,
        tmp_path / "edit",
        "seed=9",
        f"edit.motion={tmp_path / 'out' / 'song_0.npz'}",
        "edit.prefix_seconds=1.0",
    )
    assert edit.returncode == 0, edit.stderr[-2000:]
    assert np.allclose(np.load(tmp_path / "edit" / "song.npz")["motion"][:30], first[:30], atol=1e-5)
    refused = infer(trained_run / "checkpoints" / "last.ckpt", audio, tmp_path / "reg", "num_samples=2")
    assert refused.returncode != 0 and "objective=diffusion" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "reg" / "song_0.npz").exists()


@pytest.mark.slow
def test_bad_edits_and_sampler_settings_are_one_line_errors(diffusion_run, tmp_path):
    import soundfile

    ckpt = diffusion_run / "checkpoints" / "last.ckpt"
    audio = tmp_path / "song.wav"
    soundfile.write(audio, tone_mix(16000, 2.0), 16000)
    np.save(tmp_path / "other.npy", np.zeros((60, 4), dtype=np.float32))  # 4 channels, not 9
    # 9 channels of another layout (a reader's root=velocity beside root=position, say)
    renamed = json.dumps({"channels": [f"c{i}" for i in range(9)]})
    np.savez(tmp_path / "renamed.npz", motion=np.zeros((60, 9), np.float32), layout=renamed)
    cases = {
        "edit": ([f"edit.motion={tmp_path / 'other.npy'}", "edit.prefix_seconds=1"], "[frames, 9]"),
        "renamed": (
            [f"edit.motion={tmp_path / 'renamed.npz'}", "edit.prefix_seconds=1"],
            "renamed.npz: its channel 0 is c0, the model's is hips.bob",
        ),
        "steps": (["sampling.steps=0"], "steps must be between 1 and 1000"),
    }
    for name, (extra, message) in cases.items():
        result = infer(ckpt, audio, tmp_path / name, *extra)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and len(lines) == 1 and message in lines[0], result.stderr[-2000:]
        assert not list((tmp_path / name).glob("*.npz"))
    exported = run_script(
        "scripts/export.py", f"ckpt={ckpt}", "format=torchscript", f"out={tmp_path / 'm.pt'}"
    )
    assert exported.returncode == 1 and "objective=diffusion" in exported.stderr
    assert not (tmp_path / "m.pt").exists()
