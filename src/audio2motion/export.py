"""Self-contained model files that turn a waveform into motion without this package (scripts/export.py):
TorchScript (`torch.jit.load`) and ONNX (ONNX Runtime, or any ONNX runtime)."""

import json
import logging
import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from torch import nn

from audio2motion.atomic import atomic_path
from audio2motion.errors import InputError
from audio2motion.inference import MotionGenerator

FORMATS = {"torchscript": ".pt", "onnx": ".onnx"}
METADATA = "audio2motion.json"  # the TorchScript extra file, and the ONNX metadata key, holding `metadata`


def suffix(file_format: str) -> str:
    """The file suffix of an export format; InputError for an unknown one."""
    if file_format not in FORMATS:
        raise InputError(f"format={file_format}: must be one of {', '.join(FORMATS)}")
    return FORMATS[file_format]


def metadata(generator: MotionGenerator, file_format: str) -> dict:
    """What a program needs to use an exported file: its input and output, rate, fps and channel layout."""
    one_pass = file_format == "onnx" and generator.model.context is None
    return {
        "format": file_format,
        "input": "waveform float32 [channels, samples]"
        + (" or [samples]" if file_format == "torchscript" else "")
        + " at sample_rate Hz, within [-1, 1]",
        "output": "motion float32 [frames, channels], frames = floor(samples / sample_rate x fps)",
        "sample_rate": generator.featurizer.sample_rate,
        "fps": generator.fps,
        # Frames one run takes and matches scripts/infer.py on: any number, or (ONNX of a model with
        # attention or per-clip conditioning) one training window; cut longer audio into windows.
        "max_frames": generator.window if one_pass else None,
        "layout": generator.layout,
    }


class OnePass(nn.Module):
    """The ONNX form of MotionGenerator.forward: waveform `[channels, samples]` at the featurizer's rate
    -> motion `[T, D]`, the network run once over every frame.

    torch.export, which the ONNX exporter runs, cannot keep a loop whose count depends on the input's
    length, so this has neither the featurizer's chunks nor generate's windows. For a model of
    convolutions alone one pass is what generate computes; a model with attention or per-clip
    conditioning matches generate up to `window` frames (metadata's max_frames).
    """

    def __init__(self, generator: MotionGenerator):
        super().__init__()
        self.generator = generator
        # frames = floor(samples x fps / rate) in integers, which torch.export keeps symbolic
        fps = Fraction(generator.fps).limit_denominator(1000)
        self.numerator, self.denominator = fps.numerator, fps.denominator * generator.featurizer.sample_rate

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        generator, featurizer = self.generator, self.generator.featurizer
        mono = waveform.float().mean(dim=0)  # [S]
        frames = mono.shape[0] * self.numerator // self.denominator
        padded = nn.functional.pad(mono, [featurizer.n_fft // 2, featurizer.n_fft])
        starts = featurizer.frame_starts(float(featurizer.sample_rate), 0, frames)  # [T]
        # Gathered sample by sample: ONNX has no strided view, and unfold would copy every window.
        windows = padded[starts[:, None] + torch.arange(featurizer.n_fft)]  # [T, n_fft]
        features = featurizer.assemble(*featurizer.spectral(windows), previous_mel=None)  # [T, F]
        motion = generator.model(generator.feature_norm(features)[None])[0]  # [T, D]
        return generator.motion_norm.inverse(motion)


def save_torchscript(generator: MotionGenerator, path: Path, info: dict) -> None:
    """MotionGenerator.forward, scripted (windows, featurizer and all) and frozen (weights folded in
    as constants where TorchScript can; forward is all the file holds), with `info` as its metadata."""
    extra = {METADATA: json.dumps(info)}
    torch.jit.save(torch.jit.freeze(torch.jit.script(generator.eval())), str(path), _extra_files=extra)


def save_onnx(generator: MotionGenerator, path: Path, info: dict) -> None:
    """OnePass through the ONNX exporter (torch.export), with `info` in the file's metadata properties."""
    try:
        import onnx
        import onnxruntime  # noqa: F401  (the check loads the file with it)
        import onnxscript  # noqa: F401  (torch.onnx.export's dynamo path)
    except ImportError as err:
        raise InputError(
            f'format=onnx needs the export extra ({err.name} is missing): pip install "audio2motion[export]"'
        ) from err

    sample_rate = generator.featurizer.sample_rate
    example = torch.zeros(1, sample_rate * 2)
    samples = torch.export.Dim("samples", min=math.ceil(sample_rate / generator.fps), max=2**31 - 1)
    with warnings.catch_warnings(), _quiet("torch.onnx"):  # the exporter's notes on its own internals
        warnings.simplefilter("ignore", FutureWarning)
        program = torch.onnx.export(
            OnePass(generator).eval(),
            (example,),
            dynamo=True,
            input_names=["waveform"],
            output_names=["motion"],
            dynamic_shapes={"waveform": {0: torch.export.Dim("channels", min=1, max=64), 1: samples}},
            # onnxscript's optimizer drops the `+ 1e-8` of log(mel + log_floor) as if it added zero, which
            # moves quiet bands' log mel by up to 0.16 (checked with onnxscript 0.7.2)
            optimize=False,
            verbose=False,
        )
    model = program.model_proto
    onnx.helper.set_model_props(model, {METADATA: json.dumps(info)})
    onnx.save(model, str(path))


@contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """`logger` shows errors alone while inside (torch.onnx warns about torchvision's operators)."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def load_exported(path: Path, file_format: str) -> tuple[Callable[[np.ndarray], np.ndarray], dict]:
    """An exported file as a function from waveform `[channels, samples]` to motion `[T, D]`, and its
    metadata; loaded with the format's own runtime, not this package."""
    if file_format == "torchscript":
        extra = {METADATA: ""}
        module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        return lambda waveform: module(torch.from_numpy(waveform)).numpy(), json.loads(extra[METADATA])
    import onnx
    import onnxruntime

    props = {prop.key: prop.value for prop in onnx.load(str(path), load_external_data=False).metadata_props}
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: its graph optimiser notes what it cannot fold
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda waveform: session.run(None, {"waveform": waveform})[0], json.loads(props[METADATA])


def check_sound(sample_rate: int, samples: int) -> np.ndarray:
    """A stereo test sound `[2, samples]`: a rising tone, a beat of clicks and some noise, seeded."""
    t = np.arange(samples) / sample_rate
    tone = 0.3 * np.sin(2 * np.pi * (200 + 150 * t) * t)
    clicks = 0.5 * np.exp(-40 * (t % 0.5)) * np.sin(2 * np.pi * 1000 * t)
    noise = 0.02 * np.random.default_rng(0).standard_normal((2, samples))
    return (tone + clicks + noise).astype(np.float32)


def export(
    generator: MotionGenerator, path: Path, file_format: str, seconds: float, tolerance: float
) -> dict:
    """Write `path` whole or not at all, after checking that the file, loaded by its runtime, gives the
    motion `generate` gives (largest difference at most `tolerance`) on `seconds` of a test sound and on
    an odd length shorter than that (a file fixed to one length fails). Returns the metadata, lengths
    and largest difference; InputError when the file falls short."""
    suffix(file_format)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; out= names the file to write")
    if file_format == "onnx" and generator.model.spline_step > 1:
        # torch.export fixes the input's length at the spline's control-point arithmetic
        raise InputError(
            f"format=onnx: a model of model.net.spline_step={generator.model.spline_step} exports to "
            "TorchScript only (format=torchscript)"
        )
    info = metadata(generator, file_format)
    rate = generator.featurizer.sample_rate
    if info["max_frames"] is not None:  # the longest input a one-pass file matches generate on
        seconds = min(seconds, info["max_frames"] / generator.fps)
    lengths = [int(seconds * rate), int(seconds * rate * 0.61) | 1]
    with atomic_path(path) as tmp:
        (save_torchscript if file_format == "torchscript" else save_onnx)(generator, tmp, info)
        run, _ = load_exported(tmp, file_format)
        difference = 0.0
        for samples in lengths:
            sound = check_sound(rate, samples)
            expected, got = generator.generate(torch.from_numpy(sound), rate).values.numpy(), run(sound)
            if got.shape != expected.shape:
                raise InputError(
                    f"{path}: not written: the exported model gives motion of shape {list(got.shape)} for "
                    f"{samples} samples, the checkpoint {list(expected.shape)}"
                )
            difference = max(difference, float(np.abs(got - expected).max()))
        if difference > tolerance:
            raise InputError(
                f"{path}: not written: the exported model differs from the checkpoint by up to "
                f"{difference:.3g} (check.tolerance={tolerance:g})"
            )
    return {**info, "checked_samples": lengths, "max_difference": difference}
