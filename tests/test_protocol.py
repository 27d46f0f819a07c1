"""Evaluation protocols: the published code's cut to 20 s, its dropped last beat, EDGE's 30 fps windows,
and the reference pool's features, on cases worked out by hand."""

import math

import numpy as np
import pytest
from test_motion_metrics import smpl_pose

from audio2motion.evaluation import ScoredMotion, protocol_of
from audio2motion.evaluation.scores import clip_scores, set_features
from audio2motion.metrics import geometric_features
from audio2motion.motion.layout import plain_layout

PUBLISHED, CORRECTED = protocol_of("published", "bailando"), protocol_of("corrected", "bailando")


@pytest.mark.parametrize("fps", [60, 30])
def test_published_features_see_only_the_first_20_seconds(fps):
    # Still for 20 s, then the body walks along x at 0.5 m/s for 10 s, moving from the first frame after
    # the 20 s on (a cut one frame longer would see it). At 30 fps, resampling to 60 blends each frame
    # into the 60 fps frame before it, so the still part holds one frame more.
    still = smpl_pose(20 * fps + (fps == 30))
    walking = smpl_pose(10 * fps, step=0.5 / fps)
    positions = np.concatenate([still, walking + still[-1, 0] - walking[0, 0] + [0.5 / fps, 0, 0]])
    kinetic, geometric = set_features(positions, fps, 24, PUBLISHED)
    # Nothing moves in the first 20 s: no speed; the quirk's expenditure is 3540 x each joint's distance
    # from the first frame's root (see test_motion_metrics), the same whatever the rate
    expected = 3540 * np.linalg.norm(still[0] - still[0, 0], axis=-1)
    assert kinetic.reshape(24, 3)[:, :2] == pytest.approx(np.zeros((24, 2)), abs=1e-6)
    assert kinetic.reshape(24, 3)[:, 2] == pytest.approx(expected, rel=1e-5)
    assert geometric == pytest.approx(geometric_features(still - still[0, 0]))  # the rest pose's answers
    whole_kinetic = set_features(positions, fps, 24, CORRECTED)[0].reshape(24, 3)
    # Whole clips: walking 10 of 30 s at 0.5 m/s gives every joint about 0.25 x 1/3 of horizontal energy,
    # no vertical; the step from 0 to 0.5 m/s, once in 30 s, averages to 0.5 / 30 m/s^2 (and the path's
    # float32 rounding, differenced twice, a little more)
    assert whole_kinetic[:, 0] == pytest.approx(np.full(24, 0.25 / 3), rel=0.02)
    assert whole_kinetic[:, 1] == pytest.approx(np.zeros(24), abs=1e-9)
    assert whole_kinetic[:, 2] == pytest.approx(np.full(24, 0.5 / 30), rel=5e-3)
    # the pool's motions are whole under either protocol
    pool_kinetic, _ = set_features(positions, fps, 24, PUBLISHED, whole=True)
    assert pool_kinetic[0] == pytest.approx(whole_kinetic[0, 0])
    assert pool_kinetic[2 * 3 + 2] > 1000  # but with the quirk: far from the corrected expenditure's 0


def beat_scores(music: list[int], frames: int = 80, fps: float = 60.0, beat_frames: str = "bailando"):
    """Beat alignment of one channel whose speed is lowest on step 40 (|i - 40| + 1), against `music`."""
    speed = np.abs(np.arange(frames - 1) - 40) + 1.0
    channel = np.concatenate([[0.0], np.cumsum(speed)])[:, None]  # [T, 1]
    layout = plain_layout(fps, ["x"])
    protocol = protocol_of("published", beat_frames)
    scores, _ = clip_scores(
        ScoredMotion(channel), channel, np.array(music), np.zeros(0), layout, np.ones(1), None, protocol
    )
    return scores["beat_alignment"]


def test_a_music_beat_on_the_last_frame_is_dropped_as_bailando_does():
    # Bailando's get_mb(length=T-1): a beat on frame T-1 is not a beat; one on T-2 is, and no motion beat
    # is near it (the only one is step 40), so it scores 0 and halves the mean.
    assert beat_scores([40, 79]) == 1.0
    assert beat_scores([40, 78]) == pytest.approx(0.5)
    assert math.isnan(beat_scores([79]))  # no music beat left: null, as a clip without beats


def test_edge_windows_are_bailandos_counted_at_30_fps():
    # a music beat 3 frames (50 ms) from the motion beat at 60 fps: sigma is 3 frames at 60 fps for
    # Bailando, 3 frames at 30 fps (6 at 60) for EDGE
    assert beat_scores([43]) == pytest.approx(math.exp(-9 / (2 * 3**2)))
    assert beat_scores([43], beat_frames="edge") == pytest.approx(math.exp(-9 / (2 * 6**2)))


def test_protocol_and_frames_names_are_checked():
    with pytest.raises(ValueError, match="protocol=paper: must be one of published, corrected"):
        protocol_of("paper", "bailando")
    with pytest.raises(ValueError, match="beat_alignment.frames=fact: must be one of bailando, edge"):
        protocol_of("published", "fact")
    assert PUBLISHED.cut_seconds == 20 and CORRECTED.cut_seconds is None
    assert "quirk" in PUBLISHED.describe() and "do not compare" in CORRECTED.describe()
    assert protocol_of("corrected", "edge").beat_windows == pytest.approx((5 / 30, 3 / 30))
