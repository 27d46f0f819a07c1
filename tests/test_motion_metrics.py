"""The AIST++ features, FID, diversity, foot skating, PFC and jerk on cases worked out by hand."""

import math

import numpy as np
import pytest
import torch

from audio2motion.metrics import (
    diversity,
    fid,
    foot_skating,
    frechet_distance,
    geometric_features,
    jerk,
    kinetic_features,
    physical_foot_contact,
)
from audio2motion.metrics.aist_features import HL, MANUAL_FEATURES
from audio2motion.motion.rotations import axis_angle_to_matrix
from audio2motion.motion.skeleton import SMPL, forward_kinematics

FEET = [7, 10, 8, 11]  # SMPL left ankle, left toe, right ankle, right toe


def smpl_pose(frames: int, knee_bend: float = 0.0, step: float = 0.0) -> np.ndarray:
    """SMPL rest pose positions `[T, 24, 3]`, knees bent by `knee_bend` radians, the body moving
    `step` metres along x each frame."""
    axis_angle = torch.zeros(frames, 24, 3, dtype=torch.float64)
    axis_angle[:, [4, 5], 0] = knee_bend
    translation = torch.zeros(frames, 3, dtype=torch.float64)
    translation[:, 0] = step * torch.arange(frames)
    return forward_kinematics(axis_angle_to_matrix(axis_angle), translation, SMPL).numpy()


def test_kinetic_features_of_steady_motion_and_free_fall():
    frames, fps = 30, 60
    t = np.arange(frames) / fps
    positions = np.zeros((frames, 24, 3))
    positions[:, 0] = np.outer(t, [1.0, 3.0, 2.0])  # root: 1 m/s in x, 3 up, 2 in z
    positions[:, 5, 1] = -9.81 / 2 * t**2  # right knee falls freely from rest
    features = kinetic_features(positions).reshape(24, 3)  # per joint: horizontal, vertical, expenditure
    assert features[0] == pytest.approx([1 + 4, 9, 0], abs=1e-4)
    assert features[5, 2] == pytest.approx(9.81, rel=1e-4)  # acceleration magnitude, every frame
    assert features[[1, 2, 3, 23]] == pytest.approx(np.zeros((4, 3)))  # still joints
    # vertical: each frame's speed averaged over 2 steps either side (fewer at the ends)
    step_speed = 9.81 * (np.arange(1, frames) - 0.5) / fps  # speed of step k, frames k-1 -> k
    averaged = [step_speed[max(i - 2, 1) - 1 : min(i + 2, frames - 1)].mean() for i in range(1, frames)]
    assert features[5, 1] == pytest.approx(np.mean(np.square(averaged)), rel=1e-4)


def kinetic_by_the_definition(positions: np.ndarray, quirk: bool = False) -> np.ndarray:
    """AIST++'s kinetic features written out frame by frame and joint by joint: for each frame i of
    1..T-1, the velocity averaged over the steps k = i-2..i+2 that exist (p[k] - p[k-1]) and the
    acceleration over those with a step after them too, at 60 fps; with `quirk`, the published
    acceleration, whose v1 is p[k] - p[k-1] / dt."""
    frames, dt = len(positions), 1 / 60
    out = []
    for joint in range(positions.shape[1]):
        horizontal = vertical = expenditure = 0.0
        for i in range(1, frames):
            steps = [
                positions[k, joint] - positions[k - 1, joint] for k in range(i - 2, i + 3) if 1 <= k < frames
            ]
            velocity = np.sum(steps, axis=0) / (len(steps) * dt)
            horizontal += velocity[0] ** 2 + velocity[2] ** 2
            vertical += velocity[1] ** 2
            p = positions[:, joint]
            turns = [
                ((p[k + 1] - p[k]) / dt - (p[k] - p[k - 1] / dt if quirk else (p[k] - p[k - 1]) / dt)) / dt
                for k in range(i - 2, i + 3)
                if 1 <= k < frames - 1
            ]
            expenditure += np.linalg.norm(np.mean(turns, axis=0))
        out += [horizontal / (frames - 1), vertical / (frames - 1), expenditure / (frames - 1)]
    return np.array(out)


@pytest.mark.parametrize("quirk", [False, True])
@pytest.mark.parametrize("frames", [3, 4, 7, 40])
def test_kinetic_features_equal_the_definition_on_random_motion(frames, quirk):
    positions = np.random.default_rng(frames).standard_normal((frames, 24, 3)).cumsum(axis=0) * 0.01
    expected = kinetic_by_the_definition(positions, quirk)
    assert kinetic_features(positions, expenditure_quirk=quirk) == pytest.approx(expected, rel=1e-5)


def test_the_published_expenditure_measures_where_a_still_joint_is():
    # A joint held still at p: no acceleration. The published code's v1 = p - p / dt = p (1 - 60) at
    # 60 fps, v2 = 0, so its "acceleration" is (0 - v1) / dt = 59 x 60 x p = 3540 p every frame.
    positions = np.zeros((20, 24, 3))
    positions[:, 3] = [0.0, 0.1, 0.0]  # spine1 10 cm above the root
    positions[:, 20] = [0.3, 0.4, 0.0]  # left wrist 0.5 m from the root
    corrected = kinetic_features(positions).reshape(24, 3)
    published = kinetic_features(positions, expenditure_quirk=True).reshape(24, 3)
    assert corrected == pytest.approx(np.zeros((24, 3)))
    assert published[[3, 20, 0], 2] == pytest.approx([354.0, 1770.0, 0.0])
    assert published[:, :2] == pytest.approx(np.zeros((24, 2)))  # speeds are computed right


def test_geometric_features_of_standing_walking_and_bent_knees():
    names = [(test, joints) for test, joints, _ in MANUAL_FEATURES]
    fast = [i for i, (test, _) in enumerate(names) if test == "fast"]  # wrists, ankles, root
    knees = [
        names.index(("angle", (k, h, k, a)))
        for k, h, a in [("rknee", "rhip", "rankle"), ("lknee", "lhip", "lankle")]
    ]
    standing = geometric_features(smpl_pose(10))
    assert standing[fast].tolist() == [0, 0, 0, 0, 0]
    assert standing[knees].tolist() == [0, 0]  # straight legs: about 180 degrees, not within (0, 110)
    # 1 cm a frame is 1.2 m/s in manual.py's 1/120 s unit: above 2.5 and 2.3 humerus lengths a second
    assert 2.5 * HL < 0.01 * 120
    walking = geometric_features(smpl_pose(10, step=0.01))
    assert walking[fast].tolist() == [1, 1, 1, 1, 1]
    moves = [i for i, (test, _) in enumerate(names) if test in ("move", "nmove")]
    assert walking[moves] == pytest.approx(standing[moves])  # the body moves as one: no relative motion
    bent = geometric_features(smpl_pose(10, knee_bend=math.radians(90)))
    assert bent[knees].tolist() == [1, 1]  # 90 degrees
    assert len(bent) == 32


def test_frechet_distance_of_two_known_gaussians():
    # |(3, 0)|^2 + tr(diag(1, 4) + diag(4, 1) - 2 diag(2, 2)) = 9 + 10 - 8
    assert frechet_distance(
        np.zeros(2), np.diag([1.0, 4.0]), np.array([3.0, 0.0]), np.diag([4.0, 1.0])
    ) == pytest.approx(11.0)
    rotated = np.array([[2.0, 1.0], [1.0, 2.0]])  # does not commute with diag(1, 4)
    assert frechet_distance(np.zeros(2), rotated, np.zeros(2), rotated) == pytest.approx(0.0, abs=1e-9)


def test_fid_normalises_by_the_real_clips_and_needs_two_of_each():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((20000, 3)) * 5 + 7  # normalised: N(0, I)
    generated = (rng.standard_normal((20000, 3)) * 2 + [1, 0, 0]) * 5 + 7  # normalised: N((1, 0, 0), 4 I)
    assert fid(generated, real) == pytest.approx(1 + 3 * (2 - 1) ** 2, abs=0.1)
    assert fid(real[:1], real) is None and fid(real, real[:1]) is None


def test_diversity_is_the_mean_pairwise_distance_in_real_units():
    reference = np.array([[-1.0, -1.0], [1.0, 1.0]])  # mean 0, std 1: features stay as they are
    assert diversity(np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]]), reference) == pytest.approx(
        (3 + 4 + 5) / 3
    )
    assert diversity(np.array([[2.0, 2.0]]), reference) is None


def feet_on_floor(frames: int, speed: float, fps: float, lifted_every_other: bool = False) -> np.ndarray:
    positions = np.zeros((frames, 24, 3))
    positions[:, FEET, 0] = (speed / fps * np.arange(frames))[:, None]
    if lifted_every_other:
        positions[1::2, FEET, 1] = 0.10
    return positions


def test_foot_skating_counts_steps_of_a_grounded_foot_faster_than_half_a_metre_a_second():
    assert foot_skating(feet_on_floor(31, 1.0, 30), FEET, 30) == 1.0
    assert foot_skating(feet_on_floor(31, 0.3, 30), FEET, 30) == 0.0
    assert foot_skating(feet_on_floor(31, 1.0, 30, lifted_every_other=True), FEET, 30) == 0.0
    lifted_half = feet_on_floor(31, 1.0, 30)
    lifted_half[16:, FEET, 1] = 0.10  # steps 0..14 slide on the floor, 15 lifts, the rest are in the air
    assert foot_skating(lifted_half, FEET, 30) == pytest.approx(15 / 30)


def test_physical_foot_contact_by_hand():
    frames, fps = 20, 30
    positions = np.zeros((frames, 24, 3))
    positions[:, 0, 0] = (
        0.5 * 2.0 * (np.arange(frames) / fps) ** 2
    )  # root accelerates at 2 m/s^2: 1 after scaling
    positions[:, [7, 10], 0] = 0.01 * np.arange(frames)[:, None]  # left foot: 1 cm a frame
    positions[:, [8, 11], 2] = 0.02 * np.arange(frames)[:, None]  # right foot: 2 cm a frame
    assert physical_foot_contact(positions, FEET, fps) == pytest.approx(0.01 * 0.02 * 1e4)
    positions[:, 0, 0] = 0
    positions[:, 0, 1] = -0.5 * 9.81 * (np.arange(frames) / fps) ** 2  # a fall needs no push off the floor
    assert physical_foot_contact(positions, FEET, fps) == 0.0
    positions[:, 0, 1] *= -1  # rising at g: as strong as the push before, with the feet as they are
    assert physical_foot_contact(positions, FEET, fps) == pytest.approx(0.01 * 0.02 * 1e4)
    positions[:, 10] = 0  # the left toe stays put: that leg holds the body
    assert physical_foot_contact(positions, FEET, fps) == pytest.approx(0.0)


def test_jerk_of_a_cubic_path():
    t = np.arange(40) / 30
    points = np.stack([t**3, 2 * t**3, np.zeros_like(t)], axis=1)[:, None, :]  # x''' = 6, y''' = 12
    assert jerk(points, 30) == pytest.approx(math.hypot(6, 12), rel=1e-6)
    assert jerk(points[:, 0, :1], 30) == pytest.approx(6, rel=1e-6)  # channels: points of one dimension
    assert math.isnan(jerk(points[:3], 30))
