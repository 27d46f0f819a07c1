"""scripts/evaluate.py generated=DIR: motion files some system wrote, scored under either protocol against
the reference pool (every motion of AIST++'s motions/ less the ignore list), with bad folders refused."""

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_script
from hydra import compose, initialize_config_dir
from test_datasets import write_aistpp

from audio2motion.cli.evaluate import score
from audio2motion.data.aistpp import AistppReader
from audio2motion.data.folder import Pair
from audio2motion.errors import InputError
from audio2motion.metrics import diversity, fid, geometric_features, kinetic_features
from audio2motion.motion.rotations import axis_angle_to_matrix
from audio2motion.motion.skeleton import SMPL, forward_kinematics

NAMES = [
    f"g{g}_sBM_cAll_d0{i}_m{g}{i}_ch0{i}" for i, g in enumerate(["BR", "PO", "LO", "HO", "WA", "KR", "JS"])
]
UNLISTED, IGNORED = "gJB_sBM_cAll_d07_mJB7_ch07", "gMH_sBM_cAll_d08_mMH8_ch08"
SPLITS = {"train": NAMES[:3], "val": NAMES[3:5], "test": NAMES[5:]}
CONF = Path(__file__).resolve().parents[1] / "conf"


@pytest.fixture(scope="module")
def aist(tmp_path_factory):
    """AIST++ of 9 motions: 3 train, 2 val, 2 test, one in no split, one on the ignore list."""
    root = write_aistpp(tmp_path_factory.mktemp("scoring") / "aist", names=[*NAMES, UNLISTED, IGNORED])
    (root / "splits").mkdir()
    for split, names in SPLITS.items():
        (root / "splits" / f"crossmodal_{split}.txt").write_text("\n".join(names) + "\n")
    (root / "ignore_list.txt").write_text(IGNORED + "\n")
    return root


def positions_60fps(path) -> np.ndarray:
    """SMPL joint positions `[T, 24, 3]` of an AIST++ motion file, as Bailando's extract_aist_features.py
    makes them: forward kinematics of the poses at the translation / scaling."""
    with open(path, "rb") as handle:
        data = pickle.load(handle)
    rotations = axis_angle_to_matrix(torch.from_numpy(data["smpl_poses"]).reshape(-1, 24, 3))
    translation = torch.from_numpy(data["smpl_trans"] / data["smpl_scaling"])
    return forward_kinematics(rotations, translation, SMPL).numpy()


def features(positions: np.ndarray, quirk: bool, frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bailando's calc_and_save_feats: the first `frames` (all by default), relative to the first root."""
    relative = positions[:frames] - positions[0, 0]
    return kinetic_features(relative, expenditure_quirk=quirk), geometric_features(relative)


def arguments(root, folder, *overrides) -> list[str]:
    return [f"generated={folder}", "data=aistpp", f"data.root={root}", "progress=false", *overrides]


def score_in_process(root, folder, *overrides) -> dict:
    """report.json's content from evaluate.py's settings, without starting a process."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return score(compose("evaluate", overrides=arguments(root, folder, *overrides)))


def score_script(root, folder, run_dir, *overrides):
    return run_script("scripts/evaluate.py", *arguments(root, folder, *overrides), f"hydra.run.dir={run_dir}")


def flat(metrics: dict) -> dict:
    """A source's measures with diversity's two parts as keys of their own, for pytest.approx."""
    return {k: v for k, v in metrics.items() if k != "diversity"} | {
        f"diversity_{part}": value for part, value in metrics["diversity"].items()
    }


def report_of(result, run_dir) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((run_dir / "report.json").read_text())


@pytest.mark.parametrize("protocol", ["published", "corrected"])
def test_the_ground_truth_as_pkl_files_scores_as_the_protocol_computes_by_hand(aist, tmp_path, protocol):
    folder = tmp_path / "generated"
    folder.mkdir()
    first, second = SPLITS["test"]
    (folder / f"{first}.pkl").symlink_to(aist / "motions" / f"{first}.pkl")
    with open(aist / "motions" / f"{second}.pkl", "rb") as handle:
        data = pickle.load(handle)
    with open(folder / f"{second}.pkl", "wb") as handle:  # as EDGE writes it: metres, no smpl_scaling
        pickle.dump({"smpl_poses": data["smpl_poses"], "smpl_trans": data["smpl_trans"] / 93.5}, handle)
    run = tmp_path / "eval"
    if protocol == "published":  # the default, through the script
        report = report_of(score_script(aist, folder, run, "generated_fps=60"), run)
        assert "Protocol `published`" in (run / "report.md").read_text()
    else:
        report = score_in_process(aist, folder, "generated_fps=60", f"protocol={protocol}")
    settings = report["settings"]
    assert settings["protocol"] == protocol and settings["fps"] == 60 and settings["ckpt"] is None
    assert settings["reference_pool"].startswith("8 motions, every motion of")  # not the ignored one
    generated, truth = report["metrics"]["generated"], report["metrics"]["ground_truth"]
    assert flat(generated) == pytest.approx(flat(truth)) and generated["nmse"] == 0  # the files are the truth
    # by hand: the pool is all 8 motions at 60 fps, both sets normalised by its statistics
    quirk = protocol == "published"
    pool = [features(positions_60fps(aist / "motions" / f"{n}.pkl"), quirk) for n in [*NAMES, UNLISTED]]
    mine = [features(positions_60fps(aist / "motions" / f"{n}.pkl"), quirk) for n in SPLITS["test"]]
    for i, key in enumerate(["kinetic", "geometric"]):
        real, scored = np.stack([f[i] for f in pool]), np.stack([f[i] for f in mine])
        assert generated[f"fid_{key[0]}"] == pytest.approx(fid(scored, real), rel=1e-4, abs=1e-6)
        assert generated["diversity"][key] == pytest.approx(diversity(scored, real), rel=1e-4)


def test_the_quirk_moves_fid_k_and_leaves_fid_g(aist, tmp_path):
    folder = tmp_path / "generated"
    folder.mkdir()
    for name in SPLITS["test"]:
        np.save(folder / f"{name}.npy", positions_60fps(aist / "motions" / f"{name}.pkl"))
    cache = tmp_path / "cache"
    reports = {
        protocol: score_in_process(
            aist, folder, "generated_fps=60", f"protocol={protocol}", f"data.cache_dir={cache}"
        )
        for protocol in ("published", "corrected")
    }
    # each protocol's pool features are kept apart in data.cache_dir, and read back as computed
    assert len(list(cache.glob("pool-*.npz"))) == 2
    again = score_in_process(aist, folder, "generated_fps=60", f"data.cache_dir={cache}")
    assert flat(again["metrics"]["generated"]) == flat(reports["published"]["metrics"]["generated"])
    assert again["settings"]["reference_pool"] == reports["published"]["settings"]["reference_pool"]
    published, corrected = (reports[p]["metrics"]["generated"] for p in ("published", "corrected"))
    assert published["fid_g"] == pytest.approx(corrected["fid_g"])
    assert abs(published["fid_k"] - corrected["fid_k"]) > 0.05 * corrected["fid_k"]
    # joint positions carry no channels: no NMSE, and the note says why
    assert published["nmse"] is None and "joint positions" in reports["published"]["notes"]["nmse"]
    assert published["jerk"] == pytest.approx(
        reports["published"]["metrics"]["ground_truth"]["jerk"], rel=1e-4
    )


def test_npz_files_as_infer_writes_them_set_the_rate_and_two_splits_score_together(aist, tmp_path):
    reader, folder = AistppReader(), tmp_path / "generated"
    folder.mkdir()
    layout = reader.layout(aist, 60.0, 0)
    for name in SPLITS["test"] + SPLITS["val"]:
        motion = reader.motion(Pair(name, None, aist / "motions" / f"{name}.pkl"), 60.0)
        np.savez(
            folder / f"{name}.npz", motion=motion, fps=np.float32(60), layout=np.str_(json.dumps(layout))
        )
    (folder / f"{NAMES[5]}.bvh").write_text("not read")  # other files are left alone
    report = score_in_process(aist, folder, "split=test+val", "beat_alignment.frames=edge")
    assert report["settings"]["fps"] == 60 and report["settings"]["clips"] == 4  # data.fps was 30
    assert report["settings"]["beat_alignment_frames"] == "edge" and "30 fps" in report["protocol"]
    assert report["metrics"]["generated"]["nmse"] == 0
    assert flat(report["metrics"]["generated"]) == pytest.approx(flat(report["metrics"]["ground_truth"]))


def test_a_folder_that_does_not_match_the_split_is_named_in_one_line(aist, tmp_path):
    folder, run = tmp_path / "generated", tmp_path / "eval"
    folder.mkdir()
    reader = AistppReader()
    renamed = reader.layout(aist, 60.0, 0)
    renamed = renamed | {"channels": ["root.dx", *renamed["channels"][1:]]}  # root steps, not positions
    motion = reader.motion(Pair(NAMES[6], None, aist / "motions" / f"{NAMES[6]}.pkl"), 60.0)
    np.savez(
        folder / f"{NAMES[6]}.npz", motion=motion, fps=np.float32(60), layout=np.str_(json.dumps(renamed))
    )
    np.save(folder / f"{NAMES[5]}.npy", np.zeros((90, 22, 3)))  # SMPL-X's 22 body joints: another layout
    np.save(folder / "solo.npy", np.zeros((90, 24, 3)))  # no clip of that name
    np.save(folder / f"{NAMES[4]}.npy", np.zeros((90, 24, 3)))
    (folder / f"{NAMES[4]}.pkl").symlink_to(aist / "motions" / f"{NAMES[4]}.pkl")  # two for one clip
    result = score_script(aist, folder, run, "generated_fps=60", "split=test+val")
    assert result.returncode == 1 and not (run / "report.json").exists()
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert f"no motion file for the clip {NAMES[3]}" in line
    assert f"{NAMES[4]}.npy and {NAMES[4]}.pkl are two files for one clip" in line
    assert f"{NAMES[5]}.npy: SMPL joint positions must be a numeric [T, 24, 3] array" in line
    assert f"{NAMES[6]}.npz: its channel 0 is root.dx, the data set's is root.x" in line
    assert "solo.npy: no clip solo in the test+val split" in line
    ckpt = tmp_path / "model.ckpt"
    for overrides, message in [
        ([], f"{folder / 'solo.npy'}: a .npy file records no frame rate: give generated_fps="),
        (["generated_fps=30"], f"{NAMES[6]}.npz: records 60 fps, not generated_fps=30"),
        (["generated_fps=fast"], "generated_fps=fast: must be a number of frames per second"),
        (["generated_fps=60", "protocol=paper"], "protocol=paper: must be one of published, corrected"),
        (["generated_fps=60", "split=test+test"], "split=test+test: must be one of train, val, test"),
        (["generated_fps=60", "split=holdout"], "split=holdout: must be one of train, val, test, or several"),
        (["generated_fps=60", "split=1"], "split=1: must be one of train, val, test, or several"),
        (["generated=null"], "ckpt=PATH (a checkpoint to generate with) or generated=DIR"),
        ([f"ckpt={ckpt}"], "ckpt= and generated= both given"),
    ]:
        with pytest.raises(InputError, match=re.escape(message)):
            score_in_process(aist, folder, *overrides)
    for name in ("solo.npy", f"{NAMES[6]}.npz"):
        (folder / name).unlink()
    (folder / f"{NAMES[5]}.npy").write_bytes(b"")
    for overrides, message in [
        (["generated_fps=24"], "motion at 24 fps, but the data set is recorded at 60 fps"),
        (["generated_fps=60"], f"{folder / NAMES[5]}.npy: not a .npy array"),
    ]:
        with pytest.raises(InputError, match=re.escape(message)):
            score_in_process(aist, folder, *overrides)


def test_published_scores_the_first_20_seconds_against_whole_pool_motions(tmp_path):
    # two test clips of 24 s among 3 s ones: the scored set is cut to 1200 frames, the pool is not
    root = write_aistpp(tmp_path / "aist", names=NAMES[:5])
    write_aistpp(root, seconds=24.0, names=NAMES[5:], rng_seed=1)
    (root / "splits").mkdir()
    for split, names in SPLITS.items():
        (root / "splits" / f"crossmodal_{split}.txt").write_text("\n".join(names) + "\n")
    folder = tmp_path / "generated"
    folder.mkdir()
    for name in SPLITS["test"]:
        (folder / f"{name}.pkl").symlink_to(root / "motions" / f"{name}.pkl")
    positions = {name: positions_60fps(root / "motions" / f"{name}.pkl") for name in NAMES}
    for protocol, cut in [("published", 1200), ("corrected", None)]:
        generated = score_in_process(root, folder, "generated_fps=60", f"protocol={protocol}")["metrics"][
            "generated"
        ]
        quirk = protocol == "published"
        pool = [features(positions[name], quirk) for name in NAMES]  # whole
        real = np.stack([k for k, _ in pool])
        for frames in (1200, 1260, None):  # 20 s, 21 s, whole (24 s); the exact frame: test_protocol.py
            mine = np.stack([features(positions[name], quirk, frames)[0] for name in SPLITS["test"]])
            matches = generated["fid_k"] == pytest.approx(fid(mine, real), rel=1e-4)
            assert matches == (frames == cut), (protocol, frames)
