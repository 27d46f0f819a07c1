"""Seeded synthetic pairs of audio and motion, where the motion is a known function of the audio.

The audio is a tone plus noise clicks, both scaled by a slowly varying loudness curve:
- clicks fall on the beats of a tempo (beats per minute) with a random offset;
- the tone's pitch jumps every few seconds to a random frequency inside one of several bands;
- loudness is piecewise linear between random knots.

Each motion channel follows one rule (`CHANNEL_RULES`), so that a model's error can be read per rule:
- rhythm: `hips.bob = cos(2 pi phase)`, where `phase` is the beat phase (0 on each click, 1 on the next);
- loudness: `torso.height = loudness`;
- pitch band: `LIMB.raise = active`, 1 while the tone is in the limb's band and 0 otherwise;
- pitch height: `head.tilt` = where the pitch lies inside its band, 0 at the bottom and 1 at the top
  (on a log-frequency scale);
- all three: `LIMB.swing = loudness * active * cos(2 pi phase)`;
- two ways (only with `two_way=True`): `torso.lean = sign * sin(pi phase)`, a lean to one side and back
  on each beat, whose side `sign` (+1 or -1, equally likely) is drawn per beat and not heard in the
  audio: the same audio admits both motions, for testing whether a generative model produces both.
Changes of pitch ramp linearly over `ramp_seconds` in the motion.

A model must use the audio over time to get this right: the beat phase at a frame is only known from
the clicks before and after it, the loudness from the level, the limb and tilt from the pitch.

Held-out clips (`heldout=True`) draw their tempos and pitches only from sub-ranges that training clips
never use (`tempo_holdout_bpm`, the middle `pitch_holdout` of each band), inside the trained range.
One drawn clip (`ClipPlan`) renders at any sample rate, channel count, timbre and motion fps.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile

from audio2motion.atomic import atomic_folder
from audio2motion.errors import InputError

LIMBS = ("left_arm", "right_arm", "legs")
TIMBRES = ("sine", "square")


@dataclass(frozen=True)
class SyntheticRules:
    """Ranges the generator draws from; seconds, Hz and beats per minute."""

    tempo_bpm: tuple[float, float] = (80.0, 160.0)
    tempo_holdout_bpm: tuple[tuple[float, float], ...] = ((100.0, 108.0), (130.0, 138.0))
    bands_hz: tuple[tuple[float, float], ...] = ((150.0, 300.0), (500.0, 1000.0), (1600.0, 3200.0))
    pitch_holdout: float = 0.2  # fraction of each band (log scale), centred, kept for held-out clips
    segment_seconds: tuple[float, float] = (1.0, 3.0)
    loudness: tuple[float, float] = (0.25, 1.0)
    loudness_knot_seconds: float = 1.0
    click_seconds: float = 0.02
    ramp_seconds: float = 0.1
    tone_gain: float = 0.5
    click_gain: float = 0.5
    timbre: str = "sine"  # the tone's waveform: sine or square
    limbs: tuple[str, ...] = field(default=LIMBS)
    two_way: bool = False  # add torso.lean, whose side on each beat the audio does not tell

    def __post_init__(self):
        if len(self.limbs) != len(self.bands_hz):
            raise ValueError(
                f"one limb per pitch band: {len(self.limbs)} limbs for {len(self.bands_hz)} bands"
            )
        if self.timbre not in TIMBRES:
            raise ValueError(f"timbre must be one of {TIMBRES}, got {self.timbre!r}")
        low, high = self.tempo_bpm
        if not self.tempo_holdout_bpm or not all(low < a < b < high for a, b in self.tempo_holdout_bpm):
            raise ValueError(f"tempo_holdout_bpm must list intervals inside tempo_bpm {self.tempo_bpm}")
        if not 0 < self.pitch_holdout < 1:
            raise ValueError(f"pitch_holdout must be between 0 and 1, got {self.pitch_holdout}")

    @property
    def channel_rules(self) -> dict[str, str]:
        """Motion channel name -> the rule that drives it, in channel order."""
        return {
            "hips.bob": "rhythm",
            "torso.height": "loudness",
            "head.tilt": "pitch_height",
            **{f"{limb}.raise": "pitch_band" for limb in self.limbs},
            **{f"{limb}.swing": "all_three" for limb in self.limbs},
            **({"torso.lean": "two_way"} if self.two_way else {}),
        }

    @property
    def channels(self) -> list[str]:
        return list(self.channel_rules)


def rules_from_config(config: dict) -> SyntheticRules:
    """SyntheticRules from config data, whose lists become tuples (nested for bands and intervals)."""

    def as_tuples(value):
        return tuple(as_tuples(v) for v in value) if isinstance(value, list | tuple) else value

    return SyntheticRules(**{key: as_tuples(value) for key, value in config.items()})


@dataclass(frozen=True)
class ClipPlan:
    """Everything drawn for one clip, before it is rendered at a sample rate and fps."""

    duration: float
    period: float  # seconds per beat
    offset: float  # seconds to the first click
    knot_t: np.ndarray  # loudness knots: times (s) and values
    knot_v: np.ndarray
    bounds: np.ndarray  # pitch segments: start times (s), then the end of the last
    bands: np.ndarray  # band index of each segment
    freqs: np.ndarray  # frequency (Hz) of each segment
    noise_seed: int
    signs: np.ndarray  # two_way: the lean's side (+1 or -1) on each beat, from the one before the first click

    def beat_index(self, t: np.ndarray) -> np.ndarray:
        """Index into `signs` of the beat each time falls in (0: before the first click)."""
        return np.floor((t - self.offset) / self.period).astype(int) + 1

    def beat_phase(self, t: np.ndarray) -> np.ndarray:
        return ((t - self.offset) / self.period) % 1.0

    def loudness(self, t: np.ndarray) -> np.ndarray:
        return np.interp(t, self.knot_t, self.knot_v)


def _uniform_outside(rng, low: float, high: float, holes) -> float:
    """Uniform on [low, high] minus the intervals `holes` (rejection sampling)."""
    while True:
        value = rng.uniform(low, high)
        if not any(a <= value <= b for a, b in holes):
            return value


def _uniform_inside(rng, intervals) -> float:
    """Uniform on the union of `intervals`."""
    lengths = np.array([b - a for a, b in intervals])
    a, b = intervals[rng.choice(len(intervals), p=lengths / lengths.sum())]
    return rng.uniform(a, b)


def draw_clip(
    duration: float, rng: np.random.Generator, rules: SyntheticRules, heldout: bool = False
) -> ClipPlan:
    """Draw one clip's tempo, loudness curve and pitch segments from the training or held-out ranges."""
    holes = rules.tempo_holdout_bpm
    bpm = _uniform_inside(rng, holes) if heldout else _uniform_outside(rng, *rules.tempo_bpm, holes)
    period = 60.0 / bpm
    offset = rng.uniform(0.0, period)
    knot_t = np.arange(0.0, duration + rules.loudness_knot_seconds, rules.loudness_knot_seconds)
    knot_v = rng.uniform(*rules.loudness, size=knot_t.size)
    bounds, bands, freqs = [0.0], [], []
    while bounds[-1] < duration:
        band = int(rng.integers(len(rules.bands_hz)))
        low, high = np.log(rules.bands_hz[band])
        centre, half = (low + high) / 2, rules.pitch_holdout * (high - low) / 2
        hole = (centre - half, centre + half)
        log_f = _uniform_inside(rng, [hole]) if heldout else _uniform_outside(rng, low, high, [hole])
        bands.append(band)
        freqs.append(float(np.exp(log_f)))
        bounds.append(bounds[-1] + rng.uniform(*rules.segment_seconds))
    noise_seed = int(rng.integers(2**31))
    beats = int((duration - offset) // period) + 2  # the one before the first click, and the last
    # Drawn last, and only with two_way: data sets without it are what they were before it existed.
    signs = rng.choice([-1.0, 1.0], size=beats) if rules.two_way else np.zeros(0)
    return ClipPlan(
        duration,
        period,
        offset,
        knot_t,
        knot_v,
        np.array(bounds),
        np.array(bands),
        np.array(freqs),
        noise_seed,
        signs,
    )


def render_audio(
    plan: ClipPlan, rules: SyntheticRules, sample_rate: int, channels: int = 1, pan: float = 0.0
) -> np.ndarray:
    """Audio float32: `[samples]` for one channel, else `[samples, channels]` panned by `pan` (0..1) from
    left to right, whose mean over channels is the mono audio. The peak stays below 1 when tone_gain +
    click_gain <= 1 and (1 + pan) x that sum <= 1."""
    num_samples = int(round(plan.duration * sample_rate))
    t = np.arange(num_samples) / sample_rate
    segment = np.searchsorted(plan.bounds[:-1], t, side="right") - 1
    freq = plan.freqs[segment]
    # A continuous phase across frequency jumps, so a jump makes no click of its own.
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    if rules.timbre == "sine":
        tone = np.sin(phase)
    else:  # band-limited square wave: odd harmonics below 0.45 x the sample rate
        tone = np.zeros(num_samples)
        for k in range(1, int(0.45 * sample_rate / plan.freqs.min()) + 1, 2):
            tone += np.where(k * freq < 0.45 * sample_rate, np.sin(k * phase) / k, 0.0)
        tone *= 4 / np.pi / np.sqrt(2)  # the sine's RMS, so timbre alone changes; peak 0.84
    clicks = np.zeros(num_samples)
    noise = np.random.default_rng(plan.noise_seed)
    click_len = max(1, int(round(rules.click_seconds * sample_rate)))
    decay = np.exp(-np.arange(click_len) / (click_len / 5))
    for beat in np.arange(plan.offset, plan.duration, plan.period):
        start = int(round(beat * sample_rate))
        stop = min(start + click_len, num_samples)
        clicks[start:stop] += (noise.uniform(-1.0, 1.0, click_len) * decay)[: stop - start]
    audio = plan.loudness(t) * (rules.tone_gain * tone + rules.click_gain * clicks)
    if channels > 1:
        audio = audio[:, None] * (1 + pan * np.linspace(-1.0, 1.0, channels))
    return audio.astype(np.float32)


def render_motion(
    plan: ClipPlan, rules: SyntheticRules, fps: float, num_samples: int, sample_rate: int
) -> np.ndarray:
    """Motion float32 `[T, D]`, T = floor(num_samples x fps / sample_rate), channels as `rules.channels`."""
    t = np.arange(int(num_samples * fps // sample_rate)) / fps
    # Each pitch segment's weight ramps over ramp_seconds around its ends; the weights add up to 1.
    active = np.zeros((t.size, len(rules.bands_hz)))
    tilt = np.zeros(t.size)
    for start, stop, band, freq in zip(
        plan.bounds[:-1], plan.bounds[1:], plan.bands, plan.freqs, strict=True
    ):
        rise = np.clip((t - start) / rules.ramp_seconds + 0.5, 0.0, 1.0) if start > 0 else 1.0
        weight = np.minimum(rise, np.clip((stop - t) / rules.ramp_seconds + 0.5, 0.0, 1.0))
        low, high = np.log(rules.bands_hz[band])
        active[:, band] += weight
        tilt += weight * (np.log(freq) - low) / (high - low)
    bob = np.cos(2 * np.pi * plan.beat_phase(t))
    level = plan.loudness(t)
    swing = level[:, None] * active * bob[:, None]
    channels = [bob[:, None], level[:, None], tilt[:, None], active, swing]
    if rules.two_way:
        channels.append((plan.signs[plan.beat_index(t)] * np.sin(np.pi * plan.beat_phase(t)))[:, None])
    return np.concatenate(channels, axis=1).astype(np.float32)


def synthesize_clip(
    duration: float,
    sample_rate: int,
    fps: float,
    rng: np.random.Generator,
    rules: SyntheticRules,
    heldout: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """One mono clip: audio float32 `[samples]` and motion float32 `[T, D]`, T = floor(duration x fps)."""
    plan = draw_clip(duration, rng, rules, heldout)
    audio = render_audio(plan, rules, sample_rate)
    return audio, render_motion(plan, rules, fps, audio.shape[0], sample_rate)


def write_synthetic_dataset(
    root: str | Path,
    num_clips: int,
    duration: float,
    sample_rate: int,
    fps: float,
    seed: int,
    rules: SyntheticRules | None = None,
    heldout: bool = False,
) -> Path:
    """Write `num_clips` pairs `clip_NNN.wav` + `clip_NNN.npy`, `channels.txt` and `generator.json` into
    `root` in the generic folder format. The folder appears whole or not at all (written aside, then
    renamed). A folder the generator made before is replaced; any other non-empty folder is refused."""
    rules = rules or SyntheticRules()
    rng = np.random.default_rng(seed)
    settings = generator_settings(num_clips, duration, sample_rate, fps, seed, rules, heldout)

    def clips():
        for index in range(num_clips):
            yield (
                f"clip_{index:03d}",
                *synthesize_clip(duration, sample_rate, fps, rng, rules, heldout),
                sample_rate,
            )

    return write_clips(root, clips(), rules.channels, settings)


def write_clips(root: str | Path, clips, channels: list[str], settings: dict) -> Path:
    """Write `(name, audio, motion, sample_rate)` clips as `NAME.wav` + `NAME.npy`, with `channels.txt` and
    `generator.json` (the `settings`), replacing a folder written this way before and nothing else."""
    root = Path(root)
    if (
        root.exists()
        and (not root.is_dir() or any(root.iterdir()))
        and not (root / "generator.json").is_file()
    ):
        raise InputError(f"{root}: holds files the generator did not make; pick an empty or new folder")
    with atomic_folder(root, replace=True) as staging:
        for name, audio, motion, sample_rate in clips:
            soundfile.write(staging / f"{name}.wav", audio, sample_rate, subtype="PCM_16")
            np.save(staging / f"{name}.npy", motion)
        (staging / "channels.txt").write_text("\n".join(channels) + "\n")
        (staging / "generator.json").write_text(json.dumps(settings, indent=2) + "\n")
    return root


def generator_settings(
    num_clips: int,
    duration: float,
    sample_rate: int,
    fps: float,
    seed: int,
    rules: SyntheticRules,
    heldout: bool = False,
) -> dict:
    """Everything that decides a generated data set, as JSON-ready data."""
    settings = dict(num_clips=num_clips, duration=duration, sample_rate=sample_rate, fps=fps, seed=seed)
    return json.loads(json.dumps({**settings, "heldout": heldout, "rules": asdict(rules)}))
