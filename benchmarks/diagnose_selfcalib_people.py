"""Why `calibrate --demo multi` self-calibrates about 2.2 degrees off the shipped Qualisys rig:
each person's part (results_multiview.md 6z20).

The `multi` recording is `single` with a second person (a woman) composited in
(data_paths.DEMO_SHARED_FOOTAGE), so every sample of the cross-view people of `multi` is the
man (its 2D within 25 px, median over views and joints, of the man's 2D in `single` at the
same frame) or the woman. Self-calibration (selfcalib.self_calibrate_best_split, the tool's
settings) on:
  both people      the tool's input;
  the man / the woman alone;
  the man + every k-th frame of the woman (k = 10, 50): how much of her it takes;
and with --single-footage also on the man of the `single` footage detected by multi's
detector (blazepose_multi, all four views; cached in --cache-folder), alone, restricted to the
views the man has in `multi`, and with the woman of `multi`. Columns: rotation error relative
to cam01 and aligned (deg), translation direction error relative to cam01 (deg), baseline
ratio (distance from cam01 over the shipped one: the scale of the 1.70 m height prior).

Then each person's leave-one-camera-out residual (selfcalib_checks, body joints, median |r| px
and median u / v shift per camera) under the shipped rig and the rigs fitted above: which
person's 2D agrees with which geometry; the body height each person's limbs imply in the
shipped rig's metres (LIMB_FRACTIONS, the scale prior's limbs). And the man's views per
camera in `multi` (the multi-person detector's recall) against `single`.

    python benchmarks/diagnose_selfcalib_people.py [--single-footage --cache-folder DIR]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script from a checkout: use this checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose3d_ros.core.body_model import bone_lengths  # noqa: E402
from pose3d_ros.core.calibration import load_rig  # noqa: E402
from pose3d_ros.core.camera import Rig  # noqa: E402
from pose3d_ros.core.crossview import CrossViewParams, associate_uncalibrated  # noqa: E402
from pose3d_ros.core.data_paths import DEMO_FPS, calibration_path, video_paths  # noqa: E402
from pose3d_ros.core.demo_2d import detect_videos, load_demo_2d  # noqa: E402
from pose3d_ros.core.layouts import BLAZEPOSE33  # noqa: E402
from pose3d_ros.core.rig_comparison import compare_rigs  # noqa: E402
from pose3d_ros.core.selfcalib import (  # noqa: E402
    LIMB_FRACTIONS,
    body_joint_scores,
    self_calibrate_best_split,
)
from pose3d_ros.core.selfcalib_checks import (  # noqa: E402
    CalibrationRefusedError,
    leave_one_camera_out_residuals,
)
from pose3d_ros.core.triangulation import triangulate  # noqa: E402

SAME_PERSON_PX = 25.0   # the man's 2D in `multi` lies 8-11 px (median) from his 2D in `single`


def _fmt(values: np.ndarray, digits: int = 2) -> str:
    return " / ".join(f"{x:.{digits}f}" for x in values)


def _fit(label: str, keypoints: np.ndarray, scores: np.ndarray, frames: np.ndarray | None,
         shipped: Rig) -> Rig:
    """One self-calibration row; returns its rig (a refused one too, marked)."""
    try:
        result, verdict = self_calibrate_best_split(keypoints, scores, shipped.cameras,
                                                    sample_frames=frames), "passed"
    except CalibrationRefusedError as exc:
        result, verdict = exc.result, "REFUSED"
    cmp = compare_rigs(result.rig, shipped)
    print(f"| {label} | {len(keypoints)} | {_fmt(cmp.rotation_error_deg[1:])} | "
          f"{_fmt(cmp.aligned_rotation_error_deg)} | "
          f"{_fmt(cmp.translation_direction_error_deg[1:])} | {_fmt(cmp.scale_ratio[1:])} | "
          f"{verdict} |", flush=True)
    return result.rig


def _loo(rig: Rig, keypoints: np.ndarray, scores: np.ndarray) -> str:
    """Per camera: median |r| px (median u / v shift) of the leave-one-camera-out residual."""
    r = leave_one_camera_out_residuals(rig, keypoints, body_joint_scores(scores, BLAZEPOSE33),
                                       outlier_threshold_px=60.0)            # (N, V, J, 2)
    dist = np.nanmedian(np.linalg.norm(r, axis=-1), axis=(0, 2))
    du, dv = np.nanmedian(r[..., 0], axis=(0, 2)), np.nanmedian(r[..., 1], axis=(0, 2))
    return " | ".join(f"{d:.1f} ({u:+.0f}/{v:+.0f})" for d, u, v in zip(dist, du, dv,
                                                                         strict=True))


def _limb_heights_m(rig: Rig, keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(L,) the body height (m) each limb of selfcalib.LIMB_FRACTIONS implies: its median
    length over the samples, triangulated with `rig` (metres), over its fraction of the
    height. keypoints (N, V, J, 2) raw pixels, scores (N, V, J)."""
    points = triangulate(list(rig.cameras), keypoints, scores, min_score=0.5,
                         outlier_threshold_px=24.0).points                   # (N, J, 3)
    limbs = np.array([BLAZEPOSE33.indices(limb) for limb in LIMB_FRACTIONS], np.intp)
    return (np.nanmedian(bone_lengths(points, limbs), axis=0)
            / np.array(list(LIMB_FRACTIONS.values())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--single-footage", action="store_true",
                        help="also the man of the single footage with multi's detector")
    parser.add_argument("--cache-folder", type=Path, default=None,
                        help="where that 2D is cached (default: the package's cache)")
    args = parser.parse_args()
    shipped = load_rig(calibration_path("multi"))
    single = load_demo_2d("single")
    man_single = single.keypoints[:, :, 0].astype(np.float64)               # (F, V, J, 2)
    multi = load_demo_2d("multi")
    people = associate_uncalibrated(multi.keypoints.astype(np.float64),
                                    multi.scores.astype(np.float64), shipped.cameras,
                                    CrossViewParams(fps=DEMO_FPS))
    kp, sc, frames = people.keypoints, people.scores, people.frames
    man = np.nanmedian(np.linalg.norm(kp - man_single[frames], axis=-1),
                       axis=(1, 2)) < SAME_PERSON_PX
    woman = ~man
    print(f"multi: {len(frames)} cross-view samples, the man {int(man.sum())}, "
          f"the woman {int(woman.sum())}")
    print("| fitted on | samples | rotation error vs cam01: cam02 / cam03 / cam04 deg | "
          "aligned cam01 / 02 / 03 / 04 deg | translation direction deg | baseline ratio | "
          "checks |")
    print("|---|---|---|---|---|---|---|")
    rigs = {"shipped": shipped}
    rigs["both people"] = _fit("both people (the tool)", kp, sc, frames, shipped)
    rigs["the man"] = _fit("the man", kp[man], sc[man], frames[man], shipped)
    rigs["the woman"] = _fit("the woman", kp[woman], sc[woman], frames[woman], shipped)
    for every in (10, 50):
        keep = man | (woman & (frames % every == 0))
        _fit(f"the man + every {every}th frame of the woman", kp[keep], sc[keep], frames[keep],
             shipped)
    if args.single_footage:
        footage = detect_videos(video_paths("single"), "blazepose_multi",
                                cache_folder=args.cache_folder)
        fk = footage.keypoints[:, :, 0].astype(np.float64)
        fs = footage.scores[:, :, 0].astype(np.float64)
        rigs["the man, single footage"] = _fit(
            "the man of the single footage, blazepose_multi", fk, fs, None, shipped)
        seen = np.zeros(fs.shape[:2], bool)                                   # (F, V)
        seen[frames[man]] = np.isfinite(kp[man]).all(-1).any(-1)
        _fit("the same, only the views he has in multi", np.where(seen[..., None, None], fk,
                                                                   np.nan),
             np.where(seen[..., None], fs, 0.0), None, shipped)
        _fit("the same (all views) + the woman of multi", np.concatenate([fk, kp[woman]]),
             np.concatenate([fs, sc[woman]]),
             np.concatenate([np.arange(len(fk)), frames[woman]]), shipped)
    print("\nLeave-one-camera-out residual, body joints, all samples: median |r| px "
          "(median u / v shift) per camera")
    print("| rig | person | cam01 | cam02 | cam03 | cam04 |")
    print("|---|---|---|---|---|---|")
    for name, rig in rigs.items():
        for person, mask in (("the man", man), ("the woman", woman)):
            print(f"| {name} | {person} | {_loo(rig, kp[mask], sc[mask])} |")
    for person, mask in (("the man", man), ("the woman", woman)):
        heights = _limb_heights_m(shipped, kp[mask], sc[mask])
        print(f"{person}: the height the limbs imply under the shipped rig, m: "
              f"median {np.median(heights):.2f} (limbs {_fmt(heights)})")
    man_views = np.isfinite(kp[man]).all(-1).any(-1).sum(0)
    single_views = (single.scores[:, :, 0] >= 0.5).any(-1).sum(0)
    print(f"\nframes in which each camera sees the man: multi {man_views.tolist()}, "
          f"single {single_views.tolist()} (of {len(man_single)})")


if __name__ == "__main__":
    main()
