"""Self-calibration on the two demo recordings against the shipped Qualisys calibration.

Rows per recording:
  before  the previous pipeline: the first detection of every camera taken as the same
          person, one bundle-adjustment round on 4000 points, no checks (what
          `calibrate --demo` did up to commit 84afddb);
  after   the current one: people associated across the uncalibrated
          views (core/crossview.py), two bundle-adjustment rounds, held-out frames and the
          checks of core/selfcalib_checks.py; one row per held-out phase (which block of
          every 4 is held out), to show how much the choice of fitting frames moves the
          answer (OpenCV's RANSAC is deterministic, so there is no seed to vary), and the
          tool's choice (selfcalib.self_calibrate_best_split): the passing solution of the 4
          phases with the lowest held-out reprojection error.
Rotation and translation-direction errors per camera are relative to cam01 (degrees).

Usage: python benchmarks/bench_selfcalib.py [--phases 2]   (needs the cached demo 2D:
python -m pose3d_ros.tools.demo_2d)
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from pose3d_ros.core.calibration import load_rig
from pose3d_ros.core.crossview import CrossViewParams, associate_uncalibrated
from pose3d_ros.core.data_paths import calibration_path
from pose3d_ros.core.demo_2d import load_demo_2d
from pose3d_ros.core.selfcalib import compare_rigs, self_calibrate, self_calibrate_best_split
from pose3d_ros.core.selfcalib_checks import CalibrationRefusedError

DEMO_FPS = 60.0


def _row(name, label, result, reference, seconds, verdict):
    cmp = compare_rigs(result.rig, reference)
    rot = " / ".join(f"{x:.2f}" for x in cmp.rotation_error_deg[1:])
    direction = " / ".join(f"{x:.2f}" for x in cmp.translation_direction_error_deg[1:])
    heldout = f"{result.checks.heldout_px:.1f}" if result.checks is not None else "-"
    cv = f"{result.checks.limb_length_cv:.3f}" if result.checks is not None else "-"
    return (f"| {name} | {label} | {rot} | {direction} | {result.reprojection_rms_px:.2f} | "
            f"{heldout} | {cv} | {verdict} | {seconds:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phases", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    print("| recording | pipeline | rotation error cam02 / cam03 / cam04 deg | translation "
          "direction error deg | bundle RMS px | held-out px | limb CV | checks | CPU s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in ("single", "multi"):
        demo, reference = load_demo_2d(name), load_rig(calibration_path(name))
        kp, sc = demo.keypoints.astype(np.float64), demo.scores.astype(np.float64)
        t0 = time.process_time()
        old = self_calibrate(kp[:, :, 0], sc[:, :, 0], reference.cameras, limits=None,
                             bundle_rounds=1, max_bundle_points=4000)
        print(_row(name, "before", old, reference, time.process_time() - t0, "none"))
        for phase in range(args.phases):
            t0 = time.process_time()
            people = associate_uncalibrated(kp, sc, reference.cameras,
                                            CrossViewParams(fps=DEMO_FPS))
            try:
                # shifting the frame numbers by whole blocks moves which blocks are held out
                result = self_calibrate(people.keypoints, people.scores, reference.cameras,
                                        sample_frames=people.frames + 5 * phase)
                verdict = "passed"
            except CalibrationRefusedError as exc:
                result, verdict = exc.result, "REFUSED"
            print(_row(name, f"after, held-out phase {phase}", result, reference,
                       time.process_time() - t0, verdict), flush=True)
        t0 = time.process_time()
        people = associate_uncalibrated(kp, sc, reference.cameras, CrossViewParams(fps=DEMO_FPS))
        best = self_calibrate_best_split(people.keypoints, people.scores, reference.cameras,
                                         sample_frames=people.frames)
        print(_row(name, "after, best of the 4 phases (the tool)", best, reference,
                   time.process_time() - t0, "passed"), flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
