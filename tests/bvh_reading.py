"""Our BVH files read back by bvhio, a third-party parser: its joints by name, and joint positions by its
own forward kinematics, to hold against ours."""

import bvhio
import numpy as np

CM = 100.0  # BVH lengths are centimetres


def bvh_joints(root) -> dict:
    """The joints under a bvhio root (of readAsBvh or readAsHierarchy), by name."""
    return {joint.Name: joint for joint, _, _ in root.layout()}


def bvh_positions(path, names: list[str], frames) -> np.ndarray:
    """World positions `[len(frames), len(names), 3]` in metres of the joints `names` at `frames`, posed by
    bvhio from the file's offsets and Euler angles."""
    root = bvhio.readAsHierarchy(str(path))
    joints = bvh_joints(root)
    positions = np.empty((len(frames), len(names), 3))
    for row, frame in enumerate(frames):
        root.loadPose(frame)
        for column, name in enumerate(names):
            point = joints[name].PositionWorld
            positions[row, column] = (point.x, point.y, point.z)
    return positions / CM
