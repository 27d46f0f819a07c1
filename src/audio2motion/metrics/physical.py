"""Physical plausibility of joint positions `[T, J, 3]` in metres, y up: foot skating, EDGE's physical
foot contact score, jerk."""

import numpy as np

UP = 1  # y


def foot_skating(
    positions: np.ndarray, feet: list[int], fps: float, height: float = 0.05, speed: float = 0.5
) -> float:
    """The fraction of frame steps in which a foot joint slides: it stays within `height` metres of the
    floor (the lowest the feet get in the clip) at both ends of the step while moving horizontally faster
    than `speed` m/s. The defaults are the usual 5 cm and 2.5 cm per frame at 20 fps (GMD and later
    work); NaN for a single frame."""
    if len(positions) < 2:
        return float("nan")
    foot = positions[:, feet]  # [T, F, 3]
    low = foot[..., UP] - foot[..., UP].min() < height  # [T, F]
    flat = np.delete(np.diff(foot, axis=0), UP, axis=-1)  # [T-1, F, 2]
    sliding = (np.linalg.norm(flat, axis=-1) * fps > speed) & low[1:] & low[:-1]
    return float(sliding.any(axis=1).mean())


def physical_foot_contact(positions: np.ndarray, feet: list[int], fps: float) -> float:
    """EDGE's PFC (lower is better): the mean over frames of the left foot's and the right foot's
    horizontal speed (each the slower of its ankle and toe, in metres per frame) times the root's
    acceleration (upward part kept only when it points up, as a body only pushes off the floor) divided
    by its largest value in the clip, x 10^4. `feet` are left ankle, left toe, right ankle, right toe
    (SMPL 7, 10, 8, 11). NaN under 3 frames; 0 for a root that never accelerates."""
    if len(positions) < 3:
        return float("nan")
    root_acceleration = np.diff(positions[:, 0], n=2, axis=0) * fps**2  # [T-2, 3]
    root_acceleration[:, UP] = np.maximum(root_acceleration[:, UP], 0)
    magnitude = np.linalg.norm(root_acceleration, axis=-1)
    if magnitude.max() == 0:
        return 0.0
    foot = positions[:, feet]
    step = np.linalg.norm(np.delete(foot[2:] - foot[1:-1], UP, axis=-1), axis=-1)  # [T-2, 4]
    left, right = np.minimum(step[:, 0], step[:, 1]), np.minimum(step[:, 2], step[:, 3])
    return float((left * right * magnitude / magnitude.max()).mean() * 1e4)


def jerk(points: np.ndarray, fps: float) -> float:
    """Mean magnitude of the third time derivative of joint positions `[T, J, 3]` (m/s^3), or of
    channels `[T, D]` (units/s^3, each channel a point of one dimension); NaN under 4 frames."""
    if len(points) < 4:
        return float("nan")
    if points.ndim == 2:
        points = points[:, :, None]
    return float(np.linalg.norm(np.diff(points, n=3, axis=0) * fps**3, axis=-1).mean())


def mean_speed(points: np.ndarray, fps: float) -> float:
    """Mean speed of joint positions `[T, J, 3]` over joints and frame steps, m/s (the root's alone:
    `points[:, :1]`); NaN for a single frame."""
    if len(points) < 2:
        return float("nan")
    return float(np.linalg.norm(np.diff(points, axis=0), axis=-1).mean() * fps)
