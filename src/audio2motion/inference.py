"""Turn a training checkpoint plus any audio into motion."""

from pathlib import Path

import torch
from torch import nn

from audio2motion.checkpoint import read_checkpoint, unreadable_checkpoint
from audio2motion.data.windows import window_starts
from audio2motion.features import AudioFeaturizer
from audio2motion.models import Audio2Motion, Normalizer

PARTS = ("model", "feature_norm", "motion_norm")


class MotionGenerator(nn.Module):
    """Featurizer, normalisation and model rebuilt from a checkpoint; `generate` runs them on a waveform.

    Audio longer than `window` frames is cut into windows that overlap by `overlap` frames, run as one
    batch, and blended with linear cross-fades over each overlap, so no seam shows.
    """

    def __init__(self, hparams: dict, state_dict: dict[str, torch.Tensor]):
        super().__init__()
        layout = hparams["layout"]
        self.layout = layout
        self.window = int(hparams["window"])
        self.featurizer = AudioFeaturizer(fps=layout["fps"], **hparams["features"])
        self.model = Audio2Motion(hparams["feature_dim"], layout["dim"], **hparams["net"])
        self.feature_norm = Normalizer(hparams["feature_dim"])
        self.motion_norm = Normalizer(layout["dim"])
        for part in PARTS:
            prefix = f"{part}."
            getattr(self, part).load_state_dict(
                {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
            )
        self.eval()

    @property
    def fps(self) -> float:
        return float(self.layout["fps"])

    @torch.inference_mode()
    def generate(self, waveform: torch.Tensor, sample_rate: int, overlap: int | None = None) -> torch.Tensor:
        """`waveform` `[samples]` or `[channels, samples]` at `sample_rate` Hz -> motion `[T, D]` in the
        data's units, T = floor(duration x fps)."""
        overlap = self.window // 3 if overlap is None else overlap
        if overlap < 0:
            raise ValueError(f"overlap must be 0 or more frames, got {overlap}")
        features = self.featurizer(waveform, sample_rate)  # [T, F]
        frames = features.shape[0]
        window = min(self.window, frames)
        overlap = min(overlap, window - 1)
        hop = window - overlap
        starts = window_starts(frames, window, hop)
        batch = torch.stack([features[s : s + window] for s in starts])  # [N, W, F]
        pred = self.motion_norm.inverse(self.model(self.feature_norm(batch)))  # [N, W, D]
        # Linear ramps over the overlaps; a window's weight never reaches 0 inside it.
        ramp = torch.ones(window, device=pred.device)
        if overlap:
            edge = torch.arange(1, overlap + 1, device=pred.device) / (overlap + 1)
            ramp[:overlap], ramp[-overlap:] = edge, edge.flip(0)
        total = torch.zeros(frames, pred.shape[-1], device=pred.device)
        weight = torch.zeros(frames, 1, device=pred.device)
        for i, start in enumerate(starts):
            w = ramp.clone()
            if i == 0:
                w[:overlap] = 1  # nothing before the first window to blend with
            if i == len(starts) - 1:
                w[window - overlap :] = 1
            total[start : start + window] += w[:, None] * pred[i]
            weight[start : start + window] += w[:, None]
        return total / weight  # [T, D]


def load_model(path: str | Path, device: str = "cpu") -> MotionGenerator:
    """A MotionGenerator on `device` from a training checkpoint (`last.ckpt` or a best one), loaded with
    `weights_only=True`, so a checkpoint can never run code."""
    checkpoint = read_checkpoint(path)
    try:
        generator = MotionGenerator(checkpoint["hyper_parameters"], checkpoint["state_dict"])
    except Exception as err:  # settings and weights that do not fit together: another program's file
        raise unreadable_checkpoint(path, err) from err
    return generator.to(device)
