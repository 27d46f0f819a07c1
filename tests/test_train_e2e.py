"""`python train.py` end to end: data generation, training, TensorBoard, checkpoints, inference."""

import re
import subprocess
import sys

import numpy as np
import soundfile
from conftest import ROOT, run_script, tone_mix
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


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
    assert {"train/loss", "train/recon", "train/velocity", "val/loss", "val/nmse", "lr-AdamW"} <= set(logged)
    assert "hp_metric" not in logged
    val = logged["val/loss"]
    assert len(val) == 12 + 1  # one per epoch, and the final validation of the best checkpoint
    assert val[-1] < 0.3 * val[0], val
    lr = logged["lr-AdamW"]
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
    assert int(out[0]) > 0 and out[1] == "7" and int(out[2]) > 10


def test_inference_on_new_audio_gives_one_frame_per_motion_frame(trained_run, tmp_path):
    audio = tmp_path / "new song.flac"
    soundfile.write(audio, tone_mix(44100, 7.3, channels=2), 44100)  # longer than the 2 s training window
    out = tmp_path / "out"
    result = run_script(
        "scripts/infer.py",
        f"ckpt={trained_run / 'checkpoints' / 'last.ckpt'}",
        f"audio={audio}",
        f"out={out}",
    )
    assert result.returncode == 0, result.stderr
    assert [p.name for p in out.iterdir()] == ["new song.npz"]
    with np.load(out / "new song.npz") as npz:
        assert sorted(npz.files) == ["fps", "motion", "source"]
        assert npz["motion"].shape == (int(7.3 * 30), 7) and npz["motion"].dtype == np.float32
        assert float(npz["fps"]) == 30.0 and str(npz["source"]) == "new song.flac"
        assert np.isfinite(npz["motion"]).all()
    assert not list(ROOT.glob("outputs")), "inference must not leave a Hydra run folder behind"
