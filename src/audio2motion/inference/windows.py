"""Regression motion for audio of any length, a training window at a time: exact windows with context
for networks of convolutions alone, cross-faded overlapping windows for the others."""

from typing import Final

import torch
from torch import nn

from audio2motion.data.windows import window_starts
from audio2motion.models import Audio2Motion, Normalizer


def blend_windows(windows: torch.Tensor, starts: list[int], frames: int, overlap: int) -> torch.Tensor:
    """Windows `[N, W, D]` starting at `starts` -> `[frames, D]`, with linear cross-fades over each
    `overlap` frames; a window's weight never reaches 0 inside it."""
    window = windows.shape[1]
    ramp = torch.ones(window, device=windows.device)
    if overlap:
        edge = torch.arange(1, overlap + 1, device=windows.device) / (overlap + 1)
        ramp[:overlap], ramp[-overlap:] = edge, edge.flip(0)
    total = torch.zeros(frames, windows.shape[-1], device=windows.device)
    weight = torch.zeros(frames, 1, device=windows.device)
    for i, start in enumerate(starts):
        w = ramp.clone()
        if i == 0:
            w[:overlap] = 1  # nothing before the first window to blend with
        if i == len(starts) - 1:
            w[window - overlap :] = 1
        total[start : start + window] += w[:, None] * windows[i]
        weight[start : start + window] += w[:, None]
    return total / weight  # [T, D]


class ExactWindows(nn.Module):
    """A network of convolutions alone (`model.context` = (past, future) frames), run `window` frames at a
    time, each with the frames its convolutions read before and after it: exactly one pass over the
    whole input, in bounded memory."""

    def __init__(self, model: Audio2Motion, motion_norm: Normalizer, window: int):
        super().__init__()
        if model.context is None:
            raise ValueError("exact windows need a network of convolutions alone (model.context)")
        self.model, self.motion_norm, self.window = model, motion_norm, window
        self.past, self.future = model.context

    def forward(self, features: torch.Tensor, overlap: int) -> torch.Tensor:
        """Normalised features `[T, F]` -> motion `[T, D]` in the data's units. `overlap` is unused (the
        windows do not blend); it keeps the call BlendedWindows's."""
        end = features.shape[0]
        motion = []
        for start in range(0, end, self.window):
            stop = min(start + self.window, end)
            begin = max(start - self.past, 0)
            pred = self.model(features[None, begin : min(stop + self.future, end)])[0]  # [w, D]
            motion.append(self.motion_norm.inverse(pred[start - begin : stop - begin]))
        return torch.cat(motion)  # [T, D]


class BlendedWindows(nn.Module):
    """A network that sees whole windows (attention, or a clip vector), run on windows of `window` frames
    that overlap by `overlap`, `windows_per_batch` at a time, blended with linear cross-fades."""

    windows_per_batch: Final = 32  # activations stay bounded on long audio; Final: a TorchScript constant

    def __init__(self, model: Audio2Motion, motion_norm: Normalizer, window: int):
        super().__init__()
        self.model, self.motion_norm, self.window = model, motion_norm, window

    def forward(self, features: torch.Tensor, overlap: int) -> torch.Tensor:
        """Normalised features `[T, F]` -> motion `[T, D]` in the data's units."""
        frames = features.shape[0]
        window = min(self.window, frames)
        overlap = min(overlap, window - 1)
        starts = window_starts(frames, window, window - overlap)
        batches = []
        for i in range(0, len(starts), self.windows_per_batch):
            group = starts[i : i + self.windows_per_batch]
            batches.append(self.model(torch.stack([features[s : s + window] for s in group])))  # [n, W, D]
        pred = self.motion_norm.inverse(torch.cat(batches))  # [N, W, D]
        return blend_windows(pred, starts, frames, overlap)  # [T, D]


def regression_windows(model: Audio2Motion, motion_norm: Normalizer, window: int) -> nn.Module:
    """ExactWindows where the network allows (`model.context`), else BlendedWindows."""
    if model.context is not None:
        return ExactWindows(model, motion_norm, window)
    return BlendedWindows(model, motion_norm, window)
