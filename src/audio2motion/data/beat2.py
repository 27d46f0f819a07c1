"""The BEAT2 layout (data=beat2): `smplxflame_30/NAME.npz` holding `poses` `[T, 165]` (55 SMPL-X joints,
axis-angle), `trans` `[T, 3]`, `betas`, `expressions` `[T, 100]` and `mocap_frame_rate`, speech in
`wave16k/NAME.wav`, and optionally `train_test_split.csv` (`id,type` with type train, val or test).

Motion becomes the root (translation, or with root=velocity its horizontal steps and height) and 6D
rotations of the SMPL-X body (22 joints) or body and hands (52), plus the 100 expression coefficients
when asked, at data.fps (a divisor of the recorded rate).
"""

import csv
from pathlib import Path

import numpy as np

from audio2motion.data.folder import Pair, split_names
from audio2motion.data.skeleton_motion import (
    checked_root,
    frame_step,
    listed_splits,
    require,
    skeleton_motion,
)
from audio2motion.errors import InputError
from audio2motion.motion.layout import skeleton_layout
from audio2motion.motion.skeleton import SMPLX, SMPLX_BODY, SMPLX_BODY_HANDS

SKELETONS = {"body": SMPLX_BODY, "body_hands": SMPLX_BODY_HANDS}
EXPRESSIONS = 100


class Beat2Reader:
    """Pairs, splits, motion and layout of a BEAT2 folder."""

    trims_audio = False

    def __init__(
        self,
        joints: str = "body",
        expressions: bool = False,
        contacts: bool = False,
        contact_speed: float = 0.3,
        root: str = "position",
    ):
        if joints not in SKELETONS:
            raise InputError(f"data.reader.joints must be one of {sorted(SKELETONS)}, got {joints!r}")
        self.skeleton = SKELETONS[joints]
        self.columns = np.array(
            [3 * SMPLX.joints.index(j) + k for j in self.skeleton.joints for k in range(3)]
        )
        self.expressions, self.contacts, self.contact_speed = expressions, contacts, contact_speed
        self.root = checked_root(root)
        self.settings = {
            "root": root,
            "joints": joints,
            "expressions": expressions,
            "contacts": contacts,
            "contact_speed": contact_speed,
        }

    def pairs(self, root: Path) -> tuple[dict[str, Pair], list[str]]:
        motions = root / "smplxflame_30"
        if not motions.is_dir():
            raise InputError(
                f"{root}: no smplxflame_30/ folder "
                "(the BEAT2 layout: smplxflame_30/NAME.npz, wave16k/NAME.wav)"
            )
        pairs, problems = {}, []
        for path in sorted(motions.glob("*.npz")):
            audio = root / "wave16k" / f"{path.stem}.wav"
            if audio.is_file():
                pairs[path.stem] = Pair(path.stem, audio, path)
            else:
                problems.append(f"{path}: motion without audio ({audio} is missing)")
        if not pairs and not problems:
            raise InputError(f"{motions}: no .npz motion files")
        return pairs, problems

    def split(self, root: Path, names: list[str], seed: int, val_fraction: float, test_fraction: float):
        table = root / "train_test_split.csv"
        if not table.is_file():
            return split_names(root, names, seed, val_fraction, test_fraction)
        listed = {}
        with open(table, newline="") as handle:
            rows = csv.DictReader(handle)
            if not {"id", "type"} <= set(rows.fieldnames or ()):
                raise InputError(f"{table}: needs the columns id and type, has {rows.fieldnames}")
            for row in rows:
                listed.setdefault(row["type"], []).append(row["id"])
        return listed_splits(table, listed, names)

    def motion(self, pair: Pair, fps: float) -> np.ndarray:
        path = pair.motion
        try:
            data = dict(np.load(path, allow_pickle=False))
        except (OSError, ValueError, EOFError) as err:
            raise InputError(f"{path}: not a readable .npz archive ({err or 'empty file'})") from err
        poses = require(path, data, "poses", (None, 165))
        trans = require(path, data, "trans", (poses.shape[0], 3))
        rate = float(require(path, data, "mocap_frame_rate", ()))
        step = frame_step(rate, fps, path)
        extra = (
            require(path, data, "expressions", (poses.shape[0], EXPRESSIONS))[::step]
            if self.expressions
            else None
        )
        speed = self.contact_speed if self.contacts else None
        return skeleton_motion(
            path, trans[::step], poses[::step][:, self.columns], self.skeleton, fps, speed, extra, self.root
        )

    def layout(self, root: Path, fps: float, dim: int) -> dict:
        expressions = EXPRESSIONS if self.expressions else 0
        return skeleton_layout(fps, self.skeleton, self.contacts, expressions, self.root)
