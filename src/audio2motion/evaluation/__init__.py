"""Scoring motion with the field's measures (scripts/evaluate.py): the clips' scores (scores.py) under a
protocol (protocol.py) against a reference pool (pool.py), of a checkpoint's motion or of motion files
some system wrote (generated.py), written up as report.md (report.py)."""

from audio2motion.evaluation.protocol import Protocol, protocol_of
from audio2motion.evaluation.report import format_value, report_markdown
from audio2motion.evaluation.scores import (
    EMAGE_FPS,
    METRICS,
    PFC_FEET,
    SOURCES,
    ScoredClip,
    ScoredMotion,
    emage_positions,
    evaluate,
    position_scores,
    resample,
)

__all__ = [
    "EMAGE_FPS",
    "METRICS",
    "PFC_FEET",
    "SOURCES",
    "ScoredMotion",
    "Protocol",
    "ScoredClip",
    "emage_positions",
    "evaluate",
    "format_value",
    "position_scores",
    "protocol_of",
    "report_markdown",
    "resample",
]
