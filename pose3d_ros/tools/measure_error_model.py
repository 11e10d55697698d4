"""Measure the 2D detector error model shipped in pose3d_ros/models (core/error_model.py,
measured as core/error_measurement.py describes) and print its summary.

  --recording single  mediapipe BlazePose, the nodes' default back-end (the default model:
                      pose3d_ros/models/error_model_blazepose.json)
  --recording multi   the multi-person back-end on the two-person recording
                      (pose3d_ros/models/error_model_blazepose_multi.json)

Usage: python -m pose3d_ros.tools.measure_error_model [--recording single|multi] [--out FILE]
       [--overwrite] [--all-cameras] [--threshold-px 60] [--debug]
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pose3d_ros.core.error_measurement import measure_demo
from pose3d_ros.core.error_model import ERROR_MODEL_PATH, MULTI_ERROR_MODEL_PATH, save_error_model

DEFAULT_OUT = {"single": ERROR_MODEL_PATH, "multi": MULTI_ERROR_MODEL_PATH}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", choices=sorted(DEFAULT_OUT), default="single")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON file to write (default: the shipped model of the recording)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    parser.add_argument("--threshold-px", type=float, default=60.0,
                        help="triangulation outlier threshold (pixels)")
    parser.add_argument("--all-cameras", action="store_true",
                        help="reference from all 4 cameras, the held-out one included "
                             "(single only; default: leave-one-camera-out)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = args.out or DEFAULT_OUT[args.recording]
    try:
        if out.exists() and not args.overwrite:
            raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
        if not out.parent.is_dir():
            raise FileNotFoundError(f"folder {out.parent} does not exist")
        model = measure_demo(args.recording, args.threshold_px,
                             leave_one_out=not args.all_cameras)
        save_error_model(model, out)
    except (OSError, ValueError, RuntimeError) as exc:
        if args.debug:
            raise
        print(f"measure_error_model: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(model.summary(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
