"""Diffusion sampling over audio of any length: all windows denoised together and fused after every step
(MultiDiffusion), with inpainting of the values an edit keeps."""

import torch

from audio2motion.data.windows import window_starts
from audio2motion.diffusion import GaussianDiffusion, randn, sampling_settings
from audio2motion.inference.windows import blend_windows
from audio2motion.models import MotionDenoiser, Normalizer


class DiffusionSampler:
    """Samples motion from a MotionDenoiser with the objective's sampler settings (conf/objective/
    diffusion.yaml) unless a call overrides them."""

    def __init__(
        self,
        model: MotionDenoiser,
        motion_norm: Normalizer,
        diffusion: GaussianDiffusion,
        objective: dict,
        window: int,
    ):
        self.model, self.motion_norm, self.diffusion = model, motion_norm, diffusion
        self.objective, self.window = objective, window

    def check(self, sampling: dict) -> None:
        """ValueError if the settings with `sampling`'s non-None overrides are ones `sample` cannot use."""
        self.diffusion.check(**sampling_settings(self.objective, **sampling))

    def sample(
        self,
        features: torch.Tensor,
        overlap: int,
        seed: int,
        constraints: torch.Tensor | None,
        sampling: dict,
    ) -> torch.Tensor:
        """Normalised features `[T, F]` -> one sample `[T, D]` in the data's units; the same `seed`, the
        same motion. `constraints` `[T, D]` in the data's units holds the values to keep and NaN
        elsewhere; `sampling` overrides steps, sampler, guidance, eta or clip.

        All windows are denoised together and fused after every step (MultiDiffusion, Bar-Tal et al.,
        2023): each frame becomes the cross-faded mean of the windows that hold it, as `blend_windows`
        joins regression windows, and every window goes on from the fused motion. Neighbours thus denoise
        their shared frames alike, so the motion runs on across window boundaries without a seam."""
        frames, dim = features.shape[0], self.motion_norm.mean.shape[0]
        if constraints is not None and tuple(constraints.shape) != (frames, dim):
            raise ValueError(
                f"constraints must be [frames, channels] = [{frames}, {dim}], got {list(constraints.shape)}"
            )
        window = min(self.window, frames)
        overlap = min(overlap, window - 1)
        starts = window_starts(frames, window, window - overlap)
        audio = self.model.encode(torch.stack([features[s : s + window] for s in starts]))  # [N, W, d]
        generator = torch.Generator().manual_seed(seed)

        def windows_of(motion: torch.Tensor) -> torch.Tensor:  # [1, T, D] -> [N, W, D]
            return torch.stack([motion[0, s : s + window] for s in starts])

        def noise() -> torch.Tensor:  # one draw over the whole length: shared frames get the same noise
            return windows_of(randn((1, frames, dim), generator, features.device))

        inpaint = None
        if constraints is not None:
            known = self.motion_norm(constraints.to(features.device).float())[None]  # [1, T, D], NaN: free
            inpaint = self.diffusion.replace(known.nan_to_num(), ~known.isnan(), generator)

        def fuse(x: torch.Tensor, step: int | None) -> torch.Tensor:
            motion = blend_windows(x, starts, frames, overlap)[None]  # [1, T, D]
            if inpaint is not None:
                motion = inpaint(motion, step)
            return windows_of(motion)

        windows = self.diffusion.sample(
            lambda x, t, keep: self.model(x, t, audio, keep),
            (len(starts), window, dim),
            generator,
            constrain=fuse,
            noise=noise,
            device=features.device,
            **sampling_settings(self.objective, **sampling),
        )  # [N, W, D], fused: the windows agree where they overlap
        return self.motion_norm.inverse(blend_windows(windows, starts, frames, overlap))  # [T, D]
