import numpy as np
import pytest
import soundfile
import torch
from conftest import write_audio
from torch.utils.data import default_collate

from audio2motion.data.datamodule import MotionDataModule
from audio2motion.data.folder import Clip, find_pairs, load_clip, split_names
from audio2motion.data.synthetic import write_synthetic_dataset
from audio2motion.data.windows import ResidentWindows, WindowDataset, WindowSampler
from audio2motion.errors import InputError
from audio2motion.features import AudioFeaturizer

FEATURES = {"n_mels": 16}


def make_pair(root, name, seconds=2.0, sample_rate=16000, fps=30, extra_frames=0, dim=5, ext="wav", **kwargs):
    write_audio(root / f"{name}.{ext}", sample_rate, seconds, **kwargs)
    frames = int(round(seconds * sample_rate) * fps // sample_rate) + extra_frames
    np.save(root / f"{name}.npy", np.random.default_rng(0).standard_normal((frames, dim)).astype(np.float32))


@pytest.mark.parametrize("count", [3, 4, 5, 10, 64])
def test_seeded_split_keeps_val_and_test_non_empty(tmp_path, count):
    names = [f"c{i}" for i in range(count)]
    splits = split_names(tmp_path, names, seed=0, val_fraction=0.1, test_fraction=0.1)
    assert all(splits[s] for s in ("train", "val", "test"))
    assert sorted(sum(splits.values(), [])) == sorted(names)
    assert splits == split_names(tmp_path, list(reversed(names)), seed=0, val_fraction=0.1, test_fraction=0.1)
    assert splits != split_names(tmp_path, names, seed=1, val_fraction=0.1, test_fraction=0.1) or count == 3


def test_split_of_two_clips_and_of_one(tmp_path):
    splits = split_names(tmp_path, ["a", "b"], 0, 0.1, 0.1)
    assert (len(splits["train"]), len(splits["val"]), len(splits["test"])) == (1, 1, 0)
    with pytest.raises(InputError, match="needs 2 or more"):
        split_names(tmp_path, ["a"], 0, 0.1, 0.1)


def test_split_fractions_are_checked(tmp_path):
    names = [f"c{i}" for i in range(5)]
    splits = split_names(tmp_path, names, 0, 0.0, 0.9)
    assert [len(splits[s]) for s in ("train", "val", "test")] == [1, 1, 3]
    splits = split_names(tmp_path, names, 0, 0.2, 0.0)
    assert [len(splits[s]) for s in ("train", "val", "test")] == [4, 1, 0]
    for fractions in [(0.5, 0.5), (-0.1, 0.1), (0.2, 1.0)]:
        with pytest.raises(InputError, match="must be at least 0 and add up to less than 1"):
            split_names(tmp_path, names, 0, *fractions)


def test_split_files_decide_the_split(tmp_path):
    (tmp_path / "train.txt").write_text("a\nnew song\n\n")
    (tmp_path / "val.txt").write_text("c  \n")
    names = ["a", "new song", "c", "d"]
    assert split_names(tmp_path, names, 0, 0.1, 0.1) == {"train": ["a", "new song"], "val": ["c"], "test": []}
    (tmp_path / "test.txt").write_text("a\n")
    with pytest.raises(InputError, match=r"test\.txt: lists 'a', which train\.txt lists too"):
        split_names(tmp_path, names, 0, 0.1, 0.1)
    (tmp_path / "test.txt").write_text("zzz\n")
    with pytest.raises(InputError, match=r"test\.txt: lists 'zzz'"):
        split_names(tmp_path, names, 0, 0.1, 0.1)
    (tmp_path / "test.txt").unlink()
    (tmp_path / "val.txt").write_text("")
    with pytest.raises(InputError, match=r"val\.txt: the val split is empty"):
        split_names(tmp_path, names, 0, 0.1, 0.1)


@pytest.mark.parametrize(
    ("ext", "kwargs"),
    [
        ("wav", {}),
        ("flac", {}),
        ("ogg", {"subtype": "VORBIS"}),
        ("mp3", {"format": "MP3", "subtype": "MPEG_LAYER_III"}),
    ],
)
def test_every_audio_format_pairs_with_its_motion(tmp_path, ext, kwargs):
    make_pair(tmp_path, "song", seconds=2.0, sample_rate=44100, ext=ext, channels=2, **kwargs)
    (tmp_path / "notes.txt").write_text("not audio")
    (tmp_path / "lonely.wav").write_bytes((tmp_path / f"song.{ext}").read_bytes())
    pairs = find_pairs(tmp_path)
    assert list(pairs) == ["song"]
    clip = load_clip(pairs["song"], AudioFeaturizer(fps=30, **FEATURES), max_length_mismatch=2)
    # MP3 encoders add padding, so the decoded length may be a little longer than written.
    assert 59 <= clip.features.shape[0] == clip.motion.shape[0] <= 60


def test_lengths_within_tolerance_are_trimmed_and_beyond_it_refused(tmp_path):
    featurizer = AudioFeaturizer(fps=30, **FEATURES)
    make_pair(tmp_path, "long", extra_frames=2)
    make_pair(tmp_path, "short", extra_frames=-2)
    make_pair(tmp_path, "off", extra_frames=5)
    pairs = find_pairs(tmp_path)
    assert load_clip(pairs["long"], featurizer, 2).motion.shape[0] == 60
    assert load_clip(pairs["short"], featurizer, 2).features.shape[0] == 58
    with pytest.raises(InputError, match=r"off\.npy: 65 frames but its audio gives 60"):
        load_clip(pairs["off"], featurizer, 2)


def test_bad_motion_and_roots_are_named(tmp_path):
    featurizer = AudioFeaturizer(fps=30, **FEATURES)
    with pytest.raises(InputError, match="data root is not a folder"):
        find_pairs(tmp_path / "missing")
    with pytest.raises(InputError, match="no pairs of audio"):
        find_pairs(tmp_path)
    make_pair(tmp_path, "nan")
    bad = np.load(tmp_path / "nan.npy")
    bad[3, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(InputError, match=r"nan\.npy: motion holds NaN"):
        load_clip(find_pairs(tmp_path)["nan"], featurizer, 2)
    np.save(tmp_path / "nan.npy", np.zeros(60, dtype=np.float32))
    with pytest.raises(InputError, match=r"nan\.npy: motion must be a \[T, D\] array"):
        load_clip(find_pairs(tmp_path)["nan"], featurizer, 2)
    for content in ("hello", ""):
        (tmp_path / "nan.npy").write_text(content)
        with pytest.raises(InputError, match=r"nan\.npy: not a readable \.npy"):
            load_clip(find_pairs(tmp_path)["nan"], featurizer, 2)


def test_windows_cover_clips_and_pad_short_ones():
    clip = Clip("long", torch.randn(100, 3), torch.arange(100.0)[:, None].repeat(1, 2))
    short = Clip("short", torch.randn(20, 3), torch.randn(20, 2))
    fixed = WindowDataset([clip, short], window=40, stride=40, jitter=False)
    assert [s for _, s in fixed.index] == [0, 40, 60, 0]
    item = fixed[3]
    assert item["features"].shape == (40, 3) and item["mask"].sum() == 20 and not item["mask"][20:].any()
    assert item["clip"] == "short"


def test_resident_windows_cut_on_the_device_equal_the_datasets_own():
    clips = [
        Clip("long", torch.randn(100, 3), torch.randn(100, 2)),
        Clip("short", torch.randn(20, 3), torch.randn(20, 2)),
        Clip("exact", torch.randn(40, 3), torch.randn(40, 2)),
    ]
    for jitter in (False, True):
        frames = WindowDataset(clips, window=40, stride=30, jitter=jitter)
        indices = WindowDataset(clips, window=40, stride=30, jitter=jitter, indices=True)
        items = [(i, 7) if jitter else i for i in range(len(frames))]  # jitter: each moved 7 frames on
        resident = ResidentWindows(indices, torch.device("cpu"))
        cut = resident.gather(default_collate([indices[item] for item in items]))
        expected = default_collate([frames[item] for item in items])
        assert cut.keys() == expected.keys() and cut["clip"] == expected["clip"]
        for key in ("features", "motion", "mask"):
            assert torch.equal(cut[key], expected[key]), (jitter, key)
        assert (~cut["mask"]).sum() == 20  # the short clip's window, padded with zeros
    assert resident.features.shape == (160, 3) and resident.offsets.tolist() == [0, 100, 120]


def test_sampler_jitters_windows_from_seed_and_epoch_alone():
    clip = Clip("long", torch.randn(100, 3), torch.arange(100.0)[:, None].repeat(1, 2))
    jittered = WindowDataset([clip], window=40, stride=10, jitter=True)
    sampler = WindowSampler(jittered, seed=7)

    def epoch(number):
        sampler.set_epoch(number)
        torch.manual_seed(number)  # global random state must not matter
        return [(item, int(jittered[item]["motion"][0, 0])) for item in sampler]

    starts = {start for number in range(20) for _, start in epoch(number)}
    assert min(starts) == 0 and max(starts) == 60 and len(starts) > 30
    assert epoch(3) == epoch(3) and epoch(3) != epoch(4)
    assert sorted(i for (i, _), _ in epoch(5)) == list(range(len(jittered)))  # each window once
    halves = [WindowSampler(jittered, seed=7, num_replicas=2, rank=rank) for rank in (0, 1)]
    for half in halves:
        half.set_epoch(5)
    shared = [list(half) for half in halves]  # 7 windows: DistributedSampler pads to 2 x 4
    assert [len(items) for items in shared] == [4, 4]
    assert set(shared[0] + shared[1]) == {item for item, _ in epoch(5)}


def test_datamodule_generates_once_and_normalises_from_train(tmp_path):
    generator = {"num_clips": 5, "duration": 3.0, "sample_rate": 16000, "seed": 3}
    dm = MotionDataModule(
        str(tmp_path / "syn"),
        fps=30,
        features=FEATURES,
        window_seconds=40 / 30,
        stride_seconds=20 / 30,
        batch_size=4,
        generator=generator,
    )
    dm.prepare_data()
    stamp = (tmp_path / "syn" / "clip_000.wav").stat().st_mtime_ns
    dm.prepare_data()
    assert (tmp_path / "syn" / "clip_000.wav").stat().st_mtime_ns == stamp
    dm.setup("fit")
    assert [len(dm.clips[s]) for s in ("train", "val", "test")] == [3, 1, 1]
    train_motion = torch.cat([c.motion for c in dm.clips["train"]])
    torch.testing.assert_close(dm.stats["motion_mean"], train_motion.mean(0))
    assert dm.layout["channels"][:2] == ["hips.bob", "torso.height"] and dm.layout["dim"] == 9
    batch = next(iter(dm.train_dataloader()))
    assert batch["features"].shape == (4, 40, 19) and batch["motion"].shape == (4, 40, 9)
    # data.resident=true: the loader gives indices and the hook cuts the same batches from the clips
    assert dm.resident == "auto" and dm.resident_windows is None  # auto: resident on a GPU alone
    dm.resident = True
    indices = list(dm.train_dataloader())
    assert set(indices[0]) == {"clip_index", "start", "frames", "clip"}
    cuts = [dm.on_after_batch_transfer(batch, 0) for batch in indices]
    dm.resident = False
    for cut, plain in zip(cuts, dm.train_dataloader(), strict=True):
        assert all(torch.equal(cut[key], plain[key]) for key in ("features", "motion", "mask"))
        assert cut["clip"] == plain["clip"]
    with pytest.raises(InputError, match="data.resident must be true, false or auto, got 'maybe'"):
        MotionDataModule(str(tmp_path / "syn"), fps=30, features=FEATURES, resident="maybe")
    changed = MotionDataModule(
        str(tmp_path / "syn"), fps=30, features=FEATURES, generator={**generator, "seed": 4}
    )
    changed.prepare_data()
    assert (tmp_path / "syn" / "clip_000.wav").stat().st_mtime_ns != stamp


def test_datamodule_will_not_overwrite_user_data(tmp_path):
    make_pair(tmp_path, "mine")
    generator = {"num_clips": 2, "duration": 1.0, "sample_rate": 16000, "seed": 0}
    with pytest.raises(InputError, match="holds files the generator did not make"):
        MotionDataModule(str(tmp_path), fps=30, features=FEATURES, generator=generator).prepare_data()
    assert (tmp_path / "mine.wav").is_file()


def test_datamodule_refuses_mixed_widths(tmp_path):
    write_synthetic_dataset(tmp_path, num_clips=3, duration=1.0, sample_rate=16000, fps=30, seed=0)
    np.save(tmp_path / "clip_001.npy", np.zeros((30, 4), dtype=np.float32))
    with pytest.raises(InputError, match=r"clip_001\.npy: 4 motion channels where 2 files have 9$"):
        MotionDataModule(str(tmp_path), fps=30, features=FEATURES).setup()


def test_audio_read_errors_name_the_file(tmp_path):
    featurizer = AudioFeaturizer(fps=30, **FEATURES)
    make_pair(tmp_path, "text")
    (tmp_path / "text.wav").write_text("this is not a wav file")
    make_pair(tmp_path, "empty")
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    make_pair(tmp_path, "tiny")
    soundfile.write(tmp_path / "tiny.wav", np.zeros(100, dtype=np.float32), 16000)
    pairs = find_pairs(tmp_path)
    for name, message in [
        ("text", "not readable as audio"),
        ("empty", "zero samples"),
        ("tiny", "shorter than one motion frame"),
    ]:
        with pytest.raises(InputError, match=rf"{name}\.wav: .*{message}"):
            load_clip(pairs[name], featurizer, 2)
