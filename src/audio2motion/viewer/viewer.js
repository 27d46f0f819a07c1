// audio2motion's motion viewer (audio2motion/viewer/page.py puts it into each page, with the data).
// No library: Canvas 2D draws a few dozen bones. The clock is the <audio> element's when there is sound,
// so picture and sound stay in sync at any speed and after a seek; a wall clock when there is none.
"use strict";

const DATA = JSON.parse(document.getElementById("motion-data").textContent);
const COLOURS = {
  left: "#2b6cb0", right: "#d9480f", centre: "#4a4a4a", contact: "#2f9e44",
  floor: "#e2e2dc", ink: "#1e3c6e", cursor: "#c82828", background: "#ffffff",
};
const FOV = 0.8; // vertical field of view, radians
const NEAR = 0.05; // metres in front of the camera: bones closer are cut there

function bytes(base64) {
  const raw = atob(base64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

// An array as page.py packs it: int16 values, each column `offset + step * value`.
function unpack(packed) {
  const [rows, cols] = packed.shape;
  const q = new Int16Array(bytes(packed.data).buffer);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = packed.offset[c] + packed.step[c] * q[r * cols + c];
  }
  return out;
}

// ---- the clock -------------------------------------------------------------------------------------

function audioClock(audio) {
  return {
    time: () => audio.currentTime,
    playing: () => !audio.paused,
    play: () => audio.play().catch((err) => { document.getElementById("note").textContent = `sound: ${err.message}`; }),
    pause: () => audio.pause(),
    seek: (t) => { audio.currentTime = t; },
    rate: (r) => { audio.playbackRate = r; },
    loop: (on) => { audio.loop = on; },
  };
}

function wallClock(duration) {
  let at = 0, since = 0, speed = 1, looping = false, running = false;
  const now = () => performance.now() / 1000;
  const time = () => {
    if (!running) return at;
    const t = at + (now() - since) * speed;
    if (t < duration) return t;
    if (looping) return t % duration;
    running = false;
    at = duration;
    return at;
  };
  const hold = () => { at = time(); since = now(); };
  return {
    time,
    playing: () => running && time() < duration,
    play: () => { if (at >= duration) at = 0; hold(); running = true; },
    pause: () => { hold(); running = false; },
    seek: (t) => { at = t; since = now(); },
    rate: (r) => { hold(); speed = r; },
    loop: (on) => { hold(); looping = on; },
  };
}

// ---- 3D: an orbiting camera shared by every figure ---------------------------------------------------

const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const unit = (a) => { const n = Math.hypot(...a); return [a[0] / n, a[1] / n, a[2] / n]; };

const camera = { yaw: 0.45, pitch: 0.3, distance: 4, follow: true };

// World -> camera space ([right, up, depth]) and camera space -> pixels, looking at `target`.
function lens(target, width, height) {
  const c = Math.cos(camera.pitch);
  const eye = [
    target[0] + camera.distance * c * Math.sin(camera.yaw),
    target[1] + camera.distance * Math.sin(camera.pitch),
    target[2] + camera.distance * c * Math.cos(camera.yaw),
  ];
  const forward = unit(sub(target, eye));
  const right = unit(cross(forward, [0, 1, 0]));
  const up = cross(right, forward);
  const focal = (0.5 * height) / Math.tan(FOV / 2);
  return {
    focal,
    toCamera: (p) => { const d = sub(p, eye); return [dot(d, right), dot(d, up), dot(d, forward)]; },
    toScreen: (q) => [width / 2 + (focal * q[0]) / q[2], height / 2 - (focal * q[1]) / q[2]],
  };
}

// A segment in camera space cut at the near plane, in pixels (null when wholly behind it).
function clipped(view, a, b) {
  if (a[2] < NEAR && b[2] < NEAR) return null;
  const cut = (p, q) => { const s = (NEAR - p[2]) / (q[2] - p[2]); return p.map((v, i) => v + s * (q[i] - v)); };
  if (a[2] < NEAR) a = cut(a, b);
  if (b[2] < NEAR) b = cut(b, a);
  return [view.toScreen(a), view.toScreen(b)];
}

// The frame shown at time t: media clocks round to about a microsecond, so a time set to a frame's start
// can read back a hair before it.
const frameOf = (t) => Math.floor(t * DATA.fps + 1e-3);

function side(name) {
  if (name.startsWith("left")) return "left";
  if (name.startsWith("right")) return "right";
  return "centre";
}

// ---- panels ----------------------------------------------------------------------------------------

class Panel {
  constructor(track, root) {
    this.track = track;
    this.label = track.label;
    this.frames = track.frames;
    this.drawn = null; // what the last draw showed: its frame, and joints or the cursor (for tests)
    const element = document.createElement("section");
    element.className = "panel";
    element.innerHTML = "<h2></h2><canvas></canvas><div class=hover></div>";
    element.querySelector("h2").textContent = track.label;
    root.appendChild(element);
    this.canvas = element.querySelector("canvas");
    this.hover = element.querySelector(".hover");
    this.context = this.canvas.getContext("2d");
  }

  frameAt(t) { return Math.max(0, Math.min(this.frames - 1, frameOf(t))); }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
    this.canvas.height = Math.max(1, Math.round(this.canvas.clientHeight * ratio));
  }
}

class FigurePanel extends Panel {
  constructor(track, root) {
    super(track, root);
    this.positions = unpack(track.positions); // [T, J x 3]
    this.contacts = track.contacts ? unpack(track.contacts) : null; // [T, feet]
    this.joints = track.joints.length;
    this.sides = track.joints.map(side);
    let low = Infinity, high = -Infinity, x = 0, z = 0;
    for (let t = 0; t < this.frames; t++) {
      for (let j = 0; j < this.joints; j++) {
        const y = this.positions[(t * this.joints + j) * 3 + 1];
        low = Math.min(low, y);
        high = Math.max(high, y);
      }
      x += this.positions[t * this.joints * 3] / this.frames;
      z += this.positions[t * this.joints * 3 + 2] / this.frames;
    }
    this.floor = low; // the lowest any joint goes: the ground
    this.height = Math.max(high - low, 0.5);
    this.centre = [x, low + this.height / 2, z]; // where a still camera looks
    const legend = document.createElement("div");
    legend.className = "legend";
    legend.innerHTML = `<span style="background:${COLOURS.left}"></span>left<span style="background:${COLOURS.right}"></span>right`
      + (this.contacts ? `<span style="background:${COLOURS.contact}"></span>contact` : "");
    this.canvas.parentElement.appendChild(legend);
  }

  joint(t, j) {
    const i = (t * this.joints + j) * 3;
    return [this.positions[i], this.positions[i + 1], this.positions[i + 2]];
  }

  draw(time) {
    const t = this.frameAt(time);
    const { width, height } = this.canvas;
    const g = this.context;
    const points = Array.from({ length: this.joints }, (_, j) => this.joint(t, j));
    const target = camera.follow ? [points[0][0], this.centre[1], points[0][2]] : this.centre;
    const view = lens(target, width, height);
    g.fillStyle = COLOURS.background;
    g.fillRect(0, 0, width, height);
    this.drawFloor(g, view, target);
    const inCamera = points.map(view.toCamera);
    const bones = [];
    this.track.parents.forEach((parent, j) => {
      if (parent >= 0) bones.push([parent, j, (inCamera[parent][2] + inCamera[j][2]) / 2]);
    });
    bones.sort((a, b) => b[2] - a[2]); // far first
    const thickness = (d) => Math.max(1.5, (0.025 * view.focal) / Math.max(d, NEAR));
    g.lineCap = "round";
    for (const [parent, j, depth] of bones) {
      const segment = clipped(view, inCamera[parent], inCamera[j]);
      if (!segment) continue;
      g.strokeStyle = COLOURS[this.sides[j]];
      g.lineWidth = thickness(depth);
      g.beginPath();
      g.moveTo(...segment[0]);
      g.lineTo(...segment[1]);
      g.stroke();
    }
    const touching = new Set();
    if (this.contacts) {
      const feet = this.track.feet.length;
      this.track.feet.forEach((j, f) => { if (this.contacts[t * feet + f] >= 0.5) touching.add(j); });
    }
    const screen = inCamera.map((q) => (q[2] < NEAR ? null : view.toScreen(q))); // null: behind the camera
    inCamera.forEach((q, j) => {
      if (!screen[j]) return;
      const [x, y] = screen[j];
      const r = thickness(q[2]) * (touching.has(j) ? 1.6 : 0.8);
      g.fillStyle = touching.has(j) ? COLOURS.contact : COLOURS[this.sides[j]];
      g.beginPath();
      g.arc(x, y, r, 0, 2 * Math.PI);
      g.fill();
    });
    this.drawn = { frame: t, joints: points, screen, touching: [...touching].sort((a, b) => a - b) };
  }

  drawFloor(g, view, target) {
    const step = 0.5, reach = 5;
    const x0 = Math.round(target[0] / step) * step, z0 = Math.round(target[2] / step) * step;
    g.strokeStyle = COLOURS.floor;
    g.lineWidth = 1;
    g.beginPath();
    for (let k = -reach; k <= reach; k += step) {
      for (const [a, b] of [
        [[x0 + k, this.floor, z0 - reach], [x0 + k, this.floor, z0 + reach]],
        [[x0 - reach, this.floor, z0 + k], [x0 + reach, this.floor, z0 + k]],
      ]) {
        const segment = clipped(view, view.toCamera(a), view.toCamera(b));
        if (!segment) continue;
        g.moveTo(...segment[0]);
        g.lineTo(...segment[1]);
      }
    }
    g.stroke();
  }
}

class ChannelPanel extends Panel {
  constructor(track, root) {
    super(track, root);
    this.canvas.className = "channels";
    this.values = unpack(track.values); // [T, C]
    this.names = track.channels;
    this.curves = null; // the curves drawn once per size, the cursor over them each frame
    this.canvas.addEventListener("mousemove", (event) => this.showName(event));
    this.canvas.addEventListener("mouseleave", () => { this.hover.style.display = "none"; });
  }

  resize() {
    super.resize();
    const { width, height } = this.canvas;
    const count = this.names.length, rows = height / count;
    this.curves = document.createElement("canvas");
    this.curves.width = width;
    this.curves.height = height;
    const g = this.curves.getContext("2d");
    g.fillStyle = COLOURS.background;
    g.fillRect(0, 0, width, height);
    g.strokeStyle = COLOURS.ink;
    g.lineWidth = Math.max(1, window.devicePixelRatio || 1);
    for (let c = 0; c < count; c++) {
      let low = Infinity, high = -Infinity;
      for (let t = 0; t < this.frames; t++) {
        low = Math.min(low, this.values[t * count + c]);
        high = Math.max(high, this.values[t * count + c]);
      }
      const span = Math.max(high - low, 1e-6);
      g.beginPath();
      for (let t = 0; t < this.frames; t++) {
        const x = this.x(t, width);
        const y = (c + 0.9 - (0.8 * (this.values[t * count + c] - low)) / span) * rows;
        if (t === 0) g.moveTo(x, y); else g.lineTo(x, y);
      }
      g.stroke();
    }
  }

  x(t, width) { return (t / Math.max(this.frames - 1, 1)) * (width - 1); }

  draw(time) {
    const t = this.frameAt(time);
    const { width, height } = this.canvas;
    const g = this.context;
    g.drawImage(this.curves, 0, 0);
    const x = this.x(t, width);
    g.strokeStyle = COLOURS.cursor;
    g.lineWidth = 2 * (window.devicePixelRatio || 1);
    g.beginPath();
    g.moveTo(x, 0);
    g.lineTo(x, height);
    g.stroke();
    const count = this.names.length;
    this.drawn = { frame: t, cursor: x, values: Array.from(this.values.subarray(t * count, (t + 1) * count)) };
  }

  showName(event) {
    const box = this.canvas.getBoundingClientRect();
    const c = Math.floor(((event.clientY - box.top) / box.height) * this.names.length);
    if (c < 0 || c >= this.names.length) return;
    const t = Math.round(((event.clientX - box.left) / box.width) * (this.frames - 1));
    const value = this.values[Math.max(0, Math.min(this.frames - 1, t)) * this.names.length + c];
    this.hover.textContent = `${this.names[c]}: ${value.toFixed(3)}`;
    this.hover.style.display = "block";
    this.hover.style.left = `${event.clientX - box.left + 12}px`;
    this.hover.style.top = `${event.clientY - box.top + this.canvas.offsetTop}px`;
  }
}

// ---- the page --------------------------------------------------------------------------------------

const root = document.getElementById("panels");
const panels = DATA.tracks.map((track) => (track.kind === "figure" ? new FigurePanel(track, root) : new ChannelPanel(track, root)));
const figures = panels.filter((p) => p instanceof FigurePanel);
if (figures.length) camera.distance = Math.max(2, 1.0 + 1.3 * figures[0].height); // the body fills most of the height
document.getElementById("note").textContent = DATA.note || "";

let audio = null; // null too when the browser cannot play it
if (DATA.audio) {
  audio = new Audio(URL.createObjectURL(new Blob([bytes(DATA.audio.data)], { type: DATA.audio.type })));
  audio.preload = "auto";
}
let clock = audio ? audioClock(audio) : wallClock(DATA.duration);
const play = document.getElementById("play"), scrub = document.getElementById("scrub");
const readout = document.getElementById("clock"), follow = document.getElementById("follow");
scrub.max = DATA.duration;
follow.hidden = figures.length === 0;

function stamp(t) {
  const hundredths = Math.round(t * 100); // rounded once, so 59.996 s shows as 1:00.00
  return `${Math.floor(hundredths / 6000)}:${((hundredths % 6000) / 100).toFixed(2).padStart(5, "0")}`;
}
let dirty = true, shown = -1;

function seek(t) {
  clock.seek(Math.max(0, Math.min(DATA.duration, t)));
  dirty = true;
}

function atHash() {
  const match = /(?:^#|&)t=(\d+(?:\.\d*)?|\.\d+)(?:&|$)/.exec(location.hash);
  if (!match) return; // no time, or not a number: the page opens where it is
  clock.pause();
  seek(parseFloat(match[1]));
}

function toggle() {
  if (clock.playing()) {
    clock.pause();
    history.replaceState(null, "", `#t=${clock.time().toFixed(2)}`); // a link to this moment
  } else {
    clock.play();
  }
  dirty = true;
}

function resize() {
  panels.forEach((p) => p.resize());
  dirty = true;
}

function frame() {
  const t = clock.time();
  if (dirty || t !== shown) {
    panels.forEach((p) => p.draw(t));
    if (document.activeElement !== scrub) scrub.value = t;
    readout.textContent = `${stamp(t)} / ${stamp(DATA.duration)}`;
    play.innerHTML = clock.playing() ? "&#10074;&#10074;" : "&#9654;";
    shown = t;
    dirty = false;
    window.viewer.ready = true; // drawn at least once
  }
  requestAnimationFrame(frame);
}

play.addEventListener("click", toggle);
scrub.addEventListener("input", () => seek(parseFloat(scrub.value)));
scrub.addEventListener("change", () => scrub.blur());
document.getElementById("speed").addEventListener("change", (e) => {
  clock.rate(parseFloat(e.target.value));
  e.target.blur(); // the space bar plays again
});
document.getElementById("loop").addEventListener("change", (e) => clock.loop(e.target.checked));
follow.addEventListener("click", () => {
  camera.follow = !camera.follow;
  follow.setAttribute("aria-pressed", String(camera.follow));
  dirty = true;
});
document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "SELECT") return;
  if (event.code === "Space") {
    event.preventDefault(); // not a click on the focused button as well
    toggle();
  } else if (event.code === "ArrowLeft" || event.code === "ArrowRight") {
    event.preventDefault(); // not the scrub bar's own step as well
    clock.pause();
    seek((frameOf(clock.time()) + (event.code === "ArrowLeft" ? -1 : 1)) / DATA.fps); // a frame's start
  }
});
window.addEventListener("hashchange", atHash);
window.addEventListener("resize", resize);

for (const figure of figures) {
  const canvas = figure.canvas;
  let last = null;
  canvas.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    last = [e.clientX, e.clientY];
    canvas.setPointerCapture(e.pointerId);
  });
  for (const end of ["pointerup", "pointercancel", "lostpointercapture"]) canvas.addEventListener(end, () => { last = null; });
  canvas.addEventListener("pointermove", (e) => {
    if (!last) return;
    camera.yaw -= (e.clientX - last[0]) * 0.01;
    camera.pitch = Math.max(0.02, Math.min(1.5, camera.pitch + (e.clientY - last[1]) * 0.01));
    last = [e.clientX, e.clientY];
    dirty = true;
  });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const pixels = e.deltaY * (e.deltaMode === 1 ? 33 : 1); // some wheels scroll by lines
    camera.distance = Math.max(0.5, Math.min(50, camera.distance * Math.exp(pixels * 0.001)));
    dirty = true;
  }, { passive: false });
}

// What tests and scripts read: the clock, and each panel's last drawing.
window.viewer = {
  ready: false, fps: DATA.fps, duration: DATA.duration, panels, camera, audio, seek, toggle,
  time: () => clock.time(),
  playing: () => clock.playing(),
};

let started = false;
function start() {
  if (started) return;
  started = true;
  resize();
  atHash();
  requestAnimationFrame(frame);
}
if (audio) {
  audio.addEventListener("loadedmetadata", start, { once: true });
  audio.addEventListener("error", () => { // the motion plays on, on a clock of its own
    document.getElementById("note").textContent = "This browser cannot play the sound (Ogg Vorbis): motion only.";
    clock = wallClock(DATA.duration);
    audio = null;
    start();
  }, { once: true });
  setTimeout(start, 2000); // a browser that loads no metadata before play still draws
} else {
  start();
}
