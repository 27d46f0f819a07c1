"""BVH export: a third-party parser (bvhio) reads the files back with our hierarchy, offsets, frame
count, root positions and joint rotations; scripts/infer.py format=bvh writes them."""

import bvhio
import numpy as np
import pytest
import torch
from bvh_reading import bvh_joints, bvh_positions
from conftest import infer, run_script, write_audio
from test_datasets import AIST_NAMES, SMALL, write_aistpp, write_beat2
from test_render import check_video

from audio2motion import load_model
from audio2motion.audio_io import load_audio
from audio2motion.data.aistpp import AistppReader
from audio2motion.data.beat2 import Beat2Reader
from audio2motion.motion.bvh import bvh_text
from audio2motion.motion.layout import joint_positions
from audio2motion.motion.rotations import matrix_to_quaternion, rotation_6d_to_matrix


@pytest.mark.parametrize("layout", ["aistpp", "beat2_hands"])
def test_bvhio_reads_back_hierarchy_frames_positions_and_rotations(tmp_path, layout):
    if layout == "aistpp":
        reader, root = AistppReader(), write_aistpp(tmp_path / "data", names=AIST_NAMES[:1])
    else:
        reader, root = Beat2Reader(joints="body_hands"), write_beat2(tmp_path / "data", count=1)
    pair = next(iter(reader.pairs(root)[0].values()))
    motion, layout_dict = reader.motion(pair, 30), reader.layout(root, 30, 0)
    skeleton = layout_dict["skeleton"]
    path = tmp_path / "motion.bvh"
    path.write_text(bvh_text(motion, layout_dict))

    read = bvhio.readAsBvh(str(path))
    assert read.FrameCount == motion.shape[0] == 90 and read.FrameTime == pytest.approx(1 / 30)
    joints = bvh_joints(read.Root)
    assert sorted(joints) == sorted(skeleton["joints"]) and read.Root.Name == "pelvis"
    knee = joints["left_knee"]
    assert np.allclose(list(knee.Offset), np.array(skeleton["offsets"][4]) * 100, atol=1e-4)  # centimetres
    for frame in (0, 37, 89):
        assert np.allclose(list(read.Root.Keyframes[frame].Position), motion[frame, :3] * 100, atol=1e-3)
    sixd = torch.from_numpy(motion[:, 3 : 3 + 6 * len(skeleton["joints"])]).double().unflatten(-1, (-1, 6))
    ours = matrix_to_quaternion(rotation_6d_to_matrix(sixd))  # [T, J, 4] (w, x, y, z)
    for name in ("pelvis", "left_knee", "right_elbow", "spine3", skeleton["joints"][-1]):
        index = skeleton["joints"].index(name)
        for frame in (0, 45, 89):
            r = joints[name].Keyframes[frame].Rotation
            theirs = np.array([r.w, r.x, r.y, r.z])
            mine = ours[frame, index].numpy()
            assert min(np.abs(theirs - mine).max(), np.abs(theirs + mine).max()) < 1e-5, (name, frame)
    # bvhio's own forward kinematics places every joint where ours does
    placed = joint_positions(torch.from_numpy(motion).double(), layout_dict).numpy()
    assert np.abs(bvh_positions(path, skeleton["joints"], range(90)) - placed).max() < 1e-5


@pytest.mark.slow
def test_infer_writes_bvh_for_a_skeleton_model_and_refuses_one_without(tmp_path, trained_run):
    root = write_aistpp(tmp_path / "data")
    result = run_script(
        "train.py",
        "data=aistpp",
        f"data.root={root}",
        f"hydra.run.dir={tmp_path / 'run'}",
        "trainer.max_epochs=1",
        *SMALL,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    audio = write_audio(tmp_path / "new song.wav", 44100, 4.0, channels=2)
    result = infer(
        tmp_path / "run" / "checkpoints" / "last.ckpt",
        audio,
        tmp_path / "out",
        "format=bvh",
        "render.enabled=true",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    read = bvhio.readAsBvh(str(tmp_path / "out" / "new song.bvh"))
    assert read.FrameCount == 120 and len(read.Root.layout()) == 24
    check_video(tmp_path / "out", "new song", 4.0)

    model = load_model(tmp_path / "run" / "checkpoints" / "last.ckpt")
    motion = model.generate(*load_audio(audio))  # the Python API: values and the layout that names them
    assert motion.values.shape == (120, 147) and motion.fps == 30.0 and motion.layout == model.layout
    assert torch.equal(motion.channel("root.y"), motion.values[:, 1])
    positions = motion.joint_positions()
    assert positions.shape == (120, 24, 3) and torch.allclose(positions[:, 0], motion.values[:, :3])

    plain = infer(trained_run / "checkpoints" / "last.ckpt", audio, tmp_path / "plain", "format=bvh")
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    last = plain.stderr.strip().splitlines()[-1]
    assert "last.ckpt: format=bvh needs a model trained on motion with a skeleton" in last
    assert last.startswith("error: ") and last.endswith("this one's channels have none")
    assert not (tmp_path / "plain").exists() or not list((tmp_path / "plain").iterdir())
