"""Skeletons (joint names, parents, rest-pose bone offsets) and forward kinematics.

The offset tables are built in, so no licensed body-model file is needed: SMPL's are the rest-pose joint
offsets of the neutral SMPL body that the field uses for AIST++ (as EDGE does); SMPL-X reuses them for
its 22 body joints and adds jaw, eyes and fingers of typical adult proportions. They place joints for
losses, metrics, BVH and rendering; they do not reproduce any one person's body.
"""

from dataclasses import dataclass

import torch

SMPL_JOINTS = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hand", "right_hand",
)  # fmt: skip
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
SMPL_OFFSETS = (
    (0.0, 0.0, 0.0),
    (0.05858135, -0.08228004, -0.01766408),
    (-0.06030973, -0.09051332, -0.01354254),
    (0.00443945, 0.12440352, -0.03838522),
    (0.04345142, -0.38646945, 0.008037),
    (-0.04325663, -0.38368791, -0.00484304),
    (0.00448844, 0.1379564, 0.02682033),
    (-0.01479032, -0.42687458, -0.037428),
    (0.01905555, -0.4200455, -0.03456167),
    (-0.00226458, 0.05603239, 0.00285505),
    (0.04105436, -0.06028581, 0.12204243),
    (-0.03483987, -0.06210566, 0.13032329),
    (-0.0133902, 0.21163553, -0.03346758),
    (0.07170245, 0.11399969, -0.01889817),
    (-0.08295366, 0.11247234, -0.02370739),
    (0.01011321, 0.08893734, 0.05040987),
    (0.12292141, 0.04520509, -0.019046),
    (-0.11322832, 0.04685326, -0.00847207),
    (0.2553319, -0.01564902, -0.02294649),
    (-0.26012748, -0.01436928, -0.03126873),
    (0.26570925, 0.01269811, -0.00737473),
    (-0.26910836, 0.00679372, -0.00602676),
    (0.08669055, -0.01063603, -0.01559429),
    (-0.0887537, -0.00865157, -0.01010708),
)

# Fingers of the left hand in SMPL-X order, three joints each, from the wrist; the right hand mirrors x.
FINGERS = {
    "index": ((0.090, 0.005, 0.025), (0.035, 0.0, 0.0), (0.025, 0.0, 0.0)),
    "middle": ((0.095, 0.005, 0.003), (0.035, 0.0, 0.0), (0.027, 0.0, 0.0)),
    "pinky": ((0.080, -0.005, -0.040), (0.022, 0.0, 0.0), (0.018, 0.0, 0.0)),
    "ring": ((0.088, 0.0, -0.020), (0.032, 0.0, 0.0), (0.024, 0.0, 0.0)),
    "thumb": ((0.025, -0.010, 0.030), (0.030, -0.005, 0.020), (0.025, -0.003, 0.012)),
}


@dataclass(frozen=True)
class Skeleton:
    """A kinematic tree: each joint's parent (-1 for the root, parents before children) and its rest
    offset from the parent in metres (y up, the character facing +z)."""

    name: str
    joints: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: tuple[tuple[float, float, float], ...]
    feet: tuple[str, ...]  # joints whose contact with the ground is tracked

    def subset(self, name: str, joints: tuple[str, ...]) -> "Skeleton":
        """The tree of `joints` (each one's parent among them, the root first)."""
        index = {joint: i for i, joint in enumerate(self.joints)}
        parents = tuple(
            -1 if self.parents[index[j]] < 0 else joints.index(self.joints[self.parents[index[j]]])
            for j in joints
        )
        offsets = tuple(self.offsets[index[j]] for j in joints)
        return Skeleton(name, joints, parents, offsets, tuple(f for f in self.feet if f in joints))

    def to_dict(self) -> dict:
        """Plain data, for checkpoints and output files."""
        return {
            "name": self.name,
            "joints": list(self.joints),
            "parents": list(self.parents),
            "offsets": [list(o) for o in self.offsets],
            "feet": list(self.feet),
        }


def _smplx() -> Skeleton:
    joints, parents, offsets = list(SMPL_JOINTS[:22]), list(SMPL_PARENTS[:22]), list(SMPL_OFFSETS[:22])
    head = joints.index("head")
    for joint, offset in (
        ("jaw", (0.0, -0.020, 0.050)),
        ("left_eye_smplhf", (0.030, 0.070, 0.080)),
        ("right_eye_smplhf", (-0.030, 0.070, 0.080)),
    ):
        joints.append(joint), parents.append(head), offsets.append(offset)
    for side, mirror in (("left", 1.0), ("right", -1.0)):
        wrist = joints.index(f"{side}_wrist")
        for finger, bones in FINGERS.items():
            for i, (x, y, z) in enumerate(bones):
                joints.append(f"{side}_{finger}{i + 1}")
                parents.append(wrist if i == 0 else len(joints) - 2)
                offsets.append((mirror * x, y, z))
    return Skeleton("smplx", tuple(joints), tuple(parents), tuple(offsets), FEET)


FEET = ("left_ankle", "right_ankle", "left_foot", "right_foot")
SMPL = Skeleton("smpl", SMPL_JOINTS, SMPL_PARENTS, SMPL_OFFSETS, FEET)
SMPLX = _smplx()  # 55 joints: body 22, jaw, 2 eyes, 15 per hand
SMPLX_BODY = SMPLX.subset("smplx_body", SMPLX.joints[:22])
SMPLX_BODY_HANDS = SMPLX.subset("smplx_body_hands", SMPLX.joints[:22] + SMPLX.joints[25:])


def forward_kinematics(
    rotations: torch.Tensor, translation: torch.Tensor, skeleton: Skeleton
) -> torch.Tensor:
    """Local joint rotations `[..., J, 3, 3]` (each relative to its parent) and root translation `[..., 3]`
    -> joint positions `[..., J, 3]`, the root at `translation`."""
    offsets = torch.tensor(skeleton.offsets, dtype=rotations.dtype, device=rotations.device)  # [J, 3]
    world_rot, world_pos = [], []
    for j, parent in enumerate(skeleton.parents):
        if parent < 0:
            world_rot.append(rotations[..., j, :, :])
            world_pos.append(translation + offsets[j])
        else:
            world_rot.append(world_rot[parent] @ rotations[..., j, :, :])
            world_pos.append(world_pos[parent] + (world_rot[parent] @ offsets[j].unsqueeze(-1)).squeeze(-1))
    return torch.stack(world_pos, dim=-2)
