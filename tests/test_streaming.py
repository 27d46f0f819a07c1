"""Streaming inference: audio in 20 ms chunks gives the frames offline inference of the same causal
model gives, each as soon as its audio is in, with memory that does not grow."""

import pytest
import torch
from conftest import tone_mix
from hydra import compose, initialize_config_dir
from measurements import untrained_module
from omegaconf import OmegaConf
from test_config import CONF

from audio2motion.features import AudioFeaturizer, FeatureStream
from audio2motion.inference import MotionGenerator


def generator(model: str, *overrides: str, window_seconds: float = 2.0) -> MotionGenerator:
    """The model's MotionGenerator at width 32 with random weights, DenseFiLM's too (it starts as the
    identity), and random normalisation statistics."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        overrides = [f"model={model}", "model.net.dim=32", "model.net.dropout=0.0", *overrides]
        cfg = compose("train", overrides=overrides)
    torch.manual_seed(0)
    module = untrained_module(
        OmegaConf.to_container(cfg.model, resolve=True),
        OmegaConf.to_container(cfg.features, resolve=True),
        window_seconds,
    )
    with torch.no_grad():  # non-trivial statistics and modulation, so that both are exercised too
        for name, parameter in module.model.named_parameters():
            if ".film." in name:
                parameter.normal_(0, 0.2)
        module.feature_norm.set_stats(
            torch.randn(module.hparams.feature_dim), torch.rand(module.hparams.feature_dim) + 0.5
        )
        module.motion_norm.set_stats(
            torch.randn(module.hparams.layout["dim"]), torch.rand(module.hparams.layout["dim"]) + 0.5
        )
    return MotionGenerator(dict(module.hparams), module.state_dict())


def waveform(sample_rate: int, seconds: float, channels: int) -> torch.Tensor:
    return torch.from_numpy(tone_mix(sample_rate, seconds, channels).T.copy())  # [C, S] or [S]


def in_chunks(stream, audio: torch.Tensor, chunk: int) -> tuple[torch.Tensor, list[int]]:
    """Everything the stream gives for `audio` pushed `chunk` samples at a time, and how many frames
    each push gave."""
    parts = [stream.push(audio[..., i : i + chunk]) for i in range(0, audio.shape[-1], chunk)]
    counts = [len(p) for p in parts]
    return torch.cat([*parts, stream.finish()]), counts


@pytest.mark.parametrize(
    ("sample_rate", "channels", "chunk_seconds"),
    [
        (16000, 1, 0.02),
        (44100, 2, 0.02),
        (22050, 1, 0.013),
        (48000, 2, 0.5),
        (44101, 1, 0.02),
        (8000, 1, 1.7),
        (48000, 2, 4.0),  # all in one push: 53,920 resampling blocks, in groups of RESAMPLE_GROUP
    ],
)
def test_feature_stream_equals_the_featurizer_on_the_whole_audio(sample_rate, channels, chunk_seconds):
    featurizer = AudioFeaturizer(fps=30.0)
    audio = waveform(sample_rate, 3.37, channels)
    stream = FeatureStream(featurizer, sample_rate)
    streamed, _ = in_chunks(stream, audio, round(chunk_seconds * sample_rate))
    whole = featurizer(audio, sample_rate)
    assert streamed.shape == whole.shape == (101, featurizer.dim)
    assert (streamed - whole).abs().max() < 1e-5
    # what it keeps is about one analysis window of input, not the stream
    assert stream.samples.shape[0] < 2 * featurizer.n_fft * sample_rate / featurizer.sample_rate + 1000


def test_causal_model_reads_90_past_frames_and_windowed_inference_is_one_pass():
    model = generator("densefilm_causal")
    # kernel 3: the encoder's dilations 1, 2, 4, then 8 blocks dilated 1, 2, 4, 8, 16, 1, 2, 4
    assert model.model.context == (2 * (1 + 2 + 4) + 2 * (1 + 2 + 4 + 8 + 16 + 1 + 2 + 4), 0) == (90, 0)
    audio = waveform(44100, 9.1, 2)  # 273 frames: five 60-frame windows
    with torch.inference_mode():
        features = model.feature_norm(model.featurizer(audio, 44100))
        one_pass = model.motion_norm.inverse(model.model(features[None])[0])
    windowed = model.generate(audio, 44100).values
    assert windowed.shape == (273, 9) and (windowed - one_pass).abs().max() < 1e-5


@pytest.mark.parametrize(
    ("sample_rate", "channels", "chunk_seconds"),
    [(48000, 2, 0.02), (44100, 2, 0.02), (16000, 1, 0.02), (48000, 1, 0.5)],  # 0.5 s: 15 frames a push
)
def test_stream_of_chunks_gives_offline_frames_as_soon_as_determined(sample_rate, channels, chunk_seconds):
    model = generator("densefilm_causal")
    assert model.model.blocks[3].film.proj.weight.abs().max() > 0.1  # DenseFiLM modulates
    audio = waveform(sample_rate, 6.0, channels)
    chunk = round(chunk_seconds * sample_rate)
    streamed, counts = in_chunks(model.stream(sample_rate), audio, chunk)
    offline = model.generate(audio, sample_rate).values
    assert streamed.shape == offline.shape == (180, 9)
    assert (streamed - offline).abs().max() < 1e-4 * offline.abs().max()
    # Frame t is out once the audio reaches t / fps plus half an analysis window (32 ms), plus the
    # resampler's few samples and the chunk it falls in: never later than 32 ms + a chunk + 1 ms.
    out = torch.tensor(counts).cumsum(0)  # frames out after each push
    heard = (torch.arange(1, len(counts) + 1) * chunk).clamp(max=audio.shape[-1]) / sample_rate
    due = ((heard - 0.032 - chunk_seconds - 0.001) * 30).floor().long() + 1  # frames past their limit
    assert (out >= due.clamp(min=0, max=180)).all()
    assert (out <= ((heard - 0.032) * 30).floor().long() + 1).all()  # and none before its audio is in


@pytest.mark.parametrize(
    "overrides",
    [["model.net.modulation=concat"], ["model.net.kernel_size=1"], ["model.net.mixing=[conv,conv]"]],
    ids=["concat", "kernel_1", "two_convs"],
)
def test_other_causal_networks_stream_their_offline_frames(overrides):
    model = generator("densefilm_causal", *overrides)
    audio = waveform(48000, 3.0, 2)
    streamed, _ = in_chunks(model.stream(48000), audio, 960)
    offline = model.generate(audio, 48000).values
    assert streamed.shape == offline.shape == (90, 9)
    assert (streamed - offline).abs().max() < 1e-4 * offline.abs().max()


def test_a_push_runs_torch_on_one_thread_and_gives_the_threads_back(monkeypatch):
    stream = generator("densefilm_causal").stream(16000)
    seen, step = [], stream.model.step
    monkeypatch.setattr(
        stream.model, "step", lambda *args: seen.append(torch.get_num_threads()) or step(*args)
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        frames = [stream.push(torch.zeros(8000)).shape[0] for _ in range(2)] + [stream.finish().shape[0]]
        assert frames == [15, 15, 0] and seen == [1, 1] and torch.get_num_threads() == 2
        with pytest.raises(ValueError, match="chunk has 2 channels"):  # given back after an error too
            stream.push(torch.zeros(2, 320))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


def state_sizes(stream) -> list[int]:
    """The lengths of everything a MotionStream keeps: the featurizer's input and signal tails, and
    each convolution's last inputs."""
    pasts = [past.shape[0] for block in [*stream.state.encoder, *stream.state.blocks] for past in block]
    return [stream.features.samples.shape[0], stream.features.signal.shape[0], *pasts]


def test_stream_keeps_each_layers_reach_and_no_more_however_long_it_runs():
    model = generator("densefilm_causal")
    stream, audio, chunk = model.stream(48000), waveform(48000, 12.0, 2), 960
    for start in range(0, 48000 * 2, chunk):
        stream.push(audio[:, start : start + chunk])
    after_2s = state_sizes(stream)
    for start in range(48000 * 2, audio.shape[-1], chunk):
        stream.push(audio[:, start : start + chunk])
    # kernel 3: each convolution keeps 2 x its dilation frames, the encoder's 1, 2, 4, the blocks' 1..16
    assert state_sizes(stream)[2:] == after_2s[2:] == [2 * d for d in (1, 2, 4, 1, 2, 4, 8, 16, 1, 2, 4)]
    # the featurizer keeps the input its resampler reads around a block (19 samples either side, at
    # 48 kHz) and the 16 kHz signal of the next frame's analysis window (1,024 samples) that is in
    for input_tail, signal_tail in (state_sizes(stream)[:2], after_2s[:2]):
        assert input_tail <= 3 * 19 and signal_tail <= 1024


def test_streaming_refuses_a_model_that_sees_the_future_and_bad_chunks():
    with pytest.raises(ValueError, match="streaming needs a causal model of convolutions alone"):
        generator("densefilm").stream(16000)
    stream = generator("densefilm_causal").stream(16000)
    assert stream.push(torch.zeros(0)).shape == (0, 9)  # an empty chunk from a live source: no frames
    stream.push(torch.zeros(2, 320))
    with pytest.raises(ValueError, match="chunk has 1 channels, the stream 2"):
        stream.push(torch.zeros(320))
    with pytest.raises(ValueError, match="audio holds NaN or infinite samples"):
        stream.push(torch.full((2, 320), float("nan")))
    with pytest.raises(ValueError, match=r"audio is shorter than one motion frame \(0.0200 s < 1/30 s\)"):
        stream.finish()
