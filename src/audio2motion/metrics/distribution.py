"""Distances between sets of clips' features: FID as FACT and Bailando compute it, and diversity."""

import numpy as np
from scipy import linalg


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2):
    |mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))."""
    covmean, _ = linalg.sqrtm(sigma1 @ sigma2, disp=False)
    if not np.isfinite(covmean).all():  # a singular product: nudge both, as Bailando does
        offset = np.eye(len(sigma1)) * 1e-5
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean.real))


def normalise(features: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`features` `[N, F]` standardised by the mean and std of `reference` `[M, F]` (Bailando's
    normalize, which scales both generated and real features by the real ones)."""
    return (features - reference.mean(axis=0)) / (reference.std(axis=0) + 1e-10)


def fid(generated: np.ndarray, real: np.ndarray) -> float | None:
    """FID between clip features `[N, F]` and real ones `[M, F]`, both normalised by the real ones'
    statistics, as Bailando computes FID_k and FID_g; None with fewer than 2 clips on either side (no
    covariance)."""
    if len(generated) < 2 or len(real) < 2:
        return None
    a, b = normalise(generated, real), normalise(real, real)
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def diversity(features: np.ndarray, reference: np.ndarray) -> float | None:
    """Mean Euclidean distance between all pairs of clips' features `[N, F]`, normalised by `reference`
    (the real clips') statistics as Bailando does; None with fewer than 2 clips."""
    if len(features) < 2:
        return None
    x = normalise(features, reference)
    distances = np.linalg.norm(x[:, None] - x[None], axis=-1)
    return float(distances[np.triu_indices(len(x), k=1)].mean())
