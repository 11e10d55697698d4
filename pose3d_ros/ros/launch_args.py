"""Checks of launch arguments, run by the launch files at launch time (OpaqueFunction), so a
missing or wrong file stops `ros2 launch` with one clear line instead of a node that starts
and then fails (or silently ignores the argument). Plain Python: testable without `launch`."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

# Environment variables through which Fast DDS reads an XML profile (the old and new names).
FASTDDS_PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
FASTDDS_RMWS = ("rmw_fastrtps_cpp", "rmw_fastrtps_dynamic_cpp")   # Jazzy's default first


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
    if not enabled:
        return {}
    if environ.get("RMW_IMPLEMENTATION", FASTDDS_RMWS[0]) not in FASTDDS_RMWS:
        return {}
    if any(environ.get(variable) for variable in FASTDDS_PROFILE_VARIABLES):
        return {}
    return {FASTDDS_PROFILE_VARIABLES[0]: profile}
