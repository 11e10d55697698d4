"""Per-frame CPU cost of two checkouts' one-camera 3D path, side by side in ONE process.

What the one-camera node does after the 2D network (Pose3DPipeline.process_detections with one
camera: undistortion, the image tracker, the monocular method - the lifter with flip averaging
and the detector's depth, or detector_3d -, bone-length memory, root placement, the root-depth
filter, plausibility), on real 2D: the package's default back-end run once on one camera of a
demo recording (both people of `multi`). This checkout's package and another checkout's (see
bench_multiview_cost_ab.other_checkout) take turns round after round on the same detections,
so both see the same machine. The two checkouts' published 3D is compared on the same
detections (largest joint difference, ids and missing joints alike).

    git archive <rev> | tar -x -C /tmp/other_tree
    python benchmarks/bench_onecam_cost_ab.py --against /tmp/other_tree [--rounds 6]
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script from a checkout: use this checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_multiview_cost_ab import (  # noqa: E402
    add_against_argument,
    alternate,
    checkout_error,
    other_checkout,
    own_cameras,
)

METHODS = ("lifter", "detector_3d")


def detect(recording: str, camera: str, frames: int) -> tuple[object, list]:
    """The camera (this checkout's CameraModel) and the default back-end's detections of its
    first `frames` video frames."""
    import cv2

    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.data_paths import video_paths
    from pose3d_ros.core.detection import DEFAULT_DETECTOR, create_detector
    from pose3d_ros.tools.fetch_demo import calibration_path

    cam = {c.name: c for c in load_rig(calibration_path(recording)).cameras}[camera]
    path = next(p for p in video_paths(recording) if Path(p).stem == camera)
    capture = cv2.VideoCapture(str(path))
    detector = create_detector(DEFAULT_DETECTOR)
    found = []
    try:
        for _ in range(frames):
            ok, image = capture.read()
            if not ok:
                break
            found.append(detector.detect([image])[0])
    finally:
        capture.release()
        detector.close()
    return cam, found


def own_detections(package: str, found: list) -> list:
    """The detections with `package`'s own JointLayout objects (its body_model tells a
    layout by its own class, as bench_multiview_cost_ab.own_layouts says)."""
    layouts = importlib.import_module(f"{package}.core.layouts").LAYOUTS
    return [replace(d, layout=layouts[d.layout.name]) for d in found]


def _pipeline(package: str, method: str, camera) -> object:
    """A fresh one-camera pipeline of `package`, with its own CameraModel (its pipeline
    checks the class since session 60)."""
    pipeline = importlib.import_module(f"{package}.core.pipeline")
    monocular = importlib.import_module(f"{package}.core.monocular")
    return pipeline.Pose3DPipeline([camera.name], own_cameras(package, [camera]),
                                   frame_id="world",
                                   lifter=monocular.create_monocular_method(method),
                                   params=pipeline.PipelineParams(output_layout="h36m17"))


def one_camera_path(package: str, method: str, camera, found: list):
    """A function running a fresh pipeline of `package` over the detections: CPU seconds."""
    mine = own_detections(package, found)

    def run() -> float:
        pipe = _pipeline(package, method, camera)
        start = time.process_time()
        for t, detections in enumerate(mine):
            pipe.process_detections({camera.name: detections}, 10.0 + t / 30.0)
        return time.process_time() - start
    return run


def outputs_differ(package: str, other: str, method: str, camera, found: list
                   ) -> tuple[float, bool]:
    """The largest joint difference (m) between the two checkouts' published 3D over the
    detections, and whether every frame gave the same ids in the same order."""
    published = {}
    for tree in (package, other):
        pipe = _pipeline(tree, method, camera)
        published[tree] = [pipe.process_detections({camera.name: d}, 10.0 + t / 30.0).skeletons
                           for t, d in enumerate(own_detections(tree, found))]
    largest, same_ids = 0.0, True
    for a, b in zip(published[package], published[other], strict=True):
        same_ids &= bool(np.array_equal(a.ids, b.ids))
        if same_ids and a.positions.size:
            both = np.isfinite(a.positions) & np.isfinite(b.positions)
            same_ids &= bool(np.array_equal(np.isfinite(a.positions), np.isfinite(b.positions)))
            largest = max(largest, float(np.abs(a.positions - b.positions)[both].max(
                initial=0.0)))
    return largest, same_ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_against_argument(parser)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--recording", default="multi", choices=("single", "multi"))
    parser.add_argument("--camera", default="cam01")
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args(argv)
    if (error := checkout_error(Path(args.against))) is not None:
        print(error, file=sys.stderr)
        return 2
    warnings.simplefilter("ignore", RuntimeWarning)
    camera, found = detect(args.recording, args.camera, args.frames)
    people = np.mean([d.num_people for d in found])
    with other_checkout(Path(args.against)) as other:
        runs = {f"{tree} {method}": one_camera_path(package, method, camera, found)
                for method in METHODS for tree, package in (("other", other),
                                                            ("this", "pose3d_ros"))}
        ms = {name: [1000 * value / len(found) for value in values]
              for name, values in alternate(runs, args.rounds).items()}
        differ = {method: outputs_differ("pose3d_ros", other, method, camera, found)
                  for method in METHODS}
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}; {args.recording} {args.camera}, "
          f"{len(found)} frames, {people:.1f} people per frame, {args.rounds} rounds")
    print("| method | other ms per frame (min / median / max) | this | this / other per round "
          "(median, range) | largest 3D difference m | same ids and missing joints |\n"
          "|---|---|---|---|---|---|")
    for method in METHODS:
        a, b = np.array(ms[f"other {method}"]), np.array(ms[f"this {method}"])
        ratio = b / a
        print(f"| {method} | {a.min():.2f} / {np.median(a):.2f} / {a.max():.2f} | "
              f"{b.min():.2f} / {np.median(b):.2f} / {b.max():.2f} | "
              f"{np.median(ratio):.2f} ({ratio.min():.2f}-{ratio.max():.2f}) | "
              f"{differ[method][0]:.1e} | {'yes' if differ[method][1] else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
