"""The demo rig: replay the bag of the pose2sim demo recordings into the all-in-one node.

  python -m pose3d_ros.tools.make_bag --demo single --fixed-frame world /tmp/demo_single
  ros2 launch pose3d_ros demo.launch.py bag:=/tmp/demo_single \\
      rig_file:=<data>/demo/single/calibration/Calib.qca.txt
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

from pose3d_ros.ros.launch_args import NODE_MEMORY_PROFILE_HELP, existing_file


def _check_files(context):
    """Stop before the include when a file is missing, naming this launch file (the included
    bag_replay.launch.py checks again, under its own name, when launched on its own)."""
    existing_file(LaunchConfiguration("config").perform(context), "config", "demo.launch.py",
                  "the node's parameter file")
    existing_file(LaunchConfiguration("rig_file").perform(context), "rig_file",
                  "demo.launch.py", "the demo's calibration")
    return []


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("pose3d_ros")
    return LaunchDescription([
        DeclareLaunchArgument(
            "bag", description="rosbag2 of the demo made by pose3d_ros.tools.make_bag."),
        DeclareLaunchArgument(
            "rig_file", description="The demo's calibration (demo/<name>/calibration/"
                                    "Calib.qca.txt under the data folder)."),
        DeclareLaunchArgument(
            "config", default_value=PathJoinSubstitution([share, "config", "demo.yaml"]),
            description="Parameter file of the node (a path that does not exist stops the "
                        "launch)."),
        DeclareLaunchArgument(
            "loop", default_value="false", choices=["true", "false"],
            description="Replay the bag again and again (the node starts over at each "
                        "restart)."),
        DeclareLaunchArgument(
            "rate", default_value="0.25",
            description="Replay speed (1.0 = real time); the CPU detector runs slower than "
                        "60 fps x 4 cameras."),
        DeclareLaunchArgument(
            "rviz", default_value="true", choices=["true", "false"],
            description="Start rviz2 with the package's skeleton view."),
        DeclareLaunchArgument(
            "large_image_shm", default_value="true", choices=["true", "false"],
            description="Replay the images through shared memory in one piece (the "
                        "package's Fast DDS profile) unless a Fast DDS profile is set."),
        DeclareLaunchArgument("node_memory_profile", default_value="true",
                              choices=["true", "false"], description=NODE_MEMORY_PROFILE_HELP),
        OpaqueFunction(function=_check_files),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(PathJoinSubstitution(
                [share, "launch", "bag_replay.launch.py"])),
            launch_arguments={
                "bag": LaunchConfiguration("bag"), "rig_file": LaunchConfiguration("rig_file"),
                "rate": LaunchConfiguration("rate"), "rviz": LaunchConfiguration("rviz"),
                "loop": LaunchConfiguration("loop"),
                "large_image_shm": LaunchConfiguration("large_image_shm"),
                "node_memory_profile": LaunchConfiguration("node_memory_profile"),
                "config": LaunchConfiguration("config")}.items()),
    ])
