"""The reference pool: the real motions that FID and diversity compare a scored set with and normalise by.
Bailando's `metrics_new.py` uses every ground-truth motion of the data set, whole; so does this, under
either protocol. With `data.cache_dir` the pool's features are kept there (`pool-KEY.npz`, KEY as the
preprocessing cache's: the reader's settings, the protocol's features, and every file under the root)."""

import json
import logging
from pathlib import Path

import numpy as np

from audio2motion.atomic import atomic_write
from audio2motion.data.cache import cache_key
from audio2motion.data.datamodule import MotionDataModule
from audio2motion.data.folder import SPLITS
from audio2motion.evaluation.protocol import Protocol
from audio2motion.evaluation.scores import ScoredMotion, aist_joints, set_features
from audio2motion.motion.layout import skeleton_of

log = logging.getLogger(__name__)

Pool = tuple[np.ndarray, np.ndarray] | None  # kinetic [N, K] and geometric [N, 32] features


def reference_pool(datamodule: MotionDataModule, protocol: Protocol) -> tuple[Pool, str]:
    """The pool's kinetic `[N, K]` and geometric `[N, 32]` features under `protocol` (None for a layout
    without the SMPL body joints), and what it holds in words. A reader that knows its data set's whole
    recording (AIST++: every file of motions/ less ignore_list.txt, at 60 fps whatever data.fps is)
    gives it; otherwise the pool is every clip of the three splits at data.fps."""
    cached = _cache_file(datamodule, protocol)
    if cached is not None and cached.is_file():
        with np.load(cached, allow_pickle=False) as data:
            log.info("reference pool read from %s", cached)
            described = str(data["described"])
            return ((data["kinetic"], data["geometric"]) if "kinetic" in data.files else None), described
    pool, described = _features(datamodule, protocol)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(cached) as handle:
            arrays = {"kinetic": pool[0], "geometric": pool[1]} if pool is not None else {}
            np.savez(handle, described=np.str_(described), **arrays)
    return pool, described


def _cache_file(datamodule: MotionDataModule, protocol: Protocol) -> Path | None:
    if datamodule.cache_dir is None:
        return None
    reader = datamodule.reader
    settings = {
        "pool": [type(reader).__qualname__, getattr(reader, "settings", None)],
        "fps": datamodule.fps,  # of the clips, when the pool is the splits' clips
        "expenditure_quirk": protocol.expenditure_quirk,
        "splits": [datamodule.split_seed, datamodule.val_fraction, datamodule.test_fraction],
    }
    key = cache_key(json.loads(json.dumps(settings, default=str)), datamodule.root, datamodule.cache_dir)
    return datamodule.cache_dir / f"pool-{key}.npz"


def _features(datamodule: MotionDataModule, protocol: Protocol) -> tuple[Pool, str]:
    reader, root = datamodule.reader, datamodule.root
    if hasattr(reader, "recorded_motions"):
        layout, motions, problems = reader.recorded_motions(root)
        datamodule.report_problems(problems)
        where = f"every motion of {root / 'motions'} less ignore_list.txt"
    else:
        layout = datamodule.layout
        motions = [(clip.name, clip.motion.numpy()) for split in SPLITS for clip in datamodule.clips[split]]
        where = f"every clip of the train, val and test splits of {root}"
    fps, skeleton = float(layout["fps"]), skeleton_of(layout)
    body = aist_joints(skeleton.joints) if skeleton else 0
    kept = [motion for _, motion in motions if len(motion) >= 3]
    described = f"{len(kept)} motions, {where}, whole, at {fps:g} fps"
    if not body or not kept:
        return None, described
    features = [
        set_features(ScoredMotion(motion).joint_positions(layout), fps, body, protocol, whole=True)
        for motion in kept
    ]
    return (np.stack([k for k, _ in features]), np.stack([g for _, g in features])), described
