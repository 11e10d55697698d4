"""The rules between the 3D nodes' parameters, in one place.

configuration_problems() says which combinations of the rig nodes' settings (the all-in-one
node and the fusion node) cannot run, one line each. Three callers use it and so refuse the
same combinations with the same words:

  - the nodes at configure (ros.parameters.read_parameters, before anything is built);
  - ros.parameters.rules_broken, the warning when a parameter change made at run time means the
    next configure will refuse;
  - the offline `run` tool before any work (tools.run.check_inputs), with its options' names
    in place of the parameters they set (`names`).

floor_frame_problem() says whether one-camera floor contact can work in a rig's frame; the
nodes (reading their rig file), the launch files (floor_height:=) and the `run` tool
(--floor-height) refuse with its words.

Values are plain: counts, strings, booleans, metres. No ROS here.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pose3d_ros.core.layouts import H36M17

if TYPE_CHECKING:
    from pose3d_ros.core.camera import Rig


def floor_frame_problem(rig: Rig, source: str, option: str = "monocular_floor") -> str | None:
    """Why one-camera floor contact (monocular_floor, set by `option`) cannot work in `rig`'s
    frame, or None: a self-calibrated rig's frame is its reference camera's optical frame (z
    that camera's view, y down; calibration.rig_frame_is_optical), where no floor is level,
    so the floor's scales would be wrong or refused. source: how the user named the rig (its
    file)."""
    from pose3d_ros.core.calibration import rig_frame_is_optical
    if not rig_frame_is_optical(rig):
        return None
    return (f"{option} needs a frame whose z points up with the floor in it, and the frame of "
            f"{source} ({rig.frame_id!r}) is a camera's optical frame (a self-calibrated rig: "
            "z is that camera's view, y down); give a calibration in a floor frame, or camera "
            "poses from TF")


def configuration_problems(*, cameras: int | None, monocular_method: str, output_layout: str,
                           lone_view_people: bool, monocular_floor: bool,
                           extrinsics_source: str | None, rig_file: str, min_views: int,
                           body_height_m: float, plausible_heights_m: tuple[float, float],
                           publish_2d: bool | None = None,
                           offered: tuple[str, ...] = ("lifter", "detector_3d"),
                           names: Mapping[str, str] | None = None) -> list[str]:
    """What the nodes refuse in these settings, one line each ([] when nothing), in the order
    the checks run (the first is what a node reports).

    cameras: the number of camera_names (None: not known yet, and the rules on it are left
    out); monocular_method: 'lifter', 'detector_3d' or 'none'; output_layout: '' (the
    detector's) or a layout name; extrinsics_source: 'rig_file', 'tf', 'none' (None: not known
    yet); min_views: sync.min_views; body_height_m: monocular_body_height_m (0: the 3D's own
    size); plausible_heights_m: (plausibility.min_height_m, plausibility.max_height_m) in m;
    publish_2d: the node's publish_2d (None: it has no 2D output of its own); offered: the
    monocular methods the caller has (the fusion node: 'lifter' alone). names: how
    the caller's user sets a parameter (the run tool: {'lone_view_people': '--lone-views',
    ...}); a parameter not in it is called by its own name."""
    def n(parameter: str) -> str:
        return (names or {}).get(parameter, parameter)

    problems = []
    several = cameras is not None and cameras > 1
    if cameras is not None and min_views > cameras:
        problems.append(f"parameter {n('sync.min_views')!r} = {min_views} exceeds the "
                        f"{cameras} camera(s) in camera_names")
    if extrinsics_source == "rig_file" and not rig_file:
        problems.append("parameter 'rig_file' is empty but extrinsics_source is 'rig_file': "
                        "give the calibration file or choose 'tf'/'none'")
    if extrinsics_source == "none" and several:
        problems.append(f"extrinsics_source 'none' works with one camera only; camera_names "
                        f"has {cameras}: use 'rig_file' or 'tf'")
    low, high = plausible_heights_m
    if not low < high:
        problems.append(f"parameter 'plausibility.min_height_m' = {low} must be below "
                        f"'plausibility.max_height_m' = {high}")
    elif body_height_m and not low <= body_height_m <= high:
        problems.append(
            f"{n('monocular_body_height_m')} {body_height_m:g} m lies outside the standing "
            f"heights the node publishes, [{low:g}, {high:g}] m (plausibility.min_height_m, "
            "plausibility.max_height_m): every person would be refused as implausible; "
            "change the height (0 keeps the 3D's own size) or those limits")
    if monocular_floor and extrinsics_source == "none":
        problems.append(
            f"{n('monocular_floor')} needs a fixed frame with z up and the floor in it: with "
            "extrinsics_source 'none' the output is the camera's optical frame; give the "
            f"camera's pose (extrinsics_source 'rig_file' or 'tf') or turn "
            f"{n('monocular_floor')} off")
    # lone_view_people asks for the monocular method whatever the camera count
    if lone_view_people and monocular_method == "none":
        problems.append(
            f"{n('lone_view_people')} places people with the monocular method (those whom one "
            f"camera alone sees), and {n('monocular_method')} is 'none': set "
            f"{n('monocular_method')} to 'lifter' (or 'detector_3d' where the detector gives "
            f"metric 3D), or turn {n('lone_view_people')} off")
    if lone_view_people and several and output_layout != H36M17.name:
        problems.append(
            f"{n('lone_view_people')} places people with the monocular method, whose layout "
            f"is H36M-17, beside triangulated ones: it needs output_layout 'h36m17' (now "
            f"{output_layout!r}); set it, or turn {n('lone_view_people')} off")
    if cameras == 1 and monocular_method == "none" and not publish_2d:
        # (a review: configured, the detector ran on every frame, every message was empty and
        # the diagnostics said 'pipeline running' while rejected_no_3d counted every frame)
        problems.append(
            f"one camera needs a monocular method to give 3D: {n('monocular_method')} 'none' "
            "gives none (a single camera has no other path to 3D); set it to 'lifter'"
            + (" (or 'detector_3d' where the detector gives metric 3D)"
               if "detector_3d" in offered else "")
            + (", or publish_2d true for 2D skeletons only" if publish_2d is not None else ""))
    if cameras == 1 and monocular_method != "none" and output_layout not in ("", H36M17.name):
        problems.append(
            f"output_layout {output_layout!r} cannot be made from the monocular path's "
            f"H36M-17 (it lacks that layout's face joints), and a single camera has no other "
            f"path: set output_layout to '' or 'h36m17'")
    return problems
