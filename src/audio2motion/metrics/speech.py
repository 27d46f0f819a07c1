"""Co-speech measures of BEAT and EMAGE: beat consistency (BC) and L1 diversity (L1div).

Source: PantoMatrix (github.com/PantoMatrix/PantoMatrix), `scripts/EMAGE_2024/utils/metric.py`
(classes `alignment` and `L1div`) and the test loop of `scripts/EMAGE_2024/emage_trainer.py`, which
builds `alignment(0.3, 7, avg_vel, upper_body=[3, 6, 9, 12, ..., 21])` and feeds it the 55 SMPL-X joints
of forward kinematics with the root translation zeroed, at 30 fps. `avg_vel` is each joint's mean speed
over the data set's takes (`calculate_mean_velocity` in `scripts/EMAGE_2024/dataloaders/
beat_sep_lower.py`). That loop drops the first and last 60 frames of each take (`align_mask`) and then
tests the speed threshold 60 frames before each minimum (an index into the trimmed speed looked up in
the untrimmed one); a caller that trims nothing, as evaluation/scores.py, gets the minimum's own frame.

BC: speech onsets are librosa.onset.onset_detect's peaks on the audio's onset envelope (EMAGE: 16 kHz,
hop 512, so 31.25 envelope frames a second). A joint's motion beats are the frames where its speed is
a strict minimum within `order` = 7 frames on each side (scipy's argrelextrema) and still above
`threshold` = 0.3 x the joint's mean speed. For each of 13 upper-body joints, the score is the mean over
onsets of exp(-d^2 / (2 sigma^2)), d the time from the onset to the joint's nearest motion beat and
sigma = 0.3 s (0 for a joint without motion beats); BC is the mean over those joints. Higher means
the upper body pauses nearer the speech's onsets.

BEAT's first version (`scripts/BEAT_2022/utils/metric.py`) scored the right wrist alone, on onsets
backtracked to RMS minima, with frame-difference speed and no threshold; EMAGE's BC, followed here, is
the one BEAT2 and EMAGE report. Its L1div is the same.

L1div: the sum over frames, joints and coordinates of |position - its mean over the sequence's frames|,
divided by the frames. EMAGE accumulates it over test sequences (each about its own mean) and divides the
total by all their frames: the frame-weighted mean of per-sequence values.
"""

import numpy as np
from scipy.signal import argrelextrema

# EMAGE's upper body, [3, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21] in SMPL(-X) joint order.
UPPER_BODY = (
    "spine1", "spine2", "spine3", "neck", "left_collar", "right_collar", "head", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)  # fmt: skip


def speech_onsets(onset_envelope: np.ndarray, fps: float) -> np.ndarray:
    """Onset times in seconds of an onset envelope `[T]` at `fps` frames a second, picked as
    librosa.onset.onset_detect picks them (librosa 0.11, its defaults): the envelope scaled to [0, 1] by
    its minimum and maximum over the clip; frame n is an onset when it is the largest of frames
    n - floor(0.03 fps) .. n, at least delta = 0.07 above the mean of frames n - floor(0.1 fps) ..
    n + floor(0.1 fps), and more than floor(0.03 fps) frames after the previous onset (windows cut at the
    clip's ends). At 30 fps, as at EMAGE's 31.25 envelope frames a second, the windows are 0, 3 and 0
    frames: an onset is any frame 0.07 above its 7-frame mean, and neighbours can both be onsets.

    The envelope here is the featurizer's (`metrics.beats.onset_envelope`), not librosa.onset.
    onset_strength: the mean over 16 mel bands (not 128) of the rise in natural-log (not dB) power since
    the previous frame, with 1024-sample windows (not 2048) at 16 kHz centred on each motion frame.
    librosa also shifts its envelope n_fft / (2 hop) frames later to offset framing, so with EMAGE's
    settings a click at 1.000 s is found at 1.024 and 1.056 s, and here at 1.000 s."""
    envelope = np.asarray(onset_envelope, dtype=np.float64)
    if len(envelope) == 0 or not np.isfinite(envelope).all():
        return np.zeros(0)
    envelope = envelope - envelope.min()
    if not envelope.any():  # a constant envelope has no onsets
        return np.zeros(0)
    envelope /= envelope.max() + np.finfo(np.float64).tiny
    # librosa's window sizes, computed as it computes them: seconds x rate // hop, with hop 1
    pre_max, pre_avg, wait = (int(s * fps // 1) for s in (0.03, 0.10, 0.03))
    post_max, post_avg = 1, int(0.10 * fps // 1) + 1
    frames = np.arange(len(envelope))
    padded = np.concatenate([np.full(pre_max, -np.inf), envelope, np.full(post_max - 1, -np.inf)])
    local_max = np.lib.stride_tricks.sliding_window_view(padded, pre_max + post_max).max(axis=1)
    total = np.concatenate([[0.0], np.cumsum(envelope)])
    low, high = np.maximum(frames - pre_avg, 0), np.minimum(frames + post_avg, len(envelope))
    local_mean = (total[high] - total[low]) / (high - low)
    candidates = np.flatnonzero((envelope == local_max) & (envelope >= local_mean + 0.07))
    onsets, last = [], -np.inf
    for frame in candidates:  # greedy, as librosa skips `wait` frames after each onset
        if frame > last + wait:
            onsets.append(frame)
            last = frame
    return np.array(onsets, dtype=np.float64) / fps


def joint_speed(positions: np.ndarray, fps: float) -> np.ndarray:
    """Speed `[T, J]` of joint positions `[T, J, 3]` (at least 2 frames), as EMAGE computes it: central
    differences over two frames, forward and backward ones at the first and last frame."""
    return np.linalg.norm(np.gradient(positions, 1 / fps, axis=0), axis=-1)


def beat_consistency(
    onsets: np.ndarray,
    positions: np.ndarray,
    fps: float,
    joints: list[int],
    mean_speed: np.ndarray,
    sigma: float = 0.3,
    order: int = 7,
    threshold: float = 0.3,
) -> float:
    """EMAGE's BC (`alignment.load_pose` and `calculate_align`) of onset times in seconds against joint
    positions `[T, J, 3]` at `fps`: the mean over `joints` (indices into J) of each one's mean over onsets
    of exp(-d^2 / (2 sigma^2)), d the seconds from the onset to the joint's nearest motion beat. Motion
    beats are the frames where a joint's speed is a strict minimum within `order` frames on either side
    and exceeds `threshold` x its `mean_speed` (`[J]`, EMAGE's `avg_vel`). A joint without motion beats
    scores 0; NaN without onsets (EMAGE divides by zero) or under 2 frames."""
    onsets = np.asarray(onsets, dtype=np.float64)
    if len(onsets) == 0 or len(positions) < 2:
        return float("nan")
    speed = joint_speed(positions[:, joints], fps)  # [T, K]
    scores = []
    for k, joint in enumerate(joints):
        minima = argrelextrema(speed[:, k], np.less, order=order)[0]
        beats = minima[speed[minima, k] > threshold * mean_speed[joint]] / fps
        if len(beats) == 0:
            scores.append(0.0)
            continue
        distance = np.abs(onsets[:, None] - beats[None, :]).min(axis=1)
        scores.append(float(np.exp(-(distance**2) / (2 * sigma**2)).mean()))
    return float(np.mean(scores))


def l1_diversity(positions: np.ndarray) -> float:
    """EMAGE's L1div of one sequence of joint positions `[T, J, 3]`: the sum over frames, joints and
    coordinates of the distance from the sequence's mean position, divided by T. It grows with the
    number of joints (EMAGE's are the 55 SMPL-X joints)."""
    return float(np.abs(positions - positions.mean(axis=0)).sum() / len(positions))
