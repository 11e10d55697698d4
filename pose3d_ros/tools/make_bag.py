"""Turn synchronised videos plus a rig calibration into a rosbag2 the nodes can replay.

Per camera k (named after its calibration entry, e.g. cam01):
  /cam01/image_raw/compressed  sensor_msgs/CompressedImage (JPEG)  or, with --raw,
  /cam01/image_raw             sensor_msgs/Image (bgr8)
  /cam01/camera_info           sensor_msgs/CameraInfo (K, D, P = [K | 0], plumb_bob)
and once, latched:
  /tf_static                   tf2_msgs/TFMessage: <fixed frame> -> cam01_optical_frame, ...

Frame i of every video is stamped start + i / fps (the videos are synchronised by frame index).
Camera frames follow REP-103 optical axes (z forward, x right, y down); the fixed frame is the
calibration's world frame (REP-105 would call it "map" or a rig frame; --fixed-frame names it).

The writing lives in pose3d_ros.core.video_bag. An existing OUT_BAG is refused unless
--overwrite; the bag is written under a temporary name and moved in only when complete.

Usage:
  python -m pose3d_ros.tools.make_bag --demo single OUT_BAG
  python -m pose3d_ros.tools.make_bag --videos a.mp4 b.mp4 --calibration rig.yaml OUT_BAG
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from pose3d_ros.core import bagio
from pose3d_ros.core.camera import rig_frame_problem
from pose3d_ros.core.data_paths import calibration_path, video_paths
from pose3d_ros.core.messages import ns_to_seconds, seconds_to_ns
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
)
from pose3d_ros.core.video import frame_sets_to_read, video_frame_count
from pose3d_ros.core.video_bag import (  # noqa: F401 - re-exported for callers of make_bag
    DEFAULT_FIXED_FRAME,
    BagSummary,
    cameras_from_calibration,
    frame_rate,
    sized_cameras,
    video_camera_pairs,
    video_cameras,
    write_bag,
)

log = logging.getLogger(__name__)

# --start: a ROS time's seconds are a signed 32-bit integer (builtin_interfaces/Time)
ROS_TIME_LIMIT_S = 2 ** 31
# --scale: the smallest image side it may make (a detector finds nobody in fewer pixels)
MIN_SCALED_SIDE_PX = 16


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, nargs="?", help="bag folder to create (an existing "
                        "one only with --overwrite)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--demo", choices=["single", "multi"],
                        help="use a demo recording (fetched on first use)")
    source.add_argument("--videos", type=Path, nargs="+", help="one video per camera, in the "
                        "calibration's camera order, or videos named after some of its "
                        "cameras (cam02.mp4: camera cam02 alone)")
    parser.add_argument("--calibration", type=Path, help="rig calibration file (with --videos)")
    parser.add_argument("--hfov", type=float, default=None,
                        help="with one video and no --calibration: its horizontal field of view "
                        "in degrees (an undistorted pinhole camera at the video's size)")
    parser.add_argument("--fps", type=positive_float,
                        help="frame rate (default: read from the videos, which must agree, and "
                        "the frames' own times for one video of variable frame rate; given, "
                        "it stamps frame i at i / FPS s and pairs videos of different rates "
                        "anyway)")
    parser.add_argument("--start", type=float_in(0, ROS_TIME_LIMIT_S, below_high=True,
                                                 above_low=True,
                                                 what="seconds since the epoch above 0 (a "
                                                 "stamp of 0 is an unset one, which the "
                                                 "nodes refuse) and below 2**31 (the range "
                                                 "of a ROS time)"),
                        default=None,
                        help="stamp of frame 0, seconds since the epoch (default: now)")
    parser.add_argument("--raw", action="store_true",
                        help="write sensor_msgs/Image (bgr8) instead of JPEG CompressedImage")
    parser.add_argument("--storage", choices=sorted(bagio.STORAGES), default="sqlite3",
                        help="rosbag2 storage format: sqlite3 (.db3) or mcap")
    parser.add_argument("--fixed-frame", default=None,
                        help="parent frame of the camera optical frames on /tf_static "
                        "(default: the calibration's rig frame)")
    parser.add_argument("--crop-to-video", action="store_true",
                        help="accept videos smaller than the calibrated size as top-left crops "
                        "(on by default for --demo)")
    parser.add_argument("--scale", type=positive_float, default=1.0,
                        help="resize images (and intrinsics) by this factor, e.g. 0.5")
    parser.add_argument("--max-frames", type=int_at_least(1), default=None,
                        help="write only the first N frame sets (default: all)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.out is None:
        # (a review: "--videos a.mp4 b.mp4 out_bag" took out_bag for a video and said only
        # that `out` was missing)
        last = args.videos[-1] if args.videos else None
        parser.error("the bag folder to create is missing" + (
            f"; {last}, the last of --videos, does not exist: if it is the bag folder, put "
            "it before --videos" if last is not None and not last.exists() else ""))
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    # Checks that need no computation first (the numbers' ranges: their argparse types).
    refuse_existing(args.out, args.overwrite, "bag", folder=True,
                    inputs=[*(args.videos or []), args.calibration])
    if args.demo:
        if args.hfov is not None:
            raise UserError("--hfov is for your own --videos; the demo is calibrated")
        videos = video_paths(args.demo)
        calibration_file: Path | None = calibration_path(args.demo)
    else:
        videos, calibration_file = args.videos, args.calibration
    require_files([*videos, *([calibration_file] if calibration_file else [])])
    try:
        cameras, rig_frame = video_cameras(videos, calibration_file, args.hfov)
        fps = frame_rate(videos, args.fps, max_frames=args.max_frames)
        cameras = sized_cameras(videos, cameras, args.crop_to_video or bool(args.demo),
                                args.scale)
    except ValueError as err:
        raise UserError(str(err)) from None
    if args.fixed_frame is not None and (
            problem := rig_frame_problem(args.fixed_frame, cameras)):
        # (a review: cam01_optical_frame, '/world' and '' wrote bags that looked complete;
        # `run --bag` then failed at the node's configure with another message)
        raise UserError(f"--fixed-frame {problem}")
    for cam in cameras if args.scale != 1.0 else []:
        scaled = cam.scaled(args.scale)
        if min(scaled.width, scaled.height) < MIN_SCALED_SIDE_PX:
            raise UserError(f"--scale {args.scale:g} makes {cam.name}'s {cam.width}x"
                            f"{cam.height} images {scaled.width}x{scaled.height}; each side "
                            f"must keep at least {MIN_SCALED_SIDE_PX} pixels")
    if not args.demo:
        log.info("videos -> cameras: %s", video_camera_pairs(videos, cameras))
    # (at least 1 ns: --start 1e-10 passed its check and became the refused stamp 0)
    start_ns = max(seconds_to_ns(time.time() if args.start is None else args.start), 1)
    total = min(video_frame_count(v) for v in videos)
    last_s = ns_to_seconds(start_ns) + (min(total, args.max_frames or total) - 1) / fps
    if last_s >= ROS_TIME_LIMIT_S:
        raise UserError(f"the last frame would be stamped {last_s:.0f} s since the epoch, "
                        "past the range of a ROS time (below 2**31 s); give an earlier --start")
    with staged_output(args.out, args.overwrite) as out, \
            progress(frame_sets_to_read(videos, args.max_frames, exact=True) or None,
                     "bag") as bar:
        summary = write_bag(out, videos, cameras, fps=fps, start_ns=start_ns,
                            compressed=not args.raw, storage=args.storage,
                            fixed_frame=args.fixed_frame or rig_frame, scale=args.scale,
                            max_frames=args.max_frames,
                            crop_to_video=args.crop_to_video or bool(args.demo),
                            progress=bar.update, own_times=args.fps is None)
    log.info("wrote %s: %d frame sets, %d messages, %.2f s", args.out, summary.frames,
             summary.messages, ns_to_seconds(summary.end_ns - summary.start_ns))
    for topic, msgtype in sorted(summary.topics.items()):
        log.info("  %-32s %s", topic, msgtype)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
