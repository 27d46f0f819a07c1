"""The diffusion denoiser: the same audio encoder and DenseFiLM residual motion blocks as Audio2Motion, run
on a noisy motion window; DenseFiLM's condition is the audio embedding plus a diffusion-step embedding."""

import math

import torch
from torch import nn

from audio2motion.models.audio2motion import AudioEncoder
from audio2motion.models.blocks import residual_stack


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


class MotionDenoiser(nn.Module):
    """Noisy normalised motion `[B, T, D]`, its diffusion step and the audio -> a prediction `[B, T, D]`
    (clean motion, noise or v, as the objective says).

    The input projection of the noisy motion passes through `blocks` residual motion blocks, each
    modulated by DenseFiLM on `audio + step` embeddings: one audio vector per frame
    (`conditioning="frame"`) or per window (`"clip"`). Where `keep_audio` is False the audio embedding is
    replaced by a learned null embedding: the unconditional model of classifier-free guidance. The
    arguments are Audio2Motion's; `modulation` must be "film", since the step enters through DenseFiLM.
    """

    def __init__(
        self,
        feature_dim: int,
        motion_dim: int,
        dim: int = 128,
        blocks: int = 8,
        mixing: tuple[str, ...] = ("conv",),
        kernel_size: int = 3,
        dilations: tuple[int, ...] = (1, 2, 4, 8, 16),
        heads: int = 4,
        causal: bool = False,
        dropout: float = 0.1,
        encoder_layers: int = 3,
        conditioning: str = "frame",
        modulation: str = "film",
    ):
        super().__init__()
        if conditioning not in ("frame", "clip"):
            raise ValueError(f"conditioning must be 'frame' or 'clip', got {conditioning!r}")
        if modulation != "film":
            raise ValueError(
                f"objective=diffusion needs modulation 'film' (the step enters there), got {modulation!r}"
            )
        self.conditioning = conditioning
        self.encoder = AudioEncoder(feature_dim, dim, encoder_layers, kernel_size, causal, dropout)
        self.null_audio = nn.Parameter(torch.zeros(dim))
        self.step = StepEmbedding(dim)
        self.motion_in = nn.Linear(motion_dim, dim)
        self.blocks = residual_stack(
            dim, blocks, mixing, kernel_size, dilations, heads, causal, dropout, film=True
        )
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, motion_dim)

    def encode(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised features `[B, T, F]` -> the audio condition, `[B, T, d]` or `[B, d]`; computed once
        per window and reused by every sampling step."""
        per_frame, per_clip = self.encoder(features, mask)
        return per_frame if self.conditioning == "frame" else per_clip

    def forward(
        self,
        noisy: torch.Tensor,
        t: torch.Tensor,
        audio: torch.Tensor,
        keep_audio: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """`noisy` `[B, T, D]`, `t` `[B]`, `audio` from `encode`, `keep_audio` `[B]` bool; `mask` `[B, T]`
        marks real frames."""
        keep = keep_audio.reshape(-1, *[1] * (audio.dim() - 1))  # [B, 1(, 1)]
        audio = torch.where(keep, audio, self.null_audio.to(audio.dtype))  # [B, T, d] or [B, d]
        step = self.step(t)  # [B, d]
        cond = audio + (step[:, None] if audio.dim() == 3 else step)  # [B, T, d] or [B, d]
        x = self.motion_in(noisy)  # [B, T, d]
        for block in self.blocks:
            x = block(x, cond, mask)  # [B, T, d]
        return self.head(self.norm(x))  # [B, T, D]
