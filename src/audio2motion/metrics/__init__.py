"""The field's measures of generated motion, defined as the papers define them so that numbers compare
with published tables (each module names its source)."""

from audio2motion.metrics.aist_features import FEATURE_FPS, geometric_features, kinetic_features
from audio2motion.metrics.beats import beat_alignment, motion_beats, music_beats, track_beats
from audio2motion.metrics.distribution import diversity, fid, frechet_distance
from audio2motion.metrics.ground_truth import correlation, nmse
from audio2motion.metrics.physical import foot_skating, jerk, mean_speed, physical_foot_contact
from audio2motion.metrics.speech import (
    UPPER_BODY,
    beat_consistency,
    joint_speed,
    l1_diversity,
    speech_onsets,
)

__all__ = [
    "FEATURE_FPS",
    "UPPER_BODY",
    "beat_alignment",
    "beat_consistency",
    "correlation",
    "diversity",
    "fid",
    "foot_skating",
    "frechet_distance",
    "geometric_features",
    "jerk",
    "joint_speed",
    "kinetic_features",
    "l1_diversity",
    "mean_speed",
    "motion_beats",
    "music_beats",
    "nmse",
    "physical_foot_contact",
    "speech_onsets",
    "track_beats",
]
