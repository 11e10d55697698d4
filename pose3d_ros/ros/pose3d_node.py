"""Pose3DNode, the all-in-one node: N cameras' images + camera_info in, 3D skeletons,
markers and TF out (optionally each camera's 2D skeletons)."""
from __future__ import annotations

import time
from typing import Any

from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from pose3d_ros.core.sync import FrameSet
from pose3d_ros.core.types import Detections2D
from pose3d_ros.msg import Skeleton2DArray

from . import node_base
from .conversions import detections_to_msg, stamp_to_seconds
from .node_input import (
    OUTPUT_QOS,
    SKELETONS_2D_TOPIC,
    ImageDecodeError,
    accept_image,
    finish_image,
    finish_images,
    image_qos,
)
from .parameters import ALL_IN_ONE_PARAMS
from .rig_node import RigNodeBase


class Pose3DNode(RigNodeBase):
    """All in one: N cameras' images + camera_info in, 3D skeletons, markers, TF out."""

    SPECS = ALL_IN_ONE_PARAMS

    def __init__(self, node_name: str = "pose3d_node", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)

    def _configure(self, config: Any) -> None:
        rig = self._read_rig(config) if config.extrinsics_source == "rig_file" else None
        detectors = self._create_detectors(config, len(config.camera_names),
                                           config.detector_per_camera)
        self._tell_detector_runtime(detectors, config)
        try:
            self.cameras = tuple(config.camera_names)
            self._configure_rig(config, detectors, self._make_lifter(config), rig)
        except Exception:
            for detector in detectors if isinstance(detectors, list) else [detectors]:
                detector.close()
            raise
        self.pub_2d = {}
        if config.publish_2d:
            for camera in self.cameras:
                self.pub_2d[camera] = self._publisher(
                    Skeleton2DArray, f"{camera}/{SKELETONS_2D_TOPIC}", OUTPUT_QOS)

    def _subscribe(self) -> None:
        self._subscribe_tf()
        qos = image_qos(self.config.image_qos, self.config.qos_depth)
        for camera in self.cameras:
            self._subscribe_images(camera, self.on_image)
            self._subscribe_camera_info(camera, qos)
        self._look_for_latched_camera_info()

    def on_camera_info(self, camera: str, msg: CameraInfo) -> None:
        """Counts its arrival (images_lost compares it with the images'), then as the base."""
        self.note_arrival(camera, "info")
        super().on_camera_info(camera, msg)

    def on_image(self, camera: str, msg: Image | CompressedImage) -> None:
        self.note_arrival(camera, "image")
        try:
            image: Any = accept_image(camera, msg)
        except ImageDecodeError as err:
            # counted and logged now; the frame still joins its set, which is then answered
            # (empty if no other camera's image of it is usable): one answer per frame set
            self.reject(camera, err.reason, str(err), detail=err.detail)
            image = err
        if camera not in self.calibrated and not self._assume_calibration(camera, msg, image):
            self.reject(camera, "no_camera_info", f"camera {camera!r}: image before any valid "
                        "camera_info (frame ignored)")
            return
        self.check_frame_ids(camera, msg.header.frame_id)
        self.offer(camera, stamp_to_seconds(msg.header.stamp), (image, msg.header))

    def _assume_calibration(self, camera: str, msg: Image | CompressedImage, image: Any
                            ) -> bool:
        """With uncalibrated_hfov_deg set, a camera whose images have come for
        CAMERA_INFO_WAIT_S without any camera_info (drivers that publish none, e.g.
        image_tools' cam2image) is taken as a camera_info with an all-zero K at the size of
        its images (a compressed one decoded once), in their frame: the uncalibrated
        camera's path (_assumed_intrinsics tells it); made once, offered again with each
        image while it is not taken (no TF pose yet). Whether the camera is calibrated now."""
        health = self.health.cameras.get(camera) if self.health is not None else None
        if self._uncalibrated_hfov_deg() <= 0 or health is None or health.info_arrivals \
                or health.first_image is None \
                or time.monotonic() - health.first_image < node_base.CAMERA_INFO_WAIT_S:
            return False
        info = self._camera_info_made.get(camera)
        if info is None:
            if isinstance(image, ImageDecodeError):
                return False
            try:
                height, width = finish_image(camera, image)[0].shape[:2]
            except ImageDecodeError:
                return False
            info = CameraInfo()
            info.header.frame_id = msg.header.frame_id
            info.width, info.height = int(width), int(height)
            self._camera_info_made[camera] = info
        info.header.stamp = msg.header.stamp
        return self._take_camera_info(camera, info) == "taken"

    def _answer_refused_2d(self, frame_set: FrameSet, cameras: list[str]) -> None:
        """publish_2d: a refused image's camera gets an empty Skeleton2DArray of image size
        0 x 0, as the detector node answers one (msg/Skeleton2DArray.msg; a review: the
        all-in-one node published nothing, which a 2D consumer cannot tell from a lost
        message)."""
        layout = self.pipeline.detector_layout() if cameras and self.pub_2d else None
        if layout is None:
            return
        for camera in cameras:
            pub = self.pub_2d.get(camera)
            if pub is not None and pub.get_subscription_count():
                pub.publish(detections_to_msg(Detections2D.empty(layout, (0, 0)),
                                              frame_set.frames[camera].payload[1]))

    def _process(self, frame_set: FrameSet) -> None:
        images = {}
        decode_start = time.perf_counter()
        sizes = {c: (model.width, model.height) for c in frame_set.frames
                 if (model := self.pipeline.camera(c)) is not None}
        finished = finish_images({c: f.payload[0] for c, f in frame_set.frames.items()
                                  if not isinstance(f.payload[0], ImageDecodeError)},
                                 sizes, self.config.compressed_decode_min_side_px)
        decode_s = time.perf_counter() - decode_start     # compressed input: the JPEG decode
        reductions = {}
        for camera, image in finished.items():
            if isinstance(image, ImageDecodeError):
                self.reject(camera, image.reason, str(image), detail=image.detail)
            else:
                images[camera], reductions[camera] = image
        self._answer_refused_2d(frame_set, [c for c in frame_set.frames if c not in images])
        if not images:          # every image of the set refused: still one (empty) answer
            self._answer_failed_set(frame_set)
            return
        result = self.pipeline.process_images(images, frame_set.stamp, reductions)
        result.timings["decode"] = decode_s
        for camera, pub in self.pub_2d.items():
            if camera in result.detections and pub.get_subscription_count():
                pub.publish(detections_to_msg(result.detections[camera],
                                              frame_set.frames[camera].payload[1]))
        self.publish_3d(result, frame_set, self.header_stamps(frame_set, images))
