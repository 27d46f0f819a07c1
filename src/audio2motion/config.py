"""OmegaConf resolvers that the configs under conf/ use."""

import torch
from omegaconf import OmegaConf


def gpu_or_cpu(if_gpu: str, if_cpu: str) -> str:
    """`${gpu_or_cpu:A,B}` is A on a machine with a CUDA GPU, else B."""
    return if_gpu if torch.cuda.is_available() else if_cpu


OmegaConf.register_new_resolver("gpu_or_cpu", gpu_or_cpu, replace=True)
