import math

import numpy as np
import pytest
import torch

from audio2motion.baselines import NearestNeighbourRetrieval
from audio2motion.data.folder import Clip
from audio2motion.metrics import beat_alignment, correlation, motion_beats, music_beats, nmse


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


@pytest.mark.parametrize(
    ("offset", "expected"), [(0, 1.0), (1, math.exp(-1 / 18)), (3, math.exp(-0.5)), (6, math.exp(-2))]
)
def test_beat_alignment_of_beats_k_frames_off(offset, expected):
    music = np.array([10, 40, 70, 100])
    assert beat_alignment(music, music + offset, fps=30) == pytest.approx(expected)
    # At 60 fps the same distance in seconds is twice the frames.
    assert beat_alignment(2 * music, 2 * (music + offset), fps=60) == pytest.approx(expected)


def test_beat_alignment_takes_the_nearest_motion_beat_and_zero_without_any():
    assert beat_alignment(np.array([30]), np.array([0, 27, 90]), fps=30) == pytest.approx(math.exp(-0.5))
    assert beat_alignment(np.array([30]), np.array([], dtype=int), fps=30) == 0.0


def test_motion_beats_are_the_speed_minima():
    t = np.arange(300)
    motion = np.stack(
        [np.cos(2 * np.pi * t / 40), 0.5 * np.cos(2 * np.pi * t / 40)], axis=1
    )  # turns every 20
    beats = motion_beats(motion, fps=30)
    assert np.abs(beats - 20 * np.round(beats / 20)).max() <= 1
    assert len(beats) == 14  # 20, 40, ..., 280


def test_music_beats_are_the_clicks():
    sample_rate, fps = 22050, 30
    audio = 0.05 * torch.sin(2 * math.pi * 330 * torch.arange(4 * sample_rate) / sample_rate)
    clicks = [0.5, 1.1, 1.7, 2.3, 2.9, 3.5]
    for t in clicks:
        start = int(t * sample_rate)
        audio[start : start + 200] += 0.8 * torch.randn(200, generator=torch.Generator().manual_seed(0))
    beats = music_beats(audio, sample_rate, fps)
    assert len(beats) == len(clicks)
    assert np.abs(beats - np.round(np.array(clicks) * fps)).max() <= 1


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
