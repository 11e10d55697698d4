"""Conversions between the core's records and ROS messages: core.messages bound to rclpy's
message classes (RCLPY), the same code that writes offline bags with rosbags' classes.

  Skeletons3D   <-> pose3d_ros/Skeleton3DArray
  Detections2D  <-> pose3d_ros/Skeleton2DArray
  CameraInfo     -> CameraModel, with the checks a node needs (all-zero or NaN calibration)
  builtin_interfaces/Time <-> float seconds
"""
from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from pose3d_ros.core.body_frame import BodyFrames
from pose3d_ros.core.camera import CameraModel, camera_model_from_info_msg, ros2_frame_name
from pose3d_ros.core.layouts import JointLayout
from pose3d_ros.core.messages import (
    MessageFactory,
    array_sequence,
    detections_from_message,
    layout_from_message,
    ns_to_seconds,
    seconds_to_ns,
    skeletons3d_from_message,
    stamp_to_ns,
)
from pose3d_ros.core.sync import mean_stamp_ns
from pose3d_ros.core.types import Detections2D, Skeletons3D
from pose3d_ros.msg import JointLayout as JointLayoutMsg
from pose3d_ros.msg import Skeleton2DArray, Skeleton3DArray


@lru_cache(maxsize=64)
def rclpy_msg_class(msgtype: str) -> Any:
    """The rclpy message class of a type name such as 'sensor_msgs/msg/Image'."""
    package, kind, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), name)


RCLPY = MessageFactory(rclpy_msg_class, array_sequence)
"""Builds this package's messages as rclpy objects (core.messages.MessageFactory): the same
code writes the offline bags (core.bagio.ROSBAGS), so both carry the same fields."""


def stamp_to_seconds(stamp: Time) -> float:
    """A header stamp as the pipeline's float seconds: the same conversion as the offline runs
    (core.messages.ns_to_seconds of the stamp's integer nanoseconds), bit for bit."""
    return ns_to_seconds(stamp_to_ns(stamp))


def ns_to_stamp(stamp_ns: int) -> Time:
    """builtin_interfaces/Time of a stamp in integer nanoseconds (>= 0)."""
    return RCLPY.time(stamp_ns)


def seconds_to_stamp(seconds: float) -> Time:
    """builtin_interfaces/Time of float seconds, at the nearest nanosecond
    (core.messages.seconds_to_ns): stamp_to_seconds gives the same seconds back."""
    return ns_to_stamp(seconds_to_ns(seconds))


def mean_stamp(stamps: list[Time]) -> Time:
    """Mean of header stamps, computed in integer nanoseconds so that it is exact: one stamp
    comes back bit for bit, and consumers can match outputs to inputs by equality. The rule
    is core.sync.mean_stamp_ns, which the offline bag readers stamp a bag's frame sets with."""
    if not stamps:
        raise ValueError("mean_stamp needs at least one stamp")
    return ns_to_stamp(mean_stamp_ns([stamp_to_ns(s) for s in stamps]))


def layout_to_msg(layout: JointLayout) -> JointLayoutMsg:
    return RCLPY.joint_layout(layout)


def layout_from_msg(msg: JointLayoutMsg) -> JointLayout:
    """The package layout a message names; ValueError if its joints differ from ours."""
    return layout_from_message(msg)


def skeletons3d_to_msg(skeletons: Skeletons3D, stamp: Time, cameras: list[str],
                       frames: BodyFrames | None = None) -> Skeleton3DArray:
    """Skeletons3D -> Skeleton3DArray (header frame = skeletons.frame_id), with body poses.

    frames: the people's body_frames() if already computed (the node shares them with TF)."""
    return RCLPY.skeleton3d_array(skeletons, stamp_to_ns(stamp), cameras, frames)


def skeletons3d_from_msg(msg: Skeleton3DArray) -> Skeletons3D:
    """Skeleton3DArray -> Skeletons3D (all people must share one layout; methods may differ
    per person, as a rig's lone people's do: Skeletons3D.person_methods)."""
    return skeletons3d_from_message(msg)


def detections_to_msg(found: Detections2D, header: Header) -> Skeleton2DArray:
    """Detections2D of one image -> Skeleton2DArray (header: the image's; its frame in ROS 2
    spelling, camera.ros2_frame_name: a review found a ROS 1 driver's '/cam01_optical_frame'
    passed on, which tf2 refuses)."""
    return RCLPY.skeleton2d_array(found, stamp_to_ns(header.stamp),
                                  ros2_frame_name(header.frame_id))


def detections_from_msg(msg: Skeleton2DArray, default_layout: str = "coco17") -> Detections2D:
    """Skeleton2DArray -> Detections2D (ValueError on inconsistent lengths or layouts)."""
    return detections_from_message(msg, default_layout)


def camera_model_from_info(info: CameraInfo, name: str, uncalibrated_hfov_deg: float = 0.0
                           ) -> CameraModel:
    """CameraInfo -> CameraModel (identity extrinsics); CameraInfoError with a reason key.
    The checks live in the core (core.camera.camera_model_from_info_msg, which also says what
    uncalibrated_hfov_deg does), shared with the offline bag reader."""
    return camera_model_from_info_msg(info, name, uncalibrated_hfov_deg)


def camera_info_sensor(info: CameraInfo) -> tuple[int, ...]:
    """Where a CameraInfo's images lie on the sensor: (width, height, binning x / y, roi x, y,
    width, height). Another value means the images' pixels moved (REP 104), even at the same
    image size."""
    roi = info.roi
    return (info.width, info.height, info.binning_x, info.binning_y, roi.x_offset,
            roi.y_offset, roi.width, roi.height)


def image_to_msg(image: np.ndarray, stamp: float | Time, frame_id: str) -> Image:
    """BGR uint8 image (H, W, 3) -> sensor_msgs/Image, encoding bgr8 (what cv_bridge's
    cv2_to_imgmsg gives for such an array). stamp: capture time, seconds or a Time."""
    stamp = stamp if isinstance(stamp, Time) else seconds_to_stamp(stamp)
    try:
        return RCLPY.image(image, stamp_to_ns(stamp), frame_id, "bgr8")
    except ValueError as err:
        raise ValueError(f"expected a BGR uint8 image (H, W, 3): {err}") from None


def camera_model_to_info(camera: CameraModel) -> CameraInfo:
    """CameraModel -> sensor_msgs/CameraInfo (intrinsics, distortion, R, P; header frame =
    the camera's optical frame, stamp left 0). The inverse of camera_model_from_info."""
    return RCLPY.camera_info(camera, 0)
