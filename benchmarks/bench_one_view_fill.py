"""How well SkeletonCompleter places a joint that exactly one camera sees (core.completion's
one-view fill: the point on that view's ray at the person's bone length from its parent; of
the two such points, the choice is what this measures).

Two kinds of scene, each person's left wrist and right knee (--hide) hidden from all views
but one:

* real motion capture (core.mocap, the 15 DeepMimic clips): stretches of --frames frames of
  one person, each through its own random 4-camera ring (core.mocap_views.random_ring_rig),
  1 px noise; H36M17 joints;
* synthetic (the test's scenes, core.synthetic): three moving people, four random cameras,
  COCO17 joints, --synthetic seeds.

Prints per clip the one-view joints' error (mean, median, share over 0.1 m) and how long
complete() took per frame. Run it on two trees to compare code (e.g. a `git worktree` of the
commit before): same seeds, same scenes.

    python benchmarks/bench_one_view_fill.py [--clips jump walk] [--rigs 8] [--frames 40]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from pose3d_ros.core.camera import CameraArrays, Rig
from pose3d_ros.core.completion import SkeletonCompleter
from pose3d_ros.core.layouts import COCO17, H36M17, JointLayout
from pose3d_ros.core.mocap import CLIP_NAMES, load_mocap
from pose3d_ros.core.mocap_views import random_ring_rig
from pose3d_ros.core.synthetic import observe, random_poses, random_rig
from pose3d_ros.core.triangulation import triangulate_normalized

HIDDEN = ("left_wrist:1,2,3", "right_knee:0,1,3")


def _errors(rig: Rig, poses: np.ndarray, layout: JointLayout, rng: np.random.Generator,
            hide: list[tuple[str, list[int]]]) -> tuple[list[float], float]:
    """One-view joint errors (m) over a sequence poses (F, P, J, 3) WORLD metres seen by rig,
    the joints `hide` (name, views) hidden from those views, and complete()'s mean time per
    frame (s)."""
    obs = observe(rig, poses, rng, noise_px=1.0)
    xy = np.stack([cam.undistort(obs.keypoints[..., v, :, :])
                   for v, cam in enumerate(rig.cameras)], axis=-3)          # (F, P, V, J, 2)
    scores = obs.scores.copy()
    for name, views in hide:
        j = layout.index(name)
        xy[..., views, j, :] = np.nan
        scores[..., views, j] = 0.0
    cams = CameraArrays.from_cameras(rig.cameras)
    completer = SkeletonCompleter()
    hidden = [layout.index(n) for n, _ in hide]
    errors: list[float] = []
    spent = 0.0
    for f in range(poses.shape[0]):
        tri = triangulate_normalized(cams, xy[f], scores[f], outlier_threshold_px=20.0)
        start = time.perf_counter()
        out = completer.complete(tri.points, tri.num_views, tri.confidence, layout, f / 30,
                                 normalized=xy[f], scores=scores[f], cameras=cams)
        spent += time.perf_counter() - start
        for j in hidden:
            once = out.num_views[:, j] == 1
            errors += np.linalg.norm(out.points[once, j] - poses[f][once, j], axis=-1).tolist()
    return errors, spent / poses.shape[0]


def _row(name: str, errors: list[float], seconds: list[float]) -> str:
    e = np.asarray(errors)
    if not e.size:
        return f"| {name} | 0 | - | - | - | {1e3 * np.mean(seconds):.2f} |"
    return (f"| {name} | {e.size} | {e.mean():.3f} | {np.median(e):.3f} | "
            f"{100 * (e > 0.1).mean():.0f} | {1e3 * np.mean(seconds):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="*", default=list(CLIP_NAMES))
    parser.add_argument("--rigs", type=int, default=8, help="stretches (own rig each) per clip")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--synthetic", type=int, default=200, help="synthetic scenes (seeds)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hide", nargs="*", default=list(HIDDEN),
                        help="joint:views hidden from those views (of 4), default %(default)s")
    args = parser.parse_args()
    hide = [(h.split(":")[0], [int(v) for v in h.split(":")[1].split(",")]) for h in args.hide]

    print("| scene | one-view joints | mean m | median m | > 0.1 m % | complete() ms/frame |")
    print("|---|---|---|---|---|---|")
    every: list[float] = []
    for clip in load_mocap(args.clips):
        rng = np.random.default_rng([args.seed, CLIP_NAMES.index(clip.name)])
        errors: list[float] = []
        seconds: list[float] = []
        for _ in range(args.rigs):
            start = int(rng.integers(0, max(1, clip.num_frames - args.frames)))
            joints = clip.joints[start:start + args.frames].copy()
            joints[..., :2] -= joints[:, :, :2].mean((0, 1))        # stand at the ring's centre
            e, s = _errors(random_ring_rig(4, rng), joints[:, None], H36M17, rng,
                           hide)
            errors += e
            seconds.append(s)
        every += errors
        print(_row(clip.name, errors, seconds))
    print(_row("**all clips**", every, [0.0]).rsplit("|", 2)[0] + "| - |")
    errors, seconds = [], []
    per_scene = []
    for seed in range(1, args.synthetic + 1):
        rng = np.random.default_rng(seed)
        rig = random_rig(4, rng)
        e, s = _errors(rig, random_poses(20, 3, rng, layout=COCO17), COCO17, rng, hide)
        errors += e
        seconds.append(s)
        if e:
            per_scene.append(np.median(e))
    print(_row(f"synthetic x {args.synthetic}", errors, seconds))
    if per_scene:
        print(f"\nsynthetic: median of the scenes' medians {np.median(per_scene):.3f} m "
              f"(first 30 scenes {np.median(per_scene[:30]):.3f} m)")


if __name__ == "__main__":
    main()
