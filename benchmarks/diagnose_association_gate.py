"""Is a fixed metric association gate the right one? Every detection pair on the in-house
benchmark's scenes, labelled by the scenes' true identities, against gates scaled by the
pair's expected ray-distance noise.

The association (core/association.py) joins two views of two cameras when the mean distance
between their joints' viewing rays (stacked_affinity, metres) is below `max_ray_distance_m`.
A 2D error of e pixels displaces a ray by e / f x depth at the person, so a gate scaled by
each pair's expected noise E was the candidate (issue #14.2):
  depth/focal   E = mean over the joints of sqrt((s / f_a)^2 + (u / f_b)^2) (metres per pixel
                of 2D error: s, u the distances along each ray to the two rays' closest points,
                f the focal lengths), a 2D error of so many pixels;
  error model   E = mean over the joints of r_j sqrt((D_a s)^2 + (D_b u)^2): the measured
                error model's median residual r_j of joint j (a share of the person's 2D
                size, core/error_model.py) times each detection's size D (box diagonal in
                normalised coordinates, i.e. pixels / f) times the depth.
Both are compared with the metric gate at equal numbers of wrong pairs passed (two people,
or a false or duplicate detection with another person): the true pairs each passes, for
metric gates of 0.10-0.30 m; and as a gate 0.15 m x E / median(E over the true pairs). Pairs
of a person's own detection and its duplicate box are left out (the duplicate merge's).

    python benchmarks/diagnose_association_gate.py [--seeds 0,1] [--rigs 3,5,8,demo]
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script from a checkout: use this checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose3d_ros.core.array_ops import box_diagonal  # noqa: E402
from pose3d_ros.core.camera import CameraArrays  # noqa: E402
from pose3d_ros.core.error_model import load_error_model  # noqa: E402
from pose3d_ros.core.ray_affinity import StackedDetections, stacked_affinity  # noqa: E402
from pose3d_ros.core.rig_scenes import MIN_SCORE, Scene, make_scene  # noqa: E402
from pose3d_ros.core.undistortion import undistort_normalised  # noqa: E402

GATE_M = 0.15          # PipelineParams.max_ray_distance_m


def scene_pairs(scene: Scene, median_residual: np.ndarray) -> dict[str, np.ndarray]:
    """Every pair of detections of two cameras with an affinity, over the scene's frames:
    distance (K,) metres (the association's), noise_px (K,) metres per pixel, noise_model
    (K,) metres, depth (K,) mean distance to the two cameras (m), angle (K,) degrees between
    the rays, source_a, source_b (K,) rig_scenes' identities. median_residual (J,)."""
    arrays = CameraArrays.from_cameras(scene.rig.cameras)
    focal = arrays.focal_xy.mean(1)                                      # (V,)
    out: dict[str, list] = {k: [] for k in ("distance", "noise_px", "noise_model", "depth",
                                             "angle", "source_a", "source_b")}
    for f, dets in enumerate(scene.detections):
        normalized = [undistort_normalised(c, d.keypoints.astype(np.float64))
                      for c, d in zip(scene.rig.cameras, dets, strict=True)]
        stacked = StackedDetections.of(normalized, [d.scores for d in dets])
        dist, camera_of = stacked_affinity(arrays, stacked, min_score=MIN_SCORE,
                                           min_joints=3, max_ray_distance_m=GATE_M)
        a, b = np.nonzero(np.isfinite(dist) & (camera_of[:, None] < camera_of[None]))
        if not a.size:
            continue
        usable = stacked.usable(MIN_SCORE)                               # (N, J)
        rays = arrays.rays(stacked.xy, camera_of)                        # (N, J, 3)
        base = (arrays.centers[camera_of[b]] - arrays.centers[camera_of[a]])[:, None]
        ra, rb = rays[a], rays[b]                                        # (K, J, 3)
        cos = (ra * rb).sum(-1)
        along_a, along_b = (ra * base).sum(-1), (rb * base).sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.clip((along_a - cos * along_b) / (1 - cos ** 2), 0.1, 30.0)
            u = np.clip((cos * along_a - along_b) / (1 - cos ** 2), 0.1, 30.0)
        size = box_diagonal(stacked.xy, usable, empty=np.nan)            # (N,)
        noise_px = np.hypot(s / focal[camera_of[a], None], u / focal[camera_of[b], None])
        noise_model = median_residual * np.hypot(size[a, None] * s, size[b, None] * u)
        weight = np.where(usable[a] & usable[b],
                          np.minimum(stacked.score[a], stacked.score[b]), 0.0)
        total = weight.sum(1)

        def mean(x: np.ndarray, w: np.ndarray = weight, t: np.ndarray = total) -> np.ndarray:
            return (np.where(w > 0, np.nan_to_num(x), 0.0) * w).sum(1) / t

        source = np.concatenate(scene.sources[f])
        out["distance"].append(dist[a, b])
        out["noise_px"].append(mean(noise_px))
        out["noise_model"].append(mean(noise_model))
        out["depth"].append(mean((s + u) / 2))
        out["angle"].append(mean(np.degrees(np.arccos(np.clip(cos, -1, 1)))))
        out["source_a"].append(source[a])
        out["source_b"].append(source[b])
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}


def report(pairs: dict[str, np.ndarray], title: str) -> None:
    """Print the comparison (module docstring) of the pairs of some scenes."""
    d, sa, sb = pairs["distance"], pairs["source_a"], pairs["source_b"]
    true = (sa == sb) & (sa >= 0)
    own_duplicate = ((sa <= -2) & (-2 - sa == sb)) | ((sb <= -2) & (-2 - sb == sa)) \
        | ((sa <= -2) & (sa == sb))
    wrong = ~true & ~own_duplicate
    print(f"\n{title}: {d.size} pairs, {true.sum()} of one person, {wrong.sum()} wrong")
    print("| metric gate m | wrong passed | true passed: metric | depth/focal | error model |")
    print("|---|---|---|---|---|")
    for gate in (0.10, GATE_M, 0.20, 0.30):
        n_wrong = int((wrong & (d < gate)).sum())
        cells = [f"{gate:.2f}", str(n_wrong), str(int((true & (d < gate)).sum()))]
        for noise in (pairs["noise_px"], pairs["noise_model"]):
            ratio = d / noise
            limit = np.sort(ratio[wrong])[n_wrong - 1] if n_wrong else -np.inf
            cells.append(str(int((true & (ratio <= limit)).sum())))
        print("| " + " | ".join(cells) + " |")
    metric = d < GATE_M
    over = true & ~metric
    print(f"metric {GATE_M} m: true passed {int((true & metric).sum())}, wrong passed "
          f"{int((wrong & metric).sum())}; true pairs over it {int(over.sum())} "
          f"({int((over & (d < 2 * GATE_M)).sum())} under {2 * GATE_M} m)")
    for name, noise in (("depth/focal", pairs["noise_px"]),
                        ("error model", pairs["noise_model"])):
        scaled = d < GATE_M * noise / np.median(noise[true])
        print(f"{name}: {GATE_M} m x E / median(E): true passed {int((true & scaled).sum())}, "
              f"wrong passed {int((wrong & scaled).sum())}, of the true pairs over the "
              f"metric gate {int((over & scaled).sum())}")
    for name, edges in (("depth m", (0, 3, 4, 5, 6, 7, 8, 99)),
                        ("angle deg", (0, 30, 60, 90, 120, 150, 180))):
        print(f"| {name} | true pairs | median m | 98th percentile m | share over "
              f"{GATE_M} m | wrong passed |\n|---|---|---|---|---|---|")
        key = "depth" if name.startswith("depth") else "angle"
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            bin_ = (pairs[key] >= lo) & (pairs[key] < hi)
            t = bin_ & true
            if t.any():
                print(f"| {lo}-{hi} | {int(t.sum())} | {np.median(d[t]):.3f} | "
                      f"{np.percentile(d[t], 98):.3f} | {np.mean(~metric[t]):.4f} | "
                      f"{int((bin_ & wrong & metric).sum())} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--rigs", default="3,5,8,demo")
    parser.add_argument("--people", default="1,2,4,6")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)
    from pose3d_ros.tools.fetch_mocap import load_mocap
    clips = load_mocap()
    median_residual = np.median(np.linalg.norm(load_error_model().residuals, axis=-1), 0)
    every: dict[str, list] = {}
    demo: dict[str, list] = {}
    for rig_name in args.rigs.split(","):
        for people in (int(p) for p in args.people.split(",")):
            for seed in (int(s) for s in args.seeds.split(",")):
                pairs = scene_pairs(make_scene(rig_name, people, args.frames, seed, clips),
                                    median_residual)
                for key, value in pairs.items():
                    every.setdefault(key, []).append(value)
                    if rig_name == "demo":
                        demo.setdefault(key, []).append(value)
    report({k: np.concatenate(v) for k, v in every.items()}, f"rigs {args.rigs}, people "
           f"{args.people}, seeds {args.seeds}")
    if demo:
        report({k: np.concatenate(v) for k, v in demo.items()}, "the demo rig alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
