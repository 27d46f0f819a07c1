"""Reading audio files with soundfile (torchaudio.load would need torchcodec)."""

from pathlib import Path

import numpy as np
import soundfile
import torch

from audio2motion.errors import InputError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
BLOCK_SAMPLES = 1 << 22  # read at once, over all channels: 16 MB of float32


def is_audio_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in AUDIO_EXTENSIONS


def load_audio(path: str | Path) -> tuple[torch.Tensor, int]:
    """Read an audio file as float32 `[channels, samples]` and its sample rate in Hz. Integer formats
    give samples within [-1, 1]; float formats give what they hold (float audio belongs within [-1, 1],
    but a louder file still reads). A file that cannot be read, holds no samples, or holds NaN or
    infinite samples raises InputError naming it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such audio file")
    try:
        with soundfile.SoundFile(str(path)) as file:
            sample_rate, channels = file.samplerate, file.channels
            # In blocks until the data ends, not in one array of the length the header claims: a damaged
            # header can claim 2^36 samples.
            block = max(1, BLOCK_SAMPLES // channels)
            blocks = []  # [C, s] each
            while len(part := file.read(block, dtype="float32", always_2d=True)):  # [s, C]
                blocks.append(part.T)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        raise InputError(f"{path}: not readable as audio ({err})") from err
    if not blocks:
        raise InputError(f"{path}: audio has zero samples")
    data = np.concatenate(blocks, axis=1)  # [C, S]
    if not np.isfinite(data).all():  # float WAV, FLAC and others can store them
        raise InputError(f"{path}: audio holds NaN or infinite samples")
    return torch.from_numpy(data), int(sample_rate)  # [C, S]
