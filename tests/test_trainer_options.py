"""Trainer options that change how a step is computed but not what is learned: gradient accumulation,
torch.compile, deterministic mode."""

import torch
from test_config import FAST, GENERATOR, compose_train

from audio2motion.training.run import train

SAME_STEPS = [*GENERATOR, *FAST, "model.net.dropout=0.0", "trainer.max_epochs=2", "data.stride_seconds=0.25"]
SAME_STEPS = [o for o in SAME_STEPS if o not in ("trainer.max_epochs=1", "data.stride_seconds=1.0")]


def run(tmp_path, name, *overrides):
    cfg = compose_train([*SAME_STEPS, *overrides], tmp_path / name, tmp_path / "data")
    metrics = train(cfg)
    checkpoint = torch.load(tmp_path / name / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    return metrics, checkpoint


def test_accumulating_two_half_batches_matches_one_whole_batch(tmp_path):
    whole, whole_ckpt = run(tmp_path, "whole", "data.batch_size=8", "++trainer.limit_train_batches=2")
    halves, halves_ckpt = run(
        tmp_path,
        "halves",
        "data.batch_size=4",
        "trainer.accumulate_grad_batches=2",
        "++trainer.limit_train_batches=4",
    )
    assert whole_ckpt["global_step"] == halves_ckpt["global_step"] == 4
    assert abs(halves["val/loss"] - whole["val/loss"]) / whole["val/loss"] < 0.01, (whole, halves)


def test_compiled_network_trains_and_saves_the_plain_state_dict(tmp_path):
    torch._dynamo.reset()
    plain, plain_ckpt = run(tmp_path, "plain")
    # aot_eager traces and compiles the graphs as inductor does, without needing a C++ compiler
    compiled, compiled_ckpt = run(tmp_path, "compiled", "compile.enabled=true", "compile.backend=aot_eager")
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > 0
    assert compiled_ckpt["state_dict"].keys() == plain_ckpt["state_dict"].keys()
    assert abs(compiled["val/loss"] - plain["val/loss"]) / plain["val/loss"] < 1e-3, (plain, compiled)


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
