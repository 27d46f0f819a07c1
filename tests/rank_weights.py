"""A callback that saves each process's weights, for tests that compare DDP processes: train.py takes it as
`+callbacks.rank_weights._target_=rank_weights.RankWeights +callbacks.rank_weights.folder=DIR` when
tests/ is on PYTHONPATH (see conftest.importable_tests_env)."""

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
