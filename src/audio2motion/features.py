"""Audio features on the motion's frame grid, computed with torchaudio.

Every input is mixed down to mono and resampled to one internal rate, so the same sound at any sample
rate or channel count gives the same features. Frame `i` is centred on time `i / fps` seconds exactly
(frames are cut at rounded sample positions instead of a fixed integer hop), so features line up one to
one with motion frames for any (sample rate, fps) pair, 16 kHz at 30 fps or 44.1 kHz at 29.97 fps alike.
"""

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Final

import torch
import torchaudio.functional as AF
from torch import nn
from torchaudio.transforms import Resample

FEATURE_NAMES = ("mel", "onset", "rms", "centroid")
# Input samples per period of the resampling ratio, at most: torchaudio's sinc kernel holds
# (output samples per period) x (this) taps, and costs this many multiplies per output sample.
MAX_RESAMPLE_PERIOD = 1000
# torchaudio.functional.resample's filter, named so that FeatureStream knows how far it reaches.
RESAMPLE_FILTER = {"lowpass_filter_width": 6, "rolloff": 0.99}
# Resampling blocks FeatureStream computes in one product: its copy of their input windows stays a few
# MB (about 14x the input at 48 kHz, whose windows of 41 samples step by 3).
RESAMPLE_GROUP = 16384


def num_frames(num_samples: int, sample_rate: int, fps: float) -> int:
    """Motion frames covered by `num_samples` of audio: floor(duration x fps)."""
    return int(num_samples * fps // sample_rate)


def resample_ratio(orig_rate: int, new_rate: int) -> tuple[int, int]:
    """`(orig, new)` for `torchaudio.functional.resample` from `orig_rate` Hz to about `new_rate` Hz.

    The exact ratio in lowest terms where its input period is at most MAX_RESAMPLE_PERIOD samples (every
    common rate: 44100 Hz to 16 kHz is 441:160); otherwise the nearest ratio whose period is (an odd
    rate such as 44101 Hz is coprime to 16 kHz, and its exact kernel would take gigabytes and minutes).
    The result is then at `orig_rate x new / orig` Hz, within 0.05 % of `new_rate`.
    """
    divisor = math.gcd(orig_rate, new_rate)
    orig, new = orig_rate // divisor, new_rate // divisor
    if orig <= MAX_RESAMPLE_PERIOD:
        return orig, new
    nearest = Fraction(new_rate, orig_rate).limit_denominator(MAX_RESAMPLE_PERIOD)
    return nearest.denominator, max(nearest.numerator, 1)


class AudioFeaturizer(nn.Module):
    """Waveform -> per-frame features `[T, F]` at `fps` frames per second.

    Features, in the order listed: `mel` (log mel power, `n_mels` channels), `onset` (spectral flux of
    the log mel: the mean rise in energy since the previous frame, 1 channel), `rms` (root mean square
    amplitude of the frame's samples, 1 channel), `centroid` (log(1 + the power-weighted spectral
    centroid in Hz) over the floored spectrum, 1 channel: a brightness and pitch cue that varies
    smoothly with frequency where mel bands step; sample_rate / 4 for silence).
    """

    # frames analysed at once: about 50 MB of temporaries with n_fft 1024 (Final: a TorchScript constant)
    frames_per_chunk: Final = 4096

    def __init__(
        self,
        fps: float = 30.0,
        sample_rate: int = 16000,
        n_fft: int = 1024,
        n_mels: int = 16,
        f_min: float = 0.0,
        f_max: float | None = None,
        log_floor: float = 1e-8,
        features: Sequence[str] = FEATURE_NAMES,
    ):
        super().__init__()
        unknown = set(features) - set(FEATURE_NAMES)
        if unknown or not features:
            raise ValueError(f"features must be a non-empty subset of {FEATURE_NAMES}, got {list(features)}")
        if fps <= 0 or sample_rate <= 0:
            raise ValueError(f"fps and sample_rate must be positive, got {fps} and {sample_rate}")
        # Everything that decides the output, as plain data (the preprocessing cache's key holds it).
        self.settings = {
            "fps": float(fps), "sample_rate": int(sample_rate), "n_fft": int(n_fft), "n_mels": int(n_mels),
            "f_min": float(f_min), "f_max": f_max, "log_floor": float(log_floor), "features": list(features),
        }  # fmt: skip
        self.fps = float(fps)
        self.sample_rate = int(sample_rate)
        self.n_fft = int(n_fft)
        self.log_floor = float(log_floor)
        self.features = list(features)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        fbanks = AF.melscale_fbanks(
            n_freqs=n_fft // 2 + 1,
            f_min=f_min,
            f_max=f_max if f_max is not None else sample_rate / 2,
            n_mels=n_mels,
            sample_rate=sample_rate,
            norm="slaney",
            mel_scale="slaney",
        )
        self.register_buffer("fbanks", fbanks, persistent=False)  # [n_fft/2+1, n_mels]
        widths = {"mel": n_mels, "onset": 1, "rms": 1, "centroid": 1}
        self.offsets: dict[str, int] = {}  # each selected feature's first channel
        self.dim = 0  # feature channels F
        for name in self.features:
            self.offsets[name], self.dim = self.dim, self.dim + widths[name]
        self.register_buffer("bin_hz", torch.linspace(0, sample_rate / 2, n_fft // 2 + 1), persistent=False)

    @torch.jit.unused  # Python checks and resampling; exported models script `analyse` (see export.py)
    def forward(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """`waveform` `[samples]` or `[channels, samples]` at `sample_rate` Hz -> features `[T, F]`,
        T = floor(duration x fps).

        Raises ValueError for a waveform of another shape, one shorter than a motion frame, one holding
        NaN or infinite samples, one too loud to analyse in float32 (samples of 1e17 and more: float audio
        belongs within [-1, 1]), and for a sample rate that is not a positive whole number of Hz.
        """
        waveform, sample_rate = channels_first(waveform), checked_rate(sample_rate)
        frames_out = num_frames(waveform.shape[-1], sample_rate, self.fps)
        if frames_out == 0:
            raise ValueError(
                f"audio is shorter than one motion frame ({waveform.shape[-1] / sample_rate:.4f} s < "
                f"1/{self.fps:g} s)"
            )
        mono = mono_samples(waveform)  # [S]
        orig, new = self.resampling(sample_rate)
        if (orig, new) != (1, 1):
            mono = AF.resample(mono, orig, new, **RESAMPLE_FILTER)
        rate = sample_rate * new / orig  # of `mono`: self.sample_rate but for an approximated ratio
        return check_finite(self.analyse(mono, rate, frames_out), waveform)  # [T, F]

    def analyse(self, mono: torch.Tensor, rate: float, frames_out: int) -> torch.Tensor:
        """Features `[frames_out, F]` of the whole signal `mono` `[S]` at `rate` Hz, about duration x fps
        frames; no checks (see forward)."""
        # The tail pad also covers a resampled signal a few samples shorter than duration x rate.
        padded = torch.nn.functional.pad(mono, [self.n_fft // 2, self.n_fft])  # [S + n_fft/2 + n_fft]
        chunks: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []  # bounded memory for long audio
        for first in range(0, frames_out, self.frames_per_chunk):
            stop = min(first + self.frames_per_chunk, frames_out)
            chunks.append(self.spectral(self.frames(padded, rate, first, stop)))
        log_mel = torch.cat([chunk[0] for chunk in chunks])
        rms = torch.cat([chunk[1] for chunk in chunks])
        centroid = torch.cat([chunk[2] for chunk in chunks])
        return self.assemble(log_mel, rms, centroid, None)  # [T, F]

    def resampling(self, sample_rate: int) -> tuple[int, int]:
        """`(orig, new)` ratio from `sample_rate` to the internal rate; (1, 1) when they are equal."""
        return (1, 1) if sample_rate == self.sample_rate else resample_ratio(sample_rate, self.sample_rate)

    def frames(
        self, padded: torch.Tensor, rate: float, first: int, stop: int, offset: int = 0
    ) -> torch.Tensor:
        """Windows of n_fft samples centred on round(i x rate / fps) for frames first..stop-1, from the
        signal at `rate` Hz from its sample `offset` on, zero-padded by n_fft / 2 in front."""
        starts = self.frame_starts(rate, first, stop, offset).to(padded.device)
        # Rows of a view holding every n_fft-sample window: one copy of the chosen rows, no index per sample.
        return padded.unfold(0, self.n_fft, 1).index_select(0, starts)  # [t, n_fft]

    def frame_starts(self, rate: float, first: int, stop: int, offset: int = 0) -> torch.Tensor:
        """Where the windows of `frames` start in `padded` `[t]`: at their centres, as its front pad
        is half a window."""
        return torch.round(torch.arange(first, stop, dtype=torch.float64) * rate / self.fps).long() - offset

    def spectral(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Windows `[t, n_fft]` -> log mel `[t, n_mels]`, rms `[t, 1]`, centroid `[t, 1]`."""
        # Scaled so that a full-scale sine has power 0.25 in its bin, whatever n_fft: log_floor is then a
        # level below full scale (1e-8: -80 dB).
        spectrum = torch.fft.rfft(frames * self.window)  # [t, n_fft/2+1]
        # re^2 + im^2: a quarter of the time of |z|^2, which takes a square root first
        power = (spectrum.real.square() + spectrum.imag.square()) / self.window.sum() ** 2
        log_mel = torch.log(power @ self.fbanks + self.log_floor)  # [t, n_mels]
        rms = frames.pow(2).mean(dim=-1, keepdim=True).sqrt()  # [t, 1]
        # The floor counts as white noise, so quiet frames drift to the middle band, not to 0 Hz.
        floored = power + self.log_floor  # [t, n_fft/2+1]
        hz = (floored @ self.bin_hz) / floored.sum(dim=-1)  # [t]
        return log_mel, rms, torch.log1p(hz).unsqueeze(-1)

    def assemble(
        self,
        log_mel: torch.Tensor,
        rms: torch.Tensor,
        centroid: torch.Tensor,
        previous_mel: torch.Tensor | None,
    ) -> torch.Tensor:
        """The selected features `[t, F]` of consecutive frames; `previous_mel` `[n_mels]` is the log mel of
        the frame before the first (None at the start of the audio: its onset is 0)."""
        if previous_mel is not None:
            log_mel = torch.cat([previous_mel[None], log_mel])
        rise = torch.relu(log_mel[1:] - log_mel[:-1]).mean(dim=-1, keepdim=True)  # [t or t-1, 1]
        if previous_mel is None:
            rise = torch.cat([rise.new_zeros(1, 1), rise])
        else:
            log_mel = log_mel[1:]
        parts = {"mel": log_mel, "onset": rise, "rms": rms, "centroid": centroid}
        return torch.cat([parts[name] for name in self.features], dim=-1)  # [t, F]


def checked_rate(sample_rate: float) -> int:
    """`sample_rate` as int; ValueError unless it is a positive whole number of Hz."""
    rate = float(sample_rate)
    if not (math.isfinite(rate) and rate > 0 and rate.is_integer()):
        raise ValueError(f"sample rate must be a positive whole number of Hz, got {sample_rate}")
    return int(rate)


def channels_first(waveform: torch.Tensor) -> torch.Tensor:
    """`[samples]` or `[channels, samples]` -> `[channels, samples]`; ValueError for another shape."""
    if waveform.ndim == 1:
        waveform = waveform.unsqueeze(0)
    if waveform.ndim != 2 or waveform.shape[-1] == 0 or waveform.shape[0] == 0:
        raise ValueError(f"waveform must be [samples] or [channels, samples], got {list(waveform.shape)}")
    return waveform


def mono_samples(waveform: torch.Tensor) -> torch.Tensor:
    """`[channels, samples]` -> float32 mono `[samples]`; ValueError for NaN or infinite samples."""
    # A finite sum means finite samples: one pass, where isfinite takes three. Only NaN, infinity or a sum
    # overflowing from huge samples (which check_finite reports as too loud) need the full test.
    if not torch.isfinite(waveform.sum()) and not torch.isfinite(waveform).all():
        raise ValueError("audio holds NaN or infinite samples")
    return waveform.float().mean(dim=0)  # [S]


def check_finite(features: torch.Tensor, samples: torch.Tensor) -> torch.Tensor:
    """`features` as they are; ValueError naming the peak of `samples` when they overflowed float32."""
    if not torch.isfinite(features).all():
        peak = samples.abs().max().item()
        raise ValueError(
            f"audio too loud to analyse (peak sample {peak:.3g}; float audio belongs within [-1, 1])"
        )
    return features


class FeatureStream:
    """`AudioFeaturizer` on audio that arrives in chunks: `push` returns the feature frames each chunk
    completes, `finish` the rest, and together they equal the featurizer's output on the whole audio.

    Frame i is centred on i / fps and spans n_fft / 2 samples after that (32 ms by default), so it comes
    out once those have arrived; audio at another rate also waits for the end of its resampling block
    (441 samples, 10 ms, at 44.1 kHz) and the few samples the resampler's kernel reaches past it. Each
    block is resampled once, as it completes, and only the input and resampled signal that frames still
    to come need are kept, so a push costs its new samples' work and memory does not grow.
    """

    def __init__(self, featurizer: AudioFeaturizer, sample_rate: int):
        self.featurizer = featurizer
        self.sample_rate = checked_rate(sample_rate)
        self.orig, self.new = featurizer.resampling(self.sample_rate)
        self.rate = self.sample_rate * self.new / self.orig  # after resampling
        device = featurizer.window.device
        # Resampling maps each block of `orig` input samples to `new` output samples, reading `reach`
        # input samples either side of the block, with torchaudio's filter `kernel` [2 reach + orig, new].
        self.kernel: torch.Tensor | None = None
        self.reach = 0
        if (self.orig, self.new) != (1, 1):
            resample = Resample(self.orig, self.new, **RESAMPLE_FILTER, dtype=torch.float32)
            self.kernel, self.reach = resample.kernel[:, 0].T.contiguous().to(device), resample.width
        self.samples = torch.zeros(0, device=device)  # mono input from its sample `self.start`
        self.signal = torch.zeros(0, device=device)  # resampled, from its sample `self.offset`
        self.start = self.offset = self.received = self.blocks = self.next_frame = 0  # blocks resampled
        self.channels: int | None = None
        self.previous_mel: torch.Tensor | None = None

    def _centre(self, frame: int) -> int:
        """Frame `frame`'s centre in resampled samples, as AudioFeaturizer.frames places it."""
        return round(frame * self.rate / self.featurizer.fps)

    def push(self, chunk: torch.Tensor) -> torch.Tensor:
        """`chunk` `[samples]` or `[channels, samples]` (the same channels throughout) -> features
        `[t, F]` of the frames it completed (none for most chunks shorter than a frame)."""
        if chunk.ndim in (1, 2) and chunk.shape[-1] == 0:  # live sources may deliver empty chunks
            return self.samples.new_zeros(0, self.featurizer.dim)
        chunk = channels_first(chunk)
        self.channels = self.channels or chunk.shape[0]
        if chunk.shape[0] != self.channels:
            raise ValueError(f"chunk has {chunk.shape[0]} channels, the stream {self.channels}")
        self.samples = torch.cat([self.samples, mono_samples(chunk.to(self.samples.device))])
        self.received += chunk.shape[-1]
        # Blocks that no later input changes: those whose reach ends inside the input.
        self._resample(max((self.received - self.reach) // self.orig, 0))
        ready, half = self.blocks * self.new, self.featurizer.n_fft // 2  # final resampled samples
        stop = max(self.next_frame, int((ready - half) * self.featurizer.fps / self.rate) - 1)
        while self._centre(stop) + half <= ready:
            stop += 1
        return self._features(stop, final=False)

    def finish(self) -> torch.Tensor:
        """Features `[t, F]` of the frames left at the end of the audio, zero-padded as the featurizer
        pads. Raises ValueError when the whole stream was shorter than one motion frame."""
        frames_out = num_frames(self.received, self.sample_rate, self.featurizer.fps)
        if frames_out == 0:
            raise ValueError(
                f"audio is shorter than one motion frame ({self.received / self.sample_rate:.4f} s < "
                f"1/{self.featurizer.fps:g} s)"
            )
        self._resample(None)
        return self._features(frames_out, final=True)

    def _resample(self, blocks: int | None) -> None:
        """Appends blocks self.blocks..blocks-1 of the resampled signal to `signal` (None: all to the end of
        the input, ceil(new x samples / orig) samples in all, as for the whole audio), then drops the input
        that later blocks do not read."""
        stop = -(-self.received // self.orig) if blocks is None else blocks
        if stop <= self.blocks:
            return
        # Block b reads input b x orig - reach .. (b + 1) x orig + reach, zeros beyond the audio.
        first, last = self.blocks * self.orig - self.reach, stop * self.orig + self.reach
        segment = self.samples[max(first, 0) - self.start : last - self.start]
        front = max(-first, 0)
        segment = nn.functional.pad(segment, (front, last - first - front - segment.shape[0]))
        if self.kernel is not None:  # torchaudio's filter: each block's outputs are one product
            windows = segment.unfold(0, self.kernel.shape[0], self.orig)  # [blocks, 2 reach + orig]
            # A group of blocks at a time: the product copies the windows, which overlap by 2 reach.
            segment = torch.cat(
                [
                    (windows[i : i + RESAMPLE_GROUP] @ self.kernel).flatten()
                    for i in range(0, len(windows), RESAMPLE_GROUP)
                ]
            )
        if blocks is None:
            segment = segment[: -(-self.new * self.received // self.orig) - self.blocks * self.new]
        self.signal, self.blocks = torch.cat([self.signal, segment]), stop
        keep_from = max(stop * self.orig - self.reach, 0)
        self.samples, self.start = self.samples[keep_from - self.start :], keep_from

    def _features(self, stop: int, final: bool) -> torch.Tensor:
        """Features of frames next_frame..stop-1; then drops the signal that later frames do not need."""
        featurizer, first, half = self.featurizer, self.next_frame, self.featurizer.n_fft // 2
        if stop <= first:
            return self.samples.new_zeros(0, featurizer.dim)
        # The front pad is read only at the start of the audio, the tail pad only at its end.
        padded = torch.nn.functional.pad(self.signal, (half, featurizer.n_fft if final else 0))
        spectral = featurizer.spectral(featurizer.frames(padded, self.rate, first, stop, self.offset))
        features = featurizer.assemble(*spectral, previous_mel=self.previous_mel)
        check_finite(features, self.signal)
        self.previous_mel, self.next_frame = spectral[0][-1], stop
        keep_from = max(self._centre(stop) - half, 0)  # the next frame's first sample
        self.signal, self.offset = self.signal[keep_from - self.offset :], keep_from
        return features
