"""FusionNode: N cameras' Skeleton2DArray (from DetectorNodes) + camera_info in, 3D out.

With monocular_method 'lifter' it also places the people of one-camera sets (sync.min_views
1) and, with lone_view_people, a rig's people whom one camera alone sees, from their 2D alone
(the messages carry no detector 3D: depth from the lifter's learned body size, or from the
floor with monocular_floor)."""
from __future__ import annotations

from functools import partial
from typing import Any

from pose3d_ros.core.image_decode import ImageDecodeError, check_size
from pose3d_ros.core.messages import sanitized_detections
from pose3d_ros.core.sync import FrameSet
from pose3d_ros.msg import Skeleton2DArray

from .conversions import detections_from_msg, stamp_to_seconds
from .node_input import OUTPUT_QOS, image_qos
from .parameters import FUSION_PARAMS
from .rig_node import RigNodeBase


class FusionNode(RigNodeBase):
    """N cameras' Skeleton2DArray + camera_info in (from DetectorNodes), 3D out."""

    SPECS = FUSION_PARAMS

    def __init__(self, node_name: str = "pose3d_fusion", **kwargs: Any) -> None:
        self._camera_layouts: dict[str, str] = {}       # camera -> the layout of its last 2D
        super().__init__(node_name, **kwargs)

    def _configure(self, config: Any) -> None:
        self._camera_layouts = {}
        rig = self._read_rig(config) if config.extrinsics_source == "rig_file" else None
        self._configure_rig(config, None, self._make_lifter(config), rig)

    def _subscribe(self) -> None:
        self._subscribe_tf()
        qos = image_qos("sensor_data", 5)
        for camera in self.cameras:
            topic = f"{camera}/{self.config.skeletons_2d_topic}"
            subscription = self.create_subscription(
                Skeleton2DArray, topic, partial(self.on_skeletons, camera), OUTPUT_QOS,
                qos_overriding_options=self.qos_overriding(topic, "subscription"))
            self._owned_subscriptions.append(subscription)
            self._input_subscriptions[camera] = subscription
            self._subscribe_camera_info(camera, qos)
        self._look_for_latched_camera_info()

    def on_skeletons(self, camera: str, msg: Skeleton2DArray) -> None:
        # its 2D stands for its images: 2D without camera_info is told at WARN after
        # CAMERA_INFO_WAIT_S as for images (found by an audit: INFO only)
        self.note_arrival(camera, "image")
        try:
            found, changed = sanitized_detections(detections_from_msg(msg))
        except ValueError as err:
            self.reject(camera, "bad_skeletons_2d", f"camera {camera!r}: {err}")
            return
        if changed:     # (accepted silently before: an audit sent NaN, 1e30 and scores of 5)
            self.reject(camera, "odd_skeletons_2d", f"camera {camera!r}: {changed} (the 2D "
                        "is used)", kept=True)
        if camera not in self.calibrated:
            self.reject(camera, "no_camera_info", f"camera {camera!r}: 2D skeletons before "
                        "any valid camera_info (ignored)")
            return
        self.check_frame_ids(camera, msg.header.frame_id, "2D skeletons")
        if found.num_people:
            self._note_layout(camera, found.layout.name)
        self.offer(camera, stamp_to_seconds(msg.header.stamp), (found, msg.header))

    def _note_layout(self, camera: str, layout: str) -> None:
        """Count (and say once, naming the camera) a camera whose 2D comes in another joint
        layout than before (its detector restarted with another back-end): its status on
        /diagnostics shows it (a review: only a WARN that named no camera, every status OK,
        while the people's ids started again)."""
        before = self._camera_layouts.get(camera)
        self._camera_layouts[camera] = layout
        if before is not None and before != layout:
            self.reject(camera, "layout_changed", f"camera {camera!r}: its 2D came in {layout}, "
                        f"was {before} (a detector restarted with another back-end?): the 3D "
                        "output follows it unless output_layout is set, and ids may start again",
                        kept=True)

    def _process(self, frame_set: FrameSet) -> None:
        found = {}
        for camera, frame in frame_set.frames.items():
            detections, model = frame.payload[0], self.pipeline.camera(camera)
            if detections.refused_image:
                # its detector refused the image (msg/Skeleton2DArray.msg): left out of the
                # set, as the all-in-one node leaves out an image it refuses
                self.reject(camera, "refused_upstream", f"camera {camera!r}: its detector "
                            "refused the image (its /diagnostics say why); left out of the "
                            "frame set")
                continue
            try:
                if model is not None and min(detections.image_size) > 0:   # 0: not given
                    check_size(detections.image_size, (model.width, model.height),
                               source=f"camera {camera!r} (2D skeletons)")
            except ImageDecodeError as err:
                self.reject(camera, err.reason, str(err), detail=err.detail)
                continue
            found[camera] = detections
        if not found:           # every camera's 2D refused: still one (empty) answer
            self._answer_failed_set(frame_set)
            return
        result = self.pipeline.process_detections(found, frame_set.stamp)
        # the output's stamp: the mean of the stamps of the 2D it used (a refused camera's
        # is not in it, as at the all-in-one node; found by a review)
        self.publish_3d(result, frame_set, self.header_stamps(frame_set, found))
