"""Weights of a training run for tests to compare: a callback that saves each process's weights (train.py
takes it as `+callbacks.rank_weights._target_=rank_weights.RankWeights +callbacks.rank_weights.folder=DIR`,
in a fresh interpreter when tests/ is on PYTHONPATH, see conftest.importable_tests_env), and the largest
difference between two state dicts."""

from pathlib import Path

import lightning as L
import torch


class RankWeights(L.Callback):
    """Writes the module's state dict as `folder/start-rank{R}.pt` when training starts and
    `folder/end-rank{R}.pt` when it ends, R being the process's global rank."""

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def _save(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().clone() for k, v in pl_module.state_dict().items()}
        torch.save(state, self.folder / f"{stage}-rank{trainer.global_rank}.pt")

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._save(trainer, pl_module, "start")

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._save(trainer, pl_module, "end")


def largest_difference(a: dict, b: dict) -> float:
    """The largest absolute difference between two state dicts of the same keys."""
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)
