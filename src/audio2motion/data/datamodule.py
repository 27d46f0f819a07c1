"""Lightning data module: folder data set (generated first when synthetic) -> features -> windows."""

import json
import logging
from collections import Counter
from functools import cached_property
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader

from audio2motion.audio_io import load_audio
from audio2motion.data.cache import cache_key, read_cache, write_cache
from audio2motion.data.folder import Clip, FolderReader, load_clip
from audio2motion.data.synthetic import generator_settings, rules_from_config, write_synthetic_dataset
from audio2motion.data.windows import ResidentWindows, WindowDataset, WindowSampler
from audio2motion.errors import InputError
from audio2motion.features import AudioFeaturizer

log = logging.getLogger(__name__)


class MotionDataModule(L.LightningDataModule):
    """Clips at `root` in the layout `reader` reads (the folder format by default; AistppReader,
    Beat2Reader), featurized in memory and cut into windows. Bad files stop `setup` with one line
    naming each, or with `on_error="skip"` are left out with a warning each.

    With `generator` settings, `root` is a synthetic data set made (or remade, when the settings
    changed) by `prepare_data`. After `setup`, `stats` holds the per-channel mean and standard deviation
    of features and motion over the training split, and `layout` describes the motion channels.

    `resident` keeps the training clips on the training device (ResidentWindows): the loader then yields
    window indices and each batch is cut on the device; "auto" does so when training runs on a GPU.
    """

    def __init__(
        self,
        root: str,
        fps: float,
        features: dict,
        window_seconds: float = 4.0,
        stride_seconds: float = 1.0,
        batch_size: int = 32,
        num_workers: int = 0,
        persistent_workers: bool = True,
        pin_memory: bool = False,
        resident: bool | str = "auto",
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_seed: int = 0,
        seed: int = 0,
        max_length_mismatch: int = 2,
        generator: dict | None = None,
        reader=None,
        on_error: str = "raise",
        cache_dir: str | None = None,
    ):
        super().__init__()
        settings = {"fps": fps, "window_seconds": window_seconds, "stride_seconds": stride_seconds}
        for name, value in settings.items():
            if not 0 < value < float("inf"):  # NaN too
                raise InputError(f"data.{name} must be a positive number, got {value}")
        self.root = Path(root)
        self.fps = float(fps)
        self.featurizer = AudioFeaturizer(fps=fps, **features)
        self.window = max(1, round(window_seconds * self.fps))  # frames
        self.stride = max(1, round(stride_seconds * self.fps))
        self.batch_size = batch_size
        self.num_workers, self.pin_memory = num_workers, pin_memory
        if resident not in (True, False, "auto"):
            raise InputError(f"data.resident must be true, false or auto, got {resident!r}")
        self.resident = resident
        self.resident_windows: ResidentWindows | None = None
        self.persistent_workers = persistent_workers and num_workers > 0
        self.val_fraction, self.test_fraction, self.split_seed = val_fraction, test_fraction, split_seed
        self.seed = seed
        self.max_length_mismatch = max_length_mismatch
        self.generator = dict(generator) if generator else None
        self.reader = reader or FolderReader()
        if on_error not in ("raise", "skip"):
            raise InputError(f"data.on_error must be raise or skip, got {on_error!r}")
        self.on_error = on_error
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.clips: dict[str, list[Clip]] | None = None

    def prepare_data(self) -> None:
        if self.generator is None:
            return
        settings = dict(self.generator)
        rules = rules_from_config(settings.pop("rules", {}))
        wanted = generator_settings(fps=self.fps, rules=rules, **settings)
        recorded = self.root / "generator.json"
        if recorded.is_file() and json.loads(recorded.read_text()) == wanted:
            return
        log.info("Generating a synthetic data set in %s", self.root)
        write_synthetic_dataset(self.root, fps=self.fps, rules=rules, **settings)

    def setup(self, stage: str | None = None) -> None:
        if self.clips is not None:
            return
        cached = read_cache(self.cache_folder) if self.cache_folder else None
        if cached:
            self.clips, left_out = cached
            log.info("%s: clips read from the cache %s", self.root, self.cache_folder)
            for problem in left_out:
                log.warning("left out (data.on_error=skip): %s", problem)
        else:
            self.clips, _ = self._read_clips()
        train = self.clips["train"]
        features = torch.cat([clip.features for clip in train])  # [sum T, F]
        motion = torch.cat([clip.motion for clip in train])  # [sum T, D]
        self.stats = {
            "feature_mean": features.mean(0),
            "feature_std": features.std(0),
            "motion_mean": motion.mean(0),
            "motion_std": motion.std(0),
        }
        dim = motion.shape[1]
        self.layout = self.reader.layout(self.root, self.fps, dim)
        log.info(
            "%s: %s clips (train/val/test), %d feature and %d motion channels",
            self.root,
            "/".join(str(len(self.clips[s])) for s in ("train", "val", "test")),
            features.shape[1],
            dim,
        )

    @cached_property
    def cache_folder(self) -> Path | None:
        """`cache_dir/KEY` for this data set and these settings (None without a cache_dir)."""
        if self.cache_dir is None:
            return None
        settings = {
            "root": str(self.root.resolve()),
            "reader": [type(self.reader).__qualname__, self.reader.settings],
            "features": self.featurizer.settings,
            **{k: getattr(self, k) for k in ("fps", "max_length_mismatch", "on_error", "split_seed")},
            **{k: getattr(self, k) for k in ("val_fraction", "test_fraction")},
        }
        return self.cache_dir / cache_key(settings, self.root, self.cache_dir)

    def write_cache(self) -> tuple[Path, int]:
        """Read and featurize every clip, and keep them in `cache_folder`: (the folder, its bytes)."""
        if self.cache_folder is None:
            raise InputError("data.cache_dir is null: there is nowhere to write a cache")
        clips, left_out = self._read_clips()
        return self.cache_folder, write_cache(self.cache_folder, clips, left_out)

    def _read_clips(self) -> tuple[dict[str, list[Clip]], list[str]]:
        """Clips by split from the data files, and the bad files left out (data.on_error=skip)."""
        pairs, problems = self.reader.pairs(self.root)
        if not pairs:
            self.report_problems(problems)
            raise InputError(f"{self.root}: no usable clips")
        splits = self.reader.split(
            self.root, list(pairs), self.split_seed, self.val_fraction, self.test_fraction
        )
        clips = {}
        for name in [name for names in splits.values() for name in names]:
            try:
                motion = self.reader.motion(pairs[name], self.fps)
                clips[name] = load_clip(
                    pairs[name], self.featurizer, self.max_length_mismatch, motion, self.reader.trims_audio
                )
            except InputError as err:
                problems.append(str(err))
        widths = Counter(clip.motion.shape[1] for clip in clips.values())
        if len(widths) > 1:
            usual = widths.most_common(1)[0][0]
            for name in [n for n, clip in clips.items() if clip.motion.shape[1] != usual]:
                problems.append(
                    f"{pairs[name].motion}: {clips.pop(name).motion.shape[1]} motion channels where "
                    f"{widths[usual]} files have {usual}"
                )
        self.report_problems(problems)
        by_split = {split: [clips[n] for n in names if n in clips] for split, names in splits.items()}
        for split in ("train", "val"):
            if not by_split[split]:
                raise InputError(f"{self.root}: no usable clip is left in the {split} split")
        return by_split, problems

    def report_problems(self, problems: list[str]) -> None:
        """Bad files stop training with one line naming each, or with data.on_error=skip are left out
        with a warning each."""
        if not problems:
            return
        if self.on_error == "raise":
            raise InputError(
                f"{self.root}: {len(problems)} bad files (data.on_error=skip leaves them out): "
                + "; ".join(problems)
            )
        for problem in problems:
            log.warning("left out (data.on_error=skip): %s", problem)

    def clip_audio(self, name: str) -> tuple[torch.Tensor, int]:
        """The audio file of clip `name` as read, whole: `[channels, samples]` and its sample rate."""
        return load_audio(self._pairs[name].audio)

    @cached_property
    def _pairs(self) -> dict:
        return self.reader.pairs(self.root)[0]

    @property
    def feature_dim(self) -> int:
        return self.featurizer.dim

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        device = trainer.strategy.root_device if trainer else torch.device("cpu")
        resident = self.resident is True or (self.resident == "auto" and device.type == "cuda")
        dataset = WindowDataset(self.clips["train"], self.window, self.stride, jitter=True, indices=resident)
        replicas, rank = (trainer.world_size, trainer.global_rank) if trainer else (1, 0)
        sampler = WindowSampler(dataset, self.seed, num_replicas=replicas, rank=rank)
        loader = self._loader("train", dataset, sampler)  # refuses an empty split first
        self.resident_windows = ResidentWindows(dataset, device) if resident else None
        return loader

    def on_after_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
        """Resident training windows: the batch of indices cut from the clips on the device."""
        if "clip_index" in batch:
            return self.resident_windows.gather(batch)
        return batch

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", WindowDataset(self.clips["val"], self.window, self.window, jitter=False))

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", WindowDataset(self.clips["test"], self.window, self.window, jitter=False))

    def _loader(self, split: str, dataset: WindowDataset, sampler: WindowSampler | None = None) -> DataLoader:
        if len(dataset) == 0:
            raise InputError(f"{self.root}: the {split} split has no clips")
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            # Its own generator: making an iterator then draws no number from torch's global random state.
            generator=torch.Generator().manual_seed(self.seed),
            drop_last=split == "train" and len(sampler or dataset) > self.batch_size,  # per process
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.persistent_workers,
        )
