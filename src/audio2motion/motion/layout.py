"""Motion layouts: what each channel of a `[T, D]` motion array holds, as plain data that travels in
checkpoints and output files.

A layout is `{"fps", "dim", "channels": [D names], "groups": [{"name", "size", ...}], "skeleton"}`. Groups
lie one after another in channel order: `root_translation` (3, metres) or `root_velocity` (3: the root's
horizontal steps since the previous frame and its height, metres), `rotation_6d` (6 per joint, local
rotations in the 6D form, with the group's `joints`), `foot_contact` (one 0/1 channel per foot joint),
`expressions` or `channels` (anything else). `skeleton` is a Skeleton.to_dict() or None.
"""

import numpy as np
import torch

from audio2motion.motion.rotations import axis_angle_to_matrix, matrix_to_rotation_6d, rotation_6d_to_matrix
from audio2motion.motion.skeleton import Skeleton, forward_kinematics


def plain_layout(fps: float, channels: list[str]) -> dict:
    """A layout without a skeleton: one group of named channels."""
    return {
        "fps": float(fps),
        "dim": len(channels),
        "channels": list(channels),
        "groups": [{"name": "channels", "size": len(channels)}],
        "skeleton": None,
    }


ROOTS = ("position", "velocity")  # a reader's `root`: the root_translation or root_velocity group


def skeleton_layout(
    fps: float, skeleton: Skeleton, contacts: bool, expressions: int = 0, root: str = "position"
) -> dict:
    """The root (its translation, or with `root="velocity"` its horizontal steps and height), 6D rotations
    of every joint, optional foot contacts and expression channels."""
    if root not in ROOTS:
        raise ValueError(f"root must be one of {', '.join(ROOTS)}, got {root!r}")
    channels = [f"root.{axis}" for axis in ("xyz" if root == "position" else ("dx", "y", "dz"))]
    channels += [f"{joint}.r6d{i}" for joint in skeleton.joints for i in range(6)]
    groups = [
        {"name": "root_translation" if root == "position" else "root_velocity", "size": 3},
        {"name": "rotation_6d", "size": 6 * len(skeleton.joints), "joints": list(skeleton.joints)},
    ]
    if contacts:
        channels += [f"{foot}.contact" for foot in skeleton.feet]
        groups.append({"name": "foot_contact", "size": len(skeleton.feet), "joints": list(skeleton.feet)})
    if expressions:
        channels += [f"expression{i}" for i in range(expressions)]
        groups.append({"name": "expressions", "size": expressions})
    return {
        "fps": float(fps),
        "dim": len(channels),
        "channels": channels,
        "groups": groups,
        "skeleton": skeleton.to_dict(),
    }


def group_slices(layout: dict) -> dict[str, slice]:
    """Channel range of each group, by name."""
    slices, start = {}, 0
    for group in layout["groups"]:
        slices[group["name"]] = slice(start, start + group["size"])
        start += group["size"]
    return slices


def skeleton_of(layout: dict) -> Skeleton | None:
    data = layout.get("skeleton")
    if not data:
        return None
    return Skeleton(
        data["name"],
        tuple(data["joints"]),
        tuple(data["parents"]),
        tuple(tuple(o) for o in data["offsets"]),
        tuple(data["feet"]),
    )


def joint_positions(motion: torch.Tensor, layout: dict) -> torch.Tensor:
    """Motion `[..., D]` of a skeleton layout -> joint positions `[..., J, 3]` in metres."""
    skeleton, slices = skeleton_of(layout), group_slices(layout)
    if skeleton is None:
        raise ValueError("this motion layout has no skeleton, so it has no joint positions")
    sixd = motion[..., slices["rotation_6d"]].unflatten(-1, (len(skeleton.joints), 6))  # [..., J, 6]
    return forward_kinematics(rotation_6d_to_matrix(sixd), root_translation(motion, layout), skeleton)


def channel_mismatch(channels: list[str], expected: list[str], owner: str) -> str | None:
    """How a file's channel names differ from those of `owner` (`expected`: "the model", "the data set"), None
    when they are the same. Same width, other meaning matters: root.x read as the step root.dx would send
    the body far away."""
    if channels == expected:
        return None
    differ = next((i for i, (a, b) in enumerate(zip(channels, expected, strict=False)) if a != b), None)
    if differ is None:
        return f"its layout names {len(channels)} channels, {owner} has {len(expected)}"
    return (
        f"its channel {differ} is {channels[differ]}, {owner}'s is {expected[differ]} (motion of another "
        "layout or reader setting)"
    )


def root_translation(motion: torch.Tensor, layout: dict) -> torch.Tensor:
    """The root's translation `[..., T, 3]` in metres of motion `[..., T, D]`: its root_translation
    channels, or its root_velocity channels with the horizontal steps summed over the frames after the
    first, which stands at x = z = 0."""
    slices = group_slices(layout)
    if "root_translation" in slices:
        return motion[..., slices["root_translation"]]
    step_x, height, step_z = motion[..., slices["root_velocity"]].unbind(-1)  # [..., T] each
    # the first frame's step leads from before the motion (0 for a whole take): it moves nothing shown
    x, z = step_x.cumsum(-1) - step_x[..., :1], step_z.cumsum(-1) - step_z[..., :1]
    return torch.stack([x, height, z], dim=-1)


def root_steps(translation: np.ndarray) -> np.ndarray:
    """Root translation `[T, 3]` -> root_velocity channels `[T, 3]`: the horizontal steps since the
    previous frame (0 at the first) and the height."""
    steps = np.diff(translation, axis=0, prepend=translation[:1])
    return np.stack([steps[:, 0], translation[:, 1], steps[:, 2]], axis=1)


def axis_angle_channels(axis_angle: np.ndarray) -> np.ndarray:
    """Axis-angle rotations `[T, J x 3]` -> 6D channels `[T, J x 6]` (float32)."""
    rotations = torch.from_numpy(np.ascontiguousarray(axis_angle, dtype=np.float64)).unflatten(-1, (-1, 3))
    return matrix_to_rotation_6d(axis_angle_to_matrix(rotations)).flatten(-2).float().numpy()


def foot_contacts(positions: np.ndarray, fps: float, feet: list[int], speed: float) -> np.ndarray:
    """1 where a foot joint moves slower than `speed` m/s (as EDGE labels contact), else 0:
    positions `[T, J, 3]` -> `[T, len(feet)]`; the first frame copies the second's label."""
    velocity = np.linalg.norm(np.diff(positions[:, feet], axis=0), axis=-1) * fps  # [T-1, F]
    contact = (velocity < speed).astype(np.float32)
    return np.concatenate([contact[:1], contact]) if len(contact) else np.ones((1, len(feet)), np.float32)
