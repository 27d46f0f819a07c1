"""Turn a training checkpoint plus any audio into motion."""

from pathlib import Path

import torch
from torch import nn

from audio2motion.audio_io import audio_blocks
from audio2motion.builder import build_model
from audio2motion.checkpoint import read_checkpoint, unreadable_checkpoint
from audio2motion.errors import InputError
from audio2motion.features import AudioFeaturizer, FeatureStream, channels_first, mono_samples, num_frames
from audio2motion.inference.motion import Motion
from audio2motion.inference.sampling import DiffusionSampler
from audio2motion.inference.streaming import MotionStream
from audio2motion.inference.windows import regression_windows


class MotionGenerator(nn.Module):
    """Featurizer, normalisation and network rebuilt from a checkpoint (audio2motion.builder); `generate`
    runs them on a waveform, `generate_file` on an audio file, `stream` on audio as it arrives.

    Audio longer than a training window (`window` frames) runs a window at a time: a regression model
    through `windows` (inference.windows: exact windows with context for convolutions alone, cross-faded
    ones that overlap by `overlap` frames for attention or per-clip conditioning), a diffusion model
    through `sampler` (inference.sampling: windows denoised together, `seed` picks the sample,
    `constraints` fix frames or channels, `sampling` overrides the checkpoint's sampler settings).
    """

    def __init__(self, hparams: dict, state_dict: dict[str, torch.Tensor]):
        super().__init__()
        parts = build_model(hparams, state_dict)
        self.layout = hparams["layout"]
        self.fps = float(self.layout["fps"])
        self.window = int(hparams["window"])
        self.featurizer = AudioFeaturizer(fps=self.layout["fps"], **hparams["features"])
        self.model, self.feature_norm, self.motion_norm = parts.model, parts.feature_norm, parts.motion_norm
        self.diffusion, self.objective = parts.diffusion, parts.objective
        if parts.diffusion is None:
            self.windows, self.sampler = regression_windows(self.model, self.motion_norm, self.window), None
        else:
            self.windows = None
            self.sampler = DiffusionSampler(
                self.model, self.motion_norm, parts.diffusion, self.objective, self.window
            )
        self.eval().requires_grad_(False)  # for inference alone, exported files included

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """`waveform` `[samples]` or `[channels, samples]` at the featurizer's sample rate -> motion `[T, D]`
        in the data's units, as `generate` gives for a regression model; the form that scripts/export.py
        exports, so it keeps to what TorchScript compiles (no resampling, plain messages)."""
        mono = mono_samples(channels_first(waveform))  # [S]
        frames = num_frames(mono.shape[0], self.featurizer.sample_rate, self.fps)
        if frames == 0:
            raise ValueError("audio is shorter than one motion frame")
        features = self.featurizer.analyse(mono, float(self.featurizer.sample_rate), frames)  # [T, F]
        if not bool(torch.isfinite(features).all()):
            raise ValueError("audio too loud to analyse (float audio belongs within [-1, 1])")
        return self.windows(self.feature_norm(features), self.window // 3)  # [T, D]

    @torch.inference_mode()
    def generate(
        self, waveform: torch.Tensor, sample_rate: int, overlap: int | None = None, **sample
    ) -> Motion:
        """`waveform` `[samples]` or `[channels, samples]` at `sample_rate` Hz -> Motion whose values are
        `[T, D]` in the data's units, T = floor(duration x fps). `overlap` (frames; a third of a window
        by default) is what neighbouring windows share where they blend: models of convolutions alone
        run exact windows and ignore it. Diffusion models take `sample` (see motion_from_features)."""
        return self.motion_from_features(self.featurizer(waveform, sample_rate), overlap, **sample)

    @torch.inference_mode()
    def motion_from_features(
        self,
        features: torch.Tensor,
        overlap: int | None = None,
        seed: int = 0,
        constraints: torch.Tensor | None = None,
        sampling: dict | None = None,
    ) -> Motion:
        """Motion for audio features `[T, F]` as this model's featurizer computes them (the clips of a
        data set built with the checkpoint's feature settings hold them); see generate.

        Diffusion models only: `seed` picks the sample (the same seed, the same motion); `constraints`
        `[T, D]` in the data's units holds the values to keep and NaN elsewhere (a prefix, keyframes,
        some channels); `sampling` overrides steps, sampler, guidance, eta or clip."""
        overlap = self.check_overlap(overlap)
        normalised = self.feature_norm(features.to(self.featurizer.window.device))  # [T, F]
        if self.sampler is None:
            if constraints is not None or sampling:
                raise ValueError(
                    "constraints and sampling settings need a model trained with objective=diffusion"
                )
            return Motion(self.windows(normalised, overlap), self.layout)
        return Motion(
            self.sampler.sample(normalised, overlap, seed, constraints, sampling or {}), self.layout
        )

    def features_file(self, path: str | Path) -> torch.Tensor:
        """Features `[T, F]` of an audio file, read block by block so that memory stays bounded however
        long the file is (features are a few dozen floats a frame). Raises InputError naming the file for
        audio that cannot be read or analysed."""
        with audio_blocks(path) as (sample_rate, blocks):
            stream = FeatureStream(self.featurizer, sample_rate)
            try:
                features = [stream.push(block.to(self.featurizer.window.device)) for block in blocks]
            except InputError:  # the reader's, which names the file
                raise
            except ValueError as err:  # FeatureStream's
                raise InputError(f"{path}: {err}") from err
        if stream.received == 0:
            raise InputError(f"{path}: audio has zero samples")
        try:
            features.append(stream.finish())
        except ValueError as err:
            raise InputError(f"{path}: {err}") from err
        return torch.cat(features)

    @torch.inference_mode()
    def generate_file(self, path: str | Path, overlap: int | None = None, **sample) -> Motion:
        """Motion for an audio file, as `generate` gives for its samples (see features_file)."""
        self.check_overlap(overlap)  # checked before any reading
        return self.motion_from_features(self.features_file(path), overlap, **sample)

    def check_overlap(self, overlap: int | None) -> int:
        """`overlap` checked, or the default of a third of the window. Diffusion models share at most half
        a window: all their windows go in one batch, so their number must stay near frames / window."""
        overlap = self.window // 3 if overlap is None else overlap
        if overlap < 0:
            raise ValueError(f"overlap must be 0 or more frames, got {overlap}")
        if self.sampler is not None and overlap > self.window // 2:
            half = self.window // 2
            raise ValueError(
                f"overlap={overlap}: diffusion sampling shares at most half a window ({half} frames)"
            )
        return overlap

    def stream(self, sample_rate: int) -> MotionStream:
        """A MotionStream for audio at `sample_rate` Hz; needs a causal convolutional model."""
        return MotionStream(self, sample_rate)


def load_model(path: str | Path, device: str = "cpu") -> MotionGenerator:
    """A MotionGenerator on `device` from a training checkpoint (`last.ckpt` or a best one), loaded with
    `weights_only=True`, so a checkpoint can never run code."""
    checkpoint = read_checkpoint(path)
    try:
        generator = MotionGenerator(checkpoint["hyper_parameters"], checkpoint["state_dict"])
    except Exception as err:  # settings and weights that do not fit together: another program's file
        raise unreadable_checkpoint(path, err) from err
    return generator.to(device)
