"""Reading audio files with soundfile (torchaudio.load would need torchcodec)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile
import torch

from audio2motion.errors import InputError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
BLOCK_SAMPLES = 1 << 22  # read at once, over all channels: 16 MB of float32


def is_audio_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in AUDIO_EXTENSIONS


@contextmanager
def audio_blocks(path: str | Path) -> Iterator[tuple[int, Iterator[torch.Tensor]]]:
    """Open an audio file: its sample rate in Hz, and its samples as float32 `[channels, s]` blocks of
    at most BLOCK_SAMPLES, so that a file of any length is read in bounded memory. Integer formats give
    samples within [-1, 1]; float formats give what they hold. A file that cannot be read raises
    InputError naming it, when opened or while read."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such audio file")
    try:
        file = soundfile.SoundFile(str(path))
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        raise InputError(f"{path}: not readable as audio ({err})") from err

    def blocks() -> Iterator[torch.Tensor]:
        # Until the data ends, not the length the header claims: a damaged header can claim 2^36 samples.
        size = max(1, BLOCK_SAMPLES // file.channels)
        try:
            while len(part := file.read(size, dtype="float32", always_2d=True)):  # [s, C]
                yield torch.from_numpy(np.ascontiguousarray(part.T))  # [C, s]
        except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
            raise InputError(f"{path}: not readable as audio ({err})") from err

    with file:
        yield int(file.samplerate), blocks()


def load_audio(path: str | Path) -> tuple[torch.Tensor, int]:
    """Read a whole audio file (see audio_blocks) as float32 `[channels, samples]` and its sample rate
    in Hz. A file that holds no samples, or NaN or infinite samples, raises InputError naming it."""
    with audio_blocks(path) as (sample_rate, blocks):
        parts = list(blocks)
    if not parts:
        raise InputError(f"{path}: audio has zero samples")
    data = torch.cat(parts, dim=1)  # [C, S]
    if not torch.isfinite(data).all():  # float WAV, FLAC and others can store them
        raise InputError(f"{path}: audio holds NaN or infinite samples")
    return data, sample_rate
