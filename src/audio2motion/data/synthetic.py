"""Seeded synthetic pairs of audio and motion, where the motion is a known function of the audio.

The audio is a sine tone plus noise clicks, both scaled by a slowly varying loudness curve:
- clicks fall on the beats of a tempo (beats per minute) with a random offset;
- the tone's frequency jumps every few seconds to a random pitch inside one of several bands;
- loudness is piecewise linear between random knots.

The motion has one limb per pitch band and a torso:
- `LIMB.swing = loudness * active * sin(2 pi phase)` and `LIMB.lift = loudness * active * cos(2 pi phase)`,
  where `phase` is the beat phase (0 on each click, 1 on the next) and `active` is 1 while the tone is in
  the limb's band and 0 otherwise (ramped over `ramp_seconds` around a change);
- `torso.height = loudness`.

A model must use the audio over time to get this right: the beat phase at a frame is only known from
the clicks before and after it, the loudness from the level, the limb from the pitch.
"""

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile

from audio2motion.errors import InputError

LIMBS = ("left_arm", "right_arm", "head")


@dataclass(frozen=True)
class SyntheticRules:
    """Ranges the generator draws from; seconds, Hz and beats per minute."""

    tempo_bpm: tuple[float, float] = (80.0, 160.0)
    bands_hz: tuple[tuple[float, float], ...] = ((150.0, 300.0), (500.0, 1000.0), (1600.0, 3200.0))
    segment_seconds: tuple[float, float] = (1.0, 3.0)
    loudness: tuple[float, float] = (0.25, 1.0)
    loudness_knot_seconds: float = 1.0
    click_seconds: float = 0.02
    ramp_seconds: float = 0.1
    tone_gain: float = 0.5
    click_gain: float = 0.5
    limbs: tuple[str, ...] = field(default=LIMBS)

    def __post_init__(self):
        if len(self.limbs) != len(self.bands_hz):
            raise ValueError(
                f"one limb per pitch band: {len(self.limbs)} limbs for {len(self.bands_hz)} bands"
            )

    @property
    def channels(self) -> list[str]:
        return [f"{limb}.{part}" for limb in self.limbs for part in ("swing", "lift")] + ["torso.height"]


def rules_from_config(config: dict) -> SyntheticRules:
    """SyntheticRules from config data, whose lists become tuples (nested for the pitch bands)."""

    def as_tuples(value):
        return tuple(as_tuples(v) for v in value) if isinstance(value, list | tuple) else value

    return SyntheticRules(**{key: as_tuples(value) for key, value in config.items()})


def synthesize_clip(
    duration: float, sample_rate: int, fps: float, rng: np.random.Generator, rules: SyntheticRules
) -> tuple[np.ndarray, np.ndarray]:
    """One clip: audio float32 `[samples]` in [-1, 1], motion float32 `[T, D]`, T = floor(duration x fps)."""
    num_samples = int(round(duration * sample_rate))
    t_audio = np.arange(num_samples) / sample_rate
    t_motion = np.arange(int(num_samples * fps // sample_rate)) / fps

    # Beats: clicks at tempo, phase 0 on each click.
    period = 60.0 / rng.uniform(*rules.tempo_bpm)
    offset = rng.uniform(0.0, period)

    def beat_phase(t):
        return ((t - offset) / period) % 1.0

    # Loudness: piecewise linear between knots.
    knot_t = np.arange(0.0, duration + rules.loudness_knot_seconds, rules.loudness_knot_seconds)
    knot_v = rng.uniform(*rules.loudness, size=knot_t.size)

    def loudness(t):
        return np.interp(t, knot_t, knot_v)

    # Pitch segments: each picks a band and a log-uniform frequency inside it.
    bounds, bands, freqs = [0.0], [], []
    while bounds[-1] < duration:
        band = int(rng.integers(len(rules.bands_hz)))
        low, high = rules.bands_hz[band]
        bands.append(band)
        freqs.append(float(np.exp(rng.uniform(np.log(low), np.log(high)))))
        bounds.append(bounds[-1] + rng.uniform(*rules.segment_seconds))
    starts = np.array(bounds[:-1])

    # Audio: the tone keeps a continuous phase across frequency jumps, so a jump makes no click of its own.
    segment = np.searchsorted(starts, t_audio, side="right") - 1
    tone = np.sin(2 * np.pi * np.cumsum(np.array(freqs)[segment]) / sample_rate)
    clicks = np.zeros(num_samples)
    click_len = max(1, int(round(rules.click_seconds * sample_rate)))
    decay = np.exp(-np.arange(click_len) / (click_len / 5))
    for beat in np.arange(offset, duration, period):
        start = int(round(beat * sample_rate))
        burst = rng.uniform(-1.0, 1.0, click_len) * decay
        stop = min(start + click_len, num_samples)
        clicks[start:stop] += burst[: stop - start]
    audio = loudness(t_audio) * (rules.tone_gain * tone + rules.click_gain * clicks)

    # Motion: which limb is active ramps linearly over ramp_seconds centred on each change.
    active = np.zeros((t_motion.size, len(rules.bands_hz)))
    for start, stop, band in zip(bounds[:-1], bounds[1:], bands, strict=True):
        rise = np.clip((t_motion - start) / rules.ramp_seconds + 0.5, 0.0, 1.0) if start > 0 else 1.0
        fall = np.clip((stop - t_motion) / rules.ramp_seconds + 0.5, 0.0, 1.0)
        active[:, band] += np.minimum(rise, fall)
    angle = 2 * np.pi * beat_phase(t_motion)
    level = loudness(t_motion)
    limbs = [
        level[:, None] * active * np.sin(angle)[:, None],
        level[:, None] * active * np.cos(angle)[:, None],
    ]
    limb_channels = np.stack(limbs, axis=-1).reshape(t_motion.size, -1)  # [T, limbs x (swing, lift)]
    motion = np.concatenate([limb_channels, level[:, None]], axis=-1)
    return audio.astype(np.float32), motion.astype(np.float32)


def write_synthetic_dataset(
    root: str | Path,
    num_clips: int,
    duration: float,
    sample_rate: int,
    fps: float,
    seed: int,
    rules: SyntheticRules | None = None,
) -> Path:
    """Write `num_clips` pairs `clip_NNN.wav` + `clip_NNN.npy`, `channels.txt` and `generator.json` into
    `root` in the generic folder format. The folder appears whole or not at all (written aside, then
    renamed). A folder the generator made before is replaced; any other non-empty folder is refused."""
    rules = rules or SyntheticRules()
    root = Path(root)
    if (
        root.exists()
        and (not root.is_dir() or any(root.iterdir()))
        and not (root / "generator.json").is_file()
    ):
        raise InputError(f"{root}: holds files the generator did not make; pick an empty or new folder")
    root.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        for index in range(num_clips):
            audio, motion = synthesize_clip(duration, sample_rate, fps, rng, rules)
            soundfile.write(staging / f"clip_{index:03d}.wav", audio, sample_rate, subtype="PCM_16")
            np.save(staging / f"clip_{index:03d}.npy", motion)
        (staging / "channels.txt").write_text("\n".join(rules.channels) + "\n")
        settings = generator_settings(num_clips, duration, sample_rate, fps, seed, rules)
        (staging / "generator.json").write_text(json.dumps(settings, indent=2) + "\n")
        if root.exists():
            shutil.rmtree(root)
        os.replace(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


def generator_settings(
    num_clips: int, duration: float, sample_rate: int, fps: float, seed: int, rules: SyntheticRules
) -> dict:
    """Everything that decides a generated data set, as JSON-ready data."""
    settings = dict(num_clips=num_clips, duration=duration, sample_rate=sample_rate, fps=fps, seed=seed)
    return json.loads(json.dumps({**settings, "rules": asdict(rules)}))
