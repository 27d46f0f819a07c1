"""`trainer=ddp_cpu`: two processes over gloo train like one process with the same global batch."""

import pytest
import torch
from conftest import importable_tests_env, run_script
from probes import largest_difference, record_overrides

pytestmark = pytest.mark.slow

TINY = [
    "experiment=tiny",
    "trainer.max_epochs=3",
    "model.net.dropout=0.0",  # dropout masks are drawn per process: leave them out of the comparison
    "callbacks.progress_bar.refresh_rate=0",
]


def train(tmp_path, name, *overrides):
    """A train.py run whose every process writes its weights at the start and end of training
    (tests/probes.py) into tmp_path/name/weights; returns (last.ckpt, that folder)."""
    weights = tmp_path / name / "weights"
    result = run_script(
        "train.py",
        *TINY,
        *overrides,
        f"paths.data_dir={tmp_path / 'data'}",
        f"hydra.run.dir={tmp_path / name / 'run'}",
        *record_overrides(weights),
        env=importable_tests_env(),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return torch.load(tmp_path / name / "run" / "checkpoints" / "last.ckpt", weights_only=True), weights


def load(folder, name: str) -> dict:
    return torch.load(folder / f"{name}.pt", weights_only=True)


def test_two_processes_keep_equal_weights_and_match_one_with_the_same_global_batch(tmp_path):
    single, one = train(tmp_path, "one", "data.batch_size=16")
    double, two = train(tmp_path, "two", "trainer=ddp_cpu", "trainer.devices=2", "data.batch_size=8")
    assert single["global_step"] == double["global_step"] > 0
    start, rank0, rank1 = load(one, "start-rank0"), load(two, "end-rank0"), load(two, "end-rank1")
    assert largest_difference(load(two, "start-rank0"), start) == 0  # the same seed, the same initial weights
    assert largest_difference(load(two, "start-rank1"), start) == 0
    moved = largest_difference(rank0, start)
    # Each process sees half of every global batch: only the gradient all-reduce keeps them equal (gloo
    # gives every process the same sum, so they agree bit for bit; without it they differ by as much as
    # the weights moved).
    between_ranks = largest_difference(rank0, rank1)
    assert between_ranks <= 1e-6 * moved, (between_ranks, moved)
    # The averaged gradient of two half batches is the gradient of the whole one, up to float rounding.
    from_single = largest_difference(rank0, load(one, "end-rank0"))
    assert from_single < 1e-3 * moved, (from_single, moved)
    assert largest_difference(double["state_dict"], rank0) == 0  # what rank 0 saved is the last.ckpt
