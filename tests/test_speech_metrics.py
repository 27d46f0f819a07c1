"""EMAGE's co-speech measures (metrics/speech.py): speech onsets, beat consistency and L1 diversity, on
numbers worked by hand."""

import math

import librosa
import numpy as np
import pytest
import torch
from conftest import tone_mix

from audio2motion.evaluation import SOURCES, ScoredMotion, protocol_of
from audio2motion.evaluation.scores import _summary, clip_scores, mean_joint_speed
from audio2motion.metrics import UPPER_BODY, beat_consistency, joint_speed, l1_diversity, speech_onsets
from audio2motion.metrics.beats import onset_envelope
from audio2motion.motion.layout import axis_angle_channels, skeleton_layout
from audio2motion.motion.skeleton import SMPL, SMPL_JOINTS, SMPLX


def test_the_upper_body_is_emages_joint_list():
    emage = [3, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]
    assert [SMPL_JOINTS.index(j) for j in UPPER_BODY] == emage
    assert [SMPLX.joints.index(j) for j in UPPER_BODY] == emage


def test_speech_onsets_by_hand_at_30_fps():
    # At 30 fps librosa's windows are pre_max 0 and post_max 1 frames (every frame is its own maximum),
    # pre_avg 3 and post_avg 4 (the mean of frames n-3..n+3) and wait 0. Scaled to [0, 1] by the
    # maximum 2: frame 5 is 1, frame 12 is 0.5, frame 13 0.25, frame 20 0.05.
    envelope = np.zeros(30)
    envelope[[5, 12, 13, 20]] = [2.0, 1.0, 0.5, 0.1]
    # frame 5: 1 >= 1/7 + 0.07; frame 12: 0.5 >= 0.75/7 + 0.07 = 0.177; frame 13 (the same 7 frames but
    # for frame 16, which is 0): 0.25 >= 0.177, so neighbours are both onsets; frame 20: 0.05 < 0.05/7 +
    # 0.07; a frame of 0 is never 0.07 above a mean.
    expected = np.array([5, 12, 13]) / 30
    assert speech_onsets(envelope, 30) == pytest.approx(expected)
    assert speech_onsets(3 * envelope + 7, 30) == pytest.approx(expected)  # scaled to [0, 1] first
    assert len(speech_onsets(np.full(30, 0.4), 30)) == 0  # nothing rises
    assert len(speech_onsets(np.zeros(0), 30)) == 0


def test_speech_onsets_wait_after_an_onset_at_100_fps():
    # At 100 fps: pre_max 3, post_max 1, pre_avg 10, post_avg 11, wait 3. Frame 20 (0.8) is the largest of
    # frames 17..20 and 0.8 >= (0.8 + 1) / 21 + 0.07, so an onset; frames 21..23 are skipped, so the larger
    # frame 22 is not one. Frame 40 (0.5) is the largest of 37..40 and 0.5 >= 0.5 / 21 + 0.07.
    envelope = np.zeros(60)
    envelope[[20, 22, 40]] = [0.8, 1.0, 0.5]
    assert speech_onsets(envelope, 100) == pytest.approx([0.2, 0.4])
    np.testing.assert_allclose(
        librosa.onset.onset_detect(onset_envelope=envelope, sr=100, hop_length=1, units="time"), [0.2, 0.4]
    )


@pytest.mark.parametrize("fps", [30.0, 29.97, 60.0])
def test_speech_onsets_are_librosas_onset_detect_on_the_same_envelope(fps):
    rng = np.random.default_rng(0)
    sizes = rng.integers(2, 400, size=50)
    envelopes = [rng.gamma(0.5, size=n) * (rng.random(n) < 0.5) for n in sizes]  # sparse bursts
    speech = tone_mix(16000, 4.0) * np.repeat(rng.random(40) < 0.5, 1600)  # words and pauses
    envelopes.append(onset_envelope(torch.from_numpy(speech), 16000, fps))
    for envelope in envelopes:
        expected = librosa.onset.onset_detect(
            onset_envelope=envelope.copy(), sr=fps, hop_length=1, units="time"
        )
        np.testing.assert_allclose(speech_onsets(envelope, fps), expected)


def test_joint_speed_by_hand():
    # x = 0, 1, 4, 9 at 2 fps (0.5 s a frame): forward (1 - 0) / 0.5 = 2, central (4 - 0) / 1 = 4 and
    # (9 - 1) / 1 = 8, backward (9 - 4) / 0.5 = 10
    positions = np.zeros((4, 1, 3))
    positions[:, 0, 0] = [0, 1, 4, 9]
    np.testing.assert_allclose(joint_speed(positions, 2.0), [[2], [4], [8], [10]])


def pausing(dips: list[int], frames: int = 33) -> np.ndarray:
    """A joint moving along x by 0.25 m a frame but 0.125 m into and out of each frame of `dips`: at 8 fps
    (0.125 s a frame) its central-difference speed is 2 m/s, 1.5 on either side of a dip and 1 at it
    (binary fractions: no rounding makes other frames minima)."""
    steps = np.full(frames - 1, 0.25)
    for dip in dips:
        steps[[dip - 1, dip]] = 0.125
    x = np.concatenate([[0.0], np.cumsum(steps)])
    return np.stack([x, 0 * x, 0 * x], axis=-1)  # [T, 3]


def test_beat_consistency_by_hand():
    fps, onsets = 8.0, np.array([1.0, 2.5])
    # joint 0 pauses at frames 8 and 24 (1 s, 3 s), joint 1 at frame 16 (2 s); each the only minimum
    # within 7 frames; a speed of 1 above 0.3 x the mean speed 2
    positions = np.stack([pausing([8, 24]), pausing([16])], axis=1)  # [33, 2, 3]
    mean_speed = np.array([2.0, 2.0])
    # exp(-d^2 / (2 x 0.3^2)) = exp(-d^2 / 0.18)
    # joint 0: onset 1.0 on its beat (1); onset 2.5 is 0.5 s from 3.0: exp(-0.25 / 0.18) = 0.249352
    # joint 1: 1.0 s from 2.0: exp(-1 / 0.18) = 0.003866; 2.5 is 0.5 s from 2.0: 0.249352
    joint0, joint1 = (1 + 0.249352) / 2, (0.003866 + 0.249352) / 2  # 0.624676, 0.126609
    assert beat_consistency(onsets, positions, fps, [0], mean_speed) == pytest.approx(joint0, abs=1e-6)
    assert beat_consistency(onsets, positions, fps, [1], mean_speed) == pytest.approx(joint1, abs=1e-6)
    assert beat_consistency(onsets, positions, fps, [0, 1], mean_speed) == pytest.approx(
        (joint0 + joint1) / 2, abs=1e-6
    )  # 0.375642
    # joint 1's mean speed 4: its pause (1 m/s) is under 0.3 x 4 = 1.2, no beat, so it scores 0
    assert beat_consistency(onsets, positions, fps, [0, 1], np.array([2.0, 4.0])) == pytest.approx(
        joint0 / 2, abs=1e-6
    )
    # joint 0's pauses are 16 frames apart: with order 15 each is still the lowest within its window;
    # with order 16 each window reaches the other, as slow, and a minimum must be strictly lower: no beats
    assert beat_consistency(onsets, positions, fps, [0], mean_speed, order=15) == pytest.approx(
        joint0, abs=1e-6
    )
    assert beat_consistency(onsets, positions, fps, [0], mean_speed, order=16) == 0.0
    # sigma 0.5: onset 2.5 is exp(-0.25 / 0.5) = 0.606531 of a beat
    assert beat_consistency(onsets, positions, fps, [0], mean_speed, sigma=0.5) == pytest.approx(
        (1 + 0.606531) / 2, abs=1e-6
    )


def test_beat_consistency_of_stillness_and_without_onsets():
    still = np.ones((40, 2, 3))  # no speed minima, no motion beats
    assert beat_consistency(np.array([1.0]), still, 30.0, [0, 1], np.ones(2)) == 0.0
    assert math.isnan(beat_consistency(np.zeros(0), still, 30.0, [0, 1], np.ones(2)))
    assert math.isnan(beat_consistency(np.array([1.0]), still[:1], 30.0, [0, 1], np.ones(2)))


def test_l1_diversity_by_hand():
    # two frames of one joint about their mean (1, 2, -3): each frame 1 + 2 + 3 away, 12 over 2 frames
    positions = np.array([[[0.0, 0.0, 0.0]], [[2.0, 4.0, -6.0]]])
    assert l1_diversity(positions) == pytest.approx(6.0)
    # a second joint that stands still adds nothing; a third moving as the first doubles it
    assert l1_diversity(np.concatenate([positions, np.ones_like(positions)], axis=1)) == pytest.approx(6.0)
    assert l1_diversity(np.concatenate([positions, positions + 5], axis=1)) == pytest.approx(12.0)
    # three frames 0, 3, 6 on x: about 3, 3 + 0 + 3 = 6 over 3 frames
    assert l1_diversity(np.array([[[0.0, 1, 1]], [[3.0, 1, 1]], [[6.0, 1, 1]]])) == pytest.approx(2.0)


def test_evaluation_nulls_beat_consistency_without_the_upper_body_or_onsets_and_says_why():
    legs = SMPL.subset("legs", SMPL_JOINTS[:12])  # pelvis, hips, knees, ankles, feet and spine1..3
    layout = skeleton_layout(30, legs, contacts=False)
    rng = np.random.default_rng(0)
    rotations = axis_angle_channels(np.cumsum(rng.normal(0, 0.05, (60, 3 * len(legs.joints))), axis=0))
    motion = np.concatenate([np.zeros((60, 3), np.float32), rotations], axis=1)
    speed = mean_joint_speed([motion], layout)
    onsets, scale = np.array([1.0]), np.ones(motion.shape[1])
    protocol = protocol_of("published", "bailando")
    scores, _ = clip_scores(
        ScoredMotion(motion), motion, np.zeros(0, int), onsets, layout, scale, speed, protocol
    )
    assert math.isnan(scores["beat_consistency"]) and scores["l1_diversity"] > 0
    row = {"clip": "c", "seconds": 2.0, "generated_seconds": 2.0} | {source: scores for source in SOURCES}
    no_features = {source: [] for source in SOURCES}
    report = _summary([row], no_features, None, layout, has_onset=True)
    assert "lacks neck, left_collar" in report["notes"]["beat_consistency"]
    assert report["metrics"]["generated"]["beat_consistency"] is None
    assert "l1_diversity" not in report["notes"]  # it needs joints, not these ones
    report = _summary([row], no_features, None, skeleton_layout(30, SMPL, False), has_onset=False)
    assert "no onset channel" in report["notes"]["beat_consistency"]
