"""Rotation formats, batched over any leading dimensions: axis-angle `[..., 3]` (angle = norm, in
radians), rotation matrix `[..., 3, 3]`, unit quaternion `[..., 4]` (w, x, y, z) and the continuous 6D
form `[..., 6]` (the matrix's first two columns, Zhou et al. 2019), which networks predict best.
"""

import torch

EPS = 1e-8


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula; exact at angle 0."""
    return quaternion_to_matrix(axis_angle_to_quaternion(axis_angle))


def axis_angle_to_quaternion(axis_angle: torch.Tensor) -> torch.Tensor:
    angle = axis_angle.norm(dim=-1, keepdim=True)  # [..., 1]
    half = angle / 2
    # sin(half) / angle, by its Taylor series near 0 where the division is unstable
    scale = torch.where(angle > 1e-4, torch.sin(half) / angle.clamp(min=EPS), 0.5 - angle**2 / 48)
    return torch.cat([torch.cos(half), axis_angle * scale], dim=-1)


def quaternion_to_matrix(quaternion: torch.Tensor) -> torch.Tensor:
    """Any non-zero quaternion (normalised first) -> matrix."""
    w, x, y, z = (quaternion / quaternion.norm(dim=-1, keepdim=True)).unbind(-1)
    rows = [
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ]  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(*quaternion.shape[:-1], 3, 3)


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """Matrix -> unit quaternion with w >= 0, from the largest of the four candidate components (stable
    for every rotation, 180 degrees included)."""
    m = matrix
    diagonal = torch.stack(
        [
            1 + m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2],
            1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
            1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
            1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2],
        ],
        dim=-1,
    )  # 4 w^2, 4 x^2, 4 y^2, 4 z^2
    # Each row: the quaternion x 4 times the component that row divides by.
    candidates = torch.stack(
        [
            torch.stack(
                [
                    diagonal[..., 0],
                    m[..., 2, 1] - m[..., 1, 2],
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 1, 0] - m[..., 0, 1],
                ],
                -1,
            ),
            torch.stack(
                [
                    m[..., 2, 1] - m[..., 1, 2],
                    diagonal[..., 1],
                    m[..., 1, 0] + m[..., 0, 1],
                    m[..., 0, 2] + m[..., 2, 0],
                ],
                -1,
            ),
            torch.stack(
                [
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 1, 0] + m[..., 0, 1],
                    diagonal[..., 2],
                    m[..., 2, 1] + m[..., 1, 2],
                ],
                -1,
            ),
            torch.stack(
                [
                    m[..., 1, 0] - m[..., 0, 1],
                    m[..., 2, 0] + m[..., 0, 2],
                    m[..., 2, 1] + m[..., 1, 2],
                    diagonal[..., 3],
                ],
                -1,
            ),
        ],
        dim=-2,
    )  # [..., 4, 4]
    best = diagonal.argmax(dim=-1, keepdim=True)  # [..., 1]
    chosen = torch.gather(candidates, -2, best[..., None].expand(*best.shape, 4)).squeeze(-2)  # [..., 4]
    quaternion = chosen / chosen.norm(dim=-1, keepdim=True)
    return torch.where(quaternion[..., :1] < 0, -quaternion, quaternion)


def quaternion_to_axis_angle(quaternion: torch.Tensor) -> torch.Tensor:
    """Unit quaternion -> axis-angle with angle in [0, pi]."""
    quaternion = torch.where(quaternion[..., :1] < 0, -quaternion, quaternion)
    vector = quaternion[..., 1:]
    sine = vector.norm(dim=-1, keepdim=True)  # sin(angle / 2)
    angle = 2 * torch.atan2(sine, quaternion[..., :1])
    scale = torch.where(sine > 1e-4, angle / sine.clamp(min=EPS), 2 + angle**2 / 12)
    return vector * scale


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


def matrix_to_rotation_6d(matrix: torch.Tensor) -> torch.Tensor:
    """The first two columns, as (m00, m10, m20, m01, m11, m21)."""
    return matrix[..., :, :2].transpose(-1, -2).reshape(*matrix.shape[:-2], 6)


def rotation_6d_to_matrix(rotation_6d: torch.Tensor) -> torch.Tensor:
    """Gram-Schmidt on the two columns, so any 6D vector (a network's output) gives a rotation."""
    first, second = rotation_6d[..., :3], rotation_6d[..., 3:]
    x = first / first.norm(dim=-1, keepdim=True).clamp(min=EPS)
    second = second - (x * second).sum(-1, keepdim=True) * x
    y = second / second.norm(dim=-1, keepdim=True).clamp(min=EPS)
    return torch.stack([x, y, torch.linalg.cross(x, y)], dim=-1)  # columns
