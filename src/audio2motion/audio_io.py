"""Reading audio files with soundfile (torchaudio.load would need torchcodec)."""

from pathlib import Path

import soundfile
import torch

from audio2motion.errors import InputError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


def is_audio_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in AUDIO_EXTENSIONS


def load_audio(path: str | Path) -> tuple[torch.Tensor, int]:
    """Read an audio file as float32 `[channels, samples]` in [-1, 1] and its sample rate in Hz."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such audio file")
    try:
        data, sample_rate = soundfile.read(str(path), dtype="float32", always_2d=True)  # [S, C]
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        raise InputError(f"{path}: not readable as audio ({err})") from err
    if data.shape[0] == 0:
        raise InputError(f"{path}: audio has zero samples")
    return torch.from_numpy(data.T.copy()), int(sample_rate)  # [C, S]
