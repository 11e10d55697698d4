"""2D detection files of other detectors: OpenPose JSON and COCO keypoint JSON (formats:
docs/datasets.md), read into Detections2D per camera and frame.

  OpenPose (--write_json): one file per image, `<name>_<frame:012d>_keypoints.json`, with
      {"people": [{"pose_keypoints_2d": [x, y, c] x J}]} (`pose_keypoints` in OpenPose 1.2 and
      earlier); J = 25 (BODY_25) or 18 (COCO-18); an undetected joint is 0, 0, 0. One
      directory per camera.
  COCO keypoints: a results list [{"image_id", "keypoints": [x, y, v] x 17, "score"}] (frame
      = image_id) or a data set {"images": [{"id", "file_name"}], "annotations": [...]}
      (frame = the number in file_name); v = 0 is a missing joint, other values are scores
      clipped to [0, 1] (a labelled flag 1 or 2 counts as 1). One file per camera.
Pixels are raw image coordinates, as the files give them.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..layouts import BODY25, COCO17, COCO18
from ..once import first_time
from ..types import Detections2D
from .records import (
    MultiViewSequence,
    detections_from_arrays,
    file_error,
    floats,
    frame_number,
    read_json,
)

log = logging.getLogger(__name__)

DETECTION_FORMATS = ("openpose", "coco")
_OPENPOSE_LAYOUTS = {BODY25.num_joints: BODY25, COCO18.num_joints: COCO18}


def read_openpose_file(path: Path | str, image_size: tuple[int, int], *,
                       told_as: Path | str | None = None) -> Detections2D:
    """One OpenPose JSON file -> the image's people (BODY_25 or COCO-18 layout); scores
    outside [0, 1] are clipped, told once per `told_as` (default: the file; unit_scores)."""
    doc = read_json(path)
    people = doc.get("people") if isinstance(doc, dict) else None
    if not isinstance(people, list):
        raise file_error(path, "not an OpenPose file: no 'people' list")
    if not people:
        return Detections2D.empty(BODY25, image_size)
    rows = []
    for k, person in enumerate(people):
        values = None
        if isinstance(person, dict):  # OpenPose <= 1.2 wrote 'pose_keypoints'
            values = person.get("pose_keypoints_2d", person.get("pose_keypoints"))
        if values is None:
            raise file_error(path, f"person {k} has no 'pose_keypoints_2d' (nor OpenPose "
                             "1.2's 'pose_keypoints')")
        rows.append(floats(values, (-1, 3), f"person {k} pose_keypoints_2d", path))
    sizes = {r.shape[0] for r in rows}
    if len(sizes) != 1 or next(iter(sizes)) not in _OPENPOSE_LAYOUTS:
        raise file_error(path, f"people have {sorted(sizes)} joints; expected 25 (BODY_25) "
                         "or 18 (COCO-18)")
    layout = _OPENPOSE_LAYOUTS[rows[0].shape[0]]
    data = np.stack(rows)
    return detections_from_arrays(data[..., :2], unit_scores(data[..., 2], told_as or path),
                                  layout, image_size)


def unit_scores(scores: np.ndarray, source: Path | str) -> np.ndarray:
    """scores (any shape) clipped to [0, 1], with one WARNING per source whose scores lie
    outside (a review: a file's scores of 2, e.g. COCO annotations' visibility flags written
    as scores, weighted its joints twice in the triangulation, without a word)."""
    scores = np.asarray(scores, np.float64)
    with np.errstate(invalid="ignore"):
        outside = (scores < 0) | (scores > 1)
    if outside.any() and first_time("scores outside [0, 1]", str(source)):
        log.warning("%s: keypoint scores from %.3g to %.3g, outside [0, 1] (a detector's own "
                    "scale, or visibility flags): taken clipped to [0, 1]", source,
                    float(np.nanmin(scores)), float(np.nanmax(scores)))
    return np.clip(scores, 0.0, 1.0)


def read_openpose_directory(directory: Path | str, image_size: tuple[int, int]
                            ) -> dict[int, Detections2D]:
    """A directory of OpenPose files of one camera -> {frame number: Detections2D}."""
    directory = Path(directory)
    if directory.is_file():                 # (a review: "directory not found" for a file)
        raise ValueError(f"{directory}: a file; OpenPose 2D is one directory of .json files "
                         "per camera (COCO keypoints: one JSON file per camera)")
    if not directory.is_dir():
        raise ValueError(f"{directory}: OpenPose directory not found")
    files = sorted(directory.glob("*.json"))
    if not files:
        raise ValueError(f"{directory}: no OpenPose .json files")
    out: dict[int, Detections2D] = {}
    for path in files:
        try:
            frame = frame_number(path.name)
        except ValueError:          # (a stray params.json was named without its folder)
            raise file_error(path, "no frame number in the file name: an OpenPose directory "
                             "holds <name>_<frame>_keypoints.json files only") from None
        if frame in out:
            raise file_error(path, f"a second file for frame {frame}")
        out[frame] = read_openpose_file(path, image_size, told_as=directory)
    return out


def read_coco_keypoints(path: Path | str, image_size: tuple[int, int]
                        ) -> dict[int, Detections2D]:
    """A COCO keypoint JSON of one camera (results list or data set) -> {frame: people}; a
    data set's image without annotations is a frame with nobody."""
    return _read_coco(path, image_size)[0]


def _read_coco(path: Path | str, image_size: tuple[int, int]
               ) -> tuple[dict[int, Detections2D], bool]:
    """read_coco_keypoints, and whether the file lists every image it covers (a data set:
    a frame not in it has no 2D; a results list names only the images with people)."""
    if Path(path).is_dir():
        raise file_error(path, "a directory; COCO keypoints are one JSON file per camera "
                         "(OpenPose 2D: one directory of .json files per camera)")
    doc = read_json(path)
    frame_of: dict[object, int] | None = None      # image id -> its frame (a data set)
    if isinstance(doc, list):
        annotations = doc
    elif isinstance(doc, dict) and isinstance(doc.get("annotations"), list):
        annotations = doc["annotations"]
        if not isinstance(doc.get("images", []), list):     # (null: a traceback, a review)
            raise file_error(path, f"'images' must be a list, got {str(doc['images'])[:40]}")
        images_frames: dict[object, int] = {}
        frame_of = images_frames
        image_of: dict[int, object] = {}           # frame -> the image id that is it
        for k, image in enumerate(doc.get("images", [])):
            if not isinstance(image, dict) or "id" not in image:
                raise file_error(path, f"image {k} has no 'id'")
            image_id = _whole(image["id"])
            if not isinstance(image_id, (int, str)):        # (a list: a traceback)
                raise file_error(path, f"image {k}: id {image_id!r} is not an integer or "
                                 "a string")
            try:
                frame = (frame_number(str(image["file_name"])) if "file_name" in image
                         else _image_number(image_id, path, f"image {k}"))
            except ValueError as err:
                raise file_error(path, f"image {k}: {err}") from None
            if image_of.setdefault(frame, image_id) != image_id:
                # a data set of several cameras' images (a review: merged into every camera)
                raise file_error(path, f"images {image_of[frame]!r} and {image_id!r} are "
                                 f"both frame {frame} (the last number in their file_name): "
                                 "give one file per camera, its images named by frame number")
            if images_frames.setdefault(image_id, frame) != frame:
                # (a review: two exports merged, ids restarting: one image's people went to
                # the other's frame, and the first frame read as without 2D)
                raise file_error(path, f"image {k}: id {image_id!r} is also the id of frame "
                                 f"{images_frames[image_id]}'s image: each image needs an id "
                                 "of its own")
    else:
        raise file_error(path, "not COCO keypoints: expected a results list or an object "
                         "with 'annotations'")
    people: dict[int, list[tuple[np.ndarray, float]]] = {}
    for k, item in enumerate(annotations):
        if not isinstance(item, dict) or "keypoints" not in item or "image_id" not in item:
            raise file_error(path, f"entry {k} lacks 'image_id' or 'keypoints'")
        points = floats(item["keypoints"], (COCO17.num_joints, 3), f"entry {k} keypoints",
                        path)
        image = _whole(item["image_id"])
        if not isinstance(image, (int, str)):               # (a list: a traceback)
            raise file_error(path, f"entry {k}: image_id {image!r} is not an integer or a "
                             "string")
        if frame_of is not None and image not in frame_of:
            other = _other_spelling(image)
            kind = ("" if other is None or other not in frame_of else
                    f" (the images have {other!r}: the text and the number differ)")
            raise file_error(path, f"entry {k}: image_id {image!r} is not in 'images'{kind}")
        frame = (frame_of[image] if frame_of is not None
                 else _image_number(image, path, f"entry {k}"))
        people.setdefault(frame, []).append((points, _score(item.get("score"), path, k)))
    out = {}
    for frame, found in people.items():
        data = np.stack([p for p, _ in found])
        scores = unit_scores(data[..., 2], path)
        # a person without 'score' gets its joints' mean, only that one (a review found
        # every person of the frame losing the score the file gave)
        out[frame] = detections_from_arrays(data[..., :2], scores, COCO17, image_size,
                                            person_scores=np.array([s for _, s in found]))
    for frame in (frame_of or {}).values():
        out.setdefault(frame, Detections2D.empty(COCO17, image_size))
    return out, frame_of is not None


def _score(value: object, path: Path | str, entry: int) -> float:
    """A COCO result's person score: NaN when absent or null, else a number (ValueError naming
    the file and entry otherwise)."""
    if value is None:
        return float("nan")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise file_error(path, f"entry {entry}: score {value!r} is not a number")
    return float(value)


def _whole(value: object) -> object:
    """A whole-number float id (1.0, as pandas and numpy write ids) as an int; else as is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _other_spelling(image_id: object) -> object:
    """The same id the other way: 1 <-> "1" (None when there is none)."""
    if isinstance(image_id, int) and not isinstance(image_id, bool):
        return str(image_id)
    if isinstance(image_id, str) and image_id.isascii() and image_id.isdigit():
        return int(image_id)
    return None


def _image_number(image_id: object, path: Path | str, where: str) -> int:
    """A COCO image_id that is a frame number (an int, or a string of digits only)."""
    if isinstance(image_id, int) and not isinstance(image_id, bool) and image_id >= 0:
        return image_id
    if isinstance(image_id, str) and image_id.isascii() and image_id.isdigit():
        return int(image_id)
    raise file_error(path, f"{where}: image_id {image_id!r} is not a frame number; give "
                     "numeric image ids, or a data set whose 'images' have file names with "
                     "the frame number in them")


def attach_detections(sequence: MultiViewSequence, fmt: str, paths: Sequence[Path | str],
                      frame_offset: int = 0) -> MultiViewSequence:
    """The sequence with 2D read from `paths`: one per camera of sequence.rig, in its order
    (OpenPose: a directory of per-frame files; COCO: one file). A frame without a file, or
    without people in it, gets no detections for that camera.

    frame_offset: the files' number of the sequence's frame f is f + frame_offset (e.g. 300
    for OpenPose run on Shelf's images img_000300...img_000600 with the 4D-association
    release, which numbers those frames 0..300). ValueError naming the file when a camera's
    files hold none of the sequence's frames. Numberings that overlap but differ cannot be
    told from the frame numbers (files of every image, or sparse files); the 2D's agreement
    with the ground truth tells them (two_d_agreement)."""
    if fmt not in DETECTION_FORMATS:
        raise ValueError(f"unknown detection format {fmt!r}; known: {DETECTION_FORMATS}")
    if len(paths) != len(sequence.rig):
        raise ValueError(f"{len(paths)} detection paths for {len(sequence.rig)} cameras "
                         f"({', '.join(sequence.rig.names)}): give one per camera, in that "
                         "order")
    wanted = sequence.frames.astype(np.int64) + int(frame_offset)
    per_camera: dict[str, dict[int, Detections2D]] = {}
    listed: dict[str, bool] = {}            # whether the files name every frame they cover
    for cam, path in zip(sequence.rig, paths, strict=True):
        if fmt == "openpose":
            per_camera[cam.name] = read_openpose_directory(path, (cam.width, cam.height))
            listed[cam.name] = True
        else:
            per_camera[cam.name], listed[cam.name] = _read_coco(path, (cam.width, cam.height))
    for cam, path in zip(sequence.rig, paths, strict=True):
        _tell_points_off_the_image(per_camera[cam.name], cam, path)
    for (name, found), path in zip(per_camera.items(), paths, strict=True):
        missing = np.array([f for f in wanted.tolist() if f not in found], np.int64)
        if not found:
            # an empty results list: a camera that saw nobody (a review: told as a numbering
            # to fix with --detections-frame-offset)
            log.warning("%s: no people in it at all: scored with nobody detected by camera %s",
                        path, name)
            continue
        if not listed[name]:
            # a results list names only images with people: a frame between two it names may
            # have had nobody, but the frames before its first and after its last were most
            # likely not run (a review: 100 frames scored as misses without a word)
            outside = missing[(missing < min(found)) | (missing > max(found))]
            if outside.size and set(found) & set(wanted.tolist()):
                log.warning("%s: %d of the sequence's %d frames lie outside the frames this "
                            "results list names (%s; camera %s, frames %s%s): scored with "
                            "nobody detected by this camera", path, outside.size, wanted.size,
                            _span(np.array(sorted(found))), name, _runs(outside),
                            _offset_text(frame_offset))
        if listed[name] and 0 < missing.size and set(found) & set(wanted.tolist()):
            # (a review: an OpenPose run over part of a sequence scored the rest as misses,
            # without a word; the agreement check samples every 5th frame only)
            log.warning("%s: %d of the sequence's %d frames have no 2D (camera %s, frames "
                        "%s%s): scored with nobody detected by this camera", path,
                        missing.size, wanted.size, name, _runs(missing),
                        _offset_text(frame_offset))
        if not set(found) & set(wanted.tolist()):
            raise ValueError(f"{path}: no detections for any of the sequence's frames "
                             f"{_span(wanted)}{_offset_text(frame_offset)} (camera {name}); "
                             f"it holds frames {_span(np.array(sorted(found)))}: if the two "
                             "number the same images differently, give the difference as "
                             "--detections-frame-offset (the 4D-association release numbers "
                             "Shelf's images 300..600 from 0)")
    detections = tuple({name: found[int(f)] for name, found in per_camera.items()
                        if int(f) in found} for f in wanted)
    return replace(sequence, detections=detections)


# 2D keypoints may lie this share of the image's size outside it (people cut by its edge)
OFF_IMAGE_MARGIN = 0.1


def _tell_points_off_the_image(found: dict[int, Detections2D], camera: Any, path: Any
                               ) -> None:
    """WARN when most of a camera's confident 2D keypoints lie outside its image (beyond
    OFF_IMAGE_MARGIN): 2D of another image size, of resized images, or of another camera (a
    review: 2D of 1920x1080 images for Shelf's 1032x776 cameras was scored without a word,
    and the agreement check, with nobody annotated in view, said nothing either)."""
    points = [d.keypoints[d.scores > 0] for d in found.values() if d.num_people]
    if not points:
        return
    xy = np.concatenate(points)
    xy = xy[np.isfinite(xy).all(-1)]
    if not len(xy):
        return
    size = np.array([camera.width, camera.height], np.float64)
    off = ((xy < -OFF_IMAGE_MARGIN * size) | (xy > (1 + OFF_IMAGE_MARGIN) * size)).any(-1)
    if off.mean() > 0.5:
        log.warning("%s: %.0f %% of camera %s's 2D keypoints lie outside its %dx%d image: is "
                    "it the 2D of this camera, at this image size?", path, 100 * off.mean(),
                    camera.name, camera.width, camera.height)


def _runs(frames: np.ndarray, most: int = 4) -> str:
    """Increasing frame numbers as runs: '1006..1011, 1020' (the first `most` runs)."""
    breaks = np.flatnonzero(np.diff(frames) != 1) + 1
    runs = [f"{r[0]}..{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in np.split(frames, breaks)]
    return ", ".join(runs[:most]) + (f" and {len(runs) - most} more runs"
                                     if len(runs) > most else "")


def _span(frames: np.ndarray) -> str:
    return f"{int(frames[0])}..{int(frames[-1])}" if frames.size else "(none)"


def _offset_text(frame_offset: int) -> str:
    return f" (with the frame offset {frame_offset})" if frame_offset else ""
