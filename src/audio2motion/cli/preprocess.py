"""Fill the feature cache: `audio2motion-preprocess data=aistpp data.root=DIR` (`python
scripts/preprocess.py` in a checkout; see conf/preprocess.yaml). Prints where the cache went, how many
clips and frames, its size and the time."""

import time

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from audio2motion.cli import CONFIG_PATH
from audio2motion.errors import exit_on_user_error


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="preprocess")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        started = time.perf_counter()
        datamodule = instantiate(cfg.data, features=OmegaConf.to_container(cfg.features, resolve=True))
        datamodule.prepare_data()
        folder, size = datamodule.write_cache()
        datamodule.setup()  # reads back what was written
    clips = [clip for split in datamodule.clips.values() for clip in split]
    frames = sum(clip.motion.shape[0] for clip in clips)
    print(
        f"cached {len(clips)} clips ({frames} frames, {size / 2**20:.1f} MiB) in {folder} "
        f"in {time.perf_counter() - started:.1f} s"
    )
