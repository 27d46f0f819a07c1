"""A time budget (`++trainer.max_time=`) is the run's length: epochs are unbounded unless given too, and
the learning rate finishes its cosine decay at the budget."""

import time

import lightning as L
import pytest
import torch
from conftest import ROOT
from omegaconf import OmegaConf
from test_config import compose_train

from audio2motion.training.module import Audio2MotionModule


@pytest.mark.parametrize(
    ("overrides", "epochs"),
    [
        ([], 40),
        (["++trainer.max_time=00:00:04:00"], -1),
        (["trainer.max_time=00:00:04:00", "trainer.max_epochs=5"], 5),  # whichever ends first
        (["experiment=tiny"], 12),
        (["experiment=tiny", "++trainer.max_time=00:00:00:30"], -1),
    ],
)
def test_a_time_budget_lifts_the_epoch_limit(overrides, epochs, tmp_path):
    assert compose_train(overrides, tmp_path).trainer.max_epochs == epochs


class LearningRates(L.Callback):
    def __init__(self):
        self.rates = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.rates.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_the_learning_rate_decays_over_the_budget_not_the_epochs():
    """Four seconds of training on 4 windows an epoch: hundreds of epochs where the default would stop
    at 40, warm-up over 5 steps, then a cosine decay that reaches min_lr_ratio as the budget ends."""
    lr, min_ratio = 0.01, 0.1
    module = Audio2MotionModule(
        net={"dim": 8, "blocks": 1, "encoder_layers": 1, "dilations": [1], "dropout": 0.0},
        loss={"recon_weight": 1.0, "velocity_weight": 0.0},
        optimizer={"lr": lr, "weight_decay": 0.0, "betas": [0.9, 0.99]},
        scheduler={"warmup_steps": 5, "min_lr_ratio": min_ratio, "total_steps": 10},
        features={},
        layout={"fps": 30.0, "dim": 2, "channels": ["a", "b"]},
        feature_dim=3,
        window=8,
        objective=OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / "objective" / "regression.yaml")),
    )
    items = [
        {"features": torch.randn(8, 3), "motion": torch.randn(8, 2), "mask": torch.ones(8, dtype=bool)}
        | {"clip": f"c{i}"}
        for i in range(4)
    ]
    rates = LearningRates()
    trainer = L.Trainer(
        accelerator="cpu", max_time={"seconds": 4}, max_epochs=-1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[rates],
    )  # fmt: skip
    started = time.monotonic()
    trainer.fit(module, torch.utils.data.DataLoader(items, batch_size=1))
    assert time.monotonic() - started >= 4 and trainer.current_epoch > 40
    assert rates.rates[:5] == pytest.approx([lr * (i + 1) / 5 for i in range(5)])  # warm-up by steps
    decay = rates.rates[5:]
    assert all(b <= a for a, b in zip(decay, decay[1:], strict=False))
    # Halfway through the steps the rate is about halfway down; at the end, at the floor (but for a step of
    # a few milliseconds short of it).
    middle = decay[len(decay) // 2]
    assert lr * (min_ratio + 0.15 * (1 - min_ratio)) < middle < lr * (min_ratio + 0.85 * (1 - min_ratio))
    assert decay[-1] < lr * min_ratio * 1.02
