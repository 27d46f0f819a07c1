import numpy as np
import pytest

from audio2motion.metrics import correlation, nmse


def test_nmse_by_hand():
    target = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])  # deviations: 8 in channel 0, 0 in channel 1
    assert nmse(target, target) == 0.0
    assert nmse(np.tile(target.mean(0), (3, 1)), target) == pytest.approx(1.0)
    assert nmse(np.zeros_like(target), target) == pytest.approx((0 + 4 + 16 + 3) / 8)
    assert np.isnan(nmse(target[:, 1:], target[:, 1:]))  # a constant target has no variance to compare with


def test_correlation_by_hand():
    t = np.sin(np.linspace(0, 6, 50))[:, None]
    assert correlation(2 * t + 1, t) == pytest.approx(1.0)
    assert correlation(np.hstack([-t, t]), np.hstack([t, t])) == pytest.approx(0.0)
    assert correlation(np.ones_like(t), t) == 0.0
    assert correlation(np.hstack([t, t]), np.hstack([t, np.ones_like(t)])) == pytest.approx(
        1.0
    )  # constant: left out
    assert np.isnan(correlation(t, np.ones_like(t)))
