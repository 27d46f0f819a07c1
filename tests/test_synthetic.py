import json

import numpy as np
import pytest
import soundfile
import torch
from conftest import run_script

from audio2motion.data.synthetic import SyntheticRules, synthesize_clip, write_synthetic_dataset
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


def _limb_amplitudes(motion):
    limbs = motion[:, :-1].reshape(len(motion), len(RULES.limbs), 2)  # [T, limbs, (swing, lift)]
    return np.linalg.norm(limbs, axis=-1), np.arctan2(limbs[..., 0], limbs[..., 1])  # [T, limbs] each


def test_loudness_drives_amplitude_and_pitch_band_picks_the_limb():
    sample_rate, fps = 16000, 30
    audio, motion = synthesize_clip(20.0, sample_rate, fps, np.random.default_rng(1), RULES)
    amplitude, _ = _limb_amplitudes(motion)
    torso = motion[:, -1]
    single = (amplitude > 1e-6).sum(1) == 1  # frames away from a change of band
    assert single.mean() > 0.8
    np.testing.assert_allclose(amplitude[single].max(1), torso[single], rtol=1e-5)
    # The active limb's band holds the tone's frequency, read off the audio's spectrum.
    checked = 0
    for frame in np.flatnonzero(single)[::15]:
        centre = int(frame / fps * sample_rate)
        chunk = audio[max(0, centre - 1024) : centre + 1024]
        chunk = chunk * np.hanning(len(chunk))
        peak_hz = np.argmax(np.abs(np.fft.rfft(chunk))) * sample_rate / len(chunk)
        low, high = RULES.bands_hz[int(np.argmax(amplitude[frame]))]
        assert 0.9 * low <= peak_hz <= 1.1 * high
        checked += 1
    assert checked > 20
    # Loudness is the level of the audio: torso height tracks the RMS feature.
    rms = AudioFeaturizer(fps=fps, features=["rms"])(torch.from_numpy(audio), sample_rate)[:, 0].numpy()
    assert np.corrcoef(rms, torso)[0, 1] > 0.9


def test_swing_phase_is_zero_on_each_click():
    sample_rate, fps = 44100, 60
    audio, motion = synthesize_clip(12.0, sample_rate, fps, np.random.default_rng(2), RULES)
    amplitude, angle = _limb_amplitudes(motion)
    phase = angle[np.arange(len(angle)), amplitude.argmax(1)]  # [T] radians, 0 on the beat
    onset = AudioFeaturizer(fps=fps, features=["onset"])(torch.from_numpy(audio), sample_rate)[:, 0].numpy()
    beats = np.flatnonzero(np.diff(np.unwrap(phase)) < 0)  # never: the phase only advances
    assert beats.size == 0
    wraps = np.flatnonzero((phase[1:] >= 0) & (phase[:-1] < 0)) + 1  # frames just after a beat
    assert len(wraps) >= 12
    mids = (wraps[:-1] + wraps[1:]) // 2  # half-way between beats
    on_beat = np.array([onset[max(0, w - 1) : w + 2].max() for w in wraps])
    off_beat = np.array([onset[m - 1 : m + 2].max() for m in mids])
    assert on_beat.min() > 3 * np.median(off_beat), (on_beat, off_beat)


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
    assert motion.shape == (50, 7) and motion.dtype == np.float32
    assert (root / "channels.txt").read_text().split() == RULES.channels
    assert json.loads((root / "generator.json").read_text())["seed"] == 0
    assert not [p for p in tmp_path.iterdir() if p.name != "set"]  # no staging folder left behind
    write_synthetic_dataset(
        root, num_clips=1, duration=1.0, sample_rate=8000, fps=25, seed=1
    )  # replaces its own
    assert len(list(root.glob("*.wav"))) == 1


def test_dataset_writer_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(InputError, match="holds files the generator did not make"):
        write_synthetic_dataset(tmp_path, num_clips=1, duration=1.0, sample_rate=8000, fps=25, seed=0)
    assert (tmp_path / "mine.txt").read_text() == "precious"
    result = run_script("scripts/make_synthetic.py", f"out={tmp_path}")
    assert result.returncode == 1 and result.stderr.strip() == (
        f"error: {tmp_path}: holds files the generator did not make; pick an empty or new folder"
    )
