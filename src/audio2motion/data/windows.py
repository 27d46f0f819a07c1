"""Fixed-length windows cut from whole clips, the unit of a training or validation batch."""

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler

from audio2motion.data.folder import Clip


def window_starts(frames: int, window: int, hop: int, cover_end: bool = True) -> list[int]:
    """Starts of `window`-frame windows every `hop` frames in `frames` frames; with `cover_end` the last
    window ends on the last frame. Fewer frames than a window give one window at 0."""
    last = max(frames - window, 0)
    starts = list(range(0, last + 1, hop))  # list(): TorchScript compiles this for exported models
    if cover_end and starts[-1] != last:
        starts.append(last)
    return starts


class WindowDataset(Dataset):
    """Windows of `window` frames starting every `stride` frames in each clip.

    With `jitter`, windows start every `stride` frames and an item is `(i, shift)`: window i moved later
    by `shift` frames (kept inside the clip), drawn by `WindowSampler`, so training sees every offset over
    the epochs. Without it an item is `i`, the windows are fixed and the last one of a clip ends on its
    last frame, so every frame is covered. A clip shorter than `window` gives one window,
    zero-padded, whose `mask` marks the real frames.

    With `indices`, an item holds where its window lies instead of its frames (`clip_index`, `start`,
    `frames`): `ResidentWindows` cuts a batch of them on the training device.
    """

    def __init__(self, clips: list[Clip], window: int, stride: int, jitter: bool, indices: bool = False):
        if window < 1 or stride < 1:
            raise ValueError(f"window and stride must be at least 1 frame, got {window} and {stride}")
        self.clips, self.window, self.stride, self.jitter = clips, window, stride, jitter
        self.indices = indices
        self.index = []  # (clip, start)
        for c, clip in enumerate(clips):
            starts = window_starts(clip.motion.shape[0], window, stride, cover_end=not jitter)
            self.index += [(c, s) for s in starts]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: int | tuple[int, int]) -> dict:
        i, shift = item if isinstance(item, tuple) else (item, 0)
        c, start = self.index[i]
        clip = self.clips[c]
        frames = clip.motion.shape[0]
        start = min(start + shift, max(frames - self.window, 0))
        stop = min(start + self.window, frames)
        if self.indices:
            return {"clip_index": c, "start": start, "frames": stop - start, "clip": clip.name}
        pad = self.window - (stop - start)
        mask = torch.ones(self.window, dtype=torch.bool)
        if pad:
            mask[-pad:] = False
        return {
            "features": torch.nn.functional.pad(clip.features[start:stop], (0, 0, 0, pad)),  # [W, F]
            "motion": torch.nn.functional.pad(clip.motion[start:stop], (0, 0, 0, pad)),  # [W, D]
            "mask": mask,  # [W]
            "clip": clip.name,
        }


class ResidentWindows:
    """A WindowDataset's clips as one features and one motion tensor on a device (the GPU's memory), so
    that a training batch is cut there from the indices the loader gives (`indices=True`): no copy of
    frames from the host and no loader work per step. Its windows equal the dataset's own."""

    def __init__(self, dataset: WindowDataset, device: torch.device):
        clips = dataset.clips
        self.window = dataset.window
        self.features = torch.cat([clip.features for clip in clips]).to(device)  # [sum T, F]
        self.motion = torch.cat([clip.motion for clip in clips]).to(device)  # [sum T, D]
        lengths = torch.tensor([clip.motion.shape[0] for clip in clips])
        self.offsets = (lengths.cumsum(0) - lengths).to(device)  # each clip's first row  [clips]

    def gather(self, batch: dict) -> dict:
        """A batch of window indices (on the device) -> its `features` `[B, W, F]`, `motion` `[B, W, D]`
        and `mask` `[B, W]`, zero past a short clip's end, as WindowDataset pads."""
        steps = torch.arange(self.window, device=self.features.device)  # [W]
        mask = steps < batch["frames"][:, None]  # [B, W]
        rows = (self.offsets[batch["clip_index"]] + batch["start"])[:, None] + steps  # [B, W]
        rows = torch.where(mask, rows, 0)  # a padded frame reads row 0, then is zeroed
        keep = mask.unsqueeze(-1)  # [B, W, 1]
        return {
            "features": self.features[rows] * keep,
            "motion": self.motion[rows] * keep,
            "mask": mask,
            "clip": batch["clip"],
        }


class WindowSampler(DistributedSampler):
    """Training order and jitter for a `WindowDataset`: yields `(i, shift)` with `shift` in
    0..`stride`-1. Both are drawn from (`seed`, epoch) alone, never from global random state, so a run
    resumed at an epoch boundary sees exactly the batches the uninterrupted run saw. Lightning calls
    `set_epoch`; under DDP each of `num_replicas` processes takes its share, as DistributedSampler does.
    """

    def __init__(self, dataset: WindowDataset, seed: int, num_replicas: int = 1, rank: int = 0):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed)
        self.stride = dataset.stride

    def __iter__(self) -> Iterator[tuple[int, int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        shifts = rng.integers(0, self.stride, size=len(self.dataset))  # one per window, any world size
        for i in super().__iter__():
            yield i, int(shifts[i])
