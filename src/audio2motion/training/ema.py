"""Exponential moving average of the weights, kept on the device the model trains on."""

import lightning as L
from lightning.pytorch.callbacks import EMAWeightAveraging


class EMA(EMAWeightAveraging):
    """Lightning's EMA callback, placed on the training device: by default it takes the module's device
    when fit is set up, which is the CPU, and would copy every weight off the GPU at every step."""

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self._device is None:
            self._device = trainer.strategy.root_device
        super().setup(trainer, pl_module, stage)
