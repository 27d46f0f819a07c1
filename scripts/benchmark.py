"""Speed and memory: `python scripts/benchmark.py [overrides]` (see conf/benchmark.yaml).

Prints one table and writes `results.json` into the run folder.
"""

import json
import os
import shlex
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from audio2motion.hardware import hardware
from audio2motion.speed_benchmark import (
    data_rate,
    feature_rates,
    infer_script_rate,
    inference_rate,
    model_cost,
    streaming_rate,
    train_rate,
    untrained_module,
)

os.environ.setdefault("AUDIO2MOTION_ROOT", str(Path(__file__).resolve().parents[1]))


def composed(group: str, name: str) -> dict:
    """The `GROUP=NAME` option (model, objective), composed as train.py would."""
    cfg = hydra.compose(config_name="benchmark", overrides=[f"{group}={name}"])
    return OmegaConf.to_container(cfg[group], resolve=True)


def table(results: dict) -> str:
    rows = [("measure", "value")]
    rates = results["features_audio_s_per_s"]
    for name, rate in rates.items():
        rows.append(
            (f"features, {name} (s of audio / s)", "not installed" if rate is None else f"{rate:,.0f}")
        )
    for peer in ("librosa_peers", "librosa_mel"):
        if rates[peer]:
            rows.append(
                (
                    f"features, audio2motion speed-up over {peer}",
                    f"{rates['audio2motion'] / rates[peer]:.1f}x",
                )
            )
    data, consumed = (
        results["data_windows_per_s"],
        results["models"][results["default_model"]]["windows_per_s"],
    )
    rows.append(("data loader (windows / s)", f"{data:,.0f}"))
    rows.append(("data loader over training consumption", f"{data / consumed:.0f}x"))
    for name, model in results["models"].items():
        rows.append((f"{name}: parameters", f"{model['parameters']:,}"))
        rows.append((f"{name}: forward GFLOPs per s of motion", f"{model['gflops_per_motion_second']:.2f}"))
        rows.append(
            (f"{name}: training on {results['device']} (windows / s)", f"{model['windows_per_s']:.1f}")
        )
        rows.append((f"{name}: training peak memory (MiB)", f"{model['peak_mb']:,.0f}"))
        rows.append((f"{name}: offline inference (x real time)", f"{model['inference_x_real_time']:,.0f}"))
    stream = results["streaming"]
    name = f"{stream['model']} streaming, {stream['chunk_ms']:g} ms chunks"
    rows.append((f"{name} (x real time)", f"{stream['x_real_time']:,.0f}"))
    rows.append(
        (
            f"{name}: compute per chunk (ms, mean / max)",
            f"{stream['compute_ms_per_chunk_mean']:.2f} / {stream['compute_ms_per_chunk_max']:.2f}",
        )
    )
    rows.append(
        (
            f"{name}: frame delay, its time to out (ms, mean / max)",
            f"{stream['frame_delay_ms_mean']:.0f} / {stream['frame_delay_ms_max']:.0f}",
        )
    )
    rows.append(
        (
            f"{results['default_model']}, objective=diffusion: scripts/infer.py on "
            f"{results['diffusion_seconds']:g} s of music, start-up included (x real time)",
            f"{results['diffusion_infer_x_real_time']:.1f}",
        )
    )
    width = max(len(r[0]) for r in rows)
    lines = [f"| {a:<{width}} | {b} |" for a, b in rows]
    lines.insert(1, f"|{'-' * (width + 2)}|---|")
    return "\n".join(lines)


@hydra.main(version_base="1.3", config_path="../conf", config_name="benchmark")
def main(cfg: DictConfig) -> None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    bench = OmegaConf.to_container(cfg.benchmark, resolve=True)
    features = OmegaConf.to_container(cfg.features, resolve=True)
    audio, started = bench["audio"], time.perf_counter()
    results = {
        "command": shlex.join(["python", "scripts/benchmark.py", *sys.argv[1:]]),
        "hardware": hardware(),
        "device": cfg.device,
        "default_model": bench["models"][0],
        "features_audio_s_per_s": feature_rates(
            audio["seconds"], audio["sample_rate"], features, bench["repeats"]
        ),
        "data_windows_per_s": data_rate(run_dir / "data", features, bench["data"]),
        "models": {},
    }
    for name in bench["models"]:
        model = composed("model", name)
        module = untrained_module(model, features, bench["train"]["window_seconds"])
        results["models"][name] = {
            **model_cost(module),
            **train_rate(model, features, bench["train"], cfg.device),
            "inference_x_real_time": inference_rate(
                module, audio["seconds"], audio["sample_rate"], bench["repeats"]
            ),
        }
    stream = bench["streaming"]
    causal = untrained_module(composed("model", stream["model"]), features, bench["train"]["window_seconds"])
    results["streaming"] = {
        "model": stream["model"],
        **streaming_rate(causal, audio["seconds"], audio["sample_rate"], stream["chunk_seconds"]),
    }
    sampled = bench["diffusion"]
    denoiser = untrained_module(
        composed("model", results["default_model"]),
        features,
        bench["train"]["window_seconds"],
        composed("objective", "diffusion"),
    )
    results["diffusion_infer_x_real_time"] = infer_script_rate(
        denoiser, sampled["seconds"], sampled["sample_rate"], run_dir / "diffusion"
    )
    results["diffusion_seconds"] = sampled["seconds"]
    results["seconds"] = time.perf_counter() - started
    (run_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{results['command']} on {results['hardware']}: {results['seconds']:.0f} s\n")
    print(table(results))
    print(f"\nwritten to {run_dir / 'results.json'}")


if __name__ == "__main__":
    main()
