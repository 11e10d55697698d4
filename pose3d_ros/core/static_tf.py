"""Fixed coordinate transforms, as /tf_static carries them, and lookups through their tree.

Camera rigs publish their extrinsics as static transforms (fixed frame -> each camera's
optical frame, possibly through intermediate frames such as a robot base). tf2_ros is the
buffer for that on a ROS 2 install, but it cannot be installed from PyPI; the nodes use this
tree for static transforms where tf2_ros is missing, and the offline bag reader uses it for the
/tf_static of recorded bags. Only static transforms: no time interpolation, no /tf.

Convention (REP-103, tf2): a StaticTransform is the pose of `child` in `parent`: a point p
given in the child frame is R p + translation in the parent frame, R from the quaternion
(x, y, z, w). Metres.
"""
from __future__ import annotations

from dataclasses import dataclass
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


class StaticTransformTree:
    """The latest static transform of every child frame, and lookups between frames."""

    def __init__(self, transforms: Iterable[StaticTransform] = ()) -> None:
        self._parent_of: dict[str, StaticTransform] = {}
        self.add(transforms)

    def add(self, transforms: Iterable[StaticTransform]) -> None:
        """Insert or replace transforms (a child has one parent; the newest wins)."""
        for transform in transforms:
            if not (np.isfinite(transform.translation).all()
                    and np.isfinite(transform.rotation).all()
                    and np.linalg.norm(transform.rotation) > 1e-9):
                raise ValueError(f"transform {transform.parent!r} -> {transform.child!r} "
                                 "holds NaN/inf or a zero quaternion")
            self._parent_of[transform.child] = transform

    @property
    def frames(self) -> set[str]:
        return set(self._parent_of) | {t.parent for t in self._parent_of.values()}

    def pose_in_root(self, frame: str) -> tuple[str, np.ndarray, np.ndarray]:
        """(root, R, t): the root of `frame`'s tree and the pose of `frame` in it
        (p_root = R p_frame + t). A frame without a parent is its own root."""
        R, t = np.eye(3), np.zeros(3)
        for _ in range(len(self._parent_of) + 1):
            transform = self._parent_of.get(frame)
            if transform is None:
                return frame, R, t
            rot, offset = transform.matrix()
            R, t = rot @ R, rot @ t + offset
            frame = transform.parent
        raise ValueError(f"the static transforms contain a cycle through {frame!r}")

    def lookup(self, target: str, source: str) -> tuple[np.ndarray, np.ndarray]:
        """(R, t) with p_target = R p_source + t. LookupError naming both frames when they
        are not connected."""
        known = self.frames
        for frame in (target, source):
            if frame not in known:
                raise LookupError(f"frame {frame!r} is not in the static transforms (known: "
                                  f"{sorted(known)})")
        root_t, r_t, t_t = self.pose_in_root(target)
        root_s, r_s, t_s = self.pose_in_root(source)
        if root_t != root_s:
            raise LookupError(f"frames {target!r} and {source!r} are not connected (roots "
                              f"{root_t!r} and {root_s!r})")
        # p_root = r_t p_target + t_t = r_s p_source + t_s
        return r_t.T @ r_s, r_t.T @ (t_s - t_t)
