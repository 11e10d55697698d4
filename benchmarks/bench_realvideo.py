"""One camera on a REAL video without ground truth: the phone video of two people that the
sports2d wheel ships (core.data_paths.single_video_path; 230 frames, 30 fps, 1768x994,
outdoors against the sun, one person jumping on and off a box), through the one-camera chain
with the node's defaults, both monocular methods.

What can be judged without ground truth (core.evaluation.stability): frames without output,
people published per frame, distinct ids and when each id is seen (an id timeline: the
people present, frame by frame, as runs), root-depth jitter (p95 and max of the frame-to-frame
change), bone-length CV; and what the 2D back-end found (people per frame: more than two is a
false person, e.g. in the glare). The video has no calibration: a pinhole camera with the
given horizontal field of view is assumed (depth in metres scales with it; ids do not).

  python benchmarks/bench_realvideo.py [--hfov 65] [--video sports2d|FILE]
The 2D comes from the detection cache (core.detection.cache), so another checkout of the
pipeline runs on the same 2D: POSE3D_DATA=<this checkout>/data PYTHONPATH=OTHER_CHECKOUT
python benchmarks/bench_realvideo.py --video <this checkout>/data/videos/sports2d.mp4
Prints markdown (results in benchmarks/results_onecam.md).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_onecam import METHODS, _monocular, _params  # noqa: E402

from pose3d_ros.core.detection import DEFAULT_DETECTOR  # noqa: E402


def id_runs(ids_per_frame: list[list[int]]) -> str:
    """The frames at which the set of published ids changes: 'frame:[ids]' runs."""
    runs, previous = [], None
    for t, ids in enumerate(ids_per_frame):
        key = sorted(ids)
        if key != previous:
            runs.append(f"{t}:{key}")
            previous = key
    return " ".join(runs)


def main(argv: list[str] | None = None) -> int:
    from pose3d_ros.core.camera import pinhole_from_fov
    from pose3d_ros.core.detection.cache import detect_video_set
    from pose3d_ros.core.evaluation import SkeletonTrack, stability
    from pose3d_ros.core.pipeline import Pose3DPipeline

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", default="sports2d",
                        help="a name of core.data_paths.SINGLE_VIDEOS or a video file")
    parser.add_argument("--hfov", type=float, default=65.0,
                        help="assumed horizontal field of view (degrees)")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--detector", default=DEFAULT_DETECTOR)
    args = parser.parse_args(argv)
    video = Path(args.video)
    if not video.is_file():
        from pose3d_ros.core.data_paths import single_video_path
        video = single_video_path(args.video)
    found = detect_video_set([video], args.detector)[0]
    width, height = found.image_size
    camera = pinhole_from_fov("camera", int(width), int(height), args.hfov)
    frames = len(found.num_people)
    stamps = 10.0 + np.arange(frames) / args.fps
    stamps_ns = np.round(stamps * 1e9).astype(np.int64)
    print(f"# {video.name}: {frames} frames, {width}x{height}, hfov {args.hfov:g} deg assumed, "
          f"{args.detector}; 2D people per frame (0, 1, 2, ...): "
          f"{', '.join(map(str, np.bincount(found.num_people)))}")
    print("| method | frames w/o output | people published per frame (0, 1, 2, ...) | "
          "distinct ids | root-depth jitter p95 / max m/frame | bone CV | id timeline |")
    print("|---|---|---|---|---|---|---|")
    for method in METHODS:
        pipeline = Pose3DPipeline([camera.name], {camera.name: camera},
                                  frame_id="camera_optical_frame",
                                  lifter=_monocular(method), params=_params())
        out = [pipeline.process_detections({camera.name: found.frame(t)}, stamps[t]).skeletons
               for t in range(frames)]
        steady = stability(SkeletonTrack(stamps_ns, out)).summary()
        ids = [skeletons.ids.tolist() for skeletons in out]
        print(f"| {method} | {steady['frames without output']} | "
              f"{', '.join(map(str, np.bincount([len(i) for i in ids])))} | "
              f"{steady['distinct ids']} | {steady['root-depth jitter p95 [m/frame]']:.3f} / "
              f"{steady['root-depth jitter max [m/frame]']:.3f} | "
              f"{100 * steady['bone-length CV median']:.1f} % | {id_runs(ids)} |")
    print(f"# load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
