"""TF frames of people and of the camera rig, as tf2_msgs/TFMessage (what a TF broadcaster
publishes on /tf and /tf_static; broadcasting needs no tf2_ros, looking up does).

People (REP-155 naming): `body_<id>` in the fixed frame, at the pelvis with the body axes of
pose3d_ros.ros.body_frame; optionally one frame per joint, `body_<id>_<joint name>`, a child
of `body_<id>` (joints' own orientation is not estimated: identity). People whose origin is
unknown (no visible joint) get no frame. The rig: one static transform per camera, fixed frame
-> camera optical frame, from the extrinsics x_cam = R x_rig + t.
"""
from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Quaternion, Transform, TransformStamped, Vector3
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from pose3d_ros.core.types import Skeletons3D

from .body_frame import BodyFrames, body_frames

# Latched /tf_static and best-effort-free /tf, as tf2_ros's broadcasters use.
TF_TOPIC = "/tf"
TF_STATIC_TOPIC = "/tf_static"


def _transform(parent: str, child: str, stamp: Time, xyz, quat_xyzw) -> TransformStamped:
    x, y, z = (float(v) for v in xyz)
    qx, qy, qz, qw = (float(v) for v in quat_xyzw)
    return TransformStamped(header=Header(stamp=stamp, frame_id=parent), child_frame_id=child,
                            transform=Transform(translation=Vector3(x=x, y=y, z=z),
                                                rotation=Quaternion(x=qx, y=qy, z=qz, w=qw)))


def body_frame_name(person_id: int) -> str:
    return f"body_{int(person_id)}"


def people_transforms(skeletons: Skeletons3D, stamp: Time, *, per_joint: bool = False,
                      frames: BodyFrames | None = None) -> TFMessage:
    """Skeletons3D -> TFMessage with body_<id> (and optionally per-joint) frames.

    frames: the people's body_frames() if already computed."""
    frames = frames or body_frames(skeletons.positions, skeletons.layout)
    origins, rotations, quats = frames.origins, frames.rotations, frames.quaternions
    transforms = []
    identity = (0.0, 0.0, 0.0, 1.0)
    for k in range(skeletons.num_people):
        if not np.isfinite(origins[k]).all():
            continue
        body = body_frame_name(skeletons.ids[k])
        transforms.append(_transform(skeletons.frame_id, body, stamp, origins[k], quats[k]))
        if per_joint:
            local = (skeletons.positions[k] - origins[k]) @ rotations[k]   # R^T (p - o)
            seen = np.flatnonzero(np.isfinite(local).all(-1))
            transforms += [_transform(body, f"{body}_{skeletons.layout.joint_names[j]}", stamp,
                                      local[j], identity) for j in seen]
    return TFMessage(transforms=transforms)


def rig_transforms(cameras, fixed_frame: str, stamp: Time) -> TFMessage:
    """Static transforms fixed_frame -> each camera's optical frame (cameras: CameraModel)."""
    from scipy.spatial.transform import Rotation
    transforms = []
    for camera in cameras:
        rotation = np.asarray(camera.R).T                  # camera axes in the rig frame
        position = -rotation @ np.asarray(camera.t)        # camera centre in the rig frame
        transforms.append(_transform(fixed_frame, camera.frame_id or camera.name, stamp,
                                     position, Rotation.from_matrix(rotation).as_quat()))
    return TFMessage(transforms=transforms)
