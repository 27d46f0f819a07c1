"""Every option of every config group composes, resolves and builds what it describes."""

import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from conftest import tone_mix
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import OmegaConf, open_dict
from probes import largest_difference, record_overrides
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from audio2motion import load_model
from audio2motion.data.synthetic import write_synthetic_dataset
from audio2motion.models import Audio2Motion, NetworkConfig
from audio2motion.models.blocks import SelfAttention
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
READERS = {("data", "folder"), ("data", "aistpp"), ("data", "beat2"), ("experiment", "beat2")}
# Trained through train.py instead: ddp_cpu launches processes that rerun the entry script
# (test_ddp_cpu.py), optuna is a multirun study (test_cluster.py), aistpp and beat2 need their layouts
# (test_datasets.py), experiment=beat2 real capture (test_real_benchmark.py).
THROUGH_TRAIN_PY = {
    ("trainer", "ddp_cpu"),
    ("hparams_search", "optuna"),
    ("data", "aistpp"),
    ("data", "beat2"),
    ("experiment", "beat2"),
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
    "trainer.log_every_n_steps=1",
    "callbacks.progress_bar.refresh_rate=0",
]


IN_PROCESS = [option for option in OPTIONS if option not in THROUGH_TRAIN_PY]


@dataclass
class Run:
    """A FAST training of one option in this process: its config, returned metrics, run folder, data
    folder, the probes.Record of it (`record`, `start` and `end` weights) and what it logged."""

    cfg: object
    metrics: dict
    dir: Path
    data_dir: Path
    record: dict
    start: dict
    end: dict
    log: str

    @property
    def last(self) -> Path:
        return self.dir / "checkpoints" / "last.ckpt"

    def clips_seen(self) -> set[str]:
        return {clip for step in self.record["steps"] for clip in step["clips"]}

    def lrs(self) -> list[float]:
        return [step["lr"] for step in self.record["steps"]]

    def scalars(self, tag: str) -> list[float]:
        events = EventAccumulator(str(self.dir / "tensorboard")).Reload()
        return [event.value for event in events.Scalars(tag)]


def stems(folder: Path) -> set[str]:
    return {path.stem for path in folder.glob("*.npy")}


def respond(model, frame: int, at: int) -> float:
    """How much the network's output at frame `at` of a 30-frame window moves when the features of frame
    `frame` change (normalised units)."""
    features = torch.randn(1, 30, model.featurizer.dim, generator=torch.Generator().manual_seed(0))
    changed = features.clone()
    changed[0, frame] += 3.0
    with torch.inference_mode():
        return (model.model(changed)[0, at] - model.model(features)[0, at]).abs().max().item()


def check_folder(run: Run) -> None:  # trains on the clips of data.root
    own = Path(run.cfg.data.root)
    assert run.clips_seen() and run.clips_seen() <= stems(own) == {f"clip_{i:03d}" for i in range(4)}
    assert load_model(run.last).layout["channels"] == (own / "channels.txt").read_text().split()


def check_synthetic(run: Run) -> None:  # generates its set under data_dir and trains on it
    made = run.data_dir / "synthetic"
    settings = json.loads((made / "generator.json").read_text())
    assert (settings["num_clips"], settings["duration"]) == (4, 3.0) and len(stems(made)) == 4
    assert run.clips_seen() and run.clips_seen() <= stems(made)


def check_features(run: Run) -> None:  # n_mels log-mel bands + onset, RMS, centroid, rebuilt for inference
    model = load_model(run.last)
    frames = model.featurizer(torch.from_numpy(tone_mix(16000, 2.0)), 16000)
    assert frames.shape == (60, 16 + 3) == (60, run.cfg.features.n_mels + 3)


def check_densefilm(run: Run) -> None:  # convolutions alone, modulated by the audio through DenseFiLM
    model = load_model(run.last)
    assert model.model.context == (4, 4)  # encoder and 2 blocks of kernel 3, dilations 1 and 2
    assert respond(model, 10, 13) > 0 and respond(model, 10, 15) == 0  # 3 frames away, and 5
    films = [block.film.proj.weight for block in model.model.blocks]
    assert all(weight.abs().max() > 0 for weight in films)  # trained away from the identity they start as


def check_causal(run: Run) -> None:  # a frame depends on the audio up to its own time only
    model = load_model(run.last)
    assert model.model.context == (8, 0)
    assert respond(model, 10, 10) > 0 and respond(model, 10, 14) > 0
    assert respond(model, 10, 9) == 0 and respond(model, 10, 0) == 0


def check_large(run: Run) -> None:  # attention after every convolution, 8 heads, lr 1e-3 warmed over 500
    model = load_model(run.last)
    attention = [m for m in model.model.modules() if isinstance(m, SelfAttention)]
    assert len(attention) == 2 and all(m.attn.num_heads == 8 for m in attention)
    assert model.model.context is None and respond(model, 0, 29) > 0  # the whole window, beyond conv reach
    assert run.lrs() == pytest.approx([1e-3 * (step + 1) / 500 for step in range(len(run.lrs()))])


def check_cpu(run: Run) -> None:  # the CPU in float32
    assert (run.record["accelerator"], run.record["precision"]) == ("CPUAccelerator", "32-true")
    assert run.record["parameter_dtypes"] == ["torch.float32"]
    assert {step["features_dtype"] for step in run.record["steps"]} == {"torch.float32"}


def check_default_trainer(run: Run) -> None:  # a GPU in bf16-mixed when there is one, else the CPU
    expected = (
        ("CUDAAccelerator", "bf16-mixed") if torch.cuda.is_available() else ("CPUAccelerator", "32-true")
    )
    assert (run.record["accelerator"], run.record["precision"]) == expected


def check_compile_default(run: Run) -> None:  # off: the network trains uncompiled
    assert run.record["compiled"] is False


def check_callbacks_default(run: Run) -> None:  # best and last checkpoints, lr monitor, validation media
    best = [path.name for path in (run.dir / "checkpoints").glob("best-*.ckpt")]
    assert best == [f"best-epoch000-val{run.metrics['val/loss']:.4f}.ckpt"] and run.last.is_file()
    assert run.scalars("lr-AdamW/decay") == pytest.approx(run.lrs())
    assert run.scalars("lr-AdamW/no_decay") == pytest.approx(run.lrs())  # one rate, two groups
    events = EventAccumulator(str(run.dir / "tensorboard"), size_guidance={"images": 0}).Reload()
    assert {"val/channels", "val/motion"} <= set(events.Tags()["images"])


def check_ema(run: Run) -> None:  # checkpoints hold the averaged weights, and the raw ones beside them
    checkpoint = torch.load(run.last, weights_only=True)
    raw, averaged = checkpoint["current_model_state"], checkpoint["state_dict"]
    assert largest_difference(averaged, run.end) == 0  # what the module holds after training
    moved, behind = largest_difference(raw, run.start), largest_difference(averaged, run.start)
    assert 0 < behind < moved, (behind, moved)  # the average lags behind the raw weights


def check_no_callbacks(run: Run) -> None:  # Lightning's own: a checkpoint of the last epoch elsewhere
    assert not (run.dir / "checkpoints").exists()
    assert [path.name for path in run.dir.rglob("*.ckpt")] == ["epoch=0-step=1.ckpt"]
    assert not {"LearningRateMonitor", "ValidationMedia"} & set(run.record["callbacks"])


def check_no_logger(run: Run) -> None:
    assert run.record["loggers"] == [] and not (run.dir / "tensorboard").exists()


def check_tensorboard(run: Run) -> None:  # every step's loss, validation losses, the final metrics
    assert run.record["loggers"] == ["TensorBoardLogger"]
    assert run.scalars("train/loss") == pytest.approx([step["loss"] for step in run.record["steps"]])
    # the epoch's validation, then train.py's of the best checkpoint (that epoch's weights)
    assert run.scalars("val/loss") == pytest.approx([run.metrics["val/loss"]] * 2)
    assert run.scalars("final/nmse") == pytest.approx([run.metrics["val/nmse"]])


def check_paths(run: Run) -> None:  # data under paths.data_dir, the run's files under paths.output_dir
    assert Path(run.cfg.paths.output_dir) == run.dir and run.last.is_file()
    assert (
        Path(run.cfg.paths.data_dir) == run.data_dir
        and (run.data_dir / "synthetic" / "channels.txt").is_file()
    )


def check_hydra(run: Run) -> None:  # names a dated run folder under paths.log_dir (for train.py runs)
    folder = re.escape(f"{run.cfg.paths.log_dir}/train/runs/")
    assert re.fullmatch(folder + r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d", HydraConfig.get().run.dir)


def check_fast_dev_run(run: Run) -> None:  # one training and one validation batch, nothing written
    assert run.record["global_step"] == 1 and run.record["val_batches"] == 1
    assert not (run.dir / "checkpoints").exists() and not (run.dir / "tensorboard").exists()


def check_overfit(run: Run) -> None:  # one batch, 100 times, until its loss is a few percent of the first
    steps = run.record["steps"]
    assert len(steps) == run.record["global_step"] == 100
    assert all(step["clips"] == steps[0]["clips"] for step in steps)
    losses = run.scalars("train/loss")
    assert len(losses) == 100 and losses == pytest.approx([step["loss"] for step in steps])
    assert losses[-1] < 0.1 * losses[0], (losses[0], losses[-1])


def check_profiler(run: Run) -> None:  # times each action of the loop and reports at the end of fit
    assert run.record["profiled"]["run_training_batch"] == run.record["global_step"] > 0
    assert "FIT Profiler Report" in run.log and "run_training_batch" in run.log


def check_attention(run: Run) -> None:  # windows mixed by self-attention: each frame sees the whole window
    model = load_model(run.last)
    assert model.model.context is None
    assert respond(model, 0, 29) > 0


def check_tiny(run: Run) -> None:  # its own small set, on the CPU, warm-up of 10 steps
    assert run.clips_seen() <= stems(run.data_dir / "synthetic_tiny") and run.clips_seen()
    assert run.record["accelerator"] == "CPUAccelerator"
    assert run.lrs() == pytest.approx([4e-3 * (step + 1) / 10 for step in range(len(run.lrs()))])


def check_gpu(run: Run) -> None:
    assert (run.record["accelerator"], run.record["precision"]) == ("CUDAAccelerator", "bf16-mixed")


CHECKS = {
    ("data", "folder"): check_folder,
    ("data", "synthetic"): check_synthetic,
    ("features", "default"): check_features,
    ("model", "densefilm"): check_densefilm,
    ("model", "densefilm_causal"): check_causal,
    ("model", "densefilm_large"): check_large,
    ("trainer", "cpu"): check_cpu,
    ("trainer", "default"): check_default_trainer,
    ("trainer", "gpu"): check_gpu,
    ("trainer", "ddp"): check_gpu,
    ("compile", "default"): check_compile_default,
    ("callbacks", "default"): check_callbacks_default,
    ("callbacks", "ema"): check_ema,
    ("callbacks", "none"): check_no_callbacks,
    ("logger", "none"): check_no_logger,
    ("logger", "tensorboard"): check_tensorboard,
    ("paths", "default"): check_paths,
    ("hydra", "default"): check_hydra,
    ("debug", "fast_dev_run"): check_fast_dev_run,
    ("debug", "overfit"): check_overfit,
    ("debug", "profiler"): check_profiler,
    ("experiment", "attention"): check_attention,
    ("experiment", "tiny"): check_tiny,
}


# What a check needs beyond FAST: EMA averages from the second step on; batches of 2 windows make three
# batches an epoch, of which debug=overfit takes one.
MORE = {("callbacks", "ema"): ["trainer.max_epochs=3"], ("debug", "overfit"): ["data.batch_size=2"]}


def test_every_option_trained_here_has_a_check():
    assert set(CHECKS) == set(IN_PROCESS)


@pytest.mark.slow
@pytest.mark.parametrize(("group", "option"), IN_PROCESS, ids=[f"{g}={o}" for g, o in IN_PROCESS])
def test_option_trains(group, option, tmp_path, data_dir, caplog):
    if (group, option) in NEEDS_GPU and not torch.cuda.is_available():
        pytest.skip("needs a GPU")
    fast = FAST
    if group == "debug":  # the option's own run length
        fast = [o for o in FAST if not o.startswith(("trainer.max_epochs", "++trainer.limit_"))]
    overrides = [f"{group}={option}", *fast, *([] if option == "folder" else GENERATOR)]
    overrides += MORE.get((group, option), [])
    if group == "callbacks" and option == "none":
        overrides.remove("callbacks.progress_bar.refresh_rate=0")
    if (group, option) == ("data", "folder"):
        own = write_synthetic_dataset(
            data_dir / "own", num_clips=4, duration=3.0, sample_rate=22050, fps=30, seed=0
        )
        overrides.append(f"data.root={own}")
    cfg = compose_train([*overrides, *record_overrides(tmp_path / "record")], tmp_path, data_dir)
    with caplog.at_level(logging.INFO):
        metrics = train(cfg)
    assert math.isfinite(metrics["val/nmse"]) and metrics["val/nmse_mean_pose"] > 0.5
    folder = tmp_path / "record"
    record = json.loads((folder / "record-rank0.json").read_text())
    start, end = (torch.load(folder / f"{stage}-rank0.pt", weights_only=True) for stage in ("start", "end"))
    CHECKS[group, option](Run(cfg, metrics, tmp_path / "run", data_dir, record, start, end, caplog.text))
