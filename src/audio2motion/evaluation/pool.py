"""The reference pool: the real motions that FID and diversity compare a scored set with and normalise by.
Bailando's `metrics_new.py` uses every ground-truth motion of the data set, whole; so does this, under
either protocol."""

import numpy as np

from audio2motion.data.datamodule import MotionDataModule
from audio2motion.evaluation.protocol import Protocol
from audio2motion.evaluation.scores import ScoredMotion, aist_joints, set_features
from audio2motion.motion.layout import skeleton_of

SPLITS = ("train", "val", "test")


def reference_pool(
    datamodule: MotionDataModule, protocol: Protocol
) -> tuple[tuple[np.ndarray, np.ndarray] | None, str]:
    """The pool's kinetic `[N, K]` and geometric `[N, 32]` features under `protocol` (None for a layout
    without the SMPL body joints), and what it holds in words. A reader that knows its data set's whole
    recording (AIST++: every file of motions/ less ignore_list.txt, at 60 fps whatever data.fps is)
    gives it; otherwise the pool is every clip of the three splits at data.fps."""
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
