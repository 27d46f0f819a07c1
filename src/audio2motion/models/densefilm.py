"""DenseFiLM: feature-wise affine modulation of motion features by a condition (Audio2Photoreal, EDGE)."""

import torch
from torch import nn


class DenseFiLM(nn.Module):
    """`(1 + scale) * h + shift` with `scale, shift = Linear(d, 2d)(Mish(c))`.

    The linear layer starts at zero, so a fresh DenseFiLM is the identity. A condition `[B, d]` (one per
    clip) is broadcast over time; a condition `[B, T, d]` modulates each frame with its own vector.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.act = nn.Mish()
        self.proj = nn.Linear(dim, 2 * dim)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        params = self.proj(self.act(cond))  # [B, 2d] or [B, T, 2d]
        if params.dim() == 2:
            params = params.unsqueeze(1)  # [B, 1, 2d]
        return modulate(h, params)  # [B, T, d]


def modulate(h: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """`(1 + scale) * h + shift` for `params` = `[scale, shift]` `[..., 2d]`, the projected condition,
    broadcast against `h` `[..., d]`."""
    scale, shift = params.chunk(2, dim=-1)  # [..., d] each
    return torch.addcmul(shift, h, scale + 1)
