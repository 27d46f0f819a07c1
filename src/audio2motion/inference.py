"""Turn a training checkpoint plus any audio into motion."""

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import torch
from torch import nn

from audio2motion.audio_io import audio_blocks
from audio2motion.checkpoint import read_checkpoint, unreadable_checkpoint
from audio2motion.data.windows import window_starts
from audio2motion.diffusion import diffusion_from_config, randn, sampling_settings
from audio2motion.errors import InputError
from audio2motion.features import AudioFeaturizer, FeatureStream, channels_first, mono_samples, num_frames
from audio2motion.models import Audio2Motion, MotionDenoiser, Normalizer
from audio2motion.motion.layout import joint_positions

PARTS = ("model", "feature_norm", "motion_norm")


@dataclass(frozen=True)
class Motion:
    """Generated motion: `values` `[T, D]` in the data's units, and the `layout` that names each channel
    (fps, channel names and groups, skeleton; see audio2motion.motion.layout)."""

    values: torch.Tensor  # [T, D]
    layout: dict

    @property
    def fps(self) -> float:
        return float(self.layout["fps"])

    def channel(self, name: str) -> torch.Tensor:
        """One channel over time `[T]`, by its layout name (`root.y`, `hips.bob`, ...)."""
        return self.values[:, self.layout["channels"].index(name)]

    def joint_positions(self) -> torch.Tensor:
        """Joint positions `[T, J, 3]` in metres, for skeleton layouts (forward kinematics)."""
        return joint_positions(self.values, self.layout)


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


class MotionGenerator(nn.Module):
    """Featurizer, normalisation and model rebuilt from a checkpoint; `generate` runs them on a waveform.

    Audio longer than `window` frames runs window by window. A model of convolutions alone reads, for
    each window, the context its convolutions need on both sides, so the result is exactly one pass; a
    model with attention or per-clip conditioning runs windows that overlap by `overlap` frames,
    `windows_per_batch` at a time, and blends them with linear cross-fades over each overlap.

    A diffusion model samples all windows together, fusing the `overlap` frames neighbours share after
    every step, so that long motion has no seams; `seed` picks the sample, `constraints` fix frames or
    channels (editing), `sampling` overrides the checkpoint's sampler settings.
    """

    windows_per_batch: Final = 32  # Final: a TorchScript constant

    def __init__(self, hparams: dict, state_dict: dict[str, torch.Tensor]):
        super().__init__()
        layout = hparams["layout"]
        self.layout = layout
        self.fps = float(layout["fps"])
        self.window = int(hparams["window"])
        self.featurizer = AudioFeaturizer(fps=layout["fps"], **hparams["features"])
        self.objective = hparams.get("objective") or {"name": "regression"}  # older checkpoints: regression
        self.diffusion = diffusion_from_config(self.objective)
        network = Audio2Motion if self.diffusion is None else MotionDenoiser
        self.model = network(hparams["feature_dim"], layout["dim"], **hparams["net"])
        self.feature_norm = Normalizer(hparams["feature_dim"])
        self.motion_norm = Normalizer(layout["dim"])
        for part in PARTS:
            prefix = f"{part}."
            getattr(self, part).load_state_dict(
                {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
            )
        self.eval().requires_grad_(False)  # for inference alone, exported files included

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """`waveform` `[samples]` or `[channels, samples]` at the featurizer's sample rate -> motion `[T, D]`
        in the data's units, as `generate` gives; the form that scripts/export.py exports, so it keeps to
        what TorchScript compiles (no resampling, plain messages)."""
        mono = mono_samples(channels_first(waveform))  # [S]
        frames = num_frames(mono.shape[0], self.featurizer.sample_rate, self.fps)
        if frames == 0:
            raise ValueError("audio is shorter than one motion frame")
        features = self.featurizer.analyse(mono, float(self.featurizer.sample_rate), frames)  # [T, F]
        if not bool(torch.isfinite(features).all()):
            raise ValueError("audio too loud to analyse (float audio belongs within [-1, 1])")
        return self._motion(features, self.window // 3)  # [T, D]

    @torch.inference_mode()
    def generate(
        self, waveform: torch.Tensor, sample_rate: int, overlap: int | None = None, **sample
    ) -> Motion:
        """`waveform` `[samples]` or `[channels, samples]` at `sample_rate` Hz -> Motion whose values are
        `[T, D]` in the data's units, T = floor(duration x fps). A model of convolutions alone
        (`model.context` set) runs window by window with the context its convolutions read on each side,
        which is exactly one pass, and ignores `overlap`; one with attention blends overlapping windows.
        Diffusion models take `sample` (see motion_from_features)."""
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
        features = features.to(self.featurizer.window.device)
        overlap = self.check_overlap(overlap)
        if self.diffusion is None:
            if constraints is not None or sampling:
                raise ValueError(
                    "constraints and sampling settings need a model trained with objective=diffusion"
                )
            return Motion(self._motion(features, overlap), self.layout)
        return Motion(self._sampled(features, overlap, seed, constraints, sampling or {}), self.layout)

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
        if self.diffusion is not None and overlap > self.window // 2:
            half = self.window // 2
            raise ValueError(
                f"overlap={overlap}: diffusion sampling shares at most half a window ({half} frames)"
            )
        return overlap

    def _motion(self, features: torch.Tensor, overlap: int) -> torch.Tensor:
        """Features `[T, F]` -> motion `[T, D]` (see generate)."""
        if self.model.context is not None:
            return self._exact_windows(self.feature_norm(features))
        frames = features.shape[0]
        window = min(self.window, frames)
        overlap = min(overlap, window - 1)
        starts = window_starts(frames, window, window - overlap)
        normalised = self.feature_norm(features)  # [T, F]
        batches = []  # windows_per_batch at a time: activations stay bounded on long audio
        for i in range(0, len(starts), self.windows_per_batch):
            group = starts[i : i + self.windows_per_batch]
            batches.append(self.model(torch.stack([normalised[s : s + window] for s in group])))  # [n, W, D]
        pred = self.motion_norm.inverse(torch.cat(batches))  # [N, W, D]
        return blend_windows(pred, starts, frames, overlap)  # [T, D]

    def _exact_windows(self, features: torch.Tensor, before: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised features `[t, F]` -> motion `[t, D]` of a convolutional model, `window` frames at a
        time, each run with the frames its convolutions read before and after it (`before` `[c, F]`: the
        normalised features that precede these, for a stream)."""
        past, future = self.model.context
        known = features if before is None else torch.cat([before, features])  # [c + t, F]
        first, end = known.shape[0] - features.shape[0], known.shape[0]
        motion = []
        for start in range(first, end, self.window):
            stop = min(start + self.window, end)
            begin = max(start - past, 0)
            pred = self.model(known[None, begin : min(stop + future, end)])[0]  # [w, D]
            motion.append(self.motion_norm.inverse(pred[start - begin : stop - begin]))
        return torch.cat(motion)  # [t, D]

    def _sampled(
        self,
        features: torch.Tensor,
        overlap: int,
        seed: int,
        constraints: torch.Tensor | None,
        sampling: dict,
    ) -> torch.Tensor:
        """Features `[T, F]` -> one diffusion sample `[T, D]` (see motion_from_features).

        All windows are denoised together and fused after every step (MultiDiffusion, Bar-Tal et al.,
        2023): each frame becomes the cross-faded mean of the windows that hold it, as `blend_windows`
        joins regression windows, and every window goes on from the fused motion. Neighbours thus denoise
        their shared frames alike, so the motion runs on across window boundaries without a seam."""
        frames, dim = features.shape[0], self.layout["dim"]
        if constraints is not None and tuple(constraints.shape) != (frames, dim):
            raise ValueError(
                f"constraints must be [frames, channels] = [{frames}, {dim}], got {list(constraints.shape)}"
            )
        window = min(self.window, frames)
        overlap = min(overlap, window - 1)
        starts = window_starts(frames, window, window - overlap)
        normalised = self.feature_norm(features)  # [T, F]
        audio = self.model.encode(torch.stack([normalised[s : s + window] for s in starts]))  # [N, W, d]
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

    def stream(self, sample_rate: int) -> "MotionStream":
        """A MotionStream for audio at `sample_rate` Hz; needs a causal convolutional model."""
        return MotionStream(self, sample_rate)


class MotionStream:
    """Streaming inference: `push` audio chunks (20 ms, say) and get each motion frame as soon as its
    audio is in; `finish` returns the frames of the audio's end. Together they are the frames `generate`
    gives for the whole audio.

    Frame t needs the audio up to its time plus half an analysis window (n_fft / 2 samples), and the
    features of the frames its convolutions read before it (`model.context[0]`), which the stream keeps;
    memory does not grow.
    """

    def __init__(self, generator: MotionGenerator, sample_rate: int):
        if generator.diffusion is not None:
            raise ValueError("streaming needs a regression model; this one samples (objective=diffusion)")
        if generator.model.context is None or generator.model.context[1] > 0:
            raise ValueError(
                "streaming needs a causal model of convolutions alone (model=densefilm_causal); this one "
                "sees future frames or attends over whole windows"
            )
        self.generator = generator
        self.features = FeatureStream(generator.featurizer, sample_rate)
        # the normalised features that frames to come read before them
        self.context = torch.zeros(0, generator.featurizer.dim, device=generator.featurizer.window.device)

    @torch.inference_mode()
    def push(self, chunk: torch.Tensor) -> torch.Tensor:
        """`chunk` `[samples]` or `[channels, samples]` -> motion `[t, D]` of the frames it completed."""
        return self._motion(self.features.push(chunk))

    @torch.inference_mode()
    def finish(self) -> torch.Tensor:
        """Motion `[t, D]` of the frames left at the end of the audio."""
        return self._motion(self.features.finish())

    def _motion(self, features: torch.Tensor) -> torch.Tensor:
        if features.shape[0] == 0:
            return features.new_zeros(0, self.generator.layout["dim"])
        normalised = self.generator.feature_norm(features)  # [t, F]
        motion = self.generator._exact_windows(normalised, self.context)
        known = torch.cat([self.context, normalised])
        self.context = known[max(known.shape[0] - self.generator.model.context[0], 0) :]
        return motion  # [t, D]


def load_model(path: str | Path, device: str = "cpu") -> MotionGenerator:
    """A MotionGenerator on `device` from a training checkpoint (`last.ckpt` or a best one), loaded with
    `weights_only=True`, so a checkpoint can never run code."""
    checkpoint = read_checkpoint(path)
    try:
        generator = MotionGenerator(checkpoint["hyper_parameters"], checkpoint["state_dict"])
    except Exception as err:  # settings and weights that do not fit together: another program's file
        raise unreadable_checkpoint(path, err) from err
    return generator.to(device)
