"""Random state per epoch from the run's seed and the epoch number, for exact resumption."""

import lightning as L
import numpy as np
import torch


class EpochSeed(L.Callback):
    """Seeds torch (dropout, on every device) at the start of each training epoch from (`seed`, epoch,
    process rank), so that DDP processes draw different dropout masks.

    Checkpoints are written at epoch ends, so a run resumed from one replays the next epoch with the
    random state the uninterrupted run had; data order and window jitter are seeded the same way by
    `WindowSampler`.
    """

    def __init__(self, seed: int):
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        entropy = [self.seed, trainer.current_epoch, trainer.global_rank]
        torch.manual_seed(int(np.random.SeedSequence(entropy).generate_state(1)[0]))
