"""A calibrated multi-camera rig, all in one process, with rviz2 (arguments left empty keep
the parameter file's values).

  ros2 launch pose3d_ros rig.launch.py rig_file:=/path/to/rig.yaml cameras:=cam01,cam02,cam03
  # camera poses from TF (a config with extrinsics_source: tf): no rig file
  ros2 launch pose3d_ros rig.launch.py config:=/path/to/rig_tf.yaml fixed_frame:=base_link
  # a robot whose cameras look different ways: also the people whom one camera alone sees
  ros2 launch pose3d_ros rig.launch.py rig_file:=/path/to/robot.yaml lone_views:=true
  # ... and their distances from the floor (the rig file's frame: z up, the floor at 0)
  ros2 launch pose3d_ros rig.launch.py rig_file:=/path/to/robot.yaml lone_views:=true \\
      floor_height:=0.0
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from pose3d_ros.core.detection import DETECTOR_NAMES
from pose3d_ros.ros.launch_args import (
    FLOOR_HEIGHT_HELP,
    LONE_VIEWS_HELP,
    NODE_MEMORY_PROFILE_HELP,
    RVIZ_FIXED_FRAME_HELP,
    camera_image_topic,
    camera_info_topic,
    existing_file,
    floor_overrides,
    lone_view_overrides,
    node_in_namespace,
    node_memory_environment_at_launch,
    output_frame,
    overrides_given,
    rig_camera_names,
    rig_extrinsics,
    rviz_at_launch,
)


def _nodes(context):
    config = existing_file(LaunchConfiguration("config").perform(context), "config",
                           "rig.launch.py", "the node's parameter file")
    fixed_frame = LaunchConfiguration("fixed_frame").perform(context)
    node = node_in_namespace(context, "pose3d_node")    # the config's sections rcl applies
    rig_file, tf_frame = rig_extrinsics(config, LaunchConfiguration("rig_file").perform(context),
                                        fixed_frame, "rig.launch.py", node=node)
    cameras, note = rig_camera_names(LaunchConfiguration("cameras").perform(context), config,
                                     rig_file, node=node)
    overrides = {"camera_names": cameras, **overrides_given({
        "rig_file": rig_file, "fixed_frame": fixed_frame,
        "image_transport": LaunchConfiguration("image_transport").perform(context),
        "detector": LaunchConfiguration("detector").perform(context)})}
    overrides.update(lone_view_overrides(LaunchConfiguration("lone_views").perform(context)))
    overrides.update(floor_overrides(config, overrides,
                                     LaunchConfiguration("floor_height").perform(context),
                                     "rig.launch.py", node=node))
    environment = node_memory_environment_at_launch(context)
    frame = output_frame(LaunchConfiguration("rviz_fixed_frame").perform(context),
                         rig_file="" if tf_frame else rig_file, default=tf_frame or "world")
    return [LogInfo(msg=line) for line in [note] if line] + [
        LogInfo(msg=f"pose3d_node with {name}={value}")
        for name, value in environment.items()] + [
        Node(package="pose3d_ros", executable="pose3d_node", name="pose3d_node",
             output="screen", additional_env=environment,
             parameters=[config, overrides]),
        *rviz_at_launch(context, frame,
                        image_topic=camera_image_topic(config, overrides, node=node),
                        info_topic=camera_info_topic(config, overrides, node=node))]


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("pose3d_ros")
    return LaunchDescription([
        DeclareLaunchArgument(
            "config", default_value=PathJoinSubstitution([share, "config", "rig.yaml"]),
            description="Parameter file of the node (see docs/nodes.md)."),
        DeclareLaunchArgument(
            "rig_file", default_value="",
            description="Calibration with the camera poses (rig YAML, Pose2Sim TOML, Qualisys "
                        "QCA, or the self-calibration tool's output); required unless the "
                        "config's extrinsics_source is 'tf' (poses from TF)."),
        DeclareLaunchArgument(
            "cameras", default_value="",
            description="Comma-separated camera namespaces in rig order; empty keeps the "
                        "config file's camera_names when the rig file has them all, else "
                        "takes the rig file's cameras."),
        DeclareLaunchArgument(
            "fixed_frame", default_value="",
            description="The node's fixed_frame: the frame camera poses are looked up from "
                        "with extrinsics_source 'tf' (with a rig file the 3D is in the file's "
                        "frame); empty keeps the config file's."),
        DeclareLaunchArgument(
            "image_transport", default_value="", choices=["", "raw", "compressed"],
            description="Subscribe raw sensor_msgs/Image or JPEG/PNG CompressedImage; empty "
                        "keeps the config file's image_transport (the package's: raw)."),
        DeclareLaunchArgument(
            "detector", default_value="", choices=["", *DETECTOR_NAMES],
            description="2D back-end: blazepose_multi (every person), blazepose (mediapipe's "
                        "graph, one person per camera), blazepose_onnx, or yolo_pose, rtmpose, "
                        "heatmap (their model files in the config: detector_model, "
                        "person_detector_model); empty keeps the config file's (the "
                        "package's: blazepose_multi)."),
        DeclareLaunchArgument(
            "lone_views", default_value="", choices=["", "true", "false"],
            description=LONE_VIEWS_HELP),
        DeclareLaunchArgument(
            "floor_height", default_value="",
            description=FLOOR_HEIGHT_HELP),
        DeclareLaunchArgument(
            "rviz", default_value="true", choices=["true", "false"],
            description="Start rviz2 with the package's skeleton view."),
        DeclareLaunchArgument("rviz_fixed_frame", default_value="",
                              description=RVIZ_FIXED_FRAME_HELP),
        DeclareLaunchArgument("node_memory_profile", default_value="true",
                              choices=["true", "false"], description=NODE_MEMORY_PROFILE_HELP),
        OpaqueFunction(function=_nodes),
    ])
