"""Trainer options that change how a step is computed but not what is learned: gradient accumulation,
torch.compile, deterministic mode, resident data."""

import pytest
import torch
from probes import largest_difference, record_overrides
from test_config import FAST, GENERATOR, compose_train

from audio2motion.training.run import train

pytestmark = pytest.mark.slow  # every test trains in this process, several times

SAME_STEPS = [*GENERATOR, *FAST, "model.net.dropout=0.0", "trainer.max_epochs=2", "data.stride_seconds=0.25"]
SAME_STEPS = [o for o in SAME_STEPS if o not in ("trainer.max_epochs=1", "data.stride_seconds=1.0")]
# Full learning rate from the second step, so that a few steps move the weights well beyond float rounding.
MOVING = ["model.scheduler.warmup_steps=1", "trainer.max_epochs=3"]


def run(tmp_path, name, *overrides):
    cfg = compose_train([*SAME_STEPS, *overrides], tmp_path / name, tmp_path / "data")
    metrics = train(cfg)
    checkpoint = torch.load(tmp_path / name / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    return metrics, checkpoint


def trained(tmp_path, name, *overrides) -> tuple[dict, dict]:
    """(last.ckpt, the weights training started from) of a run with MOVING and `overrides`."""
    folder = tmp_path / name / "weights"
    _, checkpoint = run(tmp_path, name, *MOVING, *record_overrides(folder), *overrides)
    return checkpoint, torch.load(folder / "start-rank0.pt", weights_only=True)


def test_accumulating_two_half_batches_gives_the_weights_of_one_whole_batch(tmp_path):
    whole, start = trained(tmp_path, "whole", "data.batch_size=8", "++trainer.limit_train_batches=2")
    halves, halves_start = trained(
        tmp_path,
        "halves",
        "data.batch_size=4",
        "trainer.accumulate_grad_batches=2",
        "++trainer.limit_train_batches=4",
    )
    # the same windows, each half batch its own step
    steps, _ = trained(tmp_path, "steps", "data.batch_size=4", "++trainer.limit_train_batches=4")
    assert whole["global_step"] == halves["global_step"] == 6 and steps["global_step"] == 12
    assert largest_difference(halves_start, start) == 0
    moved = largest_difference(whole["state_dict"], start)
    accumulated = largest_difference(halves["state_dict"], whole["state_dict"])
    stepped = largest_difference(steps["state_dict"], whole["state_dict"])
    # measured: moved 0.016, accumulated 1.2e-7 (0.024 when each micro-batch forgets the gradient of the
    # one before), stepped 0.029
    assert accumulated < 1e-3 * moved and stepped > 0.1 * moved, (moved, accumulated, stepped)


def test_compiled_network_learns_the_eager_weights_and_saves_the_plain_state_dict(tmp_path):
    torch._dynamo.reset()
    plain, start = trained(tmp_path, "plain")
    # aot_eager traces and compiles the graphs as inductor does, without needing a C++ compiler
    compiled, _ = trained(tmp_path, "compiled", "compile.enabled=true", "compile.backend=aot_eager")
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > 0
    assert compiled["state_dict"].keys() == plain["state_dict"].keys()
    moved = largest_difference(plain["state_dict"], start)
    difference = largest_difference(compiled["state_dict"], plain["state_dict"])
    assert difference < 1e-3 * moved, (moved, difference)  # measured: moved 0.010, difference 0


def test_resident_data_learns_the_weights_of_the_loaders_batches(tmp_path):
    loaded, start = trained(tmp_path, "loaded", "data.resident=false")
    resident, resident_start = trained(tmp_path, "resident", "data.resident=true")
    assert largest_difference(resident_start, start) == 0
    moved = largest_difference(loaded["state_dict"], start)
    difference = largest_difference(resident["state_dict"], loaded["state_dict"])
    assert moved > 1e-3 and difference < 1e-5 * moved, (moved, difference)


def test_deterministic_mode_switches_torch_to_deterministic_algorithms(tmp_path):
    # On the CPU runs repeat anyway (test_train_e2e); what the option adds is torch's switch, which makes
    # GPU kernels without a deterministic version raise instead of varying.
    try:
        first = run(tmp_path, "first", "trainer.deterministic=true")[1]["state_dict"]
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)
    again = run(tmp_path, "again", "trainer.deterministic=false")[1]["state_dict"]
    assert not torch.are_deterministic_algorithms_enabled()
    assert all(torch.equal(first[k], again[k]) for k in first)


def test_last_checkpoint_is_the_final_epoch_when_validation_stops_improving(tmp_path):
    # lr 0: the validation loss of every epoch equals the first, so only epoch 0 is a best
    _, last = run(tmp_path, "flat", "model.optimizer.lr=0.0", "trainer.max_epochs=3", "data.batch_size=8")
    best = [p.name for p in (tmp_path / "flat" / "run" / "checkpoints").glob("best-*")]
    assert best and all(name.startswith("best-epoch000") for name in best)
    assert last["epoch"] == 2 and last["global_step"] == 6
