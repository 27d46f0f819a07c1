"""OmegaConf resolvers that the configs under conf/ use."""

import torch
from omegaconf import OmegaConf


def gpu_or_cpu(if_gpu: str, if_cpu: str) -> str:
    """`${gpu_or_cpu:A,B}` is A on a machine with a CUDA GPU, else B."""
    return if_gpu if torch.cuda.is_available() else if_cpu


def unless_timed(epochs: int, max_time: str | None, timed: int = -1) -> int:
    """`${unless_timed:N,${.max_time}}` is N without a time budget and -1 (no epoch limit) with one,
    `${unless_timed:N,${.max_time},M}` M with one: so that a budget alone decides how long a run trains,
    whatever the data set's size."""
    return epochs if max_time is None else timed


OmegaConf.register_new_resolver("gpu_or_cpu", gpu_or_cpu, replace=True)
OmegaConf.register_new_resolver("unless_timed", unless_timed, replace=True)
