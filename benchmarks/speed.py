"""Speed and memory: `python benchmarks/speed.py [overrides]` (see conf/speed.yaml); the measurements
are in measurements.py.

Prints one table and writes `results.json` into the run folder.
"""

import json
import shlex
import sys
import time
from pathlib import Path

import hydra
from groups import composed
from hydra.core.hydra_config import HydraConfig
from measurements import (
    data_rate,
    feature_rates,
    infer_script_rate,
    inference_rate,
    model_cost,
    peak_tflops,
    streaming_rate,
    train_rate,
    training_flops,
    untrained_module,
    utilisation,
)
from omegaconf import DictConfig, OmegaConf

from audio2motion.hardware import hardware


def table(results: dict) -> str:
    """The results as a Markdown table of two columns, measure and value."""
    rows = [("measure", "value")]
    rates = results["features"]["audio_s_per_s"]
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
    settings = results["compile"]
    compiled = (
        f", torch.compile mode={settings['mode']} backend={settings['backend']}"
        if settings["enabled"]
        else ""
    )
    data = results["data"]["windows_per_s"]
    consumed = results["models"][results["default_model"]]["train"]["windows_per_s"]
    rows.append(("data loader (windows / s)", f"{data:,.0f}"))
    rows.append(("data loader over training consumption", f"{data / consumed:.0f}x"))
    for name, model in results["models"].items():
        rows.append((f"{name}: parameters", f"{model['parameters']:,}"))
        rows.append((f"{name}: forward GFLOPs per s of motion", f"{model['gflops_per_motion_second']:.2f}"))
        train = model["train"]
        rows.append(
            (
                f"{name}: training on {results['device']}{compiled} (windows / s)",
                f"{train['windows_per_s']:.1f}",
            )
        )
        if settings["enabled"]:
            rows.append((f"{name}: graphs compiled", f"{train['compiled_graphs']}"))
        rows.append((f"{name}: training peak memory (MiB)", f"{train['peak_mb']:,.0f}"))
        rows.append(
            (
                f"{name}: training GFLOPs per window (forward + backward)",
                f"{model['train_gflops_per_window']:.2f}",
            )
        )
        rows.append((f"{name}: training TFLOP/s achieved", f"{train['tflops']:.3f}"))
        peak = train["peak_tflops"]
        rows.append(
            (
                f"{name}: MFU (of {'an unknown' if peak is None else f'{peak:g} TFLOP/s'} dense bf16 peak)",
                "peak unknown: set benchmark.peak_tflops" if peak is None else f"{100 * train['mfu']:.1f}%",
            )
        )
        rows.append((f"{name}: offline inference (x real time)", f"{model['inference']['x_real_time']:,.0f}"))
    stream = results["streaming"]
    audio = f"{stream['sample_rate'] / 1000:g} kHz, {stream['channels']} channel(s)"
    name = f"{stream['model']} streaming, {stream['chunk_ms']:g} ms chunks of {audio}"
    rows.append((f"{name} (x real time)", f"{stream['x_real_time']:,.1f}"))
    rows.append(
        (
            f"{name}: compute per chunk (ms, mean / p99)",
            f"{stream['compute_ms_per_chunk_mean']:.3f} / {stream['compute_ms_per_chunk_p99']:.3f}",
        )
    )
    rows.append(
        (
            f"{name}: frame delay, its time to out (ms, mean / max)",
            f"{stream['frame_delay_ms_mean']:.0f} / {stream['frame_delay_ms_max']:.0f}",
        )
    )
    offline = results["offline"]
    name = (
        f"{offline['model']}: scripts/infer.py on {offline['audio_seconds']:g} s of "
        f"{offline['sample_rate'] / 1000:g} kHz, {offline['channels']} channel(s), start-up included"
    )
    rows.append((f"{name} (x real time)", f"{offline['x_real_time']:.1f}"))
    rows.append((f"{name}: peak memory (MiB)", f"{offline['peak_mib']:,.0f}"))
    sampled = results["diffusion"]
    rows.append(
        (
            f"{sampled['model']}, objective=diffusion: scripts/infer.py on "
            f"{sampled['audio_seconds']:g} s of music, start-up included (x real time)",
            f"{sampled['x_real_time']:.1f}",
        )
    )
    width = max(len(r[0]) for r in rows)
    lines = [f"| {a:<{width}} | {b} |" for a, b in rows]
    lines.insert(1, f"|{'-' * (width + 2)}|---|")
    return "\n".join(lines)


@hydra.main(version_base="1.3", config_path="conf", config_name="speed")
def main(cfg: DictConfig) -> None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    bench = OmegaConf.to_container(cfg.benchmark, resolve=True)
    features = OmegaConf.to_container(cfg.features, resolve=True)
    compile_settings = OmegaConf.to_container(cfg.compile, resolve=True)
    audio, window_seconds, started = bench["audio"], bench["train"]["window_seconds"], time.perf_counter()
    results = {
        "command": shlex.join(["python", "benchmarks/speed.py", *sys.argv[1:]]),
        "hardware": hardware(),
        "device": cfg.device,
        "compile": compile_settings,
        "default_model": bench["models"][0],
        "features": feature_rates(audio["seconds"], audio["sample_rate"], features, bench["repeats"]),
        "data": data_rate(run_dir / "data", features, bench["data"]),
        "models": {},
    }
    peak = peak_tflops(cfg.device, bench["peak_tflops"])
    for name in bench["models"]:
        model = composed("model", name)
        module = untrained_module(model, features, window_seconds)
        flops = training_flops(module)
        train = train_rate(model, features, bench["train"], compile_settings, cfg.device)
        results["models"][name] = {
            **model_cost(module),
            "train_gflops_per_window": flops / 1e9,
            "train": train | utilisation(train, flops, peak),
            "inference": inference_rate(module, audio["seconds"], audio["sample_rate"], bench["repeats"]),
        }
    stream = bench["streaming"]
    causal = untrained_module(composed("model", stream["model"]), features, window_seconds)
    results["streaming"] = {
        "model": stream["model"],
        **streaming_rate(
            causal, audio["seconds"], stream["sample_rate"], stream["channels"], stream["chunk_seconds"]
        ),
    }
    offline, model = bench["offline"], composed("model", results["default_model"])
    results["offline"] = {
        "model": results["default_model"],
        "sample_rate": offline["sample_rate"],
        **infer_script_rate(
            untrained_module(model, features, window_seconds),
            offline["seconds"],
            offline["sample_rate"],
            run_dir / "offline",
            offline["channels"],
        ),
    }
    sampled = bench["diffusion"]
    denoiser = untrained_module(model, features, window_seconds, composed("objective", "diffusion"))
    results["diffusion"] = {
        "model": results["default_model"],
        **infer_script_rate(denoiser, sampled["seconds"], sampled["sample_rate"], run_dir / "diffusion"),
    }
    results["seconds"] = time.perf_counter() - started
    (run_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{results['command']} on {results['hardware']}: {results['seconds']:.0f} s\n")
    print(table(results))
    print(f"\nwritten to {run_dir / 'results.json'}")


if __name__ == "__main__":
    main()
