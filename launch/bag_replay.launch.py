"""Replay a bag (`ros2 bag play --clock`) into the all-in-one node on simulated time, with rviz2.

  ros2 launch pose3d_ros bag_replay.launch.py bag:=/path/to/bag rig_file:=/path/to/rig.yaml
The bag needs /<cam>/image_raw (or .../compressed) and /<cam>/camera_info per camera.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("pose3d_ros")
    return LaunchDescription([
        DeclareLaunchArgument("bag", description="Path of the rosbag2 to replay."),
        DeclareLaunchArgument(
            "rig_file", description="Calibration with the camera poses of the bag's rig."),
        DeclareLaunchArgument(
            "config", default_value=PathJoinSubstitution([share, "config", "demo.yaml"]),
            description="Parameter file of the node (camera names must match the bag)."),
        DeclareLaunchArgument(
            "rate", default_value="1.0", description="Replay speed (1.0 = as recorded)."),
        DeclareLaunchArgument(
            "loop", default_value="false", choices=["true", "false"],
            description="Replay the bag again and again (the node resets on the time jump)."),
        DeclareLaunchArgument(
            "rviz", default_value="true", choices=["true", "false"],
            description="Start rviz2 with the package's skeleton view."),
        ExecuteProcess(
            cmd=["ros2", "bag", "play", LaunchConfiguration("bag"), "--clock",
                 "--rate", LaunchConfiguration("rate")],
            output="screen", condition=UnlessCondition(LaunchConfiguration("loop"))),
        ExecuteProcess(
            cmd=["ros2", "bag", "play", LaunchConfiguration("bag"), "--clock", "--loop",
                 "--rate", LaunchConfiguration("rate")],
            output="screen", condition=IfCondition(LaunchConfiguration("loop"))),
        Node(package="pose3d_ros", executable="pose3d_node", name="pose3d_node",
             output="screen",
             parameters=[LaunchConfiguration("config"),
                         {"rig_file": LaunchConfiguration("rig_file"), "use_sim_time": True}]),
        Node(package="rviz2", executable="rviz2", name="rviz2", output="screen",
             arguments=["-d", PathJoinSubstitution([share, "rviz", "pose3d.rviz"])],
             parameters=[{"use_sim_time": True}],
             condition=IfCondition(LaunchConfiguration("rviz"))),
    ])
