"""Pictures of runs and motion, for TensorBoard (training/media.py) and scripts/plot_run.py: matplotlib
figures (no pyplot, so no display is needed) and strips of stick figures drawn as videos draw them."""

import numpy as np
from matplotlib.figure import Figure

from audio2motion.render import frames

TRUE, PREDICTED = "#9a9a9a", "#1f4e8c"


def channel_figure(pred: np.ndarray, truth: np.ndarray, layout: dict, channels: int) -> Figure:
    """Predicted against true motion over time `[T, D]`: the `channels` channels that vary most in the
    truth, one panel each."""
    order = np.argsort(-truth.std(axis=0))[:channels]
    seconds = np.arange(len(truth)) / layout["fps"]
    figure = Figure(figsize=(8, 1.4 * len(order)), dpi=100, layout="constrained")
    axes = figure.subplots(len(order), 1, sharex=True, squeeze=False)[:, 0]
    for ax, channel in zip(axes, order, strict=True):
        ax.plot(seconds, truth[:, channel], color=TRUE, linewidth=2, label="true")
        ax.plot(seconds, pred[:, channel], color=PREDICTED, linewidth=1.2, label="predicted")
        ax.set_ylabel(layout["channels"][channel], rotation=0, ha="right", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(loc="upper right", fontsize=7, ncols=2)
    axes[-1].set_xlabel("seconds")
    return figure


def motion_strip(pred: np.ndarray, truth: np.ndarray, layout: dict, count: int, size: int) -> np.ndarray:
    """`count` evenly spaced frames of predicted motion over the same frames of the truth, drawn as the
    videos draw them (a stick figure, or the channels with a cursor): RGB `[2 size, count size, 3]`."""
    picks = np.linspace(0, len(truth) - 1, count).round().astype(int)
    rows = []
    for motion in (pred, truth):
        pictures = list(frames(motion, layout, size))
        rows.append(np.concatenate([np.asarray(pictures[i]) for i in picks], axis=1))
    return np.concatenate(rows, axis=0)


PANELS = {  # panel title: which scalar tags it holds
    "loss": lambda tag: tag in ("train/loss", "val/loss"),
    "loss terms": lambda tag: (
        tag.split("/")[0] in ("train", "val")
        and tag.split("/")[-1] not in ("loss", "grad_norm", "nonfinite_steps", "nmse", "nmse_mean_pose")
    ),
    "validation NMSE (model, mean pose)": lambda tag: tag.startswith("val/nmse"),
    "learning rate": lambda tag: tag.startswith("lr"),
    "gradient norm": lambda tag: tag.endswith("grad_norm"),
}


def run_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """A training run's scalar curves `{tag: (steps, values)}` against the optimiser step, in PANELS
    (those with curves); losses and NMSE on a log scale."""
    panels = {title: [t for t in sorted(curves) if holds(t)] for title, holds in PANELS.items()}
    panels = {title: tags for title, tags in panels.items() if tags}
    figure = Figure(figsize=(8, 2.4 * max(len(panels), 1)), dpi=100, layout="constrained")
    axes = figure.subplots(max(len(panels), 1), 1, squeeze=False)[:, 0]
    for ax, (title, tags) in zip(axes, panels.items(), strict=False):
        for tag in tags:
            steps, values = curves[tag]
            ax.plot(steps, values, marker="." if len(steps) < 30 else None, label=tag)
        if title != "learning rate" and all((curves[tag][1] > 0).all() for tag in tags):
            ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("step")
    return figure
