"""scripts/infer.py and the Python API on good and bad input."""

import numpy as np
import pytest
import soundfile
import torch
from conftest import PlantedCode, infer, tone_mix, write_audio
from test_config import compose_train

from audio2motion import load_model
from audio2motion.data.windows import window_starts
from audio2motion.errors import InputError
from audio2motion.training.run import train

pytestmark = pytest.mark.slow  # every test uses a trained model; most run scripts/infer.py too


@pytest.fixture(scope="module")
def ckpt(trained_run):
    return trained_run / "checkpoints" / "last.ckpt"


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def test_folder_of_mixed_files_writes_the_good_ones_and_reports_the_bad(ckpt, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    write_audio(src / "a.wav", 22050, 3.0)
    write_audio(src / "b.mp3", 44100, 2.0, channels=2, format="MP3", subtype="MPEG_LAYER_III")
    write_audio(src / "c.ogg", 48000, 1.5, subtype="VORBIS")
    write_audio(src / "d.FLAC", 16000, 4.0)
    soundfile.write(src / "silent.wav", np.zeros(32000, dtype=np.float32), 16000)
    (src / "readme.txt").write_text("ignored")
    (src / "fake.wav").write_text("not audio at all")
    soundfile.write(src / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    soundfile.write(src / "blip.wav", np.zeros(100, dtype=np.float32), 16000)
    truncated = (src / "a.wav").read_bytes()[:30]
    (src / "truncated.flac").write_bytes(truncated)

    result = infer(ckpt, src, out)
    assert result.returncode == 1
    errors = error_lines(result)
    assert len(errors) == 4, result.stderr
    for name, problem in [
        ("fake.wav", "not readable as audio"),
        ("empty.wav", "zero samples"),
        ("blip.wav", "shorter than one motion frame"),
        ("truncated.flac", "not readable as audio"),
    ]:
        assert any(str(src / name) in line and problem in line for line in errors), (name, errors)
    assert "4 of 9 files failed" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.npz", "b.npz", "c.npz", "d.npz", "silent.npz"]
    for name, seconds in [("a", 3.0), ("b", 2.0), ("c", 1.5), ("d", 4.0), ("silent", 2.0)]:
        with np.load(out / f"{name}.npz") as npz:
            # MP3 decoders may add up to a frame of padding
            assert abs(npz["motion"].shape[0] - seconds * 30) <= 1, name
            assert np.isfinite(npz["motion"]).all()


def test_good_folder_exits_zero(ckpt, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write_audio(src / "x.wav", 16000, 1.0)
    result = infer(ckpt, src, tmp_path / "out")
    assert result.returncode == 0 and not error_lines(result)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["x.npz"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing_ckpt", "no such checkpoint"),
        ("truncated_ckpt", "not a readable audio2motion checkpoint"),
        ("missing_audio", "no such audio file or folder"),
        ("empty_folder", "folder holds no .wav"),
        ("unknown_format", "format=gltf: must be one of npz, bvh"),
    ],
)
def test_unusable_arguments_give_one_line_and_no_output(ckpt, tmp_path, setup, message):
    audio, model, extra = tmp_path / "song.wav", ckpt, []
    write_audio(audio, 16000, 1.0)
    if setup == "missing_ckpt":
        model = tmp_path / "nope.ckpt"
    elif setup == "truncated_ckpt":
        model = tmp_path / "cut.ckpt"
        model.write_bytes(ckpt.read_bytes()[:5000])
    elif setup == "missing_audio":
        audio = tmp_path / "nope.wav"
    elif setup == "unknown_format":
        extra = ["format=gltf"]
    else:
        audio = tmp_path / "empty"
        audio.mkdir()
    result = infer(model, audio, tmp_path / "out", *extra)
    assert result.returncode == 1
    assert error_lines(result) == result.stderr.strip().splitlines()
    assert len(error_lines(result)) == 1 and message in result.stderr
    assert extra or str(model if "ckpt" in setup else audio) in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_same_output_name_twice_is_refused_not_overwritten(ckpt, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write_audio(src / "take.flac", 16000, 1.0)
    write_audio(src / "take.wav", 16000, 2.0)
    result = infer(ckpt, src, tmp_path / "out")
    assert result.returncode == 1 and "same output name take.npz" in result.stderr
    with np.load(tmp_path / "out" / "take.npz") as npz:
        assert npz["motion"].shape[0] == 30  # from take.flac, the first by name


@pytest.fixture(scope="module")
def attention_ckpt(tmp_path_factory):
    """last.ckpt of a short experiment=tiny training of a conv + attention model, in this process."""
    base = tmp_path_factory.mktemp("attention")
    overrides = [
        "experiment=tiny",
        "model.net.mixing=[conv,attention]",
        "data.generator.num_clips=12",
        "trainer.max_epochs=6",
        "logger=none",
        "callbacks.progress_bar.refresh_rate=0",
    ]
    train(compose_train(overrides, base, base / "data"))
    return base / "run" / "checkpoints" / "last.ckpt"


def steps_at_window_edges_and_inside(model, motion: torch.Tensor, overlap: int):
    """The largest step from each frame to the next `[T-1]` over the channels, each channel in units of its
    standard deviation over the clip, split into the steps where a window's part of the motion begins or
    ends and the steps inside windows (2 frames or more from such an edge and from the clip's ends)."""
    steps = (motion.diff(dim=0) / motion.std(dim=0)).abs().amax(dim=1).numpy()  # [T-1]
    frames, window = motion.shape[0], model.window
    starts = window_starts(frames, window, window - overlap)
    # steps[i] is frame i -> i + 1: into a window's first frame, out of its last
    edges = sorted({s - 1 for s in starts[1:]} | {s + window - 1 for s in starts[:-1]})
    near = {i + d for i in [0, *edges, frames - 2] for d in range(-2, 3)}
    inside = [i for i in range(frames - 1) if i not in near]
    return steps[edges], steps[inside]


def test_attention_windows_blend_without_seams(attention_ckpt):
    model = load_model(attention_ckpt)
    assert model.model.context is None and model.window == 60  # windows blended over overlaps
    waveform = torch.from_numpy(tone_mix(16000, 20.0))  # 600 frames: 14 windows of 60 at the default
    blended = model.generate(waveform, 16000).values  # overlap of 20 frames, cross-faded
    assert blended.shape == (600, 9)
    edges, inside = steps_at_window_edges_and_inside(model, blended, model.window // 3)
    note = f"window edges: median {np.median(edges):.2f}, max {edges.max():.2f}; inside: "
    note += f"median {np.median(inside):.2f}, max {inside.max():.2f}"
    # measured: edges median 0.63, max 1.60; inside median 0.59, max 1.93 (windows averaged without the
    # cross-fade: edges median 2.91, max 3.63)
    assert np.median(edges) <= 1.5 * np.median(inside) and edges.max() <= inside.max(), note
    # Windows joined without a cross-fade: the motion jumps where one window hands over to the next.
    cut = model.generate(waveform, 16000, overlap=0).values
    edges, inside = steps_at_window_edges_and_inside(model, cut, 0)
    assert np.median(edges) > 3 * np.median(inside), (np.median(edges), np.median(inside))  # 4.63, 0.57


def test_convolutional_model_runs_windows_exactly_as_one_pass(ckpt):
    model = load_model(ckpt)
    assert model.model.context is not None  # convolutions alone: windows read their context, no blending
    waveform = torch.from_numpy(tone_mix(16000, 8.0))  # 240 frames: four 60-frame windows, or one pass
    windowed = model.generate(waveform, 16000).values
    with torch.inference_mode():
        features = model.feature_norm(model.featurizer(waveform, 16000))
        one_pass = model.motion_norm.inverse(model.model(features[None])[0])
    # The goal is within 5 % of the motion's deviation; convolutional windows give it to rounding.
    assert (windowed - one_pass).abs().max() < 1e-5 * one_pass.abs().max()


def test_api_reads_any_rate_and_channel_count(ckpt):
    model = load_model(ckpt)
    mono = model.generate(torch.from_numpy(tone_mix(16000, 3.0)), 16000).values
    stereo = model.generate(torch.from_numpy(tone_mix(48000, 3.0, channels=2).T.copy()), 48000).values
    assert mono.shape == stereo.shape == (90, 9)
    assert (mono - stereo).abs().max() < 0.05 * mono.std()
    with pytest.raises(InputError, match="no such checkpoint"):
        load_model("missing.ckpt")
    with pytest.raises(ValueError, match="overlap must be 0 or more"):
        model.generate(torch.zeros(16000), 16000, overlap=-1)


def test_checkpoint_of_another_model_is_a_one_line_error(ckpt, tmp_path):
    checkpoint = torch.load(ckpt, weights_only=True)
    del checkpoint["hyper_parameters"]["layout"]
    torch.save(checkpoint, tmp_path / "no_layout.ckpt")
    checkpoint = torch.load(ckpt, weights_only=True)
    checkpoint["hyper_parameters"]["net"]["dim"] = 48
    torch.save(checkpoint, tmp_path / "resized.ckpt")
    for name in ("no_layout.ckpt", "resized.ckpt"):
        with pytest.raises(InputError, match="not a readable audio2motion checkpoint") as caught:
            load_model(tmp_path / name)
        assert "\n" not in str(caught.value) and name in str(caught.value)


def test_negative_overlap_is_refused_before_any_work(ckpt, tmp_path):
    write_audio(tmp_path / "a.wav", 16000, 1.0)
    result = infer(ckpt, tmp_path / "a.wav", tmp_path / "out", "overlap=-3")
    assert result.returncode == 1 and error_lines(result) == ["error: overlap=-3: must be 0 or more frames"]
    assert not (tmp_path / "out").exists()


def test_checkpoint_with_pickled_code_is_refused_and_never_run(ckpt, tmp_path):
    marker = tmp_path / "code_ran"
    checkpoint = torch.load(ckpt, weights_only=True)
    checkpoint["hyper_parameters"]["extra"] = PlantedCode(marker)
    torch.save(checkpoint, tmp_path / "planted.ckpt")
    with pytest.raises(InputError, match=r"planted\.ckpt: refused: it holds pickled objects"):
        load_model(tmp_path / "planted.ckpt")
    write_audio(tmp_path / "song.wav", 16000, 1.0)
    result = infer(tmp_path / "planted.ckpt", tmp_path / "song.wav", tmp_path / "out")
    assert result.returncode == 1 and len(error_lines(result)) == 1 and "refused" in result.stderr
    assert not marker.exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    torch.load(tmp_path / "planted.ckpt", weights_only=False)  # the file does carry code: it runs here
    assert marker.exists()


def test_batch_skips_what_is_done_unless_overwrite_and_sums_up(ckpt, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    write_audio(src / "one.wav", 16000, 2.0)
    write_audio(src / "two.flac", 44100, 3.0, channels=2)
    (src / "bad.wav").write_text("not audio")
    first = infer(ckpt, src, out)
    assert first.returncode == 1 and "1 of 3 files failed" in first.stderr
    assert "2 done, 0 skipped, 1 failed: 5.0 s of audio in" in first.stdout
    assert "s of audio per second)" in first.stdout and "3/3" in first.stderr  # the progress bar's end
    written = (out / "one.npz").stat().st_mtime_ns

    again = infer(ckpt, src, out)
    assert "0 done, 2 skipped, 1 failed: 0.0 s of audio" in again.stdout
    assert (
        f"{src / 'one.wav'}: {out / 'one.npz'} is there already, skipped (overwrite=true redoes it)"
        in again.stdout
    )
    assert (out / "one.npz").stat().st_mtime_ns == written

    write_audio(src / "one.flac", 16000, 1.0)  # one.npz's name, and first by name: one.wav is refused
    renamed = infer(ckpt, src, out)
    assert f"{src / 'one.wav'}: same output name one.npz as one.flac" in renamed.stderr
    assert "0 done, 2 skipped, 2 failed" in renamed.stdout
    (src / "one.flac").unlink()
    (out / "one.npz").unlink()
    redone = infer(ckpt, src, out, "overwrite=true", "progress=false")
    assert "2 done, 0 skipped, 1 failed" in redone.stdout and "3/3" not in redone.stderr
    assert (out / "one.npz").stat().st_mtime_ns > written


def test_file_inference_in_blocks_equals_inference_on_the_loaded_samples(ckpt, tmp_path, monkeypatch):
    from audio2motion import audio_io
    from audio2motion.audio_io import load_audio

    model = load_model(ckpt)
    path = write_audio(tmp_path / "song.wav", 44100, 7.3, channels=2)
    generated = model.generate(*load_audio(path))
    assert generated.layout == model.layout and generated.channel("hips.bob").shape == (219,)
    with pytest.raises(ValueError, match="this motion layout has no skeleton"):
        generated.joint_positions()
    whole = generated.values
    monkeypatch.setattr(audio_io, "BLOCK_SAMPLES", 10_000)  # 5,000 frames of stereo: 66 blocks
    blocks = model.generate_file(path).values
    assert blocks.shape == whole.shape == (219, 9)
    assert (blocks - whole).abs().max() < 1e-4 * whole.abs().max()
