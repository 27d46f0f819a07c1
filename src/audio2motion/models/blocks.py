"""The residual motion block: pre-norm, temporal mixing, DenseFiLM, dropout, residual add."""

import torch
from einops import rearrange, repeat
from torch import nn

from audio2motion.models.densefilm import DenseFiLM

MIXERS = ("conv", "attention")
MODULATIONS = ("film", "concat")


class DilatedConv(nn.Module):
    """Dilated temporal convolution, GELU, then a per-frame linear layer. Causal pads on the past only."""

    def __init__(self, dim: int, kernel_size: int, dilation: int, causal: bool):
        super().__init__()
        reach = (kernel_size - 1) * dilation
        self.padding = (reach, 0) if causal else (reach // 2, reach - reach // 2)
        self.conv = nn.Conv1d(dim, dim, kernel_size, dilation=dilation)
        self.act = nn.GELU()
        self.proj = nn.Linear(dim, dim)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = rearrange(h, "b t d -> b d t")
        h = self.conv(nn.functional.pad(h, self.padding))  # [B, d, T]
        return self.proj(self.act(rearrange(h, "b d t -> b t d")))  # [B, T, d]


class SelfAttention(nn.Module):
    """Multi-head self-attention over the frames of a window; causal masks the future."""

    def __init__(self, dim: int, heads: int, causal: bool):
        super().__init__()
        self.causal = causal
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        mask = None
        if self.causal:
            frames = h.shape[1]
            mask = torch.ones(frames, frames, dtype=torch.bool, device=h.device).triu(1)  # True = hidden
        return self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]  # [B, T, d]


class ConcatCondition(nn.Module):
    """`Linear(2d, d)([h, c])`: the condition joined to the features by plain concatenation, the
    alternative to DenseFiLM that the learning benchmark compares against."""

    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Linear(2 * dim, dim)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if cond.ndim == 2:
            cond = repeat(cond, "b d -> b t d", t=h.shape[1])  # [B, T, d]
        return self.proj(torch.cat([h, cond], dim=-1))  # [B, T, d]


class ResidualMotionBlock(nn.Module):
    """`x + dropout(modulate(mix(norm(x)), cond))`; with `cond=None` the block is its unconditioned path.

    `mixing` lists the temporal mixers applied in order: "conv" (dilated convolution), "attention".
    `modulation` joins the condition in: "film" (DenseFiLM), "concat" (ConcatCondition), or None for
    stacks that are never conditioned.
    """

    def __init__(
        self,
        dim: int,
        mixing: tuple[str, ...] = ("conv",),
        kernel_size: int = 3,
        dilation: int = 1,
        heads: int = 4,
        causal: bool = False,
        dropout: float = 0.1,
        modulation: str | None = "film",
    ):
        super().__init__()
        unknown = set(mixing) - set(MIXERS)
        if unknown or not mixing:
            raise ValueError(f"mixing must list some of {MIXERS}, got {list(mixing)}")
        if modulation not in (*MODULATIONS, None):
            raise ValueError(f"modulation must be one of {MODULATIONS}, got {modulation!r}")
        self.norm = nn.LayerNorm(dim)
        self.mixers = nn.ModuleList(
            DilatedConv(dim, kernel_size, dilation, causal)
            if name == "conv"
            else SelfAttention(dim, heads, causal)
            for name in mixing
        )
        if modulation == "film":
            self.modulate = DenseFiLM(dim)
        elif modulation == "concat":
            self.modulate = ConcatCondition(dim)
        else:
            self.modulate = None
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.norm(x)  # [B, T, d]
        for mixer in self.mixers:
            h = mixer(h)  # [B, T, d]
        if cond is not None:
            h = self.modulate(h, cond)  # [B, T, d]
        return x + self.dropout(h)
