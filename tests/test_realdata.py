"""Real capture through every path: the BEAT2 reader, forward kinematics, BVH, rendering and evaluation on
a real BEAT2 take (speaker 2, take 0_1_1: 1906 frames of SMPL-X fitted to optical mocap, with its speech),
and the motion metrics on real AIST++ dance (EDGE's ground-truth joint positions). The files lie beside the
clone in shared/realdata (its README.md says where each comes from) and are read from there, never copied.

The bounds are set from measured values, written beside them."""

import math

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from beat2_pieces import cut_take
from bvh_reading import bvh_positions
from conftest import ROOT
from scipy.spatial.transform import Rotation
from test_datasets import train
from test_evaluate import evaluate
from test_render import check_video

from audio2motion.data.beat2 import Beat2Reader
from audio2motion.errors import InputError
from audio2motion.evaluation import PFC_FEET, resample
from audio2motion.metrics import (
    FEATURE_FPS,
    beat_alignment,
    foot_skating,
    geometric_features,
    kinetic_features,
    motion_beats,
    physical_foot_contact,
)
from audio2motion.motion.bvh import bvh_text
from audio2motion.motion.layout import joint_positions
from audio2motion.motion.rotations import rotation_6d_to_matrix
from audio2motion.motion.skeleton import SMPL, SMPLX
from audio2motion.render import INK, write_preview, write_video

REALDATA = ROOT.parent / "shared" / "realdata"
BEAT2 = REALDATA / "beat2"
TAKE = BEAT2 / "smplxflame_30" / "2_scott_0_1_1.npz"
EDGE_JOINTS = REALDATA / "aistpp_derived" / "edge_joints30fps"

pytestmark = pytest.mark.skipif(
    not REALDATA.is_dir(), reason=f"no real capture at {REALDATA} (shared/realdata beside the clone)"
)


def read_take(
    joints: str = "body",
    expressions: bool = False,
    fps: float = 30,
    root=BEAT2,
    name: str = TAKE.stem,
    root_as: str = "position",
):
    """The take (or the piece `name` of a BEAT2 folder `root`) through Beat2Reader: motion `[T, D]` and
    its layout."""
    reader = Beat2Reader(joints=joints, expressions=expressions, root=root_as)
    return reader.motion(reader.pairs(root)[0][name], fps), reader.layout(root, fps, 0)


def positions_of(motion: np.ndarray, layout: dict) -> np.ndarray:
    return joint_positions(torch.from_numpy(motion).double(), layout).numpy()


def test_beat2_reader_on_the_real_take():
    data = np.load(TAKE)
    pairs, problems = Beat2Reader().pairs(BEAT2)
    assert list(pairs) == ["2_scott_0_1_1"] and problems == []
    assert int(data["mocap_frame_rate"]) == 30
    for joints, expressions, dim in [
        ("body", False, 3 + 22 * 6),
        ("body_hands", False, 3 + 52 * 6),
        ("body", True, 3 + 22 * 6 + 100),
        ("body_hands", True, 3 + 52 * 6 + 100),
    ]:
        motion, layout = read_take(joints, expressions)
        assert motion.shape == (1906, dim) and motion.dtype == np.float32
        assert layout["dim"] == len(layout["channels"]) == dim and layout["fps"] == 30.0
        assert np.abs(motion[:, :3] - data["trans"]).max() < 1e-6  # metres, float32
        if expressions:  # the file's coefficients as they are (float64 -> float32: 2.4e-7 apart)
            assert layout["groups"][-1] == {"name": "expressions", "size": 100}
            assert np.abs(motion[:, -100:] - data["expressions"]).max() < 1e-6

    # Each joint's 6D channels are the rotation of its axis-angle in `poses` (scipy's conversion, at the
    # joint's SMPL-X index): body, a wrist and the last finger joint of the 52.
    motion, layout = read_take("body_hands")
    names = layout["skeleton"]["joints"]
    sixd = torch.from_numpy(motion[:, 3 : 3 + 6 * len(names)]).double().unflatten(-1, (-1, 6))
    for name in ("pelvis", "spine3", "left_wrist", "right_thumb3"):
        column = 3 * SMPLX.joints.index(name)
        expected = Rotation.from_rotvec(data["poses"][:, column : column + 3].astype(np.float64)).as_matrix()
        got = rotation_6d_to_matrix(sixd[:, names.index(name)]).numpy()
        assert np.abs(got - expected).max() < 1e-5, name

    # 15 fps keeps every other frame; 25 fps does not divide the recorded 30
    assert np.array_equal(read_take(fps=15)[0], read_take()[0][::2])
    with pytest.raises(InputError, match="recorded at 30 fps"):
        read_take(fps=25)


def test_forward_kinematics_of_the_real_take_is_a_standing_body():
    motion, layout = read_take("body_hands")
    positions = positions_of(motion, layout)  # [1906, 52, 3], y up
    skeleton = layout["skeleton"]
    names, height = skeleton["joints"], positions[..., 1]
    feet = [names.index(foot) for foot in skeleton["feet"]]  # ankles and toe joints
    head, pelvis = height[:, names.index("head")], height[:, 0]
    lowest_foot = height[:, feet].min(axis=1)

    # y is up: the head is above the pelvis (by 0.51 m at least) and the pelvis above every foot joint
    # (0.65 m at least) in every frame
    assert (head - pelvis).min() > 0.4 and (pelvis - height[:, feet].max(axis=1)).min() > 0.5

    # Standing height, as the head joint's height above the lowest foot joint (the skeleton's built-in SMPL
    # proportions put it 1.575 m up at rest; the crown is higher still): median 1.535 m, at most 1.563 m;
    # 1.30 m at the lowest, where the speaker bends his knees for about a second (frames 411-446, the only
    # 36 frames under 1.45 m).
    assert 1.45 < np.median(head - lowest_foot) < 1.58 and (head - lowest_foot).max() < 1.58
    assert (head - lowest_foot).min() > 1.25 and (head - lowest_foot < 1.45).mean() < 0.05

    # Feet on the floor (the lowest any foot joint gets in the take): some foot joint is within 7.0 cm of
    # it in every frame (a speaker does not jump); the toe joints sit 2.2 and 5.0 cm above it at the
    # median, the ankles 8.7 and 11.0 cm; no foot joint rises more than 22.7 cm.
    # The floor itself is at y = 0.329 m, not 0: BEAT2's `trans` is the SMPL-X model's origin, and our
    # forward kinematics puts the pelvis there without SMPL-X's rest offset from origin to pelvis.
    floor = height[:, feet].min()
    assert (lowest_foot - floor).max() < 0.08
    assert np.median(height[:, feet] - floor, axis=0).max() < 0.12 and (height[:, feet] - floor).max() < 0.25

    # Rigid bones: each joint's distance to its parent varies by 5.6e-16 m over the take (at most), and
    # equals the length of its rest offset
    parents = skeleton["parents"][1:]  # the root, first, has none
    bones = np.linalg.norm(positions[:, 1:] - positions[:, parents], axis=-1)  # [T, 51]
    assert np.ptp(bones, axis=0).max() < 1e-5
    rest = np.linalg.norm(np.array(skeleton["offsets"][1:]), axis=-1)
    assert np.abs(bones.mean(axis=0) - rest).max() < 1e-6


def test_bvh_of_the_real_take_reads_back_with_our_joint_positions(tmp_path):
    motion, layout = read_take("body_hands")
    motion = motion[:600]  # the first 20 s: bvhio needs 4-9 s to read the whole take's 52 joints
    path = tmp_path / "take.bvh"
    path.write_text(bvh_text(motion, layout))
    theirs = bvh_positions(path, layout["skeleton"]["joints"], range(len(motion)))
    # bvhio's forward kinematics from the file's centimetres and Euler angles: 9.9e-7 m from ours at most
    # over these 600 frames and 52 joints (1.1e-6 m over the whole take), the text's rounding
    assert np.abs(theirs - positions_of(motion, layout)).max() < 1e-5


def test_root_as_velocity_moves_the_body_as_its_translation_does(tmp_path):
    """data.reader.root=velocity: the same body, every joint shifted by the root's horizontal place at the
    first frame (the steps start at x = z = 0), in joint positions and in BVH."""
    translation, layout = read_take()
    steps, stepped = read_take(root_as="velocity")
    assert stepped["channels"][:3] == ["root.dx", "root.y", "root.dz"]
    assert stepped["groups"][0] == {"name": "root_velocity", "size": 3}
    np.testing.assert_array_equal(steps[:, 3:], translation[:, 3:])
    np.testing.assert_allclose(steps[1:, [0, 2]], np.diff(translation[:, [0, 2]], axis=0), atol=1e-6)
    assert steps[0, 0] == steps[0, 2] == 0 and np.array_equal(steps[:, 1], translation[:, 1])
    shift = translation[0, :3] * [1, 0, 1]  # the first frame's x and z
    # 1906 float32 steps summed: 3e-8 m from the translation at most
    np.testing.assert_allclose(
        positions_of(steps, stepped) + shift, positions_of(translation, layout), rtol=0, atol=1e-6
    )
    path = tmp_path / "stepped.bvh"
    path.write_text(bvh_text(steps[:90], stepped))
    theirs = bvh_positions(path, stepped["skeleton"]["joints"], range(90))
    assert np.abs(theirs + shift - positions_of(translation[:90], layout)).max() < 1e-5
    with pytest.raises(InputError, match="data.reader.root must be one of position, velocity, got 'speed'"):
        Beat2Reader(root="speed")


def test_render_a_real_piece(tmp_path):
    frames = cut_take(TAKE, tmp_path / "piece", {"talk": ("test", 10.0, 14.0)})
    assert frames == {"talk": 120}
    motion, layout = read_take(root=tmp_path / "piece", name="talk")
    out = tmp_path / "out"
    out.mkdir()
    audio = tmp_path / "piece" / "wave16k" / "talk.wav"
    write_video(out / "talk.mp4", motion, layout, audio, 480)  # conf/infer.yaml's render settings
    write_preview(out / "talk.gif", motion, layout, 240, 10.0, 10.0)
    check_video(out, "talk", 4.0)  # 120 frames, h264 and aac, 4 s long, and the preview

    # The stick figure stands upright in the front view: in the frames measured (one in 30) its ink is
    # 378-386 rows tall (of 480) and 135-187 columns wide
    reader = imageio_ffmpeg.read_frames(str(out / "talk.mp4"))
    size = next(reader)["size"]
    for index, raw in enumerate(reader):
        if index % 30:
            continue
        picture = np.frombuffer(raw, np.uint8).reshape(size[1], size[0], 3).astype(int)
        rows, columns = np.nonzero(np.abs(picture - INK).sum(-1) < 90)  # H.264 blurs the colour
        tall, wide = np.ptp(rows), np.ptp(columns)
        assert tall > 0.7 * size[1] and tall > 1.5 * wide, (index, tall, wide)


@pytest.mark.slow
def test_train_and_evaluate_on_pieces_of_the_real_take(tmp_path):
    """Pieces of the take as a BEAT2 folder: 40 s to train on, 8 s to validate on and two test pieces (8 s
    and 7.5 s); a small model trained two epochs through train.py, scored by scripts/evaluate.py."""
    pieces = {
        "train_a": ("train", 0.0, 20.0),
        "train_b": ("train", 20.0, 40.0),
        "val": ("val", 40.0, 48.0),
        "test_a": ("test", 48.0, 56.0),
        "test_b": ("test", 56.0, 64.0),  # ends with the take's motion, at 63.53 s
    }
    root = tmp_path / "pieces"
    frames = cut_take(TAKE, root, pieces)
    assert frames == {"train_a": 600, "train_b": 600, "val": 240, "test_a": 240, "test_b": 226}
    train(root, "beat2", tmp_path / "run", "trainer.max_epochs=2")
    report, _ = evaluate(
        tmp_path / "run" / "checkpoints" / "last.ckpt", tmp_path / "eval", "data=beat2", f"data.root={root}"
    )
    assert report["settings"]["layout"] == "smplx_body" and report["settings"]["clips"] == 2
    assert report["notes"] == {}  # SMPL-X body joints and the PFC feet: every measure is there
    for source in ("generated", "ground_truth"):
        for key in ("jerk", "foot_skating", "pfc"):
            assert math.isfinite(report["metrics"][source][key]), (source, key)

    # The ground truth's scores are those of the piece's own motion: per clip, foot skating 0.088 and 0.071
    # of the steps and jerk 26.4 and 25.9 m/s^3 (the standing speaker's feet barely move: PFC 0.0073 and
    # 0.0018). test_b's audio is a third of a sample short of its 226th frame, so its clip has 225.
    for row in report["per_clip"]:
        motion, layout = read_take(root=root, name=row["clip"])
        count = round(row["seconds"] * 30)
        assert 0 <= frames[row["clip"]] - count <= 1
        positions = positions_of(motion[:count], layout)
        feet = [layout["skeleton"]["joints"].index(foot) for foot in layout["skeleton"]["feet"]]
        truth = row["ground_truth"]
        assert truth["foot_skating"] == pytest.approx(foot_skating(positions, feet, 30), rel=1e-6)
        assert 0.03 < truth["foot_skating"] < 0.15
        # jerk as the mean size of the third difference, here without the library's function
        direct = np.linalg.norm(np.diff(positions, n=3, axis=0), axis=-1).mean() * 30**3
        assert truth["jerk"] == pytest.approx(direct, rel=1e-6) and 15 < truth["jerk"] < 40
        assert 0 <= truth["pfc"] < 0.05


QUARTER_TURN = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # z up -> y up, determinant +1


def edge_joints(name: str) -> np.ndarray:
    """An EDGE ground-truth slice (150 frames at 30 fps, 24 SMPL joints, z up) turned y up: [150, 24, 3].
    (x, y, z) -> (x, z, -y) is a quarter turn about x, the inverse of the turn EDGE made from AIST++'s y up
    (dataset/dance_dataset.py); a mirror such as (x, z, y) would swap left and right, which the
    geometric features' plane tests (cross products) tell apart."""
    zup = np.loadtxt(EDGE_JOINTS / f"{name}.csv", delimiter=",").reshape(-1, 24, 3)
    return zup @ QUARTER_TURN.T


def aist_features(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The AIST++ features as evaluation/scores.py makes them: relative to the first root, at 60 fps."""
    relative = resample(positions - positions[0, 0], 30, FEATURE_FPS)
    return kinetic_features(relative), geometric_features(relative)


# measured: foot skating, PFC
AIST_SLICES = {
    "gBR_sBM_cAll_d04_mBR0_ch02_slice0": (0.087, 4.65),
    "gBR_sBM_cAll_d05_mBR0_ch02_slice3": (0.060, 6.15),
}


@pytest.mark.parametrize("name", sorted(AIST_SLICES))
def test_metrics_of_real_aistpp_dance(name):
    positions = edge_joints(name)
    assert positions.shape == (150, 24, 3)
    kinetic, geometric = aist_features(positions)
    assert kinetic.shape == (72,) and geometric.shape == (32,)
    assert np.isfinite(kinetic).all() and (kinetic >= 0).all()  # 0.058 to 30.5 (m/s)^2 and m/s^2
    assert ((geometric >= 0) & (geometric <= 1)).all()  # fractions of frames

    # Kinetic features are mean squared speeds (horizontal, vertical) and mean acceleration per joint, at
    # 60 fps: within 0.80-0.97 of the plain 30 fps finite differences (the +-2 frame window smooths them);
    # features taken at 30 fps as if 60 would be 2.4-3.2 times these
    per_joint = kinetic.reshape(24, 3)
    velocity = np.diff(positions, axis=0) * 30
    plain = np.stack(
        [
            (velocity[..., 0] ** 2 + velocity[..., 2] ** 2).mean(axis=0),
            (velocity[..., 1] ** 2).mean(axis=0),
            np.linalg.norm(np.diff(positions, n=2, axis=0) * 30**2, axis=-1).mean(axis=0),
        ],
        axis=1,
    )
    ratio = per_joint / plain
    assert ((ratio > 0.7) & (ratio < 1.05)).all()

    # Upright dance: the torso never lies near horizontal (manual.py's feature 28: 0.0 here, 1.0 with z
    # still up). The features depend on the up axis and handedness only: another proper rotation taking z
    # up to y, (x, y, z) -> (y, z, x), gives the same numbers exactly; the mirror (x, z, y) changes the
    # plane tests (features 0, 1, 14, 15 by up to 0.48).
    assert geometric[28] == 0
    zup = positions @ QUARTER_TURN  # back to the file's rows
    turned = aist_features(zup[..., [1, 2, 0]])
    assert np.allclose(turned[0], kinetic, rtol=1e-6) and np.allclose(turned[1], geometric)
    assert not np.allclose(aist_features(zup[..., [0, 2, 1]])[1], geometric)

    # Foot skating, as evaluation/scores.py scores it (ankles and toes): real dance slides little
    skating, pfc = AIST_SLICES[name]
    feet = [SMPL.joints.index(foot) for foot in SMPL.feet]
    measured = foot_skating(positions, feet, 30)
    assert measured == pytest.approx(skating, abs=0.001) and 0.03 < measured < 0.15

    # EDGE's PFC, which its eval_pfc.py computes from z-up rows (up axis 2): the same on our y-up turn. EDGE
    # reports 1.332 for the AIST++ ground truth (the mean over its 5 s test slices); these two break-dance
    # slices score 4.65 and 6.15, within ten times of it either way.
    pfc_feet = [SMPL.joints.index(foot) for foot in PFC_FEET]
    ours = physical_foot_contact(positions, pfc_feet, 30)
    assert ours == pytest.approx(edge_pfc(zup), rel=1e-9) and ours == pytest.approx(pfc, abs=0.01)
    assert 1.332 / 10 < ours < 1.332 * 10

    # Beat alignment without music: motion beats are there (10-11 in the 5 s), music beats are not, and the
    # score says so with NaN (report.json's null), not 0
    beats = motion_beats(positions, 30)
    assert 5 <= len(beats) <= 20
    assert math.isnan(beat_alignment(np.zeros(0, int), beats, 30))
    assert beat_alignment(beats, beats, 30) == 1.0


def edge_pfc(zup: np.ndarray) -> float:
    """EDGE's PFC of one slice restated on its own terms (eval_pfc.py): z up, 30 fps, per-frame foot steps,
    feet SMPL 7, 10, 8, 11 (left ankle, left toe, right ankle, right toe)."""
    push = np.diff(zup[:, 0], n=2, axis=0) * 30**2  # root acceleration, m/s^2
    push[:, 2] = push[:, 2].clip(min=0)  # only upward pushes count
    strength = np.linalg.norm(push, axis=-1)
    steps = np.linalg.norm(np.diff(zup[1:, [7, 10, 8, 11], :2], axis=0), axis=-1)  # horizontal, m/frame
    left, right = steps[:, :2].min(axis=1), steps[:, 2:].min(axis=1)
    return float((left * right * strength / strength.max()).mean() * 1e4)
