"""`python train.py` end to end: data generation, training, TensorBoard, checkpoints, inference."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch
from conftest import ROOT, infer, run_script, tone_mix
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from test_config import compose_train

from audio2motion.training.run import train

pytestmark = pytest.mark.slow  # trains, and runs train.py and scripts/infer.py


def scalars(run_dir):
    events = EventAccumulator(str(run_dir / "tensorboard")).Reload()
    return {tag: [e.value for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_run_folder_holds_config_checkpoints_and_logs(trained_run):
    assert (trained_run / ".hydra" / "config.yaml").is_file()
    assert (trained_run / "train.log").is_file()
    names = sorted(p.name for p in (trained_run / "checkpoints").iterdir())
    assert "last.ckpt" in names and any(n.startswith("best-") for n in names)
    assert list((trained_run / "tensorboard").glob("events.out.tfevents.*"))


def test_validation_loss_falls_and_beats_the_mean_pose(trained_run):
    logged = scalars(trained_run)
    assert {"train/loss", "train/recon", "train/velocity", "val/loss", "val/nmse", "lr-AdamW/decay"} <= set(
        logged
    )
    assert "hp_metric" not in logged
    val = logged["val/loss"]
    assert len(val) == 12 + 1  # one per epoch, and the final validation of the best checkpoint
    assert val[-1] < 0.3 * val[0], val
    lr = logged["lr-AdamW/decay"]
    assert max(lr) > 5 * lr[0] and lr[-1] < max(lr)  # warm-up, then decay
    printed = re.search(r"model ([\d.]+) \| mean pose ([\d.]+)", (trained_run / "stdout.txt").read_text())
    model, mean_pose = map(float, printed.groups())
    assert model < 0.3 * mean_pose


def test_checkpoint_loads_weights_only_in_a_fresh_interpreter(trained_run):
    code = (
        "import sys, torch; ck = torch.load(sys.argv[1], weights_only=True); "
        "print(ck['global_step'], ck['hyper_parameters']['layout']['dim'], len(ck['state_dict']))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(trained_run / "checkpoints" / "last.ckpt")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert int(out[0]) > 0 and out[1] == "9" and int(out[2]) > 10


def test_inference_on_new_audio_gives_one_frame_per_motion_frame(trained_run, tmp_path):
    audio = tmp_path / "new song.flac"
    soundfile.write(audio, tone_mix(44100, 7.3, channels=2), 44100)  # longer than the 2 s training window
    out = tmp_path / "out"
    result = infer(trained_run / "checkpoints" / "last.ckpt", audio, out)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in out.iterdir()] == ["new song.npz"]
    with np.load(out / "new song.npz") as npz:
        assert sorted(npz.files) == ["fps", "layout", "motion", "source"]
        layout = json.loads(str(npz["layout"]))
        assert layout["dim"] == 9 and layout["channels"][0] == "hips.bob" and layout["skeleton"] is None
        assert npz["motion"].shape == (int(7.3 * 30), 9) and npz["motion"].dtype == np.float32
        assert float(npz["fps"]) == 30.0 and str(npz["source"]) == "new song.flac"
        assert np.isfinite(npz["motion"]).all()
    assert not list(ROOT.glob("outputs")), "inference must not leave a Hydra run folder behind"


SMALL = [
    "model.net.dim=16",
    "model.net.blocks=2",
    "model.net.encoder_layers=1",
    "features.n_mels=16",
    "data.window_seconds=1.5",
]


def test_folder_data_set_trains_with_the_documented_command(tmp_path):
    made = run_script(
        "scripts/make_synthetic.py",
        f"out={tmp_path / 'set'}",
        "data.generator.num_clips=5",
        "data.generator.duration=3.0",
        "data.generator.sample_rate=22050",
    )
    assert made.returncode == 0, made.stderr
    result = run_script(
        "train.py",
        "data=folder",
        f"data.root={tmp_path / 'set'}",
        "data.fps=30",
        "trainer.max_epochs=5",
        f"hydra.run.dir={tmp_path / 'run'}",
        *SMALL,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "val NMSE" in result.stdout
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()


def test_same_seed_repeats_the_run(tmp_path):
    def weights(name, seed):  # trained in this process, as train.py would
        cfg = compose_train(
            ["experiment=tiny", "trainer.max_epochs=2", f"seed={seed}", *SMALL], tmp_path / name
        )
        train(cfg)
        return torch.load(tmp_path / name / "run" / "checkpoints" / "last.ckpt", weights_only=True)[
            "state_dict"
        ]

    first, again, other = weights("a", 1), weights("b", 1), weights("c", 2)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_multirun_sweep_on_cpu(tmp_path):
    result = run_script(
        "train.py",
        "--multirun",
        "experiment=tiny",
        "trainer.max_epochs=1",
        "model.net.dim=8,16",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        f"paths.data_dir={tmp_path / 'data'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for job in ("0", "1"):
        assert (tmp_path / "sweep" / job / "checkpoints" / "last.ckpt").is_file()
    dims = [
        torch.load(tmp_path / "sweep" / job / "checkpoints" / "last.ckpt", weights_only=True)[
            "hyper_parameters"
        ]
        for job in ("0", "1")
    ]
    assert [d["net"]["dim"] for d in dims] == [8, 16]


def test_data_root_without_pairs_is_a_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "song.wav").write_bytes(b"")
    result = run_script(
        "train.py", "data=folder", f"data.root={tmp_path / 'empty'}", f"hydra.run.dir={tmp_path / 'run'}"
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and str(tmp_path / "empty") in last and "no pairs" in last
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "checkpoints").exists()
