"""Render a one-camera video of the real motion capture, with its calibration and ground truth.

  python -m pose3d_ros.tools.render_mocap --out-dir rendered/ [--clips walk walk]
      [--seconds 6] [--fps 30] [--distance 4] [--azimuth 60] [--fov 50] [--overwrite]
  python -m pose3d_ros.tools.run --videos rendered/camera.mp4 \\
      --calibration rendered/calibration.yaml --out-dir run/

The humanoid of the DeepMimic clips walks in front of a pinhole camera (core.mocap_render);
written into --out-dir (only when complete): camera.mp4 (the video), calibration.yaml (the
camera in the package's rig format: intrinsics and its pose in the WORLD frame, z up, floor
at z = 0), truth.npz (joints (F, P, 17, 3) H36M-17 metres in WORLD, stamps (F,) s from the
first frame, fps, clips). The `run` tool then runs the real node on the video; the truth lets
you score ids and depth yourself (benchmarks/bench_rendered.py does it in process).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from pose3d_ros.core.mocap_render import (
    RENDER_CAMERA,
    RenderConfig,
    render_to_folder,
    whole_body_in_view,
)
from pose3d_ros.core.mocap_scenes import CYCLIC_CLIPS
from pose3d_ros.core.output_files import (
    UserError,
    add_common_arguments,
    float_in,
    int_in,
    progress,
    refuse_existing,
    run_cli,
    staged_output,
)

log = logging.getLogger(__name__)
# fewer person-frames with the whole body in view are warned about (the defaults: 46 %)
MIN_IN_VIEW_SHARE = 0.25


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, required=True,
                        help="folder to create for camera.mp4, calibration.yaml and truth.npz "
                             "(an existing one only with --overwrite)")
    parser.add_argument("--clips", nargs="+", default=["walk", "walk"],
                        help=f"one cyclic clip per person: {', '.join(sorted(CYCLIC_CLIPS))}")
    # (bounded: a review's --seconds 1e9 asked for 224 GiB, --width 100000 failed in the
    # video writer with a traceback)
    parser.add_argument("--seconds", type=float_in(0.0, 3600.0, above_low=True), default=6.0,
                        help="video length (s), up to an hour")
    parser.add_argument("--fps", type=float_in(1.0, 240.0), default=30.0,
                        help="video frame rate (Hz), 1-240")
    parser.add_argument("--width", type=int_in(16, 8192), default=1280,
                        help="video width in pixels (16-8192; even: the mp4 writer drops an "
                             "odd column)")
    parser.add_argument("--height", type=int_in(16, 8192), default=720,
                        help="video height in pixels (16-8192; even: the mp4 writer drops an "
                             "odd row)")
    parser.add_argument("--fov", type=float, default=50.0, help="horizontal field of view (deg)")
    parser.add_argument("--distance", type=float, default=4.0,
                        help="camera distance from the middle of the paths (m)")
    parser.add_argument("--camera-height", type=float, default=1.5, help="metres above the floor")
    parser.add_argument("--azimuth", type=float, default=60.0,
                        help="camera direction from the walking direction (deg; 0: ahead)")
    parser.add_argument("--separation", type=float, default=1.5,
                        help="sideways distance between people (m)")
    add_common_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for option, pixels in (("--width", args.width), ("--height", args.height)):
        if pixels % 2:
            # the mp4v writer drops the odd last column or row: a 320x240 video came with a
            # 321x241 calibration, which make_bag then refused (a review)
            raise UserError(f"{option} must be an even number of pixels (the mp4 video "
                            f"writer drops an odd last column or row), got {pixels}")
    refuse_existing(args.out_dir, args.overwrite, "output folder", folder=True)
    try:
        config = RenderConfig(clips=tuple(args.clips), seconds=args.seconds, fps=args.fps,
                              width=args.width, height=args.height, fov_deg=args.fov,
                              distance_m=args.distance, camera_height_m=args.camera_height,
                              azimuth_deg=args.azimuth, separation_m=args.separation)
    except ValueError as err:
        raise UserError(str(err)) from None
    with staged_output(args.out_dir, args.overwrite) as folder, \
            progress(config.num_frames, "rendering") as bar:
        folder.mkdir()
        scene = render_to_folder(config, folder, progress=lambda done: bar.update(done - bar.n))
    in_view = whole_body_in_view(scene.camera, scene.joints)                # (F, P)
    print(f"render_mocap: {len(scene.joints)} frames of {len(config.clips)} people -> "
          f"{args.out_dir}/{RENDER_CAMERA}.mp4, calibration.yaml, truth.npz; the whole body "
          f"in view in {100 * in_view.mean():.0f} % of the person-frames (they walk across it)")
    if in_view.mean() < MIN_IN_VIEW_SHARE:
        # (a review: people walk on and leave the view; at --seconds 60, 12 of 240
        # person-frames showed the whole body, and nothing said so)
        log.warning("only %.0f %% of the person-frames show the whole body: the people walk "
                    "out of the view (%.1f s of whole-body frames in a row at most); shorten "
                    "--seconds, or widen --fov or raise --distance", 100 * in_view.mean(),
                    _longest_run(np.asarray(in_view.any(axis=1))) / config.fps)
    return 0


def _longest_run(flags: np.ndarray) -> int:
    """The longest run of True in a (F,) bool array."""
    padded = np.concatenate([[0], flags.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max()) if edges.size else 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
