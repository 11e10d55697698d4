"""Self-calibration on the two demo recordings against the shipped Qualisys calibration.

Rows per recording:
  before       the first pipeline: the first detection of every camera taken as the same
               person, one bundle-adjustment round on 4000 points, no checks (what
               `calibrate --demo` did up to commit 84afddb);
  equal joints people associated across the uncalibrated views (core/crossview.py), two
               bundle-adjustment rounds with every joint type weighted alike, held-out
               frames and the checks of core/selfcalib_checks.py (the #14 version,
               `weigh_joints=False`; since session 67 the body's joints only, not the
               face's: selfcalib.body_joint_scores);
  weighted     the same, the second round weighing the joint types by how well the cameras
               agree on them (selfcalib.joint_noise_weights; the default);
per held-out phase (which block of every 4 is held out: how much the choice of fitting frames
moves the answer; OpenCV's RANSAC is deterministic, so there is no seed to vary) and the
tool's choice (selfcalib.self_calibrate_best_split: the passing solution of the 4 phases with
the lowest held-out reprojection error).

Columns: rotation error of cam02-04 relative to cam01 (the issue's measure: cam01 is exact by
construction, its own error lands in the others), every camera's rotation error after the one
rotation that best aligns the two rigs (RigComparison.aligned_rotation_error_deg),
translation-direction error relative to cam01 (degrees), and the held-out reprojection (median
px over the held-out frames' detections, selfcalib_checks.check_solution) of the solution and
of the shipped calibration on the same frames. A second table gives, for the tool's solution
and for the shipped calibration, each camera's median leave-one-camera-out residual on the
held-out frames (selfcalib_checks.leave_one_camera_out_residuals): |r| and the median u / v
shift of the 2D from the other cameras' triangulation.

Usage: python benchmarks/bench_selfcalib.py [--phases 4]   (needs the cached demo 2D:
python -m pose3d_ros.tools.demo_2d)
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from pose3d_ros.core.calibration import load_rig
from pose3d_ros.core.camera import Rig
from pose3d_ros.core.crossview import CrossViewParams, associate_uncalibrated
from pose3d_ros.core.data_paths import DEMO_FPS, calibration_path
from pose3d_ros.core.demo_2d import load_demo_2d
from pose3d_ros.core.rig_comparison import compare_rigs
from pose3d_ros.core.selfcalib import (
    DEFAULT_LIMITS,
    SelfCalibration,
    check_other_rig,
    self_calibrate,
    self_calibrate_best_split,
)
from pose3d_ros.core.selfcalib_checks import (
    CalibrationRefusedError,
    leave_one_camera_out_residuals,
)


def _fmt(values) -> str:
    return " / ".join(f"{x:.2f}" for x in values)


def _row(name, label, result: SelfCalibration, reference, shipped_px, seconds, verdict):
    cmp = compare_rigs(result.rig, reference)
    heldout = f"{result.checks.heldout_px:.1f}" if result.checks is not None else "-"
    shipped = f"{shipped_px:.1f}" if np.isfinite(shipped_px) else "-"
    return (f"| {name} | {label} | {_fmt(cmp.rotation_error_deg[1:])} | "
            f"{_fmt(cmp.aligned_rotation_error_deg)} | "
            f"{_fmt(cmp.translation_direction_error_deg[1:])} | "
            f"{result.reprojection_rms_px:.2f} | {heldout} / {shipped} | {verdict} | "
            f"{seconds:.1f} |")


def _timed_solve(solve, *args, **kwargs) -> tuple[SelfCalibration, str, float]:
    """(solution, "passed" or "REFUSED", CPU seconds) of one self-calibration call; a refused
    solution is returned too, to be scored."""
    t0 = time.process_time()
    try:
        result, verdict = solve(*args, **kwargs), "passed"
    except CalibrationRefusedError as exc:
        result, verdict = exc.result, "REFUSED"
    return result, verdict, time.process_time() - t0


def _loo_rows(name: str, rigs: dict[str, Rig], kp, sc, heldout) -> list[str]:
    rows = []
    for label, rig in rigs.items():
        r = leave_one_camera_out_residuals(rig, kp[heldout], sc[heldout],
                                           outlier_threshold_px=60.0)
        dist = np.nanmedian(np.linalg.norm(r, axis=-1), axis=(0, 2))
        du, dv = np.nanmedian(r[..., 0], axis=(0, 2)), np.nanmedian(r[..., 1], axis=(0, 2))
        cells = " | ".join(f"{d:.1f} ({u:+.0f}/{w:+.0f})" for d, u, w
                           in zip(dist, du, dv, strict=True))
        rows.append(f"| {name} | {label} | {cells} | {np.nanmedian(dist):.1f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phases", type=int, default=4)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    print("| recording | pipeline | rotation error vs cam01: cam02 / cam03 / cam04 deg | "
          "aligned rotation error cam01 / 02 / 03 / 04 deg | translation direction error "
          "deg | bundle RMS px | held-out px self / shipped | checks | CPU s |")
    print("|---|---|---|---|---|---|---|---|---|")
    loo_rows = []
    for name in ("single", "multi"):
        demo, reference = load_demo_2d(name), load_rig(calibration_path(name))
        kp, sc = demo.keypoints.astype(np.float64), demo.scores.astype(np.float64)
        t0 = time.process_time()
        old = self_calibrate(kp[:, :, 0], sc[:, :, 0], reference.cameras, limits=None,
                             bundle_rounds=1, max_bundle_points=4000, weigh_joints=False,
                             face_joints=True)
        print(_row(name, "before", old, reference, np.nan, time.process_time() - t0, "none"))
        people = associate_uncalibrated(kp, sc, reference.cameras, CrossViewParams(fps=DEMO_FPS))
        pk, ps, frames = people.keypoints, people.scores, people.frames
        for label, weigh in (("equal joints", False), ("weighted", True)):
            for phase in range(args.phases):
                # shifting the frame numbers by whole blocks moves which blocks are held out
                shifted = frames + DEFAULT_LIMITS.holdout_block * phase
                result, verdict, seconds = _timed_solve(
                    self_calibrate, pk, ps, reference.cameras, sample_frames=shifted,
                    weigh_joints=weigh)
                shipped = check_other_rig(reference, pk, ps, result).heldout_px
                print(_row(name, f"{label}, held-out phase {phase}", result, reference,
                           shipped, seconds, verdict), flush=True)
            best, verdict, seconds = _timed_solve(
                self_calibrate_best_split, pk, ps, reference.cameras, sample_frames=frames,
                weigh_joints=weigh)
            print(_row(name, f"{label}, the tool (best of the phases)", best, reference,
                       check_other_rig(reference, pk, ps, best).heldout_px, seconds, verdict),
                  flush=True)
            if weigh:  # on the frames the tool's solution did not see
                loo_rows += _loo_rows(name, {"shipped": reference, "the tool": best.rig},
                                      pk, ps, best.heldout_samples)
    print()
    print("Leave-one-camera-out residual on the tool's held-out frames, median |r| px and "
          "(median u / v shift) per camera:")
    print("| recording | rig | cam01 | cam02 | cam03 | cam04 | median over cameras |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(loo_rows))
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
