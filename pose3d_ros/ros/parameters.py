"""Parameters of the nodes: one table with type, default, description and range per parameter.

declare_parameters() declares them on a node with rcl_interfaces/ParameterDescriptor (so
`ros2 param describe` shows the description, type and range), and read_parameters() reads
them back, checks ranges, choices and cross-parameter rules, and raises ParameterError with a
message naming the parameter, the value and what is allowed; read values come back as a
frozen configuration dataclass generated from the same table (config_class):
`config.sync.slop_s`, `config.camera_names` (a tuple). Each default and range is written once,
here; the defaults of the core's own settings (synchroniser, tracker, filter, triangulation)
are taken from the core's dataclasses, so the node and the offline core agree. The YAML files
in config/ are checked against these tables by test/test_config_drift.py.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, make_dataclass
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import (
    InvalidParameterTypeException,
    InvalidParameterValueException,
    InvalidTopicNameException,
    ParameterUninitializedException,
)
from rclpy.expand_topic_name import expand_topic_name
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.validate_full_topic_name import validate_full_topic_name

from pose3d_ros.core.camera import frame_name_problem
from pose3d_ros.core.config_rules import configuration_problems
from pose3d_ros.core.detection import (
    DEFAULT_DETECTOR,
    TOP_DOWN_DETECTORS,
    missing_model_files,
    monocular_method_problem,
    node_detector_options,
)
from pose3d_ros.core.detection import DETECTOR_NAMES as DETECTORS
from pose3d_ros.core.detection.onnx_session import PROVIDER_NAMES
from pose3d_ros.core.filtering import MONOCULAR_ONE_EURO, OneEuroParams
from pose3d_ros.core.floor_contact import FloorParams
from pose3d_ros.core.pipeline import MAX_CAMERAS, PipelineParams
from pose3d_ros.core.plausibility import PlausibilityParams
from pose3d_ros.core.sync import SyncParams
from pose3d_ros.core.tracking import ImageTrackerParams, TrackerParams

LAYOUTS = ("", "coco17", "h36m17", "blazepose33")
FIXED_FRAME_DEFAULT = "world"   # fixed_frame's default (rig_node warns of another one unused)
_SYNC, _TRACK, _FILTER, _3D = SyncParams(), TrackerParams(), OneEuroParams(), PipelineParams()
_PLAUSIBLE = PlausibilityParams()
_IMAGE_TRACK = ImageTrackerParams()
_FLOOR = FloorParams()


class ParameterError(ValueError):
    """A parameter value the node cannot run with."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: name, default (its type is the parameter's type), description, and
    optional [low, high] range or choices."""

    name: str
    default: Any
    description: str
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    read_only: bool = False
    excluded: tuple[float, float] | None = None   # an open interval inside [low, high] refused
    hint: str = ""               # what the range means, for the error message
    frame: str = ""              # a TF frame name ("name") or the prefix of one ("prefix")
    path: bool = False           # a file path: a leading ~ is the user's home, as in a shell

    @property
    def type(self) -> Parameter.Type:
        return Parameter.Type.from_parameter_value(self.default)

    def descriptor(self) -> ParameterDescriptor:
        desc = ParameterDescriptor(name=self.name, type=self.type.value,
                                   description=self.description, read_only=self.read_only)
        if self.choices is not None:
            desc.additional_constraints = "one of: " + ", ".join(repr(c) for c in self.choices)
        if self.excluded is not None:
            desc.additional_constraints = (f"not in ({self.excluded[0]}, {self.excluded[1]})"
                                           + (f": {self.hint}" if self.hint else ""))
        if self.frame:
            desc.additional_constraints = ("a TF frame name: no leading '/', no spaces"
                                           + (", not empty" if self.frame == "name" else ""))
        if self.low is not None and self.high is not None and self.type == Parameter.Type.DOUBLE:
            desc.floating_point_range = [FloatingPointRange(
                from_value=float(self.low), to_value=float(self.high), step=0.0)]
        elif self.low is not None and self.high is not None and (
                self.type == Parameter.Type.INTEGER):
            desc.integer_range = [IntegerRange(from_value=int(self.low),
                                               to_value=int(self.high), step=1)]
        return desc

    def check(self, value: Any) -> None:
        if self.frame and isinstance(value, str) and frame_name_problem(
                value, empty_ok=self.frame != "name"):
            # found by a review: '/front /' went out on /tf as '/front /body_1'; tf2 refuses
            # frame ids with a leading slash, and spaces break every tool that names them
            raise ParameterError(f"parameter {self.name!r} = {value!r} is not a TF frame "
                                 f"{'name' if self.frame == 'name' else 'prefix'}: no leading "
                                 "'/', no spaces" + (", not empty" if self.frame == "name"
                                                     else ""))
        if self.choices is not None:
            bad = [v for v in (value if isinstance(value, list) else [value])
                   if v not in self.choices]
            if bad:
                raise ParameterError(f"parameter {self.name!r} = {value!r}: "
                                     f"{bad[0]!r} is not one of {list(self.choices)}")
        hint = f": {self.hint}" if self.hint else ""
        if self.low is not None and not self.low <= value <= self.high:
            raise ParameterError(f"parameter {self.name!r} = {value!r} is outside "
                                 f"[{self.low}, {self.high}]{hint}")
        if self.excluded is not None and self.excluded[0] < value < self.excluded[1]:
            raise ParameterError(f"parameter {self.name!r} = {value!r} lies in the refused "
                                 f"interval ({self.excluded[0]}, {self.excluded[1]}){hint}")


# -- the tables ---------------------------------------------------------------------------

_COMMON = (
    ParamSpec("autostart", True, "Configure and activate the lifecycle node on start-up "
              "(false: wait for a lifecycle manager). Read at start-up only: read-only "
              "afterwards.", read_only=True),
    ParamSpec("diagnostics_period_s", 1.0, "Period of the /diagnostics reports (s).", 0.1, 60.0),
)
_INPUT = (
    ParamSpec("image_transport", "raw", "Image input: 'raw' subscribes <camera>/<image_topic> "
              "(sensor_msgs/Image), 'compressed' subscribes <camera>/<image_topic>/compressed "
              "(sensor_msgs/CompressedImage, JPEG or PNG).", choices=("raw", "compressed")),
    ParamSpec("compressed_decode_min_side_px", 0, "image_transport 'compressed': decode a "
              "JPEG at 1/2, 1/4 or 1/8 of its full size (the calibrated size; for the "
              "detector node, that of the camera's last whole frame) as long as its shorter "
              "side keeps at least this many pixels (libjpeg's DCT scaling, 1.5-2x cheaper per "
              "halving); the 2D is mapped back to full-resolution pixels (540 at 1080p: 1/2, "
              "2D within 1.4-3.1 px median of the whole decode on the demo, see "
              "docs/detectors.md). 0 (default): always whole (px).", 0, 8192),
    ParamSpec("image_topic", "image_raw", "Image topic name inside each camera's namespace. "
              "The node undistorts the 2D with the camera_info's D: a rectified topic "
              "(image_rect, also when reached by a remapping) needs a camera_info with D zero "
              "(warned otherwise)."),
    ParamSpec("image_qos", "sensor_data", "QoS of image subscriptions: 'sensor_data' "
              "(best effort, keep last: drivers publish so) or 'reliable'.",
              choices=("sensor_data", "reliable")),
    ParamSpec("qos_depth", 2, "History depth of input subscriptions (frames); image "
              "subscriptions keep 1 while skip_images_while_busy is true.", 1, 100),
    ParamSpec("skip_images_while_busy", True, "Leave images in DDS while a frame set is "
              "processed: frames the synchroniser would drop as 'behind' are never taken "
              "(taking a raw 1080p image costs about 3 ms of CPU); the image subscriptions "
              "then keep only the newest frame (depth 1), taken when processing ends. false: "
              "take every image (history depth qos_depth)."),
    ParamSpec("detector", DEFAULT_DETECTOR, "2D pose back-end (see docs/detectors.md): "
              "'blazepose_multi' (default: every person, ROI tracking, LiteRT on all cores), "
              "'blazepose' (mediapipe's own graph, one person per camera), 'blazepose_onnx' "
              "(the two-stage model on onnxruntime: TensorRT, CUDA or CPU), or a "
              "bring-your-own ONNX model: 'yolo_pose', 'rtmpose' or 'heatmap' (with "
              "detector_model, and for the last two person_detector_model).",
              choices=DETECTORS),
    ParamSpec("detector_model", "", "detector 'yolo_pose', 'rtmpose' or 'heatmap': path of "
              "the ONNX pose model (an Ultralytics YOLO-pose, RTMPose or HRNet/ViTPose "
              "export, formats in docs/detectors.md). Other back-ends: ignored.", path=True),
    ParamSpec("person_detector_model", "", "detector 'rtmpose' or 'heatmap': path of the "
              "ONNX person detector that finds the people to crop (an Ultralytics YOLO "
              "detection export). Other back-ends: ignored.", path=True),
    ParamSpec("detector_providers", ["auto"], "onnxruntime back-ends (blazepose_onnx, "
              "yolo_pose, rtmpose, heatmap): execution providers in preference order, from "
              "'tensorrt', 'cuda', 'cpu' (the CPU is always the last resort); ['auto'] (the "
              "default): the best usable here, TensorRT, then CUDA, then CPU. The node logs "
              "where its detector runs (INFO) and /diagnostics shows it (detector_runtime); a "
              "provider asked for and not usable here is a WARN. blazepose and "
              "blazepose_multi run on the CPU (mediapipe, LiteRT).",
              choices=("auto",) + tuple(PROVIDER_NAMES)),
    ParamSpec("detector_max_people", 0, "Most people per image the multi-person back-ends "
              "keep (the rest are not detected; each costs a landmark model run on the "
              "two-stage BlazePose); 0: the back-end's own, 10 for blazepose_multi and "
              "blazepose_onnx, 20 for the ONNX models. blazepose (mediapipe's graph) follows "
              "one person per camera.", 0, 100),
    ParamSpec("detector_per_camera", False, "One detector instance per camera, run side by "
              "side on a thread pool (true), or one instance shared by all cameras (false, the "
              "default): it keeps each camera's trackers by camera index, batches the crops of "
              "all cameras (two-stage back-ends) or runs the cameras' mediapipe graphs side by "
              "side itself."),
    ParamSpec("person_search_in_background", True, "Two-stage back-ends (blazepose_multi, "
              "blazepose_onnx): the periodic search for new people (every 10th frame or "
              "person_search_within_s while every track holds) runs on a thread of its own "
              "after the frame's landmarks, "
              "and the people it finds join the tracks at the camera's next frame: those "
              "frames cost no more than the others (1 camera at 30 fps on 2 cores: 12 ms "
              "instead of 23-26 ms, see docs/detectors.md); a new person appears one frame "
              "later. false: the search runs within its frame. Other back-ends: ignored."),
    ParamSpec("person_search_within_s", 1.0, "Two-stage back-ends (blazepose_multi, "
              "blazepose_onnx): the periodic search for new people also runs once this many "
              "seconds of capture time have passed since a camera's last search, when that "
              "comes before its 10th frame: cameras below 10 frames a second (at 3 Hz every "
              "10th frame was every 3.3 s, and each of a wide image's three search views "
              "every 10 s). Above 10 Hz it changes nothing. 0: every 10th frame only. Other "
              "back-ends: ignored.", 0.0, 60.0),
)
_RIG = (
    ParamSpec("camera_names", ["camera"], "Camera namespaces, in rig order; topics are "
              "<name>/<image_topic>, <name>/camera_info (relative: remap or namespace them)."),
    ParamSpec("fixed_frame", FIXED_FRAME_DEFAULT, "Frame of the 3D output. With "
              "extrinsics_source 'rig_file' it is the rig file's frame (another value is "
              "warned about at configure); with 'none' (one camera) the camera's optical frame "
              "is used instead.", frame="name"),
    ParamSpec("extrinsics_source", "rig_file", "Where camera poses come from: 'rig_file' "
              "(rig_file parameter; also the self-calibration tool's output), 'tf' (look up "
              "fixed_frame -> optical frame at each image's stamp, so a robot moving in "
              "fixed_frame, e.g. odom or map, carries its cameras; with tf2_ros, without it "
              "from /tf_static and /tf kept by the node) or 'none' (one camera, output in its "
              "optical frame).",
              choices=("rig_file", "tf", "none")),
    ParamSpec("rig_file", "", "Calibration file with the cameras' extrinsics (any format "
              "pose3d_ros.core.calibration.load_rig reads; world-to-camera, x_cam = R x_rig + "
              "t, not TF poses: docs/multiview.md); camera names must match camera_names. "
              "Empty with extrinsics_source 'tf' or 'none'.", path=True),
    ParamSpec("intrinsics_from_camera_info", True, "Take K and distortion from each "
              "camera's CameraInfo (true) or from the rig file (false)."),
    ParamSpec("uncalibrated_hfov_deg", 0.0, "A camera whose CameraInfo K is all zero (not "
              "calibrated: usb_cam and v4l2_camera without a calibration file) is refused "
              "(0) or taken as an undistorted pinhole camera of this horizontal field of view "
              "(degrees; webcams and phones about 60-75), with a warning: one-camera depth "
              "then scales with the true focal length. The all-in-one node also takes a camera "
              "that sends images and no camera_info for 5 s so. Calibrated cameras and those "
              "of a rig file (its K: intrinsics_from_camera_info false) are not affected.",
              0.0, 179.0, excluded=(0.0, 1.0),
              hint="0 (refuse uncalibrated cameras) or a field of view of 1-179 degrees"),
    ParamSpec("sync.slop_s", _SYNC.slop_s, "Largest stamp difference within one frame set (s).",
              0.0001, 1.0),
    ParamSpec("sync.min_views", _SYNC.min_views,
              "Fewest cameras a frame set needs to be processed (1 is taken as 2 in a rig "
              "without a monocular path: one camera gives no 3D there).", 1, MAX_CAMERAS),
    ParamSpec("sync.timeout_s", _SYNC.timeout_s,
              "Longest a frame set waits for missing cameras (s); a camera whose frames "
              "come more than this sooner or later than the others' is on another clock "
              "(clock_offset) and left out.",
              0.001, 10.0),
    ParamSpec("sync.stale_after_s", _SYNC.stale_after_s,
              "A camera silent this long (or two of its own frame intervals, when longer: "
              "a throttled camera) is reported stale and no longer waited for (s).",
              0.01, 60.0),
    ParamSpec("sync.give_up_late", _SYNC.give_up_late,
              "Stop waiting for a camera whose frame is later than its frames have been "
              "(1.5 x the longest of its last 300 arrival lags behind its sets' first frame, "
              "+ 5 ms): a frame lost on the way, or a camera that just stopped, delays the "
              "others' set by that, not by a frame interval or sync.timeout_s; its frame, "
              "should it come, is dropped (given_up) and the wait lengthened. false: wait "
              "(a lock-step replay, where every frame comes)."),
    ParamSpec("sync.complete_after_resume", _SYNC.complete_after_resume,
              "When the node resumes after leaving images in DDS while busy and the newest "
              "frames straddle two captures, true drops the older, short set and takes the "
              "newer one once it is whole (behind): fewer sets a second, more views each "
              "(measured with 4 raw cameras: about 8 % fewer sets, short sets 10-17 % "
              "instead of 18-24 %). false (default): the short set leaves at once."),
    ParamSpec("sync.queue_size", _SYNC.queue_size,
              "Finished frame sets kept while the node is busy; the "
              "newest is processed, older ones are dropped and counted.", 1, 100),
    ParamSpec("triangulation.min_views", _3D.min_views,
              "Fewest views a joint needs to be triangulated.",
              2, MAX_CAMERAS),
    ParamSpec("triangulation.min_score", _3D.min_score,
              "2D joint score below which a view is ignored.",
              0.0, 1.0),
    ParamSpec("triangulation.outlier_threshold_px", _3D.outlier_threshold_px,
              "Reprojection error (pixels) above which a view of a joint is rejected when "
              "outlier_threshold_m is 0; always the scale of the published confidence "
              "(exp(-0.5 (error / this)^2)).", 0.5, 1000.0),
    ParamSpec("triangulation.outlier_threshold_m", _3D.outlier_threshold_m or 0.0,
              "Residual at the joint's depth above which a view of a joint is rejected "
              "(metres; 0 = use outlier_threshold_px).", 0.0, 10.0),
    ParamSpec("triangulation.max_depth_gain", _3D.max_depth_gain,
              "A joint whose views look at it along so nearly one line that its error along "
              "that line would be more than this many times their 2D error is not measured "
              "(left to the skeleton completion, as a joint of one view): lenses a few "
              "centimetres apart cannot measure a person's depth. 10: the measured 2D error "
              "of about 0.05 m gives at most 0.5 m (two views 8.1 degrees apart); higher where "
              "the 2D is more accurate or more depth error is accepted.", 1.0, 1000.0),
    ParamSpec("output_layout", _3D.output_layout, "Joint layout of the 3D output; empty keeps the "
              "detector's.", choices=LAYOUTS),
    ParamSpec("tracking.enabled", True, "Give people stable ids over time (false: every "
              "frame on its own, people numbered 0, 1, ... in each frame, not the same person "
              "from one frame to the next, and no body_<id> TF frames; one-camera people "
              "are then published without confirmation)."),
    ParamSpec("tracking.max_distance_m", _TRACK.max_distance_m,
              "Triangulated people (two or more cameras): largest mean joint distance to "
              "continue a track from one frame to the next (m).", 0.01, 10.0),
    ParamSpec("tracking.gate_growth_mps", _TRACK.gate_growth_mps,
              "Triangulated people: growth of that gate per second a person is "
              "unseen (m/s).", 0.0, 20.0),
    ParamSpec("tracking.reid_window_s", _TRACK.reid_window_s,
              "Triangulated people: a person who returns within this time gets "
              "their id back (s).", 0.0, 600.0),
    ParamSpec("filter.enabled", True, "Smooth joints with the One Euro filter."),
    ParamSpec("filter.min_cutoff_hz", _FILTER.min_cutoff_hz,
              "Triangulated people: One Euro cut-off when still (Hz; lower = "
              "smoother).", 0.01, 100.0),
    ParamSpec("filter.beta", _FILTER.beta, "Triangulated people: One Euro speed coefficient "
              "(s/m; higher = less lag).", 0.0, 100.0),
    ParamSpec("filter.d_cutoff_hz", _FILTER.d_cutoff_hz,
              "One Euro cut-off of the speed estimate (Hz).",
              0.01, 100.0),
    ParamSpec("publish_markers", True, "Publish visualization_msgs/MarkerArray on "
              "skeleton_markers for rviz2."),
    ParamSpec("publish_tf", True, "Broadcast body_<id> frames on /tf and the rig on "
              "/tf_static."),
    ParamSpec("publish_rig_tf", True, "Broadcast the rig's camera poses on /tf_static "
              "(turn off when something else, e.g. a bag, already does)."),
    ParamSpec("publish_upright_frame", True, "With extrinsics_source 'none' (a camera "
              "without a pose; the 3D is in its optical frame), or a rig file whose frame is "
              "one camera's optical frame (a self-calibrated rig): also broadcast "
              "<frame>_upright on /tf_static, a frame at the camera with x forward, y left and "
              "z up (-y of the optical frame), which rviz2 needs as fixed frame to show people "
              "upright (its grid and orbit view take +z as up); publish_tf false leaves it on."),
    ParamSpec("tf_per_joint", False, "Also broadcast one frame per joint, "
              "body_<id>_<joint>."),
    ParamSpec("tf_prefix", "", "Prefix of the people's TF frames (<tf_prefix>body_<id>): "
              "give each node its own (e.g. 'front/') when several publish people on one TF "
              "tree, where their body_1 frames would clash. Empty: body_<id> (REP-155).",
              frame="prefix"),
)

# The monocular path's parameters, shared by the nodes that have one (the all-in-one node, and
# the fusion node with the lifter: 2D skeleton messages carry no detector 3D).
_MONOCULAR = (
    ParamSpec("lifter_model", "", "ONNX file of the temporal lifter (its .json metadata "
              "beside it) for monocular_method 'lifter'; empty = the model shipped with the "
              "package (trained by pose3d_ros.tools.train_lifter). A centred model's 3D, of the "
              "frame T // 2 sets back, goes out with that frame's stamp; with several cameras "
              "or extrinsics_source 'tf' it is refused (use a causal one).", path=True),
    ParamSpec("lifter_flip_average", True, "monocular_method 'lifter': also lift the "
              "left/right mirrored 2D and average the two poses (test-time flip augmentation; "
              "twice the lifter's cost, about 0.3 ms per person on a CPU core)."),
    ParamSpec("monocular_refine_to_2d", True, "One camera, both monocular methods: pull "
              "each joint of the 3D sideways towards its own 2D ray, as far as its 2D "
              "confidence says (depths and bone lengths kept; under 0.2 ms per frame on a CPU "
              "core), so the 3D agrees with the view it came from. False: the 3D as the "
              "method gives it."),
    ParamSpec("camera_quarter_turns", -1, "One-camera sets: how the camera is rolled on its "
              "optical axis, in quarter turns of the people it shows (1: upright people appear "
              "turned 90 degrees clockwise, a camera rolled 90 degrees anticlockwise seen from "
              "behind; 2: upside down; 3: turned anticlockwise); -1 learns it from the people "
              "(three tracks of straight people must agree: one or two people never turn it). "
              "The learned value is on /diagnostics (camera_quarter_turns).", -1, 3),
    ParamSpec("monocular_body_height_m", 0.0, "Standing height (m) of the people seen by one "
              "camera: the monocular path scales their 3D to it before placing it, since one "
              "view fixes depth only through body size. 0 keeps the 3D's own metric size "
              "(BlazePose's world landmarks, or the lifter's output).", 0.0, 2.5,
              excluded=(0.0, 0.5),
              hint="not a human standing height (m); 0 keeps the 3D's own size"),
    ParamSpec("filter.monocular.min_cutoff_hz", MONOCULAR_ONE_EURO.min_cutoff_hz,
              "People placed by one view (a one-camera set's, lone_view_people; their depth "
              "is one view's guess, noisier than triangulation): One Euro cut-off when still "
              "(Hz; lower = smoother).",
              0.01, 100.0),
    ParamSpec("filter.monocular.beta", MONOCULAR_ONE_EURO.beta, "People placed by one view: "
              "One Euro speed coefficient (s/m; higher = less lag, more depth jitter).", 0.0,
              100.0),
    ParamSpec("monocular_floor", False, "One camera: the fixed frame has z up and a flat "
              "floor at monocular_floor_height_m (e.g. base_footprint, or a room calibration "
              "on the floor): each person's scale and distance then follow from their lower "
              "ankle standing on it (the median over the track's last 90 frames; frames more "
              "than 1.4x off the size-based placement, e.g. someone on a box, are left out), "
              "which one view's body size alone cannot give. Needs extrinsics "
              "(extrinsics_source 'rig_file' or 'tf') in such a frame: a self-calibrated "
              "rig's, its reference camera's optical frame, is refused."),
    ParamSpec("monocular_floor_height_m", _FLOOR.height_m, "Height of the floor in the fixed "
              "frame (m), for monocular_floor.", -10.0, 10.0),
    ParamSpec("monocular_ankle_height_m", _FLOOR.ankle_height_m, "Height of a standing "
              "person's ankle keypoint above the floor (m), for monocular_floor.", 0.0, 0.3),
    ParamSpec("lone_view_people", False, "Several cameras: also publish the people whom "
              "only one camera sees (cameras looking different ways, as on a robot; someone "
              "standing in front of the other views), placed by monocular_method like a "
              "one-camera set's people, with num_views 1 and their method per person; a "
              "detection becomes such a person after 6 frames in a row in which no "
              "triangulated person explains it; someone walking out of an overlap keeps the id "
              "triangulation gave them (core/lone_views.py). Needs monocular_method "
              "'lifter' (or, at the all-in-one node, 'detector_3d') and output_layout "
              "'h36m17'; with monocular_floor "
              "their distance follows from the floor."),
    ParamSpec("plausibility.min_height_m", _PLAUSIBLE.min_height_m, "One camera: people whose "
              "standing height (from their bone lengths) is below this are not published "
              "(counted as refused_implausible on /diagnostics) (m).", 0.3, 2.5),
    ParamSpec("plausibility.max_height_m", _PLAUSIBLE.max_height_m, "One camera: people whose "
              "standing height is above this are not published (m); must exceed "
              "plausibility.min_height_m and admit monocular_body_height_m.", 0.5, 3.0),
    ParamSpec("image_tracking.min_hits", _IMAGE_TRACK.min_hits, "One camera: consecutive "
              "detections before a person is published (track confirmation; 1 publishes "
              "every detection, one-frame ghosts included).", 1, 30),
    ParamSpec("image_tracking.max_distance", _IMAGE_TRACK.max_distance, "One camera: "
              "largest mean keypoint distance (a joint off by more than this alone left out), "
              "relative to the person's size in the image, to continue a track from one "
              "frame to the next (people are tracked in the "
              "image, where they are measured, not in the monocular depth).", 0.05, 5.0),
    ParamSpec("image_tracking.gate_growth_per_s", _IMAGE_TRACK.gate_growth_per_s, "One "
              "camera: growth of that gate per second a person is unseen (person sizes "
              "per second).", 0.0, 20.0),
    ParamSpec("image_tracking.reid_window_s", _IMAGE_TRACK.reid_window_s, "One camera: a "
              "confirmed person the detector loses and finds again within this time keeps "
              "their id (s).", 0.001, 600.0),
    ParamSpec("image_tracking.velocity_window_s", _IMAGE_TRACK.velocity_window_s, "One "
              "camera: a lost person is predicted along the slope of their image path over "
              "this last span before they were lost (s).", 0.05, 5.0),
    ParamSpec("image_tracking.relabel_window_s", _IMAGE_TRACK.relabel_window_s, "One "
              "camera: time constant of each track's left/right continuity, which keeps a "
              "detector's momentary front/back confusion from turning the person round "
              "(s; 0 = the detector's left/right labels as given).", 0.0, 10.0),
)
ALL_IN_ONE_PARAMS: tuple[ParamSpec, ...] = _COMMON + _INPUT + _RIG + (
    ParamSpec("monocular_method", "lifter", "3D from a single view (used when a set "
              "has one camera, and for lone_view_people): 'lifter' (the temporal 2D-to-3D "
              "lifter of lifter_model, any back-end; placed in the camera frame by root "
              "placement, at detector_3d's depth when the back-end gives metric 3D; H36M-17 "
              "output), 'detector_3d' (the "
              "detector's own metric 3D, BlazePose world landmarks, same placement) or "
              "'none' (two or more cameras, or publish_2d for 2D only: one camera has no "
              "other path to 3D).", choices=("detector_3d", "lifter", "none")),
    ParamSpec("lifter_depth_from_detector", True, "monocular_method 'lifter' with a "
              "back-end that gives metric 3D (BlazePose world landmarks): place each person's "
              "pelvis at the depth detector_3d finds (the lifter's pose, the detector's "
              "distance; the body sized by the median depth ratio over its track's "
              "last 90 frames). False: the depth follows the lifter's learned "
              "body size."),
) + _MONOCULAR + (
    ParamSpec("publish_2d", False, "Also publish each camera's 2D skeletons on "
              "<camera>/skeletons_2d."),

)
DETECTOR_PARAMS: tuple[ParamSpec, ...] = _COMMON + _INPUT + (
    ParamSpec("camera_name", "", "Camera name used in logs and diagnostics; empty = the "
              "node's namespace. Topics are relative to the node's namespace: it subscribes "
              "<image_topic> (<image_topic>/compressed with image_transport 'compressed') and "
              "publishes skeletons_2d, so launch "
              "one detector per camera in that camera's namespace."),
)
FUSION_PARAMS: tuple[ParamSpec, ...] = _COMMON + _RIG + (
    ParamSpec("skeletons_2d_topic", "skeletons_2d", "2D skeleton topic inside each camera's "
              "namespace (published by the detector nodes)."),
    ParamSpec("monocular_method", "none", "3D from a single view (sets with one camera, "
              "and lone_view_people): 'lifter' (the temporal 2D-to-3D lifter of lifter_model "
              "on the received 2D; placed in the camera frame by root placement at the depth "
              "of its learned body size, or of the floor with monocular_floor; H36M-17 "
              "output) or 'none' (two or more cameras: one camera has no other path to "
              "3D). (2D skeleton messages carry no detector 3D, so the "
              "all-in-one node's 'detector_3d' is not offered here.)",
              choices=("lifter", "none")),
) + _MONOCULAR
NODE_PARAMS = {"pose3d_node": ALL_IN_ONE_PARAMS, "pose3d_detector": DETECTOR_PARAMS,
               "pose3d_fusion": FUSION_PARAMS}


def detector_options(config: Any) -> dict[str, Any]:
    """The create_detector options of an image-reading node's configuration (its back-end's
    person search mode and model files: core.detection.node_detector_options)."""
    return node_detector_options(config.detector,
                                 background_search=config.person_search_in_background,
                                 search_within_s=config.person_search_within_s,
                                 model=config.detector_model,
                                 person_detector=config.person_detector_model,
                                 providers=config.detector_providers,
                                 max_people=config.detector_max_people)


def declare_parameters(node: Node, specs: tuple[ParamSpec, ...]) -> None:
    """Declare every parameter of `specs` on `node`; ParameterError if an override given at
    start-up (YAML, command line) has the wrong type or is out of range. An integer given for
    a double parameter (`slop_s: 1` in a YAML file) is taken as the double it means, and a
    whole double for an integer one (`qos_depth:=2.0`) as that integer, as `ros2 param set`
    of either is at run time (rclpy refuses both as another type; a review found the
    start-up refusing what run time took)."""
    # rclpy keeps the start-up overrides (YAML, command line, parameter_overrides) here
    overrides = getattr(node, "_parameter_overrides", {})
    for spec in specs:
        given = overrides.get(spec.name)
        if given is not None and spec.type == Parameter.Type.DOUBLE and \
                given.type_ == Parameter.Type.INTEGER:
            overrides[spec.name] = Parameter(spec.name, Parameter.Type.DOUBLE,
                                             float(given.value))
        elif given is not None and spec.type == Parameter.Type.INTEGER and \
                given.type_ == Parameter.Type.DOUBLE and math.isfinite(given.value) and \
                float(given.value).is_integer():
            overrides[spec.name] = Parameter(spec.name, Parameter.Type.INTEGER,
                                             int(given.value))
        try:
            node.declare_parameter(spec.name, spec.default, spec.descriptor())
        except InvalidParameterValueException as err:
            raise ParameterError(f"parameter {spec.name!r}: {err}") from None
        except (InvalidParameterTypeException, TypeError) as err:
            raise ParameterError(f"parameter {spec.name!r} must be of type "
                                 f"{spec.type.name.lower()}: {err}") from None


def unknown_overrides(node: Node) -> list[str]:
    """Lines naming each start-up override (YAML, command line) that is no parameter of
    `node`, with the declared name closest to it: rclpy ignores such a name silently, so a
    typo (`monocular_methd`) left the default in force without a word. ROS 2's
    `qos_overrides.*` are left out: they are declared with the topics they override, at
    configure and activate (unused_qos_overrides). A group's name set alone (`filter: false`)
    is named with its members, not a member's near spelling."""
    import difflib

    declared = list(node.list_parameters([], 0).names)
    lines = []
    for name in getattr(node, "_parameter_overrides", {}):
        if node.has_parameter(name) or name.startswith(QOS_OVERRIDES_PREFIX):
            continue
        members = [other for other in declared if other.startswith(f"{name}.")]
        if f"{name}.enabled" in members:
            hint = f" (a group: did you mean '{name}.enabled'?)"
        elif members:
            hint = f" (a group of parameters: {', '.join(members)})"
        else:
            close = difflib.get_close_matches(name, declared, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
        lines.append(f"{name!r}{hint}")
    return lines


QOS_OVERRIDES_PREFIX = "qos_overrides."


def unused_qos_overrides(node: Node) -> list[str]:
    """The start-up `qos_overrides.<topic>.<publisher|subscription>.<policy>` overrides that
    no topic of the active node took (another topic's name, a policy that cannot be
    overridden: durability), sorted: rclpy ignores them without a word (a review)."""
    return sorted(name for name in getattr(node, "_parameter_overrides", {})
                  if name.startswith(QOS_OVERRIDES_PREFIX) and not node.has_parameter(name))


def read_parameters(node: Node, specs: tuple[ParamSpec, ...]) -> Any:
    """Current values of `specs` on `node`, checked, as the frozen config_class(specs)
    instance; ParameterError naming the problem."""
    values = {}
    for spec in specs:
        try:
            value = node.get_parameter(spec.name).value
        except ParameterUninitializedException:
            if spec.type != Parameter.Type.STRING_ARRAY:
                raise
            # rclpy keeps a list set empty ([] in a YAML or on the command line) as "not
            # set": its "not initialized" said the user had not set it (a review); the
            # rules below say what an empty list of this parameter lacks
            value = []
        empty_list = value == [] and spec.type == Parameter.Type.STRING_ARRAY
        if not empty_list and spec.type != Parameter.Type.from_parameter_value(value):
            raise ParameterError(f"parameter {spec.name!r} = {value!r} must be of type "
                                 f"{spec.type.name.lower()}")
        spec.check(value)
        # a YAML's '~/models/x.onnx' is a home folder as the launch arguments' are (they are
        # expanded by launch_args; the parameter files and `ros2 param set` were not)
        values[spec.name] = os.path.expanduser(value) if spec.path and value else value
    _check_rules(values)
    return make_config(specs, values)


_PY_TYPES = {Parameter.Type.BOOL: bool, Parameter.Type.INTEGER: int,
             Parameter.Type.DOUBLE: float, Parameter.Type.STRING: str,
             Parameter.Type.STRING_ARRAY: tuple[str, ...]}


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


_CONFIG_CLASSES: dict[tuple[str, ...], type] = {}


def config_class(specs: tuple[ParamSpec, ...]) -> type:
    """A frozen dataclass with one typed field per parameter of `specs` and its default;
    dotted names become nested frozen dataclasses (`sync.slop_s` -> config.sync.slop_s);
    list parameters become tuples. One class per table (made once)."""
    key = tuple(spec.name for spec in specs)
    if key not in _CONFIG_CLASSES:
        node = next((n for n, table in NODE_PARAMS.items() if table is specs), "node")
        _CONFIG_CLASSES[key] = _make_config_class(specs, node)
    return _CONFIG_CLASSES[key]


def _make_config_class(specs: tuple[ParamSpec, ...], node: str) -> type:
    groups: dict[str, list[ParamSpec]] = {}
    for spec in specs:
        groups.setdefault(spec.name.rpartition(".")[0], []).append(spec)

    def build(prefix: str) -> type:
        fields: list[tuple[str, Any, Any]] = []
        for spec in groups.get(prefix, []):
            default = _frozen(spec.default)
            fields.append((spec.name.rpartition(".")[2], _PY_TYPES.get(spec.type, Any),
                           field(default=default)))
        for group in sorted({g for g in groups if g.rpartition(".")[0] == prefix and g}):
            nested = build(group)
            fields.append((group.rpartition(".")[2], nested, field(default_factory=nested)))
        name = "".join(part.title() for part in (prefix or node).replace(".", "_").split("_"))
        return make_dataclass(f"{name}Config", fields, frozen=True)

    return build("")


def make_config(specs: tuple[ParamSpec, ...], values: dict[str, Any]) -> Any:
    """The config_class(specs) instance holding `values` (name -> value; missing names keep
    their defaults)."""
    def build(cls: type, prefix: str) -> Any:
        kwargs = {}
        for name, kind in cls.__annotations__.items():
            if isinstance(kind, type) and hasattr(kind, "__dataclass_fields__"):
                kwargs[name] = build(kind, f"{prefix}{name}.")
            elif f"{prefix}{name}" in values:
                kwargs[name] = _frozen(values[f"{prefix}{name}"])
        return cls(**kwargs)

    return build(config_class(specs), "")


def rules_broken(node: Node, specs: tuple[ParamSpec, ...], changes: dict[str, Any]) -> str:
    """What the next configure would refuse (the rules between parameters, _check_rules) once
    `changes` (name -> value) are applied to the node's current values; '' when nothing."""
    values = {spec.name: node.get_parameter(spec.name).value for spec in specs}
    values.update({name: value for name, value in changes.items() if name in values})
    try:
        _check_rules(values)
    except ParameterError as err:
        return str(err)
    return ""


def _check_topics(topics: list[tuple[str, str]]) -> None:
    """ParameterError naming the parameter of the first (parameter, topic) whose topic is no
    valid ROS topic name once expanded as rcl expands it (a review: 'cam01//image_raw', from
    image_topic '/image_raw', passed rclpy's validate_topic_name and failed at activate, as
    did an empty or spaced skeletons_2d_topic, which was not checked at all)."""
    for parameter, topic in topics:
        try:
            validate_full_topic_name(expand_topic_name(topic, "node", "/"))
        except (InvalidTopicNameException, ValueError) as err:
            detail = str(err).splitlines()[0].split(": ", 1)[-1].split(", at ")[0].rstrip(":")
            raise ParameterError(f"parameter {parameter!r} gives the topic {topic!r}, not a "
                                 f"valid ROS topic name ({detail})") from None


def _check_rules(values: dict[str, Any]) -> None:
    detector = values.get("detector")
    if detector is not None and (missing := missing_model_files(
            detector, values.get("detector_model", ""),
            values.get("person_detector_model", ""))):
        wanted = "detector_model" + (" and person_detector_model"
                                     if detector in TOP_DOWN_DETECTORS else "")
        raise ParameterError(f"parameter 'detector' = {detector!r} needs {missing}: set "
                             f"{wanted} (docs/detectors.md)")
    if detector is not None and (problem := monocular_method_problem(
            values.get("monocular_method", "none"), detector)):
        raise ParameterError(problem)              # before any model is loaded
    providers = values.get("detector_providers")
    if providers is not None and (not providers or ("auto" in providers and len(providers) > 1)
                                  or len(set(providers)) != len(providers)):
        raise ParameterError(f"parameter 'detector_providers' = {list(providers)!r}: give "
                             "['auto'], or providers from 'tensorrt', 'cuda', 'cpu' in "
                             "preference order, each once")
    names = values.get("camera_names")
    if names is not None:
        if not names or any(not n for n in names):
            raise ParameterError(f"parameter 'camera_names' = {names!r} must list at least one "
                                 "non-empty camera name")
        if len(set(names)) != len(names):
            raise ParameterError(f"parameter 'camera_names' = {names!r} has duplicates")
        topics = [("camera_names", f"{name}/camera_info") for name in names]  # subscribed
        topics += [(parameter, f"{name}/{values[parameter]}") for name in names
                   for parameter in ("image_topic", "skeletons_2d_topic") if parameter in values]
        _check_topics(topics)
        joint_views = values.get("triangulation.min_views")
        if joint_views is not None and 1 < len(names) < joint_views:
            # (a review: accepted, then nobody was ever triangulated, without a word)
            raise ParameterError(f"parameter 'triangulation.min_views' = {joint_views} exceeds "
                                 f"the {len(names)} cameras in camera_names: no joint could "
                                 "be triangulated")
        # the rules between the rig nodes' parameters (core.config_rules: the run tool's too)
        if problems := configuration_problems(
                cameras=len(names), monocular_method=values["monocular_method"],
                output_layout=values["output_layout"],
                lone_view_people=values["lone_view_people"],
                monocular_floor=values["monocular_floor"],
                extrinsics_source=values["extrinsics_source"], rig_file=values["rig_file"],
                min_views=values["sync.min_views"],
                body_height_m=values["monocular_body_height_m"],
                plausible_heights_m=(values["plausibility.min_height_m"],
                                     values["plausibility.max_height_m"]),
                publish_2d=values.get("publish_2d"),
                # the fusion node (no detector of its own) offers the lifter alone
                offered=("lifter", "detector_3d") if "detector" in values else ("lifter",)):
            raise ParameterError(problems[0])
    elif "image_topic" in values:                   # a detector: relative to its namespace
        _check_topics([("image_topic", values["image_topic"])])
