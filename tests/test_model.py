import pytest
import torch
from conftest import run_script

from audio2motion.models import Audio2Motion, NetworkConfig, ResidualMotionBlock


@pytest.mark.parametrize("mixing", [["conv"], ["attention"], ["conv", "attention"]])
def test_block_is_its_unconditioned_path_at_initialisation(mixing):
    torch.manual_seed(0)
    block = ResidualMotionBlock(16, tuple(mixing), dilation=2, dropout=0.1).eval()
    x = torch.randn(2, 12, 16)
    unconditioned = block(x)
    assert not torch.allclose(unconditioned, x)  # the block does something
    torch.testing.assert_close(block(x, torch.randn(2, 12, 16)), unconditioned, rtol=0, atol=0)
    torch.testing.assert_close(block(x, torch.randn(2, 16)), unconditioned, rtol=0, atol=0)


def test_gradients_reach_the_densefilm_weights():
    torch.manual_seed(0)
    model = Audio2Motion(10, 5, NetworkConfig(dim=16, blocks=3, encoder_layers=1))
    model(torch.randn(2, 20, 10)).pow(2).mean().backward()
    for block in model.blocks:
        assert block.film.proj.weight.grad.abs().sum() > 0
        assert block.film.proj.bias.grad.abs().sum() > 0


@pytest.mark.parametrize("conditioning", ["frame", "clip"])
@pytest.mark.parametrize("mixing", [["conv"], ["conv", "attention"]])
def test_model_shapes(conditioning, mixing):
    model = Audio2Motion(10, 7, NetworkConfig(dim=16, blocks=2, mixing=mixing, conditioning=conditioning))
    assert model(torch.randn(3, 25, 10)).shape == (3, 25, 7)
    assert model(torch.randn(1, 1, 10)).shape == (1, 1, 7)


@pytest.mark.parametrize("mixing", [["conv"], ["attention"], ["conv", "attention"]])
def test_causal_model_ignores_the_future(mixing):
    torch.manual_seed(0)
    model = Audio2Motion(
        10, 4, NetworkConfig(dim=16, blocks=3, mixing=mixing, causal=True, encoder_layers=2)
    ).eval()
    for block in model.blocks:  # leave the zero start so that the audio reaches the output
        torch.nn.init.normal_(block.film.proj.weight, std=0.2)
    features = torch.randn(1, 30, 10)
    changed = features.clone()
    changed[:, 20:] += 3.0
    before, after = model(features), model(changed)
    torch.testing.assert_close(before[:, :20], after[:, :20])
    assert not torch.allclose(before[:, 20:], after[:, 20:])


def test_non_causal_model_looks_ahead():
    torch.manual_seed(0)
    model = Audio2Motion(10, 4, NetworkConfig(dim=16, blocks=3, causal=False)).eval()
    for block in model.blocks:
        torch.nn.init.normal_(block.film.proj.weight, std=0.2)
    features = torch.randn(1, 30, 10)
    changed = features.clone()
    changed[:, 20:] += 3.0
    assert not torch.allclose(model(features)[:, 15:20], model(changed)[:, 15:20])


def test_clip_conditioning_sees_only_the_pooled_audio():
    torch.manual_seed(0)
    model = Audio2Motion(10, 4, NetworkConfig(dim=16, blocks=2, conditioning="clip")).eval()
    for block in model.blocks:
        torch.nn.init.normal_(block.film.proj.weight, std=0.2)
    features = torch.randn(1, 40, 10)
    out = model(features)
    # Away from the zero-padded edges every frame gets the same input, so the same output.
    torch.testing.assert_close(out[0, 15], out[0, 25])


def test_unknown_options_are_refused():
    with pytest.raises(ValueError, match="conditioning"):
        Audio2Motion(4, 4, NetworkConfig(conditioning="word"))
    with pytest.raises(ValueError, match="mixing"):
        ResidualMotionBlock(8, ("lstm",))
    with pytest.raises(ValueError, match="mixing"):
        NetworkConfig(mixing=["conv", "lstm"])
    with pytest.raises(ValueError, match="causal=true needs spline_step=1"):
        NetworkConfig(causal=True, spline_step=2)
    with pytest.raises(ValueError, match="spline_step must be 1 or more"):
        NetworkConfig(spline_step=0)
    with pytest.raises(ValueError, match="causal=true needs conditioning='frame'"):
        NetworkConfig(causal=True, conditioning="clip")
    with pytest.raises(ValueError, match=r"^model.net has no setting depth, width$"):
        NetworkConfig.from_dict({"dim": 16, "width": 3, "depth": 2})


def test_network_config_from_yaml_lists_is_the_same_value():
    config = NetworkConfig.from_dict({"dim": 16, "mixing": ["conv", "attention"], "dilations": [1, 2]})
    assert config == NetworkConfig(dim=16, mixing=("conv", "attention"), dilations=(1, 2))
    assert config.mixing == ("conv", "attention") and config.blocks == NetworkConfig().blocks
    with pytest.raises(AttributeError):
        config.dim = 8  # frozen: a network's settings do not change under it


@pytest.mark.slow
def test_a_bad_net_setting_is_a_one_line_error_from_train_py(tmp_path):
    result = run_script(
        "train.py", "experiment=tiny", "+model.net.width=3", f"hydra.run.dir={tmp_path}/run",
        f"paths.data_dir={tmp_path}/data",
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "error: model.net has no setting width"


def test_concat_ablation_joins_the_audio_once_at_the_input():
    torch.manual_seed(0)
    model = Audio2Motion(10, 4, NetworkConfig(dim=16, blocks=3, modulation="concat")).eval()
    assert all(block.film is None for block in model.blocks) and model.concat.in_features == 32
    features = torch.randn(2, 30, 10)
    changed = features.clone()
    changed[:, 12] += 3.0
    diff = (model(changed) - model(features)).abs().sum(-1)  # [B, T]
    assert (
        diff[:, 12].min() > 0 and diff[:, 29].max() == 0
    )  # reaches its frame, not beyond the receptive field
    assert model(features).shape == (2, 30, 4)
    with pytest.raises(ValueError, match="modulation"):
        Audio2Motion(10, 4, NetworkConfig(modulation="add"))


@pytest.mark.parametrize("conditioning", ["frame", "clip"])
@pytest.mark.parametrize("mixing", [["conv"], ["conv", "attention"]])
@pytest.mark.parametrize("modulation", ["film", "concat"])
@pytest.mark.parametrize("spline_step", [1, 4])
def test_padding_a_clip_leaves_its_real_frames_as_they_were(conditioning, mixing, modulation, spline_step):
    """Training pads clips shorter than a window; inference runs them as they are: same output."""
    torch.manual_seed(0)
    config = NetworkConfig(
        dim=16, blocks=3, mixing=mixing, conditioning=conditioning, modulation=modulation,
        spline_step=spline_step,
    )  # fmt: skip
    model = Audio2Motion(10, 4, config).eval()
    for block in model.blocks:
        if block.film is not None:
            torch.nn.init.normal_(block.film.proj.weight, std=0.2)
    clip = torch.randn(1, 25, 10)
    padded = torch.cat([clip, torch.randn(1, 15, 10)], dim=1)  # whatever the padding holds
    mask = torch.arange(40)[None] < 25
    torch.testing.assert_close(model(padded, mask)[:, :25], model(clip), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(model(padded)[:, 20:25], model(clip)[:, 20:25], atol=1e-3)  # unmasked


@pytest.mark.parametrize(
    ("causal", "mixing"), [(False, ["conv"]), (True, ["conv"]), (False, ["conv", "conv"])]
)
def test_context_is_exactly_the_frames_a_convolutional_model_reads(causal, mixing):
    torch.manual_seed(0)
    model = Audio2Motion(
        10,
        4,
        NetworkConfig(dim=16, blocks=3, encoder_layers=2, dilations=(1, 2, 4), causal=causal, mixing=mixing),
    ).eval()
    for block in model.blocks:
        torch.nn.init.normal_(block.film.proj.weight, std=0.2)
    # kernel 3: encoder dilations 1, 2, then blocks 1, 2, 4, each with one convolution per mixer listed
    reads = 2 * (1 + 2) + len(mixing) * 2 * (1 + 2 + 4)
    assert model.context == ((reads, 0) if causal else (reads // 2, reads // 2))
    past, future = model.context
    features = torch.randn(1, 60, 10)
    changed = features.clone()
    changed[:, 30] += 3.0  # output t reads inputs t - past .. t + future
    moved = ((model(changed) - model(features)).abs().amax(dim=(0, 2)) > 1e-7).nonzero().flatten().tolist()
    # Never beyond the context; short of it by at most the first block's taps, which see the constant
    # query on both sides (its convolution carries no audio).
    first, last = moved[0], moved[-1]
    assert 30 - future <= first <= 30 - future + (2 if future else 0)
    assert 30 + past - 2 <= last <= 30 + past
    assert Audio2Motion(10, 4, NetworkConfig(mixing=["conv", "attention"])).context is None
    assert (
        Audio2Motion(10, 4, NetworkConfig(conditioning="clip")).context is None
    )  # a clip vector pools every frame
