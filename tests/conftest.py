import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

# pytest-xdist workers share the cores: each worker, and every script it runs, takes its share of threads
# instead of all of them (PYTEST_XDIST_WORKER_COUNT is set in the workers only).
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // _workers))
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

# Property tests (tests/test_fuzz.py): the same examples on every run and machine, no example database,
# no per-example deadline (the first call of a torchaudio kernel is slow).
settings.register_profile("audio2motion", max_examples=30, deadline=None, derandomize=True, database=None)
settings.load_profile("audio2motion")


def tone_mix(sample_rate: int, seconds: float, channels: int = 1) -> np.ndarray:
    """A band-limited test sound (four sines under a loudness envelope), the same at any rate:
    float32 `[samples]`, or `[samples, channels]` whose mean over channels is the mono sound."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    envelope = 0.3 + 0.7 * np.abs(np.sin(2 * math.pi * 0.7 * t))
    mono = envelope * sum(
        a * np.sin(2 * math.pi * f * t) for a, f in [(0.3, 220), (0.2, 700), (0.15, 1500), (0.1, 3100)]
    )
    if channels == 1:
        return mono.astype(np.float32)
    spread = np.linspace(-0.5, 0.5, channels) * np.sin(2 * math.pi * 1.3 * t)[:, None]
    return (mono[:, None] * (1 + spread)).astype(np.float32)


def write_audio(path: Path, sample_rate: int, seconds: float, channels: int = 1, **kwargs) -> Path:
    soundfile.write(path, tone_mix(sample_rate, seconds, channels), sample_rate, **kwargs)
    return path


class PlantedCode:
    """Pickles as a call to `Path.touch(marker)`: what a malicious checkpoint would run on load."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return type(self.marker).touch, (self.marker,)


@pytest.fixture
def as_tensor():
    return lambda array: torch.from_numpy(np.ascontiguousarray(np.atleast_2d(array.T)))


def run_script(*args: str, cwd: Path = ROOT, timeout: float = 300, env: dict | None = None):
    """Run a project script (train.py, scripts/infer.py, ...) in a fresh interpreter, with `env` added to
    this process's environment."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def importable_tests_env() -> dict:
    """The environment that lets a script's Hydra config name a class in tests/ (probes.Record)."""
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}


def infer(ckpt, audio, out, *extra: str):
    """scripts/infer.py on `audio` (a file or folder) into `out`, in a fresh interpreter."""
    return run_script("scripts/infer.py", f"ckpt={ckpt}", f"audio={audio}", f"out={out}", *extra)


def tiny_run(base: Path, *overrides: str) -> Path:
    """RUN_DIR of `train.py experiment=tiny` with `overrides`, in `base` (data generated there too); its
    stdout is kept as RUN_DIR/stdout.txt."""
    result = run_script(
        "train.py",
        "experiment=tiny",
        *overrides,
        f"hydra.run.dir={base}/run",
        f"paths.data_dir={base}/data",
        "callbacks.progress_bar.refresh_rate=0",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (base / "run" / "stdout.txt").write_text(result.stdout)
    return base / "run"


# Fixtures that train a model: a test that uses one, directly or through another fixture, is slow.
TRAINING_FIXTURES = {"trained_run"}


def pytest_collection_modifyitems(items):
    for item in items:
        if TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """RUN_DIR of a short `experiment=tiny` training on a freshly generated synthetic set."""
    return tiny_run(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def browser_context():
    """A headless Chromium (tests/browser.py) for this test process; pages open in it."""
    from browser import CHROMIUM_FLAGS, chromium
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1000, "height": 640})
        yield context
        browser.close()
