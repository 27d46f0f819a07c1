"""Train audio2motion: `python train.py [hydra overrides]` (see README.md and conf/train.yaml)."""

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

from audio2motion.errors import exit_on_user_error
from audio2motion.training.run import train

os.environ.setdefault("AUDIO2MOTION_ROOT", str(Path(__file__).resolve().parent))


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    with exit_on_user_error():
        return train(cfg)[cfg.optimized_metric]


if __name__ == "__main__":
    main()
