"""Is the model generative? `python scripts/benchmark_generative.py` (see its config).

Prints a Markdown table and writes `results.json` and `results.md` into the run folder.
"""

import os
import shlex
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from audio2motion.errors import exit_on_user_error
from audio2motion.generative_benchmark import format_report, run_benchmark
from audio2motion.hardware import hardware
from audio2motion.learning_benchmark import write_results

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("AUDIO2MOTION_ROOT", str(ROOT))


@hydra.main(version_base="1.3", config_path="../conf", config_name="benchmark_generative")
def main(cfg: DictConfig) -> None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    with exit_on_user_error():
        report = run_benchmark(cfg, run_dir, ROOT / "conf")
    command = shlex.join(["python", "scripts/benchmark_generative.py", *sys.argv[1:]])
    markdown = format_report(report, command, hardware(), cfg.benchmark.samples)
    write_results(run_dir, report, markdown)


if __name__ == "__main__":
    main()
