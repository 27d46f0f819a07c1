"""A real browser for the viewer's tests: Debian's Chromium (`apt install chromium`, as .ci/run does)
driven headless by Playwright, with the flags that keep it off the network."""

import base64
import io
import json
import shutil
import time
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image
from viewer import CHROMIUM_FLAGS  # benchmarks/viewer.py's: the same browser settings

__all__ = ["CHROMIUM_FLAGS", "Opened", "chromium"]

LOCAL = ("file:", "blob:", "data:")  # what a self-contained page may load


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "no chromium: the viewer's tests need Debian's chromium package (apt install chromium)"
    return path


class Opened:
    """A page opened from disk, with what it printed to the console and every address it asked for."""

    def __init__(self, context, path: Path, hash_: str = ""):
        self.page = context.new_page()
        self.errors, self.requests = [], []
        self.page.on(
            "console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None
        )
        self.page.on("pageerror", lambda err: self.errors.append(str(err)))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.goto(path.resolve().as_uri() + hash_)
        self.wait("window.viewer && window.viewer.ready", 20)

    def value(self, expression: str):
        return self.page.evaluate(expression)

    def wait(self, expression: str, seconds: float = 10) -> None:
        """Until `expression` is true in the page. Polled from here: Playwright's wait_for_function polls
        with eval inside the page, which the page's Content-Security-Policy forbids."""
        deadline = time.monotonic() + seconds
        while not self.value(expression):
            assert time.monotonic() < deadline, f"not true after {seconds} s: {expression}"
            self.page.wait_for_timeout(20)

    def drawn(self, frame: int) -> list[dict]:
        """Every panel's last drawing, once each shows `frame`."""
        self.wait(f"viewer.panels.every(p => p.drawn && p.drawn.frame === Math.min({frame}, p.frames - 1))")
        return self.value("viewer.panels.map(p => p.drawn)")

    def go(self, hash_: str) -> None:
        """Another #t= in the address, as a link would open it."""
        self.page.evaluate(f"location.hash = {hash_!r}")

    def picture(self, panel: int = 0) -> np.ndarray:
        """The panel's canvas as the screen shows it, `[H, W, 3]` uint8."""
        shot = self.page.locator("canvas").nth(panel).screenshot()
        return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))

    def outside_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(LOCAL)]

    def sound_seconds(self) -> float:
        """The length of the sound the page embeds, as its file holds it, once the browser has read the
        sound's header. Not the browser's own reading: Chromium 156 counts up to 256 samples more than a
        Vorbis stream holds (16 ms at 16 kHz), and has read a third of a second more on a loaded page."""
        self.wait("viewer.audio.readyState >= 1")  # HAVE_METADATA
        data = json.loads(self.value("document.getElementById('motion-data').textContent"))["audio"]
        held = soundfile.info(io.BytesIO(base64.b64decode(data["data"])))
        return held.frames / held.samplerate
