"""One camera on RENDERED video of the real motion capture: the real 2D detector on pixels,
ids and depth known (issue 12's "videos you render from the motion capture").

core.mocap_render draws the DeepMimic humanoid (pybullet's CPU renderer) walking in front of
one pinhole camera; the package's default 2D back-end runs on every frame, then the one-camera
pipeline with the node's defaults (both monocular methods), and the output is scored against
the forward-kinematics truth as bench_onecam.py scores its motion-capture row: ids per true
person, root-depth jitter (p95 of the frame-to-frame change), bone-length CV, frames without
output, ghost and unmatched person-frames (judged in the image), median root distance error.

The humanoid is a mannequin of capsules and spheres without a face: the detector places its
hips, knees and ankles less well than on people (measured below: per-joint 2D error against
the projected truth) and cannot tell its front from its back (left/right swapped labels), so
these figures test the pipeline under a detector's real failure modes, not the detector.

  python benchmarks/bench_rendered.py [--clips walk walk] [--seconds 6] [--distance 4]
      [--azimuth 60] [--fov 50] [--floor]
Prints markdown tables (results in benchmarks/results_onecam.md).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # this checkout's sources
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_onecam import METHODS, METRICS, _cells, _monocular, _params, truth_track  # noqa: E402,E501

from pose3d_ros.core.detection import DEFAULT_DETECTOR, convert_detections, create_detector  # noqa: E402,E501
from pose3d_ros.core.evaluation import SkeletonTrack, image_identities, stability  # noqa: E402
from pose3d_ros.core.layouts import H36M17  # noqa: E402
from pose3d_ros.core.mocap_render import RenderConfig, render_scene  # noqa: E402
from pose3d_ros.core.mocap_scenes import MIRROR_INDEX  # noqa: E402
from pose3d_ros.core.pipeline import Pose3DPipeline  # noqa: E402


def detection_error_px(found: list, truth_px: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-joint median 2D error (17,) px of each detected person against the nearest true
    person's projection (H36M-17, left/right labels as detected or swapped, whichever is
    nearer), and the share of detections whose labels were swapped."""
    errors, swapped = [], 0
    for t, det in enumerate(found):
        h36m = convert_detections(det, "h36m17")
        for keypoints in h36m.keypoints:
            direct = np.linalg.norm(keypoints[None] - truth_px[t], axis=-1)         # (P, 17)
            mirror = np.linalg.norm(keypoints[MIRROR_INDEX][None] - truth_px[t], axis=-1)
            person = int(np.nanargmin(np.nanmedian(np.minimum(direct, mirror), axis=-1)))
            flip = np.nanmedian(mirror[person]) < np.nanmedian(direct[person])
            swapped += int(flip)
            errors.append(mirror[person] if flip else direct[person])
    if not errors:
        return np.full(17, np.nan), float("nan")
    return np.nanmedian(np.array(errors), axis=0), swapped / len(errors)


def run_scene(config: RenderConfig, detector_name: str,
              refine: tuple[bool | None, ...] = (None,), floor: bool = False) -> dict:
    """Render, detect, then run every monocular method with each refine setting
    (monocular_refine_to_2d; None: the checkout's default) on the same 2D; floor: also with
    floor contact (monocular_floor: the scene's floor is WORLD z = 0)."""
    started = time.perf_counter()
    scene = render_scene(config)
    render_s = time.perf_counter() - started
    camera = scene.camera
    detector = create_detector(detector_name)
    found = [detector.detect([frame])[0] for frame in scene.frames]
    detector.close()
    stamps = 10.0 + np.arange(len(found)) / config.fps
    stamps_ns = np.round(stamps * 1e9).astype(np.int64)
    truth = truth_track(scene.joints, stamps_ns)
    per_joint, swapped = detection_error_px(found, camera.project(scene.joints))
    rows = {}
    runs = [(m, r, f) for m in METHODS for r in refine for f in ((False, True) if floor
                                                                  else (False,))]
    for method, refined, on_floor in runs:
        pipeline = Pose3DPipeline([camera.name], {camera.name: camera}, frame_id="world",
                                  lifter=_monocular(method, refine=refined),
                                  params=_params(floor=on_floor))
        frames, failed = [], 0
        for t, det in enumerate(found):
            try:
                frames.append(pipeline.process_detections({camera.name: det},
                                                           stamps[t]).skeletons)
            except ValueError:
                frames.append(pipeline.empty_result(stamps[t]).skeletons)
                failed += 1
        pred = SkeletonTrack(stamps_ns, frames)
        label = method if refined is None else f"{method}, refine {str(refined).lower()}"
        label += ", floor" if on_floor else ""
        rows[label] = _cells(image_identities(pred, truth, camera),
                              stability(pred, viewpoint=camera.center), failed)
    return {"rows": rows, "per_joint_px": per_joint, "swapped": swapped,
            "people_found": np.bincount([d.num_people for d in found],
                                        minlength=len(config.clips) + 1),
            "render_s": render_s, "frames": len(found)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="+", default=["walk", "walk"])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--distance", type=float, default=4.0, help="camera distance (m)")
    parser.add_argument("--azimuth", type=float, nargs="+", default=[60.0, 30.0],
                        help="camera direction from the walking direction (deg); one scene each")
    parser.add_argument("--fov", type=float, default=50.0, help="horizontal field of view")
    parser.add_argument("--detector", default=DEFAULT_DETECTOR)
    parser.add_argument("--floor", action="store_true",
                        help="also run with floor contact (monocular_floor), same 2D")
    parser.add_argument("--refine", nargs="+", choices=("true", "false"), default=None,
                        help="monocular_refine_to_2d settings to run on the same 2D "
                             "(default: the checkout's)")
    args = parser.parse_args(argv)
    refine = (None,) if args.refine is None else tuple(r == "true" for r in args.refine)
    load = os.getloadavg()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.1f}; clips {args.clips}, {args.seconds:g} s at "
          f"{args.fps:g} fps, camera at {args.distance:g} m, fov {args.fov:g} deg, "
          f"detector {args.detector}")
    keys = ["ids", "jitter", "cv", "unanswered", "ghosts", "unmatched", "depth"]
    table = ["| azimuth | method | " + " | ".join(METRICS[k] for k in keys) + " |",
             "|---|---|" + "---|" * len(keys)]
    detection = ["| azimuth | frames by people found (0, 1, 2, ...) | labels swapped | "
                 + " | ".join(H36M17.joint_names) + " |", "|---|---|---|" + "---|" * 17]
    for azimuth in args.azimuth:
        config = RenderConfig(clips=tuple(args.clips), seconds=args.seconds, fps=args.fps,
                              distance_m=args.distance, azimuth_deg=azimuth,
                              fov_deg=args.fov)
        result = run_scene(config, args.detector, refine, args.floor)
        for method, cells in result["rows"].items():
            table.append(f"| {azimuth:g} | {method} | " + " | ".join(cells[k] for k in keys)
                         + " |")
        detection.append(f"| {azimuth:g} | {', '.join(map(str, result['people_found']))} | "
                         f"{100 * result['swapped']:.0f} % | "
                         + " | ".join(f"{v:.0f}" for v in result["per_joint_px"]) + " |")
        print(f"# azimuth {azimuth:g}: {result['frames']} frames rendered in "
              f"{result['render_s']:.0f} s", flush=True)
    print("\n".join(table))
    print("\n2D of the detector against the projected truth (median px per H36M-17 joint):")
    print("\n".join(detection))
    load = os.getloadavg()
    print(f"# load average after: {load[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
