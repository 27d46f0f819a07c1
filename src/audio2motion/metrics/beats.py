"""Music beats, motion beats and Bailando's beat-alignment score. Beats are frame indices at the motion's
rate. Bailando (`utils/beat_align_score.py`) smooths speed by 5 frames and scores with sigma = 3 frames on
AIST++ at 60 fps; those windows are kept in seconds here (83 ms, 50 ms), so any rate scores as Bailando's
own. (EDGE ran the same code on 30 fps motion, which doubles both windows: its numbers are not these.)
"""

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d
from scipy.signal import argrelextrema

from audio2motion.features import AudioFeaturizer


def onset_envelope(waveform: torch.Tensor, sample_rate: int, fps: float) -> np.ndarray:
    """The featurizer's onset channel `[T]`: spectral flux of the log mel, one value per motion frame."""
    return AudioFeaturizer(fps=fps, features=["onset"])(waveform, sample_rate)[:, 0].numpy()


def beat_period(onset: np.ndarray, fps: float, start_bpm: float = 120.0, octaves: float = 1.0) -> float:
    """The beat period in frames: the lag between 30 and 300 BPM where the onset envelope's
    autocorrelation, weighted by a log-normal prior around `start_bpm` (`octaves` wide), peaks, refined
    between frames by a parabola (librosa's tempo estimate, on the whole clip)."""
    x = onset - onset.mean()
    spectrum = np.fft.rfft(x, 2 * len(x))
    autocorrelation = np.fft.irfft(spectrum * spectrum.conj())[: len(x)]
    lags = np.arange(max(1, int(60 * fps / 300)), min(len(x) - 1, int(np.ceil(60 * fps / 30))) + 1)
    if len(lags) < 3:
        return 60 * fps / start_bpm
    prior = np.exp(-0.5 * (np.log2(60 * fps / lags / start_bpm) / octaves) ** 2)
    weighted = autocorrelation[lags] * prior
    best = int(np.argmax(weighted))
    if 0 < best < len(lags) - 1:
        below, at, above = weighted[best - 1 : best + 2]
        curvature = below - 2 * at + above
        return float(lags[best] + (0.5 * (below - above) / curvature if curvature < 0 else 0.0))
    return float(lags[best])


def track_beats(onset: np.ndarray, fps: float, tightness: float = 100.0) -> np.ndarray:
    """Beat frames of an onset envelope by dynamic programming (Ellis 2007, as librosa.beat.beat_track):
    each beat maximises its onset strength plus the best score of a beat 0.5 to 2 periods earlier, less
    `tightness` x log(gap / period)^2; weak beats at either end are dropped."""
    if len(onset) < 3 or onset.std() == 0:
        return np.zeros(0, dtype=int)
    period = beat_period(onset, fps)
    strength = onset / onset.std()
    reach = int(round(period))
    smooth = np.exp(-0.5 * (np.arange(-reach, reach + 1) * 32.0 / period) ** 2)
    local = np.convolve(strength, smooth)[reach : reach + len(onset)]  # centred, as long as the clip
    gaps = np.arange(int(round(period / 2)), int(round(2 * period)) + 1)  # frames back to the previous beat
    penalty = -tightness * np.log(gaps / period) ** 2
    score, previous = local.copy(), np.full(len(onset), -1)
    for i in range(len(onset)):
        before = i - gaps
        usable = before >= 0
        if usable.any():
            candidates = score[before[usable]] + penalty[usable]
            best = int(np.argmax(candidates))
            if candidates[best] > 0:  # a chain of beats, not a fresh start, scores more
                score[i] += candidates[best]
                previous[i] = before[usable][best]
    peaks = argrelextrema(np.concatenate([[-np.inf], score, [-np.inf]]), np.greater)[0] - 1
    if len(peaks) == 0:
        return np.zeros(0, dtype=int)
    last = peaks[score[peaks] >= 0.5 * np.median(score[peaks])].max()
    beats = [last]
    while previous[beats[-1]] >= 0:
        beats.append(previous[beats[-1]])
    beats = np.array(beats[::-1])
    # Leading and trailing beats on weak onsets (silence before and after the music) are not beats.
    at_beats = np.convolve(local[beats], np.hanning(5))[2 : 2 + len(beats)]
    strong = np.flatnonzero(at_beats >= 0.5 * np.sqrt(np.mean(at_beats**2)))
    return beats[strong[0] : strong[-1] + 1] if len(strong) else beats


def music_beats(waveform: torch.Tensor, sample_rate: int, fps: float) -> np.ndarray:
    """Beat frames of the audio: `track_beats` on its torchaudio onset envelope."""
    return track_beats(onset_envelope(waveform, sample_rate, fps), fps)


def motion_beats(points: np.ndarray, fps: float, smooth_seconds: float = 5 / 60) -> np.ndarray:
    """Kinematic beats as Bailando finds them: local minima of the mean speed of the joints (`[T, J, 3]`
    positions) or of the channels (`[T, D]`, each a point of one dimension), Gaussian-smoothed by
    `smooth_seconds` (5 frames at 60 fps). Index i is the step from frame i to i + 1, as in Bailando."""
    if points.ndim == 2:
        points = points[:, :, None]
    speed = np.linalg.norm(np.diff(points, axis=0), axis=-1).mean(axis=1)  # [T-1]
    return argrelextrema(gaussian_filter1d(speed, smooth_seconds * fps), np.less)[0]


def beat_alignment(music: np.ndarray, motion: np.ndarray, fps: float, sigma_seconds: float = 3 / 60) -> float:
    """Bailando's beat-alignment score: the mean over music beats of exp(-d^2 / (2 sigma^2)), d the time
    to the nearest motion beat, sigma 3 frames at 60 fps. 1 when a motion beat falls on every music beat;
    0 without motion beats; NaN without music beats."""
    if len(music) == 0:
        return float("nan")
    if len(motion) == 0:
        return 0.0
    distance = np.abs(np.asarray(music)[:, None] - np.asarray(motion)[None, :]).min(axis=1)
    return float(np.exp(-(distance**2) / (2 * (sigma_seconds * fps) ** 2)).mean())
