"""Scores of motion against its clip with the field's measures, and their summary over a set of clips:
generated motion, ground truth and the mean pose side by side (scripts/evaluate.py).

Skeleton measures work on joint positions, each at the rate its source uses: the AIST++ features
(FID_k, FID_g, diversity) at 60 fps from positions relative to the first frame's root, as Bailando
computes them, against a reference pool (see pool.py) under a protocol (see protocol.py); EDGE's PFC at
30 fps; foot skating and jerk in metres and seconds at the motion's rate; beat alignment with Bailando's
windows in seconds (see metrics/beats.py); EMAGE's beat consistency and L1 diversity at its 30 fps on
positions without the root's translation, as EMAGE zeroes it (see metrics/speech.py).
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from audio2motion.evaluation.protocol import Protocol, beat_windows
from audio2motion.metrics import (
    FEATURE_FPS,
    UPPER_BODY,
    beat_alignment,
    beat_consistency,
    correlation,
    diversity,
    fid,
    foot_skating,
    geometric_features,
    jerk,
    joint_speed,
    kinetic_features,
    l1_diversity,
    motion_beats,
    nmse,
    physical_foot_contact,
    speech_onsets,
    track_beats,
)
from audio2motion.motion.layout import joint_positions, skeleton_of
from audio2motion.motion.skeleton import SMPL_JOINTS, Skeleton

METRICS = (
    "beat_alignment", "beat_consistency", "fid_k", "fid_g", "diversity", "l1_diversity", "foot_skating",
    "pfc", "jerk", "nmse",
)  # fmt: skip
SOURCES = ("generated", "ground_truth", "mean_pose")
PFC_FPS = 30.0  # EDGE's rate
EMAGE_FPS = 30.0  # BEAT2's, at which EMAGE scores BC and L1div
# EMAGE sums these over the frames of all test sequences: a mean over clips weighted by their length
FRAME_WEIGHTED = ("beat_consistency", "l1_diversity")
PFC_FEET = ("left_ankle", "left_foot", "right_ankle", "right_foot")  # EDGE's order: SMPL 7, 10, 8, 11


@dataclass(frozen=True)
class ScoredMotion:
    """Motion to score: `channels` `[T, D]` in the data's layout, or (files of joint positions alone)
    `positions` `[T, J, 3]` of the data's skeleton with `channels` None."""

    channels: np.ndarray | None = None
    positions: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.channels if self.channels is not None else self.positions)

    def joint_positions(self, layout: dict) -> np.ndarray:
        if self.positions is not None:
            return self.positions
        return joint_positions(torch.from_numpy(self.channels).double(), layout).numpy()


@dataclass(frozen=True)
class ScoredClip:
    """One clip of the scored set: its ground truth `[T, D]`, the onset envelope of its music `[M]` at the
    motion's rate (the whole music, which can run past the motion; None without an onset feature), and
    the generated motion, which can be longer than the truth (made for the whole music)."""

    name: str
    truth: np.ndarray
    onset: np.ndarray | None
    generated: ScoredMotion


def resample(points: np.ndarray, fps: float, new_fps: float) -> np.ndarray:
    """`points` `[T, ...]` at `fps`, linearly interpolated to `new_fps` over the same span of time."""
    if fps == new_fps:
        return points
    times = np.arange(int((len(points) - 1) * new_fps / fps) + 1) / new_fps
    flat = points.reshape(len(points), -1)
    source = np.arange(len(points)) / fps
    return np.stack([np.interp(times, source, column) for column in flat.T], axis=1).reshape(
        len(times), *points.shape[1:]
    )


def clip_scores(
    motion: ScoredMotion,
    truth: np.ndarray,
    music: np.ndarray,
    speech: np.ndarray,
    layout: dict,
    scale: np.ndarray,
    mean_speed: np.ndarray | None,
    protocol: Protocol,
) -> tuple[dict[str, float], tuple[np.ndarray, np.ndarray] | None]:
    """Per-clip measures of `motion` against the truth `[T, D]` (NMSE and correlation over the frames
    both have; NaN for joint positions alone), the music's beat frames (those before the motion's last
    frame count, as Bailando's `get_mb(length=T-1)`) and the speech's onset times (seconds); and the
    clip's AIST++ features under `protocol` (None without an SMPL body). `scale` `[D]` evens out channels
    for the beats and jerk of layouts without a skeleton; `mean_speed` `[J]` is each joint's mean speed
    in the ground truth (`mean_joint_speed`), which beat consistency's motion beats must exceed 0.3
    times."""
    fps, skeleton = float(layout["fps"]), skeleton_of(layout)
    music = music[music < len(motion) - 1]
    scores = {"nmse": math.nan, "correlation": math.nan}
    if motion.channels is not None:
        frames = min(len(motion), len(truth))
        scores = {
            "nmse": nmse(motion.channels[:frames], truth[:frames]),
            "correlation": correlation(motion.channels[:frames], truth[:frames]),
        }
    if skeleton is None:
        smooth, sigma = protocol.beat_windows
        scores |= {
            "beat_alignment": beat_alignment(
                music, motion_beats(motion.channels / scale, fps, smooth), fps, sigma
            ),
            "jerk": jerk(motion.channels / scale, fps),
        }
        return scores, None
    positions = motion.joint_positions(layout)  # [T, J, 3]
    scores |= position_scores(positions, skeleton, fps, music, speech, mean_speed, protocol.beat_windows)
    body = aist_joints(skeleton.joints)
    features = set_features(positions, fps, body, protocol) if body and len(motion) >= 3 else None
    return scores, features


def set_features(
    positions: np.ndarray, fps: float, body: int, protocol: Protocol, whole: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The AIST++ kinetic and geometric features of joint positions `[T, J, 3]` at `fps` (their first
    `body` joints), as Bailando's calc_and_save_feats makes them: at 60 fps, relative to the first frame's
    root, cut to the protocol's first seconds unless `whole` (the reference pool's motions are whole)."""
    relative = resample(positions[:, :body] - positions[0, 0], fps, FEATURE_FPS)
    if protocol.cut_seconds is not None and not whole:
        relative = relative[: round(protocol.cut_seconds * FEATURE_FPS)]
    kinetic = kinetic_features(relative, expenditure_quirk=protocol.expenditure_quirk)
    return kinetic, geometric_features(relative)


def position_scores(
    positions: np.ndarray,
    skeleton: Skeleton,
    fps: float,
    music: np.ndarray,
    speech: np.ndarray,
    mean_speed: np.ndarray | None,
    windows: tuple[float, float] = beat_windows("bailando"),
) -> dict[str, float]:
    """The measures of joint positions `[T, J, 3]` of `skeleton` at `fps`: beat alignment against the
    music's beat frames (speed smoothing and sigma in seconds, `windows`), jerk, foot skating, PFC
    (NaN without EDGE's foot joints), L1 diversity and beat consistency against the speech's onset times
    (NaN without EMAGE's upper body; `mean_speed` `[J]` as in clip_scores)."""
    feet = [skeleton.joints.index(foot) for foot in skeleton.feet]
    smooth, sigma = windows
    scores = {
        "beat_alignment": beat_alignment(music, motion_beats(positions, fps, smooth), fps, sigma),
        "jerk": jerk(positions, fps),
        "foot_skating": foot_skating(positions, feet, fps),
        "pfc": math.nan,
    }
    if all(foot in skeleton.joints for foot in PFC_FEET):
        pfc_feet = [skeleton.joints.index(foot) for foot in PFC_FEET]
        scores["pfc"] = physical_foot_contact(resample(positions, fps, PFC_FPS), pfc_feet, PFC_FPS)
    emage = emage_positions(positions, fps)
    scores["l1_diversity"] = l1_diversity(emage)
    scores["beat_consistency"] = math.nan
    if all(joint in skeleton.joints for joint in UPPER_BODY):
        upper = [skeleton.joints.index(joint) for joint in UPPER_BODY]
        scores["beat_consistency"] = beat_consistency(speech, emage, EMAGE_FPS, upper, mean_speed)
    return scores


def emage_positions(positions: np.ndarray, fps: float) -> np.ndarray:
    """Joint positions `[T, J, 3]` as EMAGE scores them, at 30 fps and less the root joint's position:
    EMAGE zeroes the root translation, which leaves the root still (a constant offset changes neither
    speeds nor L1div)."""
    return resample(positions - positions[:, :1], fps, EMAGE_FPS)


def mean_joint_speed(truths: list[np.ndarray], layout: dict) -> np.ndarray | None:
    """Each joint's mean speed `[J]` over every frame of the ground truth `[T, D]` of each clip (EMAGE's
    `avg_vel`, which it takes over all BEAT2 takes), on `emage_positions`; None without a skeleton or 2
    frames."""
    if skeleton_of(layout) is None:
        return None
    speeds = []
    for truth in truths:
        body = emage_positions(ScoredMotion(truth).joint_positions(layout), float(layout["fps"]))
        if len(body) >= 2:
            speeds.append(joint_speed(body, EMAGE_FPS))
    return np.concatenate(speeds).mean(axis=0) if speeds else None


def aist_joints(joints: tuple[str, ...]) -> int:
    """How many leading joints the AIST++ features use: SMPL's 24 (72 kinetic features), the 22 SMPL
    body joints of an SMPL-X skeleton (66), or 0 for other skeletons (manual.py reads joints up to 21)."""
    if joints[:24] == SMPL_JOINTS:
        return 24
    return 22 if joints[:22] == SMPL_JOINTS[:22] else 0


def evaluate(
    clips: list[ScoredClip],
    layout: dict,
    mean_pose: np.ndarray,
    scale: np.ndarray,
    protocol: Protocol,
    pool: tuple[np.ndarray, np.ndarray] | None,
    progress: bool = True,
) -> dict:
    """Every measure for generated motion, ground truth and the mean pose `[D]` over `clips`, the set
    measures against `pool` (its kinetic `[N, K]` and geometric `[N, 32]` features; see pool.py):
    `{"metrics": {source: {metric: value or None}}, "per_clip": [...], "notes": {metric: why it is null},
    "warnings": [caveats on the numbers]}`. `scale` `[D]` as in clip_scores."""
    fps = float(layout["fps"])
    has_onset = all(clip.onset is not None for clip in clips)
    mean_speed = mean_joint_speed([clip.truth for clip in clips], layout)
    per_clip, features = [], {source: [] for source in SOURCES}
    for clip in tqdm(clips, desc="evaluate", unit="clip", disable=not progress):
        truth = clip.truth
        music = track_beats(clip.onset, fps) if has_onset else np.zeros(0, int)
        speech = speech_onsets(clip.onset[: len(truth)], fps) if has_onset else np.zeros(0)
        motions = {
            "generated": clip.generated,
            "ground_truth": ScoredMotion(truth),
            "mean_pose": ScoredMotion(np.tile(mean_pose, (len(truth), 1))),
        }
        row = {
            "clip": clip.name,
            "seconds": len(truth) / fps,
            "generated_seconds": len(clip.generated) / fps,
            "music_beats": int((music < len(truth) - 1).sum()),
            "speech_onsets": len(speech),
        }
        for source, motion in motions.items():
            scores, clip_features = clip_scores(
                motion, truth, music, speech, layout, scale, mean_speed, protocol
            )
            # NaN (no music beats or speech onsets, too few frames) is null: report.json stays standard JSON
            row[source] = {key: value if math.isfinite(value) else None for key, value in scores.items()}
            if clip_features is not None:
                features[source].append(clip_features)
        per_clip.append(row)
    return _summary(per_clip, features, pool, layout, has_onset)


def _mean(values: list[float | None], weights: list[float] | None = None) -> float | None:
    """The mean of the finite values (weighted by `weights` when given), None when there are none."""
    weights = [1.0] * len(values) if weights is None else weights
    kept = [(v, w) for v, w in zip(values, weights, strict=True) if v is not None and math.isfinite(v)]
    return float(np.average([v for v, _ in kept], weights=[w for _, w in kept])) if kept else None


def _notes(per_clip: list[dict], features: dict, pool, layout: dict, has_onset: bool) -> dict[str, str]:
    """Why each measure that is null for every source is null."""
    notes, skeleton = {}, skeleton_of(layout)
    if not has_onset:
        notes["beat_alignment"] = "the features have no onset channel to find music beats in"
        notes["beat_consistency"] = "the features have no onset channel to find speech onsets in"
    if skeleton is None:
        for key in ("beat_consistency", "fid_k", "fid_g", "diversity", "l1_diversity", "foot_skating", "pfc"):
            notes[key] = "needs joint positions: a model of a skeleton layout (data=aistpp or data=beat2)"
        return notes
    if not all(foot in skeleton.joints for foot in PFC_FEET):
        notes["pfc"] = f"needs the joints {', '.join(PFC_FEET)}"
    missing = [joint for joint in UPPER_BODY if joint not in skeleton.joints]
    if missing:
        notes["beat_consistency"] = (
            f"needs EMAGE's upper-body joints; the skeleton lacks {', '.join(missing)}"
        )
    counted = len(features["ground_truth"])
    for key in ("fid_k", "fid_g", "diversity"):
        if not aist_joints(skeleton.joints):
            notes[key] = "the AIST++ features need the SMPL body joints (SMPL or SMPL-X skeletons)"
        elif counted < 2:
            notes[key] = (
                f"needs at least 2 clips of 3 frames or more (a covariance, a pair); {counted} of the "
                f"{len(per_clip)} clips scored"
            )
        elif pool is None or len(pool[0]) < 2:
            notes[key] = "needs a reference pool of at least 2 motions of 3 frames or more"
    return notes


def _summary(per_clip: list[dict], features: dict, pool, layout: dict, has_onset: bool) -> dict:
    notes = _notes(per_clip, features, pool, layout, has_onset)
    warnings = []
    if "fid_k" not in notes:
        for name, values in zip(("kinetic", "geometric"), pool, strict=True):
            still = int((values.std(axis=0) < 1e-8).sum())
            if still:
                warnings.append(
                    f"fid: {still} of the {values.shape[1]} {name} features do not vary over the "
                    f"{len(values)} motions of the reference pool; normalising by their spread (as Bailando "
                    "does) makes FID huge: score against more motions"
                )
    metrics = {}
    for source in SOURCES:
        rows = [row[source] for row in per_clip]
        # EMAGE weighs by the frames scored: generated motion can run longer than the truth
        length = "generated_seconds" if source == "generated" else "seconds"
        seconds = [row[length] for row in per_clip]
        summary = {
            key: _mean([r.get(key) for r in rows], seconds if key in FRAME_WEIGHTED else None)
            for key in METRICS
            if key not in notes
        }
        summary["correlation"] = _mean([r["correlation"] for r in rows])
        if "fid_k" not in notes and len(features[source]) >= 2:
            mine = [np.stack([f[i] for f in features[source]]) for i in range(2)]
            summary["fid_k"], summary["fid_g"] = fid(mine[0], pool[0]), fid(mine[1], pool[1])
            summary["diversity"] = {
                "kinetic": diversity(mine[0], pool[0]),
                "geometric": diversity(mine[1], pool[1]),
            }
        metrics[source] = {key: summary.get(key) for key in (*METRICS, "correlation")}
    if metrics["generated"]["nmse"] is None and metrics["ground_truth"]["nmse"] is not None:
        notes["nmse"] = (
            "the generated files hold joint positions, not the data's channels: nmse and correlation "
            "score .npz files of the data's layout and AIST++ .pkl files"
        )
    return {"metrics": metrics, "per_clip": per_clip, "notes": notes, "warnings": warnings}
