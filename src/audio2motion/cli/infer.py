"""Audio file(s) + checkpoint -> motion: `audio2motion-infer ckpt=PATH audio=FILE_OR_DIR out=DIR`
(`python scripts/infer.py` in a checkout; see conf/infer.yaml).

Writes `out/NAME.npz` holding `motion` float32 `[T, D]`, `fps`, `source` (the audio file's name) and
`layout` (JSON: channel names and groups, fps, skeleton; see audio2motion/motion/layout.py), or with
`format=bvh` (models of a skeleton layout) `out/NAME.bvh`. Diffusion models write `num_samples` motions,
`out/NAME_K.npz` for K = 0 .. num_samples - 1 when there are several, and take `seed`, `sampling.*` and
`edit.*` (keep parts of a given motion and fill in the rest). `render=true` adds videos, `viewer=true` a
web page `out/NAME.html` that plays the motion (the samples side by side) with its sound.
A file that fails is reported on one line and the rest go on; the exit code is 1 if any failed.
"""

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from audio2motion.cli import CONFIG_PATH, with_switches
from audio2motion.errors import InputError, exit_on_user_error
from audio2motion.inference import load_model
from audio2motion.inference.batch import FORMATS, Edit, Render, Viewer, audio_files, infer_files
from audio2motion.viewer import check_compression


def main() -> None:
    sys.argv = with_switches(sys.argv, "render", "viewer")
    infer()


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="infer")
def infer(cfg: DictConfig) -> None:
    with exit_on_user_error():
        if cfg.overlap is not None and cfg.overlap < 0:
            raise InputError(f"overlap={cfg.overlap}: must be 0 or more frames")
        if cfg.format not in FORMATS:
            raise InputError(f"format={cfg.format}: must be one of {', '.join(FORMATS)}")
        check_compression(cfg.viewer.audio_compression, "viewer.audio_compression")
        if cfg.num_samples < 1:
            raise InputError(f"num_samples={cfg.num_samples}: must be 1 or more")
        generator = load_model(cfg.ckpt, device=cfg.device)
        sampling = {key: value for key, value in cfg.sampling.items() if value is not None}
        if generator.sampler is None and (cfg.num_samples > 1 or sampling or cfg.edit.motion):
            raise InputError(
                f"{cfg.ckpt}: num_samples > 1, sampling.* and edit.motion need a model trained with "
                "objective=diffusion; a regression model gives one motion per audio"
            )
        try:
            generator.check_overlap(cfg.overlap)
        except ValueError as err:
            raise InputError(str(err)) from err
        if generator.sampler is not None:
            try:
                generator.sampler.check(sampling)
            except ValueError as err:
                raise InputError(f"sampling: {err}") from err
        edit = None
        if cfg.edit.motion:
            keep = {key: cfg.edit[key] for key in ("prefix_seconds", "keyframes", "channels")}
            keep["keyframes"], keep["channels"] = tuple(keep["keyframes"]), tuple(keep["channels"])
            edit = Edit.read(Path(cfg.edit.motion), generator.layout, **keep)
        if cfg.format == "bvh" and not generator.layout.get("skeleton"):
            raise InputError(
                f"{cfg.ckpt}: format=bvh needs a model trained on motion with a skeleton (data=aistpp or "
                "data=beat2); this one's channels have none"
            )
        files = audio_files(Path(cfg.audio))
        out = Path(cfg.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # a file of that name, or a file in its path
            raise InputError(f"{out}: cannot be the output folder ({err.strerror or err})") from err
    render = OmegaConf.to_container(cfg.render)
    counts = infer_files(
        generator,
        files,
        out,
        file_format=cfg.format,
        overwrite=cfg.overwrite,
        overlap=cfg.overlap,
        seed=cfg.seed,
        num_samples=cfg.num_samples,
        sampling=sampling,
        edit=edit,
        render=Render(**{k: v for k, v in render.items() if k != "enabled"}) if render["enabled"] else None,
        viewer=Viewer(cfg.viewer.audio_compression) if cfg.viewer.enabled else None,
        progress=cfg.progress,
    )
    if counts["failed"]:
        print(f"{counts['failed']} of {len(files)} files failed", file=sys.stderr)
        sys.exit(1)
