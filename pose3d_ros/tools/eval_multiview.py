"""Real-data evidence for multi-view 3D on the 4-camera demo recordings.

Runs (or reads cached) the package's BlazePose 2D on every camera (pose3d_ros.core.demo_2d:
mediapipe BlazePose on the single-person recording, blazepose_multi on the multi-person one),
then reports:

single-person recording, shipped Qualisys calibration:
  * reprojection error (per joint RMS over the views used): median and 95th percentile,
    robust triangulation vs plain confidence-weighted DLT;
  * bone-length coefficient of variation over time (std / mean per limb, median over limbs);
  * leave-one-camera-out error: triangulate from the other 3 cameras, project into the held
    out one, distance to its 2D detection (pixels);
  * self-calibration from the same 2D, as `calibrate --demo single` does it
    (core.selfcalib.calibrate_from_detections): rotation (relative to cam01 and after the best
    common rotation) and translation direction error per camera against the shipped
    calibration, the held-out reprojection of both rigs, and the metrics above with the
    self-estimated rig;
multi-person recording:
  * per frame, cross-view association; the share of frames in which each of the two main
    people is associated correctly, for the frame alone (`associate`'s grouping) and for the
    pipeline's own association (Pose3DPipeline over the frames: the people it published the
    set before claim their detections, core.association). Reference
    identities come from clothing colour, not from geometry: a detection is "man" (bare
    torso: skin-coloured, saturated torso pixels; dark shorts) or "woman" (grey,
    unsaturated top; blue jeans), sampled along the torso and thighs in HSV; detections
    shorter than 300 px are the background bystander; anything else is "unknown" and not
    judged. A frame is correct for a person when one associated group holds all of that
    person's labelled detections and none of the other person's.

Usage: python -m pose3d_ros.tools.eval_multiview [--json out.json] [--frames N]
An existing --json is refused unless --overwrite (checked first); it is written under a
temporary name and moved in when complete.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pose3d_ros.core.association import associate_normalized
from pose3d_ros.core.body_model import DEFAULT_PERSON_HEIGHT_M, bone_lengths, length_cv
from pose3d_ros.core.calibration import load_rig
from pose3d_ros.core.camera import CameraArrays, Rig
from pose3d_ros.core.data_paths import DEMO_FPS, calibration_path, video_paths
from pose3d_ros.core.demo_2d import DEMO_DETECTORS, Demo2D, load_demo_2d
from pose3d_ros.core.layouts import BLAZEPOSE33, HIPS, LIMB_BONES, SHOULDERS, JointLayout
from pose3d_ros.core.output_files import (
    add_common_arguments,
    int_at_least,
    json_text,
    progress,
    refuse_existing,
    run_cli,
    staged_output,
)
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline
from pose3d_ros.core.rig_comparison import compare_rigs
from pose3d_ros.core.selfcalib import calibrate_from_detections, check_other_rig
from pose3d_ros.core.selfcalib_checks import (
    CalibrationRefusedError,
    leave_one_camera_out_residuals,
)
from pose3d_ros.core.triangulation import triangulate
from pose3d_ros.core.types import Detections2D, as_image_size

log = logging.getLogger(__name__)

# the limbs whose length variation is reported: the layouts' own (one table of them)
LIMBS = LIMB_BONES


def _pct(values: np.ndarray, q: float) -> float:
    values = values[np.isfinite(values)]
    return float(np.percentile(values, q)) if values.size else float("nan")


def bone_length_cv(points: np.ndarray, layout: JointLayout = BLAZEPOSE33,
                   limbs: Sequence[tuple[str, str]] = LIMBS) -> dict[str, float]:
    """Coefficient of variation over time (std / mean) of each limb length.

    points: (F, J, 3) metres. Returns {"a-b": cv} for limbs measured in >= 10 frames
    (body_model.length_cv).
    """
    cvs = length_cv(bone_lengths(points, np.array([layout.indices(pair) for pair in limbs])), 10)
    return {f"{a}-{b}": float(cv) for (a, b), cv in zip(limbs, cvs, strict=True)
            if np.isfinite(cv)}


def leave_one_camera_out(rig: Rig, keypoints: np.ndarray, scores: np.ndarray, *,
                         min_score: float = 0.5, **kwargs: Any) -> np.ndarray:
    """Pixel distances (F, V, J) between each camera's 2D detection and the projection of the
    joint triangulated from all OTHER cameras (NaN where unavailable or score < min_score)."""
    return np.linalg.norm(leave_one_camera_out_residuals(rig, keypoints, scores,
                                                         min_score=min_score, **kwargs), axis=-1)


def quality(rig: Rig, keypoints: np.ndarray, scores: np.ndarray, **kwargs: Any) -> dict:
    """Reprojection, bone-length CV, leave-one-camera-out and coverage for one person.

    keypoints (F, V, J, 2), scores (F, V, J)."""
    t0 = time.perf_counter()
    res = triangulate(rig.cameras, keypoints, scores, **kwargs)
    elapsed = time.perf_counter() - t0
    cv = bone_length_cv(res.points)
    loo = leave_one_camera_out(rig, keypoints, scores, **kwargs)
    return {
        "reprojection_px_median": _pct(res.reprojection_error, 50),
        "reprojection_px_p95": _pct(res.reprojection_error, 95),
        "bone_length_cv_median": float(np.median(list(cv.values()))) if cv else float("nan"),
        "bone_length_cv_max": float(np.max(list(cv.values()))) if cv else float("nan"),
        "bone_length_cv": cv,
        "loo_px_median": _pct(loo, 50), "loo_px_p95": _pct(loo, 95),
        "loo_px_median_per_camera": [_pct(loo[:, v], 50) for v in range(len(rig))],
        "joints_triangulated_share": float(np.mean(res.num_views >= 2)),
        "mean_views_used": float(np.mean(res.num_views[res.num_views >= 2])),
        "triangulation_ms_per_frame": 1000 * elapsed / keypoints.shape[0],
    }


def evaluate_single(demo: Demo2D, rig: Rig, threshold_px: float = 60.0,
                    tight_threshold_px: float = 15.0) -> dict:
    """Metrics of the single-person recording with the shipped rig and a self-calibrated one.

    threshold_px: outlier threshold for the robust rows (~4x the residual of correct joints);
    tight_threshold_px: Pose2Sim's default, reported to show the cost of a too tight one.
    """
    kp = demo.keypoints[:, :, 0].astype(np.float64)
    sc = demo.scores[:, :, 0].astype(np.float64)
    out = {"frames": int(kp.shape[0]), "threshold_px": threshold_px,
           "robust_refined": quality(rig, kp, sc, outlier_threshold_px=threshold_px,
                                     refine=True),
           "robust": quality(rig, kp, sc, outlier_threshold_px=threshold_px),
           "robust_tight": quality(rig, kp, sc, outlier_threshold_px=tight_threshold_px),
           "plain_dlt": quality(rig, kp, sc, outlier_threshold_px=np.inf)}
    t0 = time.perf_counter()
    try:
        solved = calibrate_from_detections(demo.keypoints, demo.scores, rig.cameras,
                                           fps=DEMO_FPS, person_height_m=DEFAULT_PERSON_HEIGHT_M)
    except CalibrationRefusedError as err:
        # (a review: on a short stretch (--frames 20) the refusal ended the whole evaluation
        # with calibrate's advice to "synchronise the videos and calibrate again")
        out["selfcalib"] = {"refused": str(err)}
        return out
    calib = solved.calibration
    seconds = time.perf_counter() - t0
    shipped = check_other_rig(rig, solved.people.keypoints, solved.people.scores, calib)
    cmp = compare_rigs(calib.rig, rig)
    out["selfcalib"] = {
        "seconds": seconds,
        "bundle_rms_px": calib.reprojection_rms_px,
        "heldout_px": calib.checks.heldout_px if calib.checks is not None else float("nan"),
        "heldout_px_shipped_rig": shipped.heldout_px,
        "aligned_rotation_error_deg": cmp.aligned_rotation_error_deg.tolist(),
        "cameras": cmp.names,
        "rotation_error_deg": cmp.rotation_error_deg.tolist(),
        "translation_direction_error_deg": cmp.translation_direction_error_deg.tolist(),
        "baseline_scale_ratio": cmp.scale_ratio.tolist(),
        "robust_refined_with_self_rig": quality(calib.rig, kp, sc,
                                                outlier_threshold_px=threshold_px, refine=True),
        "plain_dlt_with_self_rig": quality(calib.rig, kp, sc, outlier_threshold_px=np.inf),
    }
    return out


# ---------------------------------------------------------------- multi-person reference
def _median_hsv(hsv: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Median HSV of 5 pixels along the segment a -> b (30..70 % of the way), None if NaN."""
    pts = a + (b - a) * np.linspace(0.3, 0.7, 5)[:, None]
    if not np.isfinite(pts).all():
        return None
    u = np.clip(pts[:, 0].astype(int), 0, hsv.shape[1] - 1)
    v = np.clip(pts[:, 1].astype(int), 0, hsv.shape[0] - 1)
    return np.median(hsv[v, u].astype(float), axis=0)


def appearance_labels(demo: Demo2D, name: str = "multi") -> np.ndarray:
    """Clothing-colour identity of every detection (F, V, P): 0 man, 1 woman, 2 bystander,
    -1 unknown or absent (module docstring)."""
    import cv2

    lay = BLAZEPOSE33
    sh, hp = lay.indices(SHOULDERS), lay.indices(HIPS)
    kn = lay.indices(["left_knee", "right_knee"])
    n_frames, n_views, n_people = demo.keypoints.shape[:3]
    labels = np.full((n_frames, n_views, n_people), -1, int)
    for v, path in enumerate(video_paths(name)):
        cap = cv2.VideoCapture(str(path))
        for f in range(n_frames):
            ok, bgr = cap.read()
            if not ok:
                break
            hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
            for p in range(n_people):
                k = demo.keypoints[f, v, p].astype(np.float64)
                if not np.isfinite(k[:, 0]).any():
                    continue
                if np.nanmax(k[:, 1]) - np.nanmin(k[:, 1]) < 300:
                    labels[f, v, p] = 2
                    continue
                s, h, kk = k[sh].mean(0), k[hp].mean(0), k[kn].mean(0)
                torso, legs = _median_hsv(hsv, s, h), _median_hsv(hsv, h, kk)
                if torso is None or legs is None:
                    continue
                if torso[1] < 40 and 90 <= legs[0] <= 115:
                    labels[f, v, p] = 1
                elif torso[0] < 30 and torso[1] >= 40 and 20 <= legs[0] <= 40:
                    labels[f, v, p] = 0
        cap.release()
    return labels


def evaluate_multi(demo: Demo2D, rig: Rig, labels: np.ndarray,
                   max_ray_distance_m: float = 0.15) -> dict:
    """The association figures of the multi-person recording (module docstring): the frame
    alone (`associate`, its defaults) and, under the keys ending "_with_previous", the
    pipeline's own (Pose3DPipeline run over the frames at DEMO_FPS, default PipelineParams
    but this gate: PipelineResult.association, its last set's people claiming their
    detections)."""
    n_frames, n_views = demo.keypoints.shape[:2]
    arrays = CameraArrays.from_cameras(rig.cameras)
    names = [camera.name for camera in rig.cameras]
    pipeline = Pose3DPipeline(names, rig.cameras, frame_id="rig",
                              params=PipelineParams(max_ray_distance_m=max_ray_distance_m))
    tallies = {name: _Tally() for name in ("alone", "previous")}
    t_assoc = 0.0
    people_per_frame = []
    for f in range(n_frames):
        dets, lab = [], []
        for v in range(n_views):
            seen = np.flatnonzero(np.isfinite(demo.keypoints[f, v, :, :, 0]).any(-1))
            k, s = demo.keypoints[f, v, seen], demo.scores[f, v, seen]
            dets.append(Detections2D(k, s, np.zeros((len(seen), 4), np.float32),
                                     np.ones(len(seen), np.float32), BLAZEPOSE33,
                                     as_image_size(demo.image_sizes[v])))
            lab.append(labels[f, v, seen])
        t0 = time.perf_counter()
        # associate() (the frame alone: no duplicate merge) with the rig's arrays made once,
        # as the nodes make them: the time is the association's (associate() makes them at
        # every call, ~2 ms)
        normalized = [cam.undistort(np.asarray(d.keypoints, np.float64))
                      for cam, d in zip(rig.cameras, dets, strict=True)]
        assoc = associate_normalized(arrays, normalized, [d.scores for d in dets],
                                     max_ray_distance_m=max_ray_distance_m,
                                     merge_distance_m=None)
        t_assoc += time.perf_counter() - t0
        people_per_frame.append(assoc.num_people)
        _judge(assoc.members, lab, n_views, tallies["alone"])
        followed = pipeline.process_detections(dict(zip(names, dets, strict=True)),
                                               f / DEMO_FPS).association
        assert followed is not None                    # every camera is in the set
        _judge(followed.members, lab, n_views, tallies["previous"])
    out: dict[str, Any] = {"frames": n_frames}
    for name, suffix in (("alone", ""), ("previous", "_with_previous")):
        tally = tallies[name]
        for person, who in ((0, "man"), (1, "woman")):
            judged = tally.correct[person]
            out[f"{who}_frames_judged{suffix}"] = len(judged)
            out[f"{who}_correct_share{suffix}"] = (float(np.mean(judged)) if judged
                                                   else float("nan"))
        out[f"groups_mixing_labelled_people{suffix}"] = tally.mixed
        out[f"groups_total{suffix}"] = tally.total
    return out | {
        "people_per_frame_mean": float(np.mean(people_per_frame)),
        "association_ms_per_frame": 1000 * t_assoc / n_frames,
        "labelled_detections_share": float(np.mean(labels[np.isfinite(
            demo.keypoints[..., 0, 0])] >= 0)),
    }


@dataclass
class _Tally:
    """One association's judgements over the frames: per person (0 man, 1 woman) whether
    each judged frame was right, groups mixing labelled people, groups."""

    correct: dict[int, list[bool]] = field(default_factory=lambda: {0: [], 1: []})
    mixed: int = 0
    total: int = 0


def _judge(members: np.ndarray, lab: list[np.ndarray], n_views: int, tally: _Tally) -> None:
    """Adds one frame's groups (P, V) to the tally: groups mixing labelled people, and per
    person (0 man, 1 woman) seen by two or more cameras whether one group holds all of the
    person's labelled detections and none of the other's."""
    group_labels = [{int(lab[v][i]) for v, i in enumerate(row) if i >= 0} for row in members]
    for g in group_labels:
        tally.total += 1
        tally.mixed += len(g & {0, 1, 2}) > 1
    for person in (0, 1):
        where = [(v, i) for v in range(n_views) for i in range(len(lab[v]))
                 if lab[v][i] == person]
        if len({v for v, _ in where}) < 2:
            continue
        ok = any(all(row[v] == i for v, i in where) and not (labels_of - {person, -1})
                 for row, labels_of in zip(members, group_labels, strict=True))
        tally.correct[person].append(bool(ok))


def run(frames: int | None = None) -> dict:
    """All figures (module docstring), with a progress bar over the steps."""
    with progress(3, "multi-view evaluation", unit="step") as bar:
        single = load_demo_2d("single", frames=frames, progress=True)
        multi = load_demo_2d("multi", frames=frames, progress=True)
        rig_single = load_rig(calibration_path("single"))
        rig_multi = load_rig(calibration_path("multi"))
        bar.update()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = {"single": evaluate_single(single, rig_single)}
            bar.update()
            out["multi"] = evaluate_multi(multi, rig_multi, appearance_labels(multi))
            bar.update()
        out["2d"] = {name: {"detector": det, "options": opts}
                     for name, (det, opts) in DEMO_DETECTORS.items()}
        return out


def to_markdown(r: dict) -> str:
    s = r["single"]
    lines = ["| rig / method | reproj. median px | reproj. p95 px | bone CV median | "
             "bone CV max | LOO median px | LOO p95 px | joints >= 2 views | ms/frame |",
             "|---|---|---|---|---|---|---|---|---|"]
    thr = s["threshold_px"]
    rows = [(f"Qualisys, robust ({thr:.0f} px) + GN refine", s["robust_refined"]),
            (f"Qualisys, robust ({thr:.0f} px)", s["robust"]),
            ("Qualisys, robust (15 px)", s["robust_tight"]),
            ("Qualisys, plain weighted DLT", s["plain_dlt"])]
    sc = s["selfcalib"]
    if "refused" not in sc:
        rows += [(f"self-calibrated, robust ({thr:.0f} px) + GN refine",
                  sc["robust_refined_with_self_rig"]),
                 ("self-calibrated, plain weighted DLT", sc["plain_dlt_with_self_rig"])]
    for name, q in rows:
        lines.append(f"| {name} | {q['reprojection_px_median']:.2f} | "
                     f"{q['reprojection_px_p95']:.2f} | {q['bone_length_cv_median']:.3f} | "
                     f"{q['bone_length_cv_max']:.3f} | {q['loo_px_median']:.1f} | "
                     f"{q['loo_px_p95']:.1f} | {q['joints_triangulated_share']:.3f} | "
                     f"{q['triangulation_ms_per_frame']:.2f} |")
    if "refused" in sc:
        lines += ["", f"Self-calibration (as `calibrate --demo single`) refused on these "
                      f"{s['frames']} frames: {sc['refused']}"]
        lines += _multi_markdown(r["multi"], DEMO_DETECTORS["multi"][0])
        return "\n".join(lines)
    lines += ["", "| camera | rotation error deg (relative to cam01) | aligned rotation error "
                  "deg | translation direction error deg | baseline scale ratio |",
              "|---|---|---|---|---|"]
    for i, name in enumerate(sc["cameras"]):
        lines.append(f"| {name} | {sc['rotation_error_deg'][i]:.2f} | "
                     f"{sc['aligned_rotation_error_deg'][i]:.2f} | "
                     f"{sc['translation_direction_error_deg'][i]:.2f} | "
                     f"{sc['baseline_scale_ratio'][i]:.3f} |")
    lines += ["", f"Self-calibration (as `calibrate --demo single`): {sc['seconds']:.1f} s, "
                  f"bundle RMS {sc['bundle_rms_px']:.2f} px, held-out frames "
                  f"{sc['heldout_px']:.1f} px (the shipped rig on the same frames: "
                  f"{sc['heldout_px_shipped_rig']:.1f} px); reference camera cam01."]
    lines += _multi_markdown(r["multi"], DEMO_DETECTORS["multi"][0])
    return "\n".join(lines)


def _multi_markdown(m: dict, title: str) -> list[str]:
    return ["", f"| multi-person association, 2D: {title} | value |", "|---|---|",
            f"| frames where the man is associated correctly | {m['man_correct_share']:.3f} "
            f"({m['man_frames_judged']} frames judged) |",
            f"| frames where the woman is associated correctly | "
            f"{m['woman_correct_share']:.3f} ({m['woman_frames_judged']} frames judged) |",
            f"| groups mixing differently labelled people | "
            f"{m['groups_mixing_labelled_people']} of {m['groups_total']} |",
            f"| the pipeline's association, given the frame before's people: the man / the "
            f"woman associated correctly | {m['man_correct_share_with_previous']:.3f} / "
            f"{m['woman_correct_share_with_previous']:.3f} |",
            f"| the same: groups mixing differently labelled people | "
            f"{m['groups_mixing_labelled_people_with_previous']} of "
            f"{m['groups_total_with_previous']} |",
            f"| people per frame (groups seen by >= 2 cameras) | "
            f"{m['people_per_frame_mean']:.2f} |",
            f"| association time per frame | {m['association_ms_per_frame']:.2f} ms |",
            f"| detections with an appearance label | {m['labelled_detections_share']:.3f} |"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int_at_least(1), default=None,
                        help="first N frames only (the self-calibration it evaluates "
                        "refuses a stretch too short to be reproducible, e.g. 20 frames: "
                        "its section then says so, and the other figures are given)")
    parser.add_argument("--json", type=Path, default=None, help="write all figures here (an "
                        "existing file only with --overwrite)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.json is not None:
        refuse_existing(args.json, args.overwrite, "figures file", folder=False)
    result = run(args.frames)
    if args.json:
        with staged_output(args.json, args.overwrite) as temporary:
            temporary.write_text(json_text(result, indent=2))
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
