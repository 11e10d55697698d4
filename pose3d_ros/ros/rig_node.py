"""RigNodeBase: what the nodes that make 3D share (the all-in-one and the fusion node):
calibration (rig file, CameraInfo, TF), the Pose3DPipeline, and the 3D/marker/TF publishers.

Calibration changes are handed to the processing thread: on_camera_info (executor thread)
only validates the message and queues the new camera model under the message's stamp; the
processing thread applies the queued models between frame sets (_between_sets), each to the
frames stamped at or after it (core.stamped_changes), so every set is processed, and its
output labelled, with one calibration: the one its images were taken with.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from functools import partial
from typing import Any, Literal, NamedTuple

import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from pose3d_ros.core.body_frame import body_frames
from pose3d_ros.core.calibration import assumed_scale_note, rig_frame_is_optical
from pose3d_ros.core.camera import (
    CameraInfoError,
    CameraModel,
    Rig,
    is_uncalibrated,
    ros2_frame_name,
)
from pose3d_ros.core.config_rules import floor_frame_problem
from pose3d_ros.core.filtering import MONOCULAR_ONE_EURO, OneEuroParams
from pose3d_ros.core.floor_contact import FloorParams
from pose3d_ros.core.lone_views import LoneViewParams
from pose3d_ros.core.messages import ns_to_seconds, seconds_to_ns, stamp_to_ns
from pose3d_ros.core.node_health import output_timings
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline, create_monocular_method
from pose3d_ros.core.plausibility import PlausibilityParams
from pose3d_ros.core.stamped_changes import CALIBRATION_WAIT_S, StampedChanges
from pose3d_ros.core.static_tf import (
    TransformTree,
    transform_from_stamped,
    transforms_from_message,
)
from pose3d_ros.core.sync import FrameSet
from pose3d_ros.core.tracking import ImageTrackerParams, TrackerParams
from pose3d_ros.core.triangulation import short_reach_note
from pose3d_ros.core.upright import UprightParams
from pose3d_ros.msg import Skeleton3DArray

from . import node_base
from .conversions import (
    camera_info_sensor,
    camera_model_from_info,
    mean_stamp,
    seconds_to_stamp,
    skeletons3d_to_msg,
    stamp_to_seconds,
)
from .node_base import PoseNodeBase
from .node_input import LATCHED_CAMERA_INFO_QOS, LATCHED_QOS, OUTPUT_QOS
from .parameters import FIXED_FRAME_DEFAULT, ParameterError
from .tf import (
    TF_STATIC_TOPIC,
    TF_TOPIC,
    people_transforms,
    rig_transforms,
    upright_transforms,
)
from .visualization import marker_lifetime_s, skeleton_markers

SKELETONS_3D_TOPIC = "skeletons"
MARKERS_TOPIC = "skeleton_markers"
# a camera_info publisher that keeps its message (latched) is looked for this often (s) ...
LATCHED_LOOK_PERIOD_S = 0.25
# ... for cameras already calibrated, this long after activation (s)
LATCHED_LOOK_AFTER_ACTIVATION_S = 2.0
# sets whose exact header stamps are kept for a centred lifter's output (its lag is T // 2)
EXACT_STAMPS_KEPT = 256


class CalibrationChange(NamedTuple):
    """A change handed to the processing thread: the camera's new model (None: the rig
    file's stays) and whether its images moved on the sensor (the image trackers' pixels
    move with them; the detector's regions of interest are forgotten)."""
    model: CameraModel | None
    image_moved: bool


class CameraInfoKey(NamedTuple):
    """What a camera model is built from in a CameraInfo: a message with the same key is the
    calibration already taken."""

    sensor: tuple[int, ...]      # conversions.camera_info_sensor
    distortion_model: str
    k: tuple[float, ...]
    d: tuple[float, ...]
    frame_id: str


def pipeline_params(config: Any) -> PipelineParams:
    """The core's PipelineParams from a node configuration (triangulation, tracking, filter
    groups; plausibility, image_tracking, the floor and lone views where the node has a
    one-camera path)."""
    tracking = None
    if config.tracking.enabled:
        tracking = TrackerParams(max_distance_m=config.tracking.max_distance_m,
                                 gate_growth_mps=config.tracking.gate_growth_mps,
                                 reid_window_s=max(config.tracking.reid_window_s, 1e-3))
    filtering = None
    if config.filter.enabled:
        filtering = OneEuroParams(min_cutoff_hz=config.filter.min_cutoff_hz,
                                  beta=config.filter.beta, d_cutoff_hz=config.filter.d_cutoff_hz)
    monocular = getattr(config.filter, "monocular", None)    # nodes with a one-view path
    monocular_filtering = MONOCULAR_ONE_EURO if monocular is None else OneEuroParams(
        min_cutoff_hz=monocular.min_cutoff_hz, beta=monocular.beta)
    plausible = getattr(config, "plausibility", None)      # nodes with a one-camera path
    plausibility = PlausibilityParams() if plausible is None else PlausibilityParams(
        min_height_m=plausible.min_height_m, max_height_m=plausible.max_height_m)
    image = getattr(config, "image_tracking", None)
    image_tracking = ImageTrackerParams() if image is None else ImageTrackerParams(
        max_distance=image.max_distance, gate_growth_per_s=image.gate_growth_per_s,
        reid_window_s=image.reid_window_s, min_hits=image.min_hits,
        velocity_window_s=image.velocity_window_s, relabel_window_s=image.relabel_window_s)
    floor = None
    if getattr(config, "monocular_floor", False):
        floor = FloorParams(height_m=config.monocular_floor_height_m,
                            ankle_height_m=config.monocular_ankle_height_m)
    lone_views = LoneViewParams() if getattr(config, "lone_view_people", False) else None
    turns = getattr(config, "camera_quarter_turns", -1)          # nodes with one-camera sets
    upright = UprightParams(fixed_quarter_turns=None if turns < 0 else turns)
    return PipelineParams(
        plausibility=plausibility, image_tracking=image_tracking, floor=floor,
        lone_views=lone_views, upright=upright,
        min_views=config.triangulation.min_views, min_score=config.triangulation.min_score,
        outlier_threshold_px=config.triangulation.outlier_threshold_px,
        outlier_threshold_m=config.triangulation.outlier_threshold_m or None,
        max_depth_gain=config.triangulation.max_depth_gain,
        output_layout=config.output_layout, tracking=tracking, filtering=filtering,
        monocular_filtering=monocular_filtering)


class RigNodeBase(PoseNodeBase):
    """Nodes that make 3D: calibration, pipeline, 3D/marker/TF publishers."""

    tf_listener: Any = None     # tf2_ros.TransformListener (extrinsics_source 'tf' with tf2_ros)

    def _sync_config(self, config: Any, lifter: Any) -> Any:
        """The `sync.*` configuration the synchroniser is built with: sync.min_views 1 is
        taken as 2 in a rig without a monocular path (a set of one camera can give no 3D: it
        went out as an empty Skeleton3DArray between the rig's sets, so a camera sending
        bursts or at ten times the others' rate made the people vanish from every other
        message; found by a review of the fusion node, whose defaults are these), said once
        at configure and on /diagnostics."""
        if lifter is not None or len(config.camera_names) < 2 or config.sync.min_views > 1:
            return config.sync
        if config.monocular_method == "none":    # (else _make_lifter's warning said it)
            self.get_logger().info(
                "sync.min_views 1 is taken as 2: without a monocular path (monocular_method "
                "'none') a set of one camera gives no 3D")
        self._configured_values |= {"sync.min_views": "2 (1 asked; no monocular path)"}
        return replace(config.sync, min_views=2)

    def _make_lifter(self, config: Any) -> Any:
        """The monocular path (None without one), used for sets with a single camera and, with
        lone_view_people, for the people whom one camera of a rig alone sees. The fusion node
        offers the lifter only: 2D skeleton messages carry no detector 3D. The rules between
        these parameters (monocular_floor, lone_view_people, output_layout with one camera)
        were checked by read_parameters before (core.config_rules)."""
        method = config.monocular_method
        lone = len(config.camera_names) > 1 and config.lone_view_people
        if method == "none" or (len(config.camera_names) > 1 and config.sync.min_views > 1
                                and not lone):
            return None
        # what the one-camera path does, on /diagnostics beside the detector's runtime (a
        # review: only the configure log said it)
        height = config.monocular_body_height_m or None   # range checked by its ParamSpec
        size = (f"bodies scaled to {height:g} m tall" if height
                else "the lifter's learned body size" if method == "lifter"
                else "the detector's metric 3D")
        from_detector = method == "lifter" and getattr(config, "lifter_depth_from_detector",
                                                       False)   # (the fusion node has none)
        depth = ("the pelvis at detector_3d's depth where the 2D back-end gives metric 3D"
                 if from_detector else "from the size of the 3D")
        if config.monocular_floor:
            # (a review: the floor placed the people and the diagnostics named the detector)
            depth += (", then scaled about the camera so that the feet stand on the floor "
                      "(each track's median scale, once its feet are seen)")
            if height:
                # (a review: people 1.33 and 1.67 m tall published while this said "scaled
                # to 1.5 m"; the floor's scale comes after the prior)
                size = (f"bodies first scaled to {height:g} m tall, then sized by the floor "
                        "(the height is not kept once the feet are seen)")
                self.get_logger().info(
                    f"monocular_body_height_m {height:g} with monocular_floor: the floor sizes "
                    "each person once their feet are seen; the height only places them "
                    "until then")
        self._configured_values |= {"monocular_method": method,
                                    "monocular_depth": f"{depth}; {size}; bone lengths kept "
                                                       "per track"}
        if len(config.camera_names) > 1 and config.output_layout != "h36m17":
            self.get_logger().warning(
                "sets with a single camera give no 3D and are left out (sync.min_views taken "
                "as 2): the monocular path outputs H36M-17 and triangulation the detector's "
                "layout; set output_layout to 'h36m17' to place them too")
            return None
        try:
            import pose3d_ros.core.lifting.runtime  # noqa: F401 - the monocular core
        except ImportError as err:
            raise ParameterError(
                f"monocular_method {method!r} needs pose3d_ros.core.lifting, which is not "
                f"available ({err}); set monocular_method to 'none' or use >= 2 cameras"
            ) from None
        if method == "lifter":
            try:
                lifter = create_monocular_method(method, model_path=config.lifter_model or None,
                                                 body_height_m=height,
                                                 flip_average=config.lifter_flip_average,
                                                 depth_from_detector=getattr(
                                                     config, "lifter_depth_from_detector",
                                                     False),
                                                 refine_to_2d=config.monocular_refine_to_2d)
            except (FileNotFoundError, ValueError) as err:
                raise ParameterError(f"lifter_model: {err}") from None
            from pose3d_ros.core.lifting.runtime import DEFAULT_MODEL
            meta = lifter.model.metadata          # type: ignore[attr-defined]
            # found by an audit: which weights a node (or `run`) used was told nowhere
            self.get_logger().info(
                f"monocular method lifter: {config.lifter_model or DEFAULT_MODEL} (T="
                f"{meta.window}, {'causal' if meta.causal else 'centred'})")
            if lag := lifter.latency_frames:
                if config.extrinsics_source == "tf":
                    # its people are placed with the camera's pose at the newest set, but
                    # describe the one lag sets back: on a moving robot 0.4 m off at 1 m/s
                    # (a review)
                    raise ParameterError(
                        f"lifter_model {config.lifter_model!r} is centred (its 3D describes "
                        f"the frame {lag} sets before the newest): with extrinsics_source "
                        "'tf' (a camera that moves) use a causal model (the shipped one, or "
                        "train_lifter --causal)")
                if len(config.camera_names) > 1:   # (the pipeline refuses it too)
                    raise ParameterError(
                        f"lifter_model {config.lifter_model!r} is centred: its 3D describes "
                        f"the frame {lag} sets before the newest, so with several cameras its "
                        "people would go out beside triangulated ones of the newest frame "
                        "under one stamp; use a causal model (the shipped one, or "
                        "train_lifter --causal)")
                # found by an audit: a centred lifter ran without a word on what it costs
                self.get_logger().info(
                    f"lifter_model {config.lifter_model!r} is centred: its 3D describes the "
                    f"frame {lag} sets before the newest, and goes out with that frame's stamp "
                    f"(so {lag} frame intervals later than a causal model's); it takes no "
                    "depth from the detector")
            return lifter
        return create_monocular_method(method, body_height_m=height,
                                       refine_to_2d=config.monocular_refine_to_2d)

    def _tell_short_reach(self, config: Any, cameras: list[CameraModel]) -> None:
        """Name the camera pairs too close together to measure people's depth (a 360-degree
        head of lenses centimetres apart, a narrow stereo pair: their joints are not
        triangulated beyond a short reach), once at configure: WARN when no pair reaches
        further, INFO when some do (triangulation.short_reach_note). A review: such a head
        published people at a fifth of their distance; now nothing, which needs saying."""
        if len(cameras) < 2:
            return
        found = short_reach_note(cameras, config.triangulation.max_depth_gain,
                                 lone_views=getattr(config, "lone_view_people", False))
        if found is None:
            return
        every, line = found
        if every:
            self.get_logger().warning(line)
        else:
            self.get_logger().info(line)

    def _configure_rig(self, config: Any, detectors: Any, lifter: Any = None,
                       rig: Rig | None = None) -> None:
        """rig: config.rig_file's, when the caller read it already (_read_rig)."""
        self.cameras = tuple(config.camera_names)
        self.rig: Rig | None = None
        self.tf_buffer = self.tf_tree = None   # extrinsics_source 'tf' only
        self._tf_lock = threading.Lock()         # tf_tree: filled by callbacks, read by both
        # camera -> the tree's static_version its static pose was looked up at
        self._static_posed: dict[str, int] = {}
        self.fixed_frame = config.fixed_frame
        if config.extrinsics_source == "rig_file":
            self.rig = rig if rig is not None else self._read_rig(config)
            self.fixed_frame = self.rig.frame_id or self.fixed_frame
            if config.fixed_frame not in (self.fixed_frame, FIXED_FRAME_DEFAULT):
                # (a review: fixed_frame map read back 'map' while the output went out in
                # the rig file's 'world', without a word; rviz set to map showed nothing)
                self.get_logger().warning(
                    f"fixed_frame {config.fixed_frame!r} is not used: with extrinsics_source "
                    f"'rig_file' the 3D is in the rig file's frame {self.fixed_frame!r}; "
                    f"publish {config.fixed_frame} -> {self.fixed_frame} on /tf_static "
                    "(static_transform_publisher) to place it in your TF tree, or use "
                    "extrinsics_source 'tf'")
            note = assumed_scale_note(self.rig, config.rig_file)
            if note is not None:
                self.get_logger().info(note)
            self._tell_short_reach(config, [c for c in self.rig if c.name in self.cameras])
        elif config.extrinsics_source == "tf":
            try:
                import tf2_ros
            except ImportError:
                # No tf2_ros (a PyPI-only install, where it has no wheel): listen to
                # /tf_static and /tf ourselves and look up through those transforms.
                self.tf_tree = TransformTree()   # filled once active (_subscribe_tf)
                self.get_logger().info(
                    "extrinsics_source 'tf': tf2_ros is not installed, so this node keeps "
                    f"{TF_STATIC_TOPIC} and the last seconds of {TF_TOPIC} itself for the "
                    "camera poses")
            else:
                self.tf_buffer = tf2_ros.Buffer()
                self.tf_listener = tf2_ros.TransformListener(self.tf_buffer, self)
        known: dict[str, CameraModel] = {}
        if self.rig is not None and not config.intrinsics_from_camera_info:
            known = {name: self.rig.camera(name) for name in self.cameras}
        self.pipeline: Pose3DPipeline | None = Pose3DPipeline(
            self.cameras, known, detectors, frame_id=self.fixed_frame,
            params=pipeline_params(config), lifter=lifter)
        triangulated = OneEuroParams()
        if len(self.cameras) == 1 and config.filter.enabled and (
                config.filter.min_cutoff_hz, config.filter.beta) != (
                triangulated.min_cutoff_hz, triangulated.beta):
            # found by a review: one-camera settings tuned before filter.monocular.* existed
            # would stop acting without a word
            self.get_logger().warning(
                f"filter.min_cutoff_hz {config.filter.min_cutoff_hz:g} / filter.beta "
                f"{config.filter.beta:g} smooth triangulated people; with one camera every "
                "person is placed by one view and smoothed with filter.monocular.min_cutoff_hz"
                " / filter.monocular.beta: set those")
        self.sync = self._make_sync(self._sync_config(config, lifter), self.cameras)
        self._camera_info_seen: dict[str, CameraInfoKey] = {}
        self._camera_info_came: set[str] = set()     # cameras with a valid camera_info
        self._assumed_told: set[str] = set()   # cameras told taken by uncalibrated_hfov_deg
        # cameras taken so without any camera_info: the all-zero-K camera_info made of their
        # images' size (the all-in-one node; made once, sent again while TF is missing)
        self._camera_info_made: dict[str, CameraInfo] = {}
        self._info_change_told: set[str] = set()     # cameras whose camera_info changed
        self._slash_told: set[str] = set()           # cameras with a ROS 1 style frame id
        self._rectified_told: set[str] = set()
        self._frame_mismatch_told: set[tuple[str, str]] = set()
        self._rig_children: dict[str, str] = {}   # optical frame published -> its camera
        self._markers_published_at: float | None = None     # this node's ROS clock, s
        # camera -> CalibrationChanges under their camera_infos' stamps, for the worker
        self._calibration_changes: StampedChanges[CalibrationChange] = StampedChanges(
            CALIBRATION_WAIT_S)
        self._exact_stamps: dict[float, Any] = {}   # a set's float stamp -> its header stamp
        self._people_tf_stamp_ns = -1                 # the stamp people last went on /tf at
        self._published_layout = ""      # the joint layout of the people published last
        self._output_frame: str | None = None             # extrinsics 'none': camera's frame
        self._image_frames: dict[str, str] = {}   # camera -> the frame its images name
        self._frame_empty_told: set[str] = set()  # cameras whose camera_info had no frame_id
        self.calibrated = {name for name in self.cameras if name in known}
        self._disagreeing: set[str] = set()   # cameras told as disagreeing with the others
        self.skeletons_pub = self._publisher(Skeleton3DArray, SKELETONS_3D_TOPIC, OUTPUT_QOS)
        self.markers_pub = self.tf_pub = self.tf_static_pub = None
        if config.publish_markers:
            self.markers_pub = self._publisher(MarkerArray, MARKERS_TOPIC, OUTPUT_QOS)
        if config.publish_tf:
            # /tf with the QoS of tf2_ros's TransformBroadcaster
            self.tf_pub = self._publisher(TFMessage, TF_TOPIC, QoSProfile(depth=100),
                                          overridable=False)
        if config.publish_tf or config.publish_upright_frame:
            # /tf_static latched: the rig (publish_tf), the upright frame on its own parameter
            # (a review: publish_tf false silenced it, and rviz2's fixed frame with it)
            self.tf_static_pub = self._publisher(TFMessage, TF_STATIC_TOPIC, LATCHED_QOS,
                                                 overridable=False)

    def _read_rig(self, config: Any) -> Rig:
        """The rig of config.rig_file, checked against config.camera_names; ParameterError
        naming the fault. The all-in-one node reads it before it loads its detector (a typo
        in the file cost a model load before its one-line error)."""
        from pose3d_ros.core.calibration import load_rig
        path = config.rig_file
        try:
            rig = load_rig(path)
        except ValueError as err:       # named as the other parameters' faults are (a review)
            raise ParameterError(f"rig_file: {err}") from None
        missing = [c for c in config.camera_names if c not in rig.names]
        if missing:
            raise ParameterError(f"rig file {path!r} has no camera {missing}; it has "
                                 f"{rig.names}")
        for name in config.camera_names:
            model = rig.camera(name)
            if not (np.isfinite(model.R).all() and np.isfinite(model.t).all()
                    and np.isfinite(model.K).all()):
                raise ParameterError(f"rig file {path!r}: camera {name!r} has NaN/inf in its "
                                     "calibration")
        if config.monocular_floor and (problem := floor_frame_problem(rig, repr(path))):
            raise ParameterError(problem)
        return rig

    def _after_configure(self) -> None:
        for name in self.cameras:
            self.health.cameras[name].calibrated = name in self.calibrated
        if self.pipeline is not None and self.pipeline.lifter is not None:
            self.health.count_one_camera_people(
                lone=self.pipeline.params.lone_views is not None and len(self.cameras) > 1)

    def _after_activate(self) -> None:
        """The rig on /tf_static, once the (lifecycle) publisher is enabled, and a watch for
        another parent of its optical frames there."""
        if self.rig is not None and self.tf_static_pub is not None and \
                self.config.publish_tf and self.config.publish_rig_tf:
            cameras = [self.rig.camera(c) for c in self.cameras]
            self._rig_children = {c.frame_id or c.name: c.name for c in cameras   # as
                                  if (c.frame_id or c.name) != self.fixed_frame}  # published
            self._owned_subscriptions.append(self.create_subscription(
                TFMessage, TF_STATIC_TOPIC, self._check_rig_parents, LATCHED_QOS))
            self.tf_static_pub.publish(rig_transforms(cameras, self.fixed_frame,
                                                      self.get_clock().now().to_msg()))
        if self.rig is not None and rig_frame_is_optical(self.rig):
            # a self-calibrated rig's frame is its reference camera's optical frame (y down):
            # rviz2 shows its people upright in <frame>_upright, as for one camera
            self._publish_upright_frame(self.fixed_frame)

    # -- calibration ---------------------------------------------------------------------------
    def _subscribe_camera_info(self, camera: str, qos: QoSProfile) -> None:
        """`camera`'s camera_info with `qos` (volatile, as the images: drivers publish it with
        every image); a latched publisher of it is looked for apart
        (_look_for_latched_camera_info)."""
        topic = f"{camera}/camera_info"
        self._owned_subscriptions.append(self.create_subscription(
            CameraInfo, topic, partial(self.on_camera_info, camera), qos,
            qos_overriding_options=self.qos_overriding(topic, "subscription")))

    def _look_for_latched_camera_info(self) -> None:
        """On activation: look, every LATCHED_LOOK_PERIOD_S, for cameras whose camera_info has a
        latched publisher (transient local, reliable: it published the message once, perhaps
        before this node started, and keeps it; found by an audit: it never arrived, the node
        subscribed volatile only) and subscribe to it with LATCHED_CAMERA_INFO_QOS, which
        receives that message; once it is taken (or refused as invalid) the subscription goes.
        Looked for: cameras without calibration, and for LATCHED_LOOK_AFTER_ACTIVATION_S the
        calibrated ones (a calibration re-published while the node was inactive; see
        _latched_camera_info_tick). Never up front: a transient-local subscription makes the
        topic's volatile publishers (the usual driver) warn of an incompatible QoS in their
        own logs."""
        self._latched_subscriptions: dict[str, Any] = {}
        self._latched_camera_info: dict[str, CameraInfo] = {}    # waiting for the pose (TF)
        self._latched_done: set[str] = set()          # its latched message handled
        self._latched_look_until = time.monotonic() + LATCHED_LOOK_AFTER_ACTIVATION_S
        # (not at once: a live driver's next message usually calibrates first)
        self._owned_timers.append(self.create_timer(
            LATCHED_LOOK_PERIOD_S, self._latched_camera_info_tick,
            clock=Clock(clock_type=ClockType.STEADY_TIME)))

    def _latched_camera_info_tick(self) -> None:
        """Subscribe where a latched publisher is seen, offer the kept messages again, close
        the subscriptions whose message was handled (executor thread). A calibrated camera
        is looked at only while its intrinsics come from camera_info and every publisher of
        it is latched (a review: beside a live driver, the latched subscription made the
        driver warn and an older latched calibration replaced the live one for a moment, at
        every activation)."""
        now = time.monotonic()
        from_camera_info = self.rig is None or self.config.intrinsics_from_camera_info
        for camera in self.cameras:
            calibrated = camera in self.calibrated
            if camera in self._latched_done or camera in self._latched_subscriptions or (
                    calibrated and (now > self._latched_look_until or not from_camera_info)):
                continue
            topic = f"{camera}/camera_info"   # relative: each call below resolves it once
            latched = [info.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL
                       and info.qos_profile.reliability == ReliabilityPolicy.RELIABLE
                       for info in self.get_publishers_info_by_topic(topic)]
            if any(latched) and (all(latched) or not calibrated):
                subscription = self.create_subscription(
                    CameraInfo, topic, partial(self._offer_latched_camera_info, camera),
                    LATCHED_CAMERA_INFO_QOS, event_callbacks=SubscriptionEventCallbacks(
                        incompatible_qos=lambda _status: None))   # volatile ones: expected
                self._latched_subscriptions[camera] = subscription
                self._owned_subscriptions.append(subscription)   # (deactivate ends it too)
        for camera, msg in list(self._latched_camera_info.items()):
            self._offer_latched_camera_info(camera, msg)
        for camera in self._latched_done & set(self._latched_subscriptions):
            subscription = self._latched_subscriptions.pop(camera)
            self._owned_subscriptions.remove(subscription)
            self.destroy_subscription(subscription)

    def _offer_latched_camera_info(self, camera: str, msg: CameraInfo) -> None:
        """A latched camera_info: taken as any camera_info, but not counted as an arrival
        (images_lost compares the images with the camera_infos that come with them). It comes
        once: kept and offered again every LATCHED_LOOK_PERIOD_S while the camera's pose is
        missing (extrinsics from TF); taken or invalid, it is done with."""
        if self._take_camera_info(camera, msg) == "no_pose":
            self._latched_camera_info[camera] = msg
        else:
            self._latched_camera_info.pop(camera, None)
            self._latched_done.add(camera)

    def _has_camera_info(self, camera: str) -> bool:
        return camera in self._camera_info_came

    def on_camera_info(self, camera: str, msg: CameraInfo) -> None:
        """Executor thread: validate a CameraInfo and queue the camera model it gives for the
        processing thread (applied between sets)."""
        self._take_camera_info(camera, msg)

    def _take_camera_info(self, camera: str, msg: CameraInfo
                          ) -> Literal["taken", "invalid", "no_pose"]:
        """on_camera_info's work; what became of the message ("taken" also when it is the
        one already taken, or the rig file gives the intrinsics). A ROS 1 style frame id
        ("/camera_optical_frame", as converted ROS 1 bags carry) is taken without its slash,
        which no ROS 2 frame name has (tf2 refuses it; found by a review: the output and TF
        went out under the slashed name)."""
        frame = ros2_frame_name(msg.header.frame_id)
        if frame != msg.header.frame_id:
            if camera not in self._slash_told:
                self._slash_told.add(camera)
                self.get_logger().info(
                    f"camera {camera!r}: camera_info frame {msg.header.frame_id!r} is a ROS 1 "
                    f"style name; taken as {frame!r}")
            msg.header.frame_id = frame
        # everything the camera model is built from: a driver that changes its binning or
        # region of interest mid-stream sends a new calibration (a review: ignored before,
        # a moved 640x360 ROI's centre pixel read as a ray 24.7 degrees off the axis)
        key = CameraInfoKey(camera_info_sensor(msg), msg.distortion_model, tuple(msg.k),
                            tuple(msg.d), msg.header.frame_id)
        previous_key = self._camera_info_seen.get(camera)
        if previous_key == key:
            return "taken"
        self._camera_info_seen[camera] = key
        stamp = stamp_to_seconds(msg.header.stamp)
        if self.rig is not None and not self.config.intrinsics_from_camera_info:
            if previous_key is not None and previous_key.sensor != key.sensor:
                self._rig_images_moved(camera, previous_key.sensor, key.sensor, stamp)
            return "taken"
        try:
            model = camera_model_from_info(msg, camera, self._uncalibrated_hfov_deg())
        except CameraInfoError as err:
            # not remembered: every bad message is counted (and keeps the camera WARN), not
            # only the first of a driver repeating it; the good one taken before stays the
            # one compared with (found by a review: forgetting it told the next good message,
            # the same as before, as a change, at WARN, after every bad one)
            if previous_key is None:
                self._camera_info_seen.pop(camera, None)
            else:
                self._camera_info_seen[camera] = previous_key
            self.reject(camera, err.reason, str(err) + self._calibration_hint(err.reason))
            return "invalid"
        self._camera_info_came.add(camera)
        assumed = self._assumed_intrinsics(camera, msg, model)
        source = self.config.extrinsics_source
        if source == "rig_file":
            pose = self.rig.camera(camera)
            model = model.with_pose(pose.R, pose.t)
            if not model.frame_id:
                model.frame_id = pose.frame_id
            elif pose.frame_id and model.frame_id != pose.frame_id:
                # found by an audit: taken silently, and the output named a frame not on TF
                self._warn_frame_mismatch(
                    camera, "rig", f"its camera_info is in frame {model.frame_id!r} but the "
                                   f"rig file names its optical frame {pose.frame_id!r} (on "
                                   "/tf_static); the pose is the rig file's")
        elif source == "tf":
            model = self._pose_from_tf(camera, model)
            if model is None:                   # no pose yet: the next message tries again
                self._camera_info_seen.pop(camera, None)
                return "no_pose"
        with self._lock:
            # the calibration taken last: one the worker has not applied yet, else the
            # pipeline's (found by a fresh-clone run: the worker lagging behind, a change was
            # told as a first calibration)
            pending = [change.model for change in self._calibration_changes.pending(camera)
                       if change.model is not None]
            moved = previous_key is not None and previous_key.sensor != key.sensor
            self._calibration_changes.add(camera, stamp, CalibrationChange(model, moved),
                                          time.monotonic())
            if source == "none":
                # a camera_info without frame_id: the images' frame once one names it
                # (output_frame_from_image), the camera's name until then (a review: the 3D
                # went out in frame 'cam01' beside images in 'cam01_optical_frame', unsaid)
                frame = msg.header.frame_id or self._image_frames.get(camera) or camera
                self._set_output_frame(frame)
        if source == "none" and not msg.header.frame_id and camera not in self._frame_empty_told:
            self._frame_empty_told.add(camera)
            self.get_logger().warning(
                f"camera {camera!r}: its camera_info has no header.frame_id; the 3D goes out "
                f"in the frame its images name ({frame!r} until one does): give camera_info "
                "the camera's optical frame")
        self._wake.set()
        previous = (pending[-1] if pending else self.pipeline.camera(camera)) \
            if camera in self.calibrated else None
        self.calibrated.add(camera)
        if previous is None:
            # the inputs it came after, ignored, said here rather than in a line of their own
            # each (a review of the start-up: 'rejected input [no_camera_info]' for an image
            # 2 ms ahead of its camera_info, on every camera of a rig at every start); an
            # assumed calibration was told at WARN
            health = self.health.cameras.get(camera) if self.health is not None else None
            before = health.rejected["no_camera_info"] if health is not None else 0
            (self.get_logger().debug if assumed else self.get_logger().info)(
                f"camera {camera!r}: calibration from camera_info ({msg.width}x{msg.height}, "
                f"{model.distortion_model})" + (f"; {before} input{'s' if before > 1 else ''} "
                                                "before it ignored" if before else ""))
        elif camera not in self._info_change_told:
            # found by an audit: a new K mid-run was told like the first calibration; once per
            # camera (a review: a driver alternating two K logged 15-30 lines a second)
            self._info_change_told.add(camera)
            self.get_logger().warning(
                f"camera {camera!r}: its camera_info changed mid-run: "
                f"{previous.width}x{previous.height} fx {previous.K[0, 0]:.1f} fy "
                f"{previous.K[1, 1]:.1f} px -> {model.width}x{model.height} fx "
                f"{model.K[0, 0]:.1f} fy {model.K[1, 1]:.1f} px; the 3D uses the new one for "
                "its images stamped from then on (later changes of this camera are taken "
                "without a word)")
        self._check_rectified(camera, model)
        return "taken"

    def _rig_images_moved(self, camera: str, before: tuple[int, ...],
                          now: tuple[int, ...], stamp: float) -> None:
        """A camera of the rig file whose camera_info moved its images on the sensor (roi,
        binning, resolution): its detector forgets the people it tracks before the next set
        (their ROIs crop the old place: a person lost, then a skeleton hundreds of pixels off),
        and WARN once that the rig file's intrinsics describe the images before (a review:
        taken without a word)."""
        with self._lock:
            self._calibration_changes.add(camera, stamp, CalibrationChange(None, True),
                                          time.monotonic())
        self._wake.set()
        if camera in self._info_change_told:
            return
        self._info_change_told.add(camera)
        self.get_logger().warning(
            f"camera {camera!r}: its camera_info moved the images on the sensor (width, "
            f"height, binning x / y, roi x, y, width, height {before} -> {now}), but its "
            "intrinsics are the rig file's, made for other images: its 3D is off until the rig "
            "file describes these images (or set intrinsics_from_camera_info); later changes "
            "of this camera are taken without a word")

    def check_frame_ids(self, camera: str, input_frame: str, what: str = "images") -> None:
        """Warn once when a camera's input (its images, or the 2D of its images) names another
        frame than its camera_info (found by an audit: the output silently took the
        camera_info's frame); one unposed camera whose camera_info names none publishes in the
        input's frame (output_frame_from_image; a review: the fusion node used the camera's
        name, no TF frame)."""
        seen = self._camera_info_seen.get(camera)
        info_frame = seen.frame_id if seen else ""
        input_frame = ros2_frame_name(input_frame)   # as the camera_info's (_take_camera_info)
        if not info_frame:
            self.output_frame_from_image(camera, input_frame)
        if input_frame and info_frame and input_frame != info_frame:
            self._warn_frame_mismatch(
                camera, "image", f"its {what} are in frame {input_frame!r} but its camera_info "
                f"in {info_frame!r}; the 3D and TF use the camera_info's (a driver's optical "
                "frame)")

    def output_frame_from_image(self, camera: str, image_frame: str) -> None:
        """One camera without a pose whose camera_info names no frame: the 3D goes out in the
        frame its images name (ROS 2 spelling), told once by _take_camera_info."""
        if self.config.extrinsics_source != "none" or not image_frame or \
                self._image_frames.get(camera) == image_frame:
            return
        self._image_frames[camera] = image_frame
        seen = self._camera_info_seen.get(camera)
        if seen is None or seen.frame_id:     # no camera_info yet, or one that names a frame
            return
        with self._lock:
            self._set_output_frame(image_frame)
        self._wake.set()

    def _set_output_frame(self, frame: str) -> None:
        """The frame of one unposed camera's 3D, its upright frame broadcast when it is new
        (caller holds self._lock; the worker applies it between sets)."""
        if frame != self._output_frame:
            self._publish_upright_frame(frame)
        self._output_frame = frame

    def _check_rig_parents(self, msg: TFMessage) -> None:
        """WARN once per camera, and count on /diagnostics (`tf_two_parents`), when another
        publisher gives an optical frame of the rig another parent on /tf_static (found by a
        review: a camera driver's camera_link -> <camera>_optical_frame beside the rig's,
        without a word; tf2 keeps one parent per frame, so lookups, the body_<id> frames
        and rviz2's cameras flip between the two trees)."""
        for transform in msg.transforms:
            child = transform.child_frame_id.lstrip("/")
            parent = transform.header.frame_id.lstrip("/")
            camera = self._rig_children.get(child)
            if camera is None or parent == self.fixed_frame:
                continue
            text = (f"camera {camera!r}: its optical frame {child!r} has another parent on "
                    f"{TF_STATIC_TOPIC}, {parent!r} (a camera driver's?), beside the rig's "
                    f"{self.fixed_frame!r} this node publishes (publish_rig_tf): tf2 keeps one "
                    "parent per frame, so TF lookups and rviz2 flip between the two; set "
                    f"publish_rig_tf false and publish {self.fixed_frame} -> {parent} instead")
            if self.health.reject(camera, "tf_two_parents", text, level="warn"):
                self.get_logger().warning(text)

    def _uncalibrated_hfov_deg(self) -> float:
        """uncalibrated_hfov_deg where no rig file gives the cameras' intrinsics (extrinsics
        from TF or none); 0 with a rig file, whose K of each camera is better than a guess
        (intrinsics_from_camera_info false takes it)."""
        return self.config.uncalibrated_hfov_deg if self.rig is None else 0.0

    def _calibration_hint(self, reason: str) -> str:
        """What takes a camera_info refused for `reason` after all: for an all-zero K,
        uncalibrated_hfov_deg, or with a rig file its K (found by a ros2 launch check: the
        refusal named neither, so the setting made for such a camera was not found)."""
        if reason != "camera_info_zero":
            return ""
        if self.rig is not None:
            return "; intrinsics_from_camera_info false takes the rig file's K"
        return ("; set uncalibrated_hfov_deg to its horizontal field of view (e.g. 65) to take "
                "it as an undistorted pinhole (docs/nodes.md, 'A camera nobody calibrated')")

    def _assumed_intrinsics(self, camera: str, msg: CameraInfo, model: CameraModel) -> bool:
        """Whether the camera's model comes from uncalibrated_hfov_deg (its camera_info's K
        all zero); told once per camera at WARN, and kept in the camera's diagnostics while
        it lasts."""
        health = self.health.cameras.get(camera) if self.health is not None else None
        if not is_uncalibrated(msg):
            if health is not None:
                health.assumed_intrinsics = ""
            return False
        hfov = self.config.uncalibrated_hfov_deg
        what = (f"pinhole, {hfov:g} deg horizontal field of view (uncalibrated_hfov_deg), "
                f"fx = fy = {model.K[0, 0]:.1f} px at {model.width}x{model.height}")
        if health is not None:
            health.assumed_intrinsics = what
        if camera not in self._assumed_told:
            self._assumed_told.add(camera)
            why = (f"no camera_info in {node_base.CAMERA_INFO_WAIT_S:g} s of images"
                   if camera in self._camera_info_made else
                   "its camera_info has an all-zero K (not calibrated)")
            self.get_logger().warning(
                f"camera {camera!r}: {why}; "
                f"taken as {what}, no lens distortion: people's distance from this camera "
                "scales with its true focal length (calibrate it, e.g. with ROS's "
                "camera_calibration, for metric placement)")
        return True

    def _warn_frame_mismatch(self, camera: str, kind: str, what: str) -> None:
        """Warn once per camera and kind that two of its frame names disagree (`what` says
        which)."""
        if (camera, kind) in self._frame_mismatch_told:
            return
        self._frame_mismatch_told.add((camera, kind))
        self.get_logger().warning(f"camera {camera!r}: {what}: make the two agree")

    def _check_rectified(self, camera: str, model: Any) -> None:
        """Warn once when the images read are rectified by their topic's name (image_rect,
        image_rect_color) while the camera_info still carries lens distortion: the node
        undistorts the 2D with D, so such images are undistorted twice (an audit measured
        6 px of 2D and 10 cm of 3D moved, silently)."""
        subscription = self._input_subscriptions.get(camera)
        # the topic as subscribed, remappings applied (a review: `-r cam01/image_raw:=
        # cam01/image_rect` read rectified images without a word)
        topic = subscription.topic_name if subscription is not None else str(
            getattr(self.config, "image_topic", ""))
        name = topic.removesuffix("/compressed").split("/")[-1]
        if "rect" not in name or not np.any(np.asarray(model.dist) != 0) or \
                camera in self._rectified_told:
            return
        self._rectified_told.add(camera)
        self.get_logger().warning(
            f"camera {camera!r}: images from {topic!r}, rectified by its name, but its "
            f"camera_info has lens distortion D={np.round(model.dist, 4).tolist()}: the node "
            "undistorts with D, so these images are undistorted twice; read image_raw, or give "
            "a camera_info of the rectified images (D zero, K from P)")

    def _publish_upright_frame(self, frame: str) -> None:
        """/tf_static <frame> -> <frame>_upright (publish_upright_frame), for viewers of the
        one-camera output and of a rig whose frame is a camera's optical frame."""
        if self.tf_static_pub is not None and self.config.publish_upright_frame:
            self.tf_static_pub.publish(upright_transforms(frame,
                                                          self.get_clock().now().to_msg()))

    def _between_sets(self, frame_set: FrameSet | None) -> None:
        """Processing thread: apply the calibrations handed over by on_camera_info that the
        set's images were taken with (stamped at or before each camera's frame, or come
        CALIBRATION_WAIT_S after it: a camera_info on another clock; a camera's first
        calibration at once); with extrinsics_source 'tf', pose the set's cameras at their
        images' stamps."""
        due: dict[str, list[CalibrationChange]] = {}
        with self._lock:
            for camera in self._calibration_changes.cameras():
                frame = frame_set.frames.get(camera) if frame_set is not None else None
                stamp = frame.stamp if frame is not None else \
                    frame_set.stamp if frame_set is not None else None
                due[camera] = self._calibration_changes.take_due(
                    camera, stamp, frame.received if frame is not None else None,
                    everything=self.pipeline.camera(camera) is None)
            output_frame = self._output_frame
        for camera, changes in due.items():
            models = [change.model for change in changes if change.model is not None]
            model = models[-1] if models else self.pipeline.camera(camera)
            if not changes or model is None:       # none due yet; or moved images, no model
                continue
            # the newest model that applies; the image trackers' pixels move from the model in
            # use to it (several changes due at once move them once)
            self.pipeline.set_camera(model, image_moved=any(c.image_moved for c in changes))
            if models:
                self.health.cameras[camera].calibrated = True   # in use from this set on
        if output_frame is not None:
            self.pipeline.frame_id = output_frame
        if frame_set is not None and self.config.extrinsics_source == "tf":
            self._pose_at_stamps(frame_set)

    def _pose_at_stamps(self, frame_set: FrameSet) -> None:
        """Each camera of the set posed by TF at its image's stamp: a robot moving in
        fixed_frame (odom, map) carries its cameras, and the 3D of a set must use where they
        were when it was taken (a review: the pose looked up at the first camera_info was kept,
        so people were placed as if the robot had never moved). When TF does not reach the
        stamp (late, or gone), the newest pose is used and that is counted
        (extrinsics_tf_late); when there is none any more, the last one stays (extrinsics_tf).
        A pose that did not change leaves the pipeline as it is."""
        version = self._static_version()     # read before any lookup: none is missed
        for camera, frame in frame_set.frames.items():
            model = self.pipeline.camera(camera)
            if model is None or not model.frame_id:
                continue
            try:
                if self._tf_is_static(model.frame_id):
                    # looked up again only when a static transform changed (a pose
                    # re-published on /tf_static was never used: a review)
                    if self._static_posed.get(camera) == version:
                        continue
                    R, t = self._fixed_in_optical(model.frame_id, None)
                    self._static_posed[camera] = version
                else:
                    R, t = self._pose_at_stamp(camera, model.frame_id, frame)
            except Exception as err:  # noqa: BLE001 - gone, or a cycle: the last pose stays
                self.reject(camera, "extrinsics_tf", f"camera {camera!r}: no TF from "
                            f"{self.fixed_frame!r} to {model.frame_id!r} any more ({err}); its "
                            "last pose is used")
                continue
            if not (np.array_equal(R, model.R) and np.array_equal(t, model.t)):
                self.pipeline.set_camera(model.with_pose(R, t))

    def _pose_at_stamp(self, camera: str, frame_id: str, frame: Any
                       ) -> tuple[np.ndarray, np.ndarray]:
        """(R, t) of fixed_frame in the camera's optical frame at its image's stamp, or the
        newest, counted as extrinsics_tf_late, when TF does not reach that stamp."""
        try:
            return self._fixed_in_optical(frame_id, frame.stamp, frame.payload[1].stamp)
        except Exception as at_stamp:  # noqa: BLE001 - tf2 raises several exceptions
            R, t = self._fixed_in_optical(frame_id, None)
            self.reject(camera, "extrinsics_tf_late", f"camera {camera!r}: no TF from "
                        f"{self.fixed_frame!r} to {frame_id!r} at its image's stamp "
                        f"{frame.stamp:.3f} s ({at_stamp}); the newest is used", kept=True)
            return R, t

    def _static_version(self) -> int:
        """The TF tree's static_version (-1 without one)."""
        if self.tf_tree is None:
            return -1
        with self._tf_lock:
            return self.tf_tree.static_version

    def _tf_is_static(self, frame: str) -> bool:
        """Whether, without tf2_ros, `frame` and fixed_frame are joined by static transforms
        only (their lookup needs no repeating per set; LookupError when they are not
        joined); with tf2_ros that is unknown: False."""
        if self.tf_tree is None:
            return False
        with self._tf_lock:
            return self.tf_tree.is_static(frame, self.fixed_frame)

    def _fixed_in_optical(self, frame: str, stamp: float | None, exact: Any = None
                          ) -> tuple[np.ndarray, np.ndarray]:
        """(R, t) with p_frame = R p_fixed + t (the fixed frame's pose in the optical frame
        `frame`) at `stamp` (s; None: the newest; exact: the same stamp as a
        builtin_interfaces/Time, which tf2_ros is asked with: float seconds are up to a few
        hundred ns off), from tf2_ros or, without it, from the node's own tree; tf2's
        exceptions or LookupError when unknown."""
        if self.tf_buffer is not None:
            from rclpy.time import Time

            at = Time() if stamp is None else Time.from_msg(exact) if exact is not None \
                else Time(nanoseconds=seconds_to_ns(stamp))
            return transform_from_stamped(self.tf_buffer.lookup_transform(
                frame, self.fixed_frame, at)).matrix()
        with self._tf_lock:
            return self.tf_tree.lookup(frame, self.fixed_frame, stamp)

    def _on_clock_jump(self, jump: Any) -> None:
        """PoseNodeBase's restart on a jump back of the clock, and the /tf history of the old
        time line forgotten: the node's own tree (without tf2_ros; static transforms kept),
        or tf2_ros's buffer, which the node makes without a node, so it follows the system
        clock and not /clock (a review: the buffer's own jump handling never fires here)."""
        super()._on_clock_jump(jump)
        if self.tf_tree is not None:
            with self._tf_lock:
                self.tf_tree.forget_timed()
        if self.tf_buffer is not None:      # (not installable from PyPI: not tested here)
            self.tf_buffer.clear()

    def _subscribe_tf(self) -> None:
        """Without tf2_ros: collect the latched /tf_static transforms and the stamped /tf
        ones (with the QoS of tf2_ros's listener) for camera poses."""
        if self.tf_tree is not None:
            self._owned_subscriptions.append(self.create_subscription(
                TFMessage, TF_STATIC_TOPIC, self._on_tf_static, LATCHED_QOS))
            self._owned_subscriptions.append(self.create_subscription(
                TFMessage, TF_TOPIC, self._on_tf, QoSProfile(depth=100)))

    def _on_tf_static(self, msg: TFMessage) -> None:
        try:
            transforms = transforms_from_message(msg)
            with self._tf_lock:
                self.tf_tree.add(transforms)
        except ValueError as err:   # reported under the topic's name, like a camera's input
            self.reject(TF_STATIC_TOPIC, "extrinsics_tf", f"{TF_STATIC_TOPIC}: {err}")

    def _on_tf(self, msg: TFMessage) -> None:
        """/tf: kept with their stamps, except this node's own people (body_<id> frames)."""
        own = f"{self.config.tf_prefix}body_"
        items = [item for item in msg.transforms if not item.child_frame_id.startswith(own)]
        if not items:
            return
        try:
            transforms = [transform_from_stamped(item) for item in items]
            stamps = [stamp_to_seconds(item.header.stamp) for item in items]
            with self._tf_lock:
                self.tf_tree.add_timed(transforms, stamps)
        except ValueError as err:
            self.reject(TF_TOPIC, "extrinsics_tf", f"{TF_TOPIC}: {err}")

    def _pose_from_tf(self, camera: str, model: Any) -> Any:
        """The camera posed by the newest transform fixed_frame -> its optical frame (x_cam =
        R x_fixed + t; _fixed_in_optical); None (reported, retried with the next camera_info)
        while the transform is unknown. Each set then poses it at its image's stamp
        (_pose_at_stamps)."""
        try:
            R, t = self._fixed_in_optical(model.frame_id, None)
        except Exception as err:  # noqa: BLE001 - tf2 raises several lookup exceptions
            self._camera_info_seen.pop(camera, None)   # try again with the next camera_info
            self.reject_while_starting(camera, "extrinsics_tf", f"camera {camera!r}: no TF "
                                       f"from {self.fixed_frame!r} to {model.frame_id!r}: {err}")
            return None
        return model.with_pose(R, t)

    # -- output --------------------------------------------------------------------------------
    def _tell_layout_change(self, layout: str) -> None:
        """WARN when the people's joint layout differs from the last published one (found by
        an audit: one camera's detector restarted with another back-end switched /skeletons
        to its layout, and the ids with it, without a word)."""
        if self._published_layout and layout != self._published_layout:
            self.get_logger().warning(
                f"the 3D output's joint layout changed from {self._published_layout} to "
                f"{layout}: a camera's 2D came in another layout (a detector restarted with "
                "another back-end?; ids may start again). Set output_layout (e.g. 'coco17' or "
                "'h36m17') to publish one layout whatever the cameras give")
        self._published_layout = layout

    def publish_3d(self, result: Any, frame_set: FrameSet, header_stamps: list | None = None
                   ) -> None:
        """header_stamps: the original stamps of the frames in the set; their exact mean is the
        output stamp (float seconds would shift it by up to a few hundred nanoseconds)."""
        stamp = mean_stamp(header_stamps) if header_stamps else seconds_to_stamp(result.stamp)
        if self.pipeline is not None and self.pipeline.described_lag:
            # a centred lifter's 3D is of an earlier set: its exact stamp, kept from then (a
            # review: stamped with the newest set, 0.4 s late at T=27 and 30 fps)
            self._exact_stamps[result.stamp] = stamp
            while len(self._exact_stamps) > EXACT_STAMPS_KEPT:
                del self._exact_stamps[next(iter(self._exact_stamps))]
            stamp = self._exact_stamps.get(result.described_stamp,
                                           seconds_to_stamp(result.described_stamp))
        frames = [self.pipeline.camera(c).frame_id or c for c in result.cameras]
        publish_start = time.perf_counter()
        if result.skeletons.num_people:
            self._tell_layout_change(result.skeletons.layout.name)
        bodies = body_frames(result.skeletons.positions, result.skeletons.layout)
        # /tf first: a consumer looks the people's frames up at the skeletons' stamp in its
        # skeletons callback, and they were sent 1-7 ms after the skeletons (a review: a
        # tf2 extrapolation error in every set). Untracked ids are a frame's order, not a
        # person: no body_<id> frames; once per stamp: a centred lifter's first sets all
        # describe the first one, and tf2 drops a transform repeated at its stamp with a
        # TF_REPEATED_DATA warning (a review)
        stamp_ns = stamp_to_ns(stamp)
        if self.tf_pub is not None and result.skeletons.num_people and \
                self.config.tracking.enabled and stamp_ns != self._people_tf_stamp_ns:
            self._people_tf_stamp_ns = stamp_ns
            self.tf_pub.publish(people_transforms(result.skeletons, stamp, frames=bodies,
                                                  per_joint=self.config.tf_per_joint,
                                                  prefix=self.config.tf_prefix))
        self.skeletons_pub.publish(skeletons3d_to_msg(result.skeletons, stamp, frames, bodies))
        self.tell_first_output(result.skeletons.num_people, "3D", result.cameras)
        # Markers are for viewers: not built while nobody subscribes (about 1 ms per person).
        if self.markers_pub is not None and self.markers_pub.get_subscription_count():
            # rviz2 expires markers on its ROS clock: the periods are measured on this node's
            # (simulated time with a bag replayed at another rate; a review: wall time kept
            # them 4x too long at rate 0.25 and would let them blink out at rate 3)
            shown_at = self.get_clock().now().nanoseconds * 1e-9
            self.markers_pub.publish(skeleton_markers(
                result.skeletons, stamp, frames=bodies, rig=len(self.cameras) > 1,
                lifetime_s=marker_lifetime_s(self._markers_published_at, shown_at)))
            self._markers_published_at = shown_at
        publish_s = time.perf_counter() - publish_start
        now = time.monotonic()
        latency = ns_to_seconds(self.get_clock().now().nanoseconds) - result.described_stamp
        timings = output_timings(result.timings, publish_s, frame_set, now, latency)
        self.health.record_output(timings, latency, time.monotonic())
        if result.rejected and len(result.cameras) == 1:   # a one-camera set's people
            self.health.record_people(result.cameras[0], {
                "published": result.skeletons.num_people, **result.rejected})
        for camera, count in result.lone.items():          # a rig's lone people
            self.health.record_people(camera, {"lone": count})
        if result.note and not self._two_d_only():
            self.reject("pipeline", "no_3d", result.note)
        if len(result.cameras) > 2 and self.pipeline is not None:
            self._tell_disagreeing_cameras()

    def _tell_disagreeing_cameras(self) -> None:
        """A camera whose 2D does not fit the other cameras' 3D (core.camera_agreement: its
        pose off, or another camera's calibration) is told once at WARN and on its status
        (disagrees), and its return to agreement once at INFO (a review: a camera turned
        5 degrees or two swapped calibrations made ghosts and lost people without a word)."""
        assert self.pipeline is not None and self.health is not None
        agreement = self.pipeline.camera_agreement
        now = {d.camera: d for d in agreement.disagreements()}
        for camera, found in now.items():
            if camera not in self._disagreeing:
                self.reject(camera, "disagrees", found.text(), kept=True)
            if camera in self.health.cameras:   # WARN on its status while it lasts (a review)
                self.health.cameras[camera].disagrees = found.text()
        # a camera agrees again once judged without the fault; after a restart (a looping
        # replay) its history is gone: not judged yet is not agreeing (a review)
        judged = agreement.judged_cameras()
        for camera in self._disagreeing - set(now):
            if camera in judged:
                self.get_logger().info(f"camera {camera!r} agrees with the other cameras again")
                if camera in self.health.cameras:
                    self.health.cameras[camera].disagrees = ""
        self._disagreeing = set(now) | {c for c in self._disagreeing - set(now)
                                        if c not in judged}

    def _two_d_only(self) -> bool:
        """One camera, no monocular method and publish_2d: the documented 2D-only node
        (config_rules allows it), whose sets give no 3D by design (a review: a WARN no_3d a
        minute, and a rejection counted for every set)."""
        config = self.config
        return (len(self.cameras) == 1 and getattr(config, "publish_2d", False)
                and getattr(config, "monocular_method", "") == "none")

    @staticmethod
    def header_stamps(frame_set: FrameSet, cameras: Iterable[str] | None = None) -> list:
        """The header stamps of the set's frames (of `cameras`, default every frame's): each
        frame's payload is (its data, its message header)."""
        names = frame_set.frames if cameras is None else cameras
        return [frame_set.frames[c].payload[1].stamp for c in names]

    def _answer_failed_set(self, frame_set: FrameSet) -> None:
        """Every input set gets exactly one Skeleton3DArray: an empty one when it failed,
        stamped as a processed set would be (the exact mean of its frames' header stamps: float
        seconds were up to a few hundred ns off, found by a review)."""
        pipeline = getattr(self, "pipeline", None)
        if pipeline is not None:
            self.publish_3d(pipeline.empty_result(frame_set.stamp), frame_set,
                            self.header_stamps(frame_set))

    def _extra_diagnostics(self) -> dict[str, str]:
        """The trackers' counters: the 3D tracker's (several cameras) and every camera's image
        tracker (one-camera sets, lone views) together, so a one-camera node counts its
        people too. On the worker thread (NodeBase._extra_diagnostics)."""
        pipeline = getattr(self, "pipeline", None)
        if pipeline is None:
            return {}
        trackers = [t for t in [pipeline.tracker, *pipeline.image_trackers.values()]
                    if t is not None]
        stats = pipeline.tracker_stats
        # restarts: time went back (a replay loop, a simulator reset) and ids started over
        # (a review: only an INFO line said so, and the counters went back to zero)
        values = {"tracks_started": str(stats.tracks_started),
                  # each camera's roll its one-camera sets use (camera_quarter_turns; learned
                  # from the people unless set: a review found a sideways camera never turned
                  # and nothing saying so)
                  **({"camera_quarter_turns": ", ".join(
                      f"{name} {upright.quarter_turns}"
                      for name, upright in sorted(pipeline.uprights.items()))}
                     if pipeline.uprights else {}),
                  "tracks_reidentified": str(stats.reidentified),
                  "tracks_forgotten": str(stats.tracks_forgotten),
                  "people_tracked": str(sum(len(t.active_ids) for t in trackers)),
                  "restarts": str(pipeline.restarts)}
        if len(self.cameras) > 1:   # the rig sets' people left out (one camera's: per camera)
            values |= {"rig_person_frames_refused_implausible":
                       str(pipeline.rig_refused["implausible"]),
                       "rig_person_frames_held_unconfirmed":
                       str(pipeline.rig_refused["unconfirmed"]),
                       "rig_person_frames_refused_beyond_reach":
                       str(pipeline.rig_refused["beyond_reach"])}
        return values

    def _close_models(self) -> None:
        pipeline = getattr(self, "pipeline", None)
        if pipeline is not None:
            pipeline.close()
        self.pipeline = None
        # tf2_ros's listener holds its /tf and /tf_static subscriptions on this node until
        # unregistered (its __del__ never runs: the node holds it); every configure added a
        # pair, kept through cleanup and after (a review, with a listener made as tf2_ros
        # makes it: tf2_ros has no wheel here)
        if self.tf_listener is not None:
            self.tf_listener.unregister()
        self.tf_listener = None
        self.rig = self.tf_tree = self.tf_buffer = None
        self._calibration_changes = StampedChanges(CALIBRATION_WAIT_S)
