"""Resuming a killed run: `python train.py resume=RUN_DIR hydra.run.dir=RUN_DIR` ends where an
uninterrupted run with the same seed ends; a resume that cannot be exact is refused with the reason."""

import random
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import ROOT, PlantedCode, run_script
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from test_config import compose_train

from audio2motion.errors import InputError
from audio2motion.training.resume import resume_checkpoint, with_later_defaults

pytestmark = pytest.mark.slow  # trains with train.py, and kills it

# Where the kills land is drawn from this seed, so that a failure repeats (up to the scheduling of the
# processes); assertion messages name it and what it drew.
KILL_SEED = 26

TINY = [
    "experiment=tiny",
    "callbacks=ema",
    "callbacks.progress_bar.refresh_rate=0",
    "trainer.max_epochs=8",
    "data.generator.num_clips=12",
]


def logged_steps(run_dir, tag):
    events = EventAccumulator(str(run_dir / "tensorboard")).Reload()
    return sorted(event.step for event in events.Scalars(tag))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("resume_data")


def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path, data_dir):
    common = [*TINY, f"paths.data_dir={data_dir}"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    result = run_script("train.py", *common, f"hydra.run.dir={whole}")
    assert result.returncode == 0, result.stderr[-3000:]

    # Kill the run at a random moment after its 1st to 3rd checkpoint, resume it, kill that after its 1st
    # or 2nd, then resume to the end (8 epochs).
    rng = random.Random(KILL_SEED)
    plan = [(rng.randint(1, 3), rng.uniform(0.0, 0.2)), (rng.randint(1, 2), rng.uniform(0.0, 0.2))]
    drawn = f"KILL_SEED={KILL_SEED}: killed after (checkpoints, seconds) {plan}"
    last = killed / "checkpoints" / "last.ckpt"
    steps_at_kills = []
    for resume, (checkpoints, delay) in zip(([], [f"resume={killed}"]), plan, strict=True):
        process = subprocess.Popen(
            [sys.executable, "train.py", *common, *resume, f"hydra.run.dir={killed}"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        seen = last.stat().st_mtime_ns if last.exists() else None
        deadline = time.monotonic() + 120
        while checkpoints and time.monotonic() < deadline and process.poll() is None:
            if last.exists() and last.stat().st_mtime_ns != seen:
                seen, checkpoints = last.stat().st_mtime_ns, checkpoints - 1
            time.sleep(0.005)
        time.sleep(delay)  # into the next epoch
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL, f"the run ended before it was killed; {drawn}"
        steps_at_kills.append(torch.load(last, weights_only=True)["global_step"])

    result = run_script("train.py", *common, f"resume={killed}", f"hydra.run.dir={killed}")
    assert result.returncode == 0, f"{drawn}\n{result.stderr[-3000:]}"

    expected = torch.load(whole / "checkpoints" / "last.ckpt", weights_only=True)
    resumed = torch.load(last, weights_only=True)
    drawn += f", at global steps {steps_at_kills}"
    steps = expected["global_step"]
    assert 0 < steps_at_kills[0] < steps_at_kills[1] < steps == resumed["global_step"], drawn
    for part in ("state_dict", "current_model_state"):  # EMA weights, then the raw ones
        assert expected[part].keys() == resumed[part].keys()
        worst = max((expected[part][k] - resumed[part][k]).abs().max().item() for k in expected[part])
        assert worst < 1e-4, (part, worst, drawn)
    # One TensorBoard run, with every epoch's validation once, as in the uninterrupted run: what the
    # killed runs logged after their last checkpoint is purged.
    assert logged_steps(killed, "val/loss") == logged_steps(whole, "val/loss"), drawn
    assert logged_steps(killed, "train/loss") == logged_steps(whole, "train/loss"), drawn


def test_resume_refuses_other_settings_and_missing_runs(tmp_path, data_dir):
    run = tmp_path / "run"
    common = [*TINY, f"paths.data_dir={data_dir}", "trainer.max_epochs=1"]
    assert run_script("train.py", *common, f"hydra.run.dir={run}").returncode == 0

    result = run_script(
        "train.py",
        *common,
        "model.net.dim=16",
        "model.optimizer.lr=0.001",
        f"resume={run}",
        f"hydra.run.dir={run}",
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "last.ckpt: cannot resume" in line
    assert "model.net.dim: 32 in the checkpoint, 16 now" in line
    assert "model.optimizer.lr: 0.004 in the checkpoint, 0.001 now" in line

    def refusal(*overrides: str, resume=run, base=tmp_path) -> str:  # resume_checkpoint in this process
        cfg = compose_train([*TINY, *overrides, f"resume={resume}"], base, data_dir)
        with pytest.raises(InputError) as refused:
            resume_checkpoint(cfg)
        return str(refused.value)

    no_ema = refusal("callbacks=default")
    assert "callbacks.ema._target_: 'audio2motion.training.ema.EMA' in the" in no_ema
    assert f"give hydra.run.dir={run} with resume=" in refusal(base=tmp_path / "elsewhere")
    assert "objective.name: 'regression' in the checkpoint, 'diffusion' now" in refusal("objective=diffusion")

    # Settings that leave the weights alone may change: run length, and the patience for bad steps.
    more = [arg if arg != "trainer.max_epochs=1" else "trainer.max_epochs=2" for arg in common]
    result = run_script(
        "train.py", *more, "model.max_nonfinite_steps=50", f"resume={run}", f"hydra.run.dir={run}"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 1

    before_groups = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    optimizer = before_groups["optimizer_states"][0]
    merged = {
        **optimizer["param_groups"][0],
        "params": sum((g["params"] for g in optimizer["param_groups"]), []),
    }
    del merged["name"]  # one unnamed group, as AdamW had before it stopped decaying biases and norms
    optimizer["param_groups"] = [merged]
    torch.save(before_groups, run / "checkpoints" / "last.ckpt")
    assert "cannot resume, its optimiser state has the parameter groups [None]" in refusal()

    marker = tmp_path / "code_ran"
    planted = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    planted["hyper_parameters"]["extra"] = PlantedCode(marker)
    torch.save(planted, run / "checkpoints" / "last.ckpt")
    assert "last.ckpt: refused: it holds pickled objects" in refusal() and not marker.exists()
    assert "nowhere: resume=RUN_DIR names no run folder" in refusal(resume=tmp_path / "nowhere")
    (run / "checkpoints" / "last.ckpt").unlink()
    assert "last.ckpt: no such checkpoint" in refusal()


def test_settings_of_older_runs_get_the_defaults_of_settings_added_since():
    """A run from before model.net.spline_step and data.reader.root trained with their defaults, so its
    checkpoint resumes under today's defaults: the comparison fills them in, and only them."""
    beat2 = {"_target_": "audio2motion.data.beat2.Beat2Reader", "joints": "body"}
    folder = {"_target_": "audio2motion.data.folder.FolderReader"}
    old = {"model": {"net": {"dim": 16}}, "data": {"reader": beat2, "fps": 30}}
    filled = with_later_defaults(old)
    assert filled["model"]["net"] == {"spline_step": 1, "dim": 16}
    assert filled["data"] == {"reader": {"root": "position", **beat2}, "fps": 30}
    assert filled["objective"] == {"name": "regression"}
    assert with_later_defaults({"data": {"reader": folder}})["data"]["reader"] == folder  # no root there
    kept = with_later_defaults(
        {"model": {"net": {"spline_step": 4}}, "data": {"reader": beat2 | {"root": "velocity"}}}
    )
    assert kept["model"]["net"]["spline_step"] == 4 and kept["data"]["reader"]["root"] == "velocity"
    assert old["model"]["net"] == {"dim": 16}  # the checkpoint's own settings are left as they were
