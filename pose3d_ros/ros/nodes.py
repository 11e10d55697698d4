"""The pose3d_ros nodes, all lifecycle nodes (rclpy.lifecycle):

  Pose3DNode        all in one: N cameras (images + camera_info) -> 3D skeletons
  DetectorNode      one camera's images -> Skeleton2DArray (runs where the camera is)
  FusionNode        N cameras' Skeleton2DArray + camera_info -> 3D skeletons

Lifecycle: parameters are declared in the constructor; configure reads and validates them,
loads the calibration and the models and makes the publishers; activate starts the
subscriptions, timers and the processing thread; deactivate stops them; cleanup releases
publishers and models. With the parameter `autostart` (default true) main() configures and
activates the node itself, so `ros2 run` works without a lifecycle manager. rclpy has no
composable-node container (components are C++ only); several of these nodes can share one
process with one executor instead.

Threads: subscription callbacks only decode and hand frames to the synchroniser (cheap); a
processing thread takes the NEWEST finished frame set, runs the pipeline and publishes, so the
node never queues up latency when the detector is slower than the cameras (older sets are
dropped and counted).

Bad input never stops a node: each rejected message is counted per camera and reason, shown
on /diagnostics, and logged once per (camera, reason).
"""
from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from pose3d_ros.core.body_frame import body_frames
from pose3d_ros.core.camera import CameraInfoError
from pose3d_ros.core.filtering import OneEuroParams
from pose3d_ros.core.image_decode import ImageDecodeError, decode_compressed, decode_image
from pose3d_ros.core.pipeline import (
    PipelineParams,
    Pose3DPipeline,
    create_detectors,
    create_monocular_method,
)
from pose3d_ros.core.static_tf import StaticTransformTree, transforms_from_message
from pose3d_ros.core.sync import FrameSet, FrameSynchronizer
from pose3d_ros.core.tracking import TrackerParams
from pose3d_ros.msg import Skeleton2DArray, Skeleton3DArray

from .conversions import (
    camera_model_from_info,
    detections_from_msg,
    detections_to_msg,
    mean_stamp,
    seconds_to_stamp,
    skeletons3d_to_msg,
    stamp_to_seconds,
)
from .diagnostics import NodeHealth
from .parameters import (
    ALL_IN_ONE_PARAMS,
    DETECTOR_PARAMS,
    FUSION_PARAMS,
    ParameterError,
    ParamSpec,
    declare_parameters,
    read_parameters,
)
from .tf import TF_STATIC_TOPIC, TF_TOPIC, people_transforms, rig_transforms
from .visualization import skeleton_markers

SKELETONS_3D_TOPIC = "skeletons"
MARKERS_TOPIC = "skeleton_markers"
SKELETONS_2D_TOPIC = "skeletons_2d"
DIAGNOSTICS_TOPIC = "/diagnostics"
SYNC_POLL_PERIOD_S = 0.005
# Stamp-related drops that mean bad input (logged and reported); other drops are normal load.
_BAD_STAMP_REASONS = ("duplicate_stamp", "stamp_backwards", "late", "time_reset")
# A camera is reported when its rate exceeds the median of the others by this factor.
RATE_MISMATCH_FACTOR = 3.0


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


_LATCHED = QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                      reliability=ReliabilityPolicy.RELIABLE)
_OUTPUT = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


class _PoseNodeBase(LifecycleNode):
    """What the three nodes share: parameters, synchroniser, health, the processing thread,
    camera calibration handling and /diagnostics."""

    SPECS: tuple[ParamSpec, ...] = ()

    def __init__(self, node_name: str, **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        declare_parameters(self, self.SPECS)
        self.add_on_set_parameters_callback(self._check_new_parameters)
        self.params: dict[str, Any] = {}
        self.cameras: tuple[str, ...] = ()
        self.sync: FrameSynchronizer | None = None
        self.health: NodeHealth | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._running = False
        self._worker: threading.Thread | None = None
        self._owned_subscriptions: list = []
        self._owned_timers: list = []
        self._owned_publishers: list = []
        self.last_error: str = ""

    def _check_new_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        """Refuse a runtime change that breaks a choice or range, with the reason (rclpy
        enforces the descriptor ranges, not the choices). Values are read at configure."""
        specs = {spec.name: spec for spec in self.SPECS}
        for parameter in parameters:
            spec = specs.get(parameter.name)
            if spec is None:
                continue
            try:
                spec.check(parameter.value)
            except ParameterError as err:
                return SetParametersResult(successful=False, reason=str(err))
        return SetParametersResult(successful=True)

    # -- lifecycle ---------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.last_error = ""
        try:
            self.params = read_parameters(self, self.SPECS)
            self._configure(self.params)
        except Exception as err:  # noqa: BLE001 - rclpy would swallow it without a word
            self.last_error = str(err)
            self.get_logger().error(f"configure failed: {type(err).__name__}: {err}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        self.health = NodeHealth(self.get_name(), self.cameras)
        self._after_configure()
        self.diagnostics_pub = self._publisher(
            DiagnosticArray, DIAGNOSTICS_TOPIC, _OUTPUT)
        self.get_logger().info(f"configured: cameras {list(self.cameras)}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._subscribe()
        self._owned_timers.append(self.create_timer(SYNC_POLL_PERIOD_S, self._poll))
        self._owned_timers.append(self.create_timer(self.params["diagnostics_period_s"],
                                                    self.publish_diagnostics))
        self._running = True
        self._worker = threading.Thread(target=self._work, name=f"{self.get_name()}_worker",
                                        daemon=True)
        self._worker.start()
        self.get_logger().info("active")
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop()
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def destroy_node(self) -> None:
        """Stop the processing thread before the node goes (it may be publishing)."""
        self._stop()
        self._close_models()
        super().destroy_node()

    def _stop(self) -> None:
        self._running = False
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=10.0)
            self._worker = None
        for sub in self._owned_subscriptions:
            self.destroy_subscription(sub)
        for timer in self._owned_timers:
            self.destroy_timer(timer)
        self._owned_subscriptions, self._owned_timers = [], []

    def _publisher(self, msg_type: Any, topic: str, qos: QoSProfile):
        """A publisher that cleanup() releases."""
        publisher = self.create_publisher(msg_type, topic, qos)
        self._owned_publishers.append(publisher)
        return publisher

    def _release(self) -> None:
        for pub in self._owned_publishers:
            self.destroy_publisher(pub)
        self._owned_publishers = []
        self._close_models()

    # -- hooks for the concrete nodes ----------------------------------------------------------
    def _configure(self, params: dict[str, Any]) -> None:
        raise NotImplementedError

    def _after_configure(self) -> None:
        """Publishers that need self.health (after _configure)."""

    def _subscribe(self) -> None:
        raise NotImplementedError

    def _process(self, frame_set: FrameSet) -> None:
        raise NotImplementedError

    def _close_models(self) -> None:
        """Release detectors and other models."""

    # -- input ---------------------------------------------------------------------------------
    def reject(self, camera: str, reason: str, message: str) -> None:
        """Count a bad input; log it the first time this camera shows this reason."""
        if self.health is not None and self.health.reject(camera, reason, message):
            self.get_logger().error(f"rejected input [{reason}] {message} (counted on "
                                    "/diagnostics; logged once per camera and reason)")

    def offer(self, camera: str, stamp: float, payload: Any) -> None:
        """Give one frame to the synchroniser (bad stamps are rejected and reported)."""
        now = time.monotonic()
        with self._lock:
            last = self.sync.state[camera].last_stamp
            reason = self.sync.add(camera, stamp, payload, now)
        if reason in _BAD_STAMP_REASONS:
            self.reject(camera, reason, f"camera {camera!r}: stamp {stamp:.6f} s after "
                        f"{last if last is not None else float('nan'):.6f} s ({reason})")
        elif reason is None and last is not None and stamp - last > self.params.get(
                "sync.stale_after_s", self.sync.stale_after_s):
            self.reject(camera, "stamp_jump", f"camera {camera!r}: stamp jumped forward by "
                        f"{stamp - last:.3f} s (frame kept)")
        self._wake.set()

    def _poll(self) -> None:
        with self._lock:
            self.sync.poll(time.monotonic())
            ready = self.sync.pending()
        if ready:
            self._wake.set()

    def _work(self) -> None:
        while self._running:
            self._wake.wait(timeout=0.1)
            self._wake.clear()
            while self._running:
                with self._lock:
                    frame_set = self.sync.pop_latest()
                if frame_set is None:
                    break
                try:
                    self._process(frame_set)
                except Exception as err:  # noqa: BLE001 - a bad set must not kill the thread
                    self.reject("pipeline", type(err).__name__,
                                f"processing the set at {frame_set.stamp:.6f} s failed: {err}")
                    self._answer_failed_set(frame_set)

    def _answer_failed_set(self, frame_set: FrameSet) -> None:
        """Nodes whose every input set gets an output message publish an empty one here."""

    # -- diagnostics ---------------------------------------------------------------------------
    def publish_diagnostics(self) -> None:
        now = time.monotonic()
        with self._lock:
            self._check_rates(now)
            report = self.health.report(self.get_clock().now().to_msg(), now, self.sync,
                                        inputs_arriving=bool(self.sync.live_cameras(now)),
                                        extra=self._extra_diagnostics())
        self.diagnostics_pub.publish(report)

    def _extra_diagnostics(self) -> dict[str, str]:
        """Node-specific key/values for the pipeline status."""
        tracker = getattr(getattr(self, "pipeline", None), "tracker", None)
        if tracker is None:
            return {}
        return {"tracks_started": str(tracker.stats.tracks_started),
                "tracks_reidentified": str(tracker.stats.reidentified),
                "tracks_forgotten": str(tracker.stats.tracks_forgotten),
                "people_tracked": str(len(tracker.active_ids))}

    def _check_rates(self, now: float) -> None:
        rates = {c: self.sync.state[c].rate_hz for c in self.sync.live_cameras(now)}
        for camera, rate in rates.items():
            others = [r for c, r in rates.items() if c != camera and r > 0]
            if others and rate > RATE_MISMATCH_FACTOR * statistics.median(others):
                self.reject(camera, "rate_mismatch",
                            f"camera {camera!r} runs at {rate:.1f} Hz, more than "
                            f"{RATE_MISMATCH_FACTOR:g}x the others' "
                            f"{statistics.median(others):.1f} Hz (extra frames are dropped)")

    def _make_sync(self, params: dict[str, Any], cameras: tuple[str, ...]) -> FrameSynchronizer:
        return FrameSynchronizer(
            cameras, slop_s=params.get("sync.slop_s", 0.01),
            min_views=params.get("sync.min_views", 1),
            timeout_s=params.get("sync.timeout_s", 0.1),
            stale_after_s=params.get("sync.stale_after_s", 1.0),
            ready_queue_size=params.get("sync.queue_size", 2))


class _RigNodeBase(_PoseNodeBase):
    """Nodes that make 3D: calibration, pipeline, 3D/marker/TF publishers."""

    def _configure_rig(self, params: dict[str, Any], detectors: Any) -> None:
        self.cameras = tuple(params["camera_names"])
        self.rig = None
        self.tf_buffer = self.static_tf = None   # extrinsics_source 'tf' only
        self.fixed_frame = params["fixed_frame"]
        if params["extrinsics_source"] == "rig_file":
            from pose3d_ros.core.calibration import load_rig
            self.rig = load_rig(params["rig_file"])
            missing = [c for c in self.cameras if c not in self.rig.names]
            if missing:
                raise ParameterError(f"rig file {params['rig_file']!r} has no camera "
                                     f"{missing}; it has {self.rig.names}")
            for name in self.cameras:
                model = self.rig.camera(name)
                if not (np.isfinite(model.R).all() and np.isfinite(model.t).all()
                        and np.isfinite(model.K).all()):
                    raise ParameterError(f"rig file {params['rig_file']!r}: camera {name!r} "
                                         "has NaN/inf in its calibration")
            self.fixed_frame = self.rig.frame_id or self.fixed_frame
        elif params["extrinsics_source"] == "tf":
            try:
                import tf2_ros
            except ImportError:
                # No tf2_ros (a PyPI-only install): camera rigs are static, so listen to
                # /tf_static ourselves and look up through those transforms.
                self.static_tf = StaticTransformTree()   # filled on activate (/tf_static)
                self.get_logger().info(
                    "extrinsics_source 'tf': tf2_ros is not installed, so camera poses come "
                    f"from {TF_STATIC_TOPIC} only (static transforms, no /tf)")
            else:
                self.tf_buffer = tf2_ros.Buffer()
                self.tf_listener = tf2_ros.TransformListener(self.tf_buffer, self)
        known = {}
        if self.rig is not None and not params["intrinsics_from_camera_info"]:
            known = {name: self.rig.camera(name) for name in self.cameras}
        tracking = None
        if params["tracking.enabled"]:
            tracking = TrackerParams(max_distance_m=params["tracking.max_distance_m"],
                                     gate_growth_mps=params["tracking.gate_growth_mps"],
                                     reid_window_s=max(params["tracking.reid_window_s"], 1e-3))
        filtering = None
        if params["filter.enabled"]:
            filtering = OneEuroParams(min_cutoff_hz=params["filter.min_cutoff_hz"],
                                      beta=params["filter.beta"],
                                      d_cutoff_hz=params["filter.d_cutoff_hz"])
        pipeline_params = PipelineParams(
            min_views=params["triangulation.min_views"],
            min_score=params["triangulation.min_score"],
            outlier_threshold_px=params["triangulation.outlier_threshold_px"],
            output_layout=params["output_layout"], tracking=tracking, filtering=filtering)
        self.pipeline = Pose3DPipeline(self.cameras, known, detectors, frame_id=self.fixed_frame,
                                       params=pipeline_params, lifter=self._make_lifter(params))
        self.sync = self._make_sync(params, self.cameras)
        self._camera_info_seen: dict[str, tuple] = {}
        self.skeletons_pub = self._publisher(
            Skeleton3DArray, SKELETONS_3D_TOPIC, _OUTPUT)
        self.markers_pub = self.tf_pub = self.tf_static_pub = None
        if params["publish_markers"]:
            self.markers_pub = self._publisher(
                MarkerArray, MARKERS_TOPIC, _OUTPUT)
        if params["publish_tf"]:
            # /tf with the QoS of tf2_ros's TransformBroadcaster; /tf_static latched.
            self.tf_pub = self._publisher(
                TFMessage, TF_TOPIC, QoSProfile(depth=100))
            self.tf_static_pub = self._publisher(
                TFMessage, TF_STATIC_TOPIC, _LATCHED)

    def _after_configure(self) -> None:
        for name in self.cameras:
            self.health.cameras[name].calibrated = self.pipeline.camera(name) is not None
        if self.rig is not None and self.tf_static_pub is not None and \
                self.params["publish_rig_tf"]:
            self.tf_static_pub.publish(rig_transforms(
                [self.rig.camera(c) for c in self.cameras], self.fixed_frame,
                self.get_clock().now().to_msg()))

    def _make_lifter(self, params: dict[str, Any]):
        """The monocular path (all-in-one node only: it needs the detector's own 3D, which
        2D skeleton messages do not carry), used for sets with a single camera."""
        method = params.get("monocular_method", "none")
        if method == "none" or (len(self.cameras) > 1 and params["sync.min_views"] > 1):
            return None
        if len(self.cameras) > 1 and params["output_layout"] != "h36m17":
            self.get_logger().warning(
                "sets with a single camera give no 3D: the monocular path outputs H36M-17 and "
                "triangulation the detector's layout; set output_layout to 'h36m17' to use "
                "both, or sync.min_views to 2")
            return None
        try:
            import pose3d_ros.core.lifting.runtime  # noqa: F401 - the monocular core
        except ImportError as err:
            raise ParameterError(
                f"monocular_method {method!r} needs pose3d_ros.core.lifting, which is not "
                f"available ({err}); set monocular_method to 'none' or use >= 2 cameras"
            ) from None
        height = params["monocular_body_height_m"] or None
        if height is not None and not 0.5 < height < 2.5:
            raise ParameterError(f"monocular_body_height_m = {height} m is not a human standing "
                                 "height (0.5-2.5 m; 0 keeps the 3D's own size)")
        if method == "lifter":
            try:
                return create_monocular_method(method, model_path=params["lifter_model"] or None,
                                               body_height_m=height)
            except (FileNotFoundError, ValueError) as err:
                raise ParameterError(f"lifter_model: {err}") from None
        return create_monocular_method(method, body_height_m=height)

    def on_camera_info(self, camera: str, msg: CameraInfo) -> None:
        key = (msg.width, msg.height, msg.distortion_model, tuple(msg.k), tuple(msg.d),
               msg.header.frame_id)
        if self._camera_info_seen.get(camera) == key:
            return
        self._camera_info_seen[camera] = key
        if self.rig is not None and not self.params["intrinsics_from_camera_info"]:
            return
        try:
            model = camera_model_from_info(msg, camera)
        except CameraInfoError as err:
            self.reject(camera, err.reason, str(err))
            return
        source = self.params["extrinsics_source"]
        if source == "rig_file":
            pose = self.rig.camera(camera)
            model = model.with_pose(pose.R, pose.t)
            if not model.frame_id:
                model.frame_id = pose.frame_id
        elif source == "tf":
            model = self._pose_from_tf(camera, model)
            if model is None:
                return
        else:
            self.pipeline.frame_id = msg.header.frame_id or camera
        self.pipeline.set_camera(model)
        self.health.cameras[camera].calibrated = True
        self.get_logger().info(f"camera {camera!r}: calibration from camera_info "
                               f"({msg.width}x{msg.height}, {model.distortion_model})")

    def _subscribe_tf_static(self) -> None:
        """Without tf2_ros: collect the latched /tf_static transforms for camera poses."""
        if self.static_tf is not None:
            self._owned_subscriptions.append(self.create_subscription(
                TFMessage, TF_STATIC_TOPIC, self._on_tf_static, _LATCHED))

    def _on_tf_static(self, msg: TFMessage) -> None:
        try:
            self.static_tf.add(transforms_from_message(msg))
        except ValueError as err:   # reported under the topic's name, like a camera's input
            self.reject(TF_STATIC_TOPIC, "extrinsics_tf", f"{TF_STATIC_TOPIC}: {err}")

    def _pose_from_tf(self, camera: str, model):
        """The camera posed by the transform fixed_frame -> its optical frame (x_cam = R
        x_fixed + t), from tf2_ros or, without it, from /tf_static; None (reported, retried
        with the next camera_info) while the transform is unknown."""
        try:
            if self.tf_buffer is not None:
                from rclpy.time import Time
                from scipy.spatial.transform import Rotation
                tf = self.tf_buffer.lookup_transform(model.frame_id, self.fixed_frame, Time())
                q, tr = tf.transform.rotation, tf.transform.translation
                R = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
                t = np.array([tr.x, tr.y, tr.z])
            else:
                R, t = self.static_tf.lookup(model.frame_id, self.fixed_frame)
        except Exception as err:  # noqa: BLE001 - tf2 raises several lookup exceptions
            self._camera_info_seen.pop(camera, None)   # try again with the next camera_info
            self.reject(camera, "extrinsics_tf", f"camera {camera!r}: no TF from "
                        f"{self.fixed_frame!r} to {model.frame_id!r}: {err}")
            return None
        return model.with_pose(R, t)

    def publish_3d(self, result, frame_set: FrameSet, header_stamps: list | None = None) -> None:
        """header_stamps: the original stamps of the frames in the set; their exact mean is the
        output stamp (float seconds would shift it by up to a few hundred nanoseconds)."""
        stamp = mean_stamp(header_stamps) if header_stamps else seconds_to_stamp(result.stamp)
        frames = [self.pipeline.camera(c).frame_id or c for c in result.cameras]
        publish_start = time.perf_counter()
        bodies = body_frames(result.skeletons.positions, result.skeletons.layout)
        self.skeletons_pub.publish(skeletons3d_to_msg(result.skeletons, stamp, frames, bodies))
        # Markers are for viewers: not built while nobody subscribes (about 1 ms per person).
        if self.markers_pub is not None and self.markers_pub.get_subscription_count():
            self.markers_pub.publish(skeleton_markers(result.skeletons, stamp))
        if self.tf_pub is not None and result.skeletons.num_people:
            self.tf_pub.publish(people_transforms(result.skeletons, stamp, frames=bodies,
                                                  per_joint=self.params["tf_per_joint"]))
        timings = dict(result.timings)
        timings["publish"] = time.perf_counter() - publish_start
        timings["wait"] = max(time.monotonic() - frame_set.opened, 0.0) - timings["total"] \
            - timings["publish"]
        latency = self.get_clock().now().nanoseconds * 1e-9 - result.stamp
        self.health.record_output(timings, latency, time.monotonic())
        if result.note:
            self.reject("pipeline", "no_3d", result.note)

    def _answer_failed_set(self, frame_set: FrameSet) -> None:
        """Every input set gets exactly one Skeleton3DArray: an empty one when it failed."""
        pipeline = getattr(self, "pipeline", None)
        if pipeline is not None:
            self.publish_3d(pipeline.empty_result(frame_set.stamp), frame_set)

    def _close_models(self) -> None:
        pipeline = getattr(self, "pipeline", None)
        if pipeline is not None:
            pipeline.close()
            self.pipeline = None


class Pose3DNode(_RigNodeBase):
    """All in one: N cameras' images + camera_info in, 3D skeletons, markers, TF out."""

    SPECS = ALL_IN_ONE_PARAMS

    def __init__(self, node_name: str = "pose3d_node", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)

    def _configure(self, params: dict[str, Any]) -> None:
        detectors = create_detectors(params["detector"], len(params["camera_names"]),
                                     per_camera=params["detector_per_camera"])
        try:
            self._configure_rig(params, detectors)
        except Exception:
            _close(detectors)
            raise
        self.pub_2d = {}
        if params["publish_2d"]:
            for camera in self.cameras:
                self.pub_2d[camera] = self._publisher(
                    Skeleton2DArray, f"{camera}/{SKELETONS_2D_TOPIC}", _OUTPUT)

    def _subscribe(self) -> None:
        self._subscribe_tf_static()
        qos = image_qos(self.params["image_qos"], self.params["qos_depth"])
        for camera in self.cameras:
            self._owned_subscriptions += _image_subscription(self, camera, qos, self.on_image)
            self._owned_subscriptions.append(self.create_subscription(
                CameraInfo, f"{camera}/camera_info",
                lambda msg, c=camera: self.on_camera_info(c, msg), qos))

    def on_image(self, camera: str, msg: Image | CompressedImage) -> None:
        image = _decode(self, camera, msg)
        if image is None:
            return
        if self.pipeline.camera(camera) is None:
            self.reject(camera, "no_camera_info", f"camera {camera!r}: image before any valid "
                        "camera_info (frame ignored)")
            return
        self.offer(camera, stamp_to_seconds(msg.header.stamp), (image, msg.header))

    def _process(self, frame_set: FrameSet) -> None:
        images = {c: f.payload[0] for c, f in frame_set.frames.items()}
        result = self.pipeline.process_images(images, frame_set.stamp)
        for camera, pub in self.pub_2d.items():
            if camera in result.detections and pub.get_subscription_count():
                pub.publish(detections_to_msg(result.detections[camera],
                                              frame_set.frames[camera].payload[1]))
        self.publish_3d(result, frame_set, [f.payload[1].stamp for f in frame_set.frames.values()])


class FusionNode(_RigNodeBase):
    """N cameras' Skeleton2DArray + camera_info in (from DetectorNodes), 3D out."""

    SPECS = FUSION_PARAMS

    def __init__(self, node_name: str = "pose3d_fusion", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)

    def _configure(self, params: dict[str, Any]) -> None:
        self._configure_rig(params, None)

    def _subscribe(self) -> None:
        self._subscribe_tf_static()
        qos = image_qos("sensor_data", self.params.get("qos_depth", 5))
        for camera in self.cameras:
            self._owned_subscriptions.append(self.create_subscription(
                Skeleton2DArray, f"{camera}/{self.params['skeletons_2d_topic']}",
                lambda msg, c=camera: self.on_skeletons(c, msg), _OUTPUT))
            self._owned_subscriptions.append(self.create_subscription(
                CameraInfo, f"{camera}/camera_info",
                lambda msg, c=camera: self.on_camera_info(c, msg), qos))

    def on_skeletons(self, camera: str, msg: Skeleton2DArray) -> None:
        try:
            found = detections_from_msg(msg)
        except ValueError as err:
            self.reject(camera, "bad_skeletons_2d", f"camera {camera!r}: {err}")
            return
        if self.pipeline.camera(camera) is None:
            self.reject(camera, "no_camera_info", f"camera {camera!r}: 2D skeletons before "
                        "any valid camera_info (ignored)")
            return
        self.offer(camera, stamp_to_seconds(msg.header.stamp), (found, msg.header.stamp))

    def _process(self, frame_set: FrameSet) -> None:
        found = {c: f.payload[0] for c, f in frame_set.frames.items()}
        result = self.pipeline.process_detections(found, frame_set.stamp)
        self.publish_3d(result, frame_set, [f.payload[1] for f in frame_set.frames.values()])


class DetectorNode(_PoseNodeBase):
    """One camera's images in, its 2D skeletons (Skeleton2DArray) out."""

    SPECS = DETECTOR_PARAMS

    def __init__(self, node_name: str = "pose3d_detector", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)

    def _configure(self, params: dict[str, Any]) -> None:
        camera = params["camera_name"] or self.get_namespace().strip("/").split("/")[-1] \
            or "camera"
        self.cameras = (camera,)
        detectors = create_detectors(params["detector"], 1, per_camera=True)
        self.detector = detectors[0]
        self.sync = self._make_sync({}, self.cameras)
        self.skeletons_pub = self._publisher(Skeleton2DArray, SKELETONS_2D_TOPIC, _OUTPUT)

    def _after_configure(self) -> None:
        self.health.cameras[self.cameras[0]].calibrated = True   # 2D needs no calibration

    def _subscribe(self) -> None:
        qos = image_qos(self.params["image_qos"], self.params["qos_depth"])
        self._owned_subscriptions += _image_subscription(
            self, self.cameras[0], qos, self.on_image,
                                                   prefix="")

    def on_image(self, camera: str, msg: Image | CompressedImage) -> None:
        image = _decode(self, camera, msg)
        if image is not None:
            self.offer(camera, stamp_to_seconds(msg.header.stamp), (image, msg.header))

    def _process(self, frame_set: FrameSet) -> None:
        frame = frame_set.frames[self.cameras[0]]
        image, header = frame.payload
        start = time.perf_counter()
        found = self.detector.detect([image])[0]
        detect_s = time.perf_counter() - start
        self.skeletons_pub.publish(detections_to_msg(found, header))
        total = time.perf_counter() - start
        latency = self.get_clock().now().nanoseconds * 1e-9 - frame.stamp
        self.health.record_output({"detect": detect_s, "total": total}, latency,
                                  time.monotonic())

    def _close_models(self) -> None:
        detector = getattr(self, "detector", None)
        if detector is not None:
            detector.close()
            self.detector = None


# -- helpers ------------------------------------------------------------------------------

def _image_subscription(node: _PoseNodeBase, camera: str, qos: QoSProfile,
                        callback: Callable[[str, Any], None], prefix: str | None = None
                        ) -> list:
    """Subscription to one camera's raw or compressed images at <prefix>/<image_topic>
    (prefix: the camera name unless given)."""
    prefix = camera if prefix is None else prefix
    topic = f"{prefix}/{node.params['image_topic']}" if prefix else node.params["image_topic"]
    if node.params["image_transport"] == "compressed":
        return [node.create_subscription(CompressedImage, f"{topic}/compressed",
                                         lambda msg: callback(camera, msg), qos)]
    return [node.create_subscription(Image, topic, lambda msg: callback(camera, msg), qos)]


def _decode(node: _PoseNodeBase, camera: str, msg: Image | CompressedImage) -> np.ndarray | None:
    try:
        if isinstance(msg, CompressedImage):
            return decode_compressed(msg.format, msg.data, source=f"camera {camera!r}")
        return decode_image(msg.encoding, msg.width, msg.height, msg.step, msg.data,
                            msg.is_bigendian, source=f"camera {camera!r}")
    except ImageDecodeError as err:
        node.reject(camera, err.reason, str(err))
        return None


def _close(detectors: Any) -> None:
    for detector in detectors if isinstance(detectors, list) else [detectors]:
        detector.close()


def run_node(node_class: type[_PoseNodeBase], args: list[str] | None = None) -> int:
    """Entry point of the executables: make the node, autostart it, spin until Ctrl-C."""
    rclpy.init(args=args)
    try:
        node = node_class()
    except ParameterError as err:
        rclpy.logging.get_logger(node_class.__name__).error(str(err))
        rclpy.shutdown()
        return 1
    status = 0
    try:
        if node.get_parameter("autostart").value:
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                status = 1
            else:
                node.trigger_activate()
        if status == 0:
            rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node._stop()
        node._release()
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return status


def main_all_in_one(args: list[str] | None = None) -> int:
    return run_node(Pose3DNode, args)


def main_detector(args: list[str] | None = None) -> int:
    return run_node(DetectorNode, args)


def main_fusion(args: list[str] | None = None) -> int:
    return run_node(FusionNode, args)
