"""Score a checkpoint on clips with the field's measures (scripts/evaluate.py): generated motion, ground
truth and the mean pose side by side.

Skeleton measures work on joint positions from forward kinematics, each at the rate its source uses:
the AIST++ features (FID_k, FID_g, diversity) at 60 fps from positions relative to the first frame's
root, as Bailando computes them; EDGE's PFC at 30 fps; foot skating and jerk in metres and seconds at the
motion's rate; beat alignment with Bailando's windows in seconds (see metrics/beats.py); EMAGE's beat
consistency and L1 diversity at its 30 fps on positions without the root's translation, as EMAGE zeroes
it (see metrics/speech.py).
"""

import math

import numpy as np
import torch
from tqdm import tqdm

from audio2motion.data.folder import Clip
from audio2motion.errors import InputError
from audio2motion.inference import MotionGenerator
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
    motion: np.ndarray,
    truth: np.ndarray,
    music: np.ndarray,
    speech: np.ndarray,
    layout: dict,
    scale: np.ndarray,
    mean_speed: np.ndarray | None,
):
    """Per-clip measures of motion `[T, D]` against the truth `[T, D]`, the music's beat frames and the
    speech's onset times (seconds), and the clip's AIST++ features (None without an SMPL body). `scale`
    `[D]` evens out channels for the beats and jerk of layouts without a skeleton; `mean_speed` `[J]` is
    each joint's mean speed in the ground truth (`mean_joint_speed`), which beat consistency's motion beats
    must exceed 0.3 times."""
    fps, skeleton = float(layout["fps"]), skeleton_of(layout)
    scores = {"nmse": nmse(motion, truth), "correlation": correlation(motion, truth)}
    if skeleton is None:
        scores |= {
            "beat_alignment": beat_alignment(music, motion_beats(motion / scale, fps), fps),
            "jerk": jerk(motion / scale, fps),
        }
        return scores, None
    positions = joint_positions(torch.from_numpy(motion).double(), layout).numpy()  # [T, J, 3]
    scores |= position_scores(positions, skeleton, fps, music, speech, mean_speed)
    features = None
    body = aist_joints(skeleton.joints)
    if body and len(motion) >= 3:
        relative = resample(positions[:, :body] - positions[0, 0], fps, FEATURE_FPS)
        features = (kinetic_features(relative), geometric_features(relative))
    return scores, features


def position_scores(
    positions: np.ndarray,
    skeleton: Skeleton,
    fps: float,
    music: np.ndarray,
    speech: np.ndarray,
    mean_speed: np.ndarray | None,
) -> dict[str, float]:
    """The measures of joint positions `[T, J, 3]` of `skeleton` at `fps`: beat alignment against the
    music's beat frames, jerk, foot skating, PFC (NaN without EDGE's foot joints), L1 diversity and beat
    consistency against the speech's onset times (NaN without EMAGE's upper body; `mean_speed` `[J]` as
    in clip_scores)."""
    feet = [skeleton.joints.index(foot) for foot in skeleton.feet]
    scores = {
        "beat_alignment": beat_alignment(music, motion_beats(positions, fps), fps),
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


def mean_joint_speed(clips: list[Clip], layout: dict) -> np.ndarray | None:
    """Each joint's mean speed `[J]` over every frame of the clips' ground truth (EMAGE's `avg_vel`,
    which it takes over all BEAT2 takes), on `emage_positions`; None without a skeleton or 2 frames."""
    if skeleton_of(layout) is None:
        return None
    speeds = []
    for clip in clips:
        body = emage_positions(joint_positions(clip.motion.double(), layout).numpy(), float(layout["fps"]))
        if len(body) >= 2:
            speeds.append(joint_speed(body, EMAGE_FPS))
    return np.concatenate(speeds).mean(axis=0) if speeds else None


def aist_joints(joints: tuple[str, ...]) -> int:
    """How many leading joints the AIST++ features use: SMPL's 24 (72 kinetic features), the 22 SMPL
    body joints of an SMPL-X skeleton (66), or 0 for other skeletons (manual.py reads joints up to 21)."""
    if joints[:24] == SMPL_JOINTS:
        return 24
    return 22 if joints[:22] == SMPL_JOINTS[:22] else 0


def evaluate(generator: MotionGenerator, clips: list[Clip], progress: bool = True) -> dict:
    """Every measure for generated motion, ground truth and the mean pose over `clips`: `{"metrics":
    {source: {metric: value or None}}, "per_clip": [...], "notes": {metric: why it is null},
    "warnings": [caveats on the numbers]}`."""
    layout, fps = generator.layout, generator.fps
    mean_pose = generator.motion_norm.mean.cpu().numpy()
    scale = generator.motion_norm.std.cpu().numpy()
    onset = generator.featurizer.offsets.get("onset")
    mean_speed = mean_joint_speed(clips, layout)
    per_clip, features = [], {source: [] for source in SOURCES}
    for clip in tqdm(clips, desc="evaluate", unit="clip", disable=not progress):
        truth = clip.motion.numpy()
        music = track_beats(clip.features[:, onset].numpy(), fps) if onset is not None else np.zeros(0, int)
        speech = speech_onsets(clip.features[:, onset].numpy(), fps) if onset is not None else np.zeros(0)
        generated = generator.motion_from_features(clip.features).values.cpu().numpy()
        if not np.isfinite(generated).all():
            raise InputError(f"clip {clip.name}: the model's motion for it holds NaN or infinite values")
        motions = {
            "generated": generated,
            "ground_truth": truth,
            "mean_pose": np.tile(mean_pose, (len(truth), 1)),
        }
        row = {
            "clip": clip.name,
            "seconds": len(truth) / fps,
            "music_beats": len(music),
            "speech_onsets": len(speech),
        }
        for source, motion in motions.items():
            scores, clip_features = clip_scores(motion, truth, music, speech, layout, scale, mean_speed)
            # NaN (no music beats or speech onsets, too few frames) is null: report.json stays standard JSON
            row[source] = {key: value if math.isfinite(value) else None for key, value in scores.items()}
            if clip_features is not None:
                features[source].append(clip_features)
        per_clip.append(row)
    return _summary(per_clip, features, layout, onset is not None)


def _mean(values: list[float | None], weights: list[float] | None = None) -> float | None:
    """The mean of the finite values (weighted by `weights` when given), None when there are none."""
    weights = [1.0] * len(values) if weights is None else weights
    kept = [(v, w) for v, w in zip(values, weights, strict=True) if v is not None and math.isfinite(v)]
    return float(np.average([v for v, _ in kept], weights=[w for _, w in kept])) if kept else None


def _summary(per_clip: list[dict], features: dict, layout: dict, has_onset: bool) -> dict:
    notes, skeleton = {}, skeleton_of(layout)
    if not has_onset:
        notes["beat_alignment"] = "the checkpoint's features have no onset channel to find music beats in"
        notes["beat_consistency"] = "the checkpoint's features have no onset channel to find speech onsets in"
    if skeleton is None:
        for key in ("beat_consistency", "fid_k", "fid_g", "diversity", "l1_diversity", "foot_skating", "pfc"):
            notes[key] = "needs joint positions: a model of a skeleton layout (data=aistpp or data=beat2)"
    else:
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
    warnings = []
    if features["ground_truth"] and "fid_k" not in notes:
        real = [np.stack([f[i] for f in features["ground_truth"]]) for i in range(2)]
        for name, values in zip(("kinetic", "geometric"), real, strict=True):
            still = int((values.std(axis=0) < 1e-8).sum())
            if still:
                warnings.append(
                    f"fid: {still} of the {values.shape[1]} {name} features do not vary over the "
                    f"{len(values)} real clips; normalising by their spread (as Bailando does) makes FID "
                    "huge: score more clips"
                )
    metrics = {}
    for source in SOURCES:
        rows, seconds = [row[source] for row in per_clip], [row["seconds"] for row in per_clip]
        summary = {
            key: _mean([r.get(key) for r in rows], seconds if key in FRAME_WEIGHTED else None)
            for key in METRICS
            if key not in notes
        }
        summary["correlation"] = _mean([r["correlation"] for r in rows])
        if features[source] and "fid_k" not in notes:
            real = [np.stack([f[i] for f in features["ground_truth"]]) for i in range(2)]
            mine = [np.stack([f[i] for f in features[source]]) for i in range(2)]
            summary["fid_k"], summary["fid_g"] = fid(mine[0], real[0]), fid(mine[1], real[1])
            summary["diversity"] = {
                "kinetic": diversity(mine[0], real[0]),
                "geometric": diversity(mine[1], real[1]),
            }
        metrics[source] = {key: summary.get(key) for key in (*METRICS, "correlation")}
    return {"metrics": metrics, "per_clip": per_clip, "notes": notes, "warnings": warnings}


def report_markdown(report: dict) -> str:
    """report.json's numbers as a Markdown page: settings, the table, notes, hardware."""
    settings = report["settings"]
    lines = [
        f"# Evaluation of {settings['ckpt']}",
        "",
        f"{settings['clips']} clips of the {settings['split']} split of {settings['data_root']} "
        f"({settings['seconds']:.1f} s of audio at {settings['fps']:g} fps), {report['seconds']:.1f} s on "
        f"{report['hardware']}.",
        "",
        "| metric | " + " | ".join(s.replace("_", " ") for s in SOURCES) + " |",
        "|---|" + "---:|" * len(SOURCES),
    ]
    metrics = report["metrics"]
    for key in (*METRICS, "correlation"):
        values = [metrics[source][key] for source in SOURCES]
        if key == "diversity":
            for part in ("kinetic", "geometric"):
                cells = [format_value(v[part] if v else None) for v in values]
                lines.append(f"| diversity ({part}) | " + " | ".join(cells) + " |")
        else:
            lines.append(f"| {key} | " + " | ".join(format_value(v) for v in values) + " |")
    lines += ["", DEFINITIONS]
    if report["notes"]:
        lines += ["", "Empty cells:"] + [f"- {key}: {why}" for key, why in report["notes"].items()]
    if report["warnings"]:
        lines += ["", "Caveats:"] + [f"- {warning}" for warning in report["warnings"]]
    return "\n".join(lines) + "\n"


def format_value(value: float | None) -> str:
    """A measure for a table: four significant digits, or nothing for a null."""
    return "" if value is None else f"{value:.4g}"


DEFINITIONS = (
    "beat_alignment: Bailando's score of motion beats against music beats (higher is better); "
    "beat_consistency: EMAGE's BC, speech onsets against pauses (speed minima) of 13 upper-body joints, "
    "sigma 0.3 s (EMAGE reads higher as better; compare with the ground truth's); fid_k, fid_g: FID of "
    "the AIST++ kinetic (72) and geometric (32) features against the ground truth's, normalised by the "
    "ground truth's statistics (lower is better); diversity: mean distance between clips' features (near "
    "the ground truth's is better); l1_diversity: EMAGE's L1div, the L1 distance of all joints from their "
    "mean position over the clip summed, in metres, averaged over frames (near the ground truth's is "
    "better); foot_skating: fraction of frames with a grounded foot sliding; pfc: EDGE's physical foot "
    "contact score (lower is better); jerk: mean magnitude of the third derivative of joint positions, "
    "m/s^3 (channels in standard deviations/s^3 without a skeleton); nmse: squared error over the "
    "truth's variance (the mean pose is about 1); correlation: mean per-channel Pearson correlation with "
    "the truth; beat_consistency and l1_diversity weigh clips by their length, as EMAGE does."
)
