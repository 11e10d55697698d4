"""Cross-view association time against the number of 2D detections per camera.

The fusion node takes foreign 2D detections, any number of them (issue #14: association robust
to many false positives; the public Shelf set has about 14.6 2D people per frame for up to 4
real people). Frames: the in-house scenes (core/rig_scenes.py: real motion capture, a ring of
5 or 8 cameras, 4 people, the measured 2D errors, duplicates and false detections) with each
camera's detections topped up to N by error_model.false_detections (partial bodies of the
scene's own 2D poses at random places and sizes). Timed: association.associate_normalized
with the nodes' settings (wall ms per frame set, median and 90th percentile over the frames).

    python benchmarks/bench_association_scaling.py [--frames 20] [--cameras 5,8]
        [--per-camera 4,8,16,32,64,128]
    python benchmarks/bench_association_scaling.py --against /tmp/main_tree
        # also another checkout's association on the same frames, alternating round by
        # round in this process (bench_multiview_cost_ab), and whether it groups the same
    python benchmarks/bench_association_scaling.py --previous
        # with the people of the frame before (their true joints) as `previous`, as the
        # pipeline passes its last set's people (a checkout without it: without)
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
import time
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Callable

import numpy as np

if __package__ in (None, ""):  # run as a script from a checkout: use this checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_multiview_cost_ab import checkout_error, other_checkout  # noqa: E402

from pose3d_ros.core.camera import CameraArrays  # noqa: E402
from pose3d_ros.core.error_model import false_detections  # noqa: E402
from pose3d_ros.core.rig_scenes import make_scene  # noqa: E402
from pose3d_ros.core.undistortion import undistort_normalised  # noqa: E402

Frame = tuple[CameraArrays, list[np.ndarray], list[np.ndarray], np.ndarray | None]


def make_frames(num_cameras: int, per_camera: int, frames: int, people: int, seed: int,
                clips: list) -> list[Frame]:
    """A scene's frames with every camera's detections topped up to per_camera (cameras
    holding more keep theirs), undistorted: (arrays, keypoints (P_v, J, 2), scores (P_v, J),
    the true joints (Q, J, 3) of the people present in the frame before, None in the first)."""
    scene = make_scene(str(num_cameras), people, frames, seed, clips)
    rng = np.random.default_rng([seed, num_cameras, per_camera])
    arrays = CameraArrays.from_cameras(scene.rig.cameras)
    pool = np.concatenate([d.keypoints[np.isfinite(d.keypoints).all((-1, -2))]
                           for dets in scene.detections for d in dets])     # whole 2D poses
    out = []
    for f, dets in enumerate(scene.detections):
        keypoints, scores = [], []
        for cam, det in zip(scene.rig.cameras, dets, strict=True):
            kp, sc = np.asarray(det.keypoints, float), np.asarray(det.scores, float)
            if (extra := per_camera - len(kp)) > 0 and len(pool):
                fk, fs = false_detections(rng, extra, (cam.width, cam.height), pose_pool=pool)
                order = rng.permutation(len(kp) + extra)
                kp, sc = np.concatenate([kp, fk])[order], np.concatenate([sc, fs])[order]
            keypoints.append(undistort_normalised(cam, kp))
            scores.append(sc)
        before = scene.truth[f - 1][scene.present[f - 1]] if f else None
        out.append((arrays, keypoints, scores, before))
    return out


def timed(associate: Callable, frames: list[Frame], previous: bool = False
          ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Wall seconds of associate() on each frame (previous: given the people of the frame
    before), and its members."""
    seconds, members = [], []
    for arrays, keypoints, scores, before in frames:
        options = {"previous": before} if previous else {}
        start = time.perf_counter()
        result = associate(arrays, keypoints, scores, **options)
        seconds.append(time.perf_counter() - start)
        members.append(result.members)
    return np.array(seconds), members


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20, help="frames per configuration")
    parser.add_argument("--cameras", default="5,8", help="rigs: cameras on a ring")
    parser.add_argument("--per-camera", default="4,8,16,32,64,128",
                        help="detections per camera (topped up with false detections)")
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the frames")
    parser.add_argument("--against", help="another checkout (a directory holding pose3d_ros/)")
    parser.add_argument("--previous", action="store_true",
                        help="pass the people of the frame before (their true joints)")
    args = parser.parse_args(argv)
    try:
        cameras = [int(v) for v in args.cameras.split(",")]
        counts = [int(n) for n in args.per_camera.split(",")]
    except ValueError:
        print("error: --cameras and --per-camera take comma-separated integers", file=sys.stderr)
        return 2
    if args.against and (error := checkout_error(Path(args.against))) is not None:
        print(error, file=sys.stderr)
        return 2
    warnings.simplefilter("ignore", RuntimeWarning)
    from pose3d_ros.tools.fetch_mocap import load_mocap
    clips = load_mocap()
    packages = ["pose3d_ros"]
    with other_checkout(Path(args.against)) if args.against else nullcontext() as other:
        if other:
            packages.append(other)
        runs = {package: importlib.import_module(f"{package}.core.association"
                                                 ).associate_normalized
                for package in packages}
        with_previous = {package: args.previous and "previous" in inspect.signature(
            runs[package]).parameters for package in packages}
        header = "| cameras | detections / camera | people found / frame | ms median | ms p90 |"
        if other:
            header += " against: ms median | ms p90 | same members |"
        print(f"associate_normalized, wall ms per frame set, {args.frames} frames x "
              f"{args.rounds} rounds, {args.people} people, the frame before's people "
              f"passed: {', '.join(p for p in packages if with_previous[p]) or 'none'}, "
              f"load average {os.getloadavg()[0]:.1f}")
        print(header + "\n" + "|---" * (header.count("|") - 1) + "|")
        for num_cameras in cameras:
            for per_camera in counts:
                frames = make_frames(num_cameras, per_camera, args.frames, args.people,
                                     args.seed, clips)
                seconds: dict[str, list[np.ndarray]] = {p: [] for p in packages}
                members: dict[str, list[np.ndarray]] = {}
                for package in packages:                                   # warm-up
                    runs[package](*frames[0][:3])
                for r in range(args.rounds):
                    for package in (packages if r % 2 == 0 else packages[::-1]):
                        spent, members[package] = timed(runs[package], frames,
                                                        with_previous[package])
                        seconds[package].append(spent)
                found = np.mean([len(m) for m in members["pose3d_ros"]])
                row = [str(num_cameras), f"{_mean_detections(frames):.1f}", f"{found:.1f}"]
                for package in packages:
                    ms = 1000 * np.concatenate(seconds[package])
                    row += [f"{np.median(ms):.2f}", f"{np.percentile(ms, 90):.2f}"]
                if other:
                    same = all(np.array_equal(a, b) for a, b in
                               zip(members["pose3d_ros"], members[other], strict=True))
                    row.append("yes" if same else "NO")
                print("| " + " | ".join(row) + " |", flush=True)
    return 0


def _mean_detections(frames: list[Frame]) -> float:
    """Mean detections per camera and frame."""
    return float(np.mean([len(k) for _, keypoints, _, _ in frames for k in keypoints]))


if __name__ == "__main__":
    sys.exit(main())
