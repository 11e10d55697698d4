"""How far the 2D of a detector configuration moves from a reference configuration on the demo.

    python benchmarks/compare_detector_outputs.py [--detector blazepose_multi] [--frames 100]
        [--reference track=False] [--candidate track=True] [--recordings single multi]
    python benchmarks/compare_detector_outputs.py --reference-detector blazepose \\
        --reference --candidate          # mediapipe's graph against the tracked two-stage
    python benchmarks/compare_detector_outputs.py --reference track=True \\
        --reference-border zero --recordings single    # the landmark crop's fill (s56)

Both configurations run on the same frames of every demo camera (lock step, as
core/detection/cache.py runs whole recordings; nothing is written to the shared cache). People
are matched per frame and camera by the Hungarian method on the median joint distance; the
table gives per camera the median and 95th percentile of the per-joint pixel difference over
matched people (joints finite in both), and the people found by only one of the two.

Accuracy against the 4-view triangulation (recording 'single', one person): each camera's 2D
(its most confident person) against the projection of the joint triangulated from the other
three cameras with the shipped calibration (leave-one-camera-out, pose3d_ros.tools.eval_multiview),
median and 95th percentile in pixels, joints with score >= 0.5, for both configurations,
as given and with the views the detector labelled left for right as a whole relabelled (the
95th percentile as given is mostly those: `single` cam02 takes the man seen from behind as
facing it in about 30 of 100 frames, every limb joint hundreds of pixels off);
and the multi-view consistency of the same 2D (pose3d_ros.tools.eval_multiview.quality with the
robust triangulation, 60 px outlier threshold): reprojection error median / p95, bone-length
coefficient of variation over time (median and worst limb), share of joints triangulated.
`--reference-detector` compares two back-ends (e.g. mediapipe's graph, one person per camera,
against blazepose_multi); the tables then also count the frames with nobody found.
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose3d_ros.core.calibration import load_rig  # noqa: E402
from pose3d_ros.core.detection import blazepose_multi  # noqa: E402
from pose3d_ros.core.detection.cache import VideoDetections, detect_video_set  # noqa: E402
from pose3d_ros.core.layouts import JointLayout  # noqa: E402
from pose3d_ros.core.left_right import (  # noqa: E402
    left_right_pairs,
    mirror_index,
    pair_chains,
    torso_pairs,
)
from pose3d_ros.tools.eval_multiview import leave_one_camera_out, quality  # noqa: E402
from pose3d_ros.tools.fetch_demo import calibration_path, video_paths  # noqa: E402


def parse_options(items: list[str]) -> dict:
    """key=value pairs (values as Python literals)."""
    options = {}
    for item in items:
        key, _, value = item.partition("=")
        options[key] = ast.literal_eval(value)
    return options


def joint_differences(reference: VideoDetections, candidate: VideoDetections,
                      match_px: float = 100.0) -> tuple[np.ndarray, int, int]:
    """Per-joint pixel differences (M,) of matched people over all frames, and the counts of
    people found only by the reference / only by the candidate (a match farther than
    match_px median joint distance counts as both)."""
    diffs, only_ref, only_cand = [], 0, 0
    for t in range(min(len(reference.num_people), len(candidate.num_people))):
        a = reference.keypoints[t, :reference.num_people[t]]
        b = candidate.keypoints[t, :candidate.num_people[t]]
        if len(a) == 0 or len(b) == 0:
            only_ref, only_cand = only_ref + len(a), only_cand + len(b)
            continue
        distance = np.linalg.norm(a[:, None] - b[None], axis=-1)  # (A, B, J)
        cost = np.nanmedian(np.where(np.isfinite(distance), distance, np.nan), axis=2)
        cost = np.where(np.isfinite(cost), cost, 1e9)
        rows, cols = linear_sum_assignment(cost)
        good = cost[rows, cols] <= match_px
        for r, c in zip(rows[good], cols[good], strict=True):
            d = distance[r, c]
            diffs.append(d[np.isfinite(d)])
        only_ref += len(a) - int(good.sum())
        only_cand += len(b) - int(good.sum())
    return (np.concatenate(diffs) if diffs else np.zeros(0)), only_ref, only_cand


def most_confident(per_camera: list[VideoDetections]) -> tuple[np.ndarray, np.ndarray]:
    """Each camera's most confident person: keypoints (F, V, J, 2) NaN where nobody, scores
    (F, V, J) 0 where nobody."""
    frames = min(len(d.num_people) for d in per_camera)
    keypoints = np.full((frames, len(per_camera), per_camera[0].keypoints.shape[2], 2), np.nan)
    scores = np.zeros(keypoints.shape[:3])
    for v, det in enumerate(per_camera):
        best = np.nanargmax(np.nan_to_num(det.person_scores[:frames], nan=-1.0), axis=1)
        rows = np.arange(frames)
        found = det.num_people[:frames] > 0
        keypoints[found, v] = det.keypoints[rows, best][found]
        scores[found, v] = det.scores[rows, best][found]
    return keypoints, np.nan_to_num(scores)


def leave_one_out_px(recording: str, per_camera: list[VideoDetections]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Leave-one-camera-out pixel distances (F, V, J) of each camera's most confident person;
    which views the detector labelled the wrong way round as a whole (F, V) bool; and the
    distances with those views relabelled (F, V, J): mirrored_views."""
    rig = load_rig(calibration_path(recording))
    keypoints, scores = most_confident(per_camera)
    distances = leave_one_camera_out(rig, keypoints, scores)
    mirrored, relabelled = mirrored_views(rig, keypoints, scores, per_camera[0].layout,
                                          distances)
    return distances, mirrored, relabelled


def mirrored_views(rig, keypoints: np.ndarray, scores: np.ndarray, layout: JointLayout,
                   distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Views whose left and right the detector exchanged as a whole (a person seen from
    behind taken as facing the camera): (F, V) bool where the view's limb joints (arms and
    legs: left_right.pair_chains hanging from the shoulders or hips) lie nearer the other
    cameras' triangulation with every left/right pair exchanged (median over the limb joints
    both ways seen); and `distances` (F, V, J, leave_one_camera_out's) with those views
    relabelled (each joint against its mirror joint's triangulation). A label mistake is
    hundreds of pixels on every limb joint, and left apart from it the pixel figures measure
    where the joints are."""
    mirror = mirror_index(layout)
    pairs = left_right_pairs(layout)
    limb_pairs = pairs[np.isin(pair_chains(layout), torso_pairs(layout))]
    limbs = np.unique(limb_pairs)
    exchanged = np.full_like(distances, np.nan)
    for v in range(keypoints.shape[1]):
        moved_kp, moved_sc = keypoints.copy(), scores.copy()
        moved_kp[:, v], moved_sc[:, v] = keypoints[:, v][:, mirror], scores[:, v][:, mirror]
        exchanged[:, v] = leave_one_camera_out(rig, moved_kp, moved_sc)[:, v][:, mirror]
    both = np.isfinite(distances[..., limbs]) & np.isfinite(exchanged[..., limbs])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)          # views with no limb seen
        as_given = np.nanmedian(np.where(both, distances[..., limbs], np.nan), axis=-1)
        other_way = np.nanmedian(np.where(both, exchanged[..., limbs], np.nan), axis=-1)
    mirrored = other_way < as_given                                   # NaN compares False
    return mirrored, np.where(mirrored[..., None], exchanged, distances)


def consistency(recording: str, per_camera: list[VideoDetections]) -> dict:
    """eval_multiview.quality of each camera's most confident person, robust triangulation
    (60 px outlier threshold, as eval_multiview's robust rows)."""
    rig = load_rig(calibration_path(recording))
    return quality(rig, *most_confident(per_camera), outlier_threshold_px=60.0)


def _percentiles(values: np.ndarray) -> str:
    values = values[np.isfinite(values)]
    return f"{np.median(values):.2f} | {np.percentile(values, 95):.2f}" if values.size \
        else "- | -"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default="blazepose_multi", help="candidate back-end")
    parser.add_argument("--reference-detector", default=None,
                        help="reference back-end (default: the candidate's)")
    parser.add_argument("--reference", nargs="*", default=["track=False"])
    parser.add_argument("--candidate", nargs="*", default=["track=True"])
    parser.add_argument("--reference-jpeg", type=int, default=None, choices=(1, 2, 4, 8),
                        help="reference frames through JPEG decoded at 1/R (as the node's "
                        "compressed input); default: the video's own frames")
    parser.add_argument("--candidate-jpeg", type=int, default=None, choices=(1, 2, 4, 8))
    parser.add_argument("--reference-border", default=None,
                        choices=sorted(blazepose_multi.LANDMARK_BORDERS),
                        help="blazepose_multi's landmark crop past the image edge for the "
                        "reference (default: the back-end's, replicate); 'zero': black, as "
                        "before session 56")
    parser.add_argument("--candidate-border", default=None,
                        choices=sorted(blazepose_multi.LANDMARK_BORDERS))
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--recordings", nargs="+", default=["single", "multi"])
    args = parser.parse_args(argv)
    reference, candidate = parse_options(args.reference), parse_options(args.candidate)
    # the fills are the two-stage back-ends' landmark_border option (a key=value as well)
    for options, border in ((reference, args.reference_border),
                            (candidate, args.candidate_border)):
        if border is not None:
            options["landmark_border"] = border
    reference_detector = args.reference_detector or args.detector
    load = os.getloadavg()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.1f}; {reference_detector} {reference} (JPEG 1/"
          f"{args.reference_jpeg}) -> {args.detector} {candidate} (JPEG 1/{args.candidate_jpeg})"
          f", {args.frames} frames per camera (JPEG 1/None: the video's own frames)")
    loo_rows, consistency_rows = [], []
    print("| recording | camera | joints compared | median px | p95 px | max px | "
          "people only in reference | people only in candidate | frames with nobody: "
          "reference / candidate |")
    print("|---|---|---|---|---|---|---|---|---|")
    for recording in args.recordings:
        paths = video_paths(recording)
        ref = detect_video_set(paths, reference_detector, max_frames=args.frames,
                               use_cache=False, jpeg_reduction=args.reference_jpeg, **reference)
        cand = detect_video_set(paths, args.detector, max_frames=args.frames, use_cache=False,
                                jpeg_reduction=args.candidate_jpeg, **candidate)
        for path, a, b in zip(paths, ref, cand, strict=True):
            diffs, only_ref, only_cand = joint_differences(a, b)
            stats = (np.median(diffs), np.percentile(diffs, 95), diffs.max()) if len(diffs) \
                else (np.nan,) * 3
            print(f"| {recording} | {path.stem} | {len(diffs)} | {stats[0]:.2f} | "
                  f"{stats[1]:.2f} | {stats[2]:.1f} | {only_ref} | {only_cand} | "
                  f"{int(np.sum(a.num_people == 0))} / {int(np.sum(b.num_people == 0))} |")
        if recording == "single":
            loo_rows = [(name, leave_one_out_px(recording, dets))
                        for name, dets in (("reference", ref), ("candidate", cand))]
            consistency_rows = [(name, consistency(recording, dets))
                                for name, dets in (("reference", ref), ("candidate", cand))]
    if loo_rows:
        print("\nLeave-one-camera-out px on 'single' (2D vs the other 3 views' triangulation)")
        views = loo_rows[0][1][0].shape[1]
        print("| configuration | " + " | ".join(f"cam{v + 1:02d} median | p95"
                                                for v in range(views))
              + " | all median | all p95 |")
        print("|---" * (3 + 2 * views) + "|")
        for name, (loo, _, _) in loo_rows:
            cells = " | ".join(_percentiles(loo[:, v]) for v in range(loo.shape[1]))
            print(f"| {name} | {cells} | {_percentiles(loo)} |")
        print("\nThe same with the views the detector labelled the wrong way round as a whole "
              "relabelled (mirrored_views): how many per camera, and the pixel figures left "
              "apart from those label mistakes")
        print("| configuration | mirrored views per camera | " + " | ".join(
            f"cam{v + 1:02d} median | p95" for v in range(views)) + " | all median | all p95 |")
        print("|---" * (4 + 2 * views) + "|")
        for name, (_, mirrored, relabelled) in loo_rows:
            cells = " | ".join(_percentiles(relabelled[:, v]) for v in range(views))
            counts = " / ".join(str(int(n)) for n in mirrored.sum(0))
            print(f"| {name} | {counts} | {cells} | {_percentiles(relabelled)} |")
    if consistency_rows:
        print("\nMulti-view consistency on 'single' (robust triangulation, 60 px threshold)")
        print("| configuration | reprojection median / p95 px | bone-length CV median / max | "
              "joints triangulated | views per joint |")
        print("|---|---|---|---|---|")
        for name, q in consistency_rows:
            print(f"| {name} | {q['reprojection_px_median']:.2f} / {q['reprojection_px_p95']:.2f}"
                  f" | {q['bone_length_cv_median']:.3f} / {q['bone_length_cv_max']:.3f} | "
                  f"{100 * q['joints_triangulated_share']:.1f} % | {q['mean_views_used']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
