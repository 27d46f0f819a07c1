"""audio2motion: learn to turn sound into body motion."""

import audio2motion.config  # noqa: F401  (registers the resolvers the configs use)
from audio2motion.inference import Motion, MotionGenerator, load_model

__all__ = ["Motion", "MotionGenerator", "load_model"]
