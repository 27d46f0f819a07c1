"""TensorBoard pictures and sound of one validation clip while training runs, to look and listen."""

import logging
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.trainer.states import TrainerFn

from audio2motion.errors import InputError
from audio2motion.plots import channel_figure, motion_strip
from audio2motion.viewer import check_compression, motion_track, write_page

log = logging.getLogger(__name__)


class ValidationMedia(L.Callback):
    """After the first validation of training and then every `every_n_validations`, TensorBoard gets for
    validation clip `clip` (its first `seconds`; one training window for models with attention, which
    inference runs window by window): `val/channels`, a figure of predicted against true channels over
    time; `val/motion`, `frames` frames of the predicted motion over the truth, drawn as the videos draw
    them (a stick figure for skeleton layouts); `val/audio`, the clip's sound, at the same step; and with
    `viewer`, a web page that plays the prediction beside the truth with the sound,
    `LOG_DIR/viewer/val_stepSTEP.html`, its path in the text `val/viewer`."""

    def __init__(
        self,
        every_n_validations: int = 5,
        clip: int = 0,
        seconds: float = 8.0,
        channels: int = 6,
        frames: int = 8,
        frame_size: int = 160,
        viewer: bool = True,
        audio_compression: float = 0.6,
    ):
        if every_n_validations < 1:
            raise ValueError(f"every_n_validations must be at least 1, got {every_n_validations}")
        check_compression(audio_compression, "callbacks.validation_media.audio_compression")
        self.every_n_validations, self.clip, self.seconds = every_n_validations, clip, seconds
        self.validations = 0  # of this process's training, sanity check not counted
        self.sound: tuple[torch.Tensor, int] | None = None  # the clip's audio, read once
        self.channels, self.frames, self.frame_size = channels, frames, frame_size
        self.viewer, self.audio_compression = viewer, audio_compression

    def on_validation_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.state.fn != TrainerFn.FITTING or trainer.sanity_checking or not trainer.is_global_zero:
            return
        self.validations += 1
        if (self.validations - 1) % self.every_n_validations:
            return
        loggers = [logger for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]
        clips = trainer.datamodule.clips["val"]
        if not loggers or not clips:
            return
        clip = clips[min(self.clip, len(clips) - 1)]
        layout = module.hparams.layout
        frames = min(len(clip.motion), max(1, round(self.seconds * layout["fps"])))
        if module.diffusion is not None or module.model.context is None:
            frames = min(frames, module.hparams.window)  # one window, as the model was trained on
        features = clip.features[None, :frames].to(module.device)  # [1, T, F]
        mask = torch.ones(features.shape[:2], dtype=torch.bool, device=module.device)
        with torch.no_grad():
            if module.diffusion is None:
                normalised = module(features, mask)
            else:  # a sample, with the validation seed
                normalised = module.sample(
                    {"features": features, "mask": mask}, module.hparams.objective["val_seed"]
                )
        pred = module.motion_norm.inverse(normalised.float())[0].cpu().numpy()  # [T, D]
        truth = clip.motion[:frames].numpy()
        writer, step = loggers[0].experiment, trainer.global_step
        writer.add_figure("val/channels", channel_figure(pred, truth, layout, self.channels), step)
        strip = motion_strip(pred, truth, layout, self.frames, self.frame_size)
        writer.add_image("val/motion", strip, step, dataformats="HWC")
        if self.sound is None:
            try:  # clips may come from the feature cache, their audio files gone since
                waveform, sample_rate = trainer.datamodule.clip_audio(clip.name)
                mono = waveform.float().mean(0)[: round(frames / layout["fps"] * sample_rate)].clamp(-1, 1)
                self.sound = mono, sample_rate
            except (InputError, KeyError) as err:
                log.warning("val/audio left out: the audio of clip %s cannot be read (%s)", clip.name, err)
        if self.sound is not None:
            writer.add_audio("val/audio", self.sound[0][None], step, sample_rate=self.sound[1])
        if self.viewer:
            page = Path(loggers[0].log_dir) / "viewer" / f"val_step{step:07d}.html"
            sound = None if self.sound is None else (self.sound[0][None], self.sound[1])
            title = f"validation clip {clip.name}, step {step}"
            try:
                tracks = [motion_track("predicted", pred, layout), motion_track("truth", truth, layout)]
                write_page(page, tracks, layout["fps"], title, sound, compression=self.audio_compression)
            except (ValueError, OSError) as err:  # NaN in an early prediction, a full disk: training goes on
                log.warning("val/viewer left out: no page for step %d (%s)", step, err)
                return
            writer.add_text("val/viewer", f"Open in a browser: `{page.resolve()}`", step)
