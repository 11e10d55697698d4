"""CMU Panoptic Studio (Joo et al.) as its toolbox distributes a sequence (formats:
docs/datasets.md).

  <seq>/calibration_<seq>.json   {"cameras": [{name, type, resolution [w, h], K (3x3),
                                  distCoef (5, OpenCV order), R (3x3), t (3x1, cm)}]},
                                  x_cam = R X + t
  <seq>/hdPose3d_stage1_coco19/body3DScene_<frame:08d>.json
                                 {"bodies": [{"id", "joints19": [x, y, z, confidence] x 19}]},
                                 centimetres; a joint with confidence <= 0.1 is not annotated
The world is y DOWN (up = -y). Panoptic ships no 2D detections: they come from files in
OpenPose or COCO format (detection_files.py), named by the HD frame number.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..camera import Rig
from ..layouts import PANOPTIC19
from .records import (
    GroundTruth,
    MultiViewSequence,
    camera,
    field,
    file_error,
    floats,
    frame_number,
    read_json,
    stack_people,
)

log = logging.getLogger(__name__)

UP = (0.0, -1.0, 0.0)
FPS = 29.97
MIN_CONFIDENCE = 0.1
GROUND_TRUTH_DIR = "hdPose3d_stage1_coco19"
# The five HD cameras the multi-person literature (VoxelPose and successors) evaluates with.
DEFAULT_CAMERAS = ("00_03", "00_06", "00_12", "00_13", "00_23")


def load_panoptic_calibration(path: Path | str, cameras: Sequence[str] | None = None,
                              camera_type: str = "hd") -> Rig:
    """calibration_<seq>.json -> Rig (frame "world", metres). cameras: names to keep, in that
    order (default: DEFAULT_CAMERAS when all are there, else every camera of camera_type)."""
    doc = read_json(path)
    entries = field(doc, "cameras", path)
    if not isinstance(entries, list):
        raise file_error(path, "'cameras' must be a list")
    by_name = {}
    other_types = {}
    for i, entry in enumerate(entries):
        name = str(field(entry, "name", path, f"camera {i}"))
        if entry.get("type", camera_type) == camera_type:
            by_name[name] = entry
        else:
            other_types[name] = entry.get("type")
    if cameras is None:
        cameras = (DEFAULT_CAMERAS if all(c in by_name for c in DEFAULT_CAMERAS)
                   else sorted(by_name))
    other = [f"{c} ({other_types[c]})" for c in cameras if c in other_types]
    if other:       # a review: taken, their 2D then paired with the HD frames (VGA: 25 fps)
        raise file_error(path, f"cameras {other} are not {camera_type} cameras: the ground "
                         f"truth is numbered by {camera_type} frame; give {camera_type} "
                         "cameras (e.g. 00_03)")
    missing = [c for c in cameras if c not in by_name]
    if missing or not cameras:
        raise file_error(path, f"cameras {missing or '(none)'} not found; it has "
                         f"{sorted(by_name)[:10]}...")
    out = []
    for name in cameras:
        entry, where = by_name[name], f"camera {name!r}"
        size = floats(field(entry, "resolution", path, where), (2,), f"{where} resolution",
                      path)
        K = floats(field(entry, "K", path, where), (3, 3), f"{where} K", path)
        dist = floats(field(entry, "distCoef", path, where), (-1,), f"{where} distCoef", path)
        R = floats(field(entry, "R", path, where), (3, 3), f"{where} R", path)
        t = floats(field(entry, "t", path, where), (3,), f"{where} t", path) / 100.0
        out.append(camera(name, size[0], size[1], K, dist, R, t, path))
    return Rig("world", out)


def load_panoptic_ground_truth(directory: Path | str,
                               frames: Sequence[int] | np.ndarray | None = None,
                               min_confidence: float = MIN_CONFIDENCE
                               ) -> tuple[np.ndarray, GroundTruth]:
    """hdPose3d_stage1_coco19/ -> (frames (F,), GroundTruth in Panoptic-19, metres, up -y).
    frames: HD frame numbers to read (default: every body3DScene file)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory}: ground-truth directory not found")
    files = {frame_number(p.name): p for p in directory.glob("body3DScene_*.json")}
    numbers = np.asarray(sorted(files) if frames is None else frames, np.int64).reshape(-1)
    if not numbers.size:
        raise ValueError(f"{directory}: no body3DScene_*.json files")
    annotated = np.isin(numbers, np.fromiter(files, np.int64, len(files)))
    if frames is not None and not annotated.all():
        # the annotation has gaps (frames nobody was reconstructed in): a range across one
        # failed on the first missing file (found by a review)
        if not annotated.any():
            raise ValueError(f"{directory}: none of the frames {int(numbers[0])}.."
                             f"{int(numbers[-1])} has a body3DScene file")
        log.info("%s: %d of the %d frames asked for have no body3DScene file (gaps in the "
                 "annotation): left out", directory, int((~annotated).sum()), numbers.size)
        numbers = numbers[annotated]
    per_frame = []
    for f in numbers:
        path = files.get(int(f), directory / f"body3DScene_{int(f):08d}.json")
        bodies = field(read_json(path), "bodies", path)
        if not isinstance(bodies, list):       # a review: read as nobody annotated
            raise file_error(path, f"'bodies' must be a list, got {str(bodies)[:40]}")
        people = {}
        for k, body in enumerate(bodies):
            joints = floats(field(body, "joints19", path, f"body {k}"), (19, 4),
                            f"body {k} joints19", path)
            body_id = field(body, "id", path, f"body {k}")
            if isinstance(body_id, bool) or not isinstance(body_id, int):
                raise file_error(path, f"body {k}: id {body_id!r} is not an integer")
            if body_id in people:       # (a review: the later one replaced the earlier)
                raise file_error(path, f"body {k}: id {body_id} is given twice")
            people[body_id] = np.where(joints[:, 3:] > min_confidence, joints[:, :3] / 100.0,
                                       np.nan)
        per_frame.append(people)
    points, ids = stack_people(per_frame, PANOPTIC19.num_joints)
    return numbers, GroundTruth(points, ids, PANOPTIC19, UP)


def load_panoptic(directory: Path | str, cameras: Sequence[str] | None = None,
                  frames: Sequence[int] | np.ndarray | None = None) -> MultiViewSequence:
    """A Panoptic sequence directory -> MultiViewSequence without 2D (empty detections; add
    them with detection_files.attach_detections())."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory")
    calibrations = sorted(directory.glob("calibration_*.json"))
    if len(calibrations) != 1:
        raise ValueError(f"{directory}: expected one calibration_<sequence>.json, found "
                         f"{[p.name for p in calibrations]}")
    rig = load_panoptic_calibration(calibrations[0], cameras)
    numbers, truth = load_panoptic_ground_truth(directory / GROUND_TRUTH_DIR, frames)
    name = calibrations[0].stem[len("calibration_"):]
    return MultiViewSequence(name, rig, numbers, tuple({} for _ in numbers), truth, FPS)
