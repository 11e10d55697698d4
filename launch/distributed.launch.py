"""The distributed pair: a detector node per camera and one fusion node, over DDS.

Run the part each computer owns:
  camera computer:  ros2 launch pose3d_ros distributed.launch.py role:=detectors cameras:=cam01
  fusion computer:  ros2 launch pose3d_ros distributed.launch.py role:=fusion \\
                        cameras:=cam01,cam02,cam03,cam04 rig_file:=/path/to/rig.yaml
  one computer:     role:=all (the default; needs rig_file too)
  a robot whose cameras look different ways (the fusion node also publishes the people whom
  one camera alone sees, their distances from the floor at z = 0 of the rig file's frame):
                    role:=fusion rig_file:=/path/to/robot.yaml lone_views:=true floor_height:=0.0
The fusion node needs the rig's calibration: without rig_file (or with a path that does not
exist) roles 'fusion' and 'all' stop at launch with a message that says so.
Each detector runs in its camera's namespace: /<cam>/image_raw -> /<cam>/skeletons_2d.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from pose3d_ros.ros.launch_args import (
    FLOOR_HEIGHT_HELP,
    LONE_VIEWS_HELP,
    NODE_MEMORY_PROFILE_HELP,
    RVIZ_FIXED_FRAME_HELP,
    camera_image_topic,
    camera_info_topic,
    existing_file,
    floor_overrides,
    fusion_rig_file,
    lone_view_overrides,
    node_in_namespace,
    node_memory_environment_at_launch,
    output_frame,
    rig_camera_names,
    rviz_at_launch,
)


def _nodes(context):
    role = LaunchConfiguration("role").perform(context)
    config = existing_file(LaunchConfiguration("config").perform(context), "config",
                           "distributed.launch.py", "the nodes' parameter file")
    fusion = node_in_namespace(context, "pose3d_fusion")   # the config sections rcl applies
    rig_file = fusion_rig_file(role, LaunchConfiguration("rig_file").perform(context), config,
                               fusion)
    cameras, note = rig_camera_names(LaunchConfiguration("cameras").perform(context),
                                     config, rig_file, node=fusion)
    nodes = [LogInfo(msg=line) for line in [note] if line]
    if role in ("all", "detectors"):
        # the detectors read the images; the fusion node reads only their 2D
        environment = node_memory_environment_at_launch(context)
        nodes += [LogInfo(msg=f"pose3d_detector with {name}={value}")
                  for name, value in environment.items()]
        nodes += [Node(package="pose3d_ros", executable="pose3d_detector",
                       name="pose3d_detector", namespace=camera, output="screen",
                       additional_env=environment,
                       parameters=[config, {"camera_name": camera}])
                  for camera in cameras]
    if role in ("all", "fusion"):
        overrides = {"camera_names": cameras, "rig_file": rig_file,
                     **lone_view_overrides(LaunchConfiguration("lone_views").perform(context))}
        overrides.update(floor_overrides(config, overrides,
                                         LaunchConfiguration("floor_height").perform(context),
                                         "distributed.launch.py", node=fusion))
        nodes.append(Node(
            package="pose3d_ros", executable="pose3d_fusion", name="pose3d_fusion",
            output="screen", parameters=[config, overrides]))
    if role in ("all", "fusion"):
        # the images of the first camera as its detector reads them
        image_topic = camera_image_topic(config, {}, camera=cameras[0],
                                         node="pose3d_detector") if cameras else ""
        info_topic = camera_info_topic(config, {}, camera=cameras[0],
                                       node="pose3d_detector") if cameras else ""
        nodes += rviz_at_launch(context, output_frame(
            LaunchConfiguration("rviz_fixed_frame").perform(context), rig_file=rig_file),
            image_topic=image_topic, info_topic=info_topic)
    return nodes


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("pose3d_ros")
    return LaunchDescription([
        DeclareLaunchArgument(
            "config", default_value=PathJoinSubstitution([share, "config", "distributed.yaml"]),
            description="Parameter file with the detector and fusion sections."),
        DeclareLaunchArgument(
            "role", default_value="all", choices=["all", "detectors", "fusion"],
            description="Which nodes this computer runs: the detectors of `cameras`, the "
                        "fusion node, or both."),
        DeclareLaunchArgument(
            "cameras", default_value="",
            description="Comma-separated camera namespaces (detectors: the local cameras; "
                        "fusion: the whole rig, in rig order); empty: the config file's "
                        "pose3d_fusion camera_names when the rig file has them all, else the "
                        "rig file's cameras."),
        DeclareLaunchArgument(
            "rig_file", default_value="",
            description="Calibration with the camera poses: required with role 'fusion' or "
                        "'all' (the fusion node's rig)."),
        DeclareLaunchArgument(
            "lone_views", default_value="", choices=["", "true", "false"],
            description=LONE_VIEWS_HELP),
        DeclareLaunchArgument(
            "floor_height", default_value="",
            description=FLOOR_HEIGHT_HELP),
        DeclareLaunchArgument(
            "rviz", default_value="true", choices=["true", "false"],
            description="Start rviz2 next to the fusion node."),
        DeclareLaunchArgument("rviz_fixed_frame", default_value="",
                              description=RVIZ_FIXED_FRAME_HELP),
        DeclareLaunchArgument("node_memory_profile", default_value="true",
                              choices=["true", "false"], description=NODE_MEMORY_PROFILE_HELP),
        OpaqueFunction(function=_nodes),
    ])
