"""Motion planned every `step` frames and filled in by a uniform cubic B-spline (`model.net.spline_step`).

The network runs on control points, one per `step` frames, each the mean of the frames around it; its head
gives the control points' motion, and the B-spline through them gives every frame. A cubic B-spline is
twice continuously differentiable, so the motion's jerk stays bounded whatever the head outputs: the
frame-to-frame shake that a per-frame head learns from fast-changing audio features cannot arise. Control
point j sits at frame (j - 1) x step and shapes the frames within 2 x step of it; the first and the last
two lie beyond the clip's ends so that every frame gets its full four.
"""

import torch
import torch.nn.functional as F


def control_count(frames: int, step: int) -> int:
    """Control points that `frames` frames need: frame f reads those at (j - 1) x step within 2 x step."""
    return (frames - 1) // step + 4


def bspline_kernel(step: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The cubic B-spline basis at offsets -2 .. 2 control spacings, sampled every 1 / step: `[4 step]`."""
    u = (torch.arange(4 * step, dtype=torch.float64) / step - 2).abs()
    inner, outer = 2 / 3 - u**2 + u**3 / 2, (2 - u).clamp(min=0) ** 3 / 6
    return torch.where(u < 1, inner, outer).to(dtype=dtype, device=device)


def to_controls(x: torch.Tensor, mask: torch.Tensor | None, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames `[B, T, d]` -> control points `[B, C, d]`, each the mean of the real frames (`mask` `[B, T]`;
    None: all) within step / 2 of it (0 where there are none), and the control points' mask `[B, C]`: True
    for those that shape a real frame. Padded frames thus leave a clip's real control points as they were."""
    batch, frames, _ = x.shape
    mask = torch.ones(batch, frames, dtype=torch.bool, device=x.device) if mask is None else mask
    controls = control_count(frames, step)
    left = step + step // 2  # control 0's window starts this far before frame 0
    weights = mask.unsqueeze(1).to(x.dtype)  # [B, 1, T]
    padding = [left, controls * step - frames - left]
    sums = F.avg_pool1d(F.pad(x.transpose(1, 2) * weights, padding), step, step)  # [B, d, C]
    counts = F.avg_pool1d(F.pad(weights, padding), step, step)  # [B, 1, C]
    pooled = (sums / counts.clamp(min=1 / step)).transpose(1, 2)  # [B, C, d]
    # Control j shapes frames (j - 3) step + 1 .. (j + 1) step - 1: real when any of those is (the window
    # below starts a frame early, at one its basis gives weight 0). The first control and the last one or
    # two pool no frames (their input is 0) but shape real frames, so they count as real.
    reach = F.pad(weights, [3 * step, controls * step - frames])
    shapes = F.max_pool1d(reach, 4 * step, step)[:, 0] > 0  # [B, C]
    return pooled, shapes


def from_controls(controls: torch.Tensor, frames: int, step: int) -> torch.Tensor:
    """Control points `[B, C, D]` (C = control_count(frames, step)) -> the B-spline's `frames` frames
    `[B, frames, D]`."""
    dim = controls.shape[-1]
    kernel = bspline_kernel(step, controls.dtype, controls.device).expand(dim, 1, -1)  # [D, 1, 4 step]
    # conv_transpose puts control j's basis at output j x step .. j x step + 4 step - 1, centred on
    # (j + 2) step: frame f is output f + 3 step.
    curve = F.conv_transpose1d(controls.transpose(1, 2), kernel, stride=step, groups=dim)  # [B, D, ...]
    return curve[:, :, 3 * step : 3 * step + frames].transpose(1, 2)  # [B, T, D]
