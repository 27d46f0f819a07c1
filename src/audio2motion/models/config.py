"""The network's hyper-parameters as one typed value (conf/model/*.yaml's `net`)."""

from collections.abc import Mapping
from dataclasses import dataclass, fields

MIXERS = ("conv", "attention")  # the temporal mixers a residual motion block can list


@dataclass(frozen=True)
class NetworkConfig:
    """What MotionNetwork (Audio2Motion, MotionDenoiser) is built from; checked when made.

    dim: width of every block; blocks: depth; mixing: temporal mixers per block, in order ("conv",
    "attention"); block i's convolution dilates by `dilations[i % len(dilations)]`; heads: attention
    heads; causal: a frame sees only what came before it; encoder_layers: audio encoder depth (layer i
    dilates by 2 ** i); conditioning: "frame" (one audio vector per frame) or "clip" (one pooled over the
    window, as Audio2Photoreal); modulation: "film" (DenseFiLM in every block) or "concat" (the audio
    joined to the block input once: an ablation); spline_step: above 1, the blocks run on control points
    one per `spline_step` frames and a cubic B-spline through them gives the frames (see spline.py).
    """

    dim: int = 128
    blocks: int = 8
    mixing: tuple[str, ...] = ("conv",)
    kernel_size: int = 3
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16)
    heads: int = 4
    causal: bool = False
    dropout: float = 0.1
    encoder_layers: int = 3
    conditioning: str = "frame"
    modulation: str = "film"
    spline_step: int = 1

    def __post_init__(self):
        object.__setattr__(self, "mixing", tuple(self.mixing))  # lists from YAML
        object.__setattr__(self, "dilations", tuple(self.dilations))
        unknown = set(self.mixing) - set(MIXERS)
        if unknown or not self.mixing:
            raise ValueError(f"mixing must list some of {MIXERS}, got {list(self.mixing)}")
        if not self.dilations or min(self.dilations) < 1:
            raise ValueError(
                f"dilations must list one or more dilations of 1 or more, got {list(self.dilations)}"
            )
        if self.conditioning not in ("frame", "clip"):
            raise ValueError(f"conditioning must be 'frame' or 'clip', got {self.conditioning!r}")
        if self.modulation not in ("film", "concat"):
            raise ValueError(f"modulation must be 'film' or 'concat', got {self.modulation!r}")
        if self.spline_step < 1:
            raise ValueError(f"spline_step must be 1 or more, got {self.spline_step}")
        if self.causal and self.spline_step > 1:
            raise ValueError("causal=true needs spline_step=1: a spline's frames read control points ahead")
        if self.causal and self.conditioning == "clip":
            raise ValueError("causal=true needs conditioning='frame': a clip vector pools the future too")

    @classmethod
    def from_dict(cls, values: Mapping) -> "NetworkConfig":
        """From plain data (a config's or a checkpoint's `net`); ValueError naming keys it does not have."""
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"model.net has no setting {', '.join(unknown)}")
        return cls(**values)
