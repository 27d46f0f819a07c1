"""Measures of generated motion against ground truth and against the music.

Motion arrays are `[T, D]` at `fps` frames per second; beats are frame indices.
"""

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d
from scipy.signal import argrelextrema, find_peaks

from audio2motion.features import AudioFeaturizer


def nmse(pred: np.ndarray, target: np.ndarray) -> float:
    """Squared error summed over frames and channels / the target's variance summed likewise (per-channel
    variance about each channel's mean). 0 is perfect; always predicting the target's mean gives 1; NaN
    for a constant target."""
    variance = ((target - target.mean(0)) ** 2).sum()
    return float(((pred - target) ** 2).sum() / variance) if variance > 1e-12 else float("nan")


def correlation(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean over the channels whose target varies of the Pearson correlation in time (NaN when none
    does); a constant prediction counts 0."""
    values = []
    for p, t in zip(pred.T.astype(np.float64), target.T.astype(np.float64), strict=True):
        if t.std() < 1e-6:  # float32 rounding leaves a constant a tiny spread
            continue
        values.append(0.0 if p.std() < 1e-6 else float(np.corrcoef(p, t)[0, 1]))
    return float(np.mean(values)) if values else float("nan")


def music_beats(
    waveform: torch.Tensor, sample_rate: int, fps: float, min_gap_seconds: float = 0.1
) -> np.ndarray:
    """Frames of onsets in the audio: peaks of the torchaudio spectral-flux onset envelope that stand
    above its mean by one standard deviation, at least `min_gap_seconds` apart."""
    onset = AudioFeaturizer(fps=fps, features=["onset"])(waveform, sample_rate)[:, 0].numpy()
    height = onset.mean() + onset.std()
    return find_peaks(onset, height=height, distance=max(1, int(round(min_gap_seconds * fps))))[0]


def motion_beats(motion: np.ndarray, fps: float, smooth_seconds: float = 1 / 15) -> np.ndarray:
    """Frames where the motion's speed (norm of the frame-to-frame change) has a local minimum after
    Gaussian smoothing, as Bailando finds kinematic beats."""
    speed = np.linalg.norm(np.diff(motion, axis=0), axis=1)  # [T-1]
    speed = gaussian_filter1d(speed, sigma=smooth_seconds * fps)
    return argrelextrema(speed, np.less)[0] + 1


def beat_alignment(music: np.ndarray, motion: np.ndarray, fps: float, sigma_seconds: float = 0.1) -> float:
    """Bailando's beat-alignment score: mean over music beats of exp(-d^2 / (2 sigma^2)), d the distance
    to the nearest motion beat (sigma = 3 frames at 30 fps). 1 when every music beat has a motion beat on
    it; 0 without motion beats."""
    if len(music) == 0 or len(motion) == 0:
        return 0.0
    sigma = sigma_seconds * fps
    distance = np.abs(np.asarray(music)[:, None] - np.asarray(motion)[None, :]).min(axis=1)
    return float(np.exp(-(distance**2) / (2 * sigma**2)).mean())
