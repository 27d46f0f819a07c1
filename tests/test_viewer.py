"""The motion viewer's pages in a real browser (headless Chromium, tests/browser.py): what they draw at a
time, playing, seeking, speed, the camera, curves of channel layouts, size, and no network."""

import base64
import json
import math
import re

import numpy as np
import pytest
import soundfile
import torch
from browser import Opened
from conftest import ROOT, TESTS, infer, run_script, tone_mix
from hydra.core.override_parser.overrides_parser import OverridesParser
from test_datasets import write_beat2
from viewer import dancing, drum_music

from audio2motion import load_model
from audio2motion.cli.view import with_motion_files
from audio2motion.data.beat2 import Beat2Reader
from audio2motion.motion.layout import joint_positions, plain_layout
from audio2motion.motion.skeleton import SMPL, SMPLX_BODY_HANDS
from audio2motion.viewer import motion_track, page_html, write_page

FPS, SECONDS, RATE = 30, 10.0, 48000
TAKE = ROOT.parent / "shared" / "realdata" / "beat2" / "smplxflame_30" / "2_scott_0_1_1.npz"
LEFT, RIGHT, INK, CURSOR = (43, 108, 176), (217, 72, 15), (30, 60, 110), (200, 40, 40)  # viewer.js's


def positions(motion: np.ndarray, layout: dict) -> np.ndarray:
    return joint_positions(torch.from_numpy(motion), layout).numpy()


def coloured(picture: np.ndarray, colour: tuple, tolerance: int = 40) -> int:
    """Pixels within `tolerance` of `colour` in each channel."""
    return int((np.abs(picture.astype(int) - colour) <= tolerance).all(-1).sum())


@pytest.fixture(scope="module")
def figure_page(tmp_path_factory):
    motion, layout = dancing(SMPL, SECONDS, FPS)
    path = tmp_path_factory.mktemp("viewer") / "dance.html"
    sound = torch.from_numpy(tone_mix(RATE, SECONDS, channels=2).T.copy())
    write_page(path, [motion_track("generated", motion, layout)], FPS, "dance", (sound, RATE))
    return path, motion, layout


def test_skeleton_page_opens_from_disk_at_its_time_and_draws_that_frame(figure_page, browser_context):
    path, motion, layout = figure_page
    joints = positions(motion, layout)
    opened = Opened(browser_context, path, "#t=1")
    assert opened.value("viewer.time()") == 1 and not opened.value("viewer.playing()")
    (drawn,) = opened.drawn(30)
    np.testing.assert_allclose(drawn["joints"], joints[30], atol=1e-3)  # metres: packed to int16
    # frame 30 is in the first half of second 1: the left ankle and foot touch (SMPL joints 7 and 10)
    assert drawn["touching"] == [7, 10]
    first = opened.picture()
    opened.go("#t=6.55")
    (drawn,) = opened.drawn(196)
    np.testing.assert_allclose(drawn["joints"], joints[196], atol=1e-3)
    assert drawn["touching"] == [8, 11]  # the right ones, in the second half
    second = opened.picture()
    for picture in (first, second):  # a figure whose sides differ in colour, on a floor
        assert coloured(picture, LEFT) > 100 and coloured(picture, RIGHT) > 100
        assert picture.std() > 5
    assert np.abs(first.astype(int) - second).mean() > 1
    assert opened.errors == [] and opened.outside_requests() == []


def test_play_follows_the_audio_clock_at_any_speed_and_space_pauses(figure_page, browser_context):
    path, motion, layout = figure_page
    opened = Opened(browser_context, path, "#t=2")
    page = opened.page
    page.select_option("#speed", "2")
    page.click("#loop")
    assert opened.value("[viewer.audio.playbackRate, viewer.audio.loop]") == [2, True]
    start = opened.value("[viewer.time(), performance.now()]")
    page.click("#play")
    page.wait_for_timeout(1200)
    page.keyboard.press("Space")
    end = opened.value("[viewer.time(), performance.now()]")
    assert not opened.value("viewer.playing()")
    rate = (end[0] - start[0]) / ((end[1] - start[1]) / 1000)
    assert 1.5 < rate <= 2.05, rate  # the sound's clock, at twice the speed
    page.wait_for_timeout(300)
    assert opened.value("viewer.time()") == end[0]  # paused
    shown = page.inner_text("#clock")
    minutes, seconds = shown.split(" / ")[0].split(":")
    assert float(minutes) * 60 + float(seconds) == pytest.approx(end[0], abs=0.01)
    # the picture is that of the sound's time; and pausing leaves a link to the moment in the address
    (drawn,) = opened.drawn(math.floor(end[0] * FPS + 1e-3))
    np.testing.assert_allclose(drawn["joints"], positions(motion, layout)[drawn["frame"]], atol=1e-3)
    assert page.url.endswith(f"#t={end[0]:.2f}")
    assert opened.errors == []


def test_seeking_the_scrub_bar_moves_the_figure_to_the_frame_of_that_time(figure_page, browser_context):
    path, motion, layout = figure_page
    opened = Opened(browser_context, path)
    opened.value("s = document.getElementById('scrub'); s.value = 4.2; s.dispatchEvent(new Event('input'))")
    assert opened.value("viewer.audio.currentTime") == pytest.approx(4.2)
    (drawn,) = opened.drawn(126)
    np.testing.assert_allclose(drawn["joints"], positions(motion, layout)[126], atol=1e-3)
    opened.page.focus("#scrub")  # an arrow steps one frame, not the scrub bar's own step as well
    opened.page.keyboard.press("ArrowRight")
    assert opened.value("viewer.time()") == pytest.approx(127 / FPS)  # the next frame's start
    (drawn,) = opened.drawn(127)
    np.testing.assert_allclose(drawn["joints"], positions(motion, layout)[127], atol=1e-3)


def test_camera_orbits_zooms_and_follows_the_root_or_stays(figure_page, browser_context):
    path, _, _ = figure_page
    opened = Opened(browser_context, path, "#t=1")
    page, box = opened.page, opened.page.locator("canvas").first.bounding_box()
    camera = opened.value("({...viewer.camera})")
    page.mouse.move(box["x"] + 200, box["y"] + 200)
    page.mouse.down()
    page.mouse.move(box["x"] + 300, box["y"] + 230, steps=5)
    page.mouse.up()
    page.mouse.wheel(0, 400)
    moved = opened.value("({...viewer.camera})")
    assert moved["yaw"] == pytest.approx(camera["yaw"] - 1.0)  # 100 px right
    assert moved["pitch"] == pytest.approx(camera["pitch"] + 0.3)  # 30 px down
    assert moved["distance"] == pytest.approx(camera["distance"] * math.exp(0.4))
    page.mouse.move(box["x"] + 260, box["y"] + 260)  # the button is up: no more orbiting
    assert opened.value("viewer.camera.yaw") == moved["yaw"]
    # The root walks 2.1 m from 1 s to 8 s. Following, it stays in the middle of the picture; with the
    # camera still, it walks across.
    width = opened.value("viewer.panels[0].canvas.width")
    roots = {}
    for follow in (True, False):
        for t, frame in ((1, 30), (8, 240)):
            opened.go(f"#t={t}")
            (drawn,) = opened.drawn(frame)
            roots[follow, t] = drawn["screen"][0][0]
        page.click("#follow")
    assert opened.value("viewer.camera.follow") is True  # clicked twice
    assert roots[True, 1] == pytest.approx(width / 2, abs=0.5) and roots[True, 8] == pytest.approx(
        width / 2, abs=0.5
    )
    assert abs(roots[False, 8] - roots[False, 1]) > 0.1 * width


def test_a_sound_the_browser_cannot_play_leaves_the_motion_playing_on_its_own_clock(
    tmp_path, browser_context
):
    motion, layout = dancing(SMPL, 4.0, FPS)
    sound = torch.from_numpy(tone_mix(RATE, 4.0)[None])
    text = page_html([motion_track("dance", motion, layout)], FPS, "broken sound", (sound, RATE))
    data = json.loads(re.search(r'id="motion-data">(.*?)</script>', text, re.S)[1])
    broken = text.replace(data["audio"]["data"], base64.b64encode(b"not an ogg file" * 100).decode())
    (tmp_path / "broken.html").write_text(broken)
    opened = Opened(browser_context, tmp_path / "broken.html", "#t=..")  # and a time that is no number
    assert opened.value("viewer.time()") == 0
    opened.wait("document.getElementById('note').textContent.includes('cannot play the sound')")
    opened.page.click("#play")
    opened.page.wait_for_timeout(500)
    assert 0.3 < opened.value("viewer.time()") < 2 and opened.value("viewer.playing()")
    assert opened.errors == []


def test_channels_page_draws_every_curve_a_cursor_and_names_on_hover(tmp_path, browser_context):
    t = np.arange(300)[:, None] / FPS
    values = np.sin(2 * math.pi * np.array([[0.2, 0.5, 1.0, 2.0]]) * t).astype(np.float32)
    names = ["bass", "snare", "hat", "voice"]
    path = tmp_path / "channels.html"
    write_page(path, [motion_track("channels", values, plain_layout(FPS, names))], FPS, "curves")
    opened = Opened(browser_context, path, "#t=3")
    (drawn,) = opened.drawn(90)
    picture = opened.picture()
    assert opened.value("document.getElementById('follow').hidden") is True  # no figure, no camera
    rows = np.array_split(picture, 4, axis=0)
    assert all(coloured(row, INK) > 200 for row in rows)  # each channel's curve in its own row
    cursor = np.flatnonzero((np.abs(picture.astype(int) - CURSOR) <= 40).all(-1).sum(0) > 0.8 * len(picture))
    ratio = opened.value("window.devicePixelRatio")
    assert cursor.size and abs(cursor.mean() * ratio - drawn["cursor"]) < 3 * ratio
    assert drawn["cursor"] == pytest.approx(90 / 299 * (opened.value("viewer.panels[0].canvas.width") - 1))
    box = opened.page.locator("canvas").first.bounding_box()
    opened.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.6)
    assert opened.page.inner_text(".hover").startswith("hat: ")
    assert opened.errors == []


def test_a_minute_of_stereo_music_and_a_52_joint_body_fit_in_3_mb():
    motion, layout = dancing(SMPLX_BODY_HANDS, 60.0, FPS)
    sound = drum_music(60.0, RATE)
    page = page_html([motion_track("generated", motion, layout)], FPS, "a minute", (sound, RATE))
    assert 1.0e6 < len(page.encode()) < 3.0e6


@pytest.mark.slow  # benchmarks/viewer.py in a fresh interpreter (its own browser)
@pytest.mark.skipif(not TAKE.is_file(), reason=f"no real capture at {TAKE} (shared/realdata beside it)")
def test_viewer_benchmark_reports_sizes_and_drawing_times(tmp_path):
    result = run_script(
        "benchmarks/viewer.py", f"hydra.run.dir={tmp_path}", "seconds=2", "panels=[1,3]", "draws=20"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    pages = json.loads((tmp_path / "results.json").read_text())["pages"]
    assert list(pages) == ["smpl_x1", "smpl_x3", "smplx_body_hands_x1", "smplx_body_hands_x3", "beat2_take"]
    assert (
        pages["beat2_take"]["seconds"] == pytest.approx(63.5, abs=0.1) and pages["beat2_take"]["joints"] == 22
    )
    for name, row in pages.items():
        assert row["bytes"] == (tmp_path / f"{name}.html").stat().st_size
    assert pages["smpl_x3"]["bytes"] > pages["smpl_x1"]["bytes"]  # two more motions
    assert pages["smplx_body_hands_x1"]["draw_ms"] > 0 and "draw_ms" not in pages["smpl_x1"]
    assert "| beat2_take | 22 | 1 | 63.5 |" in (tmp_path / "results.md").read_text()


def motion_file(path, motion: np.ndarray, layout: dict):
    """An .npz as infer.py writes it."""
    np.savez(
        path, motion=motion, fps=np.float32(layout["fps"]), source=np.str_("x.wav"), layout=json.dumps(layout)
    )
    return path


@pytest.fixture(scope="module")
def two_motions(tmp_path_factory):
    base = tmp_path_factory.mktemp("view")
    (a, layout), (b, _) = dancing(SMPL, SECONDS, FPS, seed=1), dancing(SMPL, SECONDS, FPS, seed=2)
    soundfile.write(base / "music.wav", tone_mix(RATE, SECONDS), RATE)
    return base, motion_file(base / "a.npz", a, layout), motion_file(base / "b.npz", b, layout), layout


@pytest.mark.slow  # scripts/view.py in a fresh interpreter
def test_view_puts_motions_of_one_audio_side_by_side_labelled(two_motions, browser_context):
    base, a, b, layout = two_motions
    out = base / "pages" / "both.html"
    result = run_script("scripts/view.py", str(a), str(b), f"audio={base / 'music.wav'}", f"out={out}")
    assert result.returncode == 0, result.stderr
    assert f"{out}: 2 motions of 10.0 s, with its sound" in result.stdout
    opened = Opened(browser_context, out, "#t=5")
    assert opened.value("viewer.panels.map(p => p.label)") == ["a", "b"]
    assert opened.value("document.title") == "music.wav"
    drawn = opened.drawn(150)
    for shown, path in zip(drawn, (a, b), strict=True):
        np.testing.assert_allclose(
            shown["joints"], positions(np.load(path)["motion"], layout)[150], atol=1e-3
        )
    assert opened.errors == [] and opened.outside_requests() == []


@pytest.mark.slow  # scripts/view.py in a fresh interpreter
def test_view_shows_a_data_set_clip_as_ground_truth_with_its_sound(tmp_path, browser_context):
    root = write_beat2(tmp_path / "beat2", seconds=4.0, count=2)
    reader = Beat2Reader()
    pairs, _ = reader.pairs(root)
    name = sorted(pairs)[0]
    motion = reader.motion(pairs[name], 30)
    out = tmp_path / "truth.html"
    result = run_script("scripts/view.py", "data=beat2", f"data.root={root}", f"clip={name}", f"out={out}")
    assert result.returncode == 0, result.stderr
    opened = Opened(browser_context, out, "#t=2")
    assert opened.value("viewer.panels.map(p => p.label)") == [f"ground truth: {name}"]
    assert opened.sound_seconds() == pytest.approx(4.0, abs=1 / 16000)
    (drawn,) = opened.drawn(60)
    expected = positions(motion, reader.layout(root, 30, motion.shape[1]))[60]
    np.testing.assert_allclose(drawn["joints"], expected, atol=1e-3)


@pytest.mark.slow  # scripts/view.py in a fresh interpreter
@pytest.mark.parametrize("case", ["other layout", "longer than the audio", "no audio file"])
def test_view_refuses_bad_input_with_one_line_and_no_page(two_motions, tmp_path, case):
    base, a, b, layout = two_motions
    audio = base / "music.wav"
    if case == "other layout":
        channels = np.zeros((300, 4), np.float32)
        b = motion_file(tmp_path / "plain.npz", channels, plain_layout(FPS, ["w", "x", "y", "z"]))
        named, problem = b, f"its channel 0 is w, {a}'s is root.x"
    elif case == "longer than the audio":
        audio = tmp_path / "short.wav"
        soundfile.write(audio, tone_mix(RATE, 8.0), RATE)
        named, problem = a, "300 frames at 30 fps (10.00 s), but its audio lasts 8.00 s (240 frames)"
    else:
        audio = tmp_path / "gone.wav"
        named, problem = audio, "no such audio file"
    out = tmp_path / "page.html"
    result = run_script("scripts/view.py", str(a), str(b), f"audio={audio}", f"out={out}")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {named}: ") and problem in line, line
    assert not out.exists() and list(tmp_path.glob("*.html*")) == []


@pytest.mark.slow  # scripts/infer.py in a fresh interpreter
def test_infer_viewer_writes_one_page_of_the_samples_with_their_sound(tmp_path, browser_context):
    soundfile.write(tmp_path / "song.wav", tone_mix(RATE, 6.0, channels=2), RATE)
    ckpt = TESTS / "data" / "diffusion_a78aa55.ckpt"  # a small diffusion model of 9 channels
    result = infer(ckpt, tmp_path / "song.wav", tmp_path / "out", "viewer=true", "num_samples=2", "seed=5")
    assert result.returncode == 0, result.stderr
    page = tmp_path / "out" / "song.html"
    opened = Opened(browser_context, page, "#t=2.5")
    assert opened.value("viewer.panels.map(p => p.label)") == ["sample 0 (seed 5)", "sample 1 (seed 6)"]
    assert opened.sound_seconds() == pytest.approx(6.0, abs=1 / RATE)
    for drawn, k in zip(opened.drawn(75), (0, 1), strict=True):
        motion = np.load(tmp_path / "out" / f"song_{k}.npz")["motion"]
        span = np.ptp(motion, axis=0)
        np.testing.assert_allclose(drawn["values"], motion[75], atol=1e-4 * span.max())
    assert opened.errors == [] and opened.outside_requests() == []


@pytest.mark.slow  # scripts/view.py in a fresh interpreter
def test_view_generates_samples_of_a_checkpoint_as_infer_does(tmp_path, browser_context):
    soundfile.write(tmp_path / "song.wav", tone_mix(RATE, 4.0), RATE)
    ckpt = TESTS / "data" / "diffusion_a78aa55.ckpt"
    generator = load_model(ckpt)
    out = tmp_path / "samples.html"
    result = run_script(
        "scripts/view.py",
        f"audio={tmp_path / 'song.wav'}",
        f"ckpt={ckpt}",
        "num_samples=2",
        "seed=3",
        f"out={out}",
    )
    assert result.returncode == 0, result.stderr
    opened = Opened(browser_context, out, "#t=1")
    assert opened.value("viewer.panels.map(p => p.label)") == [f"{ckpt} (seed 3)", f"{ckpt} (seed 4)"]
    for drawn, seed in zip(opened.drawn(30), (3, 4), strict=True):
        motion = generator.generate_file(tmp_path / "song.wav", seed=seed).values.numpy()
        np.testing.assert_allclose(drawn["values"], motion[30], atol=1e-4 * np.ptp(motion, axis=0).max())


def test_bare_arguments_become_the_motion_files_and_hydra_options_keep_their_values():
    argv = ["view.py", "a.npz", "--cfg", "job", "dir/it's b.npz", "out=x.html", "-cn", "view"]
    assert with_motion_files(argv) == [
        "view.py", "--cfg", "job", "out=x.html", "-cn", "view", "motions=['a.npz','dir/it\\'s b.npz']"
    ]  # fmt: skip
    assert with_motion_files(["view.py", "out=x.html"]) == ["view.py", "out=x.html"]
    overrides = OverridesParser.create().parse_overrides([with_motion_files(argv)[-1]])
    assert overrides[0].value() == ["a.npz", "dir/it's b.npz"]  # as Hydra reads it
