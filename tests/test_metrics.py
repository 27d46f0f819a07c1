import numpy as np
import pytest
import torch

from audio2motion.baselines import NearestNeighbourRetrieval
from audio2motion.data.folder import Clip
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


def test_nearest_neighbour_copies_the_closest_training_window():
    a = Clip("a", torch.zeros(20, 2), torch.full((20, 1), 1.0))
    b = Clip("b", torch.ones(20, 2), torch.full((20, 1), 2.0))
    retrieval = NearestNeighbourRetrieval(
        [a, b], window=10, stride=10, mean=torch.zeros(2), std=torch.ones(2)
    )
    query = torch.cat([torch.full((10, 2), 0.6), torch.zeros(5, 2)])  # like b, then like a
    motion = retrieval(query)
    assert motion.shape == (15, 1)
    # Windows: frames 0-9 (near b), then the last 10 frames 5-14, which are closer to a overall.
    assert motion[:5, 0].tolist() == [2.0] * 5 and motion[5:, 0].tolist() == [1.0] * 10
    assert retrieval(torch.full((4, 2), 0.8))[:, 0].tolist() == [2.0] * 4  # shorter than a window
