"""`pip install .` (not editable) in a fresh virtual environment: the console scripts work from an empty
folder with no checkout in reach, their configs coming from inside the installed package."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, write_audio

pytestmark = pytest.mark.slow

# Each command, and a key of its own config that --help prints.
COMMANDS = {
    "train": "optimized_metric",
    "infer": "num_samples",
    "evaluate": "split",
    "export": "format",
    "preprocess": "cache_dir",
}


def run(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ folder of a virtual environment with audio2motion installed from a copy of the checkout
    that is deleted afterwards. The heavy dependencies (torch, ...) come from this interpreter's
    site-packages, so nothing is downloaded; the package itself is built and installed for real."""
    base = tmp_path_factory.mktemp("install")
    clone = base / "clone"
    listed = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    for name in run(*listed, cwd=ROOT).stdout.split("\0"):
        if name and (ROOT / name).is_file():  # a file deleted but not yet committed is listed too
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    venv = base / "venv"
    run(
        sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv, cwd=base
    )  # pip, setuptools: ours
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    run(*pip, clone, cwd=base)
    shutil.rmtree(clone)
    return venv / "bin"


def test_each_console_script_answers_help(installed, tmp_path):
    for name, key in COMMANDS.items():
        result = run(installed / f"audio2motion-{name}", "--help", cwd=tmp_path)
        assert "== Config ==" in result.stdout and f"{key}:" in result.stdout, (name, result.stdout[-2000:])


def test_installed_package_trains_and_infers_from_an_empty_folder(installed, tmp_path):
    where = run(installed / "python", "-c", "import audio2motion; print(audio2motion.__file__)", cwd=tmp_path)
    assert str(installed.parent) in where.stdout  # the installed copy, not a checkout
    run(
        installed / "audio2motion-train",
        "experiment=tiny",
        "callbacks.progress_bar.refresh_rate=0",
        cwd=tmp_path,
    )
    runs = list((tmp_path / "logs" / "train" / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "checkpoints" / "last.ckpt").is_file()
    assert (tmp_path / "data" / "synthetic_tiny").is_dir()  # generated in the working folder
    song = write_audio(tmp_path / "song.wav", 22050, 2.0)
    ckpt = runs[0] / "checkpoints" / "last.ckpt"
    run(installed / "audio2motion-infer", f"ckpt={ckpt}", f"audio={song}", "out=motion", cwd=tmp_path)
    with np.load(tmp_path / "motion" / "song.npz") as npz:
        assert npz["motion"].shape[0] == 60 and np.isfinite(npz["motion"]).all()


def test_a_users_config_folder_adds_options(installed, tmp_path):
    own = tmp_path / "my_conf" / "model"
    own.mkdir(parents=True)
    (own / "narrow.yaml").write_text("defaults:\n  - densefilm\n  - _self_\nnet:\n  dim: 24\n")
    result = run(
        installed / "audio2motion-train",
        "--config-dir",
        tmp_path / "my_conf",
        "model=narrow",
        "--cfg",
        "job",
        cwd=tmp_path,
    )
    assert "dim: 24" in result.stdout
