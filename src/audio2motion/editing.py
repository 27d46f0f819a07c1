"""Editing with a diffusion model: which entries of a given motion to keep while the rest is sampled."""

import numpy as np
import torch


def channel_indices(layout: dict, names: list[str]) -> list[int]:
    """Indices of the channels named, each by its full name (`hips.bob`) or by the part before the dot,
    which takes all of that joint or limb (`left_knee` -> its six rotation channels)."""
    channels = layout["channels"]
    indices = []
    for name in names:
        found = [i for i, channel in enumerate(channels) if channel == name or channel.startswith(f"{name}.")]
        if not found:
            raise ValueError(
                f"no channel is named {name!r} or starts with '{name}.' (channels: {channels[:8]} ...)"
            )
        indices += found
    return sorted(set(indices))


def check_motion(given: np.ndarray, layout: dict) -> None:
    """ValueError unless `given` is finite motion `[frames, D]` of the layout's channels."""
    if given.ndim != 2 or given.shape[1] != layout["dim"]:
        raise ValueError(
            f"motion of shape {list(given.shape)}: the model's motion is [frames, {layout['dim']}]"
        )
    if not np.isfinite(given).all():
        raise ValueError("motion holds NaN or infinite values")


def edit_constraints(
    given: np.ndarray,
    frames: int,
    layout: dict,
    prefix_seconds: float = 0.0,
    keyframes: tuple[float, ...] = (),
    channels: tuple[str, ...] = (),
) -> torch.Tensor:
    """Constraints `[frames, D]` for MotionGenerator.motion_from_features: the entries of `given`
    `[G, D]` (the model's units and channels) to keep, NaN elsewhere. Kept: its first `prefix_seconds`,
    its frames at the `keyframes` times (seconds), and the listed `channels` wherever `given` has frames.
    ValueError for a motion of other channels, or a prefix or keyframe beyond it or the audio."""
    check_motion(given, layout)
    dim, fps = layout["dim"], float(layout["fps"])
    usable = min(len(given), frames)
    keep = np.zeros((frames, dim), dtype=bool)
    prefix = round(prefix_seconds * fps)
    if prefix_seconds < 0:
        raise ValueError(f"prefix of {prefix_seconds} s: must be 0 or more")
    if prefix > usable:
        raise ValueError(
            f"prefix of {prefix_seconds} s is {prefix} frames; the motion and audio have {usable}"
        )
    keep[:prefix] = True
    for time in keyframes:
        if not 0 <= time < usable / fps:
            raise ValueError(
                f"keyframe at {time} s: the motion and audio have {usable} frames, {usable / fps:g} s"
            )
        keep[min(round(time * fps), usable - 1)] = True  # the nearest frame
    keep[:usable, channel_indices(layout, list(channels))] = True
    constraints = np.full((frames, dim), np.nan, dtype=np.float32)
    constraints[:usable][keep[:usable]] = given[:usable][keep[:usable]]
    return torch.from_numpy(constraints)  # [frames, D]
