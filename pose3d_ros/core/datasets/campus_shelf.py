"""Campus and Shelf (Belagiannis et al., CVPR 2014) as the multi-person benchmark code
distributes them (formats: docs/datasets.md).

Two layouts of a data set directory are read:
  4D association (Zhang et al., CVPR 2020, release for Shelf):
      calibration.json   per camera K (9), RT (12: [R | t], world -> camera, metres) or R + T,
                         imgSize [w, h], optional distCoeff
      gt.txt             ground truth, Shelf-15 joints, metres, z up
      detection/<cam>.txt  OpenPose bottom-up 2D per frame (bottom_up.py)
  VoxelPose / mvpose (the original ground truth):
      actorsGT.mat       actor3D{actor}{frame}: (14, 3) metres (Campus-14), empty when absent
      calibration_<name>.json  per camera R (3x3), T (camera centre, mm), fx, fy, cx, cy,
                         k (3), p (2); 2D comes from files given apart (detection_files.py)
The world is z up in both.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..calibration import _natural_key
from ..camera import Rig
from ..layouts import CAMPUS14, SHELF15
from ..multiperson_metrics import MultiPersonScore
from .bottom_up import read_bottom_up_file
from .records import (
    GroundTruth,
    MultiViewSequence,
    camera,
    detections_from_arrays,
    field,
    file_error,
    floats,
    read_json,
    read_numbers,
    stack_people,
)

# Frames the standard protocol evaluates (actorsGT numbering), and the image sizes.
EVALUATION_FRAMES = {"shelf": np.arange(300, 601),
                     "campus": np.concatenate([np.arange(350, 471), np.arange(650, 751)])}
IMAGE_SIZES = {"shelf": (1032, 776), "campus": (360, 288)}
FPS = 25.0
# How the scorer derives a prediction's head ends (multiperson_metrics.PRED_HEADS). Shelf:
# VoxelPose's Shelf conversion (nose and ears blended); scored with it, the 4D-association
# release's own output (its skel.txt) gives PCP 96.1 over actors 0-2, the figure issue #14
# quotes for that system "on the same 2D with the same scorer" (nose alone: 95.2). Campus:
# the nose-based rule, unchanged and unchecked (no Campus data here to tell which rule a
# published figure used; VoxelPose's Campus code uses the ears: `--head ears`).
HEAD_RULES = {"shelf": "nose_ears", "campus": "nose"}
# The actors whose mean PCP papers report for Campus and Shelf (Shelf's fourth actor is seldom
# in view).
PUBLISHED_ACTORS = (0, 1, 2)


def published_pcp(score: MultiPersonScore) -> float | None:
    """Mean PCP over PUBLISHED_ACTORS (the figure papers give), None unless all of them were
    scored."""
    chosen = np.isin(score.actor_ids, PUBLISHED_ACTORS)
    values = score.pcp_per_actor[chosen]
    if chosen.sum() != len(PUBLISHED_ACTORS) or not np.isfinite(values).all():
        return None
    return float(values.mean())


def load_4da_calibration(path: Path | str) -> Rig:
    """calibration.json of the 4D-association release -> Rig (frame "world", metres)."""
    doc = read_json(path)
    if not isinstance(doc, dict) or not doc:
        raise file_error(path, "expected an object of cameras {name: {K, RT, imgSize}}")
    cameras = []
    for name in sorted(doc, key=_natural_key):
        entry = doc[name]
        where = f"camera {name!r}"
        K = floats(field(entry, "K", path, where), (3, 3), f"{where} K", path)
        if isinstance(entry, dict) and "RT" in entry:
            rt = floats(entry["RT"], (3, 4), f"{where} RT", path)
            R, t = rt[:, :3], rt[:, 3]
        else:
            R = floats(field(entry, "R", path, where), (-1,), f"{where} R", path)
            if R.size == 3:                       # Rodrigues vector
                import cv2
                R = cv2.Rodrigues(R)[0]
            R = floats(R, (3, 3), f"{where} R", path)
            t = floats(field(entry, "T", path, where), (3,), f"{where} T", path)
        size = floats(field(entry, "imgSize", path, where), (2,), f"{where} imgSize", path)
        dist = floats(entry.get("distCoeff", []), (-1,), f"{where} distCoeff", path)
        cameras.append(camera(str(name), size[0], size[1], K, dist, R, t, path))
    return Rig("world", cameras)


def load_4da_ground_truth(path: Path | str) -> GroundTruth:
    """gt.txt of the 4D-association release -> GroundTruth in Shelf-15 (metres, z up).

    File: header `joints frames`; per frame the number of people, then per person its id
    and a 4 x joints matrix (rows x, y, z, valid).
    """
    tokens = read_numbers(path)
    if tokens.size < 2 or int(tokens[0]) != SHELF15.num_joints:
        raise file_error(path, f"expected {SHELF15.num_joints} joints in the header, got "
                         f"{tokens[:1].tolist()}")
    n_joints, n_frames, at = SHELF15.num_joints, int(tokens[1]), 2
    frames: list[dict[int, np.ndarray]] = []
    twice: tuple[int, int] | None = None          # (frame, actor) given twice
    try:
        for _ in range(n_frames):
            people, count, at = {}, int(tokens[at]), at + 1
            for _ in range(count):
                actor = int(tokens[at])
                block = tokens[at + 1:at + 1 + 4 * n_joints].reshape(4, n_joints)
                at += 1 + 4 * n_joints
                if actor in people and twice is None:   # (a review: the second overwrote
                    twice = (len(frames), actor)        # the first without a word)
                people[actor] = np.where(block[3][:, None] > 0, block[:3].T, np.nan)
            frames.append(people)
    except (IndexError, ValueError):
        raise file_error(path, f"truncated or malformed at frame {len(frames)} of "
                         f"{n_frames}") from None
    if twice is not None:
        raise file_error(path, f"frame {twice[0]}: actor {twice[1]} is given twice")
    if at != tokens.size:
        raise file_error(path, f"{tokens.size - at} values left after {n_frames} frames")
    points, ids = stack_people(frames, n_joints)
    return GroundTruth(points, ids, SHELF15)


def load_voxelpose_calibration(path: Path | str, image_size: tuple[int, int]) -> Rig:
    """calibration_shelf.json / calibration_campus.json (VoxelPose's conversion of the
    original files) -> Rig in metres. x_cam = R (X - T), T in millimetres; distortion k1 k2
    k3 radial and p1 p2 tangential (OpenCV's model). The file has no image size: give it."""
    doc = read_json(path)
    if not isinstance(doc, dict) or not doc:
        raise file_error(path, "expected an object of cameras {id: {R, T, fx, fy, cx, cy, k, "
                         "p}}")
    cameras = []
    for name in sorted(doc, key=_natural_key):
        entry, where = doc[name], f"camera {name!r}"
        R = floats(field(entry, "R", path, where), (3, 3), f"{where} R", path)
        centre = floats(field(entry, "T", path, where), (3,), f"{where} T", path) / 1000.0
        fx, fy, cx, cy = (floats(field(entry, key, path, where), (1,), f"{where} {key}",
                                 path)[0] for key in ("fx", "fy", "cx", "cy"))
        k = floats(field(entry, "k", path, where), (3,), f"{where} k", path)
        p = floats(field(entry, "p", path, where), (2,), f"{where} p", path)
        K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        dist = np.array([k[0], k[1], p[0], p[1], k[2]])
        cameras.append(camera(str(name), image_size[0], image_size[1], K, dist, R,
                              -R @ centre, path))
    return Rig("world", cameras)


def load_actors_gt(path: Path | str, frames: np.ndarray | None = None) -> GroundTruth:
    """actorsGT.mat -> GroundTruth in Campus-14 (metres, z up) for `frames` (all if None)."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    path = Path(path)
    if not path.is_file():
        raise file_error(path, "file not found")
    try:
        actors = loadmat(str(path))["actor3D"]
    except NotImplementedError:    # scipy reads MATLAB files up to v7 (a review: traceback)
        raise file_error(path, "a MATLAB v7.3 (HDF5) file, which scipy cannot read: save "
                         "it again in MATLAB with save(..., '-v7')") from None
    except (ValueError, KeyError, OSError, MatReadError) as err:
        raise file_error(path, f"not an actorsGT file with 'actor3D' ({err})") from None
    actors = np.asarray(actors, dtype=object).reshape(-1)
    if not actors.size:          # (a review: "min() arg is an empty sequence")
        raise file_error(path, "its 'actor3D' holds no actor")
    n_total = min(len(np.asarray(a, dtype=object).reshape(-1)) for a in actors)
    frames = np.arange(n_total) if frames is None else np.asarray(frames)
    if frames.size and (frames.min() < 0 or frames.max() >= n_total):
        raise file_error(path, f"has {n_total} frames; frames {frames.min()}..{frames.max()} "
                         "were asked for")
    points = np.full((frames.size, len(actors), CAMPUS14.num_joints, 3), np.nan)
    for a, per_frame in enumerate(actors):
        per_frame = np.asarray(per_frame, dtype=object).reshape(-1)
        for row, f in enumerate(frames):
            joints = np.asarray(per_frame[f], dtype=np.float64)
            if joints.size == 0:
                continue
            points[row, a] = floats(joints, (CAMPUS14.num_joints, 3),
                                    f"actor {a} frame {f}", path, finite=False)
    if np.isinf(points).any():
        raise file_error(path, "contains inf")
    return GroundTruth(points, np.arange(len(actors)), CAMPUS14)


def load_campus_shelf(directory: Path | str, name: str = "shelf", min_joints: int = 3,
                      frames: np.ndarray | None = None) -> MultiViewSequence:
    """A Campus or Shelf directory in either layout (module docstring). In the VoxelPose
    layout the sequence has no 2D (detections are empty dicts): add files in OpenPose or COCO
    format with detection_files.attach_detections(). frames: frames to evaluate (default:
    the protocol's, EVALUATION_FRAMES, in actorsGT numbering; all of the 4D-association
    release, numbered from 0).
    min_joints: fewest joints of a person grouped from bottom-up 2D."""
    directory = Path(directory)
    name = name.lower()
    if name not in EVALUATION_FRAMES:
        raise ValueError(f"unknown data set {name!r}; known: {sorted(EVALUATION_FRAMES)}")
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory")
    if (directory / "calibration.json").is_file():
        rig = load_4da_calibration(directory / "calibration.json")
        truth = load_4da_ground_truth(directory / "gt.txt")
        # 2D of a camera the calibration lacks: scored on the others without a word, beside
        # published figures of all of them (found by a review)
        named = {cam.name for cam in rig}
        extra = sorted(f.name for f in (directory / "detection").glob("*.txt")
                       if f.stem not in named)
        if extra:
            raise file_error(directory / "calibration.json",
                             f"no camera for the 2D files {extra} (it has {sorted(named)}): "
                             "a camera missing from the calibration, or files of another "
                             "data set")
        per_camera = {}
        for cam in rig:
            layout, people = read_bottom_up_file(directory / "detection" / f"{cam.name}.txt",
                                                 (cam.width, cam.height), min_joints)
            if len(people) != truth.num_frames:
                raise file_error(directory / "detection" / f"{cam.name}.txt",
                                 f"{len(people)} frames, the ground truth has "
                                 f"{truth.num_frames}")
            per_camera[cam.name] = [detections_from_arrays(p[..., :2], p[..., 2], layout,
                                                           (cam.width, cam.height))
                                    for p in people]
        detections = tuple({c: per_camera[c][f] for c in per_camera}
                           for f in range(truth.num_frames))
        sequence = MultiViewSequence(name, rig, np.arange(truth.num_frames), detections,
                                     replace(truth, head_rule=HEAD_RULES[name]), FPS)
        return sequence if frames is None else sequence.select(frames)
    calibration = directory / f"calibration_{name}.json"
    if not calibration.is_file():
        raise ValueError(f"{directory}: neither calibration.json (4D-association layout) nor "
                         f"{calibration.name} (VoxelPose layout) found")
    rig = load_voxelpose_calibration(calibration, IMAGE_SIZES[name])
    frames = EVALUATION_FRAMES[name] if frames is None else np.asarray(frames, np.int64)
    truth = replace(load_actors_gt(directory / "actorsGT.mat", frames),
                    head_rule=HEAD_RULES[name])
    return MultiViewSequence(name, rig, frames, tuple({} for _ in frames), truth, FPS)
