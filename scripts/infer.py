"""Audio file(s) + checkpoint -> motion: `python scripts/infer.py ckpt=PATH audio=FILE_OR_DIR out=DIR`.

Writes `out/NAME.npz` holding `motion` float32 `[T, D]`, `fps`, `source` (the audio file's name) and
`layout` (JSON: channel names and groups, fps, skeleton; see audio2motion/motion/layout.py).
A file that fails is reported on one line and the rest go on; the exit code is 1 if any failed.
"""

import json
import os
import sys
from pathlib import Path

import hydra
import numpy as np
from omegaconf import DictConfig

from audio2motion import load_model
from audio2motion.atomic import atomic_write
from audio2motion.audio_io import is_audio_file, load_audio
from audio2motion.errors import InputError, exit_on_user_error

os.environ.setdefault("AUDIO2MOTION_ROOT", str(Path(__file__).resolve().parents[1]))


def audio_files(source: Path) -> list[Path]:
    """The file itself, or the audio files directly inside the folder, sorted by name."""
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if is_audio_file(p))
        if not files:
            raise InputError(f"{source}: folder holds no .wav, .flac, .ogg or .mp3 files")
        return files
    if not source.exists():
        raise InputError(f"{source}: no such audio file or folder")
    return [source]


@hydra.main(version_base="1.3", config_path="../conf", config_name="infer")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        if cfg.overlap is not None and cfg.overlap < 0:
            raise InputError(f"overlap={cfg.overlap}: must be 0 or more frames")
        generator = load_model(cfg.ckpt, device=cfg.device)
        files = audio_files(Path(cfg.audio))
        out = Path(cfg.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # a file of that name, or a file in its path
            raise InputError(f"{out}: cannot be the output folder ({err.strerror or err})") from err
    failed, written = 0, {}
    for file in files:
        target = out / f"{file.stem}.npz"
        try:
            if target in written:
                raise InputError(f"{file}: same output name {target.name} as {written[target].name}")
            waveform, sample_rate = load_audio(file)
            try:
                motion = generator.generate(waveform.to(cfg.device), sample_rate, cfg.overlap)
            except ValueError as err:
                raise InputError(f"{file}: {err}") from err
            with atomic_write(target) as handle:
                arrays = {"motion": motion.cpu().numpy(), "fps": np.float32(generator.fps)}
                text = {"source": np.str_(file.name), "layout": np.str_(json.dumps(generator.layout))}
                np.savez(handle, **arrays, **text)
            written[target] = file
            print(f"{file} -> {target} ({motion.shape[0]} frames at {generator.fps:g} fps)")
        except InputError as err:
            failed += 1
            print(f"error: {err}", file=sys.stderr)
    if failed:
        print(f"{failed} of {len(files)} files failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
