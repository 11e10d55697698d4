"""Checks of launch arguments, run by the launch files at launch time (OpaqueFunction), so a
missing or wrong file stops `ros2 launch` with one clear line instead of a node that starts
and then fails (or silently ignores the argument). Plain Python: testable without `launch`."""
from __future__ import annotations

import os
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


def fusion_rig_file(role: str, rig_file: str) -> str:
    """The rig file of distributed.launch.py: required (and must exist) when this computer
    runs the fusion node (role 'all' or 'fusion'), unused for 'detectors'."""
    if role not in ("all", "fusion"):
        return rig_file
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
