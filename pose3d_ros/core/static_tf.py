"""Coordinate transforms, as /tf_static and /tf carry them, and lookups through their tree.

Camera rigs publish their extrinsics as static transforms (fixed frame -> each camera's
optical frame, possibly through intermediate frames such as a robot base); a robot moving in
its odometry or map frame publishes the base's pose there on /tf, stamped, many times a
second. tf2_ros is the buffer for that on a ROS 2 install, but it cannot be installed from
PyPI; the nodes use this tree where tf2_ros is missing (static transforms, and the last
seconds of /tf with lookups at a stamp, interpolated between the two samples around it as
tf2 does), and the offline bag reader uses it for the /tf_static of recorded bags.

Convention (REP-103, tf2): a StaticTransform is the pose of `child` in `parent`: a point p
given in the child frame is R p + translation in the parent frame, R from the quaternion
(x, y, z, w). Metres.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
from scipy.spatial.transform import Rotation

from .camera import ros2_frame_name

if TYPE_CHECKING:
    from .camera import CameraModel


@dataclass(frozen=True)
class StaticTransform:
    """A fixed transform: pose of `child` in `parent`.

    translation: (3,) metres; rotation: (4,) quaternion (x, y, z, w) mapping child axes into
    parent axes (REP-103 / tf2 convention).
    """

    parent: str
    child: str
    translation: np.ndarray
    rotation: np.ndarray

    def matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(R (3, 3), t (3,)) with p_parent = R p_child + t."""
        return (Rotation.from_quat(self.rotation).as_matrix(),
                np.asarray(self.translation, np.float64))


def transform_from_stamped(item: Any) -> StaticTransform:
    """geometry_msgs/TransformStamped (rclpy's, rosbags' or tf2_ros.Buffer's lookup result,
    read by attribute) -> StaticTransform (parent = header frame, child = child frame, both
    by their ROS 2 names: camera.ros2_frame_name, as camera_model_from_info_msg names the
    cameras' frames)."""
    t, q = item.transform.translation, item.transform.rotation
    return StaticTransform(ros2_frame_name(item.header.frame_id),
                           ros2_frame_name(item.child_frame_id),
                           np.array([t.x, t.y, t.z], np.float64),
                           np.array([q.x, q.y, q.z, q.w], np.float64))


def transforms_from_message(msg: Any) -> list[StaticTransform]:
    """tf2_msgs/TFMessage (rclpy's or rosbags', read by attribute) -> StaticTransforms
    (frames by their ROS 2 names: transform_from_stamped)."""
    return [transform_from_stamped(item) for item in msg.transforms]


def camera_transforms(cameras: Iterable[CameraModel], fixed_frame: str
                      ) -> list[StaticTransform]:
    """fixed_frame -> each camera's optical frame (its frame_id, else its name), from the
    extrinsics x_cam = R x_fixed + t: the optical frame sits at -R^T t with axes R^T. A
    camera whose optical frame is the fixed frame itself (a camera without a pose, or a
    self-calibrated rig's reference) gets none: it is the tree's root, and tf2 ignores a
    transform from a frame to itself (TF_SELF_TRANSFORM)."""
    transforms = []
    for camera in cameras:
        if (camera.frame_id or camera.name) == fixed_frame:
            continue
        rotation = np.asarray(camera.R, np.float64).T      # camera axes in the fixed frame
        transforms.append(StaticTransform(
            fixed_frame, camera.frame_id or camera.name, -rotation @ np.asarray(camera.t),
            Rotation.from_matrix(rotation).as_quat()))
    return transforms


# The upright frame of a camera: at the optical centre, REP-103 body axes (x forward along the
# optical axis, y left, z up = -y of the optical frame); its axes in the optical frame as
# columns of UPRIGHT_IN_OPTICAL.
UPRIGHT_SUFFIX = "_upright"
UPRIGHT_IN_OPTICAL = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


def upright_transform(optical_frame: str) -> StaticTransform:
    """optical_frame -> <optical_frame>_upright (UPRIGHT_SUFFIX): a z-up frame at the camera
    for viewers (rviz2's grid and orbit view take +z as up; in an optical frame +z is depth,
    so one camera's people would lie on their side). Level only when the camera is level."""
    return StaticTransform(optical_frame, optical_frame + UPRIGHT_SUFFIX, np.zeros(3),
                           Rotation.from_matrix(UPRIGHT_IN_OPTICAL).as_quat())


# How much /tf a TransformTree keeps per frame (tf2_ros.Buffer's default cache time).
TF_HISTORY_S = 10.0


class TransformCycleError(LookupError, ValueError):
    """Transforms whose parents lead back to a frame already on the way."""


class ExtrapolationError(LookupError):
    """A lookup at a stamp outside the /tf history of a transform on the way (tf2's
    ExtrapolationException): the transform for that time has not come yet, or is gone."""


@dataclass
class _TimedTransforms:
    """One child frame's /tf: its poses in `parent` at increasing stamps (s), the last
    history_s seconds of them (lists: samples come in order, so most are appended).
    translations: (3,) metres each; rotations: (4,) unit quaternions (x, y, z, w) each."""

    parent: str
    child: str
    history_s: float
    stamps: list[float] = field(default_factory=list)
    translations: list[np.ndarray] = field(default_factory=list)
    rotations: list[tuple[float, float, float, float]] = field(default_factory=list)

    def insert(self, stamp: float, translation: np.ndarray,
               rotation: tuple[float, float, float, float]) -> None:
        """One sample, in its place in time (the same stamp again replaces it)."""
        k = bisect.bisect_left(self.stamps, stamp)
        if k < len(self.stamps) and self.stamps[k] == stamp:
            self.translations[k], self.rotations[k] = translation, rotation
            return
        self.stamps.insert(k, stamp)
        self.translations.insert(k, translation)
        self.rotations.insert(k, rotation)
        old = bisect.bisect_left(self.stamps, self.stamps[-1] - self.history_s)
        if old:
            del self.stamps[:old], self.translations[:old], self.rotations[:old]

    def at(self, stamp: float | None) -> tuple[np.ndarray, np.ndarray]:
        """(R, t) of the child in the parent at `stamp` (None: the newest), interpolated
        linearly (translation) and spherically (rotation) between the samples around it;
        ExtrapolationError outside them (tf2 does not extrapolate either)."""
        k = len(self.stamps) - 1 if stamp is None else \
            bisect.bisect_right(self.stamps, stamp) - 1
        if stamp is not None and stamp != self.stamps[k]:
            if k < 0 or k >= len(self.stamps) - 1:
                raise ExtrapolationError(
                    f"transform {self.parent!r} -> {self.child!r} at {stamp:.3f} s: /tf "
                    f"holds it for {self.stamps[0]:.3f}..{self.stamps[-1]:.3f} s")
            weight = (stamp - self.stamps[k]) / (self.stamps[k + 1] - self.stamps[k])
            return (quaternion_matrix(slerp(self.rotations[k], self.rotations[k + 1], weight)),
                    (1 - weight) * self.translations[k] + weight * self.translations[k + 1])
        return quaternion_matrix(self.rotations[k]), self.translations[k].copy()


def slerp(a: tuple[float, float, float, float], b: tuple[float, float, float, float],
          weight: float) -> tuple[float, float, float, float]:
    """The unit quaternion (x, y, z, w) `weight` of the way from a to b along the shorter arc
    (plain floats: per set and camera, scipy's Rotation objects cost ~90 us an edge)."""
    dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3]
    if dot < 0.0:                                   # q and -q are one rotation
        b, dot = (-b[0], -b[1], -b[2], -b[3]), -dot
    if dot > 0.9995:                                # nearly equal: linear, renormalised
        mixed = [x + weight * (y - x) for x, y in zip(a, b, strict=True)]
    else:
        angle = math.acos(dot)
        first, second = math.sin((1 - weight) * angle), math.sin(weight * angle)
        mixed = [first * x + second * y for x, y in zip(a, b, strict=True)]
    norm = math.sqrt(sum(v * v for v in mixed))
    return (mixed[0] / norm, mixed[1] / norm, mixed[2] / norm, mixed[3] / norm)


def quaternion_matrix(q: tuple[float, float, float, float]) -> np.ndarray:
    """(3, 3) rotation matrix of a unit quaternion (x, y, z, w)."""
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


class TransformTree:
    """The transforms between frames: each child frame's latest static transform (/tf_static)
    or its recent /tf samples (add_timed), and lookups between frames, at a stamp or the
    newest, through their nearest common ancestor (as tf2: transforms above it do not
    matter). A child has one parent; a static transform and /tf samples of the same child
    replace each other (tf2 keeps one parent per child too)."""

    def __init__(self, transforms: Iterable[StaticTransform] = (), *,
                 history_s: float = TF_HISTORY_S) -> None:
        # child -> (parent, R, t) of its static transform (the matrices made once)
        self._static: dict[str, tuple[str, np.ndarray, np.ndarray]] = {}
        self._timed: dict[str, _TimedTransforms] = {}
        self.history_s = history_s
        self._newest_stamp = -math.inf      # of all /tf samples (s)
        self._pruned_at = -math.inf         # _newest_stamp when children were last pruned
        # counts add() calls that changed a static transform: who caches a static chain's
        # lookup looks again when it moves (a pose re-published on /tf_static)
        self.static_version = 0
        self.add(transforms)

    @staticmethod
    def _fault(transform: StaticTransform) -> str:
        """Why a transform cannot be kept ('' when it can)."""
        if not (np.isfinite(transform.translation).all()
                and np.isfinite(transform.rotation).all()
                and np.linalg.norm(transform.rotation) > 1e-9):
            return (f"transform {transform.parent!r} -> {transform.child!r} holds NaN/inf or "
                    "a zero quaternion")
        return ""

    def add(self, transforms: Iterable[StaticTransform]) -> None:
        """Insert or replace static transforms (a child has one parent; the newest wins); one
        from a frame to itself is ignored, as tf2 does. ValueError naming those left out
        (NaN/inf, zero quaternion), after the others are in."""
        faults = []
        for transform in transforms:
            if transform.parent == transform.child:   # tf2 ignores it too (TF_SELF_TRANSFORM)
                continue
            if fault := self._fault(transform):
                faults.append(fault)
                continue
            entry = (transform.parent, *transform.matrix())
            before = self._static.get(transform.child)
            if before is None or before[0] != entry[0] or not (
                    np.array_equal(before[1], entry[1]) and np.array_equal(before[2], entry[2])):
                self.static_version += 1
            self._static[transform.child] = entry
            self._timed.pop(transform.child, None)
        if faults:
            raise ValueError("; ".join(faults))

    def add_timed(self, transforms: Iterable[StaticTransform], stamps: Iterable[float]
                  ) -> None:
        """Insert /tf samples: transform k holds at stamps[k] (s). A sample older than the
        child's newest is put in its place in time; one of another parent, or more than
        history_s older than the child's newest (time went back: a replay looped, a
        simulator restarted), starts the child's history again; each history keeps history_s
        seconds behind its newest sample, and a child not heard of for history_s (of the
        newest /tf stamp) is dropped; one from a frame to itself is ignored. ValueError naming
        those left out (NaN/inf, zero quaternion), after the others."""
        faults = []
        for transform, stamp in zip(transforms, stamps, strict=True):
            if transform.parent == transform.child:   # tf2 ignores it too (TF_SELF_TRANSFORM)
                continue
            if fault := self._fault(transform):
                faults.append(fault)
                continue
            child, stamp = transform.child, float(stamp)
            self._static.pop(child, None)
            timed = self._timed.get(child)
            if timed is None or timed.parent != transform.parent or \
                    stamp < timed.stamps[-1] - self.history_s:
                timed = self._timed[child] = _TimedTransforms(transform.parent, child,
                                                              self.history_s)
            x, y, z, w = (float(v) for v in transform.rotation)
            norm = math.sqrt(x * x + y * y + z * z + w * w)
            timed.insert(stamp, np.asarray(transform.translation, np.float64),
                         (x / norm, y / norm, z / norm, w / norm))
            if stamp < self._newest_stamp - self.history_s:       # time went back
                self._newest_stamp = self._pruned_at = stamp
            self._newest_stamp = max(self._newest_stamp, stamp)
        if self._newest_stamp > self._pruned_at + 1.0:            # about once a second
            self._pruned_at = self._newest_stamp
            gone = [child for child, timed in self._timed.items()
                    if timed.stamps[-1] < self._newest_stamp - self.history_s]
            for child in gone:
                del self._timed[child]
        if faults:
            raise ValueError("; ".join(faults))

    def forget_timed(self) -> None:
        """Forget every /tf history, static transforms kept: the clock went back (a
        simulator reset, a replay looping on /clock), so the samples of the old time line
        must not meet the new one's (a review: a robot reset from x = 6 m to x = 20 m less
        than history_s back was looked up halfway between the two runs). The node clears a
        tf2_ros buffer the same way (one made without a node does not follow /clock)."""
        self._timed.clear()
        self._newest_stamp = self._pruned_at = -math.inf

    @property
    def frames(self) -> set[str]:
        return (set(self._static) | {parent for parent, _, _ in self._static.values()}
                | set(self._timed) | {t.parent for t in self._timed.values()})

    def _parent(self, frame: str) -> str | None:
        timed = self._timed.get(frame)
        if timed is not None:
            return timed.parent
        static = self._static.get(frame)
        return None if static is None else static[0]

    def _chain(self, frame: str) -> list[str]:
        """[frame, its parent, ..., its tree's root]; TransformCycleError on a cycle."""
        chain = [frame]
        for _ in range(len(self._static) + len(self._timed) + 1):
            parent = self._parent(chain[-1])
            if parent is None:
                return chain
            chain.append(parent)
        raise TransformCycleError(f"the transforms contain a cycle through {frame!r}")

    def _pose_in(self, chain: list[str], stamp: float | None) -> tuple[np.ndarray, np.ndarray]:
        """(R, t): the pose of chain[0] in the frame after chain's last (each frame's
        transform to its parent, at `stamp`), p_ancestor = R p_frame + t."""
        R, t = np.eye(3), np.zeros(3)
        for frame in chain:
            timed = self._timed.get(frame)
            rot, offset = timed.at(stamp) if timed is not None else self._static[frame][1:]
            R, t = rot @ R, rot @ t + offset
        return R, t

    def _below_common_ancestor(self, target: str, source: str) -> tuple[list[str], list[str]]:
        """The frames from target and from source up to, not including, their nearest common
        ancestor; LookupError naming them when they are not connected."""
        up_t, up_s = self._chain(target), self._chain(source)
        on_s = {frame: k for k, frame in enumerate(up_s)}
        common = next((k for k, frame in enumerate(up_t) if frame in on_s), None)
        if common is None:
            known = self.frames
            for frame in (target, source):
                if frame not in known:
                    raise LookupError(f"frame {frame!r} is not in the transforms (known: "
                                      f"{sorted(known)})")
            raise LookupError(f"frames {target!r} and {source!r} are not connected (roots "
                              f"{up_t[-1]!r} and {up_s[-1]!r})")
        return up_t[:common], up_s[:on_s[up_t[common]]]

    def is_static(self, target: str, source: str) -> bool:
        """Whether the transforms between the two frames (up to their nearest common
        ancestor) are all static: the lookup is the same at every stamp. LookupError when
        they are not connected."""
        below_t, below_s = self._below_common_ancestor(target, source)
        return not any(frame in self._timed for frame in below_t + below_s)

    def pose_in_root(self, frame: str, stamp: float | None = None
                     ) -> tuple[str, np.ndarray, np.ndarray]:
        """(root, R, t): the root of `frame`'s tree and the pose of `frame` in it at `stamp`
        (s; None: each transform's newest) (p_root = R p_frame + t). A frame without a
        parent is its own root. ExtrapolationError when a /tf transform on the way has no
        samples around `stamp`; TransformCycleError (a LookupError and ValueError) on a cycle."""
        chain = self._chain(frame)
        return (chain[-1], *self._pose_in(chain[:-1], stamp))

    def lookup(self, target: str, source: str, stamp: float | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(R, t) with p_target = R p_source + t at `stamp` (s; None: the newest of each
        transform), through the frames' nearest common ancestor. LookupError naming both
        frames when they are not connected (or on a cycle), ExtrapolationError (a
        LookupError) when /tf between them does not reach `stamp`."""
        below_t, below_s = self._below_common_ancestor(target, source)
        r_t, t_t = self._pose_in(below_t, stamp)
        r_s, t_s = self._pose_in(below_s, stamp)
        # p_ancestor = r_t p_target + t_t = r_s p_source + t_s
        return r_t.T @ r_s, r_t.T @ (t_s - t_t)
