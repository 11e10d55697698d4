"""DetectorNode: one camera's images in, its 2D skeletons (Skeleton2DArray) out; runs where
the camera is, in the camera's namespace."""
from __future__ import annotations

import time
from typing import Any

from pose3d_ros.core.pipeline import create_detectors
from pose3d_ros.core.sync import FrameSet
from pose3d_ros.msg import Skeleton2DArray

from .conversions import detections_to_msg, stamp_to_seconds
from .node_base import PoseNodeBase
from .node_input import (
    OUTPUT_QOS,
    SKELETONS_2D_TOPIC,
    ImageDecodeError,
    accept_image,
    finish_image,
    image_qos,
    image_subscription,
)
from .parameters import DETECTOR_PARAMS


class DetectorNode(PoseNodeBase):
    """One camera's images in, its 2D skeletons (Skeleton2DArray) out."""

    SPECS = DETECTOR_PARAMS

    def __init__(self, node_name: str = "pose3d_detector", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.detector: Any = None

    def _configure(self, config: Any) -> None:
        camera = config.camera_name or self.get_namespace().strip("/").split("/")[-1] \
            or "camera"
        self.cameras = (camera,)
        self.detector = create_detectors(config.detector, 1, per_camera=True)[0]
        self.sync = self._make_sync(None, self.cameras)
        self.skeletons_pub = self._publisher(Skeleton2DArray, SKELETONS_2D_TOPIC, OUTPUT_QOS)

    def _after_configure(self) -> None:
        self.health.cameras[self.cameras[0]].calibrated = True   # 2D needs no calibration

    def _subscribe(self) -> None:
        qos = image_qos(self.config.image_qos, self.config.qos_depth)
        self._owned_subscriptions.append(image_subscription(
            self, self.cameras[0], self.config, qos, self.on_image, prefix=""))

    def on_image(self, camera: str, msg: Any) -> None:
        try:
            image = accept_image(camera, msg)
        except ImageDecodeError as err:
            self.reject(camera, err.reason, str(err))
            return
        self.offer(camera, stamp_to_seconds(msg.header.stamp), (image, msg.header))

    def _process(self, frame_set: FrameSet) -> None:
        frame = frame_set.frames[self.cameras[0]]
        pending, header = frame.payload
        start = time.perf_counter()
        try:
            image, _ = finish_image(self.cameras[0], pending)   # no calibration: whole size
        except ImageDecodeError as err:
            self.reject(self.cameras[0], err.reason, str(err))
            return
        found = self.detector.detect([image])[0]
        detect_s = time.perf_counter() - start
        self.skeletons_pub.publish(detections_to_msg(found, header))
        total = time.perf_counter() - start
        latency = self.get_clock().now().nanoseconds * 1e-9 - frame.stamp
        self.health.record_output({"detect": detect_s, "total": total}, latency,
                                  time.monotonic())

    def _close_models(self) -> None:
        if self.detector is not None:
            self.detector.close()
            self.detector = None
