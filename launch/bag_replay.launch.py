"""Replay a bag (`ros2 bag play --clock`) into the all-in-one node on simulated time, with rviz2.

  ros2 launch pose3d_ros bag_replay.launch.py bag:=/path/to/bag rig_file:=/path/to/rig.yaml
The bag needs /<cam>/image_raw (or .../compressed) and /<cam>/camera_info per camera.
With loop:=true the node notices each restart of the bag (stamps going back to the start) and
starts over. A bag, config or rig_file that does not exist stops the launch with a clear
message (`~` in bag:= is expanded).
With large_image_shm:=true (default) `ros2 bag play` gets the package's Fast DDS profile
(config/fastdds_large_images.xml: whole images through shared memory; raw 1080p images are
otherwise mostly lost with best-effort QoS) unless Fast DDS already has a profile.
With node_memory_profile:=true (default) the node gets config/fastdds_node.xml (its image
readers free each image once taken), under the same condition.
"""
import os

from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    EmitEvent,
    ExecuteProcess,
    LogInfo,
    OpaqueFunction,
    RegisterEventHandler,
)
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from pose3d_ros.ros.launch_args import (
    NODE_MEMORY_PROFILE_HELP,
    RVIZ_FIXED_FRAME_HELP,
    camera_image_topic,
    camera_info_topic,
    existing_bag,
    existing_file,
    large_image_profile_environment,
    node_in_namespace,
    node_memory_environment_at_launch,
    output_frame,
    replay_rate,
    rig_camera_names,
    rviz_at_launch,
)


def _nodes(context):
    """The node (its parameter file and rig file checked at launch time) and rviz2."""
    config = existing_file(LaunchConfiguration("config").perform(context), "config",
                           "bag_replay.launch.py", "the node's parameter file")
    rig_file = existing_file(LaunchConfiguration("rig_file").perform(context), "rig_file",
                             "bag_replay.launch.py", "the calibration of the bag's rig")
    cameras, note = rig_camera_names("", config, rig_file,
                                     node=node_in_namespace(context, "pose3d_node"))
    overrides = {"rig_file": rig_file, "use_sim_time": True, "camera_names": cameras}
    environment = node_memory_environment_at_launch(context)
    frame = output_frame(LaunchConfiguration("rviz_fixed_frame").perform(context),
                         rig_file=rig_file)
    return [LogInfo(msg=line) for line in [note] if line] + [
        LogInfo(msg=f"pose3d_node with {name}={value}")
        for name, value in environment.items()] + [
        Node(package="pose3d_ros", executable="pose3d_node", name="pose3d_node",
             output="screen", additional_env=environment, parameters=[config, overrides]),
        *rviz_at_launch(context, frame, sim_time=True,
                        image_topic=camera_image_topic(config, overrides),
                        info_topic=camera_info_topic(config, overrides))]


def _bag_play(context):
    """`ros2 bag play --clock` (with --loop when asked); with large_image_shm:=true it alone
    gets the large-image Fast DDS profile: the publisher is where it matters, and every
    process given it holds a 32 MiB shared-memory segment."""
    enabled = LaunchConfiguration("large_image_shm").perform(context) == "true"
    profile = PathJoinSubstitution([FindPackageShare("pose3d_ros"), "config",
                                    "fastdds_large_images.xml"]).perform(context)
    environment = large_image_profile_environment(enabled, profile, os.environ)
    loop = ["--loop"] if LaunchConfiguration("loop").perform(context) == "true" else []
    bag = existing_bag(LaunchConfiguration("bag").perform(context), "bag_replay.launch.py")
    rate = replay_rate(LaunchConfiguration("rate").perform(context), "bag_replay.launch.py")
    play = ExecuteProcess(
        cmd=["ros2", "bag", "play", bag, "--clock", *loop, "--rate", rate],
        additional_env=environment, output="screen")

    def player_ended(event, _context):
        # a player that fails ends the launch with its reason (a review: the node waited
        # for /clock for ever); one that finishes the bag leaves the node to be stopped
        if event.returncode == 0:
            return []
        return [LogInfo(msg=f"ros2 bag play ended with status {event.returncode}: the "
                            "replay stops (its output above says why)"),
                EmitEvent(event=Shutdown(reason="ros2 bag play failed"))]

    return [LogInfo(msg=f"ros2 bag play with {name}={value}")
            for name, value in environment.items()] + [
        play, RegisterEventHandler(OnProcessExit(target_action=play, on_exit=player_ended))]


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("pose3d_ros")
    return LaunchDescription([
        DeclareLaunchArgument("bag", description="Path of the rosbag2 to replay."),
        DeclareLaunchArgument(
            "rig_file", description="Calibration with the camera poses of the bag's rig."),
        DeclareLaunchArgument(
            "config", default_value=PathJoinSubstitution([share, "config", "demo.yaml"]),
            description="Parameter file of the node; when the rig file lacks any of its "
                        "camera_names, the rig file's cameras are used (the bag's topics "
                        "must be theirs)."),
        DeclareLaunchArgument(
            "rate", default_value="1.0", description="Replay speed (1.0 = as recorded)."),
        DeclareLaunchArgument(
            "loop", default_value="false", choices=["true", "false"],
            description="Replay the bag again and again (the node starts over at each "
                        "restart)."),
        DeclareLaunchArgument(
            "rviz", default_value="true", choices=["true", "false"],
            description="Start rviz2 with the package's skeleton view."),
        DeclareLaunchArgument(
            "large_image_shm", default_value="true", choices=["true", "false"],
            description="Give ros2 bag play the package's Fast DDS profile "
                        "(config/fastdds_large_images.xml: images through shared memory in "
                        "one piece) unless a Fast DDS profile is already set."),
        DeclareLaunchArgument("rviz_fixed_frame", default_value="",
                              description=RVIZ_FIXED_FRAME_HELP),
        DeclareLaunchArgument("node_memory_profile", default_value="true",
                              choices=["true", "false"], description=NODE_MEMORY_PROFILE_HELP),
        OpaqueFunction(function=_bag_play),
        OpaqueFunction(function=_nodes),
    ])
