"""One camera -> 3D skeletons in its optical frame (or a frame TF poses it in), with rviz2.

  ros2 launch pose3d_ros one_camera.launch.py camera:=camera
  # on a robot: the camera's pose from TF, 3D in base_footprint, distances from the floor
  ros2 launch pose3d_ros one_camera.launch.py camera:=front fixed_frame:=base_footprint \\
      floor_height:=0.0
Topics (under a namespace pushed around this file, if any): <camera>/image_raw (or
.../compressed), <camera>/camera_info in; skeletons, skeleton_markers, /tf, /diagnostics
out. Arguments left empty keep the parameter file's values.
"""
from typing import Any

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from pose3d_ros.ros.launch_args import (
    NODE_MEMORY_PROFILE_HELP,
    RVIZ_FIXED_FRAME_HELP,
    camera_image_topic,
    camera_info_topic,
    camera_output_frame,
    config_parameter,
    existing_file,
    float_argument,
    node_in_namespace,
    node_memory_environment_at_launch,
    one_camera_pose,
    overrides_given,
    rviz_at_launch,
)


def _nodes(context):
    # Evaluated here: a list holding a substitution would be joined into one string.
    config = existing_file(LaunchConfiguration("config").perform(context), "config",
                           "one_camera.launch.py", "the node's parameter file")
    # a namespace relative to the node's: a leading slash is dropped (a review: camera:=/front
    # gave rviz2 the frame /front_optical_frame_upright and the topic //front/image_raw)
    camera = LaunchConfiguration("camera").perform(context).strip("/")
    node = node_in_namespace(context, "pose3d_node")    # the config's sections rcl applies
    overrides: dict[str, Any] = overrides_given(
        {"image_transport": LaunchConfiguration("image_transport").perform(context)})
    hfov = LaunchConfiguration("uncalibrated_hfov_deg").perform(context)
    if hfov:
        overrides["uncalibrated_hfov_deg"] = float_argument(
            hfov, "uncalibrated_hfov_deg", "one_camera.launch.py")
    overrides.update(one_camera_pose(config, LaunchConfiguration("fixed_frame").perform(context),
                                     LaunchConfiguration("floor_height").perform(context),
                                     "one_camera.launch.py", node=node))
    if camera:
        overrides["camera_names"] = [camera]
    else:
        camera = (config_parameter(config, node, "camera_names") or ["camera"])[0]
    environment = node_memory_environment_at_launch(context)
    frame = camera_output_frame(LaunchConfiguration("rviz_fixed_frame").perform(context),
                                config, overrides, camera, node=node)
    return [LogInfo(msg=f"pose3d_node with {name}={value}")
            for name, value in environment.items()] + [
        Node(package="pose3d_ros", executable="pose3d_node", name="pose3d_node",
             output="screen", additional_env=environment, parameters=[config, overrides]),
        *rviz_at_launch(context, frame, image_topic=camera_image_topic(
            config, overrides, camera=camera, node=node), info_topic=camera_info_topic(
            config, overrides, camera=camera, node=node))]


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("pose3d_ros")
    return LaunchDescription([
        DeclareLaunchArgument(
            "config", default_value=PathJoinSubstitution([share, "config", "one_camera.yaml"]),
            description="Parameter file of the node (see docs/nodes.md)."),
        DeclareLaunchArgument(
            "camera", default_value="",
            description="Camera namespace, relative to the node's (a leading / is "
                        "dropped): the node reads <camera>/image_raw and <camera>/camera_info; "
                        "empty keeps the config file's camera_names (the package's: camera)."),
        DeclareLaunchArgument(
            "image_transport", default_value="", choices=["", "raw", "compressed"],
            description="Subscribe raw sensor_msgs/Image or JPEG/PNG CompressedImage; empty "
                        "keeps the config file's image_transport (the package's: raw)."),
        DeclareLaunchArgument(
            "uncalibrated_hfov_deg", default_value="",
            description="Horizontal field of view (degrees) to assume for a camera whose "
                        "camera_info K is all zero (not calibrated); empty keeps the config "
                        "file's uncalibrated_hfov_deg (the package's: 0, such a camera is "
                        "refused). See docs/nodes.md, 'A camera nobody calibrated'."),
        DeclareLaunchArgument(
            "fixed_frame", default_value="",
            description="A frame with z up (e.g. base_footprint): the camera's pose is looked "
                        "up from it in TF at each image's stamp and the 3D is published in it "
                        "(extrinsics_source tf); empty keeps the config file's (the package's: "
                        "none, 3D in the camera's optical frame)."),
        DeclareLaunchArgument(
            "floor_height", default_value="",
            description="Height (m) of the floor in the fixed frame (0 for base_footprint): "
                        "each person's distance then follows from their feet on the floor "
                        "(monocular_floor), not from body size alone; needs fixed_frame or a "
                        "config that poses the camera. Empty keeps the config file's (the "
                        "package's: off). See docs/nodes.md."),
        DeclareLaunchArgument(
            "rviz", default_value="true", choices=["true", "false"],
            description="Start rviz2 with the package's skeleton view."),
        DeclareLaunchArgument("rviz_fixed_frame", default_value="",
                              description=RVIZ_FIXED_FRAME_HELP),
        DeclareLaunchArgument("node_memory_profile", default_value="true",
                              choices=["true", "false"], description=NODE_MEMORY_PROFILE_HELP),
        OpaqueFunction(function=_nodes),
    ])
