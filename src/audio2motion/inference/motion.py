"""Generated motion and the layout that names its channels."""

from dataclasses import dataclass

import torch

from audio2motion.motion.layout import joint_positions


@dataclass(frozen=True)
class Motion:
    """Generated motion: `values` `[T, D]` in the data's units, and the `layout` that names each channel
    (fps, channel names and groups, skeleton; see audio2motion.motion.layout)."""

    values: torch.Tensor  # [T, D]
    layout: dict

    @property
    def fps(self) -> float:
        return float(self.layout["fps"])

    def channel(self, name: str) -> torch.Tensor:
        """One channel over time `[T]`, by its layout name (`root.y`, `hips.bob`, ...)."""
        return self.values[:, self.layout["channels"].index(name)]

    def joint_positions(self) -> torch.Tensor:
        """Joint positions `[T, J, 3]` in metres, for skeleton layouts (forward kinematics)."""
        return joint_positions(self.values, self.layout)
