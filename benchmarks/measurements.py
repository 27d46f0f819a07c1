"""The speed benchmark's measurements (speed.py runs them all in one run): feature extraction against
librosa, the data pipeline against training, training throughput and peak memory per model, inference
speed, and model cost. Each rate comes with what it was computed from: the amount (seconds of audio,
windows, chunks) and the seconds it took."""

import multiprocessing
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile
import torch
from torch._dynamo.utils import counters
from torch.utils.flop_counter import FlopCounterMode

from audio2motion.data.datamodule import MotionDataModule
from audio2motion.data.synthetic import SyntheticRules, synthesize_clip, write_synthetic_dataset
from audio2motion.features import AudioFeaturizer
from audio2motion.inference import MotionGenerator
from audio2motion.training.module import Audio2MotionModule
from audio2motion.training.run import compile_network

MOTION_DIM = len(SyntheticRules().channels)
FPS = 30.0  # motion frames per second of every measurement, as in the synthetic data set
INFER_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "infer.py"  # benchmarks live in a checkout


def best_seconds(work: Callable[[], object], repeats: int) -> float:
    """The fastest of `repeats` timed calls (after one untimed call that warms caches and kernels)."""
    work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def peer_features(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """EDGE / FACT's librosa features: 20 MFCC, 12 chroma (CENS), onset envelope, onset peaks and beats,
    at 15,360 Hz with hop 512."""
    import librosa

    rate, hop = 15360, 512
    y = librosa.resample(audio, orig_sr=sample_rate, target_sr=rate)
    envelope = librosa.onset.onset_strength(y=y, sr=rate)  # [T]
    mfcc = librosa.feature.mfcc(y=y, sr=rate, n_mfcc=20).T  # [T, 20]
    chroma = librosa.feature.chroma_cens(y=y, sr=rate, hop_length=hop, n_chroma=12).T  # [T, 12]
    peaks = np.zeros_like(envelope)
    peaks[librosa.onset.onset_detect(onset_envelope=envelope, sr=rate, hop_length=hop)] = 1.0
    beats = np.zeros_like(envelope)
    _, beat_frames = librosa.beat.beat_track(onset_envelope=envelope, sr=rate, hop_length=hop)
    beats[beat_frames] = 1.0
    return np.concatenate([envelope[:, None], mfcc, chroma, peaks[:, None], beats[:, None]], axis=-1)


def librosa_mel_features(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """librosa's log-mel spectrogram (80 mels, n_fft 2048, hop 735 at 22.05 kHz: 30 fps) and the onset
    strength computed from it."""
    import librosa

    rate = 22050
    y = librosa.resample(audio, orig_sr=sample_rate, target_sr=rate)
    mel = librosa.power_to_db(
        librosa.feature.melspectrogram(y=y, sr=rate, n_fft=2048, hop_length=735, n_mels=80)
    )
    onset = librosa.onset.onset_strength(S=mel, sr=rate)
    return np.concatenate([mel.T, onset[:, None]], axis=-1)


def feature_rates(seconds: float, sample_rate: int, features: dict, repeats: int) -> dict:
    """Seconds of audio featurized per second of wall time (`audio_s_per_s`), on the same synthetic clip
    of `seconds`, for ours and the two librosa pipelines, with each one's fastest time (`seconds`); None
    when librosa is not installed (it belongs to the dev extra)."""
    audio, _ = synthesize_clip(seconds, sample_rate, FPS, np.random.default_rng(0), SyntheticRules())
    featurizer = AudioFeaturizer(fps=FPS, **features)
    waveform = torch.from_numpy(audio)
    timed = {"audio2motion": best_seconds(lambda: featurizer(waveform, sample_rate), repeats)}
    try:
        import librosa  # noqa: F401
    except ImportError:
        timed |= {"librosa_peers": None, "librosa_mel": None}
    else:
        for name, pipeline in (("librosa_peers", peer_features), ("librosa_mel", librosa_mel_features)):
            timed[name] = best_seconds(lambda pipeline=pipeline: pipeline(audio, sample_rate), repeats)
    return {
        "audio_seconds": seconds,
        "seconds": timed,
        "audio_s_per_s": {name: None if t is None else seconds / t for name, t in timed.items()},
    }


def untrained_module(
    model: dict, features: dict, window_seconds: float, objective: dict | None = None
) -> Audio2MotionModule:
    """An untrained training module on synthetic-sized data: speed does not depend on the weights."""
    window = round(window_seconds * FPS)
    feature_dim = AudioFeaturizer(fps=FPS, **features).dim
    layout = {"fps": FPS, "dim": MOTION_DIM, "channels": SyntheticRules().channels}
    module = Audio2MotionModule(
        **model, features=features, layout=layout, feature_dim=feature_dim, window=window, objective=objective
    )
    module.set_stats(
        {"feature_mean": torch.zeros(feature_dim), "feature_std": torch.ones(feature_dim)}
        | {"motion_mean": torch.zeros(MOTION_DIM), "motion_std": torch.ones(MOTION_DIM)}
    )
    return module


# Dense bf16 tensor-core peaks (TFLOP/s, without sparsity) from the vendors' data sheets, by a name that
# torch.cuda.get_device_name() holds; the longest name found in it counts ("H100 PCIe" before "H100").
PEAK_BF16_TFLOPS = {
    "H100 PCIe": 756.0,
    "H100 NVL": 835.0,
    "H100": 989.4,
    "H200": 989.4,
    "A100": 312.0,
    "L40S": 362.1,
    "L40": 181.0,
    "L4": 121.0,
}


def peak_tflops(device: str, configured: float | None) -> float | None:
    """The device's dense bf16 peak: `configured` when given, else the table's for a GPU it names, else
    None (the CPU, an unknown GPU: no MFU then)."""
    if configured is not None:
        return float(configured)
    if not device.startswith("cuda"):
        return None
    name = torch.cuda.get_device_name(torch.device(device))
    found = [key for key in PEAK_BF16_TFLOPS if key in name]
    return PEAK_BF16_TFLOPS[max(found, key=len)] if found else None


def training_batch(module: Audio2MotionModule, windows: int, device: str = "cpu") -> dict:
    """A batch of `windows` random training windows of the module's length."""
    window = module.hparams.window
    return {
        "features": torch.randn(windows, window, module.hparams.feature_dim, device=device),
        "motion": torch.randn(windows, window, MOTION_DIM, device=device),
        "mask": torch.ones(windows, window, dtype=torch.bool, device=device),
    }


def training_flops(module: Audio2MotionModule) -> float:
    """Model FLOPs of one training window: the loss's forward and backward passes, counted by
    torch.utils.flop_counter (matrix products and convolutions; what MFU counts)."""
    with FlopCounterMode(display=False) as counter:
        module._losses(training_batch(module, 1))[0]["loss"].backward()
    module.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def _train_rate(
    model: dict, features: dict, settings: dict, compile_settings: dict, device: str, results
) -> None:
    """Child process: the windows of `steps` optimiser steps, their seconds, windows per second, the
    process's peak memory, and the graphs torch.compile made (0 uncompiled; more than one forward graph
    means graph breaks or recompiling). bf16 autocast on a GPU, as trainer=gpu trains (precision
    bf16-mixed), fused AdamW there; the network compiled as `compile_settings` (conf/compile) say, as
    train.py compiles it, during the warm-up steps."""
    torch.manual_seed(0)
    module = untrained_module(model, features, settings["window_seconds"]).to(device)
    compile_network(module, compile_settings)
    cuda = device.startswith("cuda")
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4, fused=cuda)
    batch = training_batch(module, settings["batch_size"], device)

    def step():
        optimizer.zero_grad()
        with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=cuda):
            loss = module._losses(batch)[0]["loss"]
        loss.backward()
        optimizer.step()

    for _ in range(settings["warmup_steps"]):
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(settings["steps"]):
        step()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak_mb = (
        torch.cuda.max_memory_allocated() / 2**20
        if cuda
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    )
    windows = settings["steps"] * settings["batch_size"]
    results.put(
        {
            "windows": windows,
            "seconds": seconds,
            "windows_per_s": windows / seconds,
            "peak_mb": peak_mb,
            "compiled_graphs": counters["stats"]["unique_graphs"],
        }
    )


def train_rate(model: dict, features: dict, settings: dict, compile_settings: dict, device: str) -> dict:
    """Training throughput and peak memory of one model, measured in a fresh process so that the peak
    is this model's alone (on the CPU it is the process's resident set, interpreter and torch included)."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(
        target=_train_rate, args=(model, features, settings, compile_settings, device, results)
    )
    child.start()
    measured = results.get()
    child.join()
    return measured


def data_rate(root, features: dict, settings: dict) -> dict:
    """The training windows of one epoch that the data module's loader delivers once the clips are
    loaded, their seconds, and windows per second."""
    write_synthetic_dataset(root, settings["clips"], settings["duration"], 16000, FPS, seed=0)
    datamodule = MotionDataModule(
        str(root),
        fps=FPS,
        features=features,
        batch_size=settings["batch_size"],
        window_seconds=settings["window_seconds"],
        num_workers=settings["num_workers"],
    )
    datamodule.setup("fit")
    loader = datamodule.train_dataloader()
    start, windows = time.perf_counter(), 0
    for batch in loader:
        windows += batch["mask"].shape[0]
    seconds = time.perf_counter() - start
    return {"windows": windows, "seconds": seconds, "windows_per_s": windows / seconds}


def _inference_setup(
    module: Audio2MotionModule, seconds: float, sample_rate: int
) -> tuple[MotionGenerator, torch.Tensor]:
    """The module as a MotionGenerator, and the synthetic clip that inference is timed on `[samples]`."""
    audio, _ = synthesize_clip(seconds, sample_rate, FPS, np.random.default_rng(1), SyntheticRules())
    return MotionGenerator(dict(module.hparams), module.state_dict()), torch.from_numpy(audio)


def real_time(audio_seconds: float, seconds: float) -> dict:
    """Seconds of audio turned into motion in `seconds`, and the real-time factor, their ratio."""
    return {"audio_seconds": audio_seconds, "seconds": seconds, "x_real_time": audio_seconds / seconds}


def inference_rate(module: Audio2MotionModule, seconds: float, sample_rate: int, repeats: int) -> dict:
    """Offline inference of `seconds` of audio: its fastest time and real-time factor."""
    generator, waveform = _inference_setup(module, seconds, sample_rate)
    return real_time(seconds, best_seconds(lambda: generator.generate(waveform, sample_rate), repeats))


# Runs the command it is given, its output dropped, and prints its wall time in seconds and its peak
# resident memory in KiB.
TIME_CHILD = """import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))"""


def infer_script_rate(
    module: Audio2MotionModule, seconds: float, sample_rate: int, folder: Path, channels: int = 1
) -> dict:
    """Time, real-time factor and peak resident memory (MiB) of `scripts/infer.py` in a fresh interpreter,
    start-up, reading, analysis, sampling and writing included, on `seconds` of synthetic music with
    `channels` channels in a WAV file (`folder/music.wav`, the motion into `folder/music.npz`), with the
    module as checkpoint."""
    folder.mkdir(parents=True, exist_ok=True)
    checkpoint = folder / "model.ckpt"
    torch.save({"hyper_parameters": dict(module.hparams), "state_dict": module.state_dict()}, checkpoint)
    audio, _ = synthesize_clip(seconds, sample_rate, FPS, np.random.default_rng(1), SyntheticRules())
    soundfile.write(folder / "music.wav", np.repeat(audio[:, None], channels, axis=1), sample_rate)
    command = [
        sys.executable,
        INFER_SCRIPT,
        f"ckpt={checkpoint}",
        f"audio={folder / 'music.wav'}",
        f"out={folder}",
    ]
    # Run from a small interpreter: Linux counts the memory of the process a child was forked from in
    # its peak, and this one holds models and audio.
    timed = subprocess.run([sys.executable, "-c", TIME_CHILD, *command], capture_output=True, text=True)
    if timed.returncode != 0:
        raise RuntimeError(f"scripts/infer.py failed: {timed.stderr[-2000:]}")
    seconds_taken, peak_kib = timed.stdout.split()
    return real_time(seconds, float(seconds_taken)) | {"channels": channels, "peak_mib": int(peak_kib) / 1024}


def model_cost(module: Audio2MotionModule) -> dict:
    """Parameters, and forward FLOPs per second of motion (one window, divided by its length)."""
    window = module.hparams.window
    features = torch.randn(1, window, module.hparams.feature_dim)
    with FlopCounterMode(display=False) as counter:
        module.model(features)
    return {
        "parameters": sum(p.numel() for p in module.model.parameters()),
        "gflops_per_motion_second": counter.get_total_flops() / (window / FPS) / 1e9,
    }


def utilisation(train: dict, flops_per_window: float, peak: float | None) -> dict:
    """Achieved model TFLOP/s of a training rate (`train_rate`'s) and MFU, their share of `peak` TFLOP/s
    (None without a peak)."""
    tflops = train["windows_per_s"] * flops_per_window / 1e12
    return {"tflops": tflops, "peak_tflops": peak, "mfu": None if peak is None else tflops / peak}


def streaming_rate(
    module: Audio2MotionModule, seconds: float, sample_rate: int, channels: int, chunk_seconds: float
) -> dict:
    """Streaming inference of a causal model on `seconds` of audio with `channels` channels, chunk by
    chunk: the chunks, their total compute time, the real-time factor, compute per chunk (mean, 99th
    percentile, max), and each frame's delay from its time in the audio to the end of the chunk that
    brought it out."""
    generator, mono = _inference_setup(module, seconds, sample_rate)
    waveform = mono.expand(channels, -1)  # [C, S]
    chunk = max(1, round(chunk_seconds * sample_rate))
    warm_up = generator.stream(sample_rate)  # first calls of the kernels are slow
    for start in range(0, sample_rate, chunk):
        warm_up.push(waveform[:, start : start + chunk])
    stream, compute, delays, frames = generator.stream(sample_rate), [], [], 0
    for start in range(0, waveform.shape[-1], chunk):
        began = time.perf_counter()
        emitted = stream.push(waveform[:, start : start + chunk]).shape[0]
        compute.append(time.perf_counter() - began)
        heard = min(start + chunk, waveform.shape[-1]) / sample_rate
        delays += [heard - (frames + i) / FPS for i in range(emitted)]
        frames += emitted
    stream.finish()
    return {
        "chunk_ms": chunk_seconds * 1000,
        "sample_rate": sample_rate,
        "channels": channels,
        "chunks": len(compute),
        **real_time(seconds, sum(compute)),
        "compute_ms_per_chunk_mean": 1000 * sum(compute) / len(compute),
        "compute_ms_per_chunk_p99": 1000 * float(np.percentile(compute, 99)),
        "compute_ms_per_chunk_max": 1000 * max(compute),
        "frame_delay_ms_mean": 1000 * sum(delays) / len(delays),
        "frame_delay_ms_max": 1000 * max(delays),
    }
