"""scripts/export.py: TorchScript and ONNX files that match the checkpoint without audio2motion."""

import json
import subprocess
import sys

import numpy as np
import onnxruntime
import pytest
import torch
from conftest import ROOT, run_script, tone_mix

from audio2motion import MotionGenerator, load_model
from audio2motion.checkpoint import read_checkpoint
from audio2motion.errors import InputError
from audio2motion.export import METADATA, export, load_exported
from audio2motion.models import Audio2Motion, NetworkConfig

pytestmark = pytest.mark.slow  # every test uses a trained model; most run scripts/export.py

RATE = 16000  # the featurizer's, which exported files take


@pytest.fixture(scope="module")
def ckpt(trained_run):
    return trained_run / "checkpoints" / "last.ckpt"


def stereo(seconds: float) -> np.ndarray:
    return np.ascontiguousarray(tone_mix(RATE, seconds, channels=2).T)  # [2, samples]


def expected(generator: MotionGenerator, waveform: np.ndarray) -> np.ndarray:
    return generator.generate(torch.from_numpy(waveform), RATE).values.numpy()


@pytest.mark.parametrize("file_format", ["torchscript", "onnx"])
def test_exported_file_matches_the_checkpoint_at_any_length(ckpt, tmp_path, file_format):
    out = tmp_path / f"model.{file_format}"
    result = run_script("scripts/export.py", f"ckpt={ckpt}", f"format={file_format}", f"out={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"wrote {out}" in result.stdout
    generator = load_model(ckpt)
    run, info = load_exported(out, file_format)
    assert (info["sample_rate"], info["fps"], info["layout"]) == (RATE, 30.0, generator.layout)
    assert info["max_frames"] is None  # a convolutional model: one pass is generate at any length
    # 4.3 s is two training windows and a bit: the windows (TorchScript) and one pass (ONNX) both show
    for seconds in (0.5, 4.3, 31.7):
        waveform = stereo(seconds)
        want, got = expected(generator, waveform), run(waveform)
        assert got.shape == want.shape == (int(seconds * 30), generator.layout["dim"])
        assert np.abs(got - want).max() < 1e-4, seconds
    if file_format == "onnx":  # what other runtimes see: names and the metadata property
        session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == ["waveform"]
        assert [o.name for o in session.get_outputs()] == ["motion"]
        assert json.loads(session.get_modelmeta().custom_metadata_map[METADATA]) == info


def test_torchscript_runs_without_audio2motion_on_mono_and_stereo(ckpt, tmp_path):
    out = tmp_path / "model.pt"
    assert run_script("scripts/export.py", f"ckpt={ckpt}", f"out={out}").returncode == 0
    program = f"""
import json, sys, torch
sys.modules["audio2motion"] = None  # any import of the package fails
extra = {{"{METADATA}": ""}}
model = torch.jit.load("{out}", _extra_files=extra)
rate = json.loads(extra["{METADATA}"])["sample_rate"]
stereo = torch.linspace(-1, 1, 2 * rate * 3).reshape(2, -1).sin() * 0.3
mono = model(stereo.mean(0))
print(json.dumps([list(mono.shape), (model(stereo) - mono).abs().max().item()]))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    shape, difference = json.loads(done.stdout)
    assert shape[0] == 90 and difference < 1e-5  # stereo is mixed to mono first
    with pytest.raises(torch.jit.Error, match="shorter than one motion frame"):
        torch.jit.load(str(out))(torch.zeros(100))


def untrained_model(ckpt, **net) -> MotionGenerator:
    """The trained run's featurizer and normalisation with an untrained network of the run's settings and
    `net`'s, whose DenseFiLM layers are randomised (a fresh one starts as the identity)."""
    checkpoint = read_checkpoint(ckpt)
    hparams = checkpoint["hyper_parameters"]
    hparams["net"] = {**hparams["net"], **net}
    torch.manual_seed(0)
    net = Audio2Motion(
        hparams["feature_dim"], hparams["layout"]["dim"], NetworkConfig.from_dict(hparams["net"])
    )
    for name, weight in net.named_parameters():
        if ".film." in name:
            torch.nn.init.normal_(weight, std=0.2)
    state = {k: v for k, v in checkpoint["state_dict"].items() if not k.startswith("model.")}
    state |= {f"model.{k}": v for k, v in net.state_dict().items()}
    return MotionGenerator(hparams, state)


def test_spline_model_exports_to_torchscript_at_any_length_and_not_to_onnx(ckpt, tmp_path):
    generator = untrained_model(ckpt, spline_step=4)
    assert generator.model.context is None  # blended windows, as attention
    info = export(generator, tmp_path / "m.pt", "torchscript", seconds=10.0, tolerance=1e-4)
    assert info["max_difference"] < 1e-4 and info["max_frames"] is None
    run, _ = load_exported(tmp_path / "m.pt", "torchscript")
    long = stereo(7.1)  # windows blended over overlaps
    assert np.abs(run(long) - expected(generator, long)).max() < 1e-4
    with pytest.raises(InputError, match="spline_step=4 exports to TorchScript only"):
        export(generator, tmp_path / "m.onnx", "onnx", seconds=10.0, tolerance=1e-4)
    assert not (tmp_path / "m.onnx").exists()


def test_attention_model_exports_its_windows_to_torchscript_and_one_window_to_onnx(ckpt, tmp_path):
    generator = untrained_model(ckpt, mixing=["conv", "attention"], heads=2)
    assert generator.model.context is None and generator.window == 60
    long = stereo(7.1)  # windows blended over overlaps
    for file_format, suffix in [("torchscript", "pt"), ("onnx", "onnx")]:
        info = export(generator, tmp_path / f"m.{suffix}", file_format, seconds=10.0, tolerance=1e-4)
        assert info["max_difference"] < 1e-4
        run, _ = load_exported(tmp_path / f"m.{suffix}", file_format)
        if file_format == "torchscript":
            assert info["max_frames"] is None
            assert np.abs(run(long) - expected(generator, long)).max() < 1e-4
        else:  # one pass: checked up to one window, the longest input it matches generate on
            assert info["max_frames"] == 60 and info["checked_samples"][0] == 2 * RATE
            assert np.abs(run(long) - expected(generator, long)).max() > 1e-3


def test_export_that_would_not_match_writes_nothing(ckpt, tmp_path):
    out = tmp_path / "m.pt"
    out.write_bytes(b"the previous export")
    with pytest.raises(InputError, match=r"m\.pt: not written: .* differs from the checkpoint by up to"):
        export(load_model(ckpt), out, "torchscript", seconds=2.0, tolerance=-1.0)
    assert out.read_bytes() == b"the previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]  # no temporary file left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["format=tflite"], "format=tflite: must be one of torchscript, onnx"),
        (["out=/nonexistent/dir/m.pt"], "/nonexistent/dir/m.pt: its folder does not exist"),
        (["out=/tmp"], "/tmp: is a folder; out= names the file to write"),
        (["format=tflite", "out=/tmp/m.tflite"], "format=tflite: must be one of torchscript, onnx"),
    ],
)
def test_unusable_arguments_give_one_line(ckpt, args, message):
    result = run_script("scripts/export.py", f"ckpt={ckpt}", *args)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: {message}"]
