"""Camera input of the nodes: QoS, image subscriptions, and the split of image decoding
between the executor thread (cheap checks) and the processing thread (the costly decode).

Raw sensor_msgs/Image messages are checked and viewed without a copy on the executor thread
(pose3d_ros.core.image_decode returns a read-only view of the message buffer). Compressed
images are only checked there (format, non-empty); the JPEG/PNG decode, 5-10 ms per 1080p
frame, happens in the processing thread and only for frames of the sets it processes, so the
frames the synchroniser drops are never decoded; a JPEG is decoded at a reduced size when the
camera's calibrated size allows (compressed_decode_min_side_px), its 2D mapped back by the
pipeline. An image whose size is not its calibration's is refused there.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import CompressedImage, Image

from pose3d_ros.core.detection.parallel import camera_pool
from pose3d_ros.core.image_decode import (
    ImageDecodeError,
    check_compressed,
    check_image,
    check_image_size,
    decode_compressed,
    decode_image,
    is_jpeg,
    is_view,
    jpeg_reduction,
)

LATCHED_QOS = QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                         reliability=ReliabilityPolicy.RELIABLE)
OUTPUT_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
# camera_info published once and latched (transient local, reliable): matches only such a
# publisher, and receives its message however long before the subscription it was published
LATCHED_CAMERA_INFO_QOS = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                                     reliability=ReliabilityPolicy.RELIABLE)
SKELETONS_2D_TOPIC = "skeletons_2d"   # 2D skeletons, in each camera's namespace
# The inputs' and outputs' history, depth and reliability can be overridden at start-up with
# ROS 2's qos_overrides.<topic>.<subscription|publisher>.<policy> parameters (a review: they
# were taken without effect or word; PoseNodeBase.qos_overriding). Durability is not: the
# latched inputs and /tf_static need theirs.
QOS_OVERRIDES = QoSOverridingOptions.with_default_policies()


def image_qos(kind: str, depth: int) -> QoSProfile:
    """QoS of image/camera_info subscriptions. 'sensor_data' is what camera drivers publish
    with (best effort, keep last): a late frame is worth nothing to a real-time pipeline, and a
    best-effort subscription also matches reliable publishers (bags, simulators)."""
    if kind == "sensor_data":
        return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                          reliability=qos_profile_sensor_data.reliability,
                          durability=qos_profile_sensor_data.durability)
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE)


class InputGate(ReentrantCallbackGroup):
    """The callback group of the image subscriptions: while it is closed (the processing
    thread is busy with a set) the executor leaves their messages in DDS instead of taking
    them. A frame taken then would only be dropped as "behind" by the synchroniser, and taking
    a raw 1080p image costs the executor thread 3.0-3.7 ms of CPU (measured: copying 6 MB out
    of DDS into a Python message) that the 2D network needs. With a history of depth 1, the
    frame taken on opening is the newest. rclpy's executors ask can_execute before adding an
    entity to their wait set and again before taking from it; whoever opens the gate must
    wake the executor (a guard condition), which otherwise keeps waiting without these
    subscriptions."""

    def __init__(self) -> None:
        super().__init__()
        self.is_open = True

    def can_execute(self, entity: Any) -> bool:
        return self.is_open and super().can_execute(entity)


def image_subscription(node: Any, camera: str, config: Any, qos: QoSProfile,
                       callback: Callable[[str, Any], None], prefix: str | None = None,
                       callback_group: Any = None) -> Any:
    """Subscription to one camera's raw or compressed images at <prefix>/<image_topic>
    (prefix: the camera name unless given; config: the node's configuration)."""
    prefix = camera if prefix is None else prefix
    topic = f"{prefix}/{config.image_topic}" if prefix else config.image_topic
    if config.image_transport == "compressed":
        topic = f"{topic}/compressed"
        return node.create_subscription(CompressedImage, topic,
                                        lambda msg: callback(camera, msg), qos,
                                        callback_group=callback_group,
                                        qos_overriding_options=node.qos_overriding(
                                            topic, "subscription"))
    return node.create_subscription(Image, topic, lambda msg: callback(camera, msg), qos,
                                    callback_group=callback_group,
                                    qos_overriding_options=node.qos_overriding(
                                        topic, "subscription"))


@dataclass(frozen=True)
class PendingImage:
    """A compressed image accepted by the executor thread, decoded later by the worker."""

    format: str
    data: Any


@dataclass(frozen=True)
class PendingRaw:
    """A raw image of an encoding to convert (image_decode.is_view: not bgr8), accepted by the
    executor thread after its checks, converted later by the worker: only frames the node
    will process are (0.2-0.5 ms each at 1080p; the synchroniser drops the rest)."""

    encoding: str
    width: int
    height: int
    step: int
    data: Any
    is_bigendian: int


def accept_image(camera: str, msg: Image | CompressedImage
                 ) -> np.ndarray | PendingImage | PendingRaw:
    """The frame to hand to the synchroniser: a bgr8 image as a zero-copy BGR view, another
    raw one as a PendingRaw, a compressed one as a PendingImage, each after its cheap checks;
    ImageDecodeError if bad."""
    source = f"camera {camera!r}"
    if isinstance(msg, CompressedImage):
        check_compressed(msg.format, msg.data, source=source)
        return PendingImage(msg.format, msg.data)
    if is_view(msg.encoding):
        return decode_image(msg.encoding, msg.width, msg.height, msg.step, msg.data,
                            msg.is_bigendian, source=source)
    check_image(msg.encoding, msg.width, msg.height, msg.step, msg.data, source=source)
    return PendingRaw(msg.encoding, msg.width, msg.height, msg.step, msg.data,
                      msg.is_bigendian)


def finish_image(camera: str, image: np.ndarray | PendingImage | PendingRaw,
                 size: tuple[int, int] | None = None, min_side_px: int = 0
                 ) -> tuple[np.ndarray, int]:
    """The BGR image of an accepted frame and the reduction it was decoded at (decodes a
    PendingImage, converts a PendingRaw). size: the (width, height) the camera's calibration
    is for, None when unknown; with it, JPEG input is decoded at the largest reduction that
    keeps the shorter side at least min_side_px (image_decode.jpeg_reduction) and an image of
    another size is refused. ImageDecodeError if the data is corrupt or the size disagrees."""
    source = f"camera {camera!r}"
    reduction = 1
    if isinstance(image, PendingImage):
        if size is not None and is_jpeg(image.format):
            reduction = jpeg_reduction(size[0], size[1], min_side_px)
        image = decode_compressed(image.format, image.data, source=source, reduction=reduction)
    elif isinstance(image, PendingRaw):
        image = decode_image(image.encoding, image.width, image.height, image.step, image.data,
                             image.is_bigendian, source=source)
    if size is not None:
        check_image_size(image, size, source=source, reduction=reduction)
    return image, reduction


def finish_images(images: dict[str, np.ndarray | PendingImage | PendingRaw],
                  sizes: dict[str, tuple[int, int]] | None = None, min_side_px: int = 0
                  ) -> dict[str, tuple[np.ndarray, int] | ImageDecodeError]:
    """finish_image() for the frames of one set: camera -> (BGR image, decode reduction), or
    the ImageDecodeError of a corrupt or wrongly sized one (sizes: camera -> calibrated
    (width, height)). Several compressed frames are decoded side by side on the detectors'
    thread pool (cv2.imdecode releases the GIL: 1.1-1.4x faster whole, 1.8-1.9x at half size
    for 4 demo frames on the 2-core VM, benchmarks/bench_input.py)."""
    sizes = sizes or {}

    def finish(camera: str) -> tuple[np.ndarray, int] | ImageDecodeError:
        try:
            return finish_image(camera, images[camera], sizes.get(camera), min_side_px)
        except ImageDecodeError as err:
            return err

    compressed = [c for c, image in images.items() if isinstance(image, PendingImage)]
    if len(compressed) < 2:
        return {camera: finish(camera) for camera in images}
    futures = {camera: camera_pool().submit(finish, camera) for camera in compressed}
    return {camera: futures[camera].result() if camera in futures else finish(camera)
            for camera in images}


__all__ = ["ImageDecodeError", "LATCHED_CAMERA_INFO_QOS", "LATCHED_QOS", "OUTPUT_QOS",
           "PendingImage", "PendingRaw", "SKELETONS_2D_TOPIC", "accept_image", "finish_image",
           "finish_images", "image_qos", "image_subscription"]
