"""Turn a training checkpoint plus any audio into motion: `load_model(ckpt).generate(waveform, rate)`.

generator (MotionGenerator, load_model) rebuilds the model and featurizes audio; windows runs regression
models over any length, sampling diffusion models, streaming audio as it arrives, batch a folder of
files into motion files; motion holds the result."""

from audio2motion.inference.generator import MotionGenerator, load_model
from audio2motion.inference.motion import Motion
from audio2motion.inference.streaming import MotionStream

__all__ = ["Motion", "MotionGenerator", "MotionStream", "load_model"]
