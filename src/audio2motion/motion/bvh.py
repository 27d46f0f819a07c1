"""BVH export of skeleton motion: the skeleton's hierarchy and rest offsets, and per frame the root
position and every joint's local rotation as Z, X, Y Euler angles (the order Blender and most tools
read), at the motion's fps. Lengths are written in centimetres, as BVH tools expect."""

import io

import numpy as np
import torch

from audio2motion.motion.layout import group_slices, root_translation, skeleton_of
from audio2motion.motion.rotations import rotation_6d_to_matrix

CM = 100.0  # per metre


def euler_zxy(matrix: torch.Tensor) -> torch.Tensor:
    """Rotation matrices `[..., 3, 3]` -> degrees `[..., 3]` (z, x, y) with R = Rz(z) Rx(x) Ry(y)."""
    x = torch.asin(matrix[..., 2, 1].clamp(-1, 1))
    y = torch.atan2(-matrix[..., 2, 0], matrix[..., 2, 2])
    z = torch.atan2(-matrix[..., 0, 1], matrix[..., 1, 1])
    return torch.rad2deg(torch.stack([z, x, y], dim=-1))


def bvh_text(motion: np.ndarray, layout: dict) -> str:
    """Motion `[T, D]` of a skeleton layout -> the text of a BVH file. Raises ValueError for a layout
    without a skeleton."""
    skeleton = skeleton_of(layout)
    if skeleton is None:
        raise ValueError("BVH needs motion with a skeleton (a model trained on data=aistpp or data=beat2)")
    slices = group_slices(layout)
    children = {j: [c for c, p in enumerate(skeleton.parents) if p == j] for j in range(len(skeleton.joints))}
    order, lines = [], ["HIERARCHY"]

    def declare(joint: int, depth: int) -> None:
        pad = "  " * depth
        x, y, z = (CM * v for v in skeleton.offsets[joint])
        kind = "ROOT" if skeleton.parents[joint] < 0 else "JOINT"
        channels = "6 Xposition Yposition Zposition" if kind == "ROOT" else "3"
        lines.extend(
            [
                f"{pad}{kind} {skeleton.joints[joint]}",
                f"{pad}{{",
                f"{pad}  OFFSET {x:.6f} {y:.6f} {z:.6f}",
                f"{pad}  CHANNELS {channels} Zrotation Xrotation Yrotation",
            ]
        )
        order.append(joint)
        for child in children[joint]:
            declare(child, depth + 1)
        if not children[joint]:  # an end site half a bone further on
            lines.extend(
                [
                    f"{pad}  End Site",
                    f"{pad}  {{",
                    f"{pad}    OFFSET {x / 2:.6f} {y / 2:.6f} {z / 2:.6f}",
                    f"{pad}  }}",
                ]
            )
        lines.append(f"{pad}}}")

    declare(skeleton.parents.index(-1), 0)
    values = torch.from_numpy(np.ascontiguousarray(motion, dtype=np.float32))
    sixd = values[:, slices["rotation_6d"]].unflatten(-1, (len(skeleton.joints), 6))  # [T, J, 6]
    angles = euler_zxy(rotation_6d_to_matrix(sixd.double()))[:, order]  # [T, J, 3], in hierarchy order
    frames = torch.cat([CM * root_translation(values.double(), layout), angles.flatten(1)], dim=1)
    lines += ["MOTION", f"Frames: {motion.shape[0]}", f"Frame Time: {1 / layout['fps']:.8f}"]
    table = io.StringIO()
    np.savetxt(table, frames.numpy(), fmt="%.5f")
    return "\n".join(lines) + "\n" + table.getvalue()
