"""This package's messages, TF and images built from numpy records and read back, for any
library of ROS message classes (pure core: no ROS import).

The same meaning must reach a bag written offline and a topic published by a node, so both go
through one MessageFactory, parameterised by the library's message classes:

  rosbags' type store      pose3d_ros.core.bagio.ROSBAGS     (offline bags, no ROS needed)
  rclpy's generated types  pose3d_ros.ros.conversions.RCLPY  (the nodes)

The two libraries differ in one respect that matters here: a numeric sequence field (float64[],
uint8[], ...) is a numpy array for rosbags and an array.array for rclpy (which skips rclpy's
per-element checks of Python lists). Fixed-size arrays (float64[9]) are numpy arrays in both.
Readers need no factory: they read fields by attribute, whichever library made the object.

Time: stamps are integer nanoseconds since the epoch (`stamp_ns`), exact both ways. Where the
pipeline wants float seconds, ns_to_seconds / seconds_to_ns are the one conversion (the nodes,
ros.conversions, and the offline runs, core.bag_tracks, give it the same seconds for a stamp).
"""
from __future__ import annotations

import array
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from .body_frame import BodyFrames, body_frames
from .camera import CameraModel
from .image_decode import decode_compressed, decode_image
from .layouts import JointLayout, get_layout
from .static_tf import StaticTransform
from .types import Detections2D, Skeletons3D

PACKAGE = "pose3d_ros"
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
TF_MESSAGE = "tf2_msgs/msg/TFMessage"
JOINT_LAYOUT = f"{PACKAGE}/msg/JointLayout"
SKELETON3D = f"{PACKAGE}/msg/Skeleton3D"
SKELETON3D_ARRAY = f"{PACKAGE}/msg/Skeleton3DArray"
SKELETON2D = f"{PACKAGE}/msg/Skeleton2D"
SKELETON2D_ARRAY = f"{PACKAGE}/msg/Skeleton2DArray"

# encoding -> channels of the images this package writes (decoding accepts many more:
# core.image_decode).
IMAGE_ENCODINGS = {"bgr8": 3, "rgb8": 3, "mono8": 1, "bgra8": 4, "rgba8": 4}

_NO_BYTES = np.zeros(0, np.uint8)
_TYPECODES = {np.dtype(np.float64): "d", np.dtype(np.float32): "f", np.dtype(np.uint8): "B",
              np.dtype(np.uint16): "H", np.dtype(np.uint32): "I", np.dtype(np.int32): "i"}


def numpy_sequence(values: np.ndarray) -> np.ndarray:
    """A numeric sequence field as rosbags wants it: a flat numpy array of its own."""
    return np.array(values, copy=True).reshape(-1)


def array_sequence(values: np.ndarray) -> array.array:
    """A numeric sequence field as rclpy wants it: a flat array.array of the same dtype."""
    values = np.ascontiguousarray(values)
    out = array.array(_TYPECODES[values.dtype])
    out.frombytes(values.reshape(-1).data.cast("B"))  # one copy, straight from the buffer
    return out


def stamp_to_ns(stamp: Any) -> int:
    """builtin_interfaces/Time (sec, nanosec), any library -> integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_seconds(stamp_ns: int) -> float:
    """Integer nanoseconds -> float seconds, correctly rounded (the float nearest the exact
    value: integer true division; `float(ns) / 1e9` rounds twice and is 1 ulp off on about
    27 % of epoch stamps). Equal to sec + nanosec * 1e-9 on epoch stamps (200,000 random
    ones); on small stamps (simulated time) that sum is itself 1 ulp off now and then
    (1.3880894160000001 for 1 s 388089416 ns): this is the exact one."""
    return int(stamp_ns) / 1_000_000_000


def seconds_to_ns(seconds: float) -> int:
    """Float seconds -> the nearest integer nanoseconds (whole seconds and fraction apart, so
    that an epoch stamp keeps its nanoseconds: `round(s * 1e9)` is up to 128 ns off there).
    ns_to_seconds(seconds_to_ns(s)) == s for any s that is a stamp's seconds."""
    whole = math.floor(seconds)
    return int(whole) * 1_000_000_000 + int(round((seconds - whole) * 1e9))


class MessageFactory:
    """Builds this package's messages with one library's message classes.

    msg_class: type name ("sensor_msgs/msg/Image") -> message class of that library;
    sequence: a flat numpy array of the field's dtype -> the value the library takes for a
    numeric sequence field (numpy_sequence or array_sequence).
    """

    def __init__(self, msg_class: Callable[[str], Any],
                 sequence: Callable[[np.ndarray], Any]) -> None:
        self.msg_class = msg_class
        self.sequence = sequence
        self._layouts: dict[str, np.ndarray] = {}     # layout name -> its (2B,) uint16 bones

    # --- time and headers -------------------------------------------------------------------
    def time(self, stamp_ns: int) -> Any:
        """builtin_interfaces/Time of a stamp in integer nanoseconds (>= 0)."""
        if stamp_ns < 0:
            raise ValueError(f"stamp must be >= 0 ns, got {stamp_ns}")
        sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
        return self.msg_class("builtin_interfaces/msg/Time")(sec=sec, nanosec=nanosec)

    def header(self, stamp_ns: int, frame_id: str) -> Any:
        """std_msgs/Header for a stamp in nanoseconds and a frame id."""
        return self.msg_class("std_msgs/msg/Header")(stamp=self.time(stamp_ns),
                                                      frame_id=frame_id)

    # --- skeletons --------------------------------------------------------------------------
    def joint_layout(self, layout: JointLayout) -> Any:
        """pose3d_ros/JointLayout of a layout: a new message with fields of its own (the
        bone array is made once per layout; each message gets copies, since the libraries
        keep a list or array they are given, and a caller's edit of one message's layout
        went into every later message: a review)."""
        bones = self._layouts.get(layout.name)
        if bones is None:
            bones = layout.bones_array.astype(np.uint16).ravel()
            self._layouts[layout.name] = bones
        return self.msg_class(JOINT_LAYOUT)(name=layout.name,
                                            joint_names=list(layout.joint_names),
                                            bones=self.sequence(bones))

    def skeleton3d_array(self, skeletons: Skeletons3D, stamp_ns: int,
                         cameras: Sequence[str] = (), frames: BodyFrames | None = None) -> Any:
        """Skeletons3D -> pose3d_ros/Skeleton3DArray (header frame = skeletons.frame_id).

        body_pose: the person's body frame (core.body_frame; origin 0 when no joint is known).
        frames: the people's body_frames() if already computed (a node shares them with TF).
        """
        frames = frames if frames is not None else body_frames(skeletons.positions,
                                                               skeletons.layout)
        point = self.msg_class("geometry_msgs/msg/Point")
        quaternion = self.msg_class("geometry_msgs/msg/Quaternion")
        pose = self.msg_class("geometry_msgs/msg/Pose")
        skeleton = self.msg_class(SKELETON3D)
        layout = self.joint_layout(skeletons.layout)
        origins = np.nan_to_num(frames.origins, nan=0.0).tolist()
        quats = frames.quaternions.tolist()
        positions = np.asarray(skeletons.positions, np.float64)
        confidence = np.asarray(skeletons.confidence, np.float32)
        errors = np.asarray(skeletons.reprojection_error, np.float32)
        views = np.asarray(skeletons.num_views, np.uint8)
        methods = skeletons.methods().tolist()
        people = []
        for k in range(skeletons.num_people):
            (x, y, z), (qx, qy, qz, qw) = origins[k], quats[k]
            people.append(skeleton(
                id=int(skeletons.ids[k]), method=methods[k], layout=layout,
                positions=self.sequence(positions[k].ravel()),
                confidence=self.sequence(confidence[k]),
                reprojection_error=self.sequence(errors[k]),
                num_views=self.sequence(views[k]),
                body_pose=pose(position=point(x=x, y=y, z=z),
                               orientation=quaternion(x=qx, y=qy, z=qz, w=qw))))
        return self.msg_class(SKELETON3D_ARRAY)(
            header=self.header(stamp_ns, skeletons.frame_id), cameras=list(cameras),
            skeletons=people)

    def skeleton2d_array(self, found: Detections2D, stamp_ns: int, frame_id: str) -> Any:
        """Detections2D of one image -> pose3d_ros/Skeleton2DArray (stamp/frame: the image's)."""
        skeleton = self.msg_class(SKELETON2D)
        layout = self.joint_layout(found.layout)
        keypoints = np.asarray(found.keypoints, np.float32)
        scores = np.asarray(found.scores, np.float32)
        boxes = np.asarray(found.boxes, np.float32)
        people = [skeleton(id=0, score=float(found.person_scores[k]), bbox=boxes[k].copy(),
                           layout=layout, u=self.sequence(keypoints[k, :, 0]),
                           v=self.sequence(keypoints[k, :, 1]),
                           confidence=self.sequence(scores[k]))
                  for k in range(found.num_people)]
        return self.msg_class(SKELETON2D_ARRAY)(
            header=self.header(stamp_ns, frame_id), image_width=int(found.image_size[0]),
            image_height=int(found.image_size[1]), skeletons=people)

    # --- images and cameras -----------------------------------------------------------------
    def image(self, image: np.ndarray, stamp_ns: int, frame_id: str,
              encoding: str = "bgr8") -> Any:
        """sensor_msgs/Image from a uint8 array (H, W, 3) bgr8/rgb8, (H, W) mono8 or
        (H, W, 4) bgra8/rgba8 (for bgr8, what cv_bridge's cv2_to_imgmsg gives)."""
        if encoding not in IMAGE_ENCODINGS:
            raise ValueError(f"unsupported encoding {encoding!r}; known: "
                             f"{sorted(IMAGE_ENCODINGS)}")
        image = np.ascontiguousarray(image)
        channels = 1 if image.ndim == 2 else image.shape[2]
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or (
                channels != IMAGE_ENCODINGS[encoding]):
            raise ValueError(f"{encoding} needs uint8 with {IMAGE_ENCODINGS[encoding]} "
                             f"channel(s), got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        msg = self.msg_class(IMAGE)(header=self.header(stamp_ns, frame_id), height=height,
                                    width=width, encoding=encoding, is_bigendian=0,
                                    step=width * channels, data=self.sequence(_NO_BYTES))
        # Assigned, not passed to the constructor: rclpy's constructor copies a sequence
        # element by element (~10 ms for 1080p), its setter keeps an array.array as it is.
        msg.data = self.sequence(image.ravel())
        return msg

    def compressed_image(self, image: np.ndarray, stamp_ns: int, frame_id: str,
                         quality: int = 90) -> Any:
        """sensor_msgs/CompressedImage holding a JPEG of a bgr8 (H, W, 3) or mono (H, W)
        image."""
        ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:
            raise ValueError(f"JPEG encoding failed for an image of shape {np.shape(image)}")
        msg = self.msg_class(COMPRESSED_IMAGE)(header=self.header(stamp_ns, frame_id),
                                               format="jpeg", data=self.sequence(_NO_BYTES))
        msg.data = self.sequence(buffer.reshape(-1))  # see image(): no element-wise copy
        return msg

    def camera_info(self, camera: CameraModel, stamp_ns: int = 0,
                    P: np.ndarray | None = None) -> Any:
        """sensor_msgs/CameraInfo of a camera's intrinsics (header frame = its optical frame):
        K (3, 3) pixels, distortion in OpenCV order, R identity, P (3, 4) default [K | 0]
        (a monocular camera). The inverse of core.camera.camera_model_from_info_msg."""
        K = np.asarray(camera.K, np.float64)
        if K.shape != (3, 3):
            raise ValueError(f"camera {camera.name!r}: K must be 3x3, got {K.shape}")
        P = np.hstack([K, np.zeros((3, 1))]) if P is None else np.asarray(P, np.float64)
        if P.shape != (3, 4):
            raise ValueError(f"camera {camera.name!r}: P must be 3x4, got {P.shape}")
        roi = self.msg_class("sensor_msgs/msg/RegionOfInterest")(
            x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
        return self.msg_class(CAMERA_INFO)(
            header=self.header(stamp_ns, camera.frame_id), height=int(camera.height),
            width=int(camera.width), distortion_model=camera.distortion_model,
            d=self.sequence(np.asarray(camera.dist, np.float64).ravel()), k=K.ravel(),
            r=np.eye(3).ravel(), p=P.ravel(), binning_x=0, binning_y=0, roi=roi)

    # --- TF ---------------------------------------------------------------------------------
    def tf_message(self, transforms: Sequence[StaticTransform], stamp_ns: int) -> Any:
        """tf2_msgs/TFMessage with one geometry_msgs/TransformStamped per transform, all
        stamped stamp_ns; quaternions normalised. ValueError on NaN/inf or a wrong shape."""
        vector = self.msg_class("geometry_msgs/msg/Vector3")
        quaternion = self.msg_class("geometry_msgs/msg/Quaternion")
        transform = self.msg_class("geometry_msgs/msg/Transform")
        stamped = self.msg_class("geometry_msgs/msg/TransformStamped")
        items = []
        for tf in transforms:
            t = np.asarray(tf.translation, dtype=np.float64)
            q = np.asarray(tf.rotation, dtype=np.float64)
            if t.shape != (3,) or q.shape != (4,) or not np.isfinite(np.r_[t, q]).all():
                raise ValueError(f"transform {tf.parent}->{tf.child}: need finite translation "
                                 f"(3,) and quaternion (4,), got {t} {q}")
            (x, y, z), (qx, qy, qz, qw) = t.tolist(), (q / np.linalg.norm(q)).tolist()
            items.append(stamped(
                header=self.header(stamp_ns, tf.parent), child_frame_id=tf.child,
                transform=transform(translation=vector(x=x, y=y, z=z),
                                    rotation=quaternion(x=qx, y=qy, z=qz, w=qw))))
        return self.msg_class(TF_MESSAGE)(transforms=items)


# --- readers (any library) --------------------------------------------------------------------

def layout_from_message(msg: Any) -> JointLayout:
    """The package layout a JointLayout message names; ValueError if its joints differ from
    ours (an empty joint list is accepted: the name says it all)."""
    layout = get_layout(msg.name)
    if list(msg.joint_names) and tuple(msg.joint_names) != layout.joint_names:
        raise ValueError(f"layout {msg.name!r} in the message has joints "
                         f"{list(msg.joint_names)[:3]}... which differ from this package's")
    return layout


def skeletons3d_from_message(msg: Any) -> Skeletons3D:
    """Skeleton3DArray -> Skeletons3D. All people must share one layout (the nodes publish
    one layout per topic); an empty array comes back with the COCO-17 layout, zero people."""
    items = list(msg.skeletons)
    layout = layout_from_message(items[0].layout) if items else get_layout("coco17")
    j = layout.num_joints
    for person in items:
        if person.layout.name != layout.name or len(person.positions) != 3 * j:
            raise ValueError(f"person {person.id}: layout {person.layout.name!r} with "
                             f"{len(person.positions)} values, expected {layout.name} "
                             f"(3 x {j})")
    methods = [int(person.method) for person in items]

    def stack(field: str, dtype: type, shape: tuple[int, ...]) -> np.ndarray:
        if not items:
            return np.zeros((0,) + shape, dtype)
        return np.stack([np.asarray(getattr(p, field), dtype=dtype).reshape(shape)
                         for p in items])

    return Skeletons3D(
        positions=stack("positions", np.float64, (j, 3)),
        confidence=stack("confidence", np.float32, (j,)),
        reprojection_error=stack("reprojection_error", np.float32, (j,)),
        num_views=stack("num_views", np.uint8, (j,)),
        layout=layout, frame_id=msg.header.frame_id,
        method=int(items[0].method) if items else 0,
        ids=np.array([int(p.id) for p in items], dtype=np.int64),
        person_methods=(np.array(methods, np.uint8) if len(set(methods)) > 1 else None))


def detections_from_message(msg: Any, default_layout: str = "coco17") -> Detections2D:
    """Skeleton2DArray -> Detections2D (ValueError on inconsistent lengths or layouts)."""
    size = (int(msg.image_width), int(msg.image_height))
    if not msg.skeletons:
        return Detections2D.empty(get_layout(default_layout), size)
    layout = layout_from_message(msg.skeletons[0].layout)
    j = layout.num_joints
    for person in msg.skeletons:
        if person.layout.name != layout.name or not (
                len(person.u) == len(person.v) == len(person.confidence) == j):
            raise ValueError(f"2D person in {msg.header.frame_id!r}: layout "
                             f"{person.layout.name!r} with {len(person.u)} joints, expected "
                             f"{layout.name} ({j})")
    u = np.array([p.u for p in msg.skeletons], np.float32)
    v = np.array([p.v for p in msg.skeletons], np.float32)
    return Detections2D(
        keypoints=np.stack([u, v], axis=-1),
        scores=np.array([p.confidence for p in msg.skeletons], np.float32),
        boxes=np.array([p.bbox for p in msg.skeletons], np.float32),
        person_scores=np.array([p.score for p in msg.skeletons], np.float32),
        layout=layout, image_size=size)


# A 2D keypoint farther than this from the image (pixels, either axis) is no measurement.
MAX_KEYPOINT_PX = 1e5


def sanitized_detections(found: Detections2D) -> tuple[Detections2D, str]:
    """2D from another process made safe to use: keypoints that are not numbers or lie
    farther than MAX_KEYPOINT_PX from the image become missing (NaN, score 0), scores that
    are not numbers become 0 and the others are clipped to [0, 1] (the message's range).
    A missing keypoint (NaN u and v, as Skeleton2D gives a joint not detected) gets score 0
    without a word: the message leaves its confidence free (a detector may keep its
    visibility there), and a score on it reached the one-camera path's 3D confidence.
    Returns the detections and what was changed, in words ("" when nothing was)."""
    if not found.num_people:
        return found, ""
    keypoints, scores = found.keypoints, found.scores
    missing = np.isnan(keypoints).all(-1)
    wild = ~(np.abs(keypoints) <= MAX_KEYPOINT_PX).all(-1) & ~missing
    bad_score = ~np.isfinite(scores) | (scores < 0) | (scores > 1)
    bad_person = ~np.isfinite(found.person_scores) | (found.person_scores < 0) | \
        (found.person_scores > 1)
    if not (wild.any() or bad_score.any() or bad_person.any()):
        scored_missing = missing & (scores != 0)
        if scored_missing.any():
            found = replace(found, scores=np.where(scored_missing, 0.0, scores).astype(
                np.float32))
        return found, ""
    told = []
    if wild.any():
        told.append(f"{int(wild.sum())} keypoints not finite or beyond {MAX_KEYPOINT_PX:g} px "
                    "taken as missing")
    if bad_score.any() or bad_person.any():
        told.append(f"{int(bad_score.sum() + bad_person.sum())} confidences outside [0, 1] "
                    "clipped (not a number: 0)")
    keypoints = np.where(wild[..., None], np.nan, keypoints).astype(np.float32)
    scores = np.where(wild | missing, 0.0, np.clip(np.nan_to_num(scores, nan=0.0), 0.0, 1.0))
    person = np.clip(np.nan_to_num(found.person_scores, nan=0.0), 0.0, 1.0)
    return replace(found, keypoints=keypoints, scores=scores.astype(np.float32),
                   person_scores=person.astype(np.float32)), "; ".join(told)


def sanitized_set(found: Mapping[str, Detections2D], names: Sequence[str]
                  ) -> dict[str, Detections2D]:
    """{name: sanitized_detections(found[name])[0]} for the cameras `names` of a frame set:
    one test of all their keypoints and scores at once where nothing is to change (the
    common case, e.g. 2D the fusion node already sanitized: the same objects back), camera by
    camera otherwise."""
    sets = [found[name] for name in names]
    people = [d for d in sets if d.num_people]
    if all(d.keypoints.shape[-1:] == (2,) and d.scores.shape == d.keypoints.shape[:-1]
           and d.person_scores.shape == d.keypoints.shape[:1] for d in people):
        if not people:
            return dict(zip(names, sets, strict=True))
        keypoints = np.concatenate([d.keypoints.reshape(-1, 2) for d in people])
        scores = np.concatenate([d.scores.reshape(-1) for d in people])
        person_scores = np.concatenate([d.person_scores for d in people])
        missing = np.isnan(keypoints).all(-1)
        # sanitized_detections' tests, all cameras in one: nothing wild, no bad score, no
        # score on a missing keypoint
        if not ((~(np.abs(keypoints) <= MAX_KEYPOINT_PX).all(-1) & ~missing).any()
                or (~np.isfinite(scores) | (scores < 0) | (scores > 1)).any()
                or (~np.isfinite(person_scores) | (person_scores < 0)
                    | (person_scores > 1)).any()
                or (missing & (scores != 0)).any()):
            return dict(zip(names, sets, strict=True))
    return {name: sanitized_detections(d)[0] for name, d in zip(names, sets, strict=True)}


def image_from_message(msg: Any, source: str = "image") -> np.ndarray:
    """sensor_msgs/Image or CompressedImage (any library) -> (H, W, 3) uint8 BGR, through
    core.image_decode (a read-only view of the message buffer where the encoding allows).
    ImageDecodeError (a ValueError) with a `reason` key on a bad message."""
    if hasattr(msg, "format"):  # CompressedImage
        return decode_compressed(msg.format, msg.data, source=source)
    return decode_image(msg.encoding, msg.width, msg.height, msg.step, msg.data,
                        msg.is_bigendian, source=source)
