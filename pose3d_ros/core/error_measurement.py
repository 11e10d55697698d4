"""Measuring the 2D error model (core/error_model.py) on the demo recordings.

The reference for a camera is made WITHOUT that camera (leave-one-camera-out): the person is
triangulated robustly from the other cameras (shipped Qualisys calibration) and projected
into it, so the detector is compared with geometry it did not produce. Then:

  single  mediapipe BlazePose (`blazepose`) on the one-person recording;
          false detections: the multi-person back-end on the same recording, where every
          detection beyond one per view is false;
  multi   the multi-person back-end (blazepose_multi) on the two-person recording: in each
          frame the other cameras' detections are grouped into people by the package's
          association, triangulated, tracked over frames (nearest pelvis) and projected;
          each projected person takes the detection nearest to it (Hungarian, within
          MATCH_DISTANCE of its scale) or counts as missed; detections left over are false.

API
    model = measure_demo("single")              # an ErrorModel (save with save_error_model)
    reference = reference_2d(cameras, keypoints, scores, threshold_px)
    detected, scores, index = match_detections(reference, candidates, candidate_scores)
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .association import associate
from .camera import CameraModel
from .error_model import ErrorModel, measure_error_model, person_scale
from .layouts import BLAZEPOSE33, H36M17, JointLayout, convert_joint_scores, convert_joints
from .left_right import mirror_index
from .triangulation import triangulate
from .types import Detections2D

MATCH_DISTANCE = 0.25  # a detection is a person's when its median joint error < 25 % of scale
TRACK_GATE_M = 0.5  # a person's pelvis moves less than this between frames (60 fps)
_PELVIS = H36M17.index("pelvis")


def reference_2d(cameras: Sequence[CameraModel], keypoints: np.ndarray, scores: np.ndarray,
                 threshold_px: float = 60.0, leave_one_out: bool = True) -> np.ndarray:
    """One person's reference 2D in every camera.

    keypoints (F, V, 33, 2) BlazePose pixels and scores (F, V, 33) -> (F, V, 17, 2) H36M-17
    pixels: per camera, the joints triangulated (robust, refined) from the other cameras
    (leave_one_out) or from all of them, projected into it; NaN where not triangulated.
    """
    n_views = len(cameras)
    out = np.full(keypoints.shape[:2] + (H36M17.num_joints, 2), np.nan)
    for v in range(n_views):  # one triangulation per held-out camera, batched over frames
        use = [i for i in range(n_views) if i != v or not leave_one_out]
        res = triangulate([cameras[i] for i in use], keypoints[:, use], scores[:, use],
                          outlier_threshold_px=threshold_px, refine=True)
        out[:, v] = cameras[v].project(convert_joints(res.points, BLAZEPOSE33, H36M17))
    return out


def match_detections(reference: np.ndarray, candidates: np.ndarray,
                     candidate_scores: np.ndarray, max_distance: float = MATCH_DISTANCE,
                     layout: JointLayout = H36M17) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Give each reference person the detection nearest to it.

    reference: (F, V, T, J, 2) pixels (T people; NaN = absent); candidates: (F, V, D, J, 2)
    detections, candidate_scores (F, V, D, J), all in `layout`. The distance of a pair is the
    median over joints of the smaller of the straight and the left/right-exchanged
    (left_right.mirror_index) joint distance, divided by the reference's person_scale; pairs
    are assigned one-to-one (Hungarian) and kept below max_distance. Returns detected
    (F, V, T, J, 2), scores (F, V, T, J) (NaN / 0 where unmatched) and index (F, V, T) of the
    detection taken (-1 none).
    """
    mirror = mirror_index(layout)
    ref = reference[:, :, :, None]  # (F, V, T, 1, J, 2)
    cand = candidates[:, :, None]  # (F, V, 1, D, J, 2)
    straight = np.linalg.norm(cand - ref, axis=-1)
    crossed = np.linalg.norm(cand[..., mirror, :] - ref, axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # absent people: all-NaN medians
        cost = np.nanmedian(np.fmin(straight, crossed), axis=-1) \
            / person_scale(reference)[..., None]  # (F, V, T, D)
    cost = np.where(np.isfinite(cost), cost, np.inf)
    f, v, t = reference.shape[:3]
    index = np.full((f, v, t), -1)
    for fi, vi in zip(*np.nonzero(np.isfinite(cost).any(axis=(-1, -2))), strict=True):
        c = cost[fi, vi]
        rows, cols = linear_sum_assignment(np.where(np.isfinite(c), c, 1e9))
        keep = c[rows, cols] < max_distance
        index[fi, vi, rows[keep]] = cols[keep]
    take = np.maximum(index, 0)
    detected = np.take_along_axis(candidates, take[..., None, None], axis=2)
    scores = np.take_along_axis(candidate_scores, take[..., None], axis=2)
    matched = (index >= 0)[..., None]
    return np.where(matched[..., None], detected, np.nan), np.where(matched, scores, 0.0), index


def _detections(keypoints: np.ndarray, scores: np.ndarray, size: np.ndarray) -> Detections2D:
    seen = np.isfinite(keypoints[..., 0]).any(-1)
    return Detections2D(keypoints[seen], scores[seen], np.zeros((int(seen.sum()), 4)),
                        np.ones(int(seen.sum())), BLAZEPOSE33, (int(size[0]), int(size[1])))


def multi_person_references(cameras: Sequence[CameraModel], keypoints: np.ndarray,
                            scores: np.ndarray, image_sizes: np.ndarray,
                            threshold_px: float = 60.0, max_people: int = 4) -> np.ndarray:
    """Leave-one-camera-out references of several people.

    keypoints (F, V, P, 33, 2), scores (F, V, P, 33) -> (F, V, T, 17, 2): for each frame and
    held-out camera, the other cameras' detections associated into people, each
    triangulated and projected into the held-out camera; per held-out camera, up to
    max_people tracks kept over frames by the nearest pelvis (TRACK_GATE_M); track t of
    one camera need not be the same person as track t of another.
    """
    f_count, n_views = keypoints.shape[:2]
    out = np.full((f_count, n_views, max_people, H36M17.num_joints, 2), np.nan)
    for v in range(n_views):
        others = [i for i in range(n_views) if i != v]
        cams = [cameras[i] for i in others]
        last = np.full((max_people, 3), np.nan)  # each track's last pelvis
        for f in range(f_count):  # association runs per frame, as in the nodes
            dets = [_detections(keypoints[f, i], scores[f, i], image_sizes[i]) for i in others]
            groups = associate(cams, dets, min_views=2).members  # (G, V-1) detection or -1
            for row in groups:
                kp = np.full((len(others), BLAZEPOSE33.num_joints, 2), np.nan)
                sc = np.zeros((len(others), BLAZEPOSE33.num_joints))
                for k, i in enumerate(row):
                    if i >= 0:
                        kp[k], sc[k] = dets[k].keypoints[i], dets[k].scores[i]
                points = triangulate(cams, kp, sc, outlier_threshold_px=threshold_px,
                                     refine=True).points
                body = convert_joints(points, BLAZEPOSE33, H36M17)
                if not np.isfinite(body).all():
                    continue
                gap = np.linalg.norm(last - body[_PELVIS], axis=-1)
                free = np.flatnonzero(np.isnan(last[:, 0]))
                track = int(np.nanargmin(gap)) if np.nanmin(gap, initial=np.inf) < TRACK_GATE_M \
                    else (int(free[0]) if free.size else -1)
                if track < 0 or np.isfinite(out[f, v, track]).all():
                    continue
                last[track] = body[_PELVIS]
                out[f, v, track] = cameras[v].project(body)
    return out


def _in_image(reference: np.ndarray, image_sizes: np.ndarray) -> np.ndarray:
    """(F, V, ..., J, 2) references -> NaN for every person-view not wholly inside its
    image (a detector cannot be blamed for what it cannot see); image_sizes (V, 2)."""
    size = image_sizes.reshape((1, -1) + (1,) * (reference.ndim - 3) + (2,)).astype(float)
    with np.errstate(invalid="ignore"):
        inside = np.all((reference >= 0) & (reference <= size - 1), axis=(-1, -2))
    return np.where(inside[..., None, None], reference, np.nan)


def measure_demo(recording: str = "single", threshold_px: float = 60.0,
                 leave_one_out: bool = True, progress: bool = False) -> ErrorModel:
    """The error model of a demo recording's detector (module doc), from the cached 2D;
    progress: progress bars while 2D not cached yet is computed."""
    from .calibration import load_rig
    from .data_paths import DEMO_FPS, calibration_path, video_paths
    from .demo_2d import DEMO_DETECTORS, detect_videos, load_demo_2d

    demo = load_demo_2d(recording, progress=progress)
    rig = load_rig(calibration_path(recording))
    cameras = [rig.camera(name) for name in demo.cameras]
    kp, sc = demo.keypoints.astype(np.float64), demo.scores.astype(np.float64)
    which = "leave-one-camera-out" if leave_one_out else "all-camera"
    source = (f"{DEMO_DETECTORS[recording][0]} on demo '{recording}', {kp.shape[1]} cameras x "
              f"{kp.shape[0]} frames at {DEMO_FPS:g} fps, against the {which} robust "
              f"triangulation (outlier threshold {threshold_px:g} px, refined)")
    if recording == "single":
        reference = _in_image(reference_2d(cameras, kp[:, :, 0], sc[:, :, 0], threshold_px,
                                           leave_one_out), demo.image_sizes)
        detected = convert_joints(kp[:, :, 0], BLAZEPOSE33, H36M17)
        det_scores = convert_joint_scores(sc[:, :, 0], BLAZEPOSE33, H36M17)
        multi = detect_videos(video_paths("single"), "blazepose_multi", progress=progress)
        people = np.isfinite(multi.keypoints[..., 0]).any(axis=-1).sum(axis=2)  # (F, V)
        false_per_view = float(np.mean(np.maximum(people - 1, 0)))
        source += "; false detections: blazepose_multi on the same recording"
        return measure_error_model(reference, detected, det_scores, fps=DEMO_FPS,
                                   false_per_view=false_per_view, source=source)
    if not leave_one_out:
        raise ValueError("the multi-person measurement is leave-one-camera-out only")
    refs = multi_person_references(cameras, kp, sc, demo.image_sizes, threshold_px)
    cand = convert_joints(kp, BLAZEPOSE33, H36M17)
    cand_scores = convert_joint_scores(sc, BLAZEPOSE33, H36M17)
    detected, det_scores, index = match_detections(refs, cand, cand_scores)
    found = np.isfinite(kp[..., 0]).any(-1).sum(axis=2)  # (F, V) detections per view
    false_per_view = float(np.mean(found - (index >= 0).sum(axis=2)))
    refs = _in_image(refs, demo.image_sizes)  # samples and misses: people wholly in view
    f, v, t = refs.shape[:3]
    source += (f"; people grouped by the package's association, up to {t} tracks per "
               "held-out camera; unmatched detections counted as false")
    return measure_error_model(refs.reshape(f, v * t, H36M17.num_joints, 2),
                               detected.reshape(f, v * t, H36M17.num_joints, 2),
                               det_scores.reshape(f, v * t, H36M17.num_joints),
                               fps=DEMO_FPS, false_per_view=false_per_view, source=source)
