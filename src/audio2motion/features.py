"""Audio features on the motion's frame grid, computed with torchaudio.

Every input is mixed down to mono and resampled to one internal rate, so the same sound at any sample
rate or channel count gives the same features. Frame `i` is centred on time `i / fps` seconds exactly
(frames are cut at rounded sample positions instead of a fixed integer hop), so features line up one to
one with motion frames for any (sample rate, fps) pair, 16 kHz at 30 fps or 44.1 kHz at 29.97 fps alike.
"""

import math
from collections.abc import Sequence
from fractions import Fraction

import torch
import torchaudio.functional as AF
from torch import nn

FEATURE_NAMES = ("mel", "onset", "rms", "centroid")
FRAMES_PER_CHUNK = 4096  # frames analysed at once: about 50 MB of temporaries with n_fft 1024
# Input samples per period of the resampling ratio, at most: torchaudio's sinc kernel holds
# (output samples per period) x (this) taps, and costs this many multiplies per output sample.
MAX_RESAMPLE_PERIOD = 1000


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

    def __init__(
        self,
        fps: float = 30.0,
        sample_rate: int = 16000,
        n_fft: int = 1024,
        n_mels: int = 32,
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
        self.fps = float(fps)
        self.sample_rate = int(sample_rate)
        self.n_fft = int(n_fft)
        self.log_floor = float(log_floor)
        self.features = tuple(features)
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
        self.dims = {"mel": n_mels, "onset": 1, "rms": 1, "centroid": 1}
        self.register_buffer("bin_hz", torch.linspace(0, sample_rate / 2, n_fft // 2 + 1), persistent=False)

    @property
    def dim(self) -> int:
        """Feature channels F."""
        return sum(self.dims[name] for name in self.features)

    def forward(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """`waveform` `[samples]` or `[channels, samples]` at `sample_rate` Hz -> features `[T, F]`,
        T = floor(duration x fps).

        Raises ValueError for a waveform of another shape, one shorter than a motion frame, one holding
        NaN or infinite samples, one too loud to analyse in float32 (samples of 1e17 and more: float audio
        belongs within [-1, 1]), and for a sample rate that is not a positive whole number of Hz.
        """
        if waveform.ndim == 1:
            waveform = waveform.unsqueeze(0)
        if waveform.ndim != 2 or waveform.shape[-1] == 0 or waveform.shape[0] == 0:
            raise ValueError(
                f"waveform must be [samples] or [channels, samples], got {tuple(waveform.shape)}"
            )
        rate = float(sample_rate)
        if not (math.isfinite(rate) and rate > 0 and rate.is_integer()):
            raise ValueError(f"sample rate must be a positive whole number of Hz, got {sample_rate}")
        sample_rate = int(rate)
        frames_out = num_frames(waveform.shape[-1], sample_rate, self.fps)
        if frames_out == 0:
            raise ValueError(
                f"audio is shorter than one motion frame ({waveform.shape[-1] / sample_rate:.4f} s < "
                f"1/{self.fps:g} s)"
            )
        # A finite sum means finite samples: one pass, where isfinite takes three. Only NaN, infinity or a
        # sum overflowing from huge samples (which the "too loud" check below reports) need the full test.
        if not torch.isfinite(waveform.sum()) and not torch.isfinite(waveform).all():
            raise ValueError("audio holds NaN or infinite samples")
        mono = waveform.float().mean(dim=0)  # [S]
        rate = sample_rate  # of `mono`
        if sample_rate != self.sample_rate:
            orig, new = resample_ratio(sample_rate, self.sample_rate)
            mono = AF.resample(mono, orig, new)
            rate = sample_rate * new / orig  # self.sample_rate but for an approximated ratio
        half = self.n_fft // 2
        # The tail pad also covers a resampled signal a few samples shorter than duration x rate.
        padded = torch.nn.functional.pad(mono, (half, self.n_fft))  # [S + half + n_fft]
        log_mel, rms, centroid = [], [], []
        for first in range(0, frames_out, FRAMES_PER_CHUNK):  # bounded memory for long audio
            stop = min(first + FRAMES_PER_CHUNK, frames_out)
            frames = self._frames(padded, rate, first, stop)  # [t, n_fft]
            # Scaled so that a full-scale sine has power 0.25 in its bin, whatever n_fft: log_floor is then
            # a level below full scale (1e-8: -80 dB).
            spectrum = torch.fft.rfft(frames * self.window)  # [t, n_fft/2+1]
            # re^2 + im^2: a quarter of the time of |z|^2, which takes a square root first
            power = (spectrum.real.square() + spectrum.imag.square()) / self.window.sum() ** 2
            log_mel.append(torch.log(power @ self.fbanks + self.log_floor))  # [t, n_mels]
            rms.append(frames.pow(2).mean(dim=-1, keepdim=True).sqrt())  # [t, 1]
            # The floor counts as white noise, so quiet frames drift to the middle band, not to 0 Hz.
            floored = power + self.log_floor  # [t, n_fft/2+1]
            hz = (floored @ self.bin_hz) / floored.sum(dim=-1)  # [t]
            centroid.append(torch.log1p(hz).unsqueeze(-1))  # [t, 1]
        log_mel = torch.cat(log_mel)  # [T, n_mels]
        rise = torch.relu(log_mel[1:] - log_mel[:-1]).mean(dim=-1, keepdim=True)  # [T-1, 1]
        parts = {
            "mel": log_mel,
            "onset": torch.cat([rise.new_zeros(1, 1), rise]),
            "rms": torch.cat(rms),
            "centroid": torch.cat(centroid),
        }
        features = torch.cat([parts[name] for name in self.features], dim=-1)  # [T, F]
        if not torch.isfinite(features).all():
            peak = waveform.abs().max().item()
            raise ValueError(
                f"audio too loud to analyse (peak sample {peak:.3g}; float audio belongs within [-1, 1])"
            )
        return features

    def _frames(self, padded: torch.Tensor, rate: float, first: int, stop: int) -> torch.Tensor:
        """Windows of n_fft samples centred on round(i x rate / fps) for frames first..stop-1, from the
        signal at `rate` Hz zero-padded by n_fft / 2 in front."""
        centres = torch.round(torch.arange(first, stop, dtype=torch.float64) * rate / self.fps).long()
        # Rows of a view holding every n_fft-sample window: one copy of the chosen rows, no index per sample.
        return padded.unfold(0, self.n_fft, 1).index_select(0, centres.to(padded.device))  # [t, n_fft]
