"""The package's config groups (pkg://audio2motion.conf, on each benchmark config's search path), composed
inside a running benchmark's Hydra app."""

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf


def composed(group: str, name: str) -> dict:
    """The `GROUP=NAME` option (model, objective) as plain data, composed with the running benchmark's
    config as train.py composes it with its own."""
    cfg = hydra.compose(config_name=HydraConfig.get().job.config_name, overrides=[f"{group}={name}"])
    return OmegaConf.to_container(cfg[group], resolve=True)
