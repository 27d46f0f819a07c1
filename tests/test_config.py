"""Every option of every config group composes, resolves and builds what it describes."""

import math
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import OmegaConf, open_dict

from audio2motion.data.synthetic import write_synthetic_dataset
from audio2motion.models import Audio2Motion, NetworkConfig
from audio2motion.training.run import _instantiate_all, train

CONF = Path(__file__).resolve().parents[1] / "conf"
GROUPS = [
    "data",
    "features",
    "model",
    "trainer",
    "compile",
    "callbacks",
    "logger",
    "paths",
    "hydra",
    "debug",
    "experiment",
    "hparams_search",
]
OPTIONS = [(group, path.stem) for group in GROUPS for path in sorted((CONF / group).glob("*.yaml"))]
NEEDS_GPU = {("trainer", "gpu"), ("trainer", "ddp")}
READERS = {("data", "folder"), ("data", "aistpp"), ("data", "beat2")}
# Trained through train.py instead: ddp_cpu launches processes that rerun the entry script
# (test_ddp_cpu.py), optuna is a multirun study (test_cluster.py), aistpp and beat2 need their layouts
# (test_datasets.py).
THROUGH_TRAIN_PY = {
    ("trainer", "ddp_cpu"),
    ("hparams_search", "optuna"),
    ("data", "aistpp"),
    ("data", "beat2"),
}


def compose_train(overrides: list[str], tmp_path: Path, data_dir: Path | None = None):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                f"paths.output_dir={tmp_path}/run",
                f"paths.data_dir={data_dir or tmp_path / 'data'}",
                *overrides,
            ],
            return_hydra_config=True,
        )
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg.hydra
    OmegaConf.resolve(cfg)
    return cfg


def test_every_group_has_options():
    assert {group for group, _ in OPTIONS} == set(GROUPS)


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_option_composes_and_builds(group, option, tmp_path):
    overrides = [f"{group}={option}"]
    if (group, option) in READERS:
        overrides.append(f"data.root={tmp_path}")
    cfg = compose_train(overrides, tmp_path)
    assert cfg.data.fps > 0 and cfg.trainer.max_epochs >= 1
    datamodule = instantiate(cfg.data, features=OmegaConf.to_container(cfg.features))
    assert datamodule.featurizer.dim == cfg.features.n_mels + 3
    model = Audio2Motion(datamodule.featurizer.dim, 7, NetworkConfig.from_dict(cfg.model.net))
    assert model(torch.randn(2, 16, datamodule.featurizer.dim)).shape == (2, 16, 7)
    callbacks, loggers = _instantiate_all(cfg.get("callbacks")), _instantiate_all(cfg.get("logger"))
    if (group, option) in NEEDS_GPU:
        assert cfg.trainer.accelerator == "gpu" and cfg.trainer.precision == "bf16-mixed"
        assert option != "ddp" or (cfg.trainer.strategy == "ddp" and cfg.trainer.devices == -1)
        return
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    assert trainer.max_epochs == cfg.trainer.max_epochs


def test_default_trainer_picks_the_cpu_without_a_gpu(tmp_path):
    cfg = compose_train([], tmp_path)
    expected = ("gpu", "bf16-mixed") if torch.cuda.is_available() else ("cpu", "32-true")
    assert (cfg.trainer.accelerator, cfg.trainer.precision) == expected
    assert cfg.callbacks.model_checkpoint.dirpath == f"{tmp_path}/run/checkpoints"
    assert cfg.logger.tensorboard.save_dir == f"{tmp_path}/run"


@pytest.mark.parametrize("name", ["infer", "make_synthetic"])
def test_script_configs_compose(name, tmp_path):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(name, overrides=[f"out={tmp_path}"])
    assert cfg.out == str(tmp_path)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


GENERATOR = ["data.generator.num_clips=4", "data.generator.duration=3.0"]
FAST = [
    "data.window_seconds=1.0",
    "data.stride_seconds=1.0",
    "model.net.dim=16",
    "model.net.blocks=2",
    "model.net.encoder_layers=1",
    "features.n_mels=16",
    "trainer.max_epochs=1",
    "++trainer.limit_train_batches=2",
    "++trainer.limit_val_batches=1",
    "callbacks.progress_bar.refresh_rate=0",
]


IN_PROCESS = [option for option in OPTIONS if option not in THROUGH_TRAIN_PY]


@pytest.mark.parametrize(("group", "option"), IN_PROCESS, ids=[f"{g}={o}" for g, o in IN_PROCESS])
def test_option_trains(group, option, tmp_path, data_dir):
    if (group, option) in NEEDS_GPU and not torch.cuda.is_available():
        pytest.skip("needs a GPU")
    overrides = [f"{group}={option}", *FAST, *([] if option == "folder" else GENERATOR)]
    if group == "callbacks" and option == "none":
        overrides.remove("callbacks.progress_bar.refresh_rate=0")
    if (group, option) == ("data", "folder"):
        own = write_synthetic_dataset(
            data_dir / "own", num_clips=4, duration=3.0, sample_rate=22050, fps=30, seed=0
        )
        overrides.append(f"data.root={own}")
    cfg = compose_train(overrides, tmp_path, data_dir)
    metrics = train(cfg)
    assert math.isfinite(metrics["val/nmse"]) and metrics["val/nmse_mean_pose"] > 0.5
