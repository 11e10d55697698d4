"""Plain records passed between the stages of the core (detector -> 3D -> tracking -> output).

Conventions for every array here:
  pixels   image coordinates of the RAW (distorted) image, u right, v down, pixel centres at
           integer coordinates (as sensor_msgs/CameraInfo assumes).
  metres   3D positions; the frame is named next to the array.
  NaN      marks a missing joint (never 0): a missing joint is never invented.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import SupportsInt

import numpy as np

from .layouts import JointLayout


def as_image_size(values: Iterable[SupportsInt]) -> tuple[int, int]:
    """(width, height) in pixels as plain ints, from any pair (a tuple, an array row)."""
    width, height = (int(v) for v in values)
    return width, height


@dataclass
class Detections2D:
    """People detected in one image.

    keypoints: (P, J, 2) float32, pixels in the raw image; NaN for undetected joints.
    scores: (P, J) float32 in [0, 1], per-joint confidence.
    boxes: (P, 4) float32, [u_min, v_min, u_max, v_max] pixels.
    person_scores: (P,) float32 in [0, 1].
    layout: joint layout of the J axis.
    world: optional (P, J, 3) float32, metres, the detector's own metric 3D in a hip-centred
        frame with camera-aligned axes (BlazePose world landmarks), NaN where absent.
    image_size: (width, height) in pixels of the image the detector saw.
    normalised: optional (P, J, 2) float64, the keypoints undistorted into normalised image
        coordinates of the camera's optical frame (x/z, y/z: no K, no distortion), NaN where
        the keypoint is NaN; set by the pipeline's undistortion step (with_normalised), None
        until then.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    person_scores: np.ndarray
    layout: JointLayout
    image_size: tuple[int, int]
    world: np.ndarray | None = None
    normalised: np.ndarray | None = None

    def __post_init__(self) -> None:
        """Array-likes made arrays (their dtypes kept) and every shape checked against the
        layout: a ValueError naming the array, not an IndexError deep in association (a
        review: 12 joints labelled COCO-17, scores of another shape)."""
        self.keypoints, self.scores, self.boxes, self.person_scores = (
            np.asarray(a) for a in (self.keypoints, self.scores, self.boxes,
                                    self.person_scores))
        joints = self.layout.num_joints
        people = self.keypoints.shape[0] if self.keypoints.ndim else -1
        expected = {"keypoints": (self.keypoints, (people, joints, 2)),
                    "scores": (self.scores, (people, joints)),
                    "boxes": (self.boxes, (people, 4)),
                    "person_scores": (self.person_scores, (people,))}
        if self.world is not None:
            self.world = np.asarray(self.world)
            expected["world"] = (self.world, (people, joints, 3))
        for name, (array, shape) in expected.items():
            if array.shape != shape:
                raise ValueError(
                    f"Detections2D in layout {self.layout.name} ({joints} joints): {name} must "
                    f"be (P, {', '.join(map(str, shape[1:]))}) for P people"
                    f"{'' if name == 'keypoints' else f' (P = {people} from keypoints)'}; "
                    f"got {array.shape}")
        self.image_size = as_image_size(self.image_size)

    @property
    def num_people(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def refused_image(self) -> bool:
        """Whether this is a detector's answer to an image it refused: nobody, image size 0
        (msg/Skeleton2DArray.msg), which is no 2D of that image."""
        return not self.num_people and min(self.image_size) == 0

    def with_normalised(self, normalised: np.ndarray) -> "Detections2D":
        """A copy carrying the undistorted normalised coordinates (P, J, 2) of its keypoints."""
        normalised = np.asarray(normalised, np.float64)
        if normalised.shape != self.keypoints.shape:
            raise ValueError(f"normalised {normalised.shape} must match keypoints "
                             f"{self.keypoints.shape}")
        out = copy.copy(self)         # dataclasses.replace's field walk costs on the hot path
        out.normalised = normalised
        return out

    def upscaled(self, factor: int, image_size: tuple[int, int]) -> "Detections2D":
        """These detections, found in an image decoded at 1/factor size (JPEG DCT scaling:
        reduced pixel i averages full pixels factor*i .. factor*i + factor - 1), in pixels of
        the full image of `image_size` (width, height): u_full = factor * u + (factor - 1) / 2
        (pixel centres at integers, as OpenCV's intrinsics)."""
        if factor == 1:
            return self
        shift = np.float32((factor - 1) / 2)
        out = copy.copy(self)
        out.keypoints = self.keypoints * np.float32(factor) + shift
        out.boxes = self.boxes * np.float32(factor) + shift
        out.image_size = image_size
        out.normalised = None
        return out

    def take(self, index: np.ndarray) -> "Detections2D":
        """The people at `index` (an int or bool array over P), every per-person array alike."""
        out = copy.copy(self)
        out.keypoints, out.scores = self.keypoints[index], self.scores[index]
        out.boxes, out.person_scores = self.boxes[index], self.person_scores[index]
        out.world = None if self.world is None else self.world[index]
        out.normalised = None if self.normalised is None else self.normalised[index]
        return out

    @classmethod
    def empty(cls, layout: JointLayout, image_size: tuple[int, int]) -> "Detections2D":
        j = layout.num_joints
        return cls(np.zeros((0, j, 2), np.float32), np.zeros((0, j), np.float32),
                   np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), layout, image_size)


def concatenated_detections(items: list[Detections2D]) -> Detections2D:
    """Several images' detections as one list of people (same layout), e.g. for one call of a
    monocular method over the people of several cameras. Normalised coordinates and world
    landmarks are kept when every item has them; pixels, boxes and image_size (the first
    item's) no longer describe one image: use the result for what works in normalised
    coordinates only."""
    if len(items) == 1:
        return items[0]
    if not items or len({d.layout.name for d in items}) > 1:
        raise ValueError("concatenated_detections needs detections of one layout")
    out = copy.copy(items[0])
    out.keypoints = np.concatenate([d.keypoints for d in items])
    out.scores = np.concatenate([d.scores for d in items])
    out.boxes = np.concatenate([d.boxes for d in items])
    out.person_scores = np.concatenate([d.person_scores for d in items])
    out.world = (np.concatenate([d.world for d in items])
                 if all(d.world is not None for d in items) else None)
    out.normalised = (np.concatenate([d.normalised for d in items])
                      if all(d.normalised is not None for d in items) else None)
    return out


@dataclass
class Skeletons3D:
    """3D skeletons of several people at one instant.

    positions: (P, J, 3) float64 metres in `frame_id`; NaN for missing joints.
    confidence: (P, J) float32 in [0, 1] (0 where missing).
    reprojection_error: (P, J) float32 pixels RMS over the views used; NaN for single view.
    num_views: (P, J) uint8, views used per joint (0 where missing).
    ids: (P,) int64 tracking ids (>= 1), 0 before tracking.
    method: one of the METHOD_* values of pose3d_ros/msg/Skeleton3D.
    person_methods: (P,) uint8 METHOD_* per person where people of one set were made
        differently (a rig's triangulated people beside people one camera alone sees,
        core/lone_views.py); None: every person's is `method`.
    """

    positions: np.ndarray
    confidence: np.ndarray
    reprojection_error: np.ndarray
    num_views: np.ndarray
    layout: JointLayout
    frame_id: str
    method: int
    ids: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    person_methods: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.ids.shape[0] != self.positions.shape[0]:
            self.ids = np.zeros((self.positions.shape[0],), np.int64)
        if self.person_methods is not None and \
                self.person_methods.shape != (self.positions.shape[0],):
            raise ValueError(f"person_methods {self.person_methods.shape} for "
                             f"{self.positions.shape[0]} people")

    def methods(self) -> np.ndarray:
        """(P,) uint8 the METHOD_* of each person."""
        if self.person_methods is not None:
            return self.person_methods.astype(np.uint8)
        return np.full(self.positions.shape[0], self.method, np.uint8)

    @property
    def num_people(self) -> int:
        return int(self.positions.shape[0])


# Mirrors of the METHOD_* constants of msg/Skeleton3D.msg, so the core needs no ROS import
# (test/test_messages.py checks that they agree).
METHOD_UNKNOWN = 0
METHOD_TRIANGULATION = 1
METHOD_LIFTER = 2
METHOD_DETECTOR_3D = 3
# the methods that place people from one view (the rest: triangulation of several)
ONE_VIEW_METHODS = (METHOD_LIFTER, METHOD_DETECTOR_3D)
