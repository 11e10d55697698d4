"""rosbag2 reading and writing without ROS (the `rosbags` library, pure Python).

Bags are written as rosbag2 version 9 in either storage: "sqlite3" (.db3) or "mcap". Message
types come from rosbags' Jazzy type store plus this package's own messages (msg/*.msg,
registered under pose3d_ros/msg/...), so bags of our outputs carry the message definitions and
type hashes that rviz2, Foxglove and `ros2 bag` expect.

Time: every stamp here is integer nanoseconds since the epoch (`stamp_ns`). The bag's log time of
a message is the stamp of its header unless the caller says otherwise, so a replay at recorded
speed reproduces the capture timing.

Messages are rosbags message objects (dataclasses named like the ROS types). Builders below
make the ones this package writes (Image, CompressedImage, CameraInfo, TFMessage,
Skeleton3DArray) and decoders turn them back into numpy arrays and core records.
"""
from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from rosbags.interfaces import (
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from .layouts import JointLayout, get_layout
from .static_tf import StaticTransform, transforms_from_message
from .types import Skeletons3D

PACKAGE = "pose3d_ros"
MSG_DIR = Path(__file__).resolve().parents[2] / "msg"

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
TF_MESSAGE = "tf2_msgs/msg/TFMessage"
SKELETON3D_ARRAY = f"{PACKAGE}/msg/Skeleton3DArray"
SKELETON2D_ARRAY = f"{PACKAGE}/msg/Skeleton2DArray"

STORAGES = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}

_ZERO = QosTime(0, 0)
_INFINITE = QosTime(2147483647, 4294967295)
# /tf_static is latched: a late subscriber (rviz2 started after `ros2 bag play`) still gets it.
QOS_LATCHED = Qos(QosHistory.KEEP_LAST, 1, QosReliability.RELIABLE, QosDurability.TRANSIENT_LOCAL,
                  _INFINITE, _INFINITE, QosLiveliness.AUTOMATIC, _INFINITE, False)
QOS_DEFAULT = Qos(QosHistory.KEEP_LAST, 10, QosReliability.RELIABLE, QosDurability.VOLATILE,
                  _INFINITE, _INFINITE, QosLiveliness.AUTOMATIC, _INFINITE, False)



def package_msg_dir() -> Path:
    """The msg/ folder of this package: the source tree, else the installed share folder."""
    if MSG_DIR.is_dir():
        return MSG_DIR
    installed = Path(__file__).resolve().parents[5] / "share" / PACKAGE / "msg"
    if installed.is_dir():
        return installed
    raise FileNotFoundError(f"cannot find the {PACKAGE} msg/ folder (looked in {MSG_DIR} and "
                            f"{installed})")


@lru_cache(maxsize=1)
def typestore():
    """Jazzy type store with this package's messages registered (built once, shared)."""
    store = get_typestore(Stores.ROS2_JAZZY)
    definitions: dict[str, Any] = {}
    for path in sorted(package_msg_dir().glob("*.msg")):
        definitions.update(get_types_from_msg(path.read_text(), f"{PACKAGE}/msg/{path.stem}"))
    store.register(definitions)
    return store


def msg_class(msgtype: str):
    """The rosbags message class of a type name such as 'sensor_msgs/msg/Image'."""
    try:
        return typestore().types[msgtype]
    except KeyError:
        raise ValueError(f"unknown message type {msgtype!r}") from None


# --- time and headers ---------------------------------------------------------------------

def stamp_to_ns(stamp: Any) -> int:
    """builtin_interfaces/Time (sec, nanosec) -> integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def header(stamp_ns: int, frame_id: str):
    """std_msgs/Header for a stamp in nanoseconds and a frame id."""
    if stamp_ns < 0:
        raise ValueError(f"stamp must be >= 0 ns, got {stamp_ns}")
    time_cls = msg_class("builtin_interfaces/msg/Time")
    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return msg_class("std_msgs/msg/Header")(stamp=time_cls(sec=sec, nanosec=nanosec),
                                             frame_id=frame_id)


def header_stamp_ns(raw: bytes | memoryview) -> int:
    """Header stamp (ns) of a serialized message whose first field is a std_msgs/Header
    (Image, CompressedImage, CameraInfo, ...), read from the CDR bytes without deserializing
    the rest (an image's pixels).

    CDR layout: 2 bytes encapsulation id (0x0000 big-endian, 0x0001 little-endian), 2 bytes
    options, then Header.stamp: int32 sec, uint32 nanosec.
    """
    if len(raw) < 12:
        raise ValueError(f"a serialized message with a header needs >= 12 bytes, got {len(raw)}")
    sec, nanosec = struct.unpack_from("<iI" if raw[1] & 1 else ">iI", raw, 4)
    return sec * 1_000_000_000 + nanosec


# --- images -------------------------------------------------------------------------------

_ENCODING_CHANNELS = {"bgr8": 3, "rgb8": 3, "mono8": 1, "bgra8": 4, "rgba8": 4}


def image_message(image: np.ndarray, stamp_ns: int, frame_id: str, encoding: str = "bgr8"):
    """sensor_msgs/Image from a uint8 array (H, W, 3) bgr8/rgb8, (H, W) mono8 or 4-channel."""
    if encoding not in _ENCODING_CHANNELS:
        raise ValueError(f"unsupported encoding {encoding!r}; known: {sorted(_ENCODING_CHANNELS)}")
    image = np.ascontiguousarray(image)
    channels = 1 if image.ndim == 2 else image.shape[2]
    if image.dtype != np.uint8 or channels != _ENCODING_CHANNELS[encoding]:
        raise ValueError(f"{encoding} needs uint8 with {_ENCODING_CHANNELS[encoding]} channel(s),"
                         f" got {image.dtype} {image.shape}")
    height, width = image.shape[:2]
    return msg_class(IMAGE)(header=header(stamp_ns, frame_id), height=height, width=width,
                            encoding=encoding, is_bigendian=0, step=width * channels,
                            data=image.reshape(-1))


def compressed_image_message(image: np.ndarray, stamp_ns: int, frame_id: str,
                             quality: int = 90):
    """sensor_msgs/CompressedImage holding a JPEG of a bgr8 (H, W, 3) or mono (H, W) image."""
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"JPEG encoding failed for an image of shape {np.shape(image)}")
    return msg_class(COMPRESSED_IMAGE)(header=header(stamp_ns, frame_id), format="jpeg",
                                       data=buffer.reshape(-1))


def decode_image(msg: Any) -> np.ndarray:
    """Image or CompressedImage -> uint8 array (H, W, 3) BGR, or (H, W) for mono8.

    For a raw Image the result is a view of the message's buffer when the rows are packed.
    """
    if hasattr(msg, "format"):  # CompressedImage
        image = cv2.imdecode(np.asarray(msg.data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise ValueError(f"cannot decode a CompressedImage of format {msg.format!r}")
        return image
    channels = _ENCODING_CHANNELS.get(msg.encoding)
    if channels is None:
        raise ValueError(f"unsupported image encoding {msg.encoding!r}")
    data = np.asarray(msg.data, dtype=np.uint8)
    rows = data.reshape(msg.height, msg.step)[:, : msg.width * channels]
    image = rows.reshape(msg.height, msg.width, channels)
    if msg.encoding == "rgb8":
        return image[..., ::-1]
    return image[..., 0] if channels == 1 else image


# --- cameras and TF -----------------------------------------------------------------------

def camera_info_message(stamp_ns: int, frame_id: str, width: int, height: int, K: np.ndarray,
                        D: np.ndarray, distortion_model: str = "plumb_bob",
                        P: np.ndarray | None = None):
    """sensor_msgs/CameraInfo: K (3, 3) pixels, D distortion coefficients (OpenCV order),
    P (3, 4) defaults to [K | 0] (a monocular camera), R identity."""
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3):
        raise ValueError(f"K must be 3x3, got {K.shape}")
    P = np.hstack([K, np.zeros((3, 1))]) if P is None else np.asarray(P, dtype=np.float64)
    if P.shape != (3, 4):
        raise ValueError(f"P must be 3x4, got {P.shape}")
    roi = msg_class("sensor_msgs/msg/RegionOfInterest")(x_offset=0, y_offset=0, height=0,
                                                          width=0, do_rectify=False)
    return msg_class(CAMERA_INFO)(
        header=header(stamp_ns, frame_id), height=int(height), width=int(width),
        distortion_model=distortion_model, d=np.asarray(D, dtype=np.float64).ravel(),
        k=K.ravel(), r=np.eye(3).ravel(), p=P.ravel(), binning_x=0, binning_y=0, roi=roi)


def tf_message(transforms: Sequence[StaticTransform], stamp_ns: int):
    """tf2_msgs/TFMessage with one geometry_msgs/TransformStamped per transform."""
    vector = msg_class("geometry_msgs/msg/Vector3")
    quaternion = msg_class("geometry_msgs/msg/Quaternion")
    transform = msg_class("geometry_msgs/msg/Transform")
    stamped = msg_class("geometry_msgs/msg/TransformStamped")
    items = []
    for tf in transforms:
        t = np.asarray(tf.translation, dtype=np.float64)
        q = np.asarray(tf.rotation, dtype=np.float64)
        if t.shape != (3,) or q.shape != (4,) or not np.isfinite(np.r_[t, q]).all():
            raise ValueError(f"transform {tf.parent}->{tf.child}: need finite translation (3,) "
                             f"and quaternion (4,), got {t} {q}")
        q = q / np.linalg.norm(q)
        items.append(stamped(
            header=header(stamp_ns, tf.parent), child_frame_id=tf.child,
            transform=transform(translation=vector(x=t[0], y=t[1], z=t[2]),
                                rotation=quaternion(x=q[0], y=q[1], z=q[2], w=q[3]))))
    return msg_class(TF_MESSAGE)(transforms=items)


def static_transforms(msg: Any) -> list[StaticTransform]:
    """tf2_msgs/TFMessage -> StaticTransforms (the inverse of tf_message)."""
    return transforms_from_message(msg)


# --- skeletons ----------------------------------------------------------------------------

def _layout_message(layout: JointLayout):
    return msg_class(f"{PACKAGE}/msg/JointLayout")(
        name=layout.name, joint_names=list(layout.joint_names),
        bones=layout.bones_array.astype(np.uint16).ravel())


def _body_origin(positions: np.ndarray, layout: JointLayout) -> np.ndarray:
    """(3,) body frame origin: mid-hip when both hips are known, else the mean of known joints,
    else zeros (the message cannot carry NaN poses to TF consumers)."""
    names = layout.joint_names
    if "left_hip" in names and "right_hip" in names:
        hips = positions[layout.indices(["left_hip", "right_hip"])]
        if np.isfinite(hips).all():
            return hips.mean(axis=0)
    known = positions[np.isfinite(positions).all(axis=1)]
    return known.mean(axis=0) if len(known) else np.zeros(3)


def skeleton3d_array_message(skeletons: Skeletons3D, stamp_ns: int,
                             cameras: Sequence[str] = ()):
    """pose3d_ros/Skeleton3DArray from core Skeletons3D (positions in skeletons.frame_id).

    body_pose: origin at mid-hip (see _body_origin) with identity orientation; the real nodes
    publish the estimated body orientation.
    """
    point = msg_class("geometry_msgs/msg/Point")
    quaternion = msg_class("geometry_msgs/msg/Quaternion")
    pose = msg_class("geometry_msgs/msg/Pose")
    skeleton = msg_class(f"{PACKAGE}/msg/Skeleton3D")
    layout = _layout_message(skeletons.layout)
    people = []
    for p in range(skeletons.num_people):
        pos = np.asarray(skeletons.positions[p], dtype=np.float64)
        origin = _body_origin(pos, skeletons.layout)
        people.append(skeleton(
            id=int(skeletons.ids[p]), method=int(skeletons.method), layout=layout,
            positions=pos.ravel().copy(),
            confidence=np.asarray(skeletons.confidence[p], dtype=np.float32).copy(),
            reprojection_error=np.asarray(skeletons.reprojection_error[p],
                                          dtype=np.float32).copy(),
            num_views=np.asarray(skeletons.num_views[p], dtype=np.uint8).copy(),
            body_pose=pose(position=point(x=origin[0], y=origin[1], z=origin[2]),
                           orientation=quaternion(x=0.0, y=0.0, z=0.0, w=1.0))))
    return msg_class(SKELETON3D_ARRAY)(header=header(stamp_ns, skeletons.frame_id),
                                       cameras=list(cameras), skeletons=people)


def skeletons_from_message(msg: Any) -> Skeletons3D:
    """Skeleton3DArray (rosbags or rclpy object) -> core Skeletons3D.

    All skeletons of one array must share a layout (the nodes publish one layout per topic).
    An empty array comes back with the COCO-17 layout and zero people.
    """
    items = list(msg.skeletons)
    layout = get_layout(items[0].layout.name) if items else get_layout("coco17")
    j = layout.num_joints
    for s in items:
        if s.layout.name != layout.name or len(s.positions) != 3 * j:
            raise ValueError(f"skeleton id {s.id}: layout {s.layout.name!r} with "
                             f"{len(s.positions)} values; expected {layout.name!r} with {3 * j}")

    def stack(field: str, dtype: type, shape: tuple[int, ...]) -> np.ndarray:
        if not items:
            return np.zeros((0,) + shape, dtype)
        return np.stack([np.asarray(getattr(s, field), dtype=dtype).reshape(shape)
                         for s in items])

    return Skeletons3D(
        positions=stack("positions", np.float64, (j, 3)),
        confidence=stack("confidence", np.float32, (j,)),
        reprojection_error=stack("reprojection_error", np.float32, (j,)),
        num_views=stack("num_views", np.uint8, (j,)),
        layout=layout, frame_id=msg.header.frame_id,
        method=int(items[0].method) if items else 0,
        ids=np.array([int(s.id) for s in items], dtype=np.int64))


# --- bag files ----------------------------------------------------------------------------

class BagWriter:
    """Write a rosbag2 (sqlite3 or MCAP) message by message.

        with BagWriter(path, storage="mcap") as bag:
            bag.write("/cam01/image_raw", stamp_ns, image_message(...))

    Topics are added on first write with the message's type; /tf_static gets a latched QoS.
    The folder `path` must not exist yet (rosbag2 convention).
    """

    def __init__(self, path: Path | str, storage: str = "sqlite3") -> None:
        if storage not in STORAGES:
            raise ValueError(f"unknown bag storage {storage!r}; known: {sorted(STORAGES)}")
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"bag {self.path} already exists; rosbag2 writes a new folder")
        self._writer = Writer(self.path, version=9, storage_plugin=STORAGES[storage])
        self._connections: dict[str, Any] = {}
        self.count = 0

    def __enter__(self) -> BagWriter:
        self._writer.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.close()

    def add_topic(self, topic: str, msgtype: str, latched: bool | None = None):
        """Declare a topic (done automatically by write)."""
        if topic in self._connections:
            conn = self._connections[topic]
            if conn.msgtype != msgtype:
                raise ValueError(f"topic {topic} is {conn.msgtype}, cannot write {msgtype}")
            return conn
        msg_class(msgtype)
        latched = topic == "/tf_static" if latched is None else latched
        conn = self._writer.add_connection(
            topic, msgtype, typestore=typestore(),
            offered_qos_profiles=[QOS_LATCHED if latched else QOS_DEFAULT])
        self._connections[topic] = conn
        return conn

    def write(self, topic: str, stamp_ns: int, message: Any) -> None:
        """Write a rosbags message object, logged at stamp_ns (integer nanoseconds)."""
        msgtype = message.__msgtype__
        conn = self.add_topic(topic, msgtype)
        self.write_raw(topic, stamp_ns, typestore().serialize_cdr(message, msgtype), conn.msgtype)

    def write_raw(self, topic: str, stamp_ns: int, data: bytes | memoryview,
                  msgtype: str) -> None:
        """Write already serialized CDR bytes (e.g. from rclpy.serialization)."""
        conn = self.add_topic(topic, msgtype)
        self._writer.write(conn, int(stamp_ns), data)
        self.count += 1


@dataclass
class BagMessage:
    """One message read from a bag: topic, log time in ns, type name, CDR bytes, and the
    deserialized rosbags object (None when read with deserialize=False)."""

    topic: str
    stamp_ns: int
    msgtype: str
    raw: bytes
    message: Any = None


def bag_topics(path: Path | str) -> dict[str, str]:
    """Topic name -> message type of a bag."""
    with Reader(Path(path)) as reader:
        return {c.topic: c.msgtype for c in reader.connections}


def read_messages(path: Path | str, topics: Iterable[str] | None = None, *,
                  deserialize: bool = True) -> Iterator[BagMessage]:
    """Messages of a bag in log-time order, optionally only some topics."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no bag at {path}")
    store = typestore()
    with Reader(path) as reader:
        wanted = set(topics) if topics is not None else None
        connections = [c for c in reader.connections if wanted is None or c.topic in wanted]
        if wanted is not None:
            missing = wanted - {c.topic for c in connections}
            if missing:
                raise ValueError(f"bag {path} has no topic {sorted(missing)}; it has "
                                 f"{sorted(c.topic for c in reader.connections)}")
        for conn, stamp, raw in reader.messages(connections=connections):
            msg = store.deserialize_cdr(raw, conn.msgtype) if deserialize else None
            yield BagMessage(conn.topic, int(stamp), conn.msgtype, bytes(raw), msg)


def read_bag(path: Path | str, topics: Iterable[str] | None = None
             ) -> Iterator[tuple[str, int, Any]]:
    """(topic, stamp_ns, message object) for every message, in log-time order."""
    for item in read_messages(path, topics):
        yield item.topic, item.stamp_ns, item.message
