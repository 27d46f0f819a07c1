"""Rotation formats round-trip, and forward kinematics puts joints where a hand calculation does."""

import math

import pytest
import torch

from audio2motion.motion.rotations import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    rotation_6d_to_matrix,
)
from audio2motion.motion.skeleton import SMPL, SMPLX, SMPLX_BODY, SMPLX_BODY_HANDS, forward_kinematics


def random_axis_angle(n: int, seed: int = 0) -> torch.Tensor:
    """Axes uniform on the sphere, angles in [0, pi), plus the edge cases 0 and near pi."""
    g = torch.Generator().manual_seed(seed)
    axis = torch.nn.functional.normalize(torch.randn(n, 3, generator=g, dtype=torch.float64), dim=-1)
    angle = torch.rand(n, 1, generator=g, dtype=torch.float64) * math.pi * 0.999
    angle[:3] = torch.tensor([[0.0], [1e-7], [math.pi - 1e-6]], dtype=torch.float64)
    return axis * angle


def test_rotation_formats_round_trip():
    aa = random_axis_angle(500)
    matrix = axis_angle_to_matrix(aa)
    eye = torch.eye(3, dtype=torch.float64)
    assert torch.allclose(matrix @ matrix.transpose(-1, -2), eye.expand_as(matrix), atol=1e-12)
    assert torch.allclose(torch.linalg.det(matrix), torch.ones(500, dtype=torch.float64))
    assert torch.allclose(matrix_to_axis_angle(matrix)[1:], aa[1:], atol=1e-6)  # [0]: angle 0, no axis
    assert torch.allclose(quaternion_to_axis_angle(axis_angle_to_quaternion(aa)), aa, atol=1e-9)
    assert torch.allclose(quaternion_to_matrix(matrix_to_quaternion(matrix)), matrix, atol=1e-12)
    assert torch.allclose(rotation_6d_to_matrix(matrix_to_rotation_6d(matrix)), matrix, atol=1e-12)


def test_known_rotations():
    quarter_z = axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64))
    assert torch.allclose(
        quarter_z @ torch.tensor([1.0, 0, 0], dtype=torch.float64),
        torch.tensor([0.0, 1, 0], dtype=torch.float64),
    )
    half_x = matrix_to_quaternion(torch.diag(torch.tensor([1.0, -1.0, -1.0])))
    assert torch.allclose(half_x.abs(), torch.tensor([0.0, 1.0, 0.0, 0.0]))  # 180 degrees is stable


def test_any_6d_vector_gives_a_rotation():
    raw = torch.randn(100, 6, generator=torch.Generator().manual_seed(1))
    matrix = rotation_6d_to_matrix(raw)
    assert torch.allclose(matrix @ matrix.transpose(-1, -2), torch.eye(3).expand_as(matrix), atol=1e-5)
    assert torch.allclose(torch.linalg.det(matrix), torch.ones(100), atol=1e-5)


def test_rest_pose_places_joints_at_the_summed_offsets():
    rest = torch.eye(3).expand(24, 3, 3)
    positions = forward_kinematics(rest, torch.tensor([1.0, 2.0, 3.0]), SMPL)
    # left ankle = root + left hip + left knee + left ankle offsets
    expected = torch.tensor([1.0, 2.0, 3.0]) + torch.tensor(
        [
            0.05858135 + 0.04345142 - 0.01479032,
            -0.08228004 - 0.38646945 - 0.42687458,
            -0.01766408 + 0.008037 - 0.037428,
        ]
    )
    assert torch.allclose(positions[SMPL.joints.index("left_ankle")], expected, atol=1e-6)


def test_hip_turned_a_quarter_about_z_swings_the_leg_by_hand():
    rotations = torch.eye(3, dtype=torch.float64).repeat(24, 1, 1)
    rotations[1] = axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64))
    positions = forward_kinematics(rotations, torch.zeros(3, dtype=torch.float64), SMPL)
    # Rz(90) (x, y, z) = (-y, x, z): knee = hip + Rz(knee offset), ankle = knee + Rz(ankle offset)
    knee = (0.05858135 + 0.38646945, -0.08228004 + 0.04345142, -0.01766408 + 0.008037)
    ankle = (knee[0] + 0.42687458, knee[1] - 0.01479032, knee[2] - 0.037428)
    assert torch.allclose(positions[4], torch.tensor(knee, dtype=torch.float64), atol=1e-8)
    assert torch.allclose(positions[7], torch.tensor(ankle, dtype=torch.float64), atol=1e-8)
    assert torch.allclose(positions[2], torch.tensor(SMPL.offsets[2], dtype=torch.float64))  # other leg still


@pytest.mark.parametrize(
    ("skeleton", "joints"), [(SMPL, 24), (SMPLX, 55), (SMPLX_BODY, 22), (SMPLX_BODY_HANDS, 52)]
)
def test_skeleton_tables_are_trees(skeleton, joints):
    assert len(skeleton.joints) == len(skeleton.parents) == len(skeleton.offsets) == joints
    assert skeleton.parents[0] == -1 and all(0 <= p < j for j, p in enumerate(skeleton.parents) if j)
    assert set(skeleton.feet) <= set(skeleton.joints)
    bones = torch.tensor(skeleton.offsets[1:]).norm(dim=-1)
    assert (bones > 0.005).all() and (bones < 0.45).all()  # no zero or giant bone


def test_smplx_body_matches_smpl_and_hands_hang_off_the_wrists():
    rest = torch.eye(3).expand(55, 3, 3)
    positions = forward_kinematics(rest, torch.zeros(3), SMPLX)
    smpl = forward_kinematics(torch.eye(3).expand(24, 3, 3), torch.zeros(3), SMPL)
    assert torch.allclose(positions[:22], smpl[:22])
    left, right = SMPLX.joints.index("left_middle3"), SMPLX.joints.index("right_middle3")
    assert positions[left, 0] > positions[20, 0] + 0.1 and positions[right, 0] < positions[21, 0] - 0.1
