"""Generated motion against ground truth, for any layout: `[T, D]` arrays of the same shape."""

import numpy as np


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
