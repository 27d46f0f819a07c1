"""The diffusion denoiser: the same audio encoder and DenseFiLM residual motion blocks as Audio2Motion, run
on a noisy motion window; the condition is the audio embedding plus a diffusion-step embedding."""

import math

import torch
from torch import nn

from audio2motion.models.audio2motion import MotionNetwork
from audio2motion.models.config import NetworkConfig


class StepEmbedding(nn.Module):
    """Diffusion steps `[B]` -> `[B, d]`: sinusoids of the step (as a transformer's positions), then
    Linear, Mish, Linear."""

    def __init__(self, dim: int):
        super().__init__()
        half = dim // 2
        self.register_buffer(
            "freqs", torch.exp(-math.log(10000.0) * torch.arange(half) / half), persistent=False
        )
        self.mlp = nn.Sequential(nn.Linear(2 * half, dim), nn.Mish(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angles = t.float()[:, None] * self.freqs[None]  # [B, d/2]
        return self.mlp(torch.cat([angles.cos(), angles.sin()], dim=-1))  # [B, d]


class MotionDenoiser(MotionNetwork):
    """Noisy normalised motion `[B, T, D]`, its diffusion step and the audio -> a prediction `[B, T, D]`
    (clean motion, noise or v, as the objective says).

    The input projection of the noisy motion passes through the blocks (see MotionNetwork for the
    settings), each modulated by DenseFiLM on `audio + step` embeddings; with `modulation="concat"` (the
    ablation) those embeddings are concatenated to the projection once, at the input, instead. Where
    `keep_audio` is False the audio embedding is replaced by a learned null embedding: the unconditional
    model of classifier-free guidance.
    """

    def __init__(self, feature_dim: int, motion_dim: int, config: NetworkConfig):
        super().__init__(feature_dim, motion_dim, config)
        self.null_audio = nn.Parameter(torch.zeros(self.dim))
        self.step = StepEmbedding(self.dim)
        self.motion_in = nn.Linear(motion_dim, self.dim)

    def forward(
        self,
        noisy: torch.Tensor,
        t: torch.Tensor,
        audio: torch.Tensor,
        keep_audio: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """`noisy` `[B, T, D]`, `t` `[B]`, `audio` from `encode` (computed once per window and reused by
        every sampling step), `keep_audio` `[B]` bool; `mask` `[B, T]` marks real frames."""
        keep = keep_audio.reshape(-1, *[1] * (audio.dim() - 1))  # [B, 1(, 1)]
        audio = torch.where(keep, audio, self.null_audio.to(audio.dtype))  # [B, T, d] or [B, d]
        step = self.step(t)  # [B, d]
        cond = audio + (step[:, None] if audio.dim() == 3 else step)  # [B, T, d] or [B, d]
        return self.decode(self.motion_in(noisy), cond, mask)  # [B, T, D]
