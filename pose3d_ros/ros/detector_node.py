"""DetectorNode: one camera's images in, its 2D skeletons (Skeleton2DArray) out; runs where
the camera is, in the camera's namespace. It needs no calibration, but listens to the camera's
camera_info to tell images lost on the way (images_lost, as the all-in-one node does). Every
image it processes gets one message, an empty one when the image could not be decoded or the
detector failed (Skeleton2DArray.msg: a consumer tells "nobody seen" from "camera silent").
A camera_info whose images lie elsewhere on the sensor than the one before (region of interest,
binning, resolution) makes the detector forget the people it tracks before the next image."""
from __future__ import annotations

import time
from typing import Any

from sensor_msgs.msg import CameraInfo

from pose3d_ros.core.detection.base import detect_images
from pose3d_ros.core.messages import ns_to_seconds
from pose3d_ros.core.stamped_changes import CALIBRATION_WAIT_S, StampedChanges
from pose3d_ros.core.sync import FrameSet
from pose3d_ros.core.types import Detections2D
from pose3d_ros.msg import Skeleton2DArray

from .conversions import camera_info_sensor, detections_to_msg, stamp_to_seconds
from .node_base import PoseNodeBase
from .node_input import (
    OUTPUT_QOS,
    SKELETONS_2D_TOPIC,
    ImageDecodeError,
    accept_image,
    finish_image,
    image_qos,
)
from .parameters import DETECTOR_PARAMS


class DetectorNode(PoseNodeBase):
    """One camera's images in, its 2D skeletons (Skeleton2DArray) out."""

    SPECS = DETECTOR_PARAMS

    def __init__(self, node_name: str = "pose3d_detector", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.detector: Any = None
        # (width, height) of the camera's last whole frame: the full size that a reduced
        # JPEG decode (compressed_decode_min_side_px) is mapped back to; None until one came.
        self._full_size: tuple[int, int] | None = None
        # camera_info_sensor of the last camera_info, and the changes of it under their
        # camera_infos' stamps that the worker has not met yet (handed over under self._lock)
        self._sensor: tuple[int, ...] | None = None
        self._images_moved: StampedChanges[bool] = StampedChanges(CALIBRATION_WAIT_S)
        self._last_stamp: float | None = None    # s, of the last image detected (worker)

    def _configure(self, config: Any) -> None:
        camera = config.camera_name or self.get_namespace().strip("/").split("/")[-1] \
            or "camera"
        self.cameras = (camera,)
        self._full_size = None
        self._sensor = None
        self._images_moved = StampedChanges(CALIBRATION_WAIT_S)
        self._last_stamp = None
        self.detector = self._create_detectors(config, 1, per_camera=True)[0]
        self._tell_detector_runtime(self.detector, config)
        self.sync = self._make_sync(None, self.cameras)
        self.skeletons_pub = self._publisher(Skeleton2DArray, SKELETONS_2D_TOPIC, OUTPUT_QOS)

    def _after_configure(self) -> None:
        self.health.cameras[self.cameras[0]].calibrated = True   # 2D needs no calibration

    def _subscribe(self) -> None:
        qos = image_qos(self.config.image_qos, self.config.qos_depth)
        self._subscribe_images(self.cameras[0], self.on_image, prefix="")
        self._owned_subscriptions.append(self.create_subscription(
            CameraInfo, "camera_info", self.on_camera_info, qos,
            qos_overriding_options=self.qos_overriding("camera_info", "subscription")))

    def on_camera_info(self, msg: CameraInfo) -> None:
        """Counted: its arrivals against the images' tell images lost on the way. One whose
        images lie elsewhere on the sensor (camera_info_sensor) than the last one's: the
        detector's tracks are forgotten before the first image stamped at or after it (a
        region of interest moved at the same size kept them, and they cropped the old place: a
        person lost, then a skeleton hundreds of pixels off; an image taken before the change
        but processed after its camera_info came lost its people for nothing)."""
        self.note_arrival(self.cameras[0], "info")
        sensor = camera_info_sensor(msg)
        with self._lock:
            if self._sensor is not None and sensor != self._sensor:
                self._images_moved.add(self.cameras[0], stamp_to_seconds(msg.header.stamp),
                                       True, time.monotonic())
            self._sensor = sensor

    def on_image(self, camera: str, msg: Any) -> None:
        self.note_arrival(camera, "image")
        try:
            image: Any = accept_image(camera, msg)
        except ImageDecodeError as err:
            # counted and logged now; the frame is still answered, empty (_process)
            self.reject(camera, err.reason, str(err), detail=err.detail)
            image = err
        self.offer(camera, stamp_to_seconds(msg.header.stamp), (image, msg.header))

    def _decode(self, pending: Any) -> tuple[Any, int]:
        """The frame's BGR image and its decode reduction. No calibration here: the full size
        is that of the last frame decoded whole; a frame of another size (the camera changed
        resolution) is decoded whole and sets it anew."""
        camera, min_side = self.cameras[0], self.config.compressed_decode_min_side_px
        try:
            image, reduction = finish_image(camera, pending, self._full_size, min_side)
        except ImageDecodeError as err:
            if err.reason != "size_mismatch_calibration":
                raise
            image, reduction = finish_image(camera, pending)
        if reduction == 1:
            self._full_size = (int(image.shape[1]), int(image.shape[0]))
        return image, reduction

    def _process(self, frame_set: FrameSet) -> None:
        frame = frame_set.frames[self.cameras[0]]
        pending, header = frame.payload
        start = time.perf_counter()
        if isinstance(pending, ImageDecodeError):     # refused on arrival (on_image)
            self._answer_failed_set(frame_set)
            return
        try:
            image, reduction = self._decode(pending)
        except ImageDecodeError as err:
            self.reject(self.cameras[0], err.reason, str(err), detail=err.detail)
            self._answer_failed_set(frame_set)
            return
        with self._lock:
            moved = self._images_moved.take_due(self.cameras[0], frame.stamp,
                                                 frame.received)
        # time went back (a replay looped, a simulator reset): the tracked regions of interest
        # are where the people were at the end of the last pass (Pose3DPipeline.restart)
        back = self._last_stamp is not None and frame.stamp < self._last_stamp
        self._last_stamp = frame.stamp
        if moved or back:
            self.detector.reset()
        found = detect_images(self.detector, [image], stamps=[frame.stamp])[0]
        if reduction != 1 and self._full_size is not None:
            found = found.upscaled(reduction, self._full_size)
        detect_s = time.perf_counter() - start
        self.skeletons_pub.publish(detections_to_msg(found, header))
        self.tell_first_output(found.num_people, "2D", self.cameras)
        total = time.perf_counter() - start
        latency = ns_to_seconds(self.get_clock().now().nanoseconds) - frame.stamp
        self.health.record_output({"detect": detect_s, "total": total}, latency,
                                  time.monotonic())

    def _answer_failed_set(self, frame_set: FrameSet) -> None:
        """An image refused (not decoded, or its detection failed): a Skeleton2DArray with
        its header, no skeletons and image size 0 x 0, which the fusion node takes for a
        refused image and leaves out of its frame set (msg/Skeleton2DArray.msg; a review: with
        the last good image's size it read as "nobody seen", a camera in the set that changed
        it, and the fusion node lost a person the all-in-one node published)."""
        header = frame_set.frames[self.cameras[0]].payload[1]
        if self.detector is not None and self.skeletons_pub is not None:
            self.skeletons_pub.publish(detections_to_msg(
                Detections2D.empty(self.detector.layout, (0, 0)), header))

    def _close_models(self) -> None:
        if self.detector is not None:
            self.detector.close()
            self.detector = None
