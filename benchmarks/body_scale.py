"""The body-scale benchmark: `python benchmarks/body_scale.py [overrides]` (see conf/body_scale.yaml).

Cuts one real take into overlapping clips, places its joints by forward kinematics with every bone of the
skeleton scaled alike, and scores every other clip against all of them (the pool) under each protocol:
FID_k, FID_g and both diversities, per scale. The spread says how much a body of other proportions (the
male SMPL body Bailando uses against the neutral offsets here) can move published numbers.
"""

import dataclasses
from pathlib import Path

import hydra
import numpy as np
import torch
from omegaconf import DictConfig
from suite import run_and_write

from audio2motion.data.beat2 import Beat2Reader
from audio2motion.data.folder import Pair
from audio2motion.errors import InputError
from audio2motion.evaluation import protocol_of
from audio2motion.evaluation.scores import aist_joints, set_features
from audio2motion.metrics import diversity, fid
from audio2motion.motion.layout import joint_positions, skeleton_of

MEASURES = ("fid_k", "fid_g", "div_k", "div_g")


def run_benchmark(cfg: DictConfig) -> dict:
    take = Path(cfg.take)
    if not take.is_file():
        raise InputError(f"take={take}: no such file (a BEAT2 smplxflame_30 .npz)")
    reader = Beat2Reader()
    motion = reader.motion(Pair(take.stem, None, take), 30.0)  # [T, D] at BEAT2's 30 fps
    layout = reader.layout(take.parents[1], 30.0, motion.shape[1])
    skeleton = skeleton_of(layout)
    body, fps = aist_joints(skeleton.joints), float(layout["fps"])
    length, hop = round(cfg.clip_seconds * fps), round(cfg.hop_seconds * fps)
    results = {}
    for scale in cfg.scales:
        offsets = tuple(tuple(scale * v for v in offset) for offset in skeleton.offsets)
        scaled = layout | {"skeleton": dataclasses.replace(skeleton, offsets=offsets).to_dict()}
        positions = joint_positions(torch.from_numpy(motion).double(), scaled).numpy()  # [T, J, 3]
        clips = [positions[start : start + length] for start in range(0, len(positions) - length + 1, hop)]
        for name in cfg.protocols:
            features = [
                set_features(clip, fps, body, protocol_of(name, "bailando"), whole=True) for clip in clips
            ]
            pool = [np.stack([f[i] for f in features]) for i in range(2)]
            scored = [np.stack([f[i] for f in features[::2]]) for i in range(2)]
            results.setdefault(name, {})[str(scale)] = {
                "fid_k": fid(scored[0], pool[0]),
                "fid_g": fid(scored[1], pool[1]),
                "div_k": diversity(scored[0], pool[0]),
                "div_g": diversity(scored[1], pool[1]),
            }
    return {"take": str(take), "clips": len(clips), "scored": len(clips[::2]), "results": results}


def format_report(report: dict, command: str, hardware: str) -> str:
    lines = [
        f"# Body scale: {report['scored']} of {report['clips']} clips of {Path(report['take']).name} scored "
        "against all of them",
        "",
        f"`{command}` on {hardware}.",
        "",
        "| protocol | bone scale | " + " | ".join(MEASURES) + " |",
        "|---|---:|" + "---:|" * len(MEASURES),
    ]
    for name, by_scale in report["results"].items():
        first = next(iter(by_scale.values()))
        for scale, row in by_scale.items():
            cells = [f"{row[k]:.3f} ({100 * (row[k] / first[k] - 1):+.1f} %)" for k in MEASURES]
            lines.append(f"| {name} | {float(scale):g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@hydra.main(version_base="1.3", config_path="conf", config_name="body_scale")
def main(cfg: DictConfig) -> None:
    run_and_write("body_scale.py", lambda _: run_benchmark(cfg), format_report)


if __name__ == "__main__":
    main()
