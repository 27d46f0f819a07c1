"""The one place that turns a checkpoint's plain hyper-parameters into the model: network, normalisers
and objective. Training, inference (load_model, export) and resume all build through here, so a
checkpoint means the same to each of them."""

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from audio2motion.diffusion import GaussianDiffusion, diffusion_from_config
from audio2motion.models import Audio2Motion, MotionDenoiser, NetworkConfig, Normalizer

# Checkpoints and run settings written before the objective was a choice trained regression models.
REGRESSION = {"name": "regression"}


def objective_of(settings: Mapping) -> dict:
    """The objective config (conf/objective/) of hyper-parameters or run settings; regression for those
    that name none."""
    return dict(settings.get("objective") or REGRESSION)


@dataclass
class ModelParts:
    """What a checkpoint's `state_dict` fills, by its key prefixes `model.`, `feature_norm.` and
    `motion_norm.`, and the objective that says how the network is used."""

    model: Audio2Motion | MotionDenoiser
    feature_norm: Normalizer
    motion_norm: Normalizer
    diffusion: GaussianDiffusion | None  # None: regression
    objective: dict

    def load_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Each part's weights from a checkpoint's `state_dict`; other keys (optimiser, EMA) are ignored."""
        for part in ("model", "feature_norm", "motion_norm"):
            prefix = f"{part}."
            getattr(self, part).load_state_dict(
                {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
            )


def build_model(hparams: Mapping, state_dict: Mapping[str, torch.Tensor] | None = None) -> ModelParts:
    """The parts for `hparams` (a checkpoint's `hyper_parameters`: `net`, `feature_dim`, `layout` and
    `objective`, as plain data), with `state_dict`'s weights when given; ValueError for settings that
    do not make a network."""
    objective = objective_of(hparams)
    if objective["name"] not in ("regression", "diffusion"):
        raise ValueError(f"objective must be regression or diffusion, got {objective['name']!r}")
    diffusion = diffusion_from_config(objective)
    network = Audio2Motion if diffusion is None else MotionDenoiser
    config = NetworkConfig.from_dict(hparams["net"])
    if diffusion is not None and config.spline_step > 1 and diffusion.prediction != "x0":
        raise ValueError(
            f"model.net.spline_step={config.spline_step} needs objective.prediction=x0: a spline's smooth "
            f"frames cannot be the noise ({diffusion.prediction}) that the denoiser would predict"
        )
    feature_dim, motion_dim = int(hparams["feature_dim"]), int(hparams["layout"]["dim"])
    parts = ModelParts(
        model=network(feature_dim, motion_dim, config),
        feature_norm=Normalizer(feature_dim),
        motion_norm=Normalizer(motion_dim),
        diffusion=diffusion,
        objective=objective,
    )
    if state_dict is not None:
        parts.load_state_dict(state_dict)
    return parts
