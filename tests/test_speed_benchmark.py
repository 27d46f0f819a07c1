"""scripts/benchmark.py in a tiny setting: one table, every measure, and results.json."""

import json

from conftest import run_script


def test_tiny_speed_benchmark_measures_everything(tmp_path):
    result = run_script(
        "scripts/benchmark.py",
        f"hydra.run.dir={tmp_path}",
        "benchmark.repeats=1",
        "benchmark.audio.seconds=5.0",
        "benchmark.models=[densefilm]",
        "benchmark.train.steps=2",
        "benchmark.train.warmup_steps=1",
        "benchmark.data.clips=4",
        "benchmark.data.duration=3.0",
        "benchmark.data.window_seconds=1.0",
        "benchmark.diffusion.seconds=4.0",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    rates = results["features_audio_s_per_s"]
    assert set(rates) == {"audio2motion", "librosa_peers", "librosa_mel"}
    assert all(rate > 1 for rate in rates.values())
    model = results["models"]["densefilm"]
    assert model["parameters"] > 100_000 and model["gflops_per_motion_second"] > 0.01
    assert model["windows_per_s"] > 0 and model["peak_mb"] > 100 and model["inference_x_real_time"] > 1
    assert results["data_windows_per_s"] > model["windows_per_s"]
    stream = results["streaming"]
    assert stream["model"] == "densefilm_causal" and stream["chunk_ms"] == 20 and stream["x_real_time"] > 1
    # a frame comes out once half an analysis window (32 ms) after it has arrived, within a chunk or two
    assert 32 <= stream["frame_delay_ms_mean"] <= stream["frame_delay_ms_max"] < 32 + 2 * 20 + 5
    assert results["diffusion_seconds"] == 4 and results["diffusion_infer_x_real_time"] > 0
    assert (tmp_path / "diffusion" / "music.npz").is_file()  # infer.py really ran
    for row in (
        "objective=diffusion: scripts/infer.py on 4 s of music",
        "speed-up over librosa_peers",
        "data loader over training consumption",
        "peak memory",
        "streaming",
    ):
        assert row in result.stdout
