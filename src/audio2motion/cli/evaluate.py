"""Checkpoint + data set -> report: `audio2motion-evaluate ckpt=PATH data=aistpp data.root=DIR`
(`python scripts/evaluate.py` in a checkout).

Generates motion for every clip of the test split (`split=`), scores it, the ground truth and the mean
pose with audio2motion.metrics, and writes `report.json` and `report.md` into the run folder
(`hydra.run.dir=` picks it). See conf/evaluate.yaml and docs/evaluation.md.
"""

import json
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from audio2motion import load_model
from audio2motion.atomic import atomic_write
from audio2motion.cli import CONFIG_PATH
from audio2motion.errors import InputError, exit_on_user_error
from audio2motion.evaluation import evaluate, format_value, report_markdown
from audio2motion.hardware import hardware

SPLITS = ("train", "val", "test")


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="evaluate")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        if cfg.split not in SPLITS:
            raise InputError(f"split={cfg.split}: must be one of {', '.join(SPLITS)}")
        started = time.perf_counter()
        generator = load_model(cfg.ckpt, device=cfg.device)
        # the checkpoint's feature settings (all but fps, which data.fps is), so that clips match the model
        features = {k: v for k, v in generator.featurizer.settings.items() if k != "fps"}
        datamodule = instantiate(cfg.data, fps=generator.fps, features=features)
        datamodule.prepare_data()
        datamodule.setup()
        clips = datamodule.clips[cfg.split]
        if not clips:
            raise InputError(f"{cfg.data.root}: the {cfg.split} split has no clips")
        if datamodule.layout["channels"] != generator.layout["channels"]:
            raise InputError(
                f"{cfg.data.root}: its motion channels are not those the model was trained on ({cfg.ckpt}): "
                "another data set, layout or reader setting"
            )
        report = evaluate(generator, clips, progress=cfg.progress)
    report = {
        "settings": {
            "ckpt": str(cfg.ckpt),
            "data_root": str(cfg.data.root),
            "split": cfg.split,
            "clips": len(clips),
            "seconds": sum(len(clip.motion) for clip in clips) / generator.fps,
            "fps": generator.fps,
            "layout": generator.layout["skeleton"]["name"] if generator.layout["skeleton"] else "channels",
        },
        "hardware": hardware(),
        "seconds": time.perf_counter() - started,
        **report,
    }
    out = Path(HydraConfig.get().runtime.output_dir)
    with atomic_write(out / "report.json") as handle:
        handle.write(json.dumps(report, indent=2, allow_nan=False).encode())
    with atomic_write(out / "report.md") as handle:
        handle.write(report_markdown(report).encode())
    nmse, alignment = (format_value(report["metrics"]["generated"][k]) for k in ("nmse", "beat_alignment"))
    print(
        f"{len(clips)} clips scored in {report['seconds']:.1f} s: nmse {nmse}, beat alignment {alignment} "
        f"(every measure in {out / 'report.md'})"
    )
