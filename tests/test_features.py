import math

import numpy as np
import pytest
import torch
from conftest import tone_mix

from audio2motion.features import AudioFeaturizer


@pytest.mark.parametrize(
    ("sample_rate", "fps"), [(16000, 30), (44100, 60), (22050, 25), (48000, 29.97), (8000, 24), (44100, 30)]
)
@pytest.mark.parametrize("seconds", [0.5, 3.3, 7.0])
def test_one_feature_frame_per_motion_frame(sample_rate, fps, seconds):
    samples = int(seconds * sample_rate)
    features = AudioFeaturizer(fps=fps)(torch.zeros(samples), sample_rate)
    assert features.shape == (math.floor(samples * fps / sample_rate), 19)


@pytest.mark.parametrize(("sample_rate", "fps"), [(16000, 30), (44100, 60), (48000, 29.97), (22050, 25)])
def test_onsets_peak_on_the_frame_of_each_click(sample_rate, fps):
    clicks_at = [0.5, 1.234, 2.0, 2.71]  # seconds
    audio = torch.zeros(int(3.0 * sample_rate))
    for t in clicks_at:
        start = int(round(t * sample_rate))
        audio[start : start + int(0.005 * sample_rate)] = 0.8
    onset = AudioFeaturizer(fps=fps, features=["onset"])(audio, sample_rate)[:, 0]  # [T]
    peaks = sorted(onset.topk(len(clicks_at)).indices.tolist())
    expected = [round(t * fps) for t in clicks_at]
    assert all(abs(p - e) <= 1 for p, e in zip(peaks, expected, strict=True)), (peaks, expected)


def test_same_sound_at_any_rate_and_channel_count_gives_the_same_features(as_tensor):
    featurizer = AudioFeaturizer(fps=30)
    reference = featurizer(as_tensor(tone_mix(16000, 3.0)), 16000)  # [T, F]
    spread = reference.std(0).mean()
    for sample_rate in (16000, 22050, 44100, 48000):
        for channels in (1, 2):
            features = featurizer(as_tensor(tone_mix(sample_rate, 3.0, channels)), sample_rate)
            assert features.shape == reference.shape
            diff = (features - reference).abs()
            assert diff.max() < 0.1, (sample_rate, channels, diff.max())
            assert diff.mean() < 0.01 * spread, (sample_rate, channels, diff.mean())


def test_stereo_of_identical_channels_equals_mono(as_tensor):
    mono = as_tensor(tone_mix(44100, 1.0))  # [1, S]
    featurizer = AudioFeaturizer(fps=60)
    torch.testing.assert_close(featurizer(mono.repeat(2, 1), 44100), featurizer(mono[0], 44100))


def test_rms_follows_the_level():
    featurizer = AudioFeaturizer(fps=30, features=["rms"])
    t = torch.arange(16000) / 16000
    quiet, loud = (
        featurizer(a * torch.sin(2 * math.pi * 440 * t), 16000)[5:25, 0].mean() for a in (0.1, 0.8)
    )
    assert loud / quiet == pytest.approx(8.0, rel=0.02)
    assert loud == pytest.approx(0.8 / math.sqrt(2), rel=0.02)


@pytest.mark.parametrize("hz", [150.0, 212.0, 1000.0, 3100.0])
def test_centroid_of_a_tone_is_its_frequency(hz):
    t = torch.arange(2 * 44100) / 44100
    centroid = AudioFeaturizer(features=["centroid"])(0.3 * torch.sin(2 * math.pi * hz * t), 44100)[5:-5, 0]
    assert torch.expm1(centroid).sub(hz).abs().max() < 0.01 * hz
    silence = AudioFeaturizer(features=["centroid"])(torch.zeros(16000), 16000)
    assert torch.allclose(torch.expm1(silence), torch.tensor(4000.0))  # the floor: white noise to 8 kHz


def test_silence_gives_finite_features():
    features = AudioFeaturizer()(torch.zeros(2, 16000), 16000)
    assert features.shape == (30, 19) and torch.isfinite(features).all()


def test_feature_selection_and_size():
    assert AudioFeaturizer(n_mels=40, features=["mel"]).dim == 40
    assert AudioFeaturizer(n_mels=40).dim == 43
    featurizer = AudioFeaturizer(n_mels=40, features=["centroid", "rms"])
    features = featurizer(torch.from_numpy(tone_mix(16000, 1.0)), 16000)
    assert features.shape == (30, 2) and features[:, 0].min() > 5  # log(1 + Hz) first, as listed


def test_bad_waveforms_are_refused():
    featurizer = AudioFeaturizer(fps=30)
    with pytest.raises(ValueError, match="shorter than one motion frame"):
        featurizer(torch.zeros(100), 16000)
    with pytest.raises(ValueError, match="waveform must be"):
        featurizer(torch.zeros(1, 2, 100), 16000)
    with pytest.raises(ValueError, match="features must be"):
        AudioFeaturizer(features=["mfcc"])
    assert np.isfinite(featurizer(torch.zeros(534), 16000).numpy()).all()  # exactly one frame
    # Finite samples whose float32 sum overflows are too loud, not NaN; one NaN among them is NaN.
    huge = torch.full((2, 16000), 3e38)
    with pytest.raises(ValueError, match=r"too loud to analyse \(peak sample 3e\+38"):
        featurizer(huge, 16000)
    huge[1, 7] = float("nan")
    with pytest.raises(ValueError, match="holds NaN or infinite samples"):
        featurizer(huge, 16000)
