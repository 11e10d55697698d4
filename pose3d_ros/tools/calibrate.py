"""Self-calibrate camera extrinsics from people moving in synchronised videos; write a rig YAML.

Intrinsics must be known (one calibration file holding every camera: rig YAML, Pose2Sim TOML or
Qualisys QCA, whose extrinsics are ignored; or one camera_info YAML per video). 2D skeletons
come from the package's BlazePose back-ends (`--detector`, default the multi-person one);
several people may be in view: they are associated across the uncalibrated cameras by
epipolar consistency over time (pose3d_ros.core.crossview). The rig frame of the result is the
optical frame of the reference camera; metric scale comes from --height (the people's height)
via the limb proportions of the package's body (core/body_model.py), or from --baseline (a
measured distance between two cameras).

A solution that fails its own checks (joints behind cameras, inconsistent limb lengths, poor
reprojection of held-out frames: pose3d_ros.core.selfcalib_checks) is refused with one line
and no file is written. The arguments (files, --reference, --out) are checked before any
computation; the rig file is written to a temporary name and moved in when complete, and an
existing file is kept unless --overwrite. A progress bar follows the steps.

Examples:
  python -m pose3d_ros.tools.calibrate --videos a.mp4 b.mp4 c.mp4 \\
      --intrinsics a.yaml b.yaml c.yaml --height 1.75 --out rig.yaml
  python -m pose3d_ros.tools.calibrate --demo multi --out demo_rig.yaml
  python -m pose3d_ros.tools.calibrate --keypoints 2d.npz --intrinsics cams.yaml --out rig.yaml
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pose3d_ros.core.body_model import DEFAULT_PERSON_HEIGHT_M, STANDING_HEIGHTS_M
from pose3d_ros.core.calibration import load_camera_info_yaml, load_rig, save_rig_yaml
from pose3d_ros.core.camera import CameraModel, Rig, baseline_problem, rig_frame_problem
from pose3d_ros.core.data_paths import calibration_path
from pose3d_ros.core.output_files import (
    UserError,
    add_common_arguments,
    float_in,
    int_at_least,
    npz_file,
    positive_float,
    progress,
    refuse_existing,
    require_files,
    run_cli,
    staged_output,
    standing_height,
)
from pose3d_ros.core.rig_comparison import compare_rigs
from pose3d_ros.core.selfcalib import (
    DEFAULT_LIMITS,
    PeopleCalibration,
    calibrate_from_detections,
    check_other_rig,
)
from pose3d_ros.core.selfcalib_checks import CalibrationRefusedError, CheckLimits

if TYPE_CHECKING:
    from tqdm import tqdm

log = logging.getLogger(__name__)


def load_intrinsics(paths: list[Path], num_cameras: int) -> list[CameraModel]:
    """Cameras (intrinsics) for the videos, in video order."""
    if len(paths) == 1:
        rig = load_rig(paths[0])
        if len(rig) != num_cameras:
            raise ValueError(f"{paths[0]} holds {len(rig)} cameras for {num_cameras} views (the "
                             "videos, or the cameras of --keypoints)")
        return list(rig.cameras)
    if len(paths) != num_cameras:
        raise ValueError(f"{len(paths)} intrinsics files for {num_cameras} views (the videos, "
                         "or the cameras of --keypoints); give one file with all cameras or "
                         "one camera_info YAML per view")
    # (a camera_info YAML names no frame: the loader gives '<name>_optical_frame')
    return [load_camera_info_yaml(p) for p in paths]


def _named_apart(cameras: list[CameraModel], videos: list[Path] | None, paths: list[Path]
                 ) -> list[CameraModel]:
    """The cameras of one camera_info YAML per video, named apart: files that share a
    camera_name (camera_calibration writes 'narrow_stereo' unless told otherwise) name their
    cameras after their videos, told at INFO; ValueError naming the files when the videos'
    names cannot tell them apart either, or when there are no videos (--keypoints) (found by
    a review: refused as a duplicate rig name only after the whole 2D detection)."""
    from pose3d_ros.core.bag_cameras import camera_name_problem

    names = [c.name for c in cameras]
    if len(set(names)) == len(names):
        return cameras
    stems = [Path(v).stem for v in videos or []]
    shared = sorted({n for n in names if names.count(n) > 1})
    if videos and len(set(stems)) == len(stems) and not any(map(camera_name_problem, stems)):
        log.info("the intrinsics files name cameras %s more than once (camera_name); the "
                 "cameras are named after their videos: %s", shared, stems)
        return [replace(c, name=stem, frame_id=f"{stem}_optical_frame")
                for c, stem in zip(cameras, stems, strict=True)]
    files = [str(f) for f, n in zip(paths, names, strict=True) if n in shared]
    instead = ", and the videos' names cannot name the cameras instead" if videos else ""
    raise ValueError(f"intrinsics files {', '.join(files)} all name camera {shared[0]!r} "
                     f"(camera_name){instead}; give each file its own camera_name (e.g. "
                     "cam01, cam02)")


def video_intrinsics(videos: list[Path], paths: list[Path]) -> list[CameraModel]:
    """The cameras of the videos, in video order, their frame sizes checked: from one
    calibration file, matched by the videos' names when they are camera names (any order, any
    subset), else by order (core.video_bag.cameras_for_videos); or one camera_info YAML per
    video. ValueError saying what does not fit (a size: what to give)."""
    from pose3d_ros.core.video_bag import (
        cameras_for_videos,
        cameras_from_calibration,
        refuse_repeated_videos,
        refuse_videos_sharing_a_camera,
        sized_cameras,
    )

    refuse_repeated_videos(videos)
    if len(paths) == 1:
        calibrated = cameras_from_calibration(paths[0])[0]
        if len(calibrated) < len(videos):
            # (a review: told to "name each video after its camera to run some of them",
            # which cannot calibrate anything: calibrate needs every video's camera)
            raise ValueError(f"{len(videos)} videos but --intrinsics {paths[0]} has "
                             f"{len(calibrated)} camera(s) "
                             f"({', '.join(c.name for c in calibrated)}): give one camera_info "
                             "YAML per video, in the videos' order, or one calibration file "
                             "with every video's camera")
        cameras = cameras_for_videos(videos, paths[0])[0]
    else:
        cameras = _named_apart(load_intrinsics(paths, len(videos)), videos, paths)
        refuse_videos_sharing_a_camera(videos, cameras)
        # videos named after cameras take those cameras' files, in any order; a video named
        # after another file's camera is a mistake (a review: the files given in another
        # order than the videos named two cameras each after the other, 171-175 deg off)
        by_name = {c.name.lower(): c for c in cameras}
        stems = [Path(v).stem.lower() for v in videos]
        if len(by_name) == len(cameras) and all(stem in by_name for stem in stems):
            cameras = [by_name[stem] for stem in stems]
        else:
            crossed = [(v, c.name) for v, stem, c in zip(videos, stems, cameras, strict=True)
                       if stem in by_name and stem != c.name.lower()]
            if crossed:
                video, name = crossed[0]
                raise ValueError(f"{video} is named after camera {Path(video).stem!r} of the "
                                 f"intrinsics files but takes camera {name!r}'s by their order; "
                                 "give the files in the videos' order, or name every video "
                                 "after its camera")
    return sized_cameras(videos, cameras, crop_padding=True, scale_option=False,
                         crop_option=False)


def per_camera_line(rig: Rig, checks: Any, reference: int, limits: CheckLimits) -> str:
    """One line of what a user checks camera by camera: its held-out reprojection against
    the others (median px; the limit is CheckLimits.max_camera_heldout_px), the factor its
    2D would change its focal length by, and its distance from the reference camera in metres
    (a tape measure tells the scale). (A review: a rig that passed said nothing per camera.)"""
    centre = rig.cameras[reference].center
    parts = []
    for k, camera in enumerate(rig.cameras):
        held = (checks.camera_heldout_px[k] if checks.camera_heldout_px is not None
                else float("nan"))
        focal = checks.focal_scale[k] if checks.focal_scale is not None else float("nan")
        parts.append(f"{camera.name} {held:.1f} px, focal x{focal:.2f}, "
                     f"{float(np.linalg.norm(camera.center - centre)):.2f} m")
    return ("per camera (held-out px against the others, limit "
            f"{limits.max_camera_heldout_px:.0f}; focal factor; distance from "
            f"{rig.cameras[reference].name}): " + "; ".join(parts))


# names of z-up frames a robot's TF tree has: a self-calibrated rig's frame is the reference
# camera's optical frame (z its view, y down), which none of them is
_Z_UP_FRAMES = ("world", "map", "odom", "base_link", "base_footprint")


def check_frame_id(frame_id: str, cameras: list[CameraModel] | None) -> None:
    """UserError for a --frame-id the rig cannot have (camera.rig_frame_problem: not a ROS 2
    frame name, or one of the rig's cameras' own optical frames)."""
    if problem := rig_frame_problem(frame_id, cameras or []):
        raise UserError(f"--frame-id {problem}")
    if frame_id in _Z_UP_FRAMES:
        # (a review: --frame-id base_link would hang the rig's cameras from the robot's base
        # as if it were the reference camera's lens)
        log.warning("--frame-id %s: the rig file's frame is the reference camera's optical "
                    "frame (z its view, y down), and %s is usually a z-up frame of the "
                    "robot; to hang the rig in the robot's TF tree, name the reference "
                    "camera's optical frame there (e.g. head_camera_optical_frame)", frame_id,
                    frame_id)


def load_keypoints_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """2D people from an .npz with `keypoints` (F, V, P, J, 2) raw pixels (NaN where absent)
    and `scores` (F, V, P, J), BlazePose-33 joints."""
    with npz_file(path, "an .npz of the arrays keypoints and scores") as data:
        kp, sc = data["keypoints"].astype(np.float64), data["scores"].astype(np.float64)
    if kp.ndim != 5 or kp.shape[-1] != 2 or sc.shape != kp.shape[:-1]:
        raise ValueError(f"{path}: keypoints must be (F, V, P, J, 2) and scores (F, V, P, J), "
                         f"got {kp.shape} and {sc.shape}")
    return kp, sc


def detect(videos: list[Path], detector: str, frames: int | None) -> tuple[np.ndarray, np.ndarray]:
    """2D people of each video (package back-end, cached) -> (F, V, P, 33, 2), (F, V, P, 33)."""
    from pose3d_ros.core.demo_2d import detect_videos

    options = {"smooth_landmarks": True} if detector == "blazepose" else {}
    found = detect_videos(videos, detector, frames=frames, progress=True, **options)
    return found.keypoints, found.scores


def write_rig(rig: Rig, out: Path, overwrite: bool) -> None:
    """Write under a temporary name beside `out`, then move in: never a half-written rig."""
    with staged_output(out, overwrite) as temporary:
        save_rig_yaml(rig, temporary)


def camera_count(args: argparse.Namespace) -> int:
    """Cameras to calibrate, from the arguments and files alone (no 2D detection)."""
    if args.videos:
        return len(args.videos)
    if args.keypoints:
        return load_keypoints_file(args.keypoints)[0].shape[1]
    return len(load_rig(calibration_path(args.demo)))


def check_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser
                    ) -> list[CameraModel] | None:
    """Everything that needs no computation, before any 2D detection; with --videos, their
    cameras (video_intrinsics), with --keypoints, the views' cameras (load_intrinsics), else
    None."""
    sources = sum(bool(x) for x in (args.videos, args.demo, args.keypoints))
    if sources != 1:
        parser.error("give exactly one of --videos, --keypoints or --demo")
    if (args.videos or args.keypoints) and not args.intrinsics:
        parser.error("--videos and --keypoints need --intrinsics")
    if args.demo and args.intrinsics:            # (a review: ignored without a word)
        parser.error("--demo uses its recording's own intrinsics; --intrinsics is for --videos "
                     "and --keypoints")
    if len(args.videos) == 1 and Path(args.videos[0]).is_dir():
        # (a review: a folder of videos was told "needs at least 2 cameras; got 1 video")
        raise UserError(f"--videos {args.videos[0]} is a folder: give the videos in it, one "
                        f"per camera (e.g. --videos {Path(args.videos[0]) / '*.mp4'})")
    if args.videos and len(args.videos) < 2:
        raise UserError("self-calibration needs at least 2 cameras; got 1 video")
    require_files([*args.videos, *args.intrinsics, *([args.keypoints] if args.keypoints else [])])
    if args.out.suffix.lower() not in (".yaml", ".yml"):
        raise UserError(f"--out {args.out}: the rig is written as the package's rig YAML; give "
                        "a name ending in .yaml (the tools also read Pose2Sim .toml and "
                        "Qualisys files, but calibrate writes only YAML)")
    refuse_existing(args.out, args.overwrite, "rig file", folder=False,
                    inputs=[*args.videos, *args.intrinsics, args.keypoints])
    video_cameras = None
    if args.videos:                              # cameras and sizes, or one line
        from pose3d_ros.core.video_bag import frame_rate, video_camera_pairs

        try:
            video_cameras = video_intrinsics(args.videos, args.intrinsics)
        except ValueError as err:                # the user's files: one line
            raise UserError(str(err)) from None
        print(f"videos -> cameras: {video_camera_pairs(args.videos, video_cameras)}")
        try:
            # one rate (or --fps), and frame i of each video one moment
            frame_rate(args.videos, args.fps, max_frames=args.frames)
        except ValueError as err:
            raise UserError(str(err)) from None
    cameras = camera_count(args)
    if cameras < 2:
        raise UserError(f"self-calibration needs at least 2 cameras; got {cameras}")
    if args.keypoints:
        # (a review: the --keypoints' intrinsics were read only after the progress bar began,
        # so `--frame-id cam01_optical_frame`, refused with --videos, was written with them)
        try:
            video_cameras = _named_apart(load_intrinsics(args.intrinsics, cameras), None,
                                         args.intrinsics)
        except ValueError as err:
            raise UserError(str(err)) from None
    from pose3d_ros.core.bag_cameras import camera_name_problem

    for camera in video_cameras or []:
        # (a review: 'left-cam' of a camera_info YAML was written, and the rig's nodes then
        # refused the topic left-cam/image_raw)
        if problem := camera_name_problem(camera.name):
            raise UserError(f"--intrinsics: {problem}; the nodes read each camera of the rig "
                            "on topics of its name: rename it in the intrinsics file")
    # the cameras the rig will have: the demo's (its rig file read once here) or the user's
    named = list(load_rig(calibration_path(args.demo)).cameras) if args.demo else video_cameras
    check_frame_id(args.frame_id, named)
    if args.baseline is not None:
        args.baseline = measured_baseline(args.baseline,
                                          [camera.name for camera in named or []])
    if not 0 <= args.reference < cameras:
        raise UserError(f"--reference {args.reference} is not a camera index "
                        f"(0..{cameras - 1})")
    # (a review: --frames -5 dropped the last 5 frames, --frames 0 and --min-score 2 ran and
    # then failed for lack of joints, --fps -5 was taken: the numbers' argparse types refuse
    # them now)
    return video_cameras


def measured_baseline(given: list[str], names: list[str]) -> tuple[str, str, float]:
    """--baseline CAMERA_A CAMERA_B METRES, checked against the cameras' names (UserError
    naming the fault)."""
    first, second, text = given
    try:
        metres = float(text)
    except ValueError:
        metres = float("nan")
    if problem := baseline_problem(first, second, metres, names):
        raise UserError(f"--baseline {first} {second} {text}: {problem}")
    return first, second, metres


def scaled_to_baseline(rig: Rig, args: argparse.Namespace) -> Rig:
    """The solved rig at the scale of --baseline when given (Rig.with_baseline), else as
    solved (scaled from --height)."""
    if args.baseline is None:
        return rig
    first, second, metres = args.baseline
    height = implied_height(rig, args)
    low, high = STANDING_HEIGHTS_M
    if not low <= height <= high:
        # (a review: 180 typed in centimetres wrote a rig of people 102 m tall, status 0)
        raise UserError(f"--baseline {first} {second} {metres:g}: at that distance the people "
                        f"would be {height:.3g} m tall (people are {low:g}-{high:g} m); give "
                        "the distance in metres (centimetres? divide by 100)")
    try:
        return rig.with_baseline(first, second, metres)
    except ValueError as err:                    # (cameras solved at one place)
        raise UserError(f"--baseline: {err}") from None


def implied_height(solved: Rig, args: argparse.Namespace) -> float:
    """The people's height in metres at --baseline's scale (solved: the rig scaled from
    --height)."""
    metres = args.baseline[2]
    from_height = _solved_apart(solved, args)
    return args.height * metres / from_height if from_height > 0 else float("inf")


def _solved_apart(solved: Rig, args: argparse.Namespace) -> float:
    """The distance in metres between --baseline's two cameras in the rig scaled from
    --height."""
    first, second, _ = args.baseline
    return float(np.linalg.norm(solved.camera(first).center - solved.camera(second).center))


def scale_line(solved: Rig, args: argparse.Namespace) -> str:
    """What the rig's metric scale comes from: --height, or --baseline with the people's
    height it implies (solved: the rig as solved, scaled from --height)."""
    if args.baseline is None:
        return (f"metric scale from --height {args.height:.2f} m (the people's standing "
                "height): every distance of this rig, and of the 3D it gives, scales with it; "
                "give the people's real height (--height) or a measured distance between two "
                "cameras (--baseline) when metres matter")
    first, second, metres = args.baseline
    from_height = _solved_apart(solved, args)
    return (f"metric scale from --baseline: {first} and {second} {metres:.3f} m apart (the "
            f"people's size gave {from_height:.3f} m for --height {args.height:.2f} m: at the "
            f"measured scale they are {implied_height(solved, args):.2f} m tall)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--videos", nargs="+", type=Path, default=[],
                        help="synchronised videos, one per camera")
    parser.add_argument("--keypoints", type=Path, default=None,
                        help="2D people instead of videos: .npz with keypoints (F, V, P, 33, 2) "
                             "and scores (F, V, P, 33)")
    parser.add_argument("--intrinsics", nargs="+", type=Path, default=[],
                        help="one calibration file with all cameras, or one camera_info YAML "
                             "per video")
    parser.add_argument("--demo", choices=["single", "multi"], default=None,
                        help="use a demo recording (its Qualisys intrinsics, cached 2D) and "
                             "report the error against its shipped extrinsics")
    parser.add_argument("--detector", choices=["blazepose_multi", "blazepose"],
                        default="blazepose_multi",
                        help="2D back-end for --videos (blazepose: one person per video)")
    parser.add_argument("--fps", type=positive_float, default=None,
                        help="frame rate for the 2D tracker (default: read from the videos; "
                             "with --keypoints 30: give the rate of your 2D)")
    parser.add_argument("--height", type=standing_height, default=DEFAULT_PERSON_HEIGHT_M,
                        help="height of the people in metres (scale prior, default "
                             f"{DEFAULT_PERSON_HEIGHT_M:g})")
    parser.add_argument("--baseline", nargs=3, metavar=("CAMERA_A", "CAMERA_B", "METRES"),
                        default=None,
                        help="the measured distance between two cameras' centres (a tape "
                             "measure), which sets the metric scale instead of --height; the "
                             "people's height it implies is printed")
    parser.add_argument("--reference", type=int, default=0,
                        help="index of the camera that defines the rig frame")
    parser.add_argument("--frame-id", default="rig",
                        help="frame_id written to the rig file: the reference camera's optical "
                        "frame (z its view, y down; on a robot, that camera's optical frame "
                        "in its TF tree, e.g. head_camera_optical_frame)")
    parser.add_argument("--frames", type=int_at_least(1), default=None,
                        help="use the first N frames")
    parser.add_argument("--min-score", type=float_in(0.0, 1.0, what="a 2D confidence in [0, 1]"),
                        default=0.5,
                        help="2D joints of a lower confidence (0..1) are not used")
    parser.add_argument("--cameras-in-step", action="store_true",
                        help="the videos are known to be in step (cameras triggered together): "
                             "skip the check for a camera out of step in time, which on short "
                             "stretches of one slowly moving person can name a 3-4 frame shift "
                             "the videos do not have (docs/multiview.md)")
    parser.add_argument("--trust-intrinsics", action="store_true",
                        help="the intrinsics are known right for these videos (checkerboard-"
                             "calibrated at this resolution and zoom): skip the refusal of a "
                             "focal length the people's 2D finds too long or too short "
                             "(docs/multiview.md)")
    parser.add_argument("--out", type=Path, required=True, help="rig YAML to write (an "
                        "existing one only with --overwrite)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.debug else logging.WARNING,
                        format="%(message)s")
    video_cameras = check_arguments(args, parser)
    with progress(4, "self-calibration", unit="step") as bar:
        solved, reference_rig = calibrate(args, bar, video_cameras)
        result, people = solved.calibration, solved.people
        rig = scaled_to_baseline(result.rig, args)
        write_rig(rig, args.out, args.overwrite)
    heldout = result.checks.heldout_px if result.checks is not None else float("nan")
    print(f"wrote {args.out}: {len(rig)} cameras, bundle RMS "
          f"{result.reprojection_rms_px:.2f} px over {result.num_observations} observations, "
          f"held-out frames {heldout:.1f} px, {len(people.frames)} people-frames")
    if result.checks is not None and len(rig) > 2:   # two: warned by the core
        print(f"  {result.checks.checked(check_limits(args))}")
        print(f"  {per_camera_line(rig, result.checks, args.reference, check_limits(args))}")
    reference_camera = rig.cameras[args.reference].name
    print(f"  frame {args.frame_id!r}: the optical frame of {reference_camera} (z along its "
          f"view, y down; not level); the nodes also broadcast {args.frame_id}_upright for "
          "rviz2 (docs/multiview.md)")
    print(f"  {scale_line(result.rig, args)}")
    if reference_rig is not None:
        cmp = compare_rigs(rig, reference_rig, args.reference)
        shipped = check_other_rig(reference_rig, people.keypoints, people.scores, result,
                                  person_height_m=args.height, min_score=args.min_score)
        print(f"  the shipped calibration reprojects the same held-out frames at "
              f"{shipped.heldout_px:.1f} px (self-calibrated: {heldout:.1f} px)")
        print(f"  against the shipped calibration, relative to {cmp.names[args.reference]} "
              "(aligned: after the best common rotation of the two rigs):")
        for i, name in enumerate(cmp.names):
            if i == args.reference:
                print(f"  {name}: the reference (the other cameras are compared relative to it;"
                      f" aligned rotation error {cmp.aligned_rotation_error_deg[i]:.2f} deg)")
                continue
            print(f"  {name}: rotation error {cmp.rotation_error_deg[i]:.2f} deg (aligned "
                  f"{cmp.aligned_rotation_error_deg[i]:.2f}), translation direction error "
                  f"{cmp.translation_direction_error_deg[i]:.2f} deg, baseline ratio "
                  f"{cmp.scale_ratio[i]:.3f}")
    return 0


def check_limits(args: argparse.Namespace) -> CheckLimits:
    """The self-calibration checks' limits with those the user skips (--cameras-in-step,
    --trust-intrinsics) off."""
    return replace(DEFAULT_LIMITS,
                   sync_search_frames=0 if args.cameras_in_step else (
                       DEFAULT_LIMITS.sync_search_frames),
                   min_focal_scale=0.0 if args.trust_intrinsics else (
                       DEFAULT_LIMITS.min_focal_scale),
                   max_focal_scale=0.0 if args.trust_intrinsics else (
                       DEFAULT_LIMITS.max_focal_scale))


def calibrate(args: argparse.Namespace, bar: tqdm, video_cameras: list[CameraModel] | None = None
              ) -> tuple[PeopleCalibration, Rig | None]:
    """The steps after check_arguments (2D; people across the views, camera poses, checks:
    `bar` advances once per step and names the one running; video_cameras: check_arguments'
    cameras of --videos or --keypoints): the solution with its associated people and, for
    --demo, the shipped rig."""
    reference_rig = None
    bar.set_postfix_str("2D")
    if args.demo:
        from pose3d_ros.core.data_paths import DEMO_FPS
        from pose3d_ros.core.demo_2d import load_demo_2d

        reference_rig = load_rig(calibration_path(args.demo))
        cameras = list(reference_rig.cameras)
        demo = load_demo_2d(args.demo, frames=args.frames, progress=True)
        kp, sc, fps = demo.keypoints, demo.scores, args.fps or DEMO_FPS
    elif args.keypoints:
        kp, sc = load_keypoints_file(args.keypoints)
        kp, sc = kp[:args.frames], sc[:args.frames]
        assert video_cameras is not None         # check_arguments resolved them
        cameras = video_cameras
        fps = args.fps or 30.0
    else:
        assert video_cameras is not None         # check_arguments resolved them
        cameras = video_cameras
        kp, sc = detect(args.videos, args.detector, args.frames)
        from pose3d_ros.core.video_bag import frame_rate
        fps = frame_rate(args.videos, args.fps,  # checked by check_arguments
                         frame_times=False)
    def next_step(name: str) -> None:
        bar.update()
        bar.set_postfix_str(name)

    limits = check_limits(args)
    try:
        solved = calibrate_from_detections(kp, sc, cameras, fps=fps,
                                           person_height_m=args.height,
                                           min_score=args.min_score, reference=args.reference,
                                           frame_id=args.frame_id, limits=limits,
                                           step=next_step)
    except CalibrationRefusedError as err:
        checks = getattr(err.result, "checks", None)
        skips = [] if checks is None else [
            hint for failure, hint in (
                (None if checks.sync_unmatched(limits) else checks.sync_failure(limits),
                 "videos known to be in step, cameras triggered "
                 "together: --cameras-in-step skips the check for cameras out of step"),
                (checks.focal_failure(limits), "intrinsics known right for these videos: "
                 "--trust-intrinsics skips the check for focal lengths given too long or too "
                 "short, though a rig from people in too few places may then be degrees off"))
            if failure is not None]
        if skips:
            raise CalibrationRefusedError(f"{err} ({'; '.join(skips)})", err.result) from err
        raise
    bar.update()
    return solved, reference_rig


if __name__ == "__main__":
    sys.exit(run_cli(main))
