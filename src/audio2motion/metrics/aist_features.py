"""The AIST++ API's motion features, which FACT's FID_k and FID_g and Bailando's diversity are computed on
(`aist_plusplus/features/kinetic.py` and `manual.py`, after fairmotion): from SMPL joint positions
`[T, 24, 3]` in metres, y up, at 60 fps (FEATURE_FPS), vectorised here with the same definitions.
"""

import numpy as np

FEATURE_FPS = 60.0  # the AIST++ motion rate the definitions assume
KINETIC_WINDOW = 2  # frames either side averaged for velocities and accelerations
MANUAL_FRAME_TIME = 1 / 120  # manual.py's velocity unit (its utils default), kept so numbers compare

# SMPL joint indices under manual.py's names
JOINTS = {
    "root": 0, "lhip": 1, "rhip": 2, "belly": 3, "lknee": 4, "rknee": 5, "spine": 6, "lankle": 7,
    "rankle": 8, "chest": 9, "ltoes": 10, "rtoes": 11, "neck": 12, "linshoulder": 13, "rinshoulder": 14,
    "head": 15, "lshoulder": 16, "rshoulder": 17, "lelbow": 18, "relbow": 19, "lwrist": 20, "rwrist": 21,
    "lhand": 22, "rhand": 23,
}  # fmt: skip
# Body proportions manual.py measures thresholds in: humerus length, shoulder width, hip width, taken
# from its fixed SMPL template positions.
_TEMPLATE = {
    "lshoulder": (1.99113488e-01, 2.36807942e-01, -1.80702247e-02),
    "lelbow": (4.54445392e-01, 2.21158922e-01, -4.10167128e-02),
    "rshoulder": (-1.91692337e-01, 2.36928746e-01, -1.23055102e-02),
    "lhip": (5.64076714e-02, -3.23069185e-01, 1.09197125e-02),
    "rhip": (-6.24834076e-02, -3.31302464e-01, 1.50412619e-02),
}
HL = float(np.linalg.norm(np.subtract(_TEMPLATE["lshoulder"], _TEMPLATE["lelbow"])))
SW = float(np.linalg.norm(np.subtract(_TEMPLATE["lshoulder"], _TEMPLATE["rshoulder"])))
HW = float(np.linalg.norm(np.subtract(_TEMPLATE["lhip"], _TEMPLATE["rhip"])))

# manual.py's 32 boolean features, in its order: (test, joints, threshold or angle range).
MANUAL_FEATURES = (
    ("nmove", ("neck", "rhip", "lhip", "rwrist"), 1.8 * HL),
    ("nmove", ("neck", "lhip", "rhip", "lwrist"), 1.8 * HL),
    ("nplane", ("chest", "neck", "neck", "rwrist"), 0.2 * HL),
    ("nplane", ("chest", "neck", "neck", "lwrist"), 0.2 * HL),
    ("move", ("belly", "chest", "chest", "rwrist"), 1.8 * HL),
    ("move", ("belly", "chest", "chest", "lwrist"), 1.8 * HL),
    ("angle", ("relbow", "rshoulder", "relbow", "rwrist"), (0, 110)),
    ("angle", ("lelbow", "lshoulder", "lelbow", "lwrist"), (0, 110)),
    ("nplane", ("lshoulder", "rshoulder", "lwrist", "rwrist"), 2.5 * SW),
    ("move", ("lwrist", "rwrist", "rwrist", "lwrist"), 1.4 * HL),
    ("move", ("rwrist", "root", "lwrist", "root"), 1.4 * HL),
    ("move", ("lwrist", "root", "rwrist", "root"), 1.4 * HL),
    ("fast", ("rwrist",), 2.5 * HL),
    ("fast", ("lwrist",), 2.5 * HL),
    ("plane", ("root", "lhip", "ltoes", "rankle"), 0.38 * HL),
    ("plane", ("root", "rhip", "rtoes", "lankle"), 0.38 * HL),
    ("nplane", ("zero", "y_unit", "y_min", "rankle"), 1.2 * HL),
    ("nplane", ("zero", "y_unit", "y_min", "lankle"), 1.2 * HL),
    ("nplane", ("lhip", "rhip", "lankle", "rankle"), 2.1 * HW),
    ("angle", ("rknee", "rhip", "rknee", "rankle"), (0, 110)),
    ("angle", ("lknee", "lhip", "lknee", "lankle"), (0, 110)),
    ("fast", ("rankle",), 2.5 * HL),
    ("fast", ("lankle",), 2.5 * HL),
    ("angle", ("neck", "root", "rshoulder", "relbow"), (25, 180)),
    ("angle", ("neck", "root", "lshoulder", "lelbow"), (25, 180)),
    ("angle", ("neck", "root", "rhip", "rknee"), (50, 180)),
    ("angle", ("neck", "root", "lhip", "lknee"), (50, 180)),
    ("plane", ("rankle", "neck", "lankle", "root"), 0.5 * HL),
    ("angle", ("neck", "root", "zero", "y_unit"), (70, 110)),
    ("nplane", ("zero", "minus_y_unit", "y_min", "rwrist"), -1.2 * HL),
    ("nplane", ("zero", "minus_y_unit", "y_min", "lwrist"), -1.2 * HL),
    ("fast", ("root",), 2.3 * HL),
)


def kinetic_features(positions: np.ndarray, expenditure_quirk: bool = False) -> np.ndarray:
    """72 features of `[T, 24, 3]` positions (T >= 3) at FEATURE_FPS: per joint, the mean squared
    horizontal and vertical speed and the mean acceleration magnitude, each frame's velocity and
    acceleration averaged over KINETIC_WINDOW frames either side (kinetic.py's KineticFeatures).

    `expenditure_quirk` reproduces the published `calc_average_acceleration` (utils.py, which every
    published FID_k and Div_k used): its `v1 = p[k] - p[k-1] / frame_time` divides only p[k-1], so the
    "acceleration" is `(v2 - p[k] + p[k-1] / frame_time) / frame_time`, mostly where the joint is."""
    frames, frame_time = len(positions), 1 / FEATURE_FPS
    points = positions.astype(np.float64)
    step = np.diff(points, axis=0)  # step[k - 1] = p[k] - p[k - 1]
    at = np.arange(1, frames)  # frames 1..T-1, as kinetic.py averages
    velocity, acceleration = np.zeros((frames - 1, *positions.shape[1:])), np.zeros_like(step)
    v_count, a_count = np.zeros(frames - 1), np.zeros(frames - 1)
    for offset in range(-KINETIC_WINDOW, KINETIC_WINDOW + 1):
        k = at + offset
        usable = (k >= 1) & (k <= frames - 1)  # p[k] - p[k - 1] exists
        velocity[usable] += step[k[usable] - 1]
        v_count += usable
        usable = (k >= 1) & (k <= frames - 2)  # p[k + 1] - 2 p[k] + p[k - 1] exists
        k = k[usable]
        if expenditure_quirk:
            v1 = points[k] - points[k - 1] / frame_time
            acceleration[usable] += (step[k] / frame_time - v1) / frame_time
        else:
            acceleration[usable] += (step[k] - step[k - 1]) / frame_time**2
        a_count += usable
    velocity /= v_count[:, None, None] * frame_time
    acceleration /= a_count[:, None, None]
    horizontal = (velocity[..., 0] ** 2 + velocity[..., 2] ** 2).mean(axis=0)  # [J]
    vertical = (velocity[..., 1] ** 2).mean(axis=0)
    expenditure = np.linalg.norm(acceleration, axis=-1).mean(axis=0)
    return np.stack([horizontal, vertical, expenditure], axis=1).reshape(-1).astype(np.float32)


def _unit_dot(vector: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The component of `vector` `[N, 3]` along `direction` `[N, 3]`."""
    return (vector * direction).sum(-1) / np.linalg.norm(direction, axis=-1)


def geometric_features(positions: np.ndarray) -> np.ndarray:
    """32 features of `[T, 24, 3]` positions (T >= 2) at FEATURE_FPS: the fraction of frames 1..T-1 in
    which each of manual.py's tests holds (a hand above the head, a knee bent, a fast wrist, ...)."""
    now, before = positions[1:].astype(np.float64), positions[:-1].astype(np.float64)
    count = len(now)
    fixed = {
        "zero": np.zeros((count, 3)),
        "y_unit": np.tile([0.0, 1.0, 0.0], (count, 1)),
        "minus_y_unit": np.tile([0.0, -1.0, 0.0], (count, 1)),
        "y_min": np.stack([np.zeros(count), now[:, :, 1].min(axis=1), np.zeros(count)], axis=1),
    }

    def at(name: str, frames: np.ndarray = now) -> np.ndarray:
        return fixed[name] if name in fixed else frames[:, JOINTS[name]]

    features = []
    for test, joints, limit in MANUAL_FEATURES:  # a zero-length direction fails its test (NaN), as there
        j1, j2, j3, j4 = (at(j) for j in joints) if len(joints) == 4 else (at(joints[0]),) * 4
        if test in ("move", "nmove"):
            # move: the velocity of j3 relative to j1 along j1 -> j2 (manual.py passes j3, not j4);
            # nmove: of j4 relative to j1 along the normal of the plane j1, j2, j3
            moving = joints[2] if test == "move" else joints[3]
            velocity = (at(moving) - j1) - (at(moving, before) - at(joints[0], before))
            direction = j2 - j1 if test == "move" else np.cross(j3 - j1, j2 - j1)
            holds = _unit_dot(velocity, direction) / MANUAL_FRAME_TIME > limit
        elif test == "plane":  # j4's distance from the plane through j1, j2, j3
            holds = _unit_dot(j4 - j1, np.cross(j3 - j1, j2 - j1)) > limit
        elif test == "nplane":  # j4's distance from j3 along j1 -> j2
            holds = _unit_dot(j4 - j3, j2 - j1) > limit
        elif test == "angle":  # the angle between j1 -> j2 and j3 -> j4, in degrees
            a, b = j2 - j1, j4 - j3
            cosine = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
            angle = np.degrees(np.arccos(np.clip(cosine, -1, 1)))  # rounding past 1 fails both ways
            holds = (angle > limit[0]) & (angle < limit[1])
        else:  # fast: the joint's speed
            holds = np.linalg.norm(j1 - at(joints[0], before), axis=-1) / MANUAL_FRAME_TIME > limit
        features.append(holds.mean())
    return np.array(features, dtype=np.float32)
