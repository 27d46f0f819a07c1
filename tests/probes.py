"""What a training run did, for tests to check: `Record`, a callback that writes each process's weights and a
record of its steps, and `largest_difference` between two state dicts.

train.py takes the callback as `+callbacks.record._target_=probes.Record +callbacks.record.folder=DIR`
(`record_overrides(DIR)`); in a fresh interpreter tests/ must be on PYTHONPATH
(conftest.importable_tests_env)."""

import json
from pathlib import Path

import lightning as L
import torch


def record_overrides(folder) -> list[str]:
    return ["+callbacks.record._target_=probes.Record", f"+callbacks.record.folder={folder}"]


class Record(L.Callback):
    """Writes, R being the process's global rank, into `folder`:

    - `start-rank{R}.pt` and `end-rank{R}.pt`: the module's state dict when training starts and ends;
    - `record-rank{R}.json` when training ends: each training step's loss, learning rate and batch clips
      (`steps`), the validation batches run outside the sanity check, the global step, the accelerator,
      precision, loggers and callbacks the trainer used, whether the network was compiled, the parameters'
      dtypes, and how many times the profiler timed each action (`profiled`, {} without one).
    """

    def __init__(self, folder: str):
        self.folder = Path(folder)
        self.steps: list[dict] = []
        self.val_batches = 0

    def _save(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().clone() for k, v in pl_module.state_dict().items()}
        torch.save(state, self.folder / f"{stage}-rank{trainer.global_rank}.pt")

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._save(trainer, pl_module, "start")

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.steps.append(
            {
                "lr": trainer.optimizers[0].param_groups[0]["lr"],
                "clips": list(batch["clip"]),
                "features_dtype": str(batch["features"].dtype),
            }
        )

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        self.steps[-1]["loss"] = float(loss)

    def on_validation_batch_end(self, trainer, *args, **kwargs) -> None:
        if not trainer.sanity_checking:
            self.val_batches += 1

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._save(trainer, pl_module, "end")
        profiled = getattr(trainer.profiler, "recorded_durations", {})
        record = {
            "steps": self.steps,
            "val_batches": self.val_batches,
            "global_step": trainer.global_step,
            "accelerator": type(trainer.accelerator).__name__,
            "precision": trainer.precision,
            "loggers": [type(logger).__name__ for logger in trainer.loggers],
            "callbacks": [type(callback).__name__ for callback in trainer.callbacks],
            "compiled": getattr(pl_module.model, "_compiled_call_impl", None) is not None,
            "parameter_dtypes": sorted({str(p.dtype) for p in pl_module.parameters()}),
            "profiled": {action: len(times) for action, times in profiled.items()},
        }
        (self.folder / f"record-rank{trainer.global_rank}.json").write_text(json.dumps(record, indent=1))


def largest_difference(a: dict, b: dict) -> float:
    """The largest absolute difference between two state dicts of the same keys."""
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)
