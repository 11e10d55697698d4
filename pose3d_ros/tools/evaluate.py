"""Replay evaluation: score 3D skeletons against a reference (or, without one, report their
stability) and write JSON + an HTML report.

The prediction is a Skeleton3DArray topic of a bag (the demo's output bag, `ros2 bag record`)
or the pipeline run on the bag's images; the reference is another skeleton topic (motion
capture, a trusted estimate) or multi-view triangulation from all of the bag's cameras.
A bag with one camera has no reference of its own: the report then gives what can be judged
without ground truth (people per frame, id timeline, root-depth jitter, bone-length stability,
frames without output). The skeletons' frame is read from their messages and brought into the
rig frame through the bag's /tf_static. The scoring lives in pose3d_ros.core.evaluation.

Usage:
  python -m pose3d_ros.tools.evaluate --bag OUT_BAG --pred-topic /skeletons \\
      --ref-bag REF_BAG --ref-topic /mocap/skeletons --out-dir eval/
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pose3d_ros.core import bagio
from pose3d_ros.core.bag_cameras import cameras_without_info, image_cameras
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
    per_camera_figures,
    published_frame,
    read_track,
    recorded_2d,
    run_pipeline,
    skipped_images,
    static_tree,
    write_track_bag,
)
from pose3d_ros.core.messages import seconds_to_ns
from pose3d_ros.core.monocular import MONOCULAR_METHODS
from pose3d_ros.core.output_files import (
    UserError,
    add_common_arguments,
    int_at_least,
    non_negative_float,
    positive_float,
    progress,
    refuse_existing,
    run_cli,
    staged_output,
)
from pose3d_ros.core.overlay import overlay_video_name
from pose3d_ros.tools.detector_arguments import (
    add_detector_arguments,
    check_monocular_method,
    detector_options,
)

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bag", type=Path, required=True,
                        help="bag with the camera images, CameraInfo and /tf_static (and/or "
                        "the predicted skeletons)")
    parser.add_argument("--pred-topic", default=None,
                        help="predicted Skeleton3DArray topic in --pred-bag/--bag; without it "
                        "the pipeline runs on --bag's images")
    parser.add_argument("--pred-bag", type=Path, help="bag of the predictions (default: --bag)")
    parser.add_argument("--ref-topic", default=None,
                        help="reference Skeleton3DArray topic; without it the reference is "
                        "multi-view triangulation from all of --bag's cameras (no tracking, "
                        "no filtering), and none when the bag has one camera")
    parser.add_argument("--ref-bag", type=Path, help="bag of the reference (default: --bag)")
    parser.add_argument("--cameras", default=None,
                        help="comma-separated cameras the pipeline uses (default: all)")
    add_detector_arguments(parser)
    parser.add_argument("--monocular-method", default="lifter",
                        choices=[*MONOCULAR_METHODS, "none"],
                        help="3D method for sets with one camera: detector_3d, lifter or none")
    parser.add_argument("--max-frames", type=int_at_least(1), default=None,
                        help="only the first N frame sets of the bag (recorded skeletons of "
                        "--pred-topic / --ref-topic: those up to the last of them)")
    parser.add_argument("--out-dir", type=Path, default=Path("evaluation"))
    parser.add_argument("--out-bag", action="store_true",
                        help="also write the predictions to <out-dir>/skeletons (MCAP)")
    parser.add_argument("--overlay-video", default=None, metavar="CAMERA",
                        help="write <out-dir>/overlay_<CAMERA>.webm (VP8: plays in browsers, "
                        "VLC, mpv) with reprojected skeletons")
    parser.add_argument("--max-match-distance", type=positive_float, default=0.5,
                        help="metres")
    parser.add_argument("--tolerance", type=non_negative_float, default=0.004,
                        help="largest stamp difference in seconds to pair frames")
    parser.add_argument("--title", default="pose3d_ros evaluation")
    add_common_arguments(parser)
    return parser.parse_args(argv)


def check_inputs(args: argparse.Namespace) -> dict[str, str]:
    """Everything that needs no computation, before any starts. Returns the bag's topics."""
    for bag in (args.bag, args.pred_bag, args.ref_bag):
        if bag is not None and not bag.exists():
            raise UserError(f"no bag at {bag}")
    for bag, topic, flag in ((args.pred_bag, args.pred_topic, "pred"),
                             (args.ref_bag, args.ref_topic, "ref")):
        if bag is not None and not topic:    # (the bag was ignored without a word)
            raise UserError(f"--{flag}-bag needs --{flag}-topic: the Skeleton3DArray topic "
                            "to read from it")
    refuse_existing(args.out_dir, args.overwrite, "output folder", folder=True,
                    inputs=(args.bag, args.pred_bag, args.ref_bag))
    if not args.pred_topic:                  # the pipeline runs a 2D back-end
        detector_options(args)
        check_monocular_method(args)
    topics = bagio.bag_topics(args.bag)
    for topic, bag in ((args.pred_topic, args.pred_bag), (args.ref_topic, args.ref_bag)):
        if topic and topic not in (bagio.bag_topics(bag) if bag else topics):
            raise UserError(f"bag {bag or args.bag} has no topic {topic}")
    # the bag's cameras as the pipeline reads them (a depth-only namespace is no camera)
    names = (set(image_cameras(args.bag, topics))
             if any(ty in (bagio.IMAGE, bagio.COMPRESSED_IMAGE) for ty in topics.values())
             else set())
    wanted = set(args.cameras.split(",")) if args.cameras else set()
    if args.overlay_video:
        wanted.add(args.overlay_video)
    if wanted - names:
        raise UserError(f"bag {args.bag} has no images of camera(s) {sorted(wanted - names)}; "
                        f"it has {sorted(names) or 'none'}")
    if uncalibrated := sorted(wanted & set(cameras_without_info(args.bag, topics))):
        # (a review: refused only after the pipeline's progress bar, as "no camera")
        raise UserError(f"bag {args.bag}: camera(s) {', '.join(uncalibrated)} have images but "
                        "no CameraInfo topic, so no calibration; leave them out of --cameras "
                        "and --overlay-video")
    if not args.pred_topic and not names:
        raise UserError(f"bag {args.bag} has no images to run the pipeline on; give "
                        "--pred-topic to score recorded skeletons")
    run_on = set(args.cameras.split(",")) if args.cameras else names
    if not args.pred_topic and len(run_on) == 1 and args.monocular_method == "none":
        raise UserError("one camera needs a monocular method to give 3D: --monocular-method "
                        f"{' or '.join(MONOCULAR_METHODS)}")
    return topics


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    topics = check_inputs(args)
    has_images = any(ty in (bagio.IMAGE, bagio.COMPRESSED_IMAGE) for ty in topics.values())
    cameras, fixed = bag_cameras(args.bag) if has_images else ({}, None)
    tree = static_tree(args.bag)
    used = args.cameras.split(",") if args.cameras else sorted(cameras)
    notes, per_camera, latency, run = [], {}, None, None
    method = None if args.monocular_method == "none" else args.monocular_method
    # the frame sets that go in, read once (progress, and frames without output)
    stamps = frame_set_stamps(args.bag, used) if cameras else None
    if args.pred_topic:
        pred = read_track(args.pred_bag or args.bag, args.pred_topic, frame_id=fixed, tree=tree)
        published = published_frame(args.pred_bag or args.bag, args.pred_topic)
        frame = pred.frame_id or "n/a"
        if published and published != pred.frame_id:    # (the note named the converted one)
            frame = f"published in {published}, scored in {pred.frame_id} through /tf_static"
        notes.append(f"prediction: topic {args.pred_topic} of {args.pred_bag or args.bag} "
                     f"(frame {frame})")
        if cameras:       # the node's 2D, where it was recorded with the 3D (publish_2d)
            found, malformed = recorded_2d([args.pred_bag or args.bag, args.bag],
                                           [name for name in used if name in cameras], pred)
            if found:
                per_camera = per_camera_figures(cameras, pred, found)
            else:
                notes.append("per camera: no figures, no 2D of the node recorded with the 3D "
                             "(record <camera>/skeletons_2d, published with publish_2d)")
            if malformed:
                notes.append(f"per camera: {malformed} recorded 2D message(s) that do not "
                             "decode were skipped")
    else:
        total = len(stamps) if stamps is not None else 0
        with progress(min(total, args.max_frames or total), "pipeline") as bar:
            run = run_pipeline(args.bag, detector=args.detector, cameras=used,
                               detector_options=detector_options(args),
                               max_frames=args.max_frames, monocular_method=method,
                               progress=bar.update)
        pred, per_camera, latency = run.track, run.per_camera, dict(run.timings)
        notes.append(f"prediction: pose3d_ros pipeline ({args.detector}, cameras "
                     f"{', '.join(used)}) replayed on {args.bag}; latency = per-stage compute "
                     "time per frame set")
    ref = None
    if args.ref_topic:
        ref = read_track(args.ref_bag or args.bag, args.ref_topic, frame_id=pred.frame_id or
                         fixed, tree=tree)
        notes.append(f"reference: topic {args.ref_topic} of {args.ref_bag or args.bag}")
    if args.max_frames and (args.pred_topic or args.ref_topic):
        # recorded skeletons cut to the time of the frame sets scored, as the pipeline is
        stamp_list = stamps if stamps is not None and len(stamps) else pred.stamps_ns
        last = stamp_list[min(args.max_frames, len(stamp_list)) - 1] if len(stamp_list) \
            else sys.maxsize
        # (an output within --tolerance after the last set scored is that set's)
        last = min(int(last) + seconds_to_ns(args.tolerance), sys.maxsize)
        pred = pred.until(last) if args.pred_topic else pred
        ref = ref.until(last) if ref is not None and args.ref_topic else ref
    # (a review: the trimming above was an if/elif with the reference below, so --pred-topic
    # with --max-frames lost every reference figure without a word)
    if ref is not None:
        pass
    elif len(cameras) >= 2:
        reuse = run.detections if run is not None and len(used) == len(cameras) else None
        ref = triangulation_reference(args.bag, detector=args.detector, detections=reuse,
                                      detector_options=detector_options(args),
                                      max_frames=args.max_frames)
        notes.append(TRIANGULATION_NOTE)
    else:
        notes.append("no reference: one camera and no --ref-topic; the figures below need "
                     "no ground truth")
    if cameras:           # images the pipeline or the reference skipped (each logged once)
        notes += skipped_images(args.bag).notes() + left_out_note(args.bag)
    with staged_output(args.out_dir, args.overwrite) as out:
        evaluation, steady = write_bag_report(
            out, args.bag if cameras else None, pred, ref, title=args.title, notes=notes,
            per_camera=per_camera, latency_s=latency, overlay_camera=args.overlay_video,
            viewpoint=cameras[used[0]].center if used and used[0] in cameras else None,
            viewpoint_name=used[0] if used and used[0] in cameras else "",
            max_match_distance=args.max_match_distance, tolerance_s=args.tolerance,
            input_stamps_ns=None if stamps is None else stamps[:args.max_frames],
            camera=cameras[used[0]] if len(used) == 1 and used[0] in cameras else None)
        if args.out_bag:      # a lone camera without a pose: the node's upright frame at it
            lone = len(cameras) == 1 and not tree.frames and pred.frame_id == fixed
            write_track_bag(pred, out / "skeletons", tf_static_from=args.bag,
                            upright_of=pred.frame_id if lone else "")
    summary = dict(evaluation.summary if evaluation else {}) | steady.summary()
    outputs = {"report": args.out_dir / "report.html",
               "3D playback": args.out_dir / "playback.html",
               "json": args.out_dir / "evaluation.json"}
    if args.overlay_video and cameras:
        outputs["overlay video"] = args.out_dir / overlay_video_name(args.overlay_video)
    if args.out_bag:
        outputs["skeletons bag"] = args.out_dir / "skeletons"
    print("\n".join(summary_lines(summary, outputs)))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
