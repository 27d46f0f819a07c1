"""What TensorBoard shows after a two-epoch run, and scripts/plot_run.py's pictures of it."""

import pytest
from browser import Opened
from conftest import run_script, tiny_run
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

pytestmark = pytest.mark.slow  # trains with train.py and runs scripts/plot_run.py

SCALARS = [
    "train/loss", "train/recon", "train/velocity", "train/grad_norm",
    "val/loss", "val/recon", "val/velocity", "val/nmse", "val/nmse_mean_pose",
]  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return tiny_run(
        tmp_path_factory.mktemp("tb"),
        "trainer.max_epochs=2",
        "callbacks.validation_media.every_n_validations=1",
    )


def test_every_tag_is_there_after_two_epochs(run_dir):
    files = sorted((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    scalars, images, audio, hparams = set(), {}, {}, set()
    for path in files:
        events = EventAccumulator(str(path), size_guidance={"scalars": 0, "images": 0, "audio": 0})
        events.Reload()
        scalars |= set(events.Tags()["scalars"])
        for tag in events.Tags()["images"]:
            images.setdefault(tag, []).extend(e.step for e in events.Images(tag))
        for tag in events.Tags()["audio"]:
            audio.setdefault(tag, []).extend(events.Audio(tag))
        for event in EventFileLoader(str(path)).Load():
            hparams |= {v.tag for v in event.summary.value if v.metadata.plugin_data.plugin_name == "hparams"}
    assert set(SCALARS) <= scalars
    assert any("lr" in tag for tag in scalars)
    assert {"final/nmse", "final/nmse_mean_pose"} <= scalars  # the metrics beside the hparams
    assert hparams == {"_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"}
    # the first validation and then every one (every_n_validations=1): two steps, the same for each
    assert len(images["val/channels"]) == 2 and images["val/motion"] == images["val/channels"]
    clip = audio["val/audio"]
    assert len(clip) == 2 and clip[0].sample_rate == 16000
    assert clip[0].length_frames == 16000 * 6  # the tiny set's 6 s clips: all of the first val clip


def test_each_logged_validation_writes_a_page_that_tensorboard_names(run_dir, browser_context):
    pages = sorted((run_dir / "tensorboard" / "viewer").glob("val_step*.html"))
    assert len(pages) == 2  # as many as val/motion's steps
    texts = []
    for path in sorted((run_dir / "tensorboard").glob("events.out.tfevents.*")):
        events = EventAccumulator(str(path), size_guidance={"tensors": 0})
        events.Reload()
        if "val/viewer/text_summary" in events.Tags()["tensors"]:  # add_text's tag
            texts += [
                event.tensor_proto.string_val[0].decode()
                for event in events.Tensors("val/viewer/text_summary")
            ]
    assert texts == [f"Open in a browser: `{page.resolve()}`" for page in pages]
    opened = Opened(browser_context, pages[-1], "#t=2")
    assert opened.value("viewer.panels.map(p => p.label)") == ["predicted", "truth"]
    assert opened.sound_seconds() == pytest.approx(6.0, abs=1 / 16000)  # the clip's 6 s
    assert all(len(drawn["values"]) > 0 for drawn in opened.drawn(2 * 30))
    assert opened.errors == []


def test_a_run_shorter_than_the_logging_interval_still_logs_train_loss_and_learning_rate(tmp_path):
    """4 clips, 2 epochs of one step each (a 2-epoch run of an AIST++-sized debug set) against
    trainer.log_every_n_steps=50: every epoch still writes its step scalars."""
    run = tiny_run(
        tmp_path,
        "data.generator.num_clips=5",  # 4 train, 1 val
        "data.val_fraction=0.2",
        "data.batch_size=64",
        "trainer.max_epochs=2",
        "trainer.log_every_n_steps=50",
    )
    steps = {}
    for path in (run / "tensorboard").glob("events.out.tfevents.*"):
        events = EventAccumulator(str(path), size_guidance={"scalars": 0})
        events.Reload()
        for tag in events.Tags()["scalars"]:
            steps.setdefault(tag, []).extend(e.step for e in events.Scalars(tag))
    assert len(steps["train/loss"]) == 2, steps  # one a step, one step an epoch
    assert len(steps["lr-AdamW/decay"]) == 2 and len(steps["lr-AdamW/no_decay"]) == 2
    assert len(steps["train/grad_norm"]) == 2
    assert len(steps["val/nmse"]) == 3  # two epochs, then the best checkpoint validated again


def test_plot_run_writes_the_curves_and_the_last_drawn_clip(run_dir, tmp_path):
    result = run_script("scripts/plot_run.py", str(run_dir), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clip_channels.png",
        "clip_motion.png",
        "curves.png",
    ]
    assert Image.open(tmp_path / "curves.png").size == (800, 1200)  # five panels of 2.4 inches at 100 dpi
    width, height = Image.open(tmp_path / "clip_motion.png").size
    assert (width, height) == (8 * 160, 2 * 160)  # 8 frames, predicted over true


def test_plot_run_refuses_a_folder_without_a_run(tmp_path):
    result = run_script("scripts/plot_run.py", str(tmp_path))
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"error: {tmp_path}: no TensorBoard event files with scalars (was logger=none?)"
    )
