"""Plain torch.nn modules: DenseFiLM, residual motion blocks, the audio encoder, the full model and the
diffusion denoiser."""

from audio2motion.models.audio2motion import Audio2Motion
from audio2motion.models.blocks import ResidualMotionBlock
from audio2motion.models.config import NetworkConfig
from audio2motion.models.denoiser import MotionDenoiser
from audio2motion.models.densefilm import DenseFiLM
from audio2motion.models.normalizer import Normalizer

__all__ = [
    "Audio2Motion",
    "DenseFiLM",
    "MotionDenoiser",
    "NetworkConfig",
    "Normalizer",
    "ResidualMotionBlock",
]
