"""Baselines a learned model must beat: the mean pose and nearest-neighbour retrieval."""

import torch

from audio2motion.data.folder import Clip
from audio2motion.data.windows import window_starts
from audio2motion.models import Normalizer


class NearestNeighbourRetrieval:
    """Copy the motion of the training window whose normalised audio features are closest.

    Training clips are cut into windows of `window` frames every `stride` frames; a query is tiled
    into windows of the same length (the last one aligned to its end), and each tile takes the motion
    of the training window at the smallest Euclidean distance over all its frames and features.
    """

    def __init__(self, clips: list[Clip], window: int, stride: int, mean: torch.Tensor, std: torch.Tensor):
        keys, values = [], []
        for clip in clips:
            for start in range(0, clip.features.shape[0] - window + 1, stride):
                keys.append(clip.features[start : start + window])
                values.append(clip.motion[start : start + window])
        if not keys:
            raise ValueError(f"no training clip is as long as the {window}-frame window")
        self.window = window
        self.norm = Normalizer(mean.numel())  # the model's normalisation: constant channels keep std 1
        self.norm.set_stats(mean, std)
        self.keys = self.norm(torch.stack(keys))  # [N, W, F]
        self.values = torch.stack(values)  # [N, W, D]

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        """Features `[T, F]` -> motion `[T, D]`."""
        frames = features.shape[0]
        window = min(self.window, frames)
        starts = window_starts(frames, window, window)
        queries = self.norm(torch.stack([features[s : s + window] for s in starts]))  # [Q, w, F]
        nearest = torch.cdist(queries.flatten(1), self.keys[:, :window].flatten(1)).argmin(dim=1)  # [Q]
        motion = torch.empty(frames, self.values.shape[-1])
        for start, index in zip(starts, nearest.tolist(), strict=True):
            motion[start : start + window] = self.values[index, :window]
        return motion  # [T, D]
