"""Streaming inference: motion frame by frame while the audio arrives."""

from typing import TYPE_CHECKING

import torch

from audio2motion.features import FeatureStream
from audio2motion.inference.windows import ExactWindows

if TYPE_CHECKING:
    from audio2motion.inference.generator import MotionGenerator


class MotionStream:
    """`push` audio chunks (20 ms, say) and get each motion frame as soon as its audio is in; `finish`
    returns the frames of the audio's end. Together they are the frames `generate` gives for the whole
    audio.

    Frame t needs the audio up to its time plus half an analysis window (n_fft / 2 samples), and the
    features of the frames its convolutions read before it (`ExactWindows.past`), which the stream keeps;
    memory does not grow.
    """

    def __init__(self, generator: "MotionGenerator", sample_rate: int):
        if generator.sampler is not None:
            raise ValueError("streaming needs a regression model; this one samples (objective=diffusion)")
        windows = generator.windows
        if not isinstance(windows, ExactWindows) or windows.future > 0:
            raise ValueError(
                "streaming needs a causal model of convolutions alone (model=densefilm_causal); this one "
                "sees future frames or attends over whole windows"
            )
        self.windows, self.feature_norm = windows, generator.feature_norm
        self.features = FeatureStream(generator.featurizer, sample_rate)
        # the normalised features that frames to come read before them
        self.context = torch.zeros(0, generator.featurizer.dim, device=generator.featurizer.window.device)

    @torch.inference_mode()
    def push(self, chunk: torch.Tensor) -> torch.Tensor:
        """`chunk` `[samples]` or `[channels, samples]` -> motion `[t, D]` of the frames it completed."""
        return self._motion(self.features.push(chunk))

    @torch.inference_mode()
    def finish(self) -> torch.Tensor:
        """Motion `[t, D]` of the frames left at the end of the audio."""
        return self._motion(self.features.finish())

    def _motion(self, features: torch.Tensor) -> torch.Tensor:
        if features.shape[0] == 0:
            return features.new_zeros(0, self.windows.motion_norm.mean.shape[0])
        normalised = self.feature_norm(features)  # [t, F]
        motion = self.windows.run(normalised, self.context)  # [t, D]
        known = torch.cat([self.context, normalised])
        self.context = known[max(known.shape[0] - self.windows.past, 0) :]
        return motion
