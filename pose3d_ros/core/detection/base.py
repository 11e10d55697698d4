"""The 2D pose detector interface and helpers shared by every back-end.

A detector takes one BGR uint8 image per camera, always in the same camera order (trackers are
kept per camera index), and returns one `Detections2D` per image: keypoints in pixels of the
raw image, NaN for joints it did not find.
"""
from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

# default_data_dir moved to core.data_paths; imported here for callers of its old home.
from ..data_paths import default_data_dir  # noqa: F401
from ..layouts import JointLayout, convert_joint_scores, convert_joints
from ..types import Detections2D


@runtime_checkable
class PoseDetector(Protocol):
    """A 2D pose back-end: images of several cameras in, people x joints per image out."""

    name: str
    layout: JointLayout
    runtime: str            # where the network runs, in words ("onnxruntime CUDA", "LiteRT ...")

    def detect(self, images: Sequence[np.ndarray], cameras: Sequence[int] | None = None,
               stamps: Sequence[float] | None = None) -> list[Detections2D]:
        """One BGR uint8 (H, W, 3) image per camera -> one result each. cameras: the camera
        index of each image (back-ends that track keep their state per index); default
        0, 1, ... in the order given. stamps: each image's capture time (s), for back-ends
        whose person search is also timed (the two-stage BlazePose); None: frames only.
        (A back-end written without `stamps` still runs: `detect_images` leaves it out.)"""
        ...

    def reset(self, cameras: Sequence[int] | None = None) -> None:
        """Forget what is tracked in these camera indices (None: every camera): their next
        images start afresh. For a camera whose pixels moved (its region of interest, binning
        or resolution changed). Stateless back-ends have nothing to forget."""
        ...

    def close(self) -> None:
        """Release models, sessions and trackers."""
        ...


def check_images(images: Sequence[np.ndarray], where: str) -> list[np.ndarray]:
    """Validate a batch of BGR uint8 (H, W, 3) images; ValueError naming the bad one."""
    if isinstance(images, np.ndarray):
        raise ValueError(f"{where}: pass a sequence of images (one per camera), "
                         f"not a single array of shape {images.shape}")
    checked = []
    for k, image in enumerate(images):
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"{where}: image {k} must be BGR uint8 (H, W, 3), "
                             f"got {image.dtype} {image.shape}")
        if image.shape[0] == 0 or image.shape[1] == 0:   # (the back-ends divided by zero)
            raise ValueError(f"{where}: image {k} is empty ({image.shape[1]}x{image.shape[0]})")
        checked.append(image)
    return checked


def camera_indices(cameras: Sequence[int] | None, count: int, where: str) -> list[int]:
    """The camera index of each of `count` images: `cameras` checked (distinct, >= 0), or
    0 .. count - 1."""
    if cameras is None:
        return list(range(count))
    indices = [int(c) for c in cameras]
    if len(indices) != count or len(set(indices)) != count or min(indices, default=0) < 0:
        raise ValueError(f"{where}: cameras must be {count} distinct indices >= 0, "
                         f"got {list(cameras)}")
    return indices


def capture_stamps(stamps: Sequence[float] | None, count: int, where: str
                   ) -> list[float | None]:
    """The capture time (s) of each of `count` images: `stamps` checked (one per image), a
    stamp that is not a finite number as None (unknown); all None without stamps."""
    if stamps is None:
        return [None] * count
    values = [float(s) for s in stamps]
    if len(values) != count:
        raise ValueError(f"{where}: {len(values)} stamps for {count} images")
    return [v if math.isfinite(v) else None for v in values]


def takes_stamps(detector: Any) -> bool:
    """Whether `detector.detect` takes `stamps` (this package's back-ends do; one written for
    the interface before stamps, a user's own, may not). Read once per method (inspect:
    18 us a call, asked for every set)."""
    method = detector.detect
    function = getattr(method, "__func__", None)
    return _signature_takes_stamps(function) if function is not None \
        else _signature_takes_stamps.__wrapped__(method)


@functools.lru_cache(maxsize=None)
def _signature_takes_stamps(function: Any) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):          # a builtin or an odd callable: ask it nothing
        return False
    return "stamps" in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD
                                         for p in parameters.values())


def detect_images(detector: Any, images: Sequence[np.ndarray],
                  cameras: Sequence[int] | None = None,
                  stamps: Sequence[float] | None = None) -> list[Detections2D]:
    """detector.detect(images, cameras, stamps), without the stamps for a back-end that does
    not take them."""
    if stamps is not None and takes_stamps(detector):
        return detector.detect(images, cameras=cameras, stamps=stamps)
    return detector.detect(images, cameras=cameras)


def boxes_from_keypoints(keypoints: np.ndarray) -> np.ndarray:
    """Tight boxes (P, 4) [u_min, v_min, u_max, v_max] around (P, J, 2) keypoints, NaN-aware."""
    if keypoints.shape[0] == 0:
        return np.zeros((0, 4), np.float32)
    with np.errstate(invalid="ignore"), ignore_all_nan_warnings():
        low = np.nanmin(keypoints, axis=1)
        high = np.nanmax(keypoints, axis=1)
    return np.concatenate([low, high], axis=1).astype(np.float32)


@contextmanager
def ignore_all_nan_warnings() -> Iterator[None]:
    """Silence numpy's 'All-NaN slice' / 'Mean of empty slice' RuntimeWarnings inside the block:
    a person or joint with no finite value yields NaN, as it should, with nothing to warn of."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def convert_detections(det: Detections2D, layout: JointLayout | str) -> Detections2D:
    """The same people in another joint layout (e.g. BLAZEPOSE33 -> COCO17 or H36M17).

    Derived joints (H36M pelvis, thorax, ...) are means of their sources with the minimum
    source score; a derived joint is NaN when a source is NaN. Boxes and person scores are kept.
    """
    from ..layouts import get_layout
    target = get_layout(layout) if isinstance(layout, str) else layout
    if target.name == det.layout.name:
        return det
    world = None
    if det.world is not None:
        world = convert_joints(det.world, det.layout, target).astype(np.float32)
    return Detections2D(
        keypoints=convert_joints(det.keypoints, det.layout, target).astype(np.float32),
        scores=convert_joint_scores(det.scores, det.layout, target).astype(np.float32),
        boxes=det.boxes.copy(), person_scores=det.person_scores.copy(), layout=target,
        image_size=det.image_size, world=world)


def check_limits(name: str, max_people: int, **thresholds: float) -> None:
    """ValueError naming the back-end for max_people < 1 or a score / IoU threshold outside
    [0, 1] (a review: max_people 0 failed as a numpy reshape in one back-end and found
    nobody, without a word, in another)."""
    if not (isinstance(max_people, int) and max_people >= 1):
        raise ValueError(f"{name}: max_people must be a whole number >= 1, got {max_people!r}")
    for option, value in thresholds.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}: {option} must be in [0, 1], got {value!r}")


# candidates NMS looks at, best first: its IoU matrix is N x N (a review: 8,400 candidates of
# a crowded frame or a low threshold took 11-15 s and 2.3 GB); Ultralytics caps at 30,000
# before and 300 after, and a person detector's or pose model's people are far fewer
NMS_MAX_CANDIDATES = 1000


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression. boxes (N, 4) xyxy, scores (N,). Returns kept indices,
    best first, among the NMS_MAX_CANDIDATES best. One IoU matrix; the greedy pass then only
    reads its rows (a box kept suppresses every later box overlapping it by more than
    iou_threshold)."""
    order = np.argsort(-scores, kind="stable")[:NMS_MAX_CANDIDATES]
    overlap = box_iou(boxes[order], boxes[order]) > iou_threshold        # (N, N)
    suppressed = np.zeros(order.size, bool)
    keep: list[int] = []
    for k in range(order.size):
        if not suppressed[k]:
            keep.append(k)
            suppressed |= overlap[k]
    return order[np.asarray(keep, dtype=np.intp)]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes a (N, 4) and b (M, 4), xyxy -> (N, M)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=-1)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=-1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


# float32(x) / float32(255) for every uint8 x, as an OpenCV lookup table (rgb_unit_float)
_UNIT_FLOAT_TABLE = (np.arange(256, dtype=np.float32) / np.float32(255)).reshape(1, 256)


def rgb_unit_float(bgr: np.ndarray) -> np.ndarray:
    """BGR uint8 (..., H, W, 3) -> RGB float32 in [0, 1]: the same values as
    `bgr[..., ::-1].astype(np.float32) / 255`, by OpenCV on the images stacked as one (a
    channel swap, then a 256-entry table): a third of the CPU of numpy's divide of the
    channel-reversed view (0.06 against 0.15-0.31 ms per 256x256 crop; a review, session
    65). Other shapes and types: numpy's divide."""
    if bgr.dtype != np.uint8 or bgr.ndim < 3 or bgr.shape[-1] != 3 or not bgr.size:
        return np.divide(bgr[..., ::-1], np.float32(255), dtype=np.float32)
    import cv2

    stacked = np.ascontiguousarray(bgr).reshape(-1, bgr.shape[-2], 3)     # (N x H, W, 3)
    return cv2.LUT(cv2.cvtColor(stacked, cv2.COLOR_BGR2RGB),
                   _UNIT_FLOAT_TABLE).reshape(bgr.shape)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80, 80)))
