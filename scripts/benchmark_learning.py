"""Does the model learn audio to motion? `python scripts/benchmark_learning.py` (see its config).

Prints a Markdown table and writes `results.json` and `results.md` into the run folder.
"""

import json
import os
import platform
import shlex
import sys
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from audio2motion.errors import exit_on_user_error
from audio2motion.learning_benchmark import format_report, run_benchmark

os.environ.setdefault("AUDIO2MOTION_ROOT", str(Path(__file__).resolve().parents[1]))


def hardware() -> str:
    """CPU model and cores, GPU if any, torch version."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = models[0] if models else platform.processor() or platform.machine()
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{os.cpu_count()} cores of {cpu}{gpu}, torch {torch.__version__}"


@hydra.main(version_base="1.3", config_path="../conf", config_name="benchmark_learning")
def main(cfg: DictConfig) -> None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    with exit_on_user_error():
        report = run_benchmark(cfg, run_dir)
    command = shlex.join(["python", "scripts/benchmark_learning.py", *sys.argv[1:]])
    markdown = format_report(report, command, hardware())
    (run_dir / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    (run_dir / "results.md").write_text(markdown)
    print(markdown)
    print(f"written to {run_dir / 'results.md'} and results.json")


if __name__ == "__main__":
    main()
