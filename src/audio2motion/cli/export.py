"""Checkpoint -> self-contained model file: `audio2motion-export ckpt=PATH format=torchscript|onnx`
(`python scripts/export.py` in a checkout).

The file takes a waveform at the model's sample rate and returns motion `[frames, channels]`; its
metadata (sample rate, fps, input and output, channel layout) is the TorchScript extra file, or the ONNX
metadata property, `audio2motion.json`. See conf/export.yaml and docs/inference.md (Export).
"""

import time
from pathlib import Path

import hydra
from omegaconf import DictConfig

from audio2motion import load_model
from audio2motion.cli import CONFIG_PATH
from audio2motion.errors import InputError, exit_on_user_error
from audio2motion.export import METADATA, export, suffix


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="export")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        beside_ckpt = Path(cfg.ckpt).with_suffix(suffix(cfg.format))  # checks the format first
        out = Path(cfg.out) if cfg.out else beside_ckpt
        if not out.parent.is_dir():
            raise InputError(f"{out}: its folder does not exist")
        started = time.perf_counter()
        generator = load_model(cfg.ckpt)
        if generator.sampler is not None:
            raise InputError(
                f"{cfg.ckpt}: export takes regression models; this one samples (objective=diffusion): "
                "its sampler loop and constraints run in scripts/infer.py"
            )
        info = export(generator, out, cfg.format, cfg.check.seconds, cfg.check.tolerance)
    print(
        f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB, {cfg.format}) in "
        f"{time.perf_counter() - started:.1f} s: waveform at {info['sample_rate']} Hz -> motion "
        f"[frames, {info['layout']['dim']}] at {info['fps']:g} fps; largest difference from the checkpoint "
        f"{info['max_difference']:.2g} on {len(info['checked_samples'])} test lengths"
        + (f"; one pass, for up to {info['max_frames']} frames a run" if info["max_frames"] else "")
    )
    print(f"its metadata (sample rate, fps, layout; docs/inference.md, Export) is the {METADATA} entry")
