"""Triangulation benchmark: pose3d_ros vs aniposelib vs Pose2Sim, same 2D input, one run.

Inputs
  real       the single-person demo recording (4 cameras, 100 frames, BlazePose-33 from
             mediapipe, pose3d_ros.tools.demo_2d cache) with the shipped Qualisys calibration;
  synthetic  random rigs (4 and 8 cameras) observing 3 moving people (pose3d_ros.core.synthetic)
             with 1 px noise and 10 % confident outliers (40-200 px), known 3D truth.

Methods (missing or score < MIN_SCORE keypoints are NaN for every method)
  ours-robust    pose3d_ros triangulate(): batched weighted DLT + MSAC outlier-view rejection
  ours-refine    the same + Gauss-Newton refinement
  ours-dlt       pose3d_ros plain confidence-weighted DLT (outlier_threshold_px=inf)
  anipose-dlt    aniposelib CameraGroup.triangulate(undistort=True) (JAX, unweighted DLT)
  anipose-ransac aniposelib CameraGroup.triangulate_ransac (subset search per point)
  p2s-dlt        Pose2Sim common.weighted_triangulation per point
  p2s-robust     Pose2Sim triangulation.triangulation_from_best_cameras per point (removes
                 cameras until the mean reprojection error is below the threshold)

Reported: time per frame-set (all people of one frame in all cameras; batch run divided by
frames, after one warm-up call), reprojection error (RMS over each joint's confident views,
whichever views the method used; median and 95th pct), on real data the leave-one-camera-out
error (triangulate from 3 cameras, project into the 4th) and bone-length CV, on synthetic data
the 3D error to the truth.

aniposelib and Pose2Sim are NOT package dependencies; install them only for this benchmark:
    pip install --no-deps --target /tmp/benchpkgs aniposelib==0.8.0 numba llvmlite pandas \\
        tqdm pose2sim==0.10.49 rtoml anytree c3d
    PYTHONPATH=/tmp/benchpkgs python benchmarks/bench_triangulation.py [--json out.json]
"""
from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import platform
import sys
import time
import warnings
from typing import Callable

import numpy as np

if __package__ in (None, ""):  # run as a script from a checkout: use this checkout's sources
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose3d_ros.core.calibration import load_rig
from pose3d_ros.core.camera import Rig
from pose3d_ros.core.layouts import BLAZEPOSE33
from pose3d_ros.core.synthetic import observe, random_poses, random_rig
from pose3d_ros.core.triangulation import triangulate
from pose3d_ros.tools.demo_2d import load_demo_2d
from pose3d_ros.tools.eval_multiview import bone_length_cv
from pose3d_ros.tools.fetch_demo import calibration_path

MIN_SCORE = 0.3

# a method maps (rig, keypoints (N, V, J, 2) with NaN for unusable, scores (N, V, J)) to
# points (N, J, 3)
Method = Callable[[Rig, np.ndarray, np.ndarray], np.ndarray]


def ours(threshold: float, refine: bool = False) -> Method:
    def run(rig, kp, sc):
        return triangulate(rig.cameras, kp, sc, min_score=MIN_SCORE,
                           outlier_threshold_px=threshold, refine=refine).points
    return run


def _anipose_group(rig: Rig):
    import cv2
    from aniposelib.cameras import Camera, CameraGroup

    cams = [Camera(name=c.name, size=(c.width, c.height), matrix=c.K,
                   dist=np.pad(c.dist, (0, max(0, 5 - c.dist.size)))[:5],
                   rvec=cv2.Rodrigues(c.R)[0].ravel(), tvec=c.t) for c in rig.cameras]
    return CameraGroup(cams)


def anipose(ransac: bool) -> Method:
    def run(rig, kp, sc):
        group = _anipose_group(rig)
        n, v, j, _ = kp.shape
        pts = np.transpose(kp, (1, 0, 2, 3)).reshape(v, n * j, 2)
        if ransac:
            out = group.triangulate_ransac(pts, undistort=True, min_cams=2, progress=False)[0]
        else:
            out = group.triangulate(pts, undistort=True, progress=False)
        return np.asarray(out).reshape(n, j, 3)
    return run


def pose2sim(robust: bool, threshold: float = 15.0) -> Method:
    def run(rig, kp, sc):
        from Pose2Sim.common import weighted_triangulation
        from Pose2Sim.triangulation import triangulation_from_best_cameras

        proj = [c.projection_matrix for c in rig.cameras]
        config = {"triangulation": {"reproj_error_threshold_triangulation": threshold,
                                    "min_cameras_for_triangulation": 2,
                                    "handle_LR_swap": False, "undistort_points": False}}
        n, v, j, _ = kp.shape
        out = np.full((n, j, 3), np.nan)
        for f in range(n):
            for k in range(j):
                x, y, lk = kp[f, :, k, 0], kp[f, :, k, 1], sc[f, :, k].copy()
                lk[~np.isfinite(x)] = np.nan
                if robust:
                    q = triangulation_from_best_cameras(config, (x, y, lk), (x, y, lk), proj,
                                                        None)[0]
                else:
                    ok = np.isfinite(lk)
                    if ok.sum() >= 2:
                        used = [p for p, o in zip(proj, ok, strict=True) if o]
                        q = weighted_triangulation(used, x[ok], y[ok], lk[ok])[:3]
                    else:
                        q = np.full(3, np.nan)
                out[f, k] = q[:3]
        return out
    return run


def reprojection_rms(rig: Rig, points: np.ndarray, kp: np.ndarray, threshold: float
                     ) -> np.ndarray:
    """(N, J) RMS pixel error over the confident views whose error is below `threshold`
    (inf: all confident views) - the views a robust method would keep."""
    proj = np.stack([c.project(points) for c in rig.cameras], axis=1)  # (N, V, J, 2)
    err = np.linalg.norm(proj - kp, axis=-1)
    keep = np.isfinite(err) & (err < threshold)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.sqrt(np.where(keep, err ** 2, 0).sum(1) / keep.sum(1))
    return np.where(keep.sum(1) >= 2, rms, np.nan)


SLOW = ("anipose-ransac",)


def timed(method: Method, rig, kp, sc, slow: bool = False) -> tuple[np.ndarray, float]:
    """Run once to warm up (JAX compiles per input shape, imports), then time one run."""
    if slow:
        method(rig, kp[:1], sc[:1])
    else:
        method(rig, kp, sc)
    t0 = time.perf_counter()
    pts = method(rig, kp, sc)
    return pts, time.perf_counter() - t0


def _pct(x, q):
    x = x[np.isfinite(x)]
    return float(np.percentile(x, q)) if x.size else float("nan")


def bench_real(methods: dict[str, Method], threshold: float, frames: int) -> dict:
    demo = load_demo_2d("single", frames=frames)
    rig = load_rig(calibration_path("single"))
    kp = demo.keypoints[:, :, 0].astype(np.float64)
    sc = demo.scores[:, :, 0].astype(np.float64)
    kp = np.where((sc >= MIN_SCORE)[..., None], kp, np.nan)
    rows = {}
    for name, method in methods.items():
        pts, seconds = timed(method, rig, kp, sc, slow=name in SLOW)
        loo = []
        for v in range(len(rig)):
            keep = [i for i in range(len(rig)) if i != v]
            sub = Rig(rig.frame_id, [rig.cameras[i] for i in keep])
            p3 = method(sub, kp[:, keep], sc[:, keep])
            loo.append(np.linalg.norm(rig.cameras[v].project(p3) - kp[:, v], axis=-1))
        loo = np.stack(loo)
        cv = bone_length_cv(pts, BLAZEPOSE33)
        rep_in = reprojection_rms(rig, pts, kp, threshold)
        rep_all = reprojection_rms(rig, pts, kp, np.inf)
        rows[name] = {
            "ms_per_frame_set": 1000 * seconds / kp.shape[0],
            "reproj_inlier_px_median": _pct(rep_in, 50), "reproj_inlier_px_p95": _pct(rep_in, 95),
            "reproj_all_px_median": _pct(rep_all, 50), "reproj_all_px_p95": _pct(rep_all, 95),
            "loo_px_median": _pct(loo, 50), "loo_px_p95": _pct(loo, 95),
            "bone_cv_median": float(np.median(list(cv.values()))),
            "joints_reconstructed": float(np.mean(np.isfinite(pts[..., 0]))),
        }
        print(f"  real {name:15s} {rows[name]['ms_per_frame_set']:9.2f} ms/frame-set", flush=True)
    return rows


def bench_synthetic(methods: dict[str, Method], cameras: int, threshold: float,
                    frames: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    rig = random_rig(cameras, rng)
    truth = random_poses(frames, 3, rng)  # (F, P, J, 3)
    obs = observe(rig, truth, rng, noise_px=1.0, outlier_fraction=0.10)
    # frame-set = all people of one frame: flatten people into the joint axis
    f, p, v, j, _ = obs.keypoints.shape
    kp = obs.keypoints.transpose(0, 2, 1, 3, 4).reshape(f, v, p * j, 2)
    sc = obs.scores.transpose(0, 2, 1, 3).reshape(f, v, p * j)
    kp = np.where((sc >= MIN_SCORE)[..., None], kp, np.nan)
    gt = truth.reshape(f, p * j, 3)
    rows = {}
    for name, method in methods.items():
        pts, seconds = timed(method, rig, kp, sc, slow=name in SLOW)
        err = np.linalg.norm(pts - gt, axis=-1) * 1000
        rep = reprojection_rms(rig, pts, kp, threshold)
        rows[name] = {"ms_per_frame_set": 1000 * seconds / f,
                      "err3d_mm_median": _pct(err, 50), "err3d_mm_mean": float(np.nanmean(err)),
                      "err3d_mm_p95": _pct(err, 95),
                      "reproj_inlier_px_median": _pct(rep, 50),
                      "joints_reconstructed": float(np.mean(np.isfinite(pts[..., 0])))}
        print(f"  synthetic-{cameras} {name:15s} {rows[name]['ms_per_frame_set']:9.2f} "
              f"ms/frame-set", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--slow-frames", type=int, default=5,
                        help="frames for the per-point Python methods (aniposelib RANSAC)")
    parser.add_argument("--real-threshold", type=float, default=60.0,
                        help="outlier threshold (px) on the real data, for ours and Pose2Sim")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)

    versions = {"pose3d_ros numpy": np.__version__}
    for pkg in ("aniposelib", "pose2sim", "jax", "numba"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = "not installed"

    def methods(threshold: float, include_slow: bool) -> dict[str, Method]:
        m = {"ours-robust": ours(threshold), "ours-refine": ours(threshold, refine=True),
             "ours-dlt": ours(np.inf)}
        if versions["aniposelib"] != "not installed":
            m["anipose-dlt"] = anipose(ransac=False)
            if include_slow:
                m["anipose-ransac"] = anipose(ransac=True)
        if versions["pose2sim"] != "not installed":
            m["p2s-dlt"] = pose2sim(robust=False)
            m["p2s-robust"] = pose2sim(robust=True, threshold=threshold)
        return m

    result = {"machine": f"{platform.machine()} {platform.processor() or ''} "
                         f"{platform.python_implementation()} {platform.python_version()}",
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "versions": versions}
    print("real data (single-person demo, Qualisys calibration)")
    result["real"] = bench_real(methods(args.real_threshold, False), args.real_threshold,
                                args.frames)
    if versions["aniposelib"] != "not installed":
        result["real_slow"] = bench_real({"ours-robust": ours(args.real_threshold),
                                          "anipose-ransac": anipose(ransac=True)},
                                         args.real_threshold, args.slow_frames)
    for cams in (4, 8):
        print(f"synthetic, {cams} cameras, 3 people, 10 % outliers")
        result[f"synthetic_{cams}"] = bench_synthetic(methods(20.0, False), cams, 20.0,
                                                      args.frames)
        if versions["aniposelib"] != "not installed":
            # aniposelib's subset search grows as 2^V per point: one frame for 8 cameras
            result[f"synthetic_{cams}_slow"] = bench_synthetic(
                {"ours-robust": ours(20.0), "anipose-ransac": anipose(ransac=True)}, cams, 20.0,
                args.slow_frames if cams <= 4 else 1)
    print(to_markdown(result))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


def to_markdown(result: dict) -> str:
    lines = [f"date {result['date']}, {result['machine']}, versions {result['versions']}", ""]
    for key, rows in result.items():
        if not isinstance(rows, dict) or key in ("versions",):
            continue
        cols = list(next(iter(rows.values())).keys())
        lines += [f"### {key}", "", "| method | " + " | ".join(cols) + " |",
                  "|---" * (len(cols) + 1) + "|"]
        for name, row in rows.items():
            lines.append(f"| {name} | " + " | ".join(f"{row[c]:.3g}" for c in cols) + " |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
