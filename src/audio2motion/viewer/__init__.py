"""Motion in a web page: one self-contained HTML file that plays motions side by side with their sound
(infer.py viewer=true, scripts/view.py, evaluation's pages)."""

from audio2motion.viewer.page import (
    Track,
    check_compression,
    cut_audio,
    figure_track,
    length_mismatch,
    motion_track,
    page_html,
    write_page,
)

__all__ = [
    "Track",
    "check_compression",
    "cut_audio",
    "figure_track",
    "length_mismatch",
    "motion_track",
    "page_html",
    "write_page",
]
