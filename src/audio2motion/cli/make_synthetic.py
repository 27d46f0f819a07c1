"""Write a synthetic data set in the folder format: `python scripts/make_synthetic.py out=DIR`.

Settings come from conf/data/synthetic.yaml (`data.fps`, `data.generator.*`), e.g.
`python scripts/make_synthetic.py out=/tmp/dance data.fps=60 data.generator.sample_rate=44100`.
"""

import hydra
from omegaconf import DictConfig, OmegaConf

from audio2motion.cli import CONFIG_PATH
from audio2motion.data.synthetic import rules_from_config, write_synthetic_dataset
from audio2motion.errors import exit_on_user_error


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="make_synthetic")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        settings = OmegaConf.to_container(cfg.data.generator, resolve=True)
        rules = rules_from_config(settings.pop("rules"))
        root = write_synthetic_dataset(cfg.out, fps=cfg.data.fps, rules=rules, **settings)
    print(f"wrote {settings['num_clips']} clips to {root}")
