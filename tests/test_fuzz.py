"""Property tests: over random lengths, sample rates, channel counts, sample formats and motion arrays,
the featurizer and the loaders give either the documented shapes with finite values or the documented
InputError (files) / ValueError (tensors), never another exception. The Hypothesis profile (examples,
no deadline, derandomized so CI sees the same examples every run) is registered in conftest.py."""

import math
import re
from fractions import Fraction

import numpy as np
import pytest
import soundfile
import torch
from conftest import write_audio
from hypothesis import given, note, settings
from hypothesis import strategies as st

from audio2motion.audio_io import load_audio
from audio2motion.data.folder import Pair, load_clip, load_motion
from audio2motion.errors import InputError
from audio2motion.features import FEATURE_NAMES, AudioFeaturizer, num_frames

COMMON_RATES = [8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000]
RATES = st.one_of(st.sampled_from(COMMON_RATES), st.integers(4000, 96000))
FPS = st.one_of(st.sampled_from([24.0, 25.0, 29.97, 30.0, 60.0]), st.floats(5.0, 120.0))
SEEDS = st.integers(0, 2**32 - 1)
# (container, subtype, bits): bits of an integer format, None for float formats.
FORMATS = [
    ("WAV", "PCM_U8", 8),
    ("FLAC", "PCM_S8", 8),
    ("WAV", "PCM_16", 16),
    ("FLAC", "PCM_16", 16),
    ("WAV", "PCM_24", 24),
    ("FLAC", "PCM_24", 24),
    ("WAV", "PCM_32", 32),
    ("WAV", "FLOAT", None),
    ("WAV", "DOUBLE", None),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def frames_for(samples: int, sample_rate: int, fps: float) -> int:
    """floor(duration x fps), as features.num_frames documents it, checked against exact arithmetic."""
    frames = num_frames(samples, sample_rate, fps)
    exact = Fraction(samples) * Fraction(fps) / sample_rate  # fps as the float it is
    assert exact - 1 < frames <= exact + Fraction(1, 10**9)  # float rounding at an exact boundary only
    return frames


# --- AudioFeaturizer ---------------------------------------------------------------------------------


@given(
    samples=st.integers(1, 120_000),
    sample_rate=RATES,
    channels=st.integers(1, 8),
    fps=FPS,
    features=st.lists(st.sampled_from(FEATURE_NAMES), min_size=1, max_size=4, unique=True),
    n_mels=st.sampled_from([8, 32]),
    dtype=st.sampled_from([torch.float32, torch.float64, torch.int16]),
    amplitude=st.sampled_from([0.0, 1e-6, 0.5, 1.0, 8.0, 1e6, 1e20]),
    poison=st.sampled_from([None, math.nan, math.inf, -math.inf]),
    seed=SEEDS,
)
def test_featurizer_gives_one_finite_row_per_motion_frame_or_says_why(
    samples, sample_rate, channels, fps, features, n_mels, dtype, amplitude, poison, seed
):
    rng = np.random.default_rng(seed)
    signal = amplitude * rng.uniform(-1, 1, (channels, samples))
    if dtype == torch.int16:
        signal = np.clip(signal * 32767, -32768, 32767)
        poison = None  # integers hold neither NaN nor infinity
    elif poison is not None:
        signal[rng.integers(channels), rng.integers(samples)] = poison
    waveform = torch.from_numpy(signal).to(dtype)  # [C, S]
    featurizer = AudioFeaturizer(fps=fps, n_mels=n_mels, features=features)
    frames = frames_for(samples, sample_rate, fps)
    peak = waveform.double().abs().max().item()
    note(f"frames={frames} peak={peak}")
    if frames == 0:
        with pytest.raises(ValueError, match="^audio is shorter than one motion frame"):
            featurizer(waveform, sample_rate)
        return
    if poison is not None:
        with pytest.raises(ValueError, match="^audio holds NaN or infinite samples$"):
            featurizer(waveform, sample_rate)
        return
    try:
        out = featurizer(waveform, sample_rate)
    except ValueError as err:  # documented for samples of 1e17 and more, and only then
        assert peak >= 1e16 and str(err).startswith("audio too loud to analyse"), (peak, err)
        return
    assert out.shape == (frames, featurizer.dim) and out.dtype == torch.float32
    assert torch.isfinite(out).all()


@settings(max_examples=12)
@given(
    seconds=st.floats(0.3, 2.0),
    sample_rate=RATES,
    channels=st.integers(2, 8),
    fps=FPS,
    features=st.lists(st.sampled_from(FEATURE_NAMES), min_size=1, max_size=4, unique=True),
    amplitude=st.sampled_from([1e-3, 0.5, 1.0, 8.0]),
    seed=SEEDS,
)
def test_featurizer_mixes_channels_down_as_a_listener_hears_them(
    seconds, sample_rate, channels, fps, features, amplitude, seed
):
    rng = np.random.default_rng(seed)
    waveform = torch.from_numpy(amplitude * rng.uniform(-1, 1, (channels, int(seconds * sample_rate))))
    waveform = waveform.float()  # [C, S]
    featurizer = AudioFeaturizer(fps=fps, n_mels=16, features=features)
    close = {"atol": 1e-4, "rtol": 1e-4}
    # the order of the channels does not matter
    out = featurizer(waveform, sample_rate)
    torch.testing.assert_close(featurizer(waveform.flip(0), sample_rate), out, **close)
    # the same sound on every channel is that sound, not louder
    sound = waveform[0]
    mono = featurizer(sound, sample_rate)
    torch.testing.assert_close(featurizer(sound.expand(channels, -1), sample_rate), mono, **close)
    # beside a silent channel, a sound is heard at half its amplitude
    beside_silence = featurizer(torch.stack([sound, torch.zeros_like(sound)]), sample_rate)
    torch.testing.assert_close(beside_silence, featurizer(sound / 2, sample_rate), **close)
    if {"mel", "rms"} & set(features):  # features that follow the level tell half the amplitude apart
        assert not torch.allclose(beside_silence, mono, **close)


@given(
    sample_rate=st.one_of(
        st.integers(-48000, 0), st.sampled_from([44100.5, 0.5, math.nan, math.inf, -math.inf])
    )
)
def test_featurizer_refuses_a_sample_rate_that_is_not_a_positive_whole_number(sample_rate):
    with pytest.raises(ValueError, match="^sample rate must be a positive whole number of Hz"):
        AudioFeaturizer()(torch.zeros(2, 16000), sample_rate)


# --- load_audio --------------------------------------------------------------------------------------


@given(
    fmt=st.sampled_from(FORMATS),
    sample_rate=RATES,
    channels=st.integers(1, 8),
    samples=st.integers(1, 30_000),
    seed=SEEDS,
)
def test_load_audio_reads_every_format_within_its_precision(
    workdir, fmt, sample_rate, channels, samples, seed
):
    container, subtype, bits = fmt
    data = 0.999 * np.random.default_rng(seed).uniform(-1, 1, (samples, channels))  # [S, C] float64
    path = workdir / f"sound.{container.lower()}"
    soundfile.write(path, data, sample_rate, subtype=subtype, format=container)
    waveform, rate = load_audio(path)
    assert rate == sample_rate and waveform.shape == (channels, samples) and waveform.dtype == torch.float32
    step = 2.0 ** (1 - bits) if bits else 1e-7  # one quantisation step, or float32's rounding
    assert np.abs(waveform.numpy() - data.T).max() <= step + 1e-7


AUDIO_DEFECTS = {
    "no samples": "(audio has zero samples|not readable as audio)",  # libsndfile cannot open an empty FLAC
    "NaN": "audio holds NaN or infinite samples$",
    "+inf": "audio holds NaN or infinite samples$",
    "-inf": "audio holds NaN or infinite samples$",
    "text": "not readable as audio",
    "header only": "not readable as audio",
}


@given(
    defect=st.sampled_from(sorted(AUDIO_DEFECTS)),
    fmt=st.sampled_from(FORMATS),
    sample_rate=RATES,
    channels=st.integers(1, 8),
    samples=st.integers(1, 30_000),
    seed=SEEDS,
)
def test_load_audio_names_the_file_and_the_defect(workdir, defect, fmt, sample_rate, channels, samples, seed):
    container, subtype, _ = fmt
    rng = np.random.default_rng(seed)
    data = 0.999 * rng.uniform(-1, 1, (0 if defect == "no samples" else samples, channels))  # [S, C]
    if defect in ("NaN", "+inf", "-inf"):
        container, subtype = "WAV", str(rng.choice(["FLOAT", "DOUBLE"]))  # the formats that store them
        data[rng.integers(samples), rng.integers(channels)] = float(defect)
    path = workdir / f"bad.{container.lower()}"
    soundfile.write(path, data, sample_rate, subtype=subtype, format=container)
    if defect == "text":
        path.write_text("not audio\n" * samples)
    elif defect == "header only":
        path.write_bytes(path.read_bytes()[: rng.integers(1, 40)])
    with pytest.raises(InputError, match=rf"^{re.escape(str(path))}: {AUDIO_DEFECTS[defect]}"):
        load_audio(path)


@pytest.fixture(scope="module")
def encoded(workdir):
    """The bytes of one short stereo sound in each container the folder format reads."""
    kinds = {"wav": {}, "flac": {}, "ogg": {"subtype": "VORBIS"}}
    kinds["mp3"] = {"format": "MP3", "subtype": "MPEG_LAYER_III"}
    return {
        ext: write_audio(workdir / f"base.{ext}", 22050, 1.0, 2, **kw).read_bytes()
        for ext, kw in kinds.items()
    }


@settings(max_examples=40)
@given(
    ext=st.sampled_from(["wav", "flac", "ogg", "mp3"]),
    cut=st.one_of(st.none(), st.floats(0, 1)),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=40),
)
def test_damaged_audio_files_read_or_raise_input_error(workdir, encoded, ext, cut, flips):
    data = bytearray(encoded[ext])
    for where, value in flips:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    path = workdir / f"damaged.{ext}"
    path.write_bytes(bytes(data))
    try:
        waveform, rate = load_audio(path)
    except InputError as err:
        assert str(err).startswith(f"{path}: ") and "\n" not in str(err)
        return
    assert waveform.ndim == 2 and 1 <= waveform.shape[0] <= 2 and waveform.shape[1] >= 1
    assert waveform.dtype == torch.float32 and torch.isfinite(waveform).all() and rate > 0


# --- load_motion and load_clip -----------------------------------------------------------------------

FLOAT_DTYPES = ["float16", "float32", "float64", "longdouble"]


@given(
    frames=st.integers(1, 50),
    dim=st.integers(1, 8),
    dtype=st.sampled_from(FLOAT_DTYPES),
    order=st.sampled_from(["C", "F"]),
    scale=st.sampled_from([0.0, 1e-30, 1.0, 1e4, 1e30]),
    seed=SEEDS,
)
def test_load_motion_gives_float32_frames_of_any_float_file(workdir, frames, dim, dtype, order, scale, seed):
    with np.errstate(over="ignore"):
        motion = scale * np.random.default_rng(seed).standard_normal((frames, dim))
        motion = np.asarray(motion, order=order).astype(dtype, order=order)
        single = motion.astype(np.float32)
    np.save(workdir / "dance.npy", motion)
    if not np.isfinite(single).all():  # 1e30 overflows float16 itself, and float32
        with pytest.raises(InputError, match="motion holds (NaN or infinite values|values beyond float32's)"):
            load_motion(workdir / "dance.npy")
        return
    loaded = load_motion(workdir / "dance.npy")
    assert loaded.dtype == np.float32 and loaded.flags.c_contiguous
    np.testing.assert_array_equal(loaded, single)


MOTION_DEFECTS = {
    "shape": r"motion must be a \[T, D\] array, got shape",
    "dtype": "motion must be floating point, got",
    "NaN": "motion holds NaN or infinite values$",
    "inf": "motion holds NaN or infinite values$",
    "beyond float32": "motion holds values beyond float32's range",
    "npz": r"not a readable \.npy array \(an \.npz archive",
    "pickle": r"not a readable \.npy array \(Object arrays cannot be loaded",
}


@given(
    defect=st.sampled_from(sorted(MOTION_DEFECTS)),
    shape=st.lists(st.integers(0, 5), max_size=3).filter(lambda s: len(s) != 2 or min(s) == 0),
    frames=st.integers(1, 50),
    dim=st.integers(1, 8),
    dtype=st.sampled_from(["int8", "int64", "uint8", "bool", "complex64", "datetime64[s]"]),
    seed=SEEDS,
)
def test_load_motion_names_the_file_and_the_defect(workdir, defect, shape, frames, dim, dtype, seed):
    rng = np.random.default_rng(seed)
    motion = rng.standard_normal(shape if defect == "shape" else (frames, dim))
    path = workdir / "dance.npy"
    if defect == "dtype":
        motion = motion.astype(dtype)
    elif defect in ("NaN", "inf", "beyond float32"):
        at = np.unravel_index(rng.integers(motion.size), motion.shape)
        motion[at] = {"NaN": np.nan, "inf": -np.inf, "beyond float32": 1e39}[defect]
    if defect == "npz":
        with open(path, "wb") as handle:
            np.savez(handle, motion=motion)
    elif defect == "pickle":
        np.save(path, motion.astype(object), allow_pickle=True)
    else:
        np.save(path, motion)
    with pytest.raises(InputError, match=rf"^{re.escape(str(path))}: {MOTION_DEFECTS[defect]}"):
        load_motion(path)


@given(
    cut=st.floats(0, 1, exclude_max=False),
    flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=8),
)
def test_damaged_motion_files_read_or_raise_input_error(workdir, cut, flips):
    path = workdir / "damaged.npy"
    np.save(path, np.arange(24, dtype=np.float32).reshape(6, 4))
    data = bytearray(path.read_bytes())
    for where, value in flips:
        data[where % len(data)] = value
    path.write_bytes(bytes(data[: int(cut * len(data))]))
    try:
        motion = load_motion(path)
    except InputError as err:
        assert str(err).startswith(f"{path}: ")
        return
    assert motion.dtype == np.float32 and motion.ndim == 2 and np.isfinite(motion).all()


@settings(max_examples=25)
@given(
    sample_rate=RATES,
    fps=FPS,
    samples=st.integers(1, 40_000),
    channels=st.integers(1, 4),
    offset=st.integers(-4, 4),
    max_mismatch=st.integers(0, 3),
    dim=st.integers(1, 6),
    seed=SEEDS,
)
def test_load_clip_aligns_audio_and_motion_or_names_the_file(
    workdir, sample_rate, fps, samples, channels, offset, max_mismatch, dim, seed
):
    rng = np.random.default_rng(seed)
    pair = Pair("clip", workdir / "clip.wav", workdir / "clip.npy")
    soundfile.write(pair.audio, 0.5 * rng.uniform(-1, 1, (samples, channels)), sample_rate)
    audio_frames = frames_for(samples, sample_rate, fps)
    motion = rng.standard_normal((max(audio_frames + offset, 0), dim)).astype(np.float32)
    np.save(pair.motion, motion)
    featurizer = AudioFeaturizer(fps=fps, n_mels=8)
    note(f"audio frames {audio_frames}, motion frames {len(motion)}")
    if len(motion) == 0:
        with pytest.raises(
            InputError, match=rf"^{re.escape(str(pair.motion))}: motion must be a \[T, D\] array"
        ):
            load_clip(pair, featurizer, max_mismatch)
    elif audio_frames == 0:
        with pytest.raises(
            InputError, match=rf"^{re.escape(str(pair.audio))}: audio is shorter than one motion frame"
        ):
            load_clip(pair, featurizer, max_mismatch)
    elif abs(len(motion) - audio_frames) > max_mismatch:
        with pytest.raises(
            InputError, match=rf"^{re.escape(str(pair.motion))}: {len(motion)} frames but its audio gives"
        ):
            load_clip(pair, featurizer, max_mismatch)
    else:
        clip = load_clip(pair, featurizer, max_mismatch)
        frames = min(len(motion), audio_frames)
        assert clip.features.shape == (frames, featurizer.dim) and torch.isfinite(clip.features).all()
        assert clip.motion.shape == (frames, dim)
        np.testing.assert_array_equal(clip.motion.numpy(), motion[:frames])
