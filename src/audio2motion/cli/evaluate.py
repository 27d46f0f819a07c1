"""Checkpoint or motion files + data set -> report: `audio2motion-evaluate ckpt=PATH data=aistpp
data.root=DIR`, or `generated=DIR` to score files some system wrote (`python scripts/evaluate.py` in a
checkout).

Scores the motion of every clip of the split (`split=`, `test+val` for two) under a protocol
(`protocol=published|corrected`), beside the ground truth and the mean pose, with audio2motion.metrics,
and writes `report.json` and `report.md` into the run folder (`hydra.run.dir=` picks it). See
conf/evaluate.yaml and docs/evaluation.md.
"""

import json
import sys
import time
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from audio2motion import load_model
from audio2motion.atomic import atomic_write
from audio2motion.cli import CONFIG_PATH, with_switches
from audio2motion.data.datamodule import MotionDataModule
from audio2motion.data.folder import SPLITS
from audio2motion.errors import InputError, exit_on_user_error
from audio2motion.evaluation import (
    ScoredClip,
    ScoredMotion,
    evaluate,
    format_value,
    protocol_of,
    report_markdown,
)
from audio2motion.evaluation.generated import generated_rate, read_generated
from audio2motion.evaluation.pool import reference_pool
from audio2motion.hardware import hardware
from audio2motion.inference import MotionGenerator
from audio2motion.motion.layout import skeleton_of
from audio2motion.viewer import check_compression, cut_audio, figure_track, motion_track, write_page


def split_names(split) -> list[str]:
    """`test`, or splits joined by `+` (`test+val`, Bailando's generated set)."""
    names = str(split).split("+")
    if any(name not in SPLITS for name in names) or len(set(names)) < len(names):
        raise InputError(f"split={split}: must be one of {', '.join(SPLITS)}, or several joined by +")
    return names


def music_onsets(datamodule: MotionDataModule, features: list[torch.Tensor]) -> list:
    """Each clip's onset envelope `[M]` over its whole music (None without an onset feature)."""
    onset = datamodule.featurizer.offsets.get("onset")
    return [None if onset is None else music[:, onset].numpy() for music in features]


def whole_music(datamodule: MotionDataModule, clips: list) -> list[torch.Tensor]:
    """Each clip's features `[M, F]` over its whole music: AIST++'s runs past the dance, and Bailando
    generates for all of it."""
    if not datamodule.reader.trims_audio:
        return [clip.features for clip in clips]
    return [datamodule.featurizer(*datamodule.clip_audio(clip.name)) for clip in clips]


def generate(
    generator: MotionGenerator, clips: list, music: list[torch.Tensor], progress: bool
) -> list[ScoredMotion]:
    """The model's motion for each clip's whole music (features `[M, F]`)."""
    generated = []
    for clip, features in tqdm(
        list(zip(clips, music, strict=True)), desc="generate", unit="clip", disable=not progress
    ):
        motion = generator.motion_from_features(features).values.cpu().numpy()
        if not np.isfinite(motion).all():
            raise InputError(f"clip {clip.name}: the model's motion for it holds NaN or infinite values")
        generated.append(ScoredMotion(channels=motion))
    return generated


def write_pages(
    folder: Path, datamodule: MotionDataModule, clips: list, generated: list[ScoredMotion], compression: float
) -> dict[str, str]:
    """`folder/pages/NAME.html` for each clip: the generated motion beside the ground truth over the
    truth's time, with the clip's sound; {clip name: the page's path in `folder`}."""
    layout, pages = datamodule.layout, {}
    fps, skeleton = layout["fps"], skeleton_of(layout)
    for clip, motion in zip(clips, generated, strict=True):
        frames, note = len(clip.motion), ""
        if motion.channels is not None:
            made = motion_track("generated", motion.channels[:frames], layout)
        else:  # joint positions alone (.npy files)
            made = figure_track("generated", motion.positions[:frames], skeleton, None)
        try:
            audio = cut_audio(datamodule.clip_audio(clip.name), frames, fps)
        except InputError as err:  # clips from data.cache_dir whose audio files are gone since
            audio, note = None, f"no sound: {err}"
        truth = motion_track("ground truth", clip.motion.numpy(), layout)
        page = Path("pages") / f"{clip.name}.html"
        try:
            write_page(folder / page, [made, truth], fps, clip.name, audio, note, compression)
        except OSError as err:  # a full disk
            raise InputError(f"{folder / page}: cannot write the page ({err.strerror or err})") from err
        pages[clip.name] = page.as_posix()
    return pages


def score(cfg: DictConfig, pages: Path | None = None) -> dict:
    """The report of evaluate.yaml's settings `cfg` (what report.json holds); InputError for bad input.
    With `pages` (a folder), a web page for each clip too (see write_pages)."""
    started = time.perf_counter()
    check_compression(cfg.viewer.audio_compression, "viewer.audio_compression")
    try:
        protocol = protocol_of(cfg.protocol, cfg.beat_alignment.frames)
    except ValueError as err:
        raise InputError(str(err)) from err
    splits = split_names(cfg.split)
    generator = None
    if cfg.generated is not None and cfg.ckpt is not None:
        raise InputError("ckpt= and generated= both given: score a checkpoint or motion files, not both")
    if cfg.generated is not None:
        fps = generated_rate(Path(cfg.generated), cfg.generated_fps)
        features = OmegaConf.to_container(cfg.features)
    elif cfg.ckpt is None:
        raise InputError(
            "ckpt=PATH (a checkpoint to generate with) or generated=DIR (motion files) is needed"
        )
    else:
        generator = load_model(cfg.ckpt, device=cfg.device)
        fps = generator.fps
        # the checkpoint's feature settings (all but fps, which data.fps is): clips match the model
        features = {k: v for k, v in generator.featurizer.settings.items() if k != "fps"}
    datamodule = instantiate(cfg.data, fps=fps, features=features)
    recorded = getattr(datamodule.reader, "source_fps", None)
    if generator is None and recorded and abs(recorded / fps - round(recorded / fps)) > 1e-6:
        raise InputError(
            f"generated={cfg.generated}: motion at {fps:g} fps, but the data set is recorded at {recorded:g} "
            f"fps: score files at {', '.join(f'{recorded / k:g}' for k in (1, 2, 3, 4))} fps"
        )
    datamodule.prepare_data()
    datamodule.setup()
    clips = [clip for split in splits for clip in datamodule.clips[split]]
    if not clips:
        raise InputError(f"{cfg.data.root}: the {cfg.split} split has no clips")
    layout = datamodule.layout
    if generator is not None and layout["channels"] != generator.layout["channels"]:
        raise InputError(
            f"{cfg.data.root}: its motion channels are not those the model was trained on ({cfg.ckpt}): "
            "another data set, layout or reader setting"
        )
    music = whole_music(datamodule, clips)
    if generator is None:
        files = read_generated(
            Path(cfg.generated), [c.name for c in clips], layout, datamodule.reader, cfg.split
        )
        generated = [files[clip.name] for clip in clips]
    else:
        generated = generate(generator, clips, music, cfg.progress)
    scored = [
        ScoredClip(clip.name, clip.motion.numpy(), onset, motion)
        for clip, onset, motion in zip(clips, music_onsets(datamodule, music), generated, strict=True)
    ]
    pool, pool_described = reference_pool(datamodule, protocol)
    stats = datamodule.stats
    report = evaluate(
        scored,
        layout,
        stats["motion_mean"].numpy(),
        stats["motion_std"].numpy(),
        protocol,
        pool,
        progress=cfg.progress,
    )
    if pages is not None:
        report["pages"] = write_pages(pages, datamodule, clips, generated, cfg.viewer.audio_compression)
    return {
        "settings": {
            "ckpt": None if cfg.ckpt is None else str(cfg.ckpt),
            "generated": None if cfg.generated is None else str(cfg.generated),
            "data_root": str(cfg.data.root),
            "split": cfg.split,
            "clips": len(clips),
            "seconds": sum(len(clip.motion) for clip in clips) / fps,
            "fps": fps,
            "layout": layout["skeleton"]["name"] if layout["skeleton"] else "channels",
            "protocol": protocol.name,
            "beat_alignment_frames": protocol.beat_frames,
            "reference_pool": pool_described,
        },
        "protocol": protocol.describe(),
        "hardware": hardware(),
        "seconds": time.perf_counter() - started,
        **report,
    }


def main() -> None:
    sys.argv = with_switches(sys.argv, "viewer")
    evaluate_and_report()


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="evaluate")
def evaluate_and_report(cfg: DictConfig) -> None:
    out = Path(HydraConfig.get().runtime.output_dir)
    with exit_on_user_error():
        report = score(cfg, out if cfg.viewer.enabled else None)
    with atomic_write(out / "report.json") as handle:
        handle.write(json.dumps(report, indent=2, allow_nan=False).encode())
    with atomic_write(out / "report.md") as handle:
        handle.write(report_markdown(report).encode())
    generated = report["metrics"]["generated"]
    shown = ", ".join(
        f"{key} {format_value(generated[key]) or '-'}" for key in ("nmse", "fid_k", "fid_g", "beat_alignment")
    )
    settings = report["settings"]
    print(
        f"{settings['clips']} clips scored under protocol={settings['protocol']} in "
        f"{report['seconds']:.1f} s: {shown} (every measure in {out / 'report.md'})"
    )
