"""Cluster and sweep configs: hparams_search=optuna runs a real two-trial study on the CPU;
hydra/launcher=slurm composes into submitit's SLURM launcher (no cluster here to submit to)."""

import re

import pytest
import torch
import yaml
from conftest import run_script
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from test_config import CONF


@pytest.mark.slow
def test_optuna_search_runs_two_trials_and_reports_the_best(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_script(
        "train.py",
        "--multirun",
        "hparams_search=optuna",
        "experiment=tiny",
        "hydra.sweeper.n_trials=2",
        "trainer.max_epochs=1",
        "++trainer.limit_train_batches=3",
        "callbacks.progress_bar.refresh_rate=0",
        f"hydra.sweep.dir={sweep}",
        f"paths.data_dir={tmp_path / 'data'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    nmse = [float(v) for v in re.findall(r"^val NMSE .*: model ([\d.]+)", result.stdout, re.M)]
    assert len(nmse) == 2
    trials = []
    for job in ("0", "1"):
        hparams = torch.load(sweep / job / "checkpoints" / "last.ckpt", weights_only=True)["hyper_parameters"]
        trials.append(
            {
                "model.optimizer.lr": hparams["optimizer"]["lr"],
                "model.net.dim": hparams["net"]["dim"],
                "model.net.blocks": hparams["net"]["blocks"],
            }
        )
    for trial in trials:  # inside the search space of conf/hparams_search/optuna.yaml
        assert 0.0005 <= trial["model.optimizer.lr"] <= 0.01
        assert trial["model.net.dim"] in (64, 96, 128, 192) and trial["model.net.blocks"] in (4, 6, 8, 12)
    assert trials[0] != trials[1]
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    winner = min(range(2), key=nmse.__getitem__)
    assert best["best_value"] == pytest.approx(nmse[winner], abs=1e-4)
    assert best["best_params"] == pytest.approx(trials[winner])


def test_slurm_launcher_config_builds_submitits_launcher(tmp_path):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=["hydra/launcher=slurm", "hydra.launcher.partition=gpu", "trainer=gpu"],
            return_hydra_config=True,
        )
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert (launcher.partition, launcher.gpus_per_node, launcher.tasks_per_node) == ("gpu", 1, 1)
    built = instantiate(launcher)
    assert built.params["timeout_min"] == 240 and built.params["partition"] == "gpu"
