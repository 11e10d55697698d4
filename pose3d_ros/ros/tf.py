"""TF frames of people and of the camera rig, as tf2_msgs/TFMessage (what a TF broadcaster
publishes on /tf and /tf_static; broadcasting needs no tf2_ros, looking up does).

People (REP-155 naming): `body_<id>` in the fixed frame, at the pelvis with the body axes of
pose3d_ros.core.body_frame; optionally one frame per joint, `body_<id>_<joint name>`, a child
of `body_<id>` (joints' own orientation is not estimated: identity). People whose origin is
unknown (no visible joint) get no frame. The rig: one static transform per camera, fixed frame
-> camera optical frame, from the extrinsics x_cam = R x_rig + t. The transforms are made in
the core (body_transforms, camera_transforms) and built into messages by core.messages.
"""
from __future__ import annotations

from collections.abc import Iterable

from builtin_interfaces.msg import Time
from tf2_msgs.msg import TFMessage

from pose3d_ros.core.body_frame import BodyFrames, body_transforms
from pose3d_ros.core.camera import CameraModel
from pose3d_ros.core.messages import stamp_to_ns
from pose3d_ros.core.static_tf import camera_transforms, upright_transform
from pose3d_ros.core.types import Skeletons3D

from .conversions import RCLPY

# Latched /tf_static and best-effort-free /tf, as tf2_ros's broadcasters use.
TF_TOPIC = "/tf"
TF_STATIC_TOPIC = "/tf_static"

__all__ = ["TF_TOPIC", "TF_STATIC_TOPIC", "people_transforms", "rig_transforms",
           "upright_transforms"]


def people_transforms(skeletons: Skeletons3D, stamp: Time, *, per_joint: bool = False,
                      frames: BodyFrames | None = None, prefix: str = "") -> TFMessage:
    """Skeletons3D -> TFMessage with <prefix>body_<id> (and optionally per-joint) frames.

    frames: the people's body_frames() if already computed."""
    return RCLPY.tf_message(body_transforms(skeletons, frames, per_joint=per_joint,
                                            prefix=prefix), stamp_to_ns(stamp))


def rig_transforms(cameras: Iterable[CameraModel], fixed_frame: str, stamp: Time) -> TFMessage:
    """Static transforms fixed_frame -> each camera's optical frame."""
    return RCLPY.tf_message(camera_transforms(cameras, fixed_frame), stamp_to_ns(stamp))


def upright_transforms(optical_frame: str, stamp: Time) -> TFMessage:
    """The static transform optical_frame -> <optical_frame>_upright (core.static_tf)."""
    return RCLPY.tf_message([upright_transform(optical_frame)], stamp_to_ns(stamp))
