"""Checks of launch arguments, run by the launch files at launch time (OpaqueFunction), so a
missing or wrong file stops `ros2 launch` with one clear line instead of a node that starts
and then fails (or silently ignores the argument). Plain Python: testable without `launch`."""
from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Environment variables through which Fast DDS reads an XML profile (the old and new names).
FASTDDS_PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
FASTDDS_RMWS = ("rmw_fastrtps_cpp", "rmw_fastrtps_dynamic_cpp")   # Jazzy's default first
# rmw_fastrtps takes the history memory policy and publish mode from the XML profile only
# when this is 1 (otherwise it sets its own).
FASTDDS_QOS_FROM_XML_VARIABLE = "RMW_FASTRTPS_USE_QOS_FROM_XML"
# The `node_memory_profile` argument of every launch file (node_memory_environment_at_launch).
NODE_MEMORY_PROFILE_HELP = (
    "Give the processes of the nodes that read images the package's Fast DDS reader profile "
    "(config/fastdds_node.xml: a received image's memory is freed once taken, so a backlog "
    "does not raise RSS for good) unless a Fast DDS profile or RMW_FASTRTPS_USE_QOS_FROM_XML "
    "is already set.")


class LaunchArgumentError(ValueError):
    """A launch argument the launch file cannot run with."""


def existing_file(value: str, argument: str, launch_file: str, what: str) -> str:
    """`value` if it names an existing file, else LaunchArgumentError naming the argument."""
    if not value:
        raise LaunchArgumentError(f"{launch_file}: argument {argument!r} is empty; give "
                                  f"{argument}:=<{what}>")
    if not Path(value).expanduser().is_file():
        raise LaunchArgumentError(f"{launch_file}: {argument}:={value} does not exist "
                                  f"(expected {what})")
    return str(Path(value).expanduser())


def float_argument(value: str, argument: str, launch_file: str) -> float:
    """A launch argument that sets a double parameter, as a float (a string would reach the
    node as a string parameter and fail its declaration's type); LaunchArgumentError naming
    the argument when it is not a number."""
    try:
        number = float(value)
    except ValueError:
        raise LaunchArgumentError(f"{launch_file}: {argument}:={value} is not a number") \
            from None
    if not math.isfinite(number):
        raise LaunchArgumentError(f"{launch_file}: {argument}:={value} is not a finite number")
    return number


def replay_rate(value: str, launch_file: str) -> str:
    """A `rate` argument of `ros2 bag play`: a number > 0, as text; LaunchArgumentError
    naming it otherwise (a review: rate:=abc reached ros2 bag play, which died, and the node
    waited for /clock for ever)."""
    if float_argument(value, "rate", launch_file) <= 0:
        raise LaunchArgumentError(f"{launch_file}: rate:={value} must be > 0 (1.0 = as "
                                  "recorded)")
    return value


def existing_bag(value: str, launch_file: str) -> str:
    """The `bag` argument with `~` expanded (a launch argument is not expanded by the shell
    after `:=`) if it names an existing rosbag2 folder or file, else LaunchArgumentError."""
    if not value:
        raise LaunchArgumentError(f"{launch_file}: argument 'bag' is empty; give "
                                  "bag:=<rosbag2 folder>")
    path = Path(value).expanduser()
    if not path.exists():
        raise LaunchArgumentError(f"{launch_file}: bag:={value} does not exist (expected a "
                                  "rosbag2 folder, e.g. one made by pose3d_ros.tools.make_bag)")
    return str(path)


def overrides_given(values: Mapping[str, str]) -> dict[str, str]:
    """The launch arguments that override a node parameter: those given a value; an empty
    one keeps what the parameter file (`config`) says."""
    return {name: value for name, value in values.items() if value}


def config_parameter(config: str, node: str, name: str) -> Any:
    """Parameter `name` of node `node` in a ROS 2 parameter file, None when the file does not
    set it or cannot be read. node: the node's name, or its namespace and name
    ("robot1/pose3d_node", as node_in_namespace gives it): the sections rcl applies to that
    node are read, its own name's (`/robot1/pose3d_node:`, or `pose3d_node:` in the root
    namespace) and those of wildcards (`/**/pose3d_node:`, `/robot1/*:`, `/**:`), the last in
    the file that sets `name` winning, as rcl does. (A review: a `ros2 param dump` of a
    namespaced node, keyed by its full name, was not read: its cameras were replaced by the
    defaults.)"""
    import yaml
    try:
        document = yaml.safe_load(Path(config).expanduser().read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(document, dict):
        return None
    full = "/" + node.strip("/")
    value = None
    for key, section in document.items():        # every section that applies, in order:
        if not isinstance(key, str) or not (      # the last one setting `name` wins, as rcl
                "/" + key.strip("/") == full       # does (checked against rclpy in the tests)
                or ("*" in key and _node_pattern(key).fullmatch(full))):
            continue
        parameters = section.get("ros__parameters") if isinstance(section, dict) else None
        if isinstance(parameters, dict) and name in parameters:
            value = parameters[name]
    return value


@functools.lru_cache(maxsize=64)
def _node_pattern(key: str) -> Any:
    """The regular expression of a parameter file's wildcard node key: `**` any number of
    names, `*` one name or part of one (rcl's rules)."""
    parts = []
    for token in ("/" + key.strip("/")).split("/")[1:]:
        parts.append("(/[^/]+)*" if token == "**" else
                     "/" + ".*".join(re.escape(piece) for piece in token.split("*"))
                     .replace(".*", "[^/]*"))
    return re.compile("".join(parts))


def node_in_namespace(context: Any, node: str) -> str:
    """`node` prefixed with the namespace a launch file runs in (PushROSNamespace, a
    GroupAction's namespace): "robot1/pose3d_node", or `node` in the root namespace."""
    namespace = str(context.launch_configurations.get("ros_namespace", "") or "").strip("/")
    return f"{namespace}/{node}" if namespace else node


def _node_kind(node: str) -> str:
    """The key of parameters.NODE_PARAMS of a node name, with or without its namespace."""
    return node.rsplit("/", 1)[-1]


def _readable_rig(rig_file: str) -> Any | None:
    """The rig of `rig_file` (calibration.load_rig), read once per launch for every
    argument that needs it (again if the file changed); None when it cannot be read (the
    node reports the file)."""
    path = Path(rig_file).expanduser()
    try:
        status = path.stat()
    except OSError:
        return None
    return _rig_of(str(path), status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=4)
def _rig_of(path: str, modified_ns: int, size: int) -> Any | None:
    """load_rig(path) of the file as it was at (modified_ns, size); None if unreadable."""
    from pose3d_ros.core.calibration import load_rig
    try:
        return load_rig(Path(path))
    except (OSError, ValueError, KeyError):
        return None


def rig_camera_names(requested: str, config: str, rig_file: str, *,
                     node: str = "pose3d_node") -> tuple[list[str], str]:
    """The camera_names a launch file gives node `node` of a rig: the `cameras` argument's
    (comma-separated) when given; else the parameter file's (or the node's default) when the
    rig file has every one of them; else the rig file's cameras in its order, so that a rig
    whose cameras are not named like the file's (cam01..cam04) runs without `cameras:=`.
    Returns (names, note): note, a line for the launch log when the rig file's names were
    taken ('' otherwise). A rig file that cannot be read leaves the parameter file's names
    (the node reports the file). LaunchArgumentError for a camera given twice (a review: two
    detectors of one name started, launch only warning)."""
    given = [name.strip() for name in requested.split(",") if name.strip()]
    if repeated := sorted({name for name in given if given.count(name) > 1}):
        raise LaunchArgumentError(f"cameras:={requested}: {', '.join(repeated)} given more "
                                  "than once; name each camera once")
    if given:
        return given, ""
    configured = list(node_parameter(config, {}, node, "camera_names"))
    if not rig_file:
        return configured, ""
    rig = _readable_rig(rig_file)
    if rig is None:
        return configured, ""
    in_rig = [camera.name for camera in rig.cameras]
    if all(name in in_rig for name in configured):
        return configured, ""
    return in_rig, (f"cameras: the rig file's {in_rig} (the parameter file's camera_names "
                    f"{configured} are not all in it; give cameras:=... to choose)")


def rig_extrinsics(config: str, rig_file: str, fixed_frame: str, launch_file: str, *,
                   node: str = "pose3d_node") -> tuple[str, str]:
    """The rig_file a rig launch file gives node `node`, and the frame of its 3D output when
    that is not the rig file's ('' when it is). With the parameter file's extrinsics_source
    'rig_file' (the package's default) `rig_file` must name an existing file (else
    LaunchArgumentError); with 'tf' the poses come from TF, `rig_file` may be empty and the
    output is in the fixed frame (`fixed_frame`, the launch argument, else the parameter
    file's). (A review: rig.launch.py required a rig file even for a rig posed through TF,
    and rviz2 then took the file's frame.)"""
    source = node_parameter(config, {}, node, "extrinsics_source")
    # an empty rig_file:= keeps the parameter file's (a review: a node's own `ros2 param
    # dump`, naming its rig file, was refused as "argument 'rig_file' is empty")
    rig_file = rig_file or str(config_parameter(config, node, "rig_file") or "")
    if source == "rig_file" or rig_file:
        rig_file = existing_file(rig_file, "rig_file", launch_file,
                                 "the rig's calibration; or extrinsics_source: tf in the "
                                 "config, the camera poses from TF")
    if source == "rig_file":
        return rig_file, ""
    return rig_file, fixed_frame or str(node_parameter(config, {}, node, "fixed_frame"))


def one_camera_pose(config: str, fixed_frame: str, floor_height: str, launch_file: str, *,
                    node: str = "pose3d_node") -> dict[str, Any]:
    """The node parameters one_camera.launch.py's `fixed_frame` and `floor_height` arguments
    set (empty: the parameter file's stand). fixed_frame: the camera's pose from TF in that
    frame (extrinsics_source 'tf'), the 3D published in it: e.g. a robot's base_footprint,
    whose z points up with the floor at 0 (REP-103 / REP-105). floor_height: floor_overrides.
    """
    overrides: dict[str, Any] = {}
    if fixed_frame:
        overrides.update(extrinsics_source="tf", fixed_frame=fixed_frame)
    overrides.update(floor_overrides(config, overrides, floor_height, launch_file, node=node))
    return overrides


def lone_view_overrides(lone_views: str) -> dict[str, Any]:
    """The node parameters a rig launch file's `lone_views` argument sets: 'true' publishes
    the people whom one camera alone sees too (lone_view_people, placed by the lifter, whose
    layout is H36M-17: output_layout h36m17), 'false' does not, '' leaves the parameter
    file's values. (rig.launch.py and distributed.launch.py's fusion node.)"""
    if lone_views == "true":
        return {"lone_view_people": True, "monocular_method": "lifter",
                "output_layout": "h36m17"}
    if lone_views == "false":
        return {"lone_view_people": False}
    return {}


LONE_VIEWS_HELP = (
    "true: also publish the people whom only one camera sees (cameras looking different "
    "ways, as on a robot): lone_view_people with the lifter and output_layout h36m17 "
    "(docs/nodes.md); false: not; empty keeps the config file's lone_view_people (the "
    "package's: false).")
FLOOR_HEIGHT_HELP = (
    "Height (m) of the floor in the output frame (z up): the people one camera alone places "
    "(lone_views, a set of one camera) take their distance from their feet on the floor "
    "(monocular_floor), not from body size alone; empty keeps the config file's (the "
    "package's: off). See docs/nodes.md.")


def floor_overrides(config: str, overrides: Mapping[str, Any], floor_height: str,
                    launch_file: str, *, node: str = "pose3d_node") -> dict[str, Any]:
    """The node parameters a launch file's `floor_height` argument sets (empty: none): one
    camera's distances, and a rig's lone people's, from the floor at that z of the fixed
    frame (monocular_floor, docs/nodes.md) instead of from body size alone (the `multi`
    demo's cam03 alone placed its people 0.87 m (median) from the 4-camera triangulation by
    size, 0.07 m by the floor: benchmarks/results_onecam.md, session 59). The floor needs a
    pose of the camera in a z-up frame (the node's extrinsics_source, with `overrides`, 'tf'
    or 'rig_file'); else LaunchArgumentError, as for a height that is not a number or
    outside the parameter's range."""
    if not floor_height:
        return {}
    height = float_argument(floor_height, "floor_height", launch_file)
    from pose3d_ros.ros.parameters import NODE_PARAMS
    spec = next(p for p in NODE_PARAMS[_node_kind(node)] if p.name == "monocular_floor_height_m")
    if spec.low is not None and spec.high is not None and not spec.low <= height <= spec.high:
        raise LaunchArgumentError(f"{launch_file}: floor_height:={floor_height} is outside "
                                  f"[{spec.low:g}, {spec.high:g}] m")
    source = node_parameter(config, overrides, node, "extrinsics_source")
    if source == "none":
        raise LaunchArgumentError(
            f"{launch_file}: floor_height:={floor_height} needs the camera's pose over the "
            "floor: give fixed_frame:=<a frame whose z points up, e.g. base_footprint> "
            "(the pose from TF), or a config with extrinsics_source: rig_file")
    if source == "rig_file":
        from pose3d_ros.core.config_rules import floor_frame_problem
        rig_file = str(node_parameter(config, overrides, node, "rig_file"))
        rig = _readable_rig(rig_file) if rig_file else None     # else the node tells
        problem = None if rig is None else floor_frame_problem(
            rig, rig_file, f"floor_height:={floor_height}")
        if problem is not None:
            raise LaunchArgumentError(f"{launch_file}: {problem}")
    return {"monocular_floor": True, "monocular_floor_height_m": height}


def output_frame(requested: str, *, rig_file: str = "", camera: str = "",
                 default: str = "world") -> str:
    """The fixed frame for rviz2 of the node's 3D output: `requested` when given; else the rig
    file's frame (the node takes it from the file: calibration.load_rig), <frame>_upright when
    that frame is one camera's optical frame (a self-calibrated rig); else, for one camera
    without a rig, the upright frame the node broadcasts at the camera
    (<camera>_optical_frame_upright, publish_upright_frame: the node uses the frame_id of the
    camera's camera_info, <camera>_optical_frame as the package's tools name it, which a driver
    may name otherwise: then give <its frame>_upright); else `default`."""
    if requested:
        return requested
    if rig_file:
        from pose3d_ros.core.calibration import rig_frame_is_optical
        from pose3d_ros.core.static_tf import UPRIGHT_SUFFIX
        rig = _readable_rig(rig_file)
        if rig is None:                           # the node reports a bad file itself
            return default
        if rig.frame_id and rig_frame_is_optical(rig):     # a self-calibrated rig
            return f"{rig.frame_id}{UPRIGHT_SUFFIX}"
        return rig.frame_id or default
    from pose3d_ros.core.static_tf import UPRIGHT_SUFFIX
    return f"{camera}_optical_frame{UPRIGHT_SUFFIX}" if camera else default


def camera_output_frame(requested: str, config: str, overrides: Mapping[str, Any],
                        camera: str, *, node: str = "pose3d_node") -> str:
    """output_frame for a one-camera node run with parameter file `config` and `overrides`,
    by its extrinsics_source: 'none' (one_camera.yaml's), `camera`'s upright frame; 'rig_file',
    the rig file's frame; 'tf', its fixed_frame. (A review: one_camera.launch.py gave rviz2
    the camera's upright frame whatever the config said, and a camera posed over a floor, as
    one_camera.yaml's monocular_floor comment invites, showed nothing: that frame is broadcast
    for extrinsics_source 'none' only.)"""
    source = node_parameter(config, overrides, node, "extrinsics_source")
    if source == "rig_file":
        return output_frame(requested, rig_file=str(
            node_parameter(config, overrides, node, "rig_file")))
    if source == "tf":
        return output_frame(requested, default=str(
            node_parameter(config, overrides, node, "fixed_frame")))
    return output_frame(requested, camera=camera)


def node_parameter(config: str, overrides: Mapping[str, Any], node: str, name: str) -> Any:
    """The value node `node` (a key of parameters.NODE_PARAMS) will read for parameter `name`:
    the launch file's override, else the parameter file's value (config_parameter), else the
    node's declared default."""
    if name in overrides:
        return overrides[name]
    value = config_parameter(config, node, name)
    if value is not None:
        return value
    from pose3d_ros.ros.parameters import NODE_PARAMS
    return next(spec.default for spec in NODE_PARAMS[_node_kind(node)] if spec.name == name)


def camera_image_topic(config: str, overrides: Mapping[str, Any], *, camera: str = "",
                       node: str = "pose3d_node") -> str:
    """The topic of the images node `node` reads for `camera` (default: its first camera
    name), as rviz2's Camera display takes it: /<camera>/<image_topic>, ending in /compressed
    for image_transport 'compressed' (rviz2 picks the image transport from the topic's last
    name)."""
    camera = camera or node_parameter(config, overrides, node, "camera_names")[0]
    topic = f"/{camera}/{node_parameter(config, overrides, node, 'image_topic')}"
    compressed = node_parameter(config, overrides, node, "image_transport") == "compressed"
    return f"{topic}/compressed" if compressed else topic


def camera_info_topic(config: str, overrides: Mapping[str, Any], *, camera: str = "",
                      node: str = "pose3d_node") -> str:
    """The camera_info topic node `node` reads for `camera` (default: its first camera name),
    beside camera_image_topic's images: /<camera>/camera_info."""
    camera = camera or node_parameter(config, overrides, node, "camera_names")[0]
    return f"/{camera}/camera_info"


def rviz_camera_info_remapping(image_topic: str, info_topic: str) -> list[tuple[str, str]]:
    """The remapping rviz2 needs for its Camera display on `image_topic` to read `info_topic`:
    the display (Jazzy) subscribes camera_info beside the topic it shows, that topic's last
    name replaced (image_transport::getCameraInfoTopic), so /cam01/image_raw/compressed asks
    for /cam01/image_raw/camera_info, which no camera publishes (a review: the launch files'
    views with image_transport 'compressed', the demo's and bag_replay's default, never
    showed the image). None when the two agree (/cam01/image_raw beside /cam01/camera_info)."""
    if not image_topic or not info_topic:
        return []
    asked = f"{image_topic.rsplit('/', 1)[0]}/camera_info"
    return [] if asked == info_topic else [(asked, info_topic)]


def rviz_view_showing(view_text: str, image_topic: str = "", namespace: str = "") -> str:
    """An rviz2 view (.rviz YAML text) with every Camera display set to `image_topic` (empty:
    its own), and, under a launch `namespace` (e.g. '/robot1', from PushROSNamespace), the
    MarkerArray and Camera topics moved into it, as the nodes' relative topics are; the rest
    as it was."""
    import yaml
    view = yaml.safe_load(view_text)
    prefix = _namespace_prefix(namespace)
    for display in view["Visualization Manager"]["Displays"]:
        kind = display.get("Class")
        if kind == "rviz_default_plugins/Camera" and image_topic:
            display["Topic"]["Value"] = image_topic
        if kind in ("rviz_default_plugins/Camera", "rviz_default_plugins/MarkerArray"):
            display["Topic"]["Value"] = prefix + display["Topic"]["Value"]
    return yaml.safe_dump(view, sort_keys=False)


def _namespace_prefix(namespace: str) -> str:
    """What a launch `namespace` puts before the nodes' absolute topic names: '/robot1' for
    '/robot1/' or 'robot1', '' for none."""
    return "/" + namespace.strip("/") if namespace.strip("/") else ""


def rviz_view_copy_name(view_file: str, namespace: str, image_topic: str) -> str:
    """The file name of a launch's copy of the package's view `view_file` set to `namespace`
    and `image_topic`: one per namespace and topic (two rigs in one bringup wrote one file,
    and both windows showed the second's topics: a review), each run of characters a file
    name should not hold as one underscore ("pose3d_robot1_image_raw.rviz", not
    "pose3d_robot1__image_raw.rviz")."""
    tag = re.sub(r"[^A-Za-z0-9]+", "_", f"{namespace}/{image_topic}").strip("_")
    return f"{Path(view_file).stem}_{tag}.rviz" if tag else view_file


def rviz_at_launch(context: Any, fixed_frame: str, *, sim_time: bool = False,
                   image_topic: str = "", info_topic: str = "") -> list[Any]:
    """The rviz2 node of a launch file when its `rviz` argument is true (else nothing): the
    package's view with its fixed frame set to `fixed_frame` (output_frame): rviz/pose3d.rviz,
    or for a camera's upright frame rviz/one_camera.rviz (the grid 1.2 m below the camera, the
    view from behind it). image_topic (camera_image_topic): what its Camera display shows,
    given in a copy of the view written to this launch's log folder; under a namespace pushed
    around the launch file (PushROSNamespace) that copy also moves the MarkerArray and Camera
    topics into it (rviz_view_showing). info_topic (camera_info_topic): the camera_info the
    Camera display reads (rviz_camera_info_remapping). Imports launch_ros when called."""
    from launch.actions import LogInfo
    from launch.logging import launch_config
    from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
    from launch_ros.actions import Node
    from launch_ros.substitutions import FindPackageShare
    if LaunchConfiguration("rviz").perform(context) != "true":
        return []
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    try:
        get_package_share_directory("rviz2")
    except PackageNotFoundError:
        # (a review: launch failed on "package 'rviz2' not found" after pose3d_node had
        # started, and left it running without a parent; e.g. a robot's ros-base install)
        from launch.logging import get_logger
        get_logger("pose3d_ros").warning(
            "rviz2 is not installed here: the nodes start without it (rviz:=false leaves it "
            "out without this warning; `sudo apt install ros-${ROS_DISTRO}-rviz2`, or rviz2 "
            "on another computer of the same ROS_DOMAIN_ID, shows the skeletons)")
        return []
    from pose3d_ros.core.static_tf import UPRIGHT_SUFFIX
    config = "one_camera.rviz" if fixed_frame.endswith(UPRIGHT_SUFFIX) else "pose3d.rviz"
    view = PathJoinSubstitution([FindPackageShare("pose3d_ros"), "rviz",
                                 config]).perform(context)
    said = []
    # a namespace pushed around this launch file (PushROSNamespace keeps it here): the nodes'
    # topics are in it, rviz2's view names them absolute (a review: it showed nothing)
    namespace = context.launch_configurations.get("ros_namespace") or ""
    if image_topic or namespace:
        copy = Path(launch_config.log_dir) / rviz_view_copy_name(config, namespace,
                                                                 image_topic)
        try:
            copy.write_text(rviz_view_showing(Path(view).read_text(), image_topic, namespace))
            view = str(copy)
        except OSError as err:     # e.g. a read-only log folder: the package's view as it is
            said.append(LogInfo(msg=f"rviz2: the package's view as installed ({err}); it "
                                    f"does not show {image_topic or 'the topics'} under "
                                    f"{namespace or '/'}"))
    prefix = _namespace_prefix(namespace)
    remappings = rviz_camera_info_remapping(prefix + image_topic if image_topic else "",
                                            prefix + info_topic if info_topic else "")
    return [*said, Node(package="rviz2", executable="rviz2", name="rviz2", output="screen",
                        arguments=["-d", view, "-f", fixed_frame], remappings=remappings,
                        parameters=[{"use_sim_time": True}] if sim_time else [])]


# The `rviz_fixed_frame` argument of every launch file that starts rviz2.
RVIZ_FIXED_FRAME_HELP = (
    "Fixed frame of rviz2; empty: the frame of the 3D output (the rig file's frame), or for "
    "one camera the node's upright frame at the camera, <camera>_optical_frame_upright (give "
    "<frame>_upright, frame = the frame_id of your camera's camera_info, if it is another).")


def fusion_rig_file(role: str, rig_file: str, config: str = "",
                    node: str = "pose3d_fusion") -> str:
    """The rig file of distributed.launch.py: required (and must exist) when this computer
    runs the fusion node (role 'all' or 'fusion'), unused for 'detectors'; an empty one is
    the parameter file's (`config`, node `node`) when it names one."""
    if role not in ("all", "fusion"):
        return rig_file
    if not rig_file and config:
        rig_file = str(config_parameter(config, node, "rig_file") or "")
    return existing_file(rig_file, "rig_file", "distributed.launch.py",
                         "the rig's calibration (rig YAML, Pose2Sim TOML, Qualisys QCA or the "
                         "self-calibration tool's output) for the fusion node of role "
                         f"{role!r}")


def large_image_profile_environment(enabled: bool, profile: str,
                                    environ: Mapping[str, str]) -> dict[str, str]:
    """Environment for an image-publishing process a launch file starts (`ros2 bag play`) so
    that its images go through shared memory whole (config/fastdds_large_images.xml): empty
    when disabled, when the RMW is not Fast DDS, or when the user already gives Fast DDS a
    profile of their own (kept as it is)."""
    if not enabled or not _fast_dds_without_a_user_profile(environ):
        return {}
    return {FASTDDS_PROFILE_VARIABLES[0]: profile}


def node_memory_profile_environment(enabled: bool, profile: str,
                                    environ: Mapping[str, str]) -> dict[str, str]:
    """Environment for a node process that reads images (all-in-one, detector) so that its
    image readers free each payload once taken (config/fastdds_node.xml: without it a
    backlog of a few seconds raised RSS by 24-27 MiB for good, 4 raw 1080p cameras): the
    profile and `RMW_FASTRTPS_USE_QOS_FROM_XML=1`, without which rmw_fastrtps ignores the
    profile's history memory policy. Empty when disabled, when the RMW is not Fast DDS, or
    when the user already gives Fast DDS a profile or sets that variable (theirs is kept)."""
    if not enabled or not _fast_dds_without_a_user_profile(environ) \
            or environ.get(FASTDDS_QOS_FROM_XML_VARIABLE):
        return {}
    return {FASTDDS_PROFILE_VARIABLES[0]: profile, FASTDDS_QOS_FROM_XML_VARIABLE: "1"}


def node_memory_environment_at_launch(context: Any) -> dict[str, str]:
    """node_memory_profile_environment for a launch file's image-reading node, from its
    `node_memory_profile` argument and the installed config/fastdds_node.xml. Takes the
    launch context; imports launch and launch_ros when called (they exist where `ros2
    launch` runs, not in this package's test environment)."""
    from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
    from launch_ros.substitutions import FindPackageShare
    enabled = LaunchConfiguration("node_memory_profile").perform(context) == "true"
    profile = PathJoinSubstitution([FindPackageShare("pose3d_ros"), "config",
                                    "fastdds_node.xml"]).perform(context)
    return node_memory_profile_environment(enabled, profile, os.environ)


def _fast_dds_without_a_user_profile(environ: Mapping[str, str]) -> bool:
    """Whether the processes a launch file starts use Fast DDS and no profile of the user's."""
    return (environ.get("RMW_IMPLEMENTATION", FASTDDS_RMWS[0]) in FASTDDS_RMWS
            and not any(environ.get(variable) for variable in FASTDDS_PROFILE_VARIABLES))
