"""Streaming inference: motion frame by frame while the audio arrives."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch

from audio2motion.features import FeatureStream

if TYPE_CHECKING:
    from audio2motion.inference.generator import MotionGenerator


@contextmanager
def one_thread() -> Iterator[None]:
    """torch on one CPU thread while inside. A push's operations hold a frame or two: too small to share
    out, and while other programs keep the cores busy (a renderer beside a live avatar), torch's threads
    wait on each other at every operation. torch's thread count is the process's, so other Python threads'
    torch work runs on one thread meanwhile."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class MotionStream:
    """`push` audio chunks (20 ms, say) and get each motion frame as soon as its audio is in; `finish`
    returns the frames of the audio's end. Together they are the frames `generate` gives for the whole
    audio.

    Frame t needs the audio up to its time plus half an analysis window (n_fft / 2 samples). Each layer
    keeps what later frames read of the past (the featurizer its input tail, each convolution its last
    inputs: Audio2Motion.step), so a push costs its new frames' work alone and memory does not grow.
    """

    def __init__(self, generator: "MotionGenerator", sample_rate: int):
        if generator.sampler is not None:
            raise ValueError("streaming needs a regression model; this one samples (objective=diffusion)")
        self.model, self.motion_norm = generator.model, generator.motion_norm
        self.feature_norm = generator.feature_norm
        self.state = self.model.stream_state()
        self.features = FeatureStream(generator.featurizer, sample_rate)

    @torch.inference_mode()
    def push(self, chunk: torch.Tensor) -> torch.Tensor:
        """`chunk` `[samples]` or `[channels, samples]` -> motion `[t, D]` of the frames it completed."""
        with one_thread():
            return self._motion(self.features.push(chunk))

    @torch.inference_mode()
    def finish(self) -> torch.Tensor:
        """Motion `[t, D]` of the frames left at the end of the audio."""
        with one_thread():
            return self._motion(self.features.finish())

    def _motion(self, features: torch.Tensor) -> torch.Tensor:
        if features.shape[0] == 0:
            return features.new_zeros(0, self.motion_norm.mean.shape[0])
        motion, self.state = self.model.step(self.feature_norm(features), self.state)  # [t, D]
        return self.motion_norm.inverse(motion)
