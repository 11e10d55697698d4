"""Skeletons drawn over a bag's camera images: still frames for the report and a video
(overlay_video_name: VP8 in WebM, which browsers, VLC, mpv and ffplay play).

The 3D (prediction magenta with its left limbs blue and its right limbs orange, reference
green) is projected with the camera models read from
the bag (bag_tracks.bag_cameras: CameraInfo and /tf_static), so the skeletons must be in the
cameras' rig frame (bag_tracks.read_track(frame_id=...) puts them there). The pose of one
camera without /tf_static is the identity: its optical frame is then the rig frame.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from . import bagio
from .bag_tracks import bag_cameras, bag_image, index_frame_sets, skipped_images
from .camera import CameraModel
from .evaluation import STAMP_MATCH_NS, pair_frames
from .silence import fd_silenced

REFERENCE_BGR = (60, 200, 60)
PREDICTION_BGR = (200, 60, 200)
# the prediction's left and right limbs (a bone between two left_* or two right_* joints, and
# those joints): a left/right swap shows (found by a review: one magenta hid mirrored people)
PREDICTION_LEFT_BGR = (255, 150, 30)
PREDICTION_RIGHT_BGR = (30, 150, 255)
# The overlay video's codec by file suffix. The tools write WebM (VP8): browsers play it, and
# this OpenCV has no H.264 encoder; MPEG-4 Part 2 (mp4v, the old format) plays in VLC but in
# no browser. Measured on this machine, 100 frames: VP8 82 fps at 540x304 and 28 fps at
# 540x960 (mp4v 900 / 270 fps); VP9 9 fps at 540x304, too slow for long inputs.
VIDEO_CODECS = {".webm": "VP80", ".mp4": "mp4v"}


def overlay_video_name(camera: str) -> str:
    """The file name of the overlay video of `camera` that the tools write."""
    return f"overlay_{camera}.webm"


def draw_skeletons(image: np.ndarray, uv: np.ndarray, bones: np.ndarray,
                   colour: tuple[int, int, int], thickness: int = 3,
                   sides: np.ndarray | None = None) -> np.ndarray:
    """Draw (P, J, 2) pixel skeletons onto a copy of a BGR image. sides (J,) (-1 left, +1
    right, 0 neither: left_right.joint_sides): the left limbs in PREDICTION_LEFT_BGR, the
    right ones in PREDICTION_RIGHT_BGR, the rest in `colour`; None: all in `colour`."""
    out = image.copy()
    uv = np.asarray(uv, dtype=np.float64)
    bones = np.asarray(bones, dtype=np.intp).reshape(-1, 2)
    sides = np.zeros(uv.shape[-2], np.int8) if sides is None else np.asarray(sides)
    palette = {-1: PREDICTION_LEFT_BGR, 0: colour, 1: PREDICTION_RIGHT_BGR}
    # a bone takes its joints' side when both have the same, else `colour`
    bone_side = np.where(sides[bones[:, 0]] == sides[bones[:, 1]], sides[bones[:, 0]], 0)
    for person in uv:
        for (a, b), side in zip(bones, bone_side, strict=True):
            if np.isfinite(person[[a, b]]).all():
                cv2.line(out, tuple(int(v) for v in person[a]), tuple(int(v) for v in person[b]),
                         palette[int(side)], thickness, cv2.LINE_AA)
        seen = np.isfinite(person).all(axis=1)
        for point, side in zip(person[seen], sides[seen], strict=True):
            cv2.circle(out, tuple(int(v) for v in point), thickness + 1, palette[int(side)], -1)
    return out


def draw_labels(image: np.ndarray, uv: np.ndarray, labels: Sequence[str],
                colour: tuple[int, int, int]) -> None:
    """Write labels[p] (e.g. a track id) above person p of (P, J, 2) pixel skeletons, in
    place, legible on any background (dark outline); a person with no point in the image
    gets none."""
    height, width = image.shape[:2]
    scale = max(0.7 * width / 540.0, 0.5)         # the font's size: 0.7 at 540 px wide
    for person, label in zip(np.asarray(uv, np.float64), labels, strict=True):
        inside = person[np.isfinite(person).all(axis=1)]
        inside = inside[(inside >= 0).all(axis=1) & (inside[:, 0] < width)
                        & (inside[:, 1] < height)]
        if not len(inside):
            continue
        (w, h), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        x = int(np.clip(np.median(inside[:, 0]) - w / 2, 0, max(width - w, 0)))
        # above the top joint by a tenth of the body's height (the top of the head)
        top = inside[:, 1].min() - 0.1 * np.ptp(inside[:, 1]) - 0.3 * h
        y = int(np.clip(top, h, height - 1))
        for ink, weight in (((0, 0, 0), 5), (colour, 2)):
            cv2.putText(image, label, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, weight,
                        cv2.LINE_AA)


def overlay_images(bag: Path, stamps_ns: np.ndarray, time_s: np.ndarray,
                   pred: Sequence[np.ndarray] | np.ndarray,
                   ref: Sequence[np.ndarray] | np.ndarray | None,
                   bones: np.ndarray, frame_indices: Sequence[int], max_width: int = 360,
                   camera_names: Sequence[str] | None = None,
                   progress: Callable[[int], None] | None = None,
                   pred_ids: Sequence[np.ndarray] | None = None,
                   sides: np.ndarray | None = None,
                   cameras: Mapping[str, CameraModel] | None = None
                   ) -> Iterator[tuple[str, np.ndarray]]:
    """Images of the bag at some frames t (indices into stamps_ns) with pred[t] (P, J, 3)
    (magenta; with sides (J,), left_right.joint_sides, its left limbs blue and right ones
    orange: draw_skeletons) and ref[t] (Q, J, 3) (green) reprojected into every camera (or
    those named), each downscaled to max_width pixels wide; pred_ids[t] (P,), if given, writes each
    predicted person's track id above it ("id 3"). time_s[t] labels the images. Yielded one
    at a time in the bag's order (memory for one image: list() them for a few still frames).
    An image that cannot be used is left out, as the readers of bag_tracks leave it out
    (bag_image: counted in skipped_images(bag))."""
    if cameras is None:       # (given: the run's own, e.g. an uncalibrated camera's pinhole)
        cameras, _ = bag_cameras(bag)
    skipped = skipped_images(bag)
    index = index_frame_sets(bag)     # image -> its frame set's stamp (all cameras' sets)
    # the frame set of each wanted frame (a node stamps a set from float seconds: to 1 ms)
    wanted = np.asarray(list(frame_indices), np.intp)
    order = np.argsort(np.asarray(stamps_ns)[wanted])
    nearest = pair_frames(np.asarray(stamps_ns)[wanted][order], index.stamps, STAMP_MATCH_NS)
    want = {int(stamp): int(wanted[order][k]) for stamp, k in zip(index.stamps, nearest,
                                                                  strict=True) if k >= 0}
    for item in bagio.read_messages(bag, [t for t in index.topics if camera_names is None
                                          or index.camera_of[t] in camera_names]):
        stamp = index.set_of.get((item.topic, bagio.stamp_to_ns(item.message.header.stamp)))
        name = index.camera_of[item.topic]
        if stamp not in want or name not in cameras:
            continue
        t = want[stamp]
        camera = cameras[name]
        image = bag_image(item, camera, skipped)
        if image is None:               # corrupt, refused or of another size: told once
            continue
        if ref is not None:
            image = draw_skeletons(image, camera.project(ref[t]), bones, REFERENCE_BGR, 5)
        uv = camera.project(pred[t])
        image = draw_skeletons(image, uv, bones, PREDICTION_BGR, 3, sides)
        scale = max_width / image.shape[1]
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if pred_ids is not None:      # after the downscale: legible at the size shown
            draw_labels(image, uv * scale, [f"id {i}" for i in pred_ids[t]], PREDICTION_BGR)
        if progress is not None:
            progress(1)
        yield f"{name} t={time_s[t]:.2f} s", image


def write_overlay_video(bag: Path, stamps_ns: np.ndarray, time_s: np.ndarray,
                        pred: Sequence[np.ndarray] | np.ndarray,
                        ref: Sequence[np.ndarray] | np.ndarray | None,
                        bones: np.ndarray, camera: str, path: Path, fps: float,
                        max_width: int = 540, progress: Callable[[int], None] | None = None,
                        pred_ids: Sequence[np.ndarray] | None = None,
                        sides: np.ndarray | None = None,
                        cameras: Mapping[str, CameraModel] | None = None) -> Path:
    """Video of one camera, max_width pixels wide, with pred (magenta, with its track ids
    when pred_ids is given: overlay_images) and ref (green) reprojected at every frame,
    written as each frame is drawn (the frames were all held first: 0.5-1.6 MB each, 3.9 GB
    for 4 minutes of one camera, measured by the long-input audit). A frame with nobody in
    pred[t] is written as it is. The codec follows the suffix of `path` (VIDEO_CODECS)."""
    codec = VIDEO_CODECS.get(path.suffix.lower())
    if codec is None:
        raise ValueError(f"overlay video {path}: the suffix must be one of {sorted(VIDEO_CODECS)}")
    writer = None
    try:
        for _, image in overlay_images(bag, stamps_ns, time_s, pred, ref, bones,
                                       range(len(stamps_ns)), max_width, [camera], progress,
                                       pred_ids, sides, cameras):
            if writer is None:
                height, width = image.shape[:2]
                with fd_silenced(2):   # "tag 'VP80' is not supported ...", then VP8 anyway
                    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*codec), fps,
                                             (width, height))
                if not writer.isOpened():
                    raise ValueError(f"cannot write the overlay video {path} ({codec}, "
                                     f"{width}x{height})")
            writer.write(image)
    finally:
        if writer is not None:
            writer.release()
    if writer is None:
        raise ValueError(f"no image of camera {camera!r} matches the evaluated stamps")
    return path
