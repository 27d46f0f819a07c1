"""The real layouts, AIST++ and BEAT2, built tiny with synthetic content in their real file types, key
names and folders: training runs on each, and every kind of bad file is named (or skipped on request)."""

import json
import math
import os
import pickle

import numpy as np
import pytest
import soundfile
import torch
from conftest import PlantedCode, infer, run_script, tone_mix

from audio2motion.data.aistpp import AistppReader
from audio2motion.data.beat2 import Beat2Reader
from audio2motion.data.datamodule import MotionDataModule
from audio2motion.errors import InputError

FEATURES = {"n_mels": 16}
SMALL = [
    "model.net.dim=16",
    "model.net.blocks=2",
    "model.net.encoder_layers=1",
    "features.n_mels=16",
    "data.window_seconds=1.0",
    "data.batch_size=4",
    "callbacks.progress_bar.refresh_rate=0",
]
AIST_NAMES = [f"g{g}_sBM_cAll_d0{i}_m{g}{i}_ch0{i}" for i, g in enumerate(["BR", "PO", "LO", "HO"])]


def smooth_poses(rng, frames: int, joints: int) -> np.ndarray:
    """Axis-angle poses `[frames, joints x 3]` that sway smoothly, up to about 0.5 rad."""
    t = np.arange(frames)[:, None] / frames
    phase, speed = rng.uniform(0, 6.3, (1, 3 * joints)), rng.uniform(1, 4, (1, 3 * joints))
    return 0.5 * np.sin(2 * np.pi * speed * t + phase)


def write_aistpp(root, seconds: float = 3.0, names=AIST_NAMES, rng_seed: int = 0):
    rng = np.random.default_rng(rng_seed)
    (root / "motions").mkdir(parents=True, exist_ok=True)
    (root / "wav").mkdir(exist_ok=True)
    for name in names:
        frames = int(seconds * 60)
        data = {
            "smpl_poses": smooth_poses(rng, frames, 24),
            "smpl_trans": np.cumsum(rng.normal(0, 0.5, (frames, 3)), axis=0) + [0, 90, 0],
            "smpl_scaling": np.array([93.5]),
            "smpl_loss": np.float64(0.1),
        }
        with open(root / "motions" / f"{name}.pkl", "wb") as handle:
            pickle.dump(data, handle)
        soundfile.write(root / "wav" / f"{name.split('_')[4]}.wav", tone_mix(48000, seconds + 2.5), 48000)
    return root


def write_beat2(root, seconds: float = 3.0, count: int = 4):
    rng = np.random.default_rng(1)
    (root / "smplxflame_30").mkdir(parents=True, exist_ok=True)
    (root / "wave16k").mkdir(exist_ok=True)
    for i in range(count):
        name, frames = f"{i + 1}_speaker_0_{i}_{i}", int(seconds * 30)
        np.savez(
            root / "smplxflame_30" / f"{name}.npz",
            betas=rng.normal(size=300),
            poses=smooth_poses(rng, frames, 55),
            expressions=rng.normal(size=(frames, 100)),
            trans=rng.normal(0, 0.01, (frames, 3)),
            model=np.array("smplx2020"),
            gender=np.array("neutral"),
            mocap_frame_rate=np.array(30),
        )
        soundfile.write(root / "wave16k" / f"{name}.wav", tone_mix(16000, seconds), 16000)
    return root


def train(root, layout: str, run, *overrides):
    result = run_script(
        "train.py", f"data={layout}", f"data.root={root}", f"hydra.run.dir={run}", *SMALL, *overrides
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.slow
@pytest.mark.parametrize(
    ("layout", "writer", "overrides", "dim", "skeleton"),
    [
        ("aistpp", write_aistpp, [], 3 + 24 * 6, "smpl"),
        ("aistpp", write_aistpp, ["data.reader.contacts=true", "data.fps=60"], 3 + 24 * 6 + 4, "smpl"),
        ("beat2", write_beat2, [], 3 + 22 * 6, "smplx_body"),
        (
            "beat2",
            write_beat2,
            ["data.reader.joints=body_hands", "data.reader.expressions=true"],
            3 + 52 * 6 + 100,
            "smplx_body_hands",
        ),
    ],
    ids=["aistpp", "aistpp_contacts_60fps", "beat2_body", "beat2_hands_expressions"],
)
def test_layout_trains_one_epoch_and_a_fast_dev_run(tmp_path, layout, writer, overrides, dim, skeleton):
    root = writer(tmp_path / "data")
    train(root, layout, tmp_path / "dev", "debug=fast_dev_run", *overrides)
    train(root, layout, tmp_path / "run", "trainer.max_epochs=1", *overrides)
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    saved = checkpoint["hyper_parameters"]["layout"]
    assert saved["dim"] == len(saved["channels"]) == sum(g["size"] for g in saved["groups"]) == dim
    assert saved["skeleton"]["name"] == skeleton and saved["channels"][:4] == [
        "root.x",
        "root.y",
        "root.z",
        "pelvis.r6d0",
    ]
    assert checkpoint["hyper_parameters"]["layout"]["fps"] == (60.0 if "data.fps=60" in overrides else 30.0)


def test_aistpp_motion_is_metres_and_6d_at_the_asked_rate(tmp_path):
    root = write_aistpp(tmp_path, names=AIST_NAMES[:1])
    pair = AistppReader().pairs(root)[0][AIST_NAMES[0]]
    with open(pair.motion, "rb") as handle:
        raw = pickle.load(handle)
    motion = AistppReader().motion(pair, fps=30)
    assert motion.shape == (90, 147) and motion.dtype == np.float32
    assert np.allclose(motion[:, :3], raw["smpl_trans"][::2] / 93.5, atol=1e-5)
    # the 6D form of a rotation: two orthonormal columns
    columns = motion[:, 3:].reshape(90, 24, 2, 3)
    assert np.allclose(np.linalg.norm(columns, axis=-1), 1, atol=1e-5)
    assert np.allclose((columns[..., 0, :] * columns[..., 1, :]).sum(-1), 0, atol=1e-5)


def test_official_splits_and_ignore_list_are_honoured(tmp_path):
    root = write_aistpp(tmp_path)
    (root / "ignore_list.txt").write_text(AIST_NAMES[3] + "\n")
    (root / "splits").mkdir()
    (root / "splits" / "crossmodal_train.txt").write_text(f"{AIST_NAMES[0]}\n{AIST_NAMES[1]}\nnot_here\n")
    (root / "splits" / "crossmodal_val.txt").write_text(f"{AIST_NAMES[2]}\n")
    module = MotionDataModule(str(root), fps=30, features=FEATURES, reader=AistppReader())
    module.setup()
    assert [c.name for c in module.clips["train"]] == AIST_NAMES[:2]
    assert [c.name for c in module.clips["val"]] == [AIST_NAMES[2]] and module.clips["test"] == []


def bad_aistpp(root):
    """Four good AIST++ clips and three bad ones: music missing, NaN in a pose, 23 joints."""
    write_aistpp(
        root,
        names=[
            *AIST_NAMES,
            "gJB_sBM_cAll_d09_mJB9_ch09",
            "gKR_sBM_cAll_d09_mKR9_ch09",
            "gWA_sBM_cAll_d09_mWA9_ch09",
        ],
    )
    (root / "wav" / "mJB9.wav").unlink()
    for name, change in (("gKR_sBM_cAll_d09_mKR9_ch09", "nan"), ("gWA_sBM_cAll_d09_mWA9_ch09", "short")):
        path = root / "motions" / f"{name}.pkl"
        data = pickle.loads(path.read_bytes())
        if change == "nan":
            data["smpl_poses"][10, 5] = np.nan
        else:
            data["smpl_poses"] = data["smpl_poses"][:, :69]
        path.write_bytes(pickle.dumps(data))
    return root


@pytest.mark.slow
def test_bad_files_are_all_named_in_one_line_or_skipped(tmp_path):
    root = bad_aistpp(tmp_path / "data")
    result = run_script(
        "train.py", "data=aistpp", f"data.root={root}", f"hydra.run.dir={tmp_path / 'run'}", *SMALL
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "3 bad files (data.on_error=skip leaves them out)" in line
    assert (
        f"gJB_sBM_cAll_d09_mJB9_ch09.pkl: motion without audio ({root / 'wav' / 'mJB9.wav'} is missing)"
        in line
    )
    assert "gKR_sBM_cAll_d09_mKR9_ch09.pkl: motion holds NaN or infinite values" in line
    assert (
        "gWA_sBM_cAll_d09_mWA9_ch09.pkl: 'smpl_poses' must be a numeric [N, 72] array, got float64 [180, 69]"
        in line
    )
    assert not (tmp_path / "run" / "checkpoints").exists()

    result = train(root, "aistpp", tmp_path / "skip", "data.on_error=skip", "trainer.max_epochs=1")
    logged = (result.stdout + result.stderr).splitlines()  # Hydra logs to stdout
    for name in ("mJB9", "mKR9", "mWA9"):
        assert any("left out (data.on_error=skip)" in line and name in line for line in logged)
    assert (tmp_path / "skip" / "checkpoints" / "last.ckpt").is_file()


def test_folder_format_names_every_bad_file_too(tmp_path):
    from audio2motion.data.synthetic import write_synthetic_dataset

    root = write_synthetic_dataset(tmp_path, num_clips=6, duration=2.0, sample_rate=16000, fps=30, seed=0)
    np.save(root / "orphan.npy", np.zeros((60, 9), np.float32))  # motion without audio
    motion = np.load(root / "clip_001.npy")
    motion[3, 3] = np.nan
    np.save(root / "clip_001.npy", motion)
    np.save(root / "clip_002.npy", np.zeros((20, 9), np.float32))  # 20 frames against 60 of audio
    np.save(root / "clip_003.npy", np.zeros((60, 5), np.float32))  # 5 channels, the others 9
    with pytest.raises(InputError) as caught:
        MotionDataModule(str(root), fps=30, features=FEATURES).setup()
    message = str(caught.value)
    assert message.startswith(f"{root}: 4 bad files")
    for part in (
        "orphan.npy: motion without audio",
        "clip_001.npy: motion holds NaN",
        "clip_002.npy: 20 frames",
        "clip_003.npy: 5 motion channels where",
    ):
        assert part in message, part
    module = MotionDataModule(str(root), fps=30, features=FEATURES, on_error="skip")
    module.setup()
    kept = sorted(c.name for split in module.clips.values() for c in split)
    assert kept == ["clip_000", "clip_004", "clip_005"]


def test_motion_pickle_that_would_run_code_is_refused(tmp_path):
    root = write_aistpp(tmp_path, names=AIST_NAMES[:1])
    marker = tmp_path / "code_ran"
    path = root / "motions" / f"{AIST_NAMES[0]}.pkl"
    data = pickle.loads(path.read_bytes())
    data["smpl_loss"] = PlantedCode(marker)
    path.write_bytes(pickle.dumps(data))
    pair = AistppReader().pairs(root)[0][AIST_NAMES[0]]
    with pytest.raises(
        InputError, match=r"not a readable AIST\+\+ motion file \(it holds pickled objects other than arrays"
    ):
        AistppReader().motion(pair, fps=30)
    assert not marker.exists()


@pytest.mark.slow
def test_preprocess_cache_is_read_by_training_and_rebuilt_only_for_other_settings(tmp_path):
    root, cache = write_aistpp(tmp_path / "data"), tmp_path / "cache"
    made = run_script(
        "scripts/preprocess.py", "data=aistpp", f"data.root={root}", f"data.cache_dir={cache}", *SMALL[3:4]
    )
    assert made.returncode == 0, made.stderr[-3000:]
    (entry,) = cache.iterdir()
    assert sorted(p.name for p in entry.iterdir()) == ["features.npy", "manifest.json", "motion.npy"]
    assert "cached 4 clips (360 frames" in made.stdout

    # Training with the same data and feature settings reads it, whatever its batch and window.
    result = train(
        root,
        "aistpp",
        tmp_path / "run",
        f"data.cache_dir={cache}",
        "trainer.max_epochs=1",
        "data.batch_size=2",
    )
    assert f"clips read from the cache {entry}" in result.stdout

    def module(**changes):
        settings = {"fps": 30, "features": FEATURES, "reader": AistppReader(), "cache_dir": str(cache)}
        return MotionDataModule(str(root), **(settings | changes))

    assert module().cache_folder == entry == module(batch_size=3, window_seconds=2.0).cache_folder
    assert module(features={"n_mels": 8}).cache_folder != entry
    assert module(reader=AistppReader(contacts=True)).cache_folder != entry
    assert module(fps=20).cache_folder != entry
    cached, fresh = module(), module(cache_dir=None)
    cached.setup(), fresh.setup()
    for split in ("train", "val", "test"):
        for a, b in zip(cached.clips[split], fresh.clips[split], strict=True):
            assert (
                a.name == b.name and torch.equal(a.features, b.features) and torch.equal(a.motion, b.motion)
            )
    wav = root / "wav" / "mBR0.wav"
    os.utime(wav, ns=(wav.stat().st_atime_ns, wav.stat().st_mtime_ns + 10**9))  # an edited data file
    assert module().cache_folder != entry


@pytest.mark.slow
def test_joint_loss_trains_and_inference_writes_the_skeleton_layout_back(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root = write_aistpp(tmp_path / "data")
    train(root, "aistpp", tmp_path / "run", "trainer.max_epochs=2", "model.loss.joint_weight=1.0")
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard")).Reload()
    joints = [e.value for e in events.Scalars("val/joints")]
    assert len(joints) == 3 and all(0 < v < 1 for v in joints)  # squared metres: a body's size is ~1

    result = infer(
        tmp_path / "run" / "checkpoints" / "last.ckpt", root / "wav" / "mBR0.wav", tmp_path / "out"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(tmp_path / "out" / "mBR0.npz") as npz:
        layout = json.loads(str(npz["layout"]))
        assert npz["motion"].shape == (int(5.5 * 30), 147)
    assert layout["skeleton"]["name"] == "smpl" and len(layout["skeleton"]["offsets"]) == 24
    assert [g["name"] for g in layout["groups"]] == ["root_translation", "rotation_6d"]


def test_foot_contact_loss_is_the_squared_speed_of_feet_marked_down():
    from audio2motion.motion.layout import skeleton_layout
    from audio2motion.motion.skeleton import SMPL
    from audio2motion.training.module import Audio2MotionModule

    layout = skeleton_layout(30.0, SMPL, contacts=True)
    net = {"dim": 8, "blocks": 1, "encoder_layers": 1}
    loss = {"recon_weight": 1.0, "velocity_weight": 0.0, "contact_weight": 1.0}
    opt, sched = (
        {"lr": 1e-3, "weight_decay": 0.0, "betas": [0.9, 0.99]},
        {"warmup_steps": 1, "min_lr_ratio": 0.1},
    )
    module = Audio2MotionModule(net, loss, opt, sched, FEATURES, layout, feature_dim=19, window=20)
    motion = torch.zeros(1, 20, layout["dim"])
    motion[..., 3:147] = torch.tensor([1.0, 0, 0, 0, 1, 0]).repeat(24)  # every joint at rest
    motion[..., 0] = 0.02 * torch.arange(20)  # the whole body slides 2 cm a frame along x
    motion[:, :10, 147:] = 1.0  # feet marked down for the first 10 frames, up after
    every = torch.ones(1, 19, 1)
    # 10 of the 19 frame pairs start while the feet are down: 10 x 0.02^2 over 19 pairs
    assert module._foot_sliding(motion, every, torch.ones(1, 1, 1)).item() == pytest.approx(
        10 * 0.02**2 / 19, rel=1e-4
    )
    motion[..., 0] = 0.0
    assert module._foot_sliding(motion, every, torch.ones(1, 1, 1)).item() == 0


@pytest.mark.slow
def test_diffusion_trains_with_joint_and_contact_losses_on_a_skeleton(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root = write_aistpp(tmp_path / "data")
    weights = ["model.loss.joint_weight=1.0", "model.loss.contact_weight=1.0", "data.reader.contacts=true"]
    train(
        root,
        "aistpp",
        tmp_path / "run",
        "trainer.max_epochs=2",
        "objective=diffusion",
        "objective.steps=4",
        *weights,
    )
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard")).Reload()
    for tag in ("val/joints", "val/contact", "val/nmse"):
        values = [e.value for e in events.Scalars(tag)]
        assert len(values) == 3 and all(math.isfinite(v) and v >= 0 for v in values)


@pytest.mark.slow
def test_joint_loss_without_a_skeleton_is_a_one_line_error(tmp_path):
    result = run_script(
        "train.py",
        "experiment=tiny",
        "model.loss.joint_weight=1.0",
        f"hydra.run.dir={tmp_path / 'run'}",
        f"paths.data_dir={tmp_path / 'data'}",
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: model.loss.joint_weight > 0 needs motion with a skeleton (data=aistpp or data=beat2)"
    )


def test_rate_that_does_not_divide_the_recording_and_missing_keys_name_the_file(tmp_path):
    root = write_beat2(tmp_path / "beat2", count=1)
    reader = Beat2Reader()
    pair = next(iter(reader.pairs(root)[0].values()))
    with pytest.raises(
        InputError,
        match=r"\.npz: recorded at 30 fps, which data\.fps=25 does not divide \(use 30, 15, 10, 7\.5\)$",
    ):
        reader.motion(pair, fps=25)
    data = dict(np.load(pair.motion))
    del data["trans"]
    np.savez(pair.motion, **data)
    with pytest.raises(InputError, match=r"\.npz: no 'trans' array$"):
        reader.motion(pair, fps=30)


def test_split_lists_with_a_clip_in_two_splits_are_refused(tmp_path):
    root = write_beat2(tmp_path / "beat2")
    names = sorted(p.stem for p in (root / "smplxflame_30").iterdir())
    rows = [f"{names[0]},train", f"{names[1]},train", f"{names[2]},val", f"{names[0]},test"]
    (root / "train_test_split.csv").write_text("id,type\n" + "\n".join(rows) + "\n")
    module = MotionDataModule(str(root), fps=30, features=FEATURES, reader=Beat2Reader())
    with pytest.raises(
        InputError, match=rf"train_test_split\.csv: lists '{names[0]}' in both train and test$"
    ):
        module.setup()
    (root / "train_test_split.csv").write_text("name,split\n")
    with pytest.raises(InputError, match=r"train_test_split\.csv: needs the columns id and type"):
        MotionDataModule(str(root), fps=30, features=FEATURES, reader=Beat2Reader()).setup()


def test_cache_key_follows_files_in_linked_folders(tmp_path):
    root = write_aistpp(tmp_path / "data", names=AIST_NAMES[:2])
    (root / "wav").rename(tmp_path / "elsewhere")
    (root / "wav").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    module = MotionDataModule(
        str(root), fps=30, features=FEATURES, reader=AistppReader(), cache_dir=str(tmp_path / "c")
    )
    before = module.cache_folder
    wav = tmp_path / "elsewhere" / "mBR0.wav"
    os.utime(wav, ns=(wav.stat().st_atime_ns, wav.stat().st_mtime_ns + 10**9))
    again = MotionDataModule(
        str(root), fps=30, features=FEATURES, reader=AistppReader(), cache_dir=str(tmp_path / "c")
    )
    assert again.cache_folder != before
