"""Measure the 2D detector error model shipped in pose3d_ros/models (core/error_model.py).

BlazePose 2D (the package's back-end, cached by core/detection/cache.py) on the demo
recording `single`, 4 cameras x 100 frames at 60 fps, against the leave-one-camera-out
reference: each joint triangulated robustly from the three other cameras (shipped Qualisys
calibration, outlier threshold --threshold-px, Gauss-Newton refinement), converted to
H36M-17 and projected into the held-out camera (--all-cameras: triangulated from all four,
the held-out one included). False detections: the multi-person back-end
(blazepose_multi) on the same one-person recording; every detection beyond one per view is
false.

Usage: python -m pose3d_ros.tools.measure_error_model [--out FILE] [--overwrite] [--debug]
(default FILE: the shipped pose3d_ros/models/error_model_blazepose.json; prints the summary)
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from pose3d_ros.core.calibration import load_rig
from pose3d_ros.core.error_model import ERROR_MODEL_PATH, measure_error_model, save_error_model
from pose3d_ros.core.layouts import BLAZEPOSE33, H36M17, convert_joint_scores, convert_joints
from pose3d_ros.core.triangulation import triangulate

log = logging.getLogger(__name__)
DEMO_FPS = 60.0  # frame rate of the demo recordings (tools/fetch_demo.py)


def reference_2d(cameras, keypoints: np.ndarray, scores: np.ndarray, threshold_px: float,
                 leave_one_out: bool = True) -> np.ndarray:
    """(F, V, 33, 2) BlazePose pixels and (F, V, 33) scores -> (F, V, 17, 2) H36M-17 pixels:
    per camera, the joints triangulated from the other cameras (leave_one_out) or from all
    cameras, projected into it."""
    n_views = len(cameras)
    out = np.full(keypoints.shape[:2] + (H36M17.num_joints, 2), np.nan)
    for v in range(n_views):
        use = [i for i in range(n_views) if i != v or not leave_one_out]
        res = triangulate([cameras[i] for i in use], keypoints[:, use], scores[:, use],
                          outlier_threshold_px=threshold_px, refine=True)
        out[:, v] = cameras[v].project(convert_joints(res.points, BLAZEPOSE33, H36M17))
    return out


def false_detections_per_view() -> float:
    """Detections beyond the one real person per view: blazepose_multi on `single`."""
    from pose3d_ros.tools.demo_2d import detect_videos
    from pose3d_ros.tools.fetch_demo import video_paths

    demo = detect_videos(video_paths("single"), "blazepose_multi")
    people = np.isfinite(demo.keypoints[..., 0]).any(axis=-1).sum(axis=2)  # (F, V)
    return float(np.mean(np.maximum(people - 1, 0)))


def measure(threshold_px: float = 60.0, leave_one_out: bool = True):
    from pose3d_ros.tools.demo_2d import load_demo_2d
    from pose3d_ros.tools.fetch_demo import calibration_path

    demo = load_demo_2d("single")
    rig = load_rig(calibration_path("single"))
    cameras = [rig.camera(name) for name in demo.cameras]
    keypoints = demo.keypoints[:, :, 0].astype(np.float64)  # one person: (F, V, 33, 2)
    scores = demo.scores[:, :, 0].astype(np.float64)
    reference = reference_2d(cameras, keypoints, scores, threshold_px, leave_one_out)
    detected = convert_joints(keypoints, BLAZEPOSE33, H36M17)
    det_scores = convert_joint_scores(scores, BLAZEPOSE33, H36M17)
    which = "leave-one-camera-out" if leave_one_out else "all-camera"
    source = (f"BlazePose (mediapipe, smoothed) on demo 'single', {keypoints.shape[1]} cameras "
              f"x {keypoints.shape[0]} frames at {DEMO_FPS:g} fps, against the {which} robust "
              f"triangulation (outlier threshold {threshold_px:g} px, refined); false "
              "detections from blazepose_multi on the same recording")
    return measure_error_model(reference, detected, det_scores,
                               false_per_view=false_detections_per_view(), source=source,
                               fps=DEMO_FPS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ERROR_MODEL_PATH,
                        help="JSON file to write (default: the shipped model)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    parser.add_argument("--threshold-px", type=float, default=60.0,
                        help="triangulation outlier threshold (pixels)")
    parser.add_argument("--all-cameras", action="store_true",
                        help="reference from all 4 cameras, the held-out one included "
                             "(default: leave-one-camera-out; smaller, biased residuals)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.out.exists() and not args.overwrite:
            raise FileExistsError(f"{args.out} exists; pass --overwrite to replace it")
        if not args.out.parent.is_dir():
            raise FileNotFoundError(f"folder {args.out.parent} does not exist")
        model = measure(args.threshold_px, leave_one_out=not args.all_cameras)
        save_error_model(model, args.out)
    except (OSError, ValueError, RuntimeError) as exc:
        if args.debug:
            raise
        print(f"measure_error_model: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(model.summary(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
