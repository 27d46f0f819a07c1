"""`audio2motion-train [overrides]` (`python train.py` in a checkout): see conf/train.yaml."""

import hydra
from omegaconf import DictConfig

from audio2motion.cli import CONFIG_PATH
from audio2motion.errors import exit_on_user_error
from audio2motion.training.run import train


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="train")
def main(cfg: DictConfig) -> float:
    with exit_on_user_error():
        return train(cfg)[cfg.optimized_metric]
