"""What makes `train.py resume=RUN_DIR` end where the uninterrupted run would have: random state drawn per
epoch, the run's settings kept in its checkpoints, and the checks made before a run goes on."""

import logging
from pathlib import Path

import lightning as L
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from audio2motion.atomic import remove_leftovers
from audio2motion.builder import objective_of
from audio2motion.checkpoint import config_differences, read_checkpoint
from audio2motion.errors import InputError
from audio2motion.training.module import PARAMETER_GROUPS

log = logging.getLogger(__name__)

# Data settings a resumed run may change: where the files are and how they are loaded.
DATA_RUN_ONLY = ("root", "num_workers", "persistent_workers", "pin_memory", "resident", "cache_dir")
# Trainer settings that decide the weights; the others (run length, devices, logging) may change.
TRAINER_EXACT = ("precision", "accumulate_grad_batches", "gradient_clip_val", "gradient_clip_algorithm")


def exact_settings(cfg: DictConfig) -> dict:
    """The settings a resumed run must share with the run it continues: seed, data, features, model
    (but `max_nonfinite_steps`, which a diverging run may need raised), objective, the trainer's numerics
    and EMA."""
    config = OmegaConf.to_container(cfg, resolve=True)
    return {
        "seed": config["seed"],
        "data": {k: v for k, v in config["data"].items() if k not in DATA_RUN_ONLY},
        "features": config["features"],
        "model": {k: v for k, v in config["model"].items() if k != "max_nonfinite_steps"},
        "objective": config["objective"],
        "trainer": {k: config["trainer"].get(k) for k in TRAINER_EXACT},
        "callbacks": {"ema": (config.get("callbacks") or {}).get("ema")},
    }


def with_later_defaults(saved: dict) -> dict:
    """Run settings kept by an older version with the defaults of settings added since, which that run
    trained with: regression, `model.net.spline_step` 1, and the root as translation for the BEAT2 and
    AIST++ readers."""
    saved = {**saved, "objective": objective_of(saved)}
    model, data = saved.get("model") or {}, saved.get("data") or {}
    if "net" in model:
        saved["model"] = {**model, "net": {"spline_step": 1, **model["net"]}}
    reader = data.get("reader") or {}
    if str(reader.get("_target_", "")).endswith(("Beat2Reader", "AistppReader")):
        saved["data"] = {**data, "reader": {"root": "position", **reader}}
    return saved


class RunSettings(L.Callback):
    """Keeps `exact_settings` in every checkpoint (as callback state), for `resume_checkpoint` to compare."""

    def __init__(self, settings: dict):
        self.settings = settings

    def state_dict(self) -> dict:
        return {"settings": self.settings}


class EpochSeed(L.Callback):
    """Seeds torch (dropout, on every device) at the start of each training epoch from (`seed`, epoch,
    process rank), so that DDP processes draw different dropout masks.

    Checkpoints are written at epoch ends, so a run resumed from one replays the next epoch with the
    random state the uninterrupted run had; data order and window jitter are seeded the same way by
    `WindowSampler`.
    """

    def __init__(self, seed: int):
        if seed < 0:
            raise InputError(f"seed must be 0 or more, got {seed}")
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        entropy = [self.seed, trainer.current_epoch, trainer.global_rank]
        torch.manual_seed(int(np.random.SeedSequence(entropy).generate_state(1)[0]))


def resume_checkpoint(cfg: DictConfig) -> tuple[Path, int]:
    """`RUN_DIR/checkpoints/last.ckpt` for `resume=RUN_DIR` and its global step, once it is known to load
    safely and to come from a run with the same `exact_settings`; otherwise an error listing each setting
    that differs."""
    run_dir = Path(cfg.resume)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: resume=RUN_DIR names no run folder")
    if run_dir.resolve() != Path(cfg.paths.output_dir).resolve():
        raise InputError(
            f"{run_dir}: give hydra.run.dir={run_dir} with resume=, so that checkpoints and TensorBoard go "
            "on in the run's folder"
        )
    path = run_dir / "checkpoints" / "last.ckpt"
    checkpoint = read_checkpoint(path)
    saved = checkpoint.get("callbacks", {}).get(RunSettings.__qualname__, {}).get("settings")
    if saved is None:
        raise InputError(f"{path}: holds no run settings to check (not written by train.py); cannot resume")
    differences = config_differences(with_later_defaults(saved), exact_settings(cfg))
    if differences:
        raise InputError(
            f"{path}: cannot resume, the run was trained with other settings: {'; '.join(differences)}"
        )
    groups = [group.get("name") for group in checkpoint["optimizer_states"][0]["param_groups"]]
    if groups != list(PARAMETER_GROUPS):
        raise InputError(
            f"{path}: cannot resume, its optimiser state has the parameter groups {groups}, not "
            f"{list(PARAMETER_GROUPS)} (written before AdamW stopped decaying biases and norms): finish "
            "the run with the version that wrote it, or start a new one"
        )
    progress = checkpoint["loops"]["fit_loop"]["epoch_loop.batch_progress"]
    if not progress["is_last_batch"]:
        log.warning(
            "%s was written when the run stopped inside an epoch (max_time, or a callback stopped it): "
            "training goes on from the next epoch, so it will not match an uninterrupted run exactly",
            path,
        )
    remove_leftovers(path.parent)  # from a kill while a checkpoint was being written
    return path, int(checkpoint["global_step"])
