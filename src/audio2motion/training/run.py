"""What `python train.py` does: build data, model, callbacks, loggers and trainer from the config, fit,
then report the validation error beside the mean-pose baseline."""

import logging
from pathlib import Path

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from audio2motion.training.module import Audio2MotionModule

log = logging.getLogger(__name__)


def build_module(cfg: DictConfig, datamodule) -> Audio2MotionModule:
    """The training module for `cfg.model`, sized for and normalised by the data module (after setup)."""
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    module = Audio2MotionModule(
        **model_cfg,
        features=OmegaConf.to_container(cfg.features, resolve=True),
        layout=datamodule.layout,
        feature_dim=datamodule.feature_dim,
        window=datamodule.window,
    )
    module.set_stats(datamodule.stats)
    return module


def _instantiate_all(group: DictConfig | None) -> list:
    """Each entry of a callbacks or logger group that names a `_target_`."""
    if not group:
        return []
    return [instantiate(entry) for entry in group.values() if entry and "_target_" in entry]


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit, validate the best checkpoint (or the final weights when none was kept) and return its metrics."""
    L.seed_everything(cfg.seed, workers=True)
    datamodule = instantiate(cfg.data, features=OmegaConf.to_container(cfg.features, resolve=True))
    datamodule.prepare_data()
    datamodule.setup("fit")
    module = build_module(cfg, datamodule)
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        callbacks=_instantiate_all(cfg.get("callbacks")),
        logger=_instantiate_all(cfg.get("logger")),
    )
    trainer.fit(module, datamodule=datamodule)
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    results = trainer.validate(module, datamodule=datamodule, ckpt_path=best or None, verbose=False)
    metrics = {k: float(v) for k, v in results[0].items()}
    source = Path(best).name if best else "final weights"
    message = (
        f"val NMSE (MSE / variance, lower is better), {source}: "
        f"model {metrics['val/nmse']:.4f} | mean pose {metrics['val/nmse_mean_pose']:.4f}"
    )
    if trainer.is_global_zero:
        log.info(message)
        print(message)
    return metrics
