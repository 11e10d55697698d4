"""2D BlazePose-33 keypoints of the demo recordings, computed and cached
(pose3d_ros.core.demo_2d), with a one-line summary per recording.

Usage: python -m pose3d_ros.tools.demo_2d [single|multi ...] [--frames N] [--recompute] [--debug]

It writes only the package's detection cache (atomically: core.detection.cache); a mistake is
told in one line (a traceback with --debug), 2D not cached yet under a progress bar.
"""
from __future__ import annotations

import argparse
import logging
import sys

import numpy as np

# Demo2D and detect_videos live in the core; imported here for callers of this module's past.
from pose3d_ros.core.demo_2d import DEMO_DETECTORS, Demo2D, detect_videos, load_demo_2d  # noqa: F401
from pose3d_ros.core.output_files import int_at_least, one_line_errors, run_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    one_line_errors(parser)
    # (checked below, not with choices: Python 3.11's argparse refuses an empty "*" list, and
    # a list default, against choices)
    parser.add_argument("names", nargs="*",
                        help=f"demo recordings, of {sorted(DEMO_DETECTORS)} (default: both)")
    parser.add_argument("--frames", type=int_at_least(1), default=None,
                        help="first N frames only")
    parser.add_argument("--recompute", action="store_true", help="ignore an existing cache")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in DEMO_DETECTORS]
    if unknown:
        parser.error(f"argument names: invalid choice: {unknown[0]!r} (choose from "
                     f"{', '.join(map(repr, sorted(DEMO_DETECTORS)))})")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in args.names or sorted(DEMO_DETECTORS, reverse=True):    # single, multi
        d = load_demo_2d(name, frames=args.frames, use_cache=not args.recompute, progress=True)
        seen = np.isfinite(d.keypoints[..., 0, 0]).sum(axis=(0, 2))
        print(f"{name}: {d.keypoints.shape} people-detections per camera {seen.tolist()} "
              f"({DEMO_DETECTORS[name][0]})")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
