"""Per-channel standardisation with statistics stored as buffers, so they travel in the checkpoint."""

import torch
from torch import nn


class Normalizer(nn.Module):
    """`(x - mean) / std` over the last axis, and its inverse. Constant channels keep std 1."""

    def __init__(self, dim: int, min_std: float = 1e-5):
        super().__init__()
        self.min_std = min_std
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    @torch.no_grad()
    def set_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.mean.copy_(mean)
        self.std.copy_(torch.where(std < self.min_std, torch.ones_like(std), std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std  # [..., C]

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean  # [..., C]
