"""Checkpoints and outputs are whole or absent: a process killed while it writes leaves the old file."""

import random
import signal
import subprocess
import sys
import time

import pytest
import torch

from audio2motion.atomic import atomic_write

WRITER = """
import sys, torch
from audio2motion.training.atomic_checkpoint_io import AtomicCheckpointIO
io, version = AtomicCheckpointIO(), 0
while True:  # 8 MB a time, so that a kill often lands mid-write
    io.save_checkpoint({"version": version, "weights": torch.full((2_000_000,), float(version))}, sys.argv[1])
    version += 1
"""


# The kills' delays are drawn from this seed, so that a failure repeats (up to the scheduling of the
# processes); assertion messages name it and the delays.
KILL_SEED = 26


@pytest.mark.slow  # six fresh interpreters
def test_checkpoint_killed_while_written_is_the_old_or_the_new_one(tmp_path):
    path = tmp_path / "checkpoints" / "last.ckpt"
    rng = random.Random(KILL_SEED)
    delays = [round(rng.uniform(0.05, 0.4), 3) for _ in range(6)]
    drawn = f"KILL_SEED={KILL_SEED}: killed {delays} s after the first write"
    versions = []
    for kill, delay in enumerate(delays):
        process = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
        while not path.exists() and process.poll() is None:
            time.sleep(0.01)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL, f"the writer stopped by itself; {drawn}"
        checkpoint = torch.load(path, weights_only=True)
        assert (checkpoint["weights"] == checkpoint["version"]).all(), f"kill {kill}; {drawn}"
        versions.append(checkpoint["version"])
    assert max(versions) > 0, drawn  # the writer did overwrite the file while being killed
    # What a kill can leave besides the checkpoint: hidden temporary files that nothing reads.
    assert all(p.name == "last.ckpt" or p.name.startswith(".last.ckpt.") for p in path.parent.iterdir())


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "motion.npz"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(path) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("disk full")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["motion.npz"]
    with atomic_write(path) as handle:
        handle.write(b"new")
    assert path.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["motion.npz"]
