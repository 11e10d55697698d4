"""The one-command demo: real nodes over DDS on the embedded demo recordings, then a report.

Steps (each printed as it happens):
  1. obtain the demo recordings (pose3d_ros.tools.fetch_demo: the pose2sim wheel from PyPI);
  2. convert them to a rosbag2 (pose3d_ros.tools.make_bag: JPEG images, CameraInfo, /tf_static);
  3. start the all-in-one node (pose3d_ros.ros.nodes.Pose3DNode) in this process and replay the
     bag to it over DDS (pose3d_ros.ros.replay, since `ros2 bag play` is not installable here),
     frame set by frame set in lock-step, so every set is processed on any machine;
  4. collect the published pose3d_ros/Skeleton3DArray messages into an output bag;
  5. score them against multi-view triangulation from all cameras (no tracking, no filtering)
     and write evaluation.json, report.html and playback.html (interactive 3D); the report
     path is printed last.

On a ROS 2 machine the same runs with `ros2 launch` and `ros2 bag play` (see the README).

The default output folder, reports/demo/<recording>, is the demo's own and replaced on each
run (unless it holds more than a demo's outputs); an existing --out-dir is refused unless
--overwrite. The arguments are checked before any work, and the outputs are written to a
temporary folder and moved in only when complete: an interrupted or failed run leaves the
previous outputs untouched.

Usage: python -m pose3d_ros.tools.demo [--recording single|multi] [--out-dir DIR]
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pose3d_ros.core import bag_tracks, data_paths
from pose3d_ros.core.bag_report import summary_lines, write_bag_report
from pose3d_ros.core.detection import DEFAULT_DETECTOR, DETECTOR_NAMES, ONNX_MODEL_DETECTORS
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
from pose3d_ros.core.video import video_fps
from pose3d_ros.core.video_bag import cameras_from_calibration, write_bag

if TYPE_CHECKING:
    import numpy as np

    from pose3d_ros.core.evaluation import Evaluation, SkeletonTrack, Stability

log = logging.getLogger("pose3d_demo")

CAMERAS = list(data_paths.CAMERAS)
OUTPUT_LAYOUT = "h36m17"


def default_out_dir() -> Path:
    """reports/demo under the current directory (scripts/demo.sh runs in the repository,
    whose .gitignore leaves reports/ out)."""
    return Path("reports") / "demo"


def check_out_dir(out_dir: Path | None, recording: str, overwrite: bool) -> tuple[Path, bool]:
    """The output folder and whether it may be replaced. The default folder is the demo's own:
    replaced on each run; a folder the user names is refused if it exists, unless
    --overwrite. Either is refused while it holds anything this package did not write
    (output_files.refuse_existing)."""
    if out_dir is None:
        out_dir = default_out_dir() / recording
        overwrite = overwrite or out_dir.is_dir()
    refuse_existing(out_dir, overwrite, "output folder", folder=True,
                    inputs=[data_paths.default_data_dir() / "demo" / recording])
    return out_dir.absolute(), overwrite


def check_arguments(args: argparse.Namespace) -> None:
    """The checks that need no computation."""
    if args.detector not in DETECTOR_NAMES:
        raise UserError(f"unknown detector {args.detector!r}; known: {list(DETECTOR_NAMES)}")
    if args.detector in ONNX_MODEL_DETECTORS:
        raise UserError(f"--detector {args.detector} needs its ONNX model files, which the "
                        "demo does not take; run it with pose3d_ros.tools.run --bag and "
                        "--detector-model")


def make_demo_bag(recording: str, out: Path, scale: float, max_frames: int | None) -> Path:
    """Step 1-2: fetch the recording and write it as a bag (stamps from a fixed epoch, so the
    demo's outputs are reproducible)."""
    from pose3d_ros.core.video import video_frame_count

    videos = data_paths.video_paths(recording)
    cameras, rig_frame = cameras_from_calibration(data_paths.calibration_path(recording))
    total = min(video_frame_count(v) for v in videos)
    with progress(min(total, max_frames or total), "bag") as bar:
        summary = write_bag(out, videos, cameras, fps=video_fps(videos[0]),
                            start_ns=1_700_000_000_000_000_000, compressed=True,
                            storage="mcap", fixed_frame=rig_frame, scale=scale,
                            max_frames=max_frames, crop_to_video=True, progress=bar.update)
    log.info("bag %s: %d frame sets from %d cameras", out, summary.frames, len(cameras))
    return out


def run_nodes_on_bag(bag: Path, calibration: Path, out_bag: Path, *, detector: str,
                     rate: float, timeout_s: float, frame_sets: int | None = None
                     ) -> tuple[SkeletonTrack, np.ndarray]:
    """Steps 3-4: the real node over DDS (ros.run_on_bag), poses from the calibration file;
    returns the collected track and the end-to-end latencies (s). frame_sets: the bag's
    count, for the progress bar."""
    from pose3d_ros.ros.run_on_bag import run_node_on_bag

    parameters = [("rig_file", str(calibration)), ("detector", detector),
                  # One layout for triangulated and single-view sets (the lifter's H36M-17).
                  ("output_layout", OUTPUT_LAYOUT)]
    if importlib.util.find_spec("pose3d_ros.core.lifting") is None:
        # The single-view path only serves sets with one camera; the demo's sets have four.
        log.warning("pose3d_ros.core.lifting is not installed: single-camera sets get no 3D")
        parameters.append(("monocular_method", "none"))
    with progress(frame_sets, "node over DDS") as bar:
        latencies = run_node_on_bag(bag, out_bag, CAMERAS, parameters=parameters, rate=rate,
                                    timeout_s=timeout_s, progress=bar.update).latencies_s
    return bag_tracks.read_track(out_bag, "/skeletons"), latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", choices=sorted(data_paths.RECORDINGS), default="single",
                        help="demo recording: single (one person) or multi (two people), "
                             "4 cameras each")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="where the bag, output bag and report go (default: "
                        "reports/demo/<recording>, replaced on each run); an existing folder "
                        "given here only with --overwrite")
    parser.add_argument("--detector", default=DEFAULT_DETECTOR,
                        help=f"2D back-end of the node, one of {', '.join(DETECTOR_NAMES)} "
                             "(default: %(default)s; the ONNX ones need model files the demo "
                             "does not take)")
    parser.add_argument("--scale", type=positive_float, default=0.5,
                        help="image scale in the bag (0.5: 540x960, quick to encode/decode)")
    parser.add_argument("--max-frames", type=int_at_least(1), default=None,
                        help="default: all (100)")
    parser.add_argument("--rate", type=non_negative_float, default=0.0,
                        help="replay rate: 0 = lock-step with the node (default), 1 = recorded "
                        "speed (the node drops sets it cannot keep up with)")
    parser.add_argument("--timeout", type=positive_float, default=5.0,
                        help="longest wait for the node's output of one frame set (s)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    check_arguments(args)
    out_dir, overwrite = check_out_dir(args.out_dir, args.recording, args.overwrite)
    log.info("[1/5] demo recording %r", args.recording)
    calibration = data_paths.calibration_path(args.recording)
    with staged_output(out_dir, overwrite) as staging:
        staging.mkdir()
        evaluation, steady = run_demo(args, calibration, staging)
    # the figures that need no reference too, as the report shows them (audit: not printed),
    # to 4 significant digits as run and evaluate print them (a review: 0.010424552160558752)
    outputs = {"output bag": out_dir / "output_bag", "3D playback": out_dir / "playback.html",
               "json": out_dir / "evaluation.json", "report": out_dir / "report.html"}
    print("\n".join(summary_lines(dict(evaluation.summary) | steady.summary(), outputs)))
    return 0


def run_demo(args: argparse.Namespace, calibration: Path, out_dir: Path
             ) -> tuple[Evaluation, Stability]:
    """Steps 2-5 into out_dir (the staging folder); returns the evaluation and the stability
    figures (evaluation.Stability)."""
    log.info("[2/5] converting to a bag")
    bag = make_demo_bag(args.recording, out_dir / "input_bag", args.scale, args.max_frames)
    stamps = bag_tracks.frame_set_stamps(bag)       # the bag's frame sets, read once
    log.info("[3/5] running pose3d_node over DDS")
    pred, latencies = run_nodes_on_bag(bag, calibration, out_dir / "output_bag",
                                       detector=args.detector, rate=args.rate,
                                       timeout_s=args.timeout, frame_sets=len(stamps))
    if not pred.frames:      # nothing to score (a report of nan and exit 0 before: an audit)
        raise UserError(f"the node published no skeletons for the {len(stamps)} frame sets "
                        f"(waited up to --timeout {args.timeout:g} s for each); nothing to "
                        "score, the previous outputs are kept. Give a longer --timeout, or "
                        "see the node's log lines above")
    log.info("[4/5] reference: multi-view triangulation of all cameras (offline, no filter)")
    from pose3d_ros.core.pipeline import PipelineParams

    with progress(len(stamps), "reference") as bar:
        ref_run = bag_tracks.run_pipeline(bag, detector=args.detector,
                                          params=PipelineParams(output_layout=OUTPUT_LAYOUT,
                                                                tracking=None, filtering=None),
                                          progress=bar.update)
    ref = ref_run.track
    cameras = bag_tracks.bag_cameras(bag)[0]
    per_camera = bag_tracks.per_camera_figures(cameras, pred, ref_run.detections)
    first = sorted(cameras)[0]                  # the root depth is measured from this camera
    log.info("[5/5] scoring and writing the report")
    latency = {"end to end over DDS": latencies}
    latency.update({f"offline {stage}": ref_run.timings[stage] for stage in
                    ("detect", "associate", "triangulate") if stage in ref_run.timings})
    notes = [
        f"demo recording {args.recording!r} (from the {data_paths.POSE2SIM_WHEEL} wheel), "
        f"4 cameras, images scaled by {args.scale}",
        "prediction: pose3d_node (all-in-one, tracking + One Euro filter) fed over DDS by the "
        "bag replay publisher, lock-step" if args.rate == 0 else
        f"prediction: pose3d_node fed over DDS at replay rate {args.rate}",
        "reference: multi-view triangulation from all cameras without tracking or filtering; it "
        "shares the 2D detector's errors, so it measures consistency, not ground-truth accuracy "
        "(the demo ships no marker ground truth)",
        "latency: receive time of the skeletons minus publish time of their images (DDS + "
        "decoding + synchronisation + pipeline); 'offline' stages: compute time per frame set "
        "of the reference run (same detector, all four cameras)",
        "per camera: the node's 3D skeletons projected into each camera against that camera's "
        "2D detections (of the reference run)",
    ]
    evaluation, steady = write_bag_report(
        out_dir, bag, pred, ref, title=f"pose3d_ros demo: {args.recording} recording",
        notes=notes, per_camera=per_camera, latency_s=latency,
        viewpoint=cameras[first].center, viewpoint_name=first, input_stamps_ns=stamps)
    assert evaluation is not None  # a reference track was given
    return evaluation, steady


if __name__ == "__main__":
    sys.exit(run_cli(main))
