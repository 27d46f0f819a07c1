"""The audio-to-motion model: audio encoder -> DenseFiLM-modulated residual motion blocks -> head; the
parts it shares with the diffusion denoiser are MotionNetwork."""

from dataclasses import dataclass

import torch
from torch import nn

from audio2motion.models.blocks import ResidualMotionBlock, StackState, residual_stack, stack_step
from audio2motion.models.config import NetworkConfig
from audio2motion.models.spline import from_controls, to_controls


class AudioEncoder(nn.Module):
    """Normalised audio features `[B, T, F]` -> per-frame embeddings `[B, T, d]`, clip vector `[B, d]`:
    `config.encoder_layers` unconditioned convolutional blocks, layer i dilated by 2 ** i."""

    def __init__(self, feature_dim: int, config: NetworkConfig):
        super().__init__()
        dim = config.dim
        self.proj = nn.Linear(feature_dim, dim)
        self.blocks = nn.ModuleList(
            ResidualMotionBlock(
                dim,
                ("conv",),
                kernel_size=config.kernel_size,
                dilation=2**i,
                causal=config.causal,
                dropout=config.dropout,
                film=False,
            )
            for i in range(config.encoder_layers)
        )
        self.norm = nn.LayerNorm(dim)

    def forward(
        self, features: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`mask` `[B, T]` marks real frames; the clip vector averages those alone."""
        h = self.proj(features)  # [B, T, d]
        for block in self.blocks:
            h = block(h, mask=mask)  # [B, T, d]
        frames = self.norm(h)  # [B, T, d]
        if mask is None:
            return frames, frames.mean(dim=1)  # [B, T, d], [B, d]
        weights = mask.unsqueeze(-1).to(frames.dtype)  # [B, T, 1]
        return frames, (frames * weights).sum(1) / weights.sum(1).clamp(min=1)

    def step(self, features: torch.Tensor, past: StackState) -> tuple[torch.Tensor, StackState]:
        """Streaming (causal convolutions): per-frame embeddings `[t, d]` of new frames' features `[t, F]`,
        and the blocks' new state (see ResidualMotionBlock.step)."""
        h, state = stack_step(self.blocks, self.proj(features), None, past)  # [t, d]
        return self.norm(h), state


def receptive_field(config: NetworkConfig) -> tuple[int, int] | None:
    """(past, future) frames that frame t's output reads, for a network of convolutions alone and per-frame
    conditioning; None for one with attention (it sees whole windows) or a clip vector (it pools them).

    Such a network computes frame t from frames t - past .. t + future only, however long its input, so
    windows with that much context on each side give exactly the one-pass result, and a causal one
    (future 0) can stream."""
    if set(config.mixing) != {"conv"} or config.conditioning != "frame" or config.spline_step > 1:
        return None
    dilations = [2**i for i in range(config.encoder_layers)] + [
        config.dilations[i % len(config.dilations)] for i in range(config.blocks) for _ in config.mixing
    ]
    reaches = [(config.kernel_size - 1) * d for d in dilations]
    past = sum(reaches) if config.causal else sum(r // 2 for r in reaches)  # as DilatedConv pads
    return past, sum(reaches) - past


@dataclass
class StreamState:
    """What Audio2Motion.step keeps between pushes: the encoder's and the blocks' convolutions' last
    inputs, and the blocks' DenseFiLM projections stacked when the stream starts (weight
    `[blocks x 2d, d]`, bias), so that one product per frame gives every block's scale and shift (every
    block reads the same condition); None for blocks without DenseFiLM."""

    encoder: StackState
    blocks: StackState
    film: tuple[torch.Tensor, torch.Tensor] | None


class MotionNetwork(nn.Module):
    """What the regression model and the diffusion denoiser share: the audio encoder, the residual motion
    blocks and the output head, built from a NetworkConfig.

    The audio embedding is one vector per frame (`conditioning="frame"`) or one per clip (`"clip"`, the
    Audio2Photoreal form). With `modulation="film"` DenseFiLM modulates every block by a condition; with
    `"concat"` (an ablation) the blocks are built without it and the condition is instead concatenated
    to the block input once, then projected back to width d. With `spline_step` above 1 the blocks run on
    control points and a cubic B-spline gives the frames (see spline.py). Subclasses say what the blocks
    run on.
    """

    def __init__(self, feature_dim: int, motion_dim: int, config: NetworkConfig):
        super().__init__()
        self.dim, self.conditioning = config.dim, config.conditioning
        self.encoder = AudioEncoder(feature_dim, config)
        self.blocks = residual_stack(config, film=config.modulation == "film")
        self.concat = nn.Linear(2 * config.dim, config.dim) if config.modulation == "concat" else None
        self.norm = nn.LayerNorm(config.dim)
        self.head = nn.Linear(config.dim, motion_dim)
        self.context = receptive_field(config)
        self.spline_step = config.spline_step

    def encode(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised features `[B, T, F]` -> the audio embedding, `[B, T, d]` (per frame) or `[B, d]`;
        `mask` `[B, T]` marks real frames, the only ones a clip vector averages."""
        per_frame, per_clip = self.encoder(features, mask)
        return per_frame if self.conditioning == "frame" else per_clip

    def decode(self, x: torch.Tensor, cond: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """The blocks on `x` `[B, T, d]`, conditioned on `cond` `[B, T, d]` or `[B, d]` as `modulation`
        says, then the head."""
        frames, step = x.shape[1], self.spline_step
        x = self.joined(x, cond)  # [B, T, d]
        if step > 1:
            if cond.dim() == 3 and self.concat is None:  # concat has joined it to x already
                cond, _ = to_controls(cond, mask, step)  # [B, C, d]
            x, mask = to_controls(x, mask, step)  # [B, C, d], [B, C]
        for block in self.blocks:
            x = block(x, cond, mask)  # [B, T or C, d]; blocks without DenseFiLM (concat) ignore cond
        out = self.head(self.norm(x))  # [B, T or C, D]
        return out if step == 1 else from_controls(out, frames, step)  # [B, T, D]

    def joined(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """With `modulation="concat"`, the block input `x` `[B, T, d]` (or one stream's `[t, d]`) joined to
        its condition and projected back to width d; `x` itself with DenseFiLM."""
        if self.concat is None:
            return x
        if cond.dim() < x.dim():  # one vector per clip `[B, d]`
            cond = cond.unsqueeze(1).expand(-1, x.shape[1], -1)  # [B, T, d]
        return self.concat(torch.cat([x, cond], dim=-1))  # [B, T, d] ([t, d] streaming)


class Audio2Motion(MotionNetwork):
    """Audio features to motion, both normalised per channel (the regression objective).

    A learned query, repeated over the frames, passes through the blocks (see MotionNetwork for the
    settings). With `modulation="film"` DenseFiLM modulates every block by the audio embedding; with
    `"concat"` (the ablation) the embedding is instead concatenated to the query once, at the input.
    """

    def __init__(self, feature_dim: int, motion_dim: int, config: NetworkConfig):
        super().__init__(feature_dim, motion_dim, config)
        self.query = nn.Parameter(torch.randn(self.dim) * 0.02)

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """`features` `[B, T, F]` -> motion `[B, T, D]`; `mask` `[B, T]` marks real (unpadded) frames."""
        cond = self.encode(features, mask)  # [B, T, d] or [B, d]
        x = self.query.expand(features.shape[0], features.shape[1], -1)  # [B, T, d]
        return self.decode(x, cond, mask)  # [B, T, D]

    def stream_state(self) -> StreamState:
        """The state `step` starts a stream from (zeros, as a window pads). Raises ValueError for a network
        that cannot stream."""
        if self.context is None or self.context[1] > 0:
            raise ValueError(
                "streaming needs a causal model of convolutions alone (model=densefilm_causal); this one "
                "sees future frames or attends over whole windows"
            )
        film = None
        if self.concat is None:
            projections = [block.film.proj for block in self.blocks]
            film = (torch.cat([p.weight for p in projections]), torch.cat([p.bias for p in projections]))
        return StreamState(
            [block.stream_state() for block in self.encoder.blocks],
            [block.stream_state() for block in self.blocks],
            film,
        )

    def step(self, features: torch.Tensor, state: StreamState) -> tuple[torch.Tensor, StreamState]:
        """Streaming, in eval mode: normalised features `[t, F]` of the frames that follow those `state` has
        seen (one stream, no batch axis) -> their motion `[t, D]`, as forward gives for the whole input,
        and the new state. Each layer computes the new frames alone, from the last inputs it keeps."""
        frames = features.shape[0]
        cond, encoder = self.encoder.step(features, state.encoder)  # [t, d]
        x = self.joined(self.query.expand(frames, -1), cond)  # [t, d]
        films = None
        if state.film is not None:  # every block's DenseFiLM projection of the condition in one product
            films = nn.functional.linear(nn.functional.mish(cond), *state.film)  # [t, blocks x 2d]
            films = films.view(frames, len(self.blocks), 2 * self.dim).unbind(1)  # blocks x [t, 2d]
        x, blocks = stack_step(self.blocks, x, films, state.blocks)  # [t, d]
        return self.head(self.norm(x)), StreamState(encoder, blocks, state.film)  # [t, D]
