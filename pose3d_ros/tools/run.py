"""Your own data through the real node: videos (or a bag) in; the output bag, an overlay video
and the HTML report out.

  python -m pose3d_ros.tools.run --videos cam1.mp4 --calibration cam1.yaml --out-dir out/
  python -m pose3d_ros.tools.run --videos a.mp4 b.mp4 c.mp4 --calibration rig.toml --out-dir out/
  python -m pose3d_ros.tools.run --videos phone.mp4 --hfov 65 --out-dir out/   # no calibration
  python -m pose3d_ros.tools.run --bag my_bag --out-dir out/
  python -m pose3d_ros.tools.run --bag webcam_bag --hfov 65 --out-dir out/   # K all zero

Steps, each with a progress bar: the videos become a bag (core.video_bag: JPEG images,
CameraInfo, /tf_static); the all-in-one node (pose3d_ros.ros.nodes.Pose3DNode) runs in this
process and the bag is replayed to it over DDS, lock-step (ros.run_on_bag); what it publishes is
recorded into <out-dir>/output_bag; the report (core.bag_report) scores it against multi-view
triangulation when there are two or more cameras, and with one camera gives what needs no
ground truth (people per frame, id timeline, root-depth jitter, bone-length stability, frames
without output). Outputs: output_bag/, input_bag/ (for videos; not with --no-input-bag),
report.html, playback.html (interactive 3D), evaluation.json, overlay_<camera>.webm (VP8:
plays in browsers, VLC, mpv).

Any camera count from 1 (one camera needs its intrinsics alone: a calibration file with one
camera, or for a video nobody calibrated its horizontal field of view, --hfov: a pinhole
camera at the video's size, so one-camera depth is as right as that angle), both monocular
methods (--monocular-method), any detector (--detector). Everything that can be checked
without computing is checked first; an existing --out-dir is refused unless --overwrite, and
the outputs appear there only when complete.
"""
from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import cast

from pose3d_ros.core import bagio
from pose3d_ros.core.bag_cameras import camera_info_topics, image_cameras
from pose3d_ros.core.bag_report import (
    TRIANGULATION_NOTE,
    left_out_note,
    summary_lines,
    triangulation_reference,
    write_bag_report,
)
from pose3d_ros.core.bag_tracks import (
    bag_cameras,
    frame_set_stamps,
    frame_sets,
    index_frame_sets,
    per_camera_figures,
    read_track,
    skipped_images,
)
from pose3d_ros.core.camera import CameraModel, Rig
from pose3d_ros.core.config_rules import configuration_problems, floor_frame_problem
from pose3d_ros.core.evaluation import latency_summary, truth_track
from pose3d_ros.core.layouts import H36M17
from pose3d_ros.core.mocap_render import load_truth_joints
from pose3d_ros.core.monocular import MONOCULAR_METHODS
from pose3d_ros.core.output_files import (
    UserError,
    add_common_arguments,
    float_in,
    int_at_least,
    positive_float,
    progress,
    refuse_existing,
    require_files,
    run_cli,
    staged_output,
    warnings_told,
)
from pose3d_ros.core.overlay import overlay_video_name
from pose3d_ros.core.pipeline import sets_without_3d
from pose3d_ros.tools.detector_arguments import (
    add_detector_arguments,
    check_monocular_method,
    detector_node_parameters,
    detector_options,
)

log = logging.getLogger("pose3d_run")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--videos", type=Path, nargs="+",
                        help="one video per camera, in the calibration's camera order, or "
                        "videos named after some of its cameras (cam02.mp4: camera cam02 "
                        "alone)")
    source.add_argument("--bag", type=Path, help="a rosbag2 with images, CameraInfo and (for "
                        "several cameras) /tf_static, e.g. from make_bag")
    parser.add_argument("--calibration", type=Path,
                        help="with --videos: calibration file (our rig YAML, Pose2Sim .toml, "
                        "Qualisys .qca.txt); one camera needs only its intrinsics")
    parser.add_argument("--hfov", type=float, default=None,
                        help="with one video and no --calibration: its horizontal field of view "
                        "in degrees across the image's width as it plays (phones and webcams: "
                        "about 60-75 along the long side, so 35-45 across a portrait video; "
                        "said when a video is portrait); an undistorted pinhole "
                        "camera at the video's size is assumed, and one-camera depth scales "
                        "with its focal length. With --bag: the same for a camera whose "
                        "CameraInfo K is all zero (not calibrated; the node's "
                        "uncalibrated_hfov_deg)")
    parser.add_argument("--out-dir", type=Path, required=True)
    add_detector_arguments(parser)
    parser.add_argument("--monocular-method", default="lifter",
                        choices=[*MONOCULAR_METHODS, "none"],
                        help="3D from one camera (used for sets with a single camera)")
    parser.add_argument("--lifter-model", type=Path, default=None,
                        help="--monocular-method lifter: a lifter of your own (train_lifter's "
                        ".onnx, its .json beside it; default: the package's); a centred one "
                        "runs only for one camera without a pose")
    parser.add_argument("--body-height", type=float, default=0.0,
                        help="people's standing height in metres for one-camera depth (0: the "
                        "3D's own size)")
    parser.add_argument("--floor-height", type=float_in(-10.0, 10.0), default=None,
                        help="one camera: the calibration's frame has z up and a flat floor "
                        "at this height (m); each person's distance then comes from their "
                        "ankles on it (monocular_floor; needs a camera pose)")
    parser.add_argument("--lone-views", action="store_true",
                        help="several cameras: also publish the people whom only one camera "
                        "sees, placed by the monocular method (lone_view_people)")
    parser.add_argument("--fps", type=positive_float, default=None,
                        help="stamp frame i at i / FPS s (default: the videos' rate, and the "
                        "frames' own times for one video of variable frame rate; given, it "
                        "pairs videos of different rates frame by frame anyway)")
    parser.add_argument("--scale", type=positive_float, default=1.0,
                        help="resize images (and intrinsics) by this factor before the node "
                        "(with --videos)")
    parser.add_argument("--max-frames", type=int_at_least(1), default=None,
                        help="only the videos' first N frames (with --videos; a --bag runs "
                        "as it is)")
    parser.add_argument("--no-input-bag", action="store_true",
                        help="--videos: do not keep the bag made of them in --out-dir (about "
                        "0.2 bytes per pixel and frame: 650 MB per minute of a 1768x994 video); "
                        "evaluate --bag cannot be rerun on it then")
    parser.add_argument("--overlay-camera", default=None,
                        help="camera of the overlay video, overlay_<camera>.webm (default: "
                        "the first camera by name, whatever the videos' order)")
    parser.add_argument("--timeout", type=positive_float, default=30.0,
                        help="longest wait for the node's answer to one frame set (s)")
    parser.add_argument("--truth", type=Path, default=None,
                        help="with --videos and --calibration of a render_mocap folder: its "
                        "truth.npz (the people's true 3D, H36M-17, in the calibration's "
                        "frame, one row per video frame); the report scores against it")
    parser.add_argument("--title", default=None)
    add_common_arguments(parser)
    return parser.parse_args(argv)


def check_inputs(args: argparse.Namespace) -> None:
    """Everything that needs no computation, before any starts."""
    # (a review: `--overwrite` of a render_mocap folder removed its --truth, the user's input)
    refuse_existing(args.out_dir, args.overwrite, "output folder", folder=True,
                    inputs=[*(args.videos or []), args.bag, args.calibration, args.truth,
                            args.lifter_model, args.detector_model,
                            args.person_detector_model])
    if args.videos:
        require_files([*args.videos, *([args.calibration] if args.calibration else [])])
    elif not args.bag.exists():
        raise UserError(f"no bag at {args.bag}")
    elif args.hfov is not None and not 1.0 <= args.hfov <= 179.0:
        raise UserError(f"--hfov {args.hfov:g}: give the horizontal field of view in degrees "
                        "(1-179)")
    elif args.no_input_bag:
        raise UserError("--no-input-bag is for --videos: the tool makes no bag of a --bag")
    elif args.fps is not None or args.scale != 1.0 or args.max_frames is not None:
        raise UserError("--fps, --scale and --max-frames are for --videos (they shape the bag "
                        "made from them); a bag is run as it is: cut it with make_bag or "
                        "ros2 bag convert")
    elif args.calibration is not None:
        raise UserError("--calibration is for --videos; a bag carries its CameraInfo and "
                        "/tf_static (make a bag with another calibration with make_bag)")
    from pose3d_ros.core.plausibility import PlausibilityParams

    def refuse_node_rules(names: list[str] | None, posed: bool | None) -> None:
        """The rig nodes' rules between their parameters (core.config_rules, what the node's
        configure refuses) on what the options give the node, in the options' words;
        `names`, `posed` (the node's extrinsics) None: not known yet."""
        given = dict(node_parameters(args, dict.fromkeys(names or []), bool(posed), ""))
        human = PlausibilityParams()           # the node's plausible heights (its defaults)
        if problems := configuration_problems(
                cameras=None if names is None else len(names),
                monocular_method=args.monocular_method,
                output_layout=cast(str, given.get("output_layout", "")),
                lone_view_people=args.lone_views, monocular_floor=args.floor_height is not None,
                extrinsics_source=None if posed is None else cast(
                    str, given["extrinsics_source"]),
                rig_file="", min_views=cast(int, given["sync.min_views"]),
                body_height_m=args.body_height,
                plausible_heights_m=(human.min_height_m, human.max_height_m),
                names={"monocular_method": "--monocular-method",
                       "lone_view_people": "--lone-views", "monocular_floor": "--floor-height",
                       "monocular_body_height_m": "--body-height"}):
            raise UserError(problems[0])

    if args.lifter_model is not None:
        if args.monocular_method != "lifter":
            raise UserError("--lifter-model is for --monocular-method lifter")
        if not args.lifter_model.is_file():
            raise UserError(f"--lifter-model {args.lifter_model} "
                            + ("is a folder, not a lifter .onnx" if args.lifter_model.is_dir()
                               else "does not exist"))
        from pose3d_ros.core.lifting.runtime import OnnxLifter
        try:                  # before any work (a review: told after the input bag was written)
            OnnxLifter(args.lifter_model)
        except ValueError as err:
            raise UserError(f"--lifter-model: {err}") from None
    if args.floor_height is not None and args.videos and args.calibration is None:
        raise UserError("--floor-height needs the camera's pose over the floor: give a "
                        "--calibration with extrinsics (--hfov gives no pose)")
    detector_options(args)
    check_monocular_method(args)
    refuse_node_rules(None, None)         # those the options alone break (--lone-views ...)
    posed: bool | None = None             # a bag's: known once it is read (main)
    if args.videos:                       # reads the calibration file: after the cheap checks
        from pose3d_ros.core.video_bag import frame_rate, sized_cameras, video_cameras
        try:
            cameras, rig_frame = video_cameras(args.videos, args.calibration, args.hfov)
            names = [c.name for c in cameras]
            posed = rig_frame not in {c.frame_id or f"{c.name}_optical_frame"
                                      for c in cameras}
            if args.floor_height is not None and not posed:
                raise UserError(f"--floor-height needs the camera's pose over the floor: "
                                f"{args.calibration} has intrinsics only")
            if args.floor_height is not None and (problem := floor_frame_problem(
                    Rig(rig_frame, cameras), str(args.calibration), "--floor-height")):
                raise UserError(problem)
            sized_cameras(args.videos, cameras, scale=args.scale, crop_padding=True,
                          crop_option=False)
            # one rate (or --fps), and frame i of each video one moment
            frame_rate(args.videos, args.fps, max_frames=args.max_frames)
        except ValueError as err:
            raise UserError(str(err)) from None
        check_disk(args, cameras)
    else:                                 # the cameras whose images the bag holds
        try:                              # the bag's cameras as the node reads them (a
            names = image_cameras(args.bag)
        except ValueError as err:         # depth-only namespace is no camera)
            raise UserError(str(err)) from None
    if args.truth is not None:
        if not args.videos or args.calibration is None:
            raise UserError("--truth scores a rendered video: give it with --videos and the "
                            "--calibration render_mocap wrote beside it")
        load_truth_joints(args.truth)
    if len(names) == 1 and args.lone_views:
        raise UserError("--lone-views is for several cameras (people whom one of them alone "
                        "sees); one camera's people are all placed by the monocular method")
    refuse_node_rules(names, posed)
    if args.overlay_camera is not None and args.overlay_camera not in names:
        raise UserError(f"--overlay-camera {args.overlay_camera}: no such camera; the "
                        f"cameras are {names}")


def frames_to_write(args: argparse.Namespace, exact: bool = False) -> int:
    """Frame sets the videos' bag will hold (core.video.frame_sets_to_read)."""
    from pose3d_ros.core.video import frame_sets_to_read

    return frame_sets_to_read(args.videos, args.max_frames, exact)


def check_disk(args: argparse.Namespace, cameras: list) -> None:
    """Refuse, before any work, videos whose bag will not fit where --out-dir is written (the
    long-input audit: 650 MB per minute of one 1768x994 video, told nowhere); say the size of
    a large one."""
    from pose3d_ros.core.video_bag import bag_bytes_estimate, byte_size, disk_problem

    needed = bag_bytes_estimate(cameras, frames_to_write(args), args.scale)
    where = next(p for p in args.out_dir.resolve().parents if p.exists())   # staged there
    if problem := disk_problem(needed, shutil.disk_usage(where).free, where):
        raise UserError(problem)
    if needed > 1e9:
        log.info("the input bag will take about %s in %s%s", byte_size(needed), args.out_dir,
                 " until the run ends (--no-input-bag)" if args.no_input_bag else
                 " (--no-input-bag: not kept)")


def videos_to_bag(args: argparse.Namespace, out: Path) -> Path:
    """The videos and calibration as a bag in out/input_bag."""
    from pose3d_ros.core.video_bag import (
        frame_rate,
        video_camera_pairs,
        video_cameras,
        write_bag,
    )

    cameras, rig_frame = video_cameras(args.videos, args.calibration, args.hfov)  # checked
    log.info("videos -> cameras: %s", video_camera_pairs(args.videos, cameras))
    if args.hfov is not None:
        tell_assumed_intrinsics(cameras[0], args.hfov)
    bag = out / "input_bag"
    with progress(frames_to_write(args, exact=True) or None, "videos -> bag") as bar:
        write_bag(bag, args.videos, cameras, fps=frame_rate(args.videos, args.fps,
                                                            frame_times=False),
                  start_ns=time.time_ns(), storage="mcap", fixed_frame=rig_frame,
                  scale=args.scale, max_frames=args.max_frames, crop_padding=True,
                  progress=bar.update, own_times=args.fps is None)
    return bag


def node_parameters(args: argparse.Namespace, cameras: dict, posed: bool,
                    fixed: str) -> list[tuple[str, object]]:
    """The node's parameters for this rig: poses from /tf_static, or none for a lone camera
    without one (its output is then in its optical frame)."""
    parameters: list[tuple[str, object]] = [
        *detector_node_parameters(args), ("monocular_method", args.monocular_method),
        ("monocular_body_height_m", float(args.body_height)),
        ("extrinsics_source", "tf" if posed else "none"), ("fixed_frame", fixed),
        ("sync.min_views", 1)]
    if args.lifter_model is not None:
        parameters.append(("lifter_model", str(args.lifter_model.resolve())))
    if len(cameras) > 1 and args.monocular_method != "none":
        parameters.append(("output_layout", "h36m17"))   # one layout for 1 and N views
        if args.lone_views:
            parameters.append(("lone_view_people", True))
    if args.floor_height is not None:
        parameters += [("monocular_floor", True),
                       ("monocular_floor_height_m", float(args.floor_height))]
    if args.bag is not None and args.hfov is not None:   # a bag of an uncalibrated camera
        parameters.append(("uncalibrated_hfov_deg", float(args.hfov)))
    return parameters


def input_cameras(args: argparse.Namespace, bag: Path) -> tuple[dict, str]:
    """bag_cameras() of the bag run; with --bag --hfov, the one camera whose CameraInfo K is
    all zero (not calibrated) as a pinhole of that field of view, as the node takes it
    (uncalibrated_hfov_deg), said in the log; --hfov with calibrated cameras is not used
    (WARN), with several uncalibrated ones refused. A lone uncalibrated camera without
    --hfov is refused naming it."""
    from pose3d_ros.core.bag_tracks import uncalibrated_cameras

    if args.bag is None or args.hfov is None:
        try:
            return bag_cameras(bag)
        except ValueError as err:
            if args.bag is None or len(camera_info_topics(bag)) != 1 \
                    or not uncalibrated_cameras(bag):
                raise
            raise UserError(f"{err}; for a camera nobody calibrated give its horizontal "
                            "field of view: --hfov DEGREES") from None
    unknown = uncalibrated_cameras(bag)
    if not unknown:
        log.warning("--hfov is not used: the bag's cameras are calibrated (their CameraInfo "
                    "has a K)")
        return bag_cameras(bag)
    if len(camera_info_topics(bag)) > 1:
        raise UserError(f"--hfov describes one camera; the bag has several, and {unknown} "
                        "not calibrated (CameraInfo K all zero): calibrate them")
    cameras, fixed = bag_cameras(bag, uncalibrated_hfov_deg=args.hfov)
    tell_assumed_intrinsics(next(iter(cameras.values())), args.hfov,
                            "not calibrated (CameraInfo K all zero); ")
    return cameras, fixed


def tell_assumed_intrinsics(camera: CameraModel, hfov_deg: float, why: str = "") -> None:
    """Log (INFO) the pinhole --hfov gave a camera: its size and focal length."""
    log.info("camera %r: %sintrinsics assumed from --hfov %g deg: %dx%d, focal length %.0f px",
             camera.name, why, hfov_deg, camera.width, camera.height, camera.K[0, 0])


def calibration_scale_note(args: argparse.Namespace) -> str | None:
    """What --calibration's rig says about its metric scale when that was assumed from the
    people's height (a self-calibrated rig file), for the log and the report."""
    if not args.videos or args.calibration is None:
        return None
    from pose3d_ros.core.calibration import assumed_scale_note, load_rig
    return assumed_scale_note(load_rig(args.calibration), args.calibration)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    check_inputs(args)
    from pose3d_ros.ros.run_on_bag import run_node_on_bag

    with staged_output(args.out_dir, args.overwrite) as out:
        out.mkdir(parents=True)
        with warnings_told() as input_warnings:     # told on the console; kept for the report
            bag = videos_to_bag(args, out) if args.videos else args.bag
        scale_note = calibration_scale_note(args)
        if scale_note is not None:
            log.info(scale_note)
        cameras, fixed = input_cameras(args, bag)
        posed = "/tf_static" in bagio.bag_topics(bag) and fixed not in {
            c.frame_id for c in cameras.values()}
        if args.floor_height is not None and not posed:
            raise UserError("--floor-height needs the camera's pose over the floor: a "
                            "calibration with extrinsics (or a bag with /tf_static), not "
                            "intrinsics or --hfov alone")
        names = sorted(cameras)
        if args.lifter_model is not None and len(names) >= 2 and not args.lone_views:
            # found by an audit: the weights went unused without a word (every person of a
            # rig is triangulated)
            log.warning("--lifter-model is not used: with %d cameras every person is "
                        "triangulated; the lifter places only the people one camera alone "
                        "sees (--lone-views), or a one-camera run's", len(names))
        stamps = frame_set_stamps(bag)          # the bag's frame sets, read once
        total = len(stamps)
        log.info("%d camera(s) %s, %d frame sets; running pose3d_node over DDS", len(names),
                 ", ".join(names), total)
        with progress(total, "node over DDS") as bar:
            node_run = run_node_on_bag(
                bag, out / "output_bag", names, parameters=node_parameters(
                    args, cameras, posed, fixed), timeout_s=args.timeout, progress=bar.update,
                record_2d=True)
        latencies, found, lag = (node_run.latencies_s, node_run.detections,
                                 node_run.described_lag)
        pred = read_track(out / "output_bag", "/skeletons", frame_id=fixed)
        # (a bag named "." or "bags/.." titled its report "pose3d_ros on .": a review)
        shown_bag: object = Path(bag).resolve() if Path(bag).name in ("", ".", "..") else bag
        if args.videos:
            shown_bag = args.out_dir / "input_bag" if not args.no_input_bag else (
                ", ".join(str(v) for v in args.videos) + " (their bag not kept: --no-input-bag)")
        notes = [f"prediction: pose3d_node ({args.detector}, monocular method "
                 f"{args.monocular_method}) fed over DDS lock-step from {shown_bag}"]
        if scale_note is not None:
            notes.append(scale_note)
        if lag:       # a centred lifter
            notes.append(f"a centred lifter: the 3D of each frame set is published {lag} sets "
                         f"later, so the last {sets_without_3d(lag, total)} frame sets have none")
        notes += [f"reading the videos: {told}" for told in input_warnings]
        ref = None
        if args.truth is not None:       # frame i of the videos is row i of the truth
            joints = load_truth_joints(args.truth)[:len(stamps)]
            ref = truth_track(joints, stamps[:len(joints)], H36M17, fixed)
            notes.append(f"reference: the people's true 3D ({args.truth}): ground truth")
        elif len(names) >= 2:
            # the node's own 2D when it has every camera of every set (the same detector on
            # the same images): detecting again cost a run about half its time again
            whole = len(found) == total and all(set(d["cameras"]) == set(names)
                                                for d in found)
            ref = triangulation_reference(bag, detector=args.detector,
                                          detections=found if whole else None,
                                          detector_options=detector_options(args))
            notes.append(TRIANGULATION_NOTE + (
                "; its 2D is the node's own" if whole else
                "; its 2D detected again (the node did not give every camera's 2D of every set)"))
        else:
            notes.append("one camera: no reference; the figures need no ground truth")
        if not found and not any(f.num_people for f in pred.frames):
            # found by a review: every image rejected by the node (undecodable) was told on
            # the console alone; the tool reads the images until one can be used, and the
            # skipped ones are counted below
            images = len(index_frame_sets(bag, names).set_of)
            usable = next(frame_sets(bag, names, models=cameras), None) is not None
            notes.append(f"the node used none of the {images} images: it gave no 2D for any "
                         "of them" + ("" if not usable else " (the tool can decode them: the "
                                      "node's log on the console tells why it did not use "
                                      "them)"))
        # images the reference (or the check above) skipped (each logged once; the node
        # logs its own)
        notes += skipped_images(bag).notes() + left_out_note(bag)
        overlay = args.overlay_camera or names[0]
        if overlay not in cameras:
            raise UserError(f"no camera {overlay!r}; cameras: {names}")
        evaluation, steady = write_bag_report(
            out, bag, pred, ref, title=args.title or f"pose3d_ros on {shown_bag}", notes=notes,
            latency_s={"end to end over DDS": latencies}, overlay_camera=overlay,
            viewpoint=cameras[names[0]].center, viewpoint_name=names[0],
            input_stamps_ns=stamps, camera=cameras[names[0]] if len(names) == 1 else None,
            per_camera=per_camera_figures(cameras, pred, found),   # the node's own 2D
            cameras=cameras)
        if args.videos and args.no_input_bag:
            shutil.rmtree(bag)                         # staged: never moved into --out-dir
    # a centred lifter never describes the last `lag` sets (told in the report's notes)
    unanswered = steady.frames_without_output - sets_without_3d(lag, steady.input_frames)
    if unanswered > 0:
        log.warning("%d of %d frame sets got no answer from the node within --timeout %g s",
                    unanswered, steady.input_frames, args.timeout)
    if not steady.present.any():
        from pose3d_ros.core.tracking import ImageTrackerParams

        confirm = ImageTrackerParams().min_hits      # the node's image_tracking.min_hits
        short = (f"; one camera publishes a person seen in {confirm} frame sets in a row "
                 "(track confirmation)" if len(names) == 1
                 and steady.input_frames < confirm else "")   # a review: 1-2 frame videos
        log.warning("nobody was published in any of the %d frame sets (2D people the "
                    "detector found: %d, in the %d images the node used)%s",
                    steady.input_frames,
                    sum(dets.num_people for d in found for dets in d["cameras"].values()),
                    sum(len(d["cameras"]) for d in found), short)
    # without a reference the latency was in the report only (audit of the reports)
    summary = (dict(evaluation.summary) if evaluation else latency_summary(
        {"end to end over DDS": latencies})) | steady.summary()
    print("\n".join(summary_lines(summary, {
        "output bag": args.out_dir / "output_bag",
        "overlay video": args.out_dir / overlay_video_name(overlay),
        "report": args.out_dir / "report.html", "3D playback": args.out_dir / "playback.html",
        "json": args.out_dir / "evaluation.json"})))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
