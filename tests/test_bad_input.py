"""One test per row of docs/bad_input.md: bad input gives one line naming the file and the problem (exit
1, no output file); merely unusual input gives correct output. Rows about what a user sees run the
entry points (train.py, scripts/infer.py) in a fresh interpreter; the rest use the library."""

import math
import re

import numpy as np
import pytest
import soundfile
import torch
from conftest import infer, run_script, tone_mix, write_audio

from audio2motion import load_model
from audio2motion.audio_io import load_audio
from audio2motion.data.datamodule import MotionDataModule
from audio2motion.data.folder import find_pairs, load_clip, load_motion, read_channel_names
from audio2motion.data.synthetic import write_synthetic_dataset
from audio2motion.errors import InputError
from audio2motion.features import AudioFeaturizer, resample_ratio

FEATURES = {"n_mels": 16}
# A training that takes seconds: small network, few epochs, no logger or progress bar.
FAST_TRAINING = [
    "model.net.dim=16",
    "model.net.blocks=2",
    "model.net.encoder_layers=1",
    "features.n_mels=16",
    "trainer.max_epochs=2",
    "logger=none",
    "callbacks.progress_bar.refresh_rate=0",
]


@pytest.fixture(autouse=True)
def hydra_short_errors(monkeypatch):
    """What a user sees by default: without HYDRA_FULL_ERROR, Hydra prints no stack trace."""
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)


@pytest.fixture(scope="module")
def ckpt(trained_run):
    return trained_run / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="module")
def model(ckpt):
    return load_model(ckpt)


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    """A valid folder data set: 4 clips of 2 s at 8 kHz, motion at 30 fps."""
    root = tmp_path_factory.mktemp("small_set")
    return write_synthetic_dataset(root, num_clips=4, duration=2.0, sample_rate=8000, fps=30, seed=0)


def train(tmp_path, *overrides):
    return run_script("train.py", *overrides, f"hydra.run.dir={tmp_path / 'run'}")


def the_error_line(result) -> str:
    """The one `error: ...` line of a failed run, which must also end its stderr, with no traceback."""
    assert result.returncode == 1, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1] == errors[0]
    return errors[0]


def assert_no_model_written(tmp_path):
    """A failed training leaves no checkpoint and no TensorBoard log behind."""
    assert not (tmp_path / "run" / "checkpoints").exists()
    assert not list((tmp_path / "run").rglob("events.out.tfevents.*"))


# --- train.py: data.root and settings ------------------------------------------------------------------


@pytest.mark.slow
def test_data_root_that_does_not_exist(tmp_path):
    missing = tmp_path / "no such folder"
    line = the_error_line(train(tmp_path, "data=folder", f"data.root={missing}"))
    assert line == f"error: {missing}: data root is not a folder"
    assert_no_model_written(tmp_path)


@pytest.mark.slow
def test_data_root_folder_without_audio(tmp_path):
    root = tmp_path / "motion_only"
    root.mkdir()
    np.save(root / "dance.npy", np.zeros((60, 3), dtype=np.float32))
    (root / "notes.txt").write_text("no audio here")
    line = the_error_line(train(tmp_path, "data=folder", f"data.root={root}"))
    assert line.startswith(f"error: {root}: no pairs of audio (.wav, .flac, .ogg, .mp3) and motion (.npy)")
    assert_no_model_written(tmp_path)


@pytest.mark.slow
def test_zero_fps_through_train_py(tmp_path, small_set):
    line = the_error_line(train(tmp_path, "data=folder", f"data.root={small_set}", "data.fps=0"))
    assert line == "error: data.fps must be a positive number, got 0"
    assert_no_model_written(tmp_path)


@pytest.mark.parametrize(
    ("name", "value"),
    [("fps", 0), ("fps", -30), ("fps", math.nan), ("window_seconds", 0), ("stride_seconds", -1.0)],
)
def test_zero_or_negative_fps_window_or_stride_is_refused(small_set, name, value):
    settings = {"fps": 30, "window_seconds": 2.0, "stride_seconds": 0.5, name: value}
    with pytest.raises(InputError, match=rf"^data\.{name} must be a positive number, got {value}$"):
        MotionDataModule(str(small_set), features=FEATURES, **settings)


@pytest.mark.slow
def test_data_folder_without_data_root(tmp_path):
    line = the_error_line(train(tmp_path, "data=folder"))
    assert "data.root" in line
    assert_no_model_written(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("override", ["data.no_such_key=1", "+data.no_such_key=1"])
def test_unknown_config_key(tmp_path, override):
    """Hydra's own message, which names the key, and exit code 1, with no Python stack trace."""
    result = train(tmp_path, "data=folder", f"data.root={tmp_path}", override)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "no_such_key" in result.stderr
    if override.startswith("+"):  # composes, then the data module refuses the argument
        assert "unexpected keyword argument 'no_such_key'" in result.stderr
    else:
        assert "Could not override 'data.no_such_key'" in result.stderr
    assert_no_model_written(tmp_path)


@pytest.mark.slow
def test_window_longer_than_every_clip_trains_on_padded_windows(tmp_path, small_set):
    """30 s windows over 2 s clips: each clip is one zero-padded window (its mask marks the real frames);
    training ends with a finite validation error and the model runs on a clip of any length."""
    result = train(
        tmp_path, "data=folder", f"data.root={small_set}", "data.window_seconds=30", *FAST_TRAINING
    )
    assert result.returncode == 0, result.stderr[-3000:]
    printed = re.search(r"model ([\d.]+) \| mean pose ([\d.]+)", result.stdout)
    model_nmse, mean_pose = map(float, printed.groups())
    assert math.isfinite(model_nmse) and 0.5 < mean_pose < 2
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["hyper_parameters"]["window"] == 900
    waveform, sample_rate = load_audio(small_set / "clip_000.wav")  # 2 s
    motion = load_model(last).generate(waveform, sample_rate).values
    assert motion.shape == (60, 9) and torch.isfinite(motion).all()


# --- scripts/infer.py: one run over a folder of bad files, one test per kind ----------------------------


@pytest.fixture(scope="module")
def infer_bad_folder(ckpt, tmp_path_factory):
    """scripts/infer.py over a folder holding one good file and one file of each bad kind."""
    src = tmp_path_factory.mktemp("bad_audio")
    out = src / "out"
    write_audio(src / "good.wav", 16000, 2.0)
    soundfile.write(src / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    (src / "text.wav").write_text("just text in a file named .wav\n" * 20)
    whole = write_audio(src / "cut.flac", 16000, 2.0).read_bytes()
    (src / "cut.flac").write_bytes(whole[: len(whole) // 2])  # cut in the middle of the stream
    corrupt = bytearray(write_audio(src / "corrupt.flac", 16000, 2.0).read_bytes())
    rng = np.random.default_rng(0)
    for at in rng.integers(len(corrupt) // 4, len(corrupt), 40):
        corrupt[at] = int(rng.integers(256))
    (src / "corrupt.flac").write_bytes(bytes(corrupt))
    for name, bad, subtype in [("nan", math.nan, "FLOAT"), ("inf", -math.inf, "DOUBLE")]:
        samples = tone_mix(16000, 2.0).astype(np.float64)
        samples[12345] = bad
        soundfile.write(src / f"{name}.wav", samples, 16000, subtype=subtype)
    soundfile.write(src / "loud.wav", tone_mix(16000, 2.0).astype(np.float64) * 1e30, 16000, subtype="DOUBLE")
    full = write_audio(src / "cut_wav.wav", 16000, 3.0).read_bytes()  # 16-bit mono
    header = len(full) - 3 * 16000 * 2
    (src / "cut_wav.wav").write_bytes(full[: header + 2 * 16000 * 2 + 501])  # 2 s and 250.5 samples
    result = infer(ckpt, src, out)
    return src, out, result


def error_for(infer_bad_folder, name: str) -> str:
    """The problem stated on `name`'s one error line, once sure that nothing was written for it."""
    src, out, result = infer_bad_folder
    assert result.returncode == 1 and "Traceback" not in result.stderr
    mine = [line for line in result.stderr.splitlines() if line.startswith(f"error: {src / name}: ")]
    assert len(mine) == 1, result.stderr
    assert not (out / f"{name.rsplit('.', 1)[0]}.npz").exists()
    return mine[0].removeprefix(f"error: {src / name}: ")


@pytest.mark.slow
def test_bad_files_in_a_folder_are_reported_and_the_good_ones_written(infer_bad_folder):
    src, out, result = infer_bad_folder
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 7 and "7 of 9 files failed" in result.stderr, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["cut_wav.npz", "good.npz"]
    with np.load(out / "good.npz") as npz:
        assert npz["motion"].shape == (60, 9) and np.isfinite(npz["motion"]).all()


@pytest.mark.slow
def test_zero_length_audio(infer_bad_folder):
    assert error_for(infer_bad_folder, "empty.wav") == "audio has zero samples"


@pytest.mark.slow
def test_text_file_named_wav(infer_bad_folder):
    assert error_for(infer_bad_folder, "text.wav").startswith("not readable as audio (")


@pytest.mark.slow
def test_truncated_flac_is_refused(infer_bad_folder):
    assert error_for(infer_bad_folder, "cut.flac").startswith("not readable as audio (")


@pytest.mark.slow
def test_corrupt_audio_bytes(infer_bad_folder):
    assert error_for(infer_bad_folder, "corrupt.flac").startswith("not readable as audio (")


@pytest.mark.slow
def test_audio_with_nan_or_inf_samples(infer_bad_folder):
    assert error_for(infer_bad_folder, "nan.wav") == "audio holds NaN or infinite samples"
    assert error_for(infer_bad_folder, "inf.wav") == "audio holds NaN or infinite samples"


@pytest.mark.slow
def test_float_audio_too_loud_to_analyse(infer_bad_folder):
    peak = np.abs(tone_mix(16000, 2.0).astype(np.float64) * 1e30).max()
    message = error_for(infer_bad_folder, "loud.wav")
    assert message == (
        f"audio too loud to analyse (peak sample {peak:.3g}; float audio belongs within [-1, 1])"
    )


@pytest.mark.slow
def test_truncated_wav_gives_motion_for_the_samples_it_holds(infer_bad_folder, model):
    src, out, _ = infer_bad_folder
    with np.load(out / "cut_wav.npz") as npz:
        motion = npz["motion"]
    assert motion.shape == (60, 9) and np.isfinite(motion).all()  # 2 s (and half a sample) were left
    # the same as the first 2 s of the sound, read whole
    whole = model.generate(torch.from_numpy(tone_mix(16000, 3.0)[: 2 * 16000]), 16000).values.numpy()
    assert np.abs(motion - whole).max() < 0.05 * whole.std()


@pytest.mark.slow
@pytest.mark.parametrize("where", ["file", "inside a file"])
def test_out_folder_that_is_a_file(ckpt, tmp_path, where):
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    out = taken if where == "file" else taken / "out"
    audio = write_audio(tmp_path / "song.wav", 16000, 1.0)
    result = infer(ckpt, audio, out)
    reason = "File exists" if where == "file" else "Not a directory"
    assert the_error_line(result) == f"error: {out}: cannot be the output folder ({reason})"
    assert taken.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.wav", "taken"]


def test_header_claiming_more_samples_than_the_file_holds(tmp_path):
    """Read in blocks until the data ends, never into one array of the claimed length (512 GiB here)."""
    wav = write_audio(tmp_path / "song.wav", 16000, 1.0, channels=2)
    whole, _ = load_audio(wav)
    data = bytearray(wav.read_bytes())
    at = data.index(b"data") + 4
    data[at : at + 4] = (0xFFFFFFF0).to_bytes(4, "little")  # the data chunk claims 4 GiB
    wav.write_bytes(bytes(data))
    waveform, _ = load_audio(wav)  # libsndfile reads what the file holds
    assert torch.equal(waveform, whole)
    flac = write_audio(tmp_path / "song.flac", 16000, 1.0, channels=2)
    data = bytearray(flac.read_bytes())
    data[21] |= 0x0F  # STREAMINFO's 36-bit sample count, after "fLaC", a block header and 13 bytes
    data[22:26] = b"\xff\xff\xff\xff"
    flac.write_bytes(bytes(data))
    assert soundfile.info(str(flac)).frames == 2**36 - 1
    with pytest.raises(InputError, match=rf"^{re.escape(str(flac))}: not readable as audio \("):
        load_audio(flac)


# --- the library: unusual audio that must give correct motion ----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("subtype", "channels", "tolerance"),
    [("PCM_U8", 1, 0.5), ("PCM_24", 1, 0.005), ("FLOAT", 1, 0.005), ("PCM_16", 8, 0.05)],
    ids=["8-bit", "24-bit", "float", "8-channel"],
)
def test_8bit_24bit_float_and_8_channel_audio_give_the_16bit_mono_motion(
    model, tmp_path, subtype, channels, tolerance
):
    """Same sound, other sample format: the motion of 16-bit mono, within `tolerance` x its spread (8-bit
    audio carries quantisation noise at -48 dB, which the quietest mel bands hear)."""
    reference = model.generate(
        *load_audio(write_audio(tmp_path / "ref.wav", 16000, 3.0, subtype="PCM_16"))
    ).values
    path = write_audio(tmp_path / "odd.wav", 16000, 3.0, channels=channels, subtype=subtype)
    waveform, sample_rate = load_audio(path)
    assert waveform.shape == (channels, 48000) and sample_rate == 16000
    motion = model.generate(waveform, sample_rate).values
    assert motion.shape == reference.shape == (90, 9) and torch.isfinite(motion).all()
    assert (motion - reference).abs().max() < tolerance * reference.std()
    # The bound means something: the same sound played backwards is much further away.
    backwards = model.generate(torch.from_numpy(tone_mix(16000, 3.0)[::-1].copy()), 16000).values
    assert (backwards - reference).abs().max() > 1.5 * tolerance * reference.std()


@pytest.mark.slow
def test_all_silent_audio_gives_finite_motion(model, tmp_path):
    soundfile.write(tmp_path / "silence.wav", np.zeros((3 * 22050, 2), dtype=np.int16), 22050)
    motion = model.generate(*load_audio(tmp_path / "silence.wav")).values
    assert motion.shape == (90, 9) and torch.isfinite(motion).all()
    assert motion.abs().max() < 5  # the training motion lies within [-1, 1]: not blown up by log(0)


@pytest.mark.slow
def test_ten_minutes_of_audio_give_every_frame(model, tmp_path):
    path = write_audio(tmp_path / "long.wav", 8000, 600.0)
    waveform, sample_rate = load_audio(path)
    motion = model.generate(waveform, sample_rate).values
    assert motion.shape == (18000, 9) and torch.isfinite(motion).all()
    head = model.generate(waveform[:, : 20 * 8000], sample_rate).values  # the first 20 s alone
    torch.testing.assert_close(motion[:500], head[:500], atol=1e-4, rtol=0)
    # The sound repeats every 10 s (300 frames) and the windows every `hop` frames, so the motion repeats
    # every lcm(300, hop) frames: the end of the file is as right as its start.
    period = math.lcm(300, model.window - model.window // 3)  # the default overlap
    late = (18000 - 2 * model.window - 900) // period * period
    assert late > 15000
    torch.testing.assert_close(motion[late : late + 900], motion[period : period + 900], atol=1e-4, rtol=0)


@pytest.mark.slow
def test_sample_rate_coprime_with_the_feature_rate(model):
    """44101 Hz shares no factor with 16 kHz: its exact resampling kernel would be 16000 x 44101 taps
    (12 GB, 46 s per second of audio); the nearest ratio with a period of at most 1000 samples is used."""
    orig, new = resample_ratio(44101, 16000)
    assert orig <= 1000 and abs(44101 * new / orig / 16000 - 1) < 5e-4
    assert resample_ratio(44100, 16000) == (441, 160)  # common rates stay exact
    reference = model.generate(torch.from_numpy(tone_mix(44100, 3.0)), 44100).values
    motion = model.generate(torch.from_numpy(tone_mix(44101, 3.0)), 44101).values
    assert motion.shape == reference.shape == (90, 9)
    assert (motion - reference).abs().max() < 0.05 * reference.std()


# --- the library: bad motion files -------------------------------------------------------------------


def make_pair(root, name, frames=60, dim=4):
    write_audio(root / f"{name}.wav", 16000, frames / 30)
    np.save(root / f"{name}.npy", np.random.default_rng(0).standard_normal((frames, dim)).astype(np.float32))


def test_motion_width_differs_from_channels_txt(tmp_path):
    make_pair(tmp_path, "a", dim=4)
    (tmp_path / "channels.txt").write_text("hips\nknee\nelbow\n")
    with pytest.raises(InputError, match=r"channels\.txt: names 3 channels but the motion has 4$"):
        read_channel_names(tmp_path, 4)
    make_pair(tmp_path, "b", dim=4)
    with pytest.raises(InputError, match=r"channels\.txt: names 3 channels but the motion has 4$"):
        MotionDataModule(str(tmp_path), fps=30, features=FEATURES).setup()


def test_motion_npz_archive_named_npy(tmp_path):
    with open(tmp_path / "dance.npy", "wb") as handle:
        np.savez(handle, motion=np.zeros((60, 4), dtype=np.float32))
    with pytest.raises(InputError, match=r"dance\.npy: not a readable \.npy array \(an \.npz archive"):
        load_motion(tmp_path / "dance.npy")


def test_motion_beyond_float32_range(tmp_path):
    motion = np.zeros((60, 4))
    motion[10, 2] = 1e39  # finite in float64, infinite in float32
    np.save(tmp_path / "dance.npy", motion)
    with pytest.raises(InputError, match=r"dance\.npy: motion holds values beyond float32's range"):
        load_motion(tmp_path / "dance.npy")
    np.save(tmp_path / "dance.npy", np.asfortranarray(motion.clip(max=3e38)))  # merely unusual
    loaded = load_motion(tmp_path / "dance.npy")
    assert loaded.dtype == np.float32 and loaded.flags.c_contiguous and loaded[10, 2] == np.float32(3e38)


def test_audio_of_nan_or_inf_samples_in_a_data_set_names_the_file(tmp_path):
    make_pair(tmp_path, "a")
    samples = tone_mix(16000, 2.0)
    samples[100] = np.inf
    soundfile.write(tmp_path / "a.wav", samples, 16000, subtype="FLOAT")
    with pytest.raises(InputError, match=r"a\.wav: audio holds NaN or infinite samples$"):
        load_clip(find_pairs(tmp_path)["a"], AudioFeaturizer(fps=30, **FEATURES), 2)
