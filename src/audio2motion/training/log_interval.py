"""Step scalars (`train/loss`, the learning rate, ...) in every epoch, however short the epochs."""

import logging
import math

import lightning as L

log = logging.getLogger(__name__)


class LogEveryEpoch(L.Callback):
    """Lowers `trainer.log_every_n_steps` to the optimiser steps of an epoch when an epoch has fewer.

    Lightning writes step scalars every `log_every_n_steps` optimiser steps, counted over the whole run,
    so a run shorter than that (a small data set, a short debug run) would write no `train/*` scalar and
    no learning rate at all. With the interval at most an epoch's steps, every epoch writes some."""

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        steps = math.ceil(trainer.num_training_batches / trainer.accumulate_grad_batches)
        if math.isfinite(steps) and 0 < steps < trainer.log_every_n_steps:
            log.info(
                "an epoch has %d optimiser steps: logging every %d steps, not %d",
                steps,
                steps,
                trainer.log_every_n_steps,
            )
            trainer.log_every_n_steps = steps
