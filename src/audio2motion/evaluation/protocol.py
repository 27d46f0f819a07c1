"""How the set measures are computed: the published protocol (Bailando's and FACT's code, quirks kept, so
that numbers sit in the field's tables) or the corrected one; and whose beat-alignment windows."""

from dataclasses import dataclass

PROTOCOLS = ("published", "corrected")
BEAT_FRAMES = {"bailando": 60.0, "edge": 30.0}  # the frame rate the 5- and 3-frame windows are counted at
PUBLISHED_SECONDS = 20.0  # calc_and_save_feats keeps a generated clip's first 1200 frames at 60 fps


def beat_windows(frames: str) -> tuple[float, float]:
    """Bailando's Gaussian of 5 frames on the motion's speed and its sigma of 3 frames between music and
    motion beats, in seconds at the frame rate of `frames` (bailando or edge)."""
    rate = BEAT_FRAMES[frames]
    return 5 / rate, 3 / rate


@dataclass(frozen=True)
class Protocol:
    name: str
    expenditure_quirk: bool  # kinetic.py's acceleration as published (see metrics/aist_features.py)
    cut_seconds: float | None  # each scored clip's features from its first seconds; None: whole clips
    beat_frames: str  # bailando or edge

    @property
    def beat_windows(self) -> tuple[float, float]:
        return beat_windows(self.beat_frames)

    def describe(self) -> str:
        """One paragraph for report.md: what the numbers are and which tables they compare with."""
        if self.name == "published":
            sets = (
                "FID_k, FID_g and diversity as Bailando's and FACT's published code computes them: kinetic "
                "features with its acceleration quirk (utils.py's `v1 = p[k] - p[k-1] / frame_time`, so "
                "the expenditure feature mostly measures where each joint is), each scored clip cut to its "
                f"first {PUBLISHED_SECONDS:g} s. These compare with the tables of FACT, Bailando, EDGE and "
                "later work, which all used that code."
            )
        else:
            sets = (
                "FID_k, FID_g and diversity on the intended kinetic features (acceleration as the second "
                "difference of positions) and whole clips. These do not compare with published tables: "
                "FID_k and Div_k differ most."
            )
        beats = (
            "Beat alignment with Bailando's windows (speed smoothed by 5 frames, sigma 3 frames) at 60 fps, "
            "as in Bailando's table"
            if self.beat_frames == "bailando"
            else "Beat alignment with the same windows counted at 30 fps (twice as long in time), as EDGE "
            "ran Bailando's code on its 30 fps motion"
        )
        return (
            f"Protocol `{self.name}`: {sets} Both sets are normalised by the reference pool's statistics "
            f"(every motion of the data set, whole). {beats}; a music beat on a clip's last frame is "
            "dropped, as Bailando's `get_mb(length=T-1)` does."
        )


def protocol_of(name: str, beat_frames: str) -> Protocol:
    """The protocol called `name` with the beat-alignment windows of `beat_frames`; ValueError naming the
    choices for anything else."""
    if name not in PROTOCOLS:
        raise ValueError(f"protocol={name}: must be one of {', '.join(PROTOCOLS)}")
    if beat_frames not in BEAT_FRAMES:
        raise ValueError(f"beat_alignment.frames={beat_frames}: must be one of {', '.join(BEAT_FRAMES)}")
    published = name == "published"
    return Protocol(name, published, PUBLISHED_SECONDS if published else None, beat_frames)
