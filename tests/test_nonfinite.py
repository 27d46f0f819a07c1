"""Steps with a non-finite loss or gradient are skipped and counted; too many in a row stop training."""

import lightning as L
import pytest
import torch
from conftest import run_script
from lightning.pytorch.plugins.precision import MixedPrecision

from audio2motion.errors import DivergedError
from audio2motion.training.module import Audio2MotionModule

NET = {"dim": 16, "blocks": 2, "encoder_layers": 1, "dilations": [1, 2], "dropout": 0.0}


def make_module(max_nonfinite_steps: int) -> Audio2MotionModule:
    module = Audio2MotionModule(
        net=NET,
        loss={"recon_weight": 1.0, "velocity_weight": 1.0},
        optimizer={"lr": 1e-3, "weight_decay": 0.01, "betas": [0.9, 0.99]},
        scheduler={"warmup_steps": 1, "min_lr_ratio": 0.1, "total_steps": 100},
        features={},
        layout={"fps": 30.0, "dim": 2, "channels": ["a", "b"]},
        feature_dim=3,
        window=20,
        max_nonfinite_steps=max_nonfinite_steps,
    )
    module.set_stats(
        {"feature_mean": torch.zeros(3), "feature_std": torch.ones(3)}
        | {"motion_mean": torch.zeros(2), "motion_std": torch.ones(2)}
    )
    return module


def windows(bad: set[int], count: int = 8) -> list[dict]:
    """Window i is clip_i; the features of the `bad` ones are NaN."""
    generator = torch.Generator().manual_seed(0)
    items = []
    for i in range(count):
        features = torch.randn(20, 3, generator=generator)
        if i in bad:
            features[5] = float("nan")
        motion = features[:, :2].cumsum(0).nan_to_num()
        items.append({"features": features, "motion": motion, "mask": torch.ones(20, dtype=torch.bool)})
        items[-1]["clip"] = f"clip_{i}"
    return items


def fit(module, items, max_steps, **trainer_args):
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=max_steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        gradient_clip_val=1.0,
        **trainer_args,
    )
    trainer.fit(module, torch.utils.data.DataLoader(items, batch_size=2))


def test_a_bad_batch_is_skipped_counted_and_training_goes_on():
    module = make_module(max_nonfinite_steps=2)
    fit(module, windows(bad={2}), max_steps=8)  # two epochs of four batches; batch 1 holds clip_2
    assert module.nonfinite_steps == 2
    assert all(torch.isfinite(p).all() for p in module.parameters())


def test_skipped_steps_leave_weights_and_optimiser_untouched():
    module = make_module(max_nonfinite_steps=10)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    fit(module, windows(bad=set(range(8))), max_steps=3)
    assert module.nonfinite_steps == 3
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())
    assert not module.trainer.optimizers[0].state  # no Adam moments were made


def test_an_infinite_loss_with_finite_gradients_is_skipped():
    items = windows(bad=set())
    for item in items[2:4]:
        item["motion"] = item["motion"] * 1e20  # squared error overflows float32; its gradient does not
    module = make_module(max_nonfinite_steps=5)
    fit(module, items, max_steps=8)
    assert module.nonfinite_steps == 2
    assert all(torch.isfinite(p).all() for p in module.parameters())


def test_a_finite_loss_with_infinite_gradients_is_skipped():
    module = make_module(max_nonfinite_steps=10)
    module.model.head.weight.register_hook(lambda grad: torch.full_like(grad, float("inf")))
    before = module.model.head.weight.detach().clone()
    fit(module, windows(bad=set()), max_steps=4)
    assert module.nonfinite_steps == 4 and torch.equal(module.model.head.weight, before)


def test_fp16_gradient_overflow_is_left_to_the_grad_scaler():
    """GradScaler skips overflowing steps by design while its scale settles: not counted as bad."""
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**40)  # overflows for the first steps
    module = make_module(max_nonfinite_steps=3)
    fit(module, windows(bad=set()), max_steps=12, plugins=[MixedPrecision("16-mixed", "cpu", scaler)])
    assert scaler.get_scale() < 2.0**40 and module.nonfinite_steps == 0


def test_too_many_in_a_row_stop_with_the_batch_clips():
    module = make_module(max_nonfinite_steps=3)
    with pytest.raises(DivergedError, match=r"3 steps in a row .* clips clip_4, clip_5 \(check them"):
        fit(module, windows(bad=set(range(8))), max_steps=20)
    assert module.global_step == 2  # the third bad step raised before it counted


@pytest.mark.slow
def test_train_py_stops_a_diverging_run_with_one_line(tmp_path):
    result = run_script(
        "train.py",
        "experiment=tiny",
        f"hydra.run.dir={tmp_path / 'run'}",
        f"paths.data_dir={tmp_path / 'data'}",
        "data.generator.num_clips=8",
        "model.optimizer.lr=1e30",
        "model.max_nonfinite_steps=3",
        "callbacks.progress_bar.refresh_rate=0",
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "3 steps in a row had a non-finite loss or gradient" in line and "clip_0" in line
