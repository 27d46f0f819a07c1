"""Fixed-length windows cut from whole clips, the unit of a training or validation batch."""

import torch
from torch.utils.data import Dataset

from audio2motion.data.folder import Clip


def window_starts(frames: int, window: int, hop: int, cover_end: bool = True) -> list[int]:
    """Starts of `window`-frame windows every `hop` frames in `frames` frames; with `cover_end` the last
    window ends on the last frame. Fewer frames than a window give one window at 0."""
    last = max(frames - window, 0)
    starts = list(range(0, last + 1, hop))
    if cover_end and starts[-1] != last:
        starts.append(last)
    return starts


class WindowDataset(Dataset):
    """Windows of `window` frames starting every `stride` frames in each clip.

    With `jitter`, each window start moves by a random 0..stride-1 frames (kept inside the clip), so
    training sees every offset over the epochs; without it the windows are fixed and the last one of a
    clip ends on its last frame, so every frame is covered. A clip shorter than `window` gives one window,
    zero-padded, whose `mask` marks the real frames.
    """

    def __init__(self, clips: list[Clip], window: int, stride: int, jitter: bool):
        if window < 1 or stride < 1:
            raise ValueError(f"window and stride must be at least 1 frame, got {window} and {stride}")
        self.clips, self.window, self.stride, self.jitter = clips, window, stride, jitter
        self.index = []  # (clip, start)
        for c, clip in enumerate(clips):
            starts = window_starts(clip.motion.shape[0], window, stride, cover_end=not jitter)
            self.index += [(c, s) for s in starts]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        c, start = self.index[i]
        clip = self.clips[c]
        frames = clip.motion.shape[0]
        if self.jitter:
            start = min(start + int(torch.randint(self.stride, ())), max(frames - self.window, 0))
        stop = min(start + self.window, frames)
        pad = self.window - (stop - start)
        mask = torch.ones(self.window, dtype=torch.bool)
        if pad:
            mask[-pad:] = False
        return {
            "features": torch.nn.functional.pad(clip.features[start:stop], (0, 0, 0, pad)),  # [W, F]
            "motion": torch.nn.functional.pad(clip.motion[start:stop], (0, 0, 0, pad)),  # [W, D]
            "mask": mask,  # [W]
        }
