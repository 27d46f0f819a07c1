"""AdamW decays the network's matrices and kernels alone, not its LayerNorm gains, biases, learned query
or null-audio embedding."""

import lightning as L
import pytest
import torch
from conftest import ROOT
from omegaconf import OmegaConf

from audio2motion.training.module import Audio2MotionModule

NET = {"dim": 16, "blocks": 2, "encoder_layers": 1, "dilations": [1, 2], "dropout": 0.0}


@pytest.mark.parametrize("objective", ["regression", "diffusion"])
def test_weight_decay_shrinks_only_weights_of_two_or_more_dimensions(objective):
    """With every loss weight 0 the gradients are 0, so AdamW's step is its decay alone: weights of 2 or
    more dimensions shrink by (1 - lr x weight_decay) a step, the others stay exactly as they were."""
    lr, decay, steps = 0.01, 0.5, 3
    module = Audio2MotionModule(
        net=NET,
        loss={"recon_weight": 0.0, "velocity_weight": 0.0},
        optimizer={"lr": lr, "weight_decay": decay, "betas": [0.9, 0.99]},
        scheduler={"warmup_steps": 0, "min_lr_ratio": 1.0, "total_steps": 100},
        features={},
        layout={"fps": 30.0, "dim": 2, "channels": ["a", "b"]},
        feature_dim=3,
        window=20,
        objective=OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / "objective" / f"{objective}.yaml")),
    )
    before = {name: p.detach().clone() for name, p in module.model.named_parameters()}
    items = [
        {"features": torch.randn(20, 3), "motion": torch.randn(20, 2), "mask": torch.ones(20, dtype=bool)}
        | {"clip": f"c{i}"}
        for i in range(2 * steps)
    ]
    trainer = L.Trainer(
        accelerator="cpu", max_steps=steps, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(module, torch.utils.data.DataLoader(items, batch_size=2))
    shrink = (1 - lr * decay) ** steps
    one_dimensional = []
    for name, p in module.model.named_parameters():
        if p.ndim >= 2:
            torch.testing.assert_close(p.detach(), before[name] * shrink, rtol=1e-5, atol=1e-7, msg=name)
        else:
            assert torch.equal(p.detach(), before[name]), name
            one_dimensional.append(name)
    assert {"norm.weight", "head.bias", "query" if objective == "regression" else "null_audio"} <= set(
        one_dimensional
    )
