"""Measure the 2D detector error model shipped in pose3d_ros/models (core/error_model.py,
measured as core/error_measurement.py describes) and print its summary.

  --recording single  mediapipe's one-person BlazePose graph (`blazepose`; the default model:
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
from pose3d_ros.core.output_files import (
    add_common_arguments,
    positive_float,
    refuse_existing,
    run_cli,
    staged_output,
)

DEFAULT_OUT = {"single": ERROR_MODEL_PATH, "multi": MULTI_ERROR_MODEL_PATH}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", choices=sorted(DEFAULT_OUT), default="single",
                        help="demo recording to measure on: single (BlazePose) or multi (the "
                             "multi-person back-end); see above")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON file to write (default: the shipped model of the recording)")
    parser.add_argument("--threshold-px", type=positive_float, default=60.0,
                        help="triangulation outlier threshold (pixels)")
    parser.add_argument("--all-cameras", action="store_true",
                        help="reference from all 4 cameras, the held-out one included "
                             "(single only; default: leave-one-camera-out)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.all_cameras and args.recording != "single":
        # (a review: refused after 15 s of 2D, in words that named no option)
        parser.error("--all-cameras applies to --recording single (the multi-person "
                     "measurement is leave-one-camera-out only)")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = args.out or DEFAULT_OUT[args.recording]
    refuse_existing(out, args.overwrite, "error model", folder=False)
    model = measure_demo(args.recording, args.threshold_px, leave_one_out=not args.all_cameras,
                         progress=True)
    with staged_output(out, args.overwrite) as temporary:
        save_error_model(model, temporary)
    print(json.dumps(model.summary(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
