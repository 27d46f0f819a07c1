"""One line naming the machine that measured numbers (an evaluation report, a timing) come from."""

import os
import platform
from pathlib import Path

import torch


def hardware() -> str:
    """CPU model and cores, GPU if any, torch version."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = models[0] if models else platform.processor() or platform.machine()
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{os.cpu_count()} cores of {cpu}{gpu}, torch {torch.__version__}"
