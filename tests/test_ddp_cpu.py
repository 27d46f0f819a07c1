"""`trainer=ddp_cpu`: two processes over gloo train like one process with the same global batch."""

import torch
from conftest import run_script

TINY = [
    "experiment=tiny",
    "trainer.max_epochs=3",
    "model.net.dropout=0.0",  # dropout masks are drawn per process: leave them out of the comparison
    "callbacks.progress_bar.refresh_rate=0",
]


def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    data = f"paths.data_dir={tmp_path / 'data'}"
    one = run_script("train.py", *TINY, data, "data.batch_size=16", f"hydra.run.dir={tmp_path / 'one'}")
    assert one.returncode == 0, one.stderr[-3000:]
    two = run_script(
        "train.py",
        *TINY,
        data,
        "trainer=ddp_cpu",
        "trainer.devices=2",
        "data.batch_size=8",
        f"hydra.run.dir={tmp_path / 'two'}",
    )
    assert two.returncode == 0, two.stderr[-3000:]
    single = torch.load(tmp_path / "one" / "checkpoints" / "last.ckpt", weights_only=True)
    double = torch.load(tmp_path / "two" / "checkpoints" / "last.ckpt", weights_only=True)
    assert single["global_step"] == double["global_step"] > 0
    val = [
        next(v for v in ckpt["callbacks"].values() if v.get("monitor") == "val/loss")["best_model_score"]
        for ckpt in (single, double)
    ]
    assert abs(val[1] - val[0]) / val[0] < 0.02, val
