"""What `python train.py` does: build data, model, callbacks, loggers and trainer from the config, fit,
then report the validation error beside the mean-pose baseline."""

import logging
from pathlib import Path

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from audio2motion.training.atomic_checkpoint_io import AtomicCheckpointIO
from audio2motion.training.log_interval import LogEveryEpoch
from audio2motion.training.module import Audio2MotionModule
from audio2motion.training.resume import EpochSeed, RunSettings, exact_settings, resume_checkpoint

log = logging.getLogger(__name__)


def build_module(cfg: DictConfig, datamodule) -> Audio2MotionModule:
    """The training module for `cfg.model`, sized for and normalised by the data module (after setup)."""
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    module = Audio2MotionModule(
        **model_cfg,
        objective=OmegaConf.to_container(cfg.objective, resolve=True),
        features=OmegaConf.to_container(cfg.features, resolve=True),
        layout=datamodule.layout,
        feature_dim=datamodule.feature_dim,
        window=datamodule.window,
    )
    module.set_stats(datamodule.stats)
    return module


def compile_network(module: Audio2MotionModule, settings) -> None:
    """torch.compile the module's network as `settings` (conf/compile) say, in place: the state dict
    keeps its names, so checkpoints do not change."""
    if settings["enabled"]:
        log.info("torch.compile(mode=%s, backend=%s) on the network", settings["mode"], settings["backend"])
        module.model.compile(mode=settings["mode"], backend=settings["backend"])


def _instantiate_all(group: DictConfig | None, **tensorboard_kwargs) -> list:
    """Each entry of a callbacks or logger group that names a `_target_`; TensorBoard loggers also get
    `tensorboard_kwargs`."""
    if not group:
        return []
    return [
        instantiate(entry, **(tensorboard_kwargs if entry._target_.endswith("TensorBoardLogger") else {}))
        for entry in group.values()
        if entry and "_target_" in entry
    ]


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit (from the start, or on from `cfg.resume`), validate the best checkpoint (or the final weights
    when none was kept) and return its metrics."""
    L.seed_everything(cfg.seed, workers=True)
    datamodule = instantiate(cfg.data, features=OmegaConf.to_container(cfg.features, resolve=True))
    datamodule.prepare_data()
    datamodule.setup("fit")
    module = build_module(cfg, datamodule)
    compile_network(module, cfg.compile)
    ckpt_path, tensorboard = None, {}
    if cfg.get("resume"):
        ckpt_path, step = resume_checkpoint(cfg)
        tensorboard["purge_step"] = step  # hides what the killed run logged after its last checkpoint
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        callbacks=[
            EpochSeed(cfg.seed),
            RunSettings(exact_settings(cfg)),
            LogEveryEpoch(),
            *_instantiate_all(cfg.get("callbacks")),
        ],
        logger=_instantiate_all(cfg.get("logger"), **tensorboard),
        plugins=[AtomicCheckpointIO()],
    )
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    results = trainer.validate(
        module, datamodule=datamodule, ckpt_path=best or None, verbose=False, weights_only=True
    )
    metrics = {k: float(v) for k, v in results[0].items()}
    source = Path(best).name if best else "final weights"
    message = (
        f"val NMSE (MSE / variance, lower is better), {source}: "
        f"model {metrics['val/nmse']:.4f} | mean pose {metrics['val/nmse_mean_pose']:.4f}"
    )
    if trainer.is_global_zero:
        log.info(message)
        print(message)
    _log_hparams(trainer, cfg, metrics)
    return metrics


def _log_hparams(trainer: L.Trainer, cfg: DictConfig, metrics: dict[str, float]) -> None:
    """TensorBoard's HPARAMS tab: the run's settings beside its final validation metrics (`final/...`),
    so that runs compare in one table."""
    settings = OmegaConf.to_container(cfg, resolve=True)
    params = {key: settings[key] for key in ("model", "data", "features", "trainer", "seed")}
    final = {f"final/{key.split('/', 1)[-1]}": value for key, value in metrics.items()}
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(params, final)
            logger.experiment.flush()  # fit has finalised the logger: nothing else would write these out
