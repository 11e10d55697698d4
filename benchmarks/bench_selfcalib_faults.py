"""Self-calibration on the demo recordings with one camera out of step in time or with a wrong
focal length in its intrinsics.

For each recording ('single', 'multi'), camera set (all four, or every subset of 3 or 2) and
fault (none; the last camera of a pair, or each of cam02-cam04 of the four, N frames ahead or
behind the others; or its focal length given as F times the true one, cam01 too),
`selfcalib.calibrate_from_detections` (what `calibrate` runs) is run on
the cached demo 2D: the table gives whether the solution was written or refused and by which
check, its worst rotation error against the shipped Qualisys calibration (relative to the
first camera, degrees; for a refused solution the rejected one's), and the synchronisation
scan's best shift per camera (selfcalib_checks.sync_scan; frames, negative = the camera's
2D agrees best with the others' some frames earlier, i.e. its video runs ahead) and focal
factors (selfcalib.focal_scales: by how much the 2D would change each focal length).

A wrong rig written is the failure this benchmark counts: "written, > 3 deg" rows (with or
without the focal-length warning, which is not a refusal; a focal length given too long or
too short, factor below CheckLimits.min_focal_scale or above max_focal_scale, is refused as
"focal").

`--stretches` runs good (synchronised, shipped-intrinsics) stretches of 50-80 frames instead
(`--short`: 30 and 45 frames), each also with 3 px of seeded Gaussian noise added to the 2D:
a refusal there is a false alarm, and the rotation error shows what so few frames allow.

`--synthetic N` runs N seeded synthetic scenes instead of the demo (synthetic.random_rig of
3-5 cameras 3.5-6 m or 7-11 m from the centre, fields of view 40-90 degrees; 1-2
random_poses people over 40-100 frames; 3 px noise, 1 % outliers, 5 % dropout): each with
the true intrinsics and with the second camera's focal length given 0.6x and 0.5x its own.

Usage: python benchmarks/bench_selfcalib_faults.py [--shifts 2 5 10 15 -5]
       [--focal 2 1.5 0.6 1.3 0.8] [--rig-sizes 4 3 2] [--recordings single multi]
       [--stretches] [--short] [--synthetic N]
(needs the cached demo 2D: python -m pose3d_ros.tools.demo_2d)
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import logging
import os
import platform
import re
import time
import warnings

import numpy as np

from pose3d_ros.core.calibration import load_rig
from pose3d_ros.core.camera import Rig
from pose3d_ros.core.data_paths import DEMO_FPS, calibration_path
from pose3d_ros.core.demo_2d import load_demo_2d
from pose3d_ros.core.rig_comparison import compare_rigs
from pose3d_ros.core.selfcalib import DEFAULT_LIMITS, calibrate_from_detections
from pose3d_ros.core.selfcalib_checks import CalibrationRefusedError
from pose3d_ros.core.synthetic import camera_out_of_step, observe, random_poses, random_rig

CHECK_WORDS = {  # a refusal's reason -> a short name for the table
    "out of step": "sync", "held-out splits": "splits", "mirrored": "mirrored",
    "inconsistent scale": "limb lengths", "disagree with the others": "camera held-out",
    "behind the people": "cheirality", "in front of the cameras": "cheirality",
    "reproject at": "held-out", "must agree within": "splits", "given too long": "focal",
    "given too short": "focal",
}


# good stretches (first frame, end frame) of the 100-frame demo recordings (--stretches)
STRETCHES = [(0, 50), (0, 60), (10, 70), (20, 80), (30, 70), (40, 100), (50, 100), (0, 80),
             (20, 100)]
# --short: 30- and 45-frame stretches every 10 frames
SYNTHETIC_FPS = 30.0
SHORT_STRETCHES = [(first, first + length) for length in (30, 45)
                   for first in range(5, 100 - length + 1, 10)]


def wrong_focal(camera, factor: float):
    """The camera with its focal lengths (fx, fy) multiplied by factor."""
    k = camera.K.copy()
    k[0, 0] *= factor
    k[1, 1] *= factor
    return dataclasses.replace(camera, K=k)


def run_case(kp, sc, cameras, truth, fps: float = DEMO_FPS) -> tuple[str, float, str, str]:
    """-> outcome ('written' / 'refused: <check>'), worst rotation error (deg) against the
    true cameras, sync shifts, focal factors; fps: the 2D's frame rate."""
    try:
        result = calibrate_from_detections(kp, sc, cameras, fps=fps).calibration
        outcome = "written"
    except CalibrationRefusedError as exc:
        result = exc.result
        reason = str(exc)
        names = sorted({v for k, v in CHECK_WORDS.items() if k in reason})
        outcome = "refused: " + ", ".join(names or ["other"])
        if "sync" in names:        # the cameras the message names, clearest first
            named = re.findall(r"(cam\d+) \d+ frames (?:ahead|behind)", reason)
            outcome += f" ({', '.join(named)})"
    except ValueError as exc:     # what the tool says in one line (e.g. too few joints)
        return f"error: {str(exc).split(':')[0]}", float("nan"), "-", "-"
    error = float(np.nanmax(compare_rigs(result.rig, Rig("ref", truth)).rotation_error_deg))
    sync = getattr(result.checks, "sync", None)        # None before the check existed
    shifts = " ".join(f"{s:+d}" for s in sync.best()[0]) if sync is not None else "-"
    focal = getattr(result.checks, "focal_scale", None)
    factors = " ".join(f"{f:.2f}" for f in focal) if focal is not None else "-"
    if outcome == "written" and result.checks.focal_warnings(DEFAULT_LIMITS):
        outcome = "written, focal warning"
    return outcome, error, shifts, factors


def stretch_cases(kp0: np.ndarray, sc0: np.ndarray, cameras: list,
                  stretches: list[tuple[int, int]]) -> list[tuple]:
    """(name, keypoints, scores, cameras) of the good stretches (first frame, end frame),
    each also with 3 px of seeded Gaussian noise on the 2D."""
    rng = np.random.default_rng(0)
    cases: list[tuple] = []
    for first, end in stretches:
        kp, sc = kp0[first:end], sc0[first:end]
        cases += [(f"frames {first}-{end}", kp, sc, cameras),
                  (f"frames {first}-{end}, 3 px noise", kp + rng.normal(0.0, 3.0, kp.shape), sc,
                   cameras)]
    return cases


def fault_cases(kp0: np.ndarray, sc0: np.ndarray, cameras: list, shifts: list[int],
                focal: list[float]) -> list[tuple]:
    """(name, keypoints, scores, cameras): no fault, then each moved camera out of step by
    each shift, then each camera's focal length by each factor."""
    moved = range(1, len(cameras)) if len(cameras) > 2 else [1]    # cam01: the origin
    cases = [("none", kp0, sc0, cameras)]
    for camera in moved:
        for shift in shifts:
            cases.append((f"{cameras[camera].name} {abs(shift)} frames "
                          f"{'ahead' if shift > 0 else 'behind'}",
                          *camera_out_of_step(kp0, sc0, camera, shift), cameras))
    for camera in (range(len(cameras)) if len(cameras) > 2 else [1]):
        for factor in focal:
            given = list(cameras)
            given[camera] = wrong_focal(cameras[camera], factor)
            cases.append((f"{cameras[camera].name} focal length x{factor:g}", kp0, sc0, given))
    return cases


def synthetic_cases(seed: int) -> tuple[str, list[tuple], list]:
    """(scene description, cases as fault_cases, true cameras) of synthetic scene `seed`:
    the true intrinsics, then the second camera's focal length given 0.6x and 0.5x."""
    rng = np.random.default_rng(1000 + seed)
    n_cameras, far = (3, 4, 5)[seed % 3], seed % 2 == 1
    rig = random_rig(n_cameras, rng, radius=(7.0, 11.0) if far else (3.5, 6.0),
                     fov_deg=(40.0, 90.0))
    frames, people = int(rng.integers(40, 101)), int(rng.integers(1, 3))
    seen = observe(rig, random_poses(frames, people, rng, fps=SYNTHETIC_FPS), rng, noise_px=3.0,
                   outlier_fraction=0.01, dropout=0.05)
    kp, sc = np.moveaxis(seen.keypoints, 2, 1), np.moveaxis(seen.scores, 2, 1)  # (F, V, P, ..)
    truth = list(rig.cameras)
    cases = [("none", kp, sc, truth)]
    for factor in (0.6, 0.5):
        given = list(truth)
        given[1] = wrong_focal(truth[1], factor)
        cases.append((f"{truth[1].name} focal length x{factor:g}", kp, sc, given))
    return (f"{n_cameras} cameras {'7-11' if far else '3.5-6'} m, {frames} frames, "
            f"{people} people"), cases, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shifts", type=int, nargs="*", default=[2, 5, 10, 15, -5])
    parser.add_argument("--focal", type=float, nargs="*", default=[2.0, 0.6, 1.3, 0.8])
    parser.add_argument("--rig-sizes", type=int, nargs="+", default=[4], choices=[2, 3, 4],
                        help="cameras per rig: every subset of the four of each size")
    parser.add_argument("--recordings", nargs="+", default=["single", "multi"],
                        choices=["single", "multi"])
    parser.add_argument("--stretches", action="store_true",
                        help="good 50-80-frame stretches (and with 3 px noise) instead of faults")
    parser.add_argument("--short", action="store_true",
                        help="with --stretches: 30- and 45-frame stretches every 10 frames")
    parser.add_argument("--synthetic", type=int, default=0, metavar="N",
                        help="N seeded synthetic scenes instead of the demo recordings")
    args = parser.parse_args()
    # (a review: --synthetic --stretches ran the synthetic faults and summed them up as "good
    # stretches"; --short without --stretches ran the faults)
    if args.synthetic and args.stretches:
        parser.error("--synthetic runs its own cases (the true intrinsics, then a focal length "
                     "given x0.6 and x0.5); --stretches is for the demo recordings")
    if args.short and not args.stretches:
        parser.error("--short chooses the length of --stretches' stretches: give both")
    logging.disable(logging.WARNING)            # the two-camera notice, once per pair
    warnings.simplefilter("ignore", RuntimeWarning)
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')} on {platform.node()} "
          f"({os.cpu_count()} CPUs), load {os.getloadavg()[0]:.1f}")
    print("| recording | cameras | fault | outcome | worst rotation error (deg) "
          "| sync best shift per camera | focal factor per camera |")
    print("|---|---|---|---|---|---|---|")
    written_wrong = warned = focal_refused = 0

    def report(source: str, scene: str, fault: str, case: tuple[str, float, str, str],
               counted: bool) -> None:
        """Print one table row and count it (counted: a fault, or a good stretch)."""
        nonlocal written_wrong, warned, focal_refused
        outcome, error, shifts, factors = case
        if outcome.startswith("written") and error > 3.0 and counted:
            written_wrong += 1
            warned += outcome != "written"
        focal_refused += outcome.startswith("refused") and "focal" in outcome
        print(f"| {source} | {scene} | {fault} | {outcome} | {error:.2f} | {shifts} "
              f"| {factors} |", flush=True)

    for seed in range(args.synthetic):
        scene, cases, truth = synthetic_cases(seed)
        for fault, kp, sc, given in cases:
            report(f"synthetic {seed}", scene, fault,
                   run_case(kp, sc, given, truth, SYNTHETIC_FPS), fault != "none")
    for name in args.recordings if not args.synthetic else []:
        demo, rig = load_demo_2d(name), load_rig(calibration_path(name))
        subsets = [list(subset) for size in args.rig_sizes
                   for subset in itertools.combinations(range(len(rig)), size)]
        for subset in subsets:
            cameras = [rig.cameras[i] for i in subset]
            kp0 = demo.keypoints[:, subset].astype(np.float64)
            sc0 = demo.scores[:, subset].astype(np.float64)
            if args.stretches:
                cases = stretch_cases(kp0, sc0, cameras,
                                      SHORT_STRETCHES if args.short else STRETCHES)
            else:
                cases = fault_cases(kp0, sc0, cameras, args.shifts, args.focal)
            for fault, kp, sc, given in cases:
                report(name, "-".join(c.name for c in cameras), fault,
                       run_case(kp, sc, given, cameras), args.stretches or fault != "none")
    print(f"\n{'good stretches' if args.stretches else 'faulty inputs'} written with a "
          f"rotation error > 3 deg: {written_wrong} ({warned} of them with the focal-length "
          f"warning); refused for a focal length given too long or too short: {focal_refused}; "
          f"load "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
