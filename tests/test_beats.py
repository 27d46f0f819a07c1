"""Music beats (our tracker on the torchaudio onset envelope), motion beats and Bailando's alignment."""

import math

import numpy as np
import pytest
import torch

from audio2motion.metrics import beat_alignment, motion_beats, music_beats, track_beats

SR, FPS = 22050, 30


@pytest.mark.parametrize(("offset", "expected"), [(0, 1.0), (1, math.exp(-1 / 18)), (3, math.exp(-0.5))])
def test_beat_alignment_of_motion_beats_k_frames_off_at_bailandos_60_fps(offset, expected):
    music = np.array([10, 40, 70, 100])
    assert beat_alignment(music, music + offset, fps=60) == pytest.approx(expected)
    assert beat_alignment(music, music - offset, fps=60) == pytest.approx(expected)
    # at 30 fps a frame is twice the time: k frames off there is 2k at 60
    assert beat_alignment(music, music + offset, fps=30) == pytest.approx(math.exp(-((2 * offset) ** 2) / 18))


def test_beat_alignment_takes_the_nearest_motion_beat_and_says_when_it_cannot():
    # music beats 30 and 60; nearest motion beats 27 (3 off) and 60 (on): (e^-0.5 + 1) / 2
    assert beat_alignment(np.array([30, 60]), np.array([0, 27, 60, 90]), fps=60) == pytest.approx(
        (math.exp(-0.5) + 1) / 2
    )
    assert beat_alignment(np.array([30]), np.array([], dtype=int), fps=60) == 0.0
    assert math.isnan(beat_alignment(np.array([], dtype=int), np.array([3]), fps=60))


@pytest.mark.parametrize("period", [14, 40])  # a fast beat (128 BPM at 30 fps) and a slow swing
def test_motion_beats_are_where_the_joints_slow_down(period):
    t = np.arange(300)
    swing = np.cos(2 * np.pi * (t - 0.5) / period)  # turns at 0.5 + k period / 2: inside step k period / 2
    joints = np.stack([swing, 0.5 * swing, np.zeros(300)], axis=1)[:, None, :].repeat(3, axis=1)  # [T, 3, 3]
    beats = motion_beats(joints, fps=30)
    assert beats.tolist() == list(range(period // 2, 300 - 1, period // 2))  # step i: frame i -> i + 1
    assert np.array_equal(motion_beats(joints[:, 0, :2], fps=30), beats)  # channels: points of one dimension


def clicks(bpm: float, seconds: float = 12.0) -> tuple[torch.Tensor, np.ndarray]:
    """A quiet tone with a noise click on every beat from 0.5 s; the beat frames."""
    t = np.arange(int(seconds * SR)) / SR
    audio = 0.05 * np.sin(2 * np.pi * 220 * t)
    times = np.arange(0.5, seconds - 0.5, 60 / bpm)
    rng = np.random.default_rng(0)
    for time in times:
        start = int(time * SR)
        audio[start : start + 300] += 0.8 * rng.standard_normal(300) * np.exp(-np.arange(300) / 60)
    return torch.from_numpy(audio.astype(np.float32)), np.round(times * FPS).astype(int)


@pytest.mark.parametrize("bpm", [90, 120, 128, 150])
def test_music_beats_find_every_click_within_a_frame(bpm):
    audio, truth = clicks(bpm)
    beats = music_beats(audio, SR, FPS)
    assert len(beats) == len(truth)
    assert np.abs(beats - truth).max() <= 1


def drum_loop(bpm: float, seconds: float = 15.0) -> np.ndarray:
    """A bass line, kicks on the beats (every other one softer) and noise hi-hats between them."""
    rng = np.random.default_rng(int(bpm))
    t = np.arange(int(seconds * SR)) / SR
    audio = 0.1 * np.sin(2 * np.pi * 110 * t) * (1 + np.sin(2 * np.pi * 0.25 * t))
    period, n, m = 60 / bpm, int(0.15 * SR), int(0.03 * SR)
    kick = np.sin(2 * np.pi * 60 * np.arange(n) / SR * (1 + 2 * np.exp(-np.arange(n) / 400)))
    for i, time in enumerate(np.arange(0.3, seconds - 0.3, period)):
        start = int(time * SR)
        audio[start : start + n] += (0.9 if i % 2 == 0 else 0.6) * kick * np.exp(-np.arange(n) / 1500)
        hat = int((time + period / 2) * SR)
        audio[hat : hat + m] += (
            0.25
            * rng.standard_normal(len(audio[hat : hat + m]))
            * np.exp(-np.arange(m) / 150)[: len(audio[hat : hat + m])]
        )
    return audio.astype(np.float32)


@pytest.mark.parametrize("bpm", [95, 110, 140])
def test_music_beats_agree_with_librosa_on_a_drum_loop(bpm):
    librosa = pytest.importorskip("librosa")  # the reference, at test time only
    audio = drum_loop(bpm)
    ours = music_beats(torch.from_numpy(audio), SR, FPS) / FPS
    _, frames = librosa.beat.beat_track(y=audio, sr=SR, hop_length=256)
    reference = librosa.frames_to_time(frames, sr=SR, hop_length=256)
    # F-measure with the usual 70 ms tolerance
    hits = sum(np.abs(reference - beat).min() <= 0.07 for beat in ours)
    precision, recall = hits / len(ours), hits / len(reference)
    assert 2 * precision * recall / (precision + recall) >= 0.95, (ours, reference)


def test_short_clips_give_beats_inside_them_or_none():
    rng = np.random.default_rng(0)
    for frames in [1, 2, 3, 5, 10, 20, 30, 45, 60]:  # shorter than two beat periods, some of them
        for _ in range(20):
            beats = track_beats(rng.random(frames), FPS)
            assert np.all((beats >= 0) & (beats < frames)) and np.all(np.diff(beats) > 0), (frames, beats)
    audio, truth = clicks(128, seconds=2.5)  # four clicks
    assert np.abs(music_beats(audio, SR, FPS) - truth).max() <= 1
