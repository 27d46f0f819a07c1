"""benchmarks/speed.py in a tiny setting: each rate is the amount measured over the seconds it took, the
amounts are the ones the settings ask for, the times add up to no more than the run's, and the table
prints what results.json holds; the timer and the FLOP count by hand. No speed goals: those belong to the
benchmark, not to the tests."""

import json
from types import SimpleNamespace

import measurements
import numpy as np
import pytest
import torch
from conftest import run_script
from hydra import compose, initialize_config_dir
from measurements import (
    _train_rate,
    best_seconds,
    model_cost,
    peak_tflops,
    training_flops,
    untrained_module,
    utilisation,
)
from omegaconf import OmegaConf
from speed import table
from test_config import CONF
from torch._dynamo.utils import counters

from audio2motion.data.synthetic import SyntheticRules
from audio2motion.features import AudioFeaturizer
from audio2motion.models import Audio2Motion, NetworkConfig

AUDIO_SECONDS, DIFFUSION_SECONDS, OFFLINE_SECONDS, STEPS, BATCH = 5.0, 4.0, 3.0, 2, 16
TINY = [
    "device=cpu",  # what it asserts of MFU holds where no bf16 peak is known
    "benchmark.repeats=1",
    f"benchmark.audio.seconds={AUDIO_SECONDS}",
    "benchmark.models=[densefilm]",
    f"benchmark.train.steps={STEPS}",
    f"benchmark.train.batch_size={BATCH}",
    "benchmark.train.warmup_steps=1",
    "benchmark.data.clips=4",
    "benchmark.data.duration=3.0",
    "benchmark.data.window_seconds=1.0",
    f"benchmark.diffusion.seconds={DIFFUSION_SECONDS}",
    f"benchmark.offline.seconds={OFFLINE_SECONDS}",
]


def table_rows(stdout: str) -> dict[str, str]:
    """The printed table as {measure: value}."""
    rows = [line[2:-2].split(" | ") for line in stdout.splitlines() if line.startswith("| ")]
    return {measure.strip(): value for measure, value in rows[1:]}


def shows(cell: str, value: float) -> bool:
    """Whether `cell` (say "1,234", "12.5x", "0.31") is `value` rounded to the digits it shows."""
    text = cell.replace(",", "").removesuffix("x")
    decimals = len(text.partition(".")[2])
    return abs(float(text) - value) <= 0.5 * 10**-decimals + 1e-12


@pytest.mark.slow
def test_tiny_speed_benchmark_reports_rates_consistent_with_its_measurements(tmp_path):
    result = run_script("benchmarks/speed.py", f"hydra.run.dir={tmp_path}", *TINY, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["command"].startswith("python benchmarks/speed.py hydra.run.dir=")

    # Features: seconds of audio over the fastest time, for ours and both librosa pipelines.
    features = results["features"]
    assert features["audio_seconds"] == AUDIO_SECONDS
    assert set(features["seconds"]) == {"audio2motion", "librosa_peers", "librosa_mel"}
    for name, seconds in features["seconds"].items():
        assert seconds > 0 and features["audio_s_per_s"][name] == pytest.approx(AUDIO_SECONDS / seconds)

    # The data loader: 4 clips of 3 s give 2 training clips (one goes to val, one to test) of 90 frames,
    # each cut into windows of 30 frames every 30 frames: 3 a clip, 6 an epoch.
    data = results["data"]
    assert data["windows"] == 6 and data["windows_per_s"] == pytest.approx(6 / data["seconds"])

    # Training: steps x batch windows over their seconds; peak memory is a process holding torch.
    model = results["models"]["densefilm"]
    train = model["train"]
    assert train["windows"] == STEPS * BATCH == 32
    assert train["windows_per_s"] == pytest.approx(32 / train["seconds"])
    assert train["peak_mb"] > 100
    assert results["compile"]["enabled"] is False and train["compiled_graphs"] == 0

    # Parameters: the default model's, counted here from its config.
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train")
    feature_dim = AudioFeaturizer(fps=30.0, **OmegaConf.to_container(cfg.features, resolve=True)).dim
    net = Audio2Motion(feature_dim, len(SyntheticRules().channels), NetworkConfig.from_dict(cfg.model.net))
    assert model["parameters"] == sum(p.numel() for p in net.parameters())
    assert model["gflops_per_motion_second"] > 0
    # MFU: the windows' counted FLOPs over the seconds they took; on the CPU no bf16 peak is known.
    assert train["tflops"] == pytest.approx(train["windows_per_s"] * model["train_gflops_per_window"] / 1e3)
    assert train["peak_tflops"] is None and train["mfu"] is None

    # Offline inference: audio seconds over the fastest time.
    inference = model["inference"]
    assert inference["audio_seconds"] == AUDIO_SECONDS
    assert inference["x_real_time"] == pytest.approx(AUDIO_SECONDS / inference["seconds"])

    # Streaming: 5 s of 48 kHz stereo in 20 ms chunks (960 samples) is 250 chunks.
    stream = results["streaming"]
    assert stream["model"] == "densefilm_causal" and stream["chunk_ms"] == 20 and stream["chunks"] == 250
    assert stream["sample_rate"] == 48000 and stream["channels"] == 2
    assert stream["x_real_time"] == pytest.approx(AUDIO_SECONDS / stream["seconds"])
    assert stream["compute_ms_per_chunk_mean"] == pytest.approx(1000 * stream["seconds"] / 250)
    p99, slowest = stream["compute_ms_per_chunk_p99"], stream["compute_ms_per_chunk_max"]
    assert 0 < p99 <= slowest <= 1000 * stream["seconds"]
    # a frame comes out once half an analysis window (32 ms) after it has arrived, within a chunk or two
    assert 32 <= stream["frame_delay_ms_mean"] <= stream["frame_delay_ms_max"] < 32 + 2 * 20 + 5

    # scripts/infer.py of a diffusion model really ran on 4 s of music: 120 frames of 9 channels at 30 fps.
    sampled = results["diffusion"]
    assert sampled["model"] == "densefilm" and sampled["audio_seconds"] == DIFFUSION_SECONDS
    assert sampled["x_real_time"] == pytest.approx(DIFFUSION_SECONDS / sampled["seconds"])
    with np.load(tmp_path / "diffusion" / "music.npz") as written:
        assert written["motion"].shape == (120, 9) and float(written["fps"]) == 30

    # scripts/infer.py of the default model on 3 s of 48 kHz stereo: 90 frames; its peak memory holds torch.
    offline = results["offline"]
    assert offline["model"] == "densefilm" and offline["audio_seconds"] == OFFLINE_SECONDS
    assert offline["sample_rate"] == 48000 and offline["channels"] == 2 and offline["peak_mib"] > 100
    assert offline["x_real_time"] == pytest.approx(OFFLINE_SECONDS / offline["seconds"])
    with np.load(tmp_path / "offline" / "music.npz") as written:
        assert written["motion"].shape == (90, 9)

    # The measurements ran one after the other inside the run, so their times add up to less than its.
    measured = [
        *features["seconds"].values(),
        data["seconds"],
        train["seconds"],
        inference["seconds"],
        stream["seconds"],
        offline["seconds"],
        sampled["seconds"],
    ]
    assert sum(measured) < results["seconds"]

    # The table prints what results.json holds, to the digits it shows.
    rows = table_rows(result.stdout)
    rates = features["audio_s_per_s"]
    streaming = "densefilm_causal streaming, 20 ms chunks of 48 kHz, 2 channel(s)"
    on_48k = "densefilm: scripts/infer.py on 3 s of 48 kHz, 2 channel(s), start-up included"
    expected = {
        "features, audio2motion (s of audio / s)": rates["audio2motion"],
        "features, librosa_peers (s of audio / s)": rates["librosa_peers"],
        "features, librosa_mel (s of audio / s)": rates["librosa_mel"],
        "features, audio2motion speed-up over librosa_peers": rates["audio2motion"] / rates["librosa_peers"],
        "features, audio2motion speed-up over librosa_mel": rates["audio2motion"] / rates["librosa_mel"],
        "data loader (windows / s)": data["windows_per_s"],
        "data loader over training consumption": data["windows_per_s"] / train["windows_per_s"],
        "densefilm: parameters": model["parameters"],
        "densefilm: forward GFLOPs per s of motion": model["gflops_per_motion_second"],
        f"densefilm: training on {results['device']} (windows / s)": train["windows_per_s"],
        "densefilm: training peak memory (MiB)": train["peak_mb"],
        "densefilm: training GFLOPs per window (forward + backward)": model["train_gflops_per_window"],
        "densefilm: training TFLOP/s achieved": train["tflops"],
        "densefilm: offline inference (x real time)": inference["x_real_time"],
        f"{streaming} (x real time)": stream["x_real_time"],
        f"{on_48k} (x real time)": offline["x_real_time"],
        f"{on_48k}: peak memory (MiB)": offline["peak_mib"],
        "densefilm, objective=diffusion: scripts/infer.py on 4 s of music, start-up included (x real time)": (
            sampled["x_real_time"]
        ),
    }
    pairs = {
        f"{streaming}: compute per chunk (ms, mean / p99)": (
            "compute_ms_per_chunk_mean",
            "compute_ms_per_chunk_p99",
        ),
        f"{streaming}: frame delay, its time to out (ms, mean / max)": (
            "frame_delay_ms_mean",
            "frame_delay_ms_max",
        ),
    }
    assert (
        rows.pop("densefilm: MFU (of an unknown dense bf16 peak)")
        == "peak unknown: set benchmark.peak_tflops"
    )
    assert set(rows) == set(expected) | set(pairs)
    for measure, value in expected.items():
        assert shows(rows[measure], value), (measure, rows[measure], value)
    for measure, keys in pairs.items():
        cells = rows[measure].split(" / ")
        assert all(shows(cell, stream[key]) for cell, key in zip(cells, keys, strict=True)), rows[measure]

    # Timed compiled (compile.enabled=true), the training row says how, and the graphs compiled follow it.
    results["compile"] |= {"enabled": True, "mode": "max-autotune", "backend": "inductor"}
    train["compiled_graphs"] = 3
    compiled = table_rows(table(results))
    assert compiled.pop("densefilm: graphs compiled") == "3"
    label = "densefilm: training on cpu, torch.compile mode=max-autotune backend=inductor (windows / s)"
    assert compiled.pop(label) == rows.pop(f"densefilm: training on {results['device']} (windows / s)")
    assert compiled.pop("densefilm: MFU (of an unknown dense bf16 peak)").startswith("peak unknown")
    assert compiled == rows


@pytest.mark.parametrize("enabled", [False, True])
def test_training_is_timed_compiled_as_train_py_compiles_when_asked(enabled):
    # The eager backend: dynamo captures the graphs as with inductor, without a C++ compiler's minute.
    settings = {"window_seconds": 1.0, "batch_size": 2, "warmup_steps": 1, "steps": 2}
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"compile.enabled={enabled}", "compile.backend=eager"])
    torch._dynamo.reset()  # as in the benchmark's fresh child process: no compiled code, no counts
    counters.clear()
    measured = []
    _train_rate(
        OmegaConf.to_container(cfg.model, resolve=True),
        OmegaConf.to_container(cfg.features, resolve=True),
        settings,
        OmegaConf.to_container(cfg.compile, resolve=True),
        "cpu",
        SimpleNamespace(put=measured.append),
    )
    (train,) = measured
    assert train["windows"] == 4 and train["windows_per_s"] == pytest.approx(4 / train["seconds"])
    # one graph per call of the network when compiled (it sees the same shapes at every step); none eager
    assert train["compiled_graphs"] == (1 if enabled else 0)


def test_best_seconds_is_the_fastest_timed_call_after_an_untimed_one(monkeypatch):
    now, durations, calls = [0.0], iter([3.0, 2.0, 5.0, 4.0]), []

    def work():  # each call takes the next duration on a fake clock
        calls.append(now[0])
        now[0] += next(durations)

    monkeypatch.setattr(measurements, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    assert best_seconds(work, repeats=3) == 2.0  # 3.0 was the warm-up
    assert calls == [0.0, 3.0, 5.0, 10.0]


def test_model_cost_counts_parameters_and_flops_per_second_of_motion_by_hand():
    # Two linear layers on 60 frames (2 s at 30 fps) of 8 features: 2 x 60 x (8 x 16 + 16 x 3) = 21,120
    # multiply-adds' FLOPs, so 10,560 per second of motion; 8 x 16 + 16 + 16 x 3 + 3 = 195 parameters.
    net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    module = SimpleNamespace(hparams=SimpleNamespace(window=60, feature_dim=8), model=net)
    cost = model_cost(module)
    assert cost["parameters"] == 195
    assert cost["gflops_per_motion_second"] == pytest.approx(10_560 / 1e9)


def test_training_flops_are_forward_and_backward_of_the_window():
    # Backward computes two products for each forward one (input and weight gradients) but the first
    # layer's input gradient, which the features do not need: a little under three forwards in all.
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train")
    model = OmegaConf.to_container(cfg.model, resolve=True)
    module = untrained_module(model, OmegaConf.to_container(cfg.features, resolve=True), 2.0)
    forward = model_cost(module)["gflops_per_motion_second"] * 2.0 * 1e9  # the 2 s window's
    assert 2.8 * forward < training_flops(module) < 3 * forward
    assert all(p.grad is None for p in module.parameters())  # counting leaves no gradients behind


def test_mfu_is_achieved_model_flops_over_the_dense_bf16_peak(monkeypatch):
    # 500 windows/s of 2 GFLOPs each: 1 TFLOP/s, 0.1 % of a 1,000 TFLOP/s peak.
    assert utilisation({"windows_per_s": 500.0}, 2e9, 1000.0) == {
        "tflops": 1.0,
        "peak_tflops": 1000.0,
        "mfu": 0.001,
    }
    assert utilisation({"windows_per_s": 500.0}, 2e9, None)["mfu"] is None
    assert peak_tflops("cpu", None) is None and peak_tflops("cpu", 3.5) == 3.5  # told wins
    for name, peak in [
        ("NVIDIA H100 PCIe", 756.0),
        ("NVIDIA H100 80GB HBM3", 989.4),
        ("NVIDIA H200", 989.4),
        ("NVIDIA L40", 181.0),
        ("NVIDIA L4", 121.0),
    ]:
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device, name=name: name)
        assert peak_tflops("cuda", None) == peak and peak_tflops("cuda:0", 100.0) == 100.0
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "Some Future GPU")
    assert peak_tflops("cuda", None) is None
