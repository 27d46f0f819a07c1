"""The viewer benchmark: `python benchmarks/viewer.py [overrides]` (see conf/viewer.yaml).

Writes viewer pages of a minute of dancing (SMPL's 24 joints and SMPL-X's 52, with foot contacts) with
stereo music, and of a real BEAT2 take with its speech: their size and the time to write them. Then opens
the 52-joint page, with one and with several motions side by side, in headless Chromium and times how
long drawing a frame takes.
"""

import math
import shutil
import time
from pathlib import Path

import hydra
import numpy as np
import torch
from omegaconf import DictConfig
from suite import run_and_write

from audio2motion.audio_io import load_audio
from audio2motion.data.beat2 import Beat2Reader
from audio2motion.data.folder import Pair
from audio2motion.errors import InputError
from audio2motion.motion.layout import axis_angle_channels, skeleton_layout
from audio2motion.motion.skeleton import SMPL, SMPLX_BODY_HANDS, Skeleton
from audio2motion.viewer import motion_track, write_page

# Headless Chromium off the network (tests/browser.py starts it with these too).
CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def dancing(skeleton: Skeleton, seconds: float, fps: float, seed: int = 0) -> tuple[np.ndarray, dict]:
    """Motion `[T, D]` of `skeleton` with foot contacts: every joint sways at its own pace, the root walks
    along x at 0.3 m/s; the left feet touch the ground in the first half of each second, the right in the
    second."""
    rng = np.random.default_rng(seed)
    layout = skeleton_layout(fps, skeleton, contacts=True)
    t = np.arange(int(seconds * fps))[:, None] / fps
    count = 3 * len(skeleton.joints)
    poses = 0.5 * np.sin(2 * math.pi * rng.uniform(0.2, 1.0, (1, count)) * t + rng.uniform(0, 6, (1, count)))
    root = np.concatenate([0.3 * t, 0.9 + 0 * t, 0.1 * np.sin(t)], axis=1)
    left = (t % 1 < 0.5).astype(np.float32)
    feet = np.concatenate([left if f.startswith("left") else 1 - left for f in skeleton.feet], axis=1)
    return np.concatenate([root, axis_angle_channels(poses), feet], axis=1).astype(np.float32), layout


def drum_music(seconds: float, sample_rate: int, seed: int = 0) -> torch.Tensor:
    """Stereo `[2, S]`: four tones under noise bursts four to a second, like drums (noise is what costs
    a compressed sound its bytes)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tones = sum(
        a * np.sin(2 * math.pi * f * t) for a, f in [(0.3, 220), (0.2, 700), (0.15, 1500), (0.1, 3100)]
    )
    burst = np.exp(-(t % 0.25) / 0.03)
    music = np.stack([tones, np.roll(tones, 100)]) + 0.3 * burst * rng.standard_normal((2, len(t)))
    return torch.from_numpy(np.clip(0.8 * music, -1, 1).astype(np.float32))


def timed_page(path: Path, motions: list[np.ndarray], layout: dict, sound, compression: float) -> dict:
    started = time.perf_counter()
    tracks = [motion_track(f"motion {k}", motion, layout) for k, motion in enumerate(motions)]
    write_page(path, tracks, layout["fps"], path.stem, sound, compression=compression)
    seconds = len(motions[0]) / layout["fps"]
    return {
        "joints": len(layout["skeleton"]["joints"]),
        "motions": len(motions),
        "seconds": seconds,
        "bytes": path.stat().st_size,
        "mb_per_minute": path.stat().st_size / 1e6 * 60 / seconds,
        "write_seconds": time.perf_counter() - started,
    }


def draw_times(pages: dict[str, Path], browser: str, draws: int) -> tuple[dict[str, float], str]:
    """Milliseconds of the drawing calls for one frame of every panel of each page (the mean over `draws`
    frames; the browser composites the canvas to the screen after that), and the browser's version."""
    from playwright.sync_api import sync_playwright  # a test dependency (pip install -e ".[dev]")

    executable = shutil.which(browser)
    if executable is None:
        raise InputError(f"chromium={browser}: no such browser (apt install chromium)")
    times = {}
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = chromium.new_page(viewport={"width": 1280, "height": 720})
        for name, path in pages.items():
            page.goto(path.resolve().as_uri())
            while not page.evaluate("window.viewer && window.viewer.ready"):  # the page's CSP forbids
                page.wait_for_timeout(20)  # Playwright's wait_for_function, which polls with eval
            times[name] = page.evaluate(
                f"""() => {{
                  const start = performance.now();
                  for (let i = 0; i < {draws}; i++) {{
                    const t = i / {draws} * viewer.duration;
                    viewer.panels.forEach(p => p.draw(t));
                  }}
                  return (performance.now() - start) / {draws};
                }}"""
            )
        version = chromium.version
        chromium.close()
    return times, version


def run_benchmark(cfg: DictConfig, run_dir: Path) -> dict:
    music = drum_music(cfg.seconds, cfg.sample_rate)
    pages, sizes = {}, {}
    for skeleton in (SMPL, SMPLX_BODY_HANDS):
        motion, layout = dancing(skeleton, cfg.seconds, cfg.fps)
        for count in cfg.panels:
            name = f"{skeleton.name}_x{count}"
            pages[name] = run_dir / f"{name}.html"
            motions = [motion] + [
                dancing(skeleton, cfg.seconds, cfg.fps, seed)[0] for seed in range(1, count)
            ]
            sizes[name] = timed_page(
                pages[name], motions, layout, (music, cfg.sample_rate), cfg.audio_compression
            )
    if cfg.take is not None:
        take = Path(cfg.take)
        if not take.is_file():
            raise InputError(f"take={take}: no such file (a BEAT2 smplxflame_30 .npz)")
        reader = Beat2Reader()
        motion = reader.motion(Pair(take.stem, None, take), 30.0)
        layout = reader.layout(take.parents[1], 30.0, motion.shape[1])
        speech = load_audio(take.parents[1] / "wave16k" / f"{take.stem}.wav")
        pages["beat2_take"] = run_dir / "beat2_take.html"
        sizes["beat2_take"] = timed_page(pages["beat2_take"], [motion], layout, speech, cfg.audio_compression)
    drawn, version = draw_times(
        {k: v for k, v in pages.items() if k.startswith("smplx")}, cfg.chromium, cfg.draws
    )
    for name, ms in drawn.items():
        sizes[name]["draw_ms"] = ms
    return {"audio_compression": cfg.audio_compression, "browser": f"Chromium {version}", "pages": sizes}


def format_report(report: dict, command: str, hardware: str) -> str:
    lines = [
        "# Viewer pages: size, writing time and drawing time",
        "",
        f"`{command}` on {hardware}, {report['browser']} headless; sound as Ogg Vorbis at compression "
        f"{report['audio_compression']}; drawing: the canvas calls for one frame of every panel.",
        "",
        "| page | joints | motions | seconds | MB | MB per minute | written in | draw a frame |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in report["pages"].items():
        draw = f"{row['draw_ms']:.2f} ms" if "draw_ms" in row else ""
        size = f"{row['bytes'] / 1e6:.2f} | {row['mb_per_minute']:.2f}"
        lines.append(
            f"| {name} | {row['joints']} | {row['motions']} | {row['seconds']:.1f} | {size} | "
            f"{row['write_seconds']:.2f} s | {draw} |"
        )
    return "\n".join(lines) + "\n"


@hydra.main(version_base="1.3", config_path="conf", config_name="viewer")
def main(cfg: DictConfig) -> None:
    run_and_write("viewer.py", lambda run_dir: run_benchmark(cfg, run_dir), format_report)


if __name__ == "__main__":
    main()
