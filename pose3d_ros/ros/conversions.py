"""Conversions between the core's records and ROS messages.

  Skeletons3D   <-> pose3d_ros/Skeleton3DArray
  Detections2D  <-> pose3d_ros/Skeleton2DArray
  CameraInfo     -> CameraModel, with the checks a node needs (all-zero or NaN calibration)
  builtin_interfaces/Time <-> float seconds
"""
from __future__ import annotations

import array
import math
from functools import lru_cache

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point, Pose, Quaternion
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from pose3d_ros.core.camera import camera_model_from_info_msg
from pose3d_ros.core.layouts import JointLayout, get_layout
from pose3d_ros.core.types import Detections2D, Skeletons3D
from pose3d_ros.msg import JointLayout as JointLayoutMsg
from pose3d_ros.msg import Skeleton2D, Skeleton2DArray, Skeleton3D, Skeleton3DArray

from .body_frame import BodyFrames, body_frames


def stamp_to_seconds(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def seconds_to_stamp(seconds: float) -> Time:
    sec = math.floor(seconds)
    nanosec = min(int(round((seconds - sec) * 1e9)), 999_999_999)
    return Time(sec=int(sec), nanosec=nanosec)


def mean_stamp(stamps: list[Time]) -> Time:
    """Mean of header stamps, computed in integer nanoseconds so that it is exact: one stamp
    comes back bit for bit, and consumers can match outputs to inputs by equality."""
    if not stamps:
        raise ValueError("mean_stamp needs at least one stamp")
    total = sum(s.sec * 1_000_000_000 + s.nanosec for s in stamps)
    nanoseconds = (total + len(stamps) // 2) // len(stamps)
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


@lru_cache(maxsize=16)
def _layout_fields(layout: JointLayout) -> tuple[list[str], list[int]]:
    return list(layout.joint_names), layout.bones_array.ravel().astype(int).tolist()


def layout_to_msg(layout: JointLayout) -> JointLayoutMsg:
    names, bones = _layout_fields(layout)
    return JointLayoutMsg(name=layout.name, joint_names=names, bones=bones)


def layout_from_msg(msg: JointLayoutMsg) -> JointLayout:
    """The package layout a message names; ValueError if its joints differ from ours."""
    layout = get_layout(msg.name)
    if list(msg.joint_names) and tuple(msg.joint_names) != layout.joint_names:
        raise ValueError(f"layout {msg.name!r} in the message has joints "
                         f"{list(msg.joint_names)[:3]}... which differ from this package's")
    return layout


def skeletons3d_to_msg(skeletons: Skeletons3D, stamp: Time, cameras: list[str],
                       frames: BodyFrames | None = None) -> Skeleton3DArray:
    """Skeletons3D -> Skeleton3DArray (header frame = skeletons.frame_id), with body poses.

    frames: the people's body_frames() if already computed (the node shares them with TF)."""
    out = Skeleton3DArray(header=Header(stamp=stamp, frame_id=skeletons.frame_id),
                          cameras=list(cameras))
    frames = frames or body_frames(skeletons.positions, skeletons.layout)
    origins, quats = frames.origins, frames.quaternions
    layout_msg = layout_to_msg(skeletons.layout)
    for k in range(skeletons.num_people):
        pose = Pose(position=Point(**dict(zip("xyz", np.nan_to_num(
            origins[k], nan=0.0).tolist(), strict=True))),
                    orientation=Quaternion(**dict(zip("xyzw", quats[k].tolist(), strict=True))))
        # array.array values skip rclpy's per-element checks of Python lists.
        out.skeletons.append(Skeleton3D(
            id=int(skeletons.ids[k]), method=int(skeletons.method), layout=layout_msg,
            positions=_array("d", skeletons.positions[k]),
            confidence=_array("f", skeletons.confidence[k]),
            reprojection_error=_array("f", skeletons.reprojection_error[k]),
            num_views=_array("B", skeletons.num_views[k]),
            body_pose=pose))
    return out


_DTYPES = {"d": np.float64, "f": np.float32, "B": np.uint8}


def _array(typecode: str, values: np.ndarray) -> array.array:
    """A flat array.array of `values` for a message sequence field."""
    return array.array(typecode, np.ascontiguousarray(values, _DTYPES[typecode]).tobytes())


def skeletons3d_from_msg(msg: Skeleton3DArray) -> Skeletons3D:
    """Skeleton3DArray -> Skeletons3D (all people must share one layout and method)."""
    if not msg.skeletons:
        layout = get_layout("coco17")
        j = layout.num_joints
        return Skeletons3D(np.zeros((0, j, 3)), np.zeros((0, j), np.float32),
                           np.zeros((0, j), np.float32), np.zeros((0, j), np.uint8), layout,
                           msg.header.frame_id, 0)
    layout = layout_from_msg(msg.skeletons[0].layout)
    j = layout.num_joints
    for person in msg.skeletons:
        if person.layout.name != layout.name or len(person.positions) != 3 * j:
            raise ValueError(f"person {person.id}: layout {person.layout.name!r} with "
                             f"{len(person.positions)} values, expected {layout.name} (3 x {j})")
    return Skeletons3D(
        positions=np.array([np.asarray(p.positions, np.float64).reshape(j, 3)
                            for p in msg.skeletons]),
        confidence=np.array([np.asarray(p.confidence, np.float32) for p in msg.skeletons]),
        reprojection_error=np.array([np.asarray(p.reprojection_error, np.float32)
                                     for p in msg.skeletons]),
        num_views=np.array([np.asarray(p.num_views, np.uint8) for p in msg.skeletons]),
        layout=layout, frame_id=msg.header.frame_id, method=int(msg.skeletons[0].method),
        ids=np.array([p.id for p in msg.skeletons], np.int64))


def detections_to_msg(found: Detections2D, header: Header) -> Skeleton2DArray:
    """Detections2D of one image -> Skeleton2DArray (header: the image's)."""
    out = Skeleton2DArray(header=header, image_width=int(found.image_size[0]),
                          image_height=int(found.image_size[1]))
    layout_msg = layout_to_msg(found.layout)
    keypoints = found.keypoints.astype(np.float32)
    for k in range(found.num_people):
        out.skeletons.append(Skeleton2D(
            id=0, score=float(found.person_scores[k]),
            bbox=found.boxes[k].astype(np.float32), layout=layout_msg,
            u=_array("f", keypoints[k, :, 0]), v=_array("f", keypoints[k, :, 1]),
            confidence=_array("f", found.scores[k])))
    return out


def detections_from_msg(msg: Skeleton2DArray, default_layout: str = "coco17") -> Detections2D:
    """Skeleton2DArray -> Detections2D (ValueError on inconsistent lengths or layouts)."""
    size = (int(msg.image_width), int(msg.image_height))
    if not msg.skeletons:
        return Detections2D.empty(get_layout(default_layout), size)
    layout = layout_from_msg(msg.skeletons[0].layout)
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


def camera_model_from_info(info: CameraInfo, name: str):
    """CameraInfo -> CameraModel (identity extrinsics); CameraInfoError with a reason key.
    The checks live in the core (core.camera.camera_model_from_info_msg), shared with the
    offline bag reader."""
    return camera_model_from_info_msg(info, name)


def image_to_msg(image: np.ndarray, stamp: float | Time, frame_id: str) -> Image:
    """BGR uint8 image (H, W, 3) -> sensor_msgs/Image, encoding bgr8 (what cv_bridge's
    cv2_to_imgmsg gives for such an array). stamp: capture time, seconds or a Time."""
    image = np.ascontiguousarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a BGR uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    msg = Image(height=image.shape[0], width=image.shape[1], encoding="bgr8",
                step=image.shape[1] * 3, data=image.tobytes())
    msg.header.stamp = stamp if isinstance(stamp, Time) else seconds_to_stamp(stamp)
    msg.header.frame_id = frame_id
    return msg


def camera_model_to_info(camera) -> CameraInfo:
    """CameraModel -> sensor_msgs/CameraInfo (intrinsics, distortion, R, P; header frame =
    the camera's optical frame, stamp left 0). The inverse of camera_model_from_info."""
    fields = camera.to_camera_info_fields()
    msg = CameraInfo(width=fields["width"], height=fields["height"],
                     distortion_model=fields["distortion_model"], d=fields["d"], k=fields["k"],
                     r=fields["r"], p=fields["p"])
    msg.header.frame_id = camera.frame_id
    return msg
