"""A calibrated multi-camera rig, all in one process, with rviz2.

  ros2 launch pose3d_ros rig.launch.py rig_file:=/path/to/rig.yaml cameras:=cam01,cam02,cam03
  # a robot whose cameras look different ways: also the people whom one camera alone sees
  ros2 launch pose3d_ros rig.launch.py rig_file:=/path/to/robot.yaml lone_views:=true
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from pose3d_ros.ros.launch_args import NODE_MEMORY_PROFILE_HELP, node_memory_environment_at_launch


def _pose_node(context):
    cameras = [c.strip() for c in LaunchConfiguration("cameras").perform(context).split(",")
               if c.strip()]
    overrides = {"rig_file": LaunchConfiguration("rig_file").perform(context),
                 "fixed_frame": LaunchConfiguration("fixed_frame").perform(context),
                 "image_transport": LaunchConfiguration("image_transport").perform(context),
                 "detector": LaunchConfiguration("detector").perform(context)}
    if cameras:
        overrides["camera_names"] = cameras
    if LaunchConfiguration("lone_views").perform(context) == "true":
        # the people one camera alone sees go the monocular way, whose layout is H36M-17
        overrides.update(lone_view_people=True, monocular_method="lifter",
                         output_layout="h36m17")
    environment = node_memory_environment_at_launch(context)
    return [LogInfo(msg=f"pose3d_node with {name}={value}")
            for name, value in environment.items()] + [
        Node(package="pose3d_ros", executable="pose3d_node", name="pose3d_node",
             output="screen", additional_env=environment,
             parameters=[LaunchConfiguration("config"), overrides])]


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("pose3d_ros")
    return LaunchDescription([
        DeclareLaunchArgument(
            "config", default_value=PathJoinSubstitution([share, "config", "rig.yaml"]),
            description="Parameter file of the node (see docs/nodes.md)."),
        DeclareLaunchArgument(
            "rig_file",
            description="Calibration with the camera poses (rig YAML, Pose2Sim TOML, Qualisys "
                        "QCA, or the self-calibration tool's output)."),
        DeclareLaunchArgument(
            "cameras", default_value="",
            description="Comma-separated camera namespaces in rig order; empty keeps the "
                        "config file's camera_names."),
        DeclareLaunchArgument(
            "fixed_frame", default_value="world",
            description="Frame of the 3D output when the rig file names none."),
        DeclareLaunchArgument(
            "image_transport", default_value="raw", choices=["raw", "compressed"],
            description="Subscribe raw sensor_msgs/Image or JPEG/PNG CompressedImage."),
        DeclareLaunchArgument(
            "detector", default_value="blazepose_multi",
            description="2D back-end: blazepose_multi (every person), blazepose (mediapipe's "
                        "graph, one person per camera), blazepose_onnx, yolo_pose, rtmpose or "
                        "heatmap."),
        DeclareLaunchArgument(
            "lone_views", default_value="false", choices=["true", "false"],
            description="Also publish the people whom only one camera sees (cameras looking "
                        "different ways, as on a robot): lone_view_people with the lifter "
                        "and output_layout h36m17 (docs/nodes.md)."),
        DeclareLaunchArgument(
            "rviz", default_value="true", choices=["true", "false"],
            description="Start rviz2 with the package's skeleton view."),
        DeclareLaunchArgument("node_memory_profile", default_value="true",
                              choices=["true", "false"], description=NODE_MEMORY_PROFILE_HELP),
        OpaqueFunction(function=_pose_node),
        Node(package="rviz2", executable="rviz2", name="rviz2", output="screen",
             arguments=["-d", PathJoinSubstitution([share, "rviz", "pose3d.rviz"])],
             condition=IfCondition(LaunchConfiguration("rviz"))),
    ])
