import json
from dataclasses import replace

import numpy as np
import pytest
import soundfile
import torch
from conftest import run_script

from audio2motion.data.synthetic import (
    SyntheticRules,
    draw_clip,
    render_audio,
    render_motion,
    synthesize_clip,
    write_synthetic_dataset,
)
from audio2motion.errors import InputError
from audio2motion.features import AudioFeaturizer

RULES = SyntheticRules()


@pytest.mark.parametrize(
    ("sample_rate", "fps", "seconds"), [(16000, 30, 5.0), (44100, 60, 2.5), (22050, 29.97, 1.7)]
)
def test_any_rate_fps_and_duration(sample_rate, fps, seconds):
    audio, motion = synthesize_clip(seconds, sample_rate, fps, np.random.default_rng(0), RULES)
    assert audio.shape == (round(seconds * sample_rate),) and audio.dtype == np.float32
    assert motion.shape == (int(round(seconds * sample_rate) * fps // sample_rate), len(RULES.channels))
    assert np.abs(audio).max() <= 1.0


def test_seeded():
    a1, m1 = synthesize_clip(3.0, 16000, 30, np.random.default_rng(5), RULES)
    a2, m2 = synthesize_clip(3.0, 16000, 30, np.random.default_rng(5), RULES)
    a3, _ = synthesize_clip(3.0, 16000, 30, np.random.default_rng(6), RULES)
    assert np.array_equal(a1, a2) and np.array_equal(m1, m2) and not np.array_equal(a1, a3)


def _single_band_frames(motion, margin):
    """Frames whose pitch band holds for `margin` frames on both sides."""
    one_hot = (motion[:, 3:6] == 1.0).any(axis=1)
    steady = np.convolve(~one_hot, np.ones(2 * margin + 1), mode="same") == 0
    return np.flatnonzero(steady)


def test_channels_follow_their_rules():
    sample_rate, fps = 16000, 30
    audio, motion = synthesize_clip(30.0, sample_rate, fps, np.random.default_rng(1), RULES)
    bob, height, tilt, raised, swing = (
        motion[:, 0],
        motion[:, 1],
        motion[:, 2],
        motion[:, 3:6],
        motion[:, 6:9],
    )
    assert (
        list(RULES.channel_rules.values())
        == ["rhythm", "loudness", "pitch_height"] + ["pitch_band"] * 3 + ["all_three"] * 3
    )
    np.testing.assert_allclose(swing, height[:, None] * raised * bob[:, None], atol=1e-6)
    np.testing.assert_allclose(raised.sum(1), 1.0, atol=1e-6)
    assert tilt.min() >= 0 and tilt.max() <= 1 and height.min() >= 0.25 and height.max() <= 1
    # The raised limb's band and the tilt are the tone's pitch, read off the audio's spectrum.
    steady = _single_band_frames(motion, margin=10)
    assert len(steady) > 300
    for frame in steady[(steady > 10) & (steady < len(motion) - 10)][::20]:
        centre = int(frame / fps * sample_rate)
        chunk = audio[centre - 4096 : centre + 4096] * np.hanning(8192)
        spectrum = np.abs(np.fft.rfft(chunk))
        peak_hz = np.argmax(spectrum[: 4096 * 3200 * 2 // sample_rate]) * sample_rate / 8192
        band = int(np.argmax(raised[frame]))
        low, high = np.log(RULES.bands_hz[band])
        assert low - 0.02 <= np.log(peak_hz) <= high + 0.02
        assert abs((np.log(peak_hz) - low) / (high - low) - tilt[frame]) < 0.05
    # Loudness is the level of the audio: torso height tracks the RMS feature.
    rms = AudioFeaturizer(fps=fps, features=["rms"])(torch.from_numpy(audio), sample_rate)[:, 0].numpy()
    assert np.corrcoef(rms, height)[0, 1] > 0.9


def test_bob_peaks_on_each_click():
    sample_rate, fps = 44100, 60
    audio, motion = synthesize_clip(12.0, sample_rate, fps, np.random.default_rng(2), RULES)
    bob = motion[:, 0]
    beats = np.flatnonzero((bob[1:-1] >= bob[:-2]) & (bob[1:-1] > bob[2:])) + 1  # cos(2 pi phase) tops
    assert len(beats) >= 12 and bob[beats].min() > 0.98
    onset = AudioFeaturizer(fps=fps, features=["onset"])(torch.from_numpy(audio), sample_rate)[:, 0].numpy()
    mids = (beats[:-1] + beats[1:]) // 2  # half-way between beats
    on_beat = np.array([onset[max(0, b - 1) : b + 2].max() for b in beats])
    off_beat = np.array([onset[m - 1 : m + 2].max() for m in mids])
    assert on_beat.min() > 3 * np.median(off_beat), (on_beat, off_beat)


def test_heldout_clips_use_tempos_and_pitches_training_never_sees():
    rng = np.random.default_rng(0)
    for heldout in (False, True):
        for _ in range(100):
            plan = draw_clip(20.0, rng, RULES, heldout)
            bpm = 60 / plan.period
            in_hole = any(a <= bpm <= b for a, b in RULES.tempo_holdout_bpm)
            assert 80 <= bpm <= 160 and in_hole == heldout
            for band, freq in zip(plan.bands, plan.freqs, strict=True):
                low, high = np.log(RULES.bands_hz[band])
                position = (np.log(freq) - low) / (high - low)
                assert 0 <= position <= 1 and (abs(position - 0.5) <= 0.1) == heldout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tempo_holdout_bpm": ()}, "tempo_holdout_bpm"),
        ({"tempo_holdout_bpm": ((70.0, 90.0),)}, "tempo_holdout_bpm"),
        ({"pitch_holdout": 0.0}, "pitch_holdout"),
        ({"pitch_holdout": 1.0}, "pitch_holdout"),
        ({"timbre": "saw"}, "timbre"),
    ],
)
def test_rules_that_cannot_be_drawn_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        replace(RULES, **change)


def test_one_plan_renders_at_any_rate_channel_count_and_timbre():
    plan = draw_clip(3.0, np.random.default_rng(3), RULES)
    mono = render_audio(plan, RULES, 16000)
    stereo = render_audio(plan, RULES, 16000, channels=2, pan=0.4)
    assert stereo.shape == (48000, 2) and not np.allclose(stereo[:, 0], stereo[:, 1])
    np.testing.assert_allclose(stereo.mean(1), mono, atol=1e-6)
    square = render_audio(plan, replace(RULES, timbre="square"), 16000)
    assert not np.allclose(square, mono)
    motions = [render_motion(plan, RULES, 30, round(3.0 * rate), rate) for rate in (16000, 44100, 48000)]
    assert all(np.array_equal(motions[0], m) for m in motions[1:]) and motions[0].shape == (90, 9)
    featurizer = AudioFeaturizer(fps=30)
    reference = featurizer(torch.from_numpy(mono), 16000)
    for rate in (22050, 48000):
        features = featurizer(torch.from_numpy(render_audio(plan, RULES, rate).copy()), rate)
        assert (features - reference)[:, :-2].abs().mean() < 0.5  # the clicks' noise differs, the tone not


def test_dataset_on_disk(tmp_path):
    root = write_synthetic_dataset(
        tmp_path / "set", num_clips=3, duration=2.0, sample_rate=22050, fps=25, seed=0
    )
    assert sorted(p.name for p in root.iterdir()) == [
        "channels.txt",
        "clip_000.npy",
        "clip_000.wav",
        "clip_001.npy",
        "clip_001.wav",
        "clip_002.npy",
        "clip_002.wav",
        "generator.json",
    ]
    info = soundfile.info(root / "clip_001.wav")
    assert (info.samplerate, info.frames) == (22050, 44100)
    motion = np.load(root / "clip_001.npy")
    assert motion.shape == (50, 9) and motion.dtype == np.float32
    assert (root / "channels.txt").read_text().split() == RULES.channels
    assert json.loads((root / "generator.json").read_text())["seed"] == 0
    assert not [p for p in tmp_path.iterdir() if p.name != "set"]  # no staging folder left behind
    write_synthetic_dataset(
        root, num_clips=1, duration=1.0, sample_rate=8000, fps=25, seed=1
    )  # replaces its own
    assert len(list(root.glob("*.wav"))) == 1


@pytest.mark.slow
def test_dataset_writer_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(InputError, match="holds files the generator did not make"):
        write_synthetic_dataset(tmp_path, num_clips=1, duration=1.0, sample_rate=8000, fps=25, seed=0)
    assert (tmp_path / "mine.txt").read_text() == "precious"
    result = run_script("scripts/make_synthetic.py", f"out={tmp_path}")
    assert result.returncode == 1 and result.stderr.strip() == (
        f"error: {tmp_path}: holds files the generator did not make; pick an empty or new folder"
    )


def test_two_way_rule_leans_either_side_per_beat_and_leaves_the_rest_alone():
    rules = SyntheticRules(two_way=True)
    plan = draw_clip(60.0, np.random.default_rng(3), rules)
    motion = render_motion(plan, rules, 30.0, 60 * 16000, 16000)
    t = np.arange(len(motion)) / 30.0
    lean = motion[:, rules.channels.index("torso.lean")]
    assert rules.channel_rules["torso.lean"] == "two_way" and motion.shape[1] == 10
    # One side per beat, a half sine from click to click, the side drawn per beat with even odds.
    side = plan.signs[plan.beat_index(t)]
    np.testing.assert_allclose(lean, side * np.sin(np.pi * plan.beat_phase(t)), atol=1e-6)
    assert 0.35 < (plan.signs > 0).mean() < 0.65 and len(plan.signs) > 60
    # The other channels and the audio are those of the same draw without the rule.
    plain = draw_clip(60.0, np.random.default_rng(3), SyntheticRules())
    np.testing.assert_array_equal(
        render_motion(plain, SyntheticRules(), 30.0, 60 * 16000, 16000), motion[:, :-1]
    )
    np.testing.assert_array_equal(
        render_audio(plain, SyntheticRules(), 16000), render_audio(plan, rules, 16000)
    )
