"""One camera -> 3D skeletons in its optical frame, with rviz2.

  ros2 launch pose3d_ros one_camera.launch.py camera:=camera
Topics: /<camera>/image_raw (or .../compressed), /<camera>/camera_info in; skeletons,
skeleton_markers, /tf, /diagnostics out.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from pose3d_ros.ros.launch_args import NODE_MEMORY_PROFILE_HELP, node_memory_environment_at_launch


def _pose_node(context):
    # Evaluated here: a list holding a substitution would be joined into one string.
    camera = LaunchConfiguration("camera").perform(context)
    environment = node_memory_environment_at_launch(context)
    return [LogInfo(msg=f"pose3d_node with {name}={value}")
            for name, value in environment.items()] + [
        Node(package="pose3d_ros", executable="pose3d_node", name="pose3d_node",
             output="screen", additional_env=environment,
             parameters=[LaunchConfiguration("config"),
                         {"camera_names": [camera],
                          "image_transport": LaunchConfiguration("image_transport")}])]


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("pose3d_ros")
    return LaunchDescription([
        DeclareLaunchArgument(
            "config", default_value=PathJoinSubstitution([share, "config", "one_camera.yaml"]),
            description="Parameter file of the node (see docs/nodes.md)."),
        DeclareLaunchArgument(
            "camera", default_value="camera",
            description="Camera namespace: the node reads /<camera>/image_raw and "
                        "/<camera>/camera_info."),
        DeclareLaunchArgument(
            "image_transport", default_value="raw", choices=["raw", "compressed"],
            description="Subscribe raw sensor_msgs/Image or JPEG/PNG CompressedImage."),
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
