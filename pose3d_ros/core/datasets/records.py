"""What the public-format loaders return, and the checks and helpers they share.

Conventions (as everywhere in the core): metres, NaN for a missing joint or an absent person,
cameras as CameraModel / Rig (REP-103 optical frames, x_cam = R @ x_rig + t), 2D people as
Detections2D in raw pixels.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..camera import CameraModel, Rig
from ..layouts import JointLayout
from ..multiperson_metrics import PRED_HEADS
from ..types import Detections2D

Z_UP = (0.0, 0.0, 1.0)


@dataclass(frozen=True)
class GroundTruth:
    """Annotated 3D people of a sequence.

    points: (F, P, J, 3) metres in the rig frame, NaN where actor p is absent in frame f or a
        joint is not annotated. actor_ids: (P,) the data set's actor ids. layout: the J axis.
    up: the rig frame's up direction (the head derivation of the PCP protocol needs it).
    head_rule: how the protocol derives a prediction's head ends from its joints
        (multiperson_metrics.PRED_HEADS: "nose", "ears", "nose_ears").
    """

    points: np.ndarray
    actor_ids: np.ndarray
    layout: JointLayout
    up: tuple[float, float, float] = Z_UP
    head_rule: str = PRED_HEADS[0]

    def __post_init__(self) -> None:
        if self.head_rule not in PRED_HEADS:
            raise ValueError(f"head_rule must be one of {PRED_HEADS}, got {self.head_rule!r}")
        shape = (self.actor_ids.shape[0], self.layout.num_joints, 3)
        if self.points.ndim != 4 or self.points.shape[1:] != shape:
            raise ValueError(f"ground truth must be (F, {shape[0]}, {shape[1]}, 3), got "
                             f"{self.points.shape}")

    @property
    def num_frames(self) -> int:
        return int(self.points.shape[0])


@dataclass(frozen=True)
class MultiViewSequence:
    """A multi-view sequence in the package's records.

    rig: the calibrated cameras (names as the data set calls them). frames: (F,) the data
    set's frame numbers. detections[f]: camera name -> 2D people of that camera at frames[f]
    (a camera without a file for that frame is left out). ground_truth: None when the data
    set has none. fps: frame rate (Hz), for tracking and filtering.
    """

    name: str
    rig: Rig
    frames: np.ndarray
    detections: tuple[dict[str, Detections2D], ...]
    ground_truth: GroundTruth | None
    fps: float

    def __post_init__(self) -> None:
        if len(self.detections) != len(self.frames):
            raise ValueError(f"{len(self.detections)} detection frames for "
                             f"{len(self.frames)} frames")
        if self.ground_truth is not None and self.ground_truth.num_frames != len(self.frames):
            raise ValueError(f"ground truth has {self.ground_truth.num_frames} frames, the "
                             f"sequence {len(self.frames)}")

    def select(self, frames: Sequence[int] | np.ndarray) -> "MultiViewSequence":
        """The sub-sequence of the given frame numbers (ValueError naming those missing)."""
        wanted = np.asarray(frames, np.int64).reshape(-1)
        row = {int(f): k for k, f in enumerate(self.frames)}
        missing = [int(f) for f in wanted if int(f) not in row]
        if missing or not wanted.size:
            raise ValueError(f"sequence {self.name!r} has frames {int(self.frames[0])}.."
                             f"{int(self.frames[-1])}; not {missing[:5] or 'none'}")
        rows = np.array([row[int(f)] for f in wanted])
        truth = self.ground_truth
        if truth is not None:
            truth = replace(truth, points=truth.points[rows])
        return MultiViewSequence(self.name, self.rig, wanted,
                                 tuple(self.detections[k] for k in rows), truth, self.fps)


def file_error(path: Path | str, message: str) -> ValueError:
    """ValueError naming the file and what is wrong with it."""
    return ValueError(f"{path}: {message}")


def read_json(path: Path | str) -> Any:
    """Parsed JSON; ValueError naming the file when it is missing or not JSON. Read as bytes,
    so that UTF-8 with a byte-order mark (Windows tools write one) and UTF-16 / 32 are taken
    as JSON allows (a review: a BOM was refused as not JSON)."""
    path = Path(path)
    if path.is_dir():                       # (a review: "file not found" for a directory)
        raise file_error(path, "a directory, not a JSON file")
    if not path.is_file():
        raise file_error(path, "file not found")
    try:
        return json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise file_error(path, f"not valid JSON ({err})") from None


def read_numbers(path: Path | str) -> np.ndarray:
    """A whitespace-separated text file of numbers (the 4D-association files) as a flat
    float64 array; ValueError naming the file when missing, not numeric, or NaN / inf."""
    path = Path(path)
    if path.is_dir():                       # (a review: "file not found" for a directory)
        raise file_error(path, "a directory, not a JSON file")
    if not path.is_file():
        raise file_error(path, "file not found")
    raw = path.read_bytes()
    # UTF-16 as Windows' "Unicode" saves it, by its byte-order mark (a review: told as
    # "non-numeric values"), as the JSON readers take it
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        raise file_error(path, "not UTF-8 or UTF-16 text") from None
    try:
        numbers = np.array(text.split(), np.float64)
    except ValueError:
        raise file_error(path, "not a file of numbers: non-numeric values") from None
    if not np.isfinite(numbers).all():
        raise file_error(path, "contains NaN or inf")
    return numbers


def floats(values: Any, shape: tuple[int, ...], what: str, path: Path | str,
           finite: bool = True) -> np.ndarray:
    """values as a float64 array of `shape` (one -1 allowed): a flat list read in row order, or
    nested values of that shape (any nesting with -1); ValueError naming file and field for
    another size or shape, non-numbers or (finite=True) NaN/inf."""
    try:
        arr = np.asarray(values, np.float64)
    except (TypeError, ValueError):
        raise file_error(path, f"{what} must be numbers, got {str(values)[:60]}") from None
    # nested values must have the shape itself, give or take dimensions of 1 (a 3 x 1 column
    # for a 3-vector); a transposed 3 x 14 cell of a 14 x 3 one was read scrambled (a
    # review); a flat list is read in row order, as is anything for a shape with -1 (read as
    # a count of rows or a flat vector on purpose, e.g. a rotation as Rodrigues or 3 x 3)
    have = [n for n in arr.shape if n != 1]
    want = [n for n in shape if n != 1]
    if arr.ndim > 1 and -1 not in shape and have != want:
        raise file_error(path, f"{what} has shape {arr.shape}, expected {shape}")
    try:
        arr = arr.reshape(shape)
    except ValueError:
        raise file_error(path, f"{what} has {arr.size} values, expected shape {shape}") from None
    if finite and not np.isfinite(arr).all():
        raise file_error(path, f"{what} contains NaN or inf")
    return arr


def field(doc: Any, key: str, path: Path | str, where: str = "") -> Any:
    """doc[key]; ValueError naming the file and the missing field."""
    if not isinstance(doc, dict) or key not in doc:
        raise file_error(path, f"missing field {key!r}{' in ' + where if where else ''}")
    return doc[key]


def camera(name: str, width: float, height: float, K: np.ndarray, dist: np.ndarray,
           R: np.ndarray, t: np.ndarray, path: Path | str) -> CameraModel:
    """A validated CameraModel (optical frame `<name>_optical_frame`); ValueError naming the
    file and the camera's fault."""
    try:
        return CameraModel(name=name, frame_id=f"{name}_optical_frame", width=int(width),
                           height=int(height), K=K, dist=dist, distortion_model="plumb_bob",
                           R=R, t=t).validate()
    except ValueError as err:
        raise file_error(path, str(err)) from None


def frame_number(name: str) -> int:
    """The frame number in a file name: its last run of digits (OpenPose's
    `<video>_000000000042_keypoints.json` -> 42); ValueError if it has none."""
    runs = re.findall(r"\d+", Path(name).name)
    if not runs:
        raise ValueError(f"{name}: no frame number in the file name")
    return int(runs[-1])


def detections_from_arrays(keypoints: np.ndarray, scores: np.ndarray, layout: JointLayout,
                           image_size: tuple[int, int],
                           person_scores: np.ndarray | None = None) -> Detections2D:
    """Detections2D from (P, J, 2) pixels (NaN = missing) and (P, J) scores; boxes are the
    extent of each person's detected joints, person scores their mean score unless given
    (a NaN among those given: that person's mean score)."""
    keypoints = np.asarray(keypoints, np.float32).reshape(-1, layout.num_joints, 2)
    scores = np.where(np.isfinite(keypoints).all(-1),
                      np.asarray(scores, np.float32).reshape(keypoints.shape[:2]), 0.0)
    keypoints = np.where(scores[..., None] > 0, keypoints, np.nan).astype(np.float32)
    seen = (scores > 0).any(-1)
    keypoints, scores = keypoints[seen], scores[seen].astype(np.float32)
    if not len(keypoints):
        return Detections2D.empty(layout, image_size)
    boxes = np.concatenate([np.nanmin(keypoints, 1), np.nanmax(keypoints, 1)], 1)
    each = scores.sum(1) / np.maximum((scores > 0).sum(1), 1)         # their mean scores
    if person_scores is not None:
        given = np.asarray(person_scores, np.float32).reshape(-1)[seen]
        each = np.where(np.isnan(given), each, given)
    return Detections2D(keypoints, scores, boxes.astype(np.float32),
                        np.asarray(each, np.float32), layout, image_size)


def stack_people(per_frame: Sequence[dict[int, np.ndarray]], num_joints: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Frames of {actor id: (J, 3)} -> (F, P, J, 3) with NaN for absent actors, (P,) ids."""
    ids = np.array(sorted({i for frame in per_frame for i in frame}), np.int64)
    column = {int(i): k for k, i in enumerate(ids)}
    out = np.full((len(per_frame), ids.size, num_joints, 3), np.nan)
    for f, frame in enumerate(per_frame):
        for actor, joints in frame.items():
            out[f, column[actor]] = joints
    return out, ids
