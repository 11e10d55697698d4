"""Monocular 3D on the real demo recording: real video, real BlazePose, real calibration,
the shipped lifter weights, checked against the 4-camera triangulation.

Uses the first 30 frames of the 'single' recording (BlazePose on 4 x 30 frames, ~20 s).
"""
from __future__ import annotations

import numpy as np
import pytest

from pose3d_ros.core.body_model import bone_lengths
from pose3d_ros.core.layouts import H36M17
from pose3d_ros.core.lifting.dataset import (
    detect_video_blazepose,
    load_cameras,
    make_pseudo_labels,
    undistort_pixels,
    world_to_camera,
)
from pose3d_ros.core.lifting.normalization import pixels_to_normalised
from pose3d_ros.core.lifting.root_placement import BodySizePrior
from pose3d_ros.core.lifting.runtime import (
    DEFAULT_MODEL,
    BlazePoseWorldLifter,
    OnnxLifter,
    to_camera_frame,
)
from pose3d_ros.core.lifting.training import window_indices
from pose3d_ros.tools.fetch_demo import calibration_path, video_paths

FRAMES = 30


@pytest.fixture(scope="module")
def demo():
    cameras = load_cameras(calibration_path("single"))
    views = [detect_video_blazepose(p, max_frames=FRAMES, progress=False)
             for p in video_paths("single")]
    return cameras, views, make_pseudo_labels(cameras, views)


def _pa_mpjpe(pred: np.ndarray, ref: np.ndarray) -> float:
    """Mean joint error after the best similarity transform per frame (Umeyama), metres."""
    p = pred - pred.mean(1, keepdims=True)
    r = ref - ref.mean(1, keepdims=True)
    u, s, vt = np.linalg.svd(np.einsum("fji,fjk->fik", p, r))
    d = np.sign(np.linalg.det(u @ vt))
    u[:, :, -1] *= d[:, None]
    s[:, -1] *= d
    rot = u @ vt
    scale = s.sum(-1) / (p ** 2).sum((1, 2))
    aligned = scale[:, None, None] * p @ rot
    return float(np.linalg.norm(aligned - r, axis=-1).mean())


def test_calibration_and_pseudo_labels_are_consistent(demo):
    cameras, views, labels = demo
    assert len(cameras) == 4 and labels.keypoints.shape == (4, FRAMES, 17, 2)
    usable = np.isfinite(labels.points_world[:, 0, 0])
    assert usable.mean() > 0.9
    assert np.nanmedian(labels.reprojection_px) < 20.0
    thigh = bone_lengths(labels.points_world)[:, H36M17.bones.index((1, 2))]
    assert 0.3 < np.nanmedian(thigh) < 0.55  # an adult's thigh, in metres
    # every camera sees the person in front of it, a few metres away
    for cam in cameras:
        depth = np.nanmedian(world_to_camera(cam, labels.points_world)[:, 0, 2])
        assert 1.5 < depth < 8.0


def _reference(cam, labels):
    ref = world_to_camera(cam, labels.points_world)
    keep = np.isfinite(ref).all((-1, -2))
    return ref, keep


def test_blazepose_baseline_is_placed_metrically_in_each_camera(demo):
    cameras, views, labels = demo
    baseline = BlazePoseWorldLifter()
    for v, cam in enumerate(cameras):
        ref, keep = _reference(cam, labels)
        rel = baseline.lift_world(views[v].world[:FRAMES], "blazepose33")
        kp = undistort_pixels(cam, labels.keypoints[v])
        sk = to_camera_frame(rel, kp, labels.scores[v], cam.K, cam.name)
        assert np.isfinite(sk.positions[keep]).all()
        root_err = np.linalg.norm(sk.positions[keep, 0] - ref[keep, 0], axis=-1)
        assert np.median(root_err) < 0.22, cam.name  # measured 0.05-0.14 m
        assert _pa_mpjpe(rel[keep], (ref - ref[:, :1])[keep]) < 0.10, cam.name  # 57-68 mm


def test_shipped_lifter_on_real_2d(demo):
    cameras, views, labels = demo
    assert DEFAULT_MODEL.is_file(), "shipped weights missing: see docs/lifter.md to retrain"
    lifter = OnnxLifter()
    assert lifter.metadata.causal and lifter.window == 27
    prior = BodySizePrior(height_m=1.70)
    errors = []
    for v, cam in enumerate(cameras):
        ref, keep = _reference(cam, labels)
        kp = undistort_pixels(cam, labels.keypoints[v])
        idx = window_indices(FRAMES, lifter.window, causal=True)
        rel = lifter.lift(kp[idx], labels.scores[v][idx], cam.K)
        assert rel.shape == (FRAMES, 17, 3) and np.isfinite(rel).all()
        # plausible human: total bone length within 10 % of a 1.5-1.9 m person's (measured
        # 2026-12-06: 1.00-1.05x a 1.5 m person's to 0.84-0.85x a 1.9 m person's)
        total = bone_lengths(rel).sum(-1)
        assert (total > 0.9 * BodySizePrior(1.5).lengths().sum()).all()
        assert (total < 1.1 * BodySizePrior(1.9).lengths().sum()).all()
        errors.append(_pa_mpjpe(rel[keep], (ref - ref[:, :1])[keep]))
        sk = to_camera_frame(rel, kp, labels.scores[v], cam.K, cam.name, prior=prior)
        norm = pixels_to_normalised(kp, cam.K)
        proj = sk.positions[..., :2] / sk.positions[..., 2:3]
        # placed so that it projects onto the 2D (pixels, confident joints)
        good = labels.scores[v] > 0.7
        assert np.median(np.abs(proj - norm)[good] * cam.K[0, 0]) < 40
        depth_err = np.abs(sk.positions[keep, 0, 2] - ref[keep, 0, 2])
        assert np.median(depth_err) < 0.6, cam.name  # measured 0.23-0.38 m (2026-12-06)
    # 'single' is the shipped model's training recording: these frames check the geometry
    # and plausibility; accuracy on held-out footage is the next test
    assert np.mean(errors) < 0.11, errors


def test_shipped_lifter_beats_the_blazepose_baseline_on_held_out_footage(demo):
    """Issue 5's target on the one person the shipped model never saw: the woman of the
    multi-person recording (the man there is the training recording's footage and is left
    out). PA-MPJPE against her 4-camera triangulation, per camera, where the camera sees her."""
    from pose3d_ros.core.detection.cache import detect_video_set
    from pose3d_ros.core.lifting.dataset import load_cameras, multi_person_pseudo_labels
    from pose3d_ros.core.lifting.runtime import BlazePoseWorldLifter
    from pose3d_ros.tools.train_lifter import drop_overlapping

    cameras = load_cameras(calibration_path("multi"))
    people = multi_person_pseudo_labels(
        cameras, detect_video_set(video_paths("multi"), "blazepose_multi"), fps=60.0)
    (woman,) = drop_overlapping(people, demo[2], "single")
    lifter, baseline = OnnxLifter(), BlazePoseWorldLifter()
    ours, theirs = [], []
    for v, cam in enumerate(cameras):
        kp = undistort_pixels(cam, woman.keypoints[v])
        seen = np.isfinite(kp[:, 0]).all(-1)
        ref = cam.to_camera_frame(woman.points_world)
        ref = ref - ref[:, :1]
        keep = seen & np.isfinite(ref).all((-1, -2))
        idx = window_indices(kp.shape[0], lifter.window, causal=True)
        lifted = lifter.lift(kp[idx], woman.scores[v][idx], cam.K)
        world = baseline.lift_world(woman.world_baseline[v], "h36m17")
        ours.append(_pa_mpjpe(lifted[keep], ref[keep]))
        theirs.append(_pa_mpjpe(world[keep], ref[keep]))
    # measured 2026-11-22: 49-58 mm per camera for the lifter, 51-65 mm for the baseline
    assert np.mean(ours) < np.mean(theirs), (ours, theirs)


def test_every_person_of_the_multi_person_recording_gets_pseudo_labels(demo):
    """The multi-person recording labels both people (association + tracking), each from the
    cameras that agree, with plausible and different bodies. Its man is the 'single'
    recording's footage (a second person composited in): the overlap guard finds and drops
    him, so a model evaluated on 'single' is not trained on its motion."""
    from pose3d_ros.core.detection.cache import detect_video_set
    from pose3d_ros.core.lifting.dataset import load_cameras, multi_person_pseudo_labels
    from pose3d_ros.tools.train_lifter import drop_overlapping

    cameras = load_cameras(calibration_path("multi"))
    per_camera = detect_video_set(video_paths("multi"), "blazepose_multi")  # shared cache
    labels = multi_person_pseudo_labels(cameras, per_camera, fps=60.0)
    assert len(labels) == 2                      # the man and the woman; the passer-by drops
    sums = []
    for label in labels:
        labelled = np.isfinite(label.points_world[:, 0, 0])
        assert labelled.sum() >= 80
        views = label.views_used[:, labelled].sum(0)
        # every labelled frame from >= 2 agreeing cameras, 3 or more on average. (Was "> 3.0"
        # when the woman was labelled in ~83 frames; since the detector/association changes
        # of 04:20 she is labelled in all 100, including frames where camera 3, which finds
        # two people in only 46 of 100 frames, does not see her: exactly 3.0 views on average.)
        assert views.min() >= 2 and views.mean() >= 3.0
        assert np.nanmedian(label.reprojection_px) < 15.0
        sums.append(np.nanmedian(bone_lengths(label.points_world, H36M17).sum(-1)))
    assert all(2.8 < s < 4.5 for s in sums)      # metres over the 16 H36M bones
    pelvis = [np.nanmean(label.points_world[:, 0], axis=0) for label in labels]
    assert np.linalg.norm(pelvis[0] - pelvis[1]) > 0.5   # two different people
    kept = drop_overlapping(labels, demo[2], "single")   # 'single' labels, first 30 frames
    assert len(kept) == 1
    assert np.nanmedian(bone_lengths(kept[0].points_world, H36M17).sum(-1)) == min(sums)


def test_a_camera_with_no_scored_joint_never_agrees_in_the_pseudo_labels(demo):
    """A review: a camera whose scores were all NaN (or all under min_score) had a NaN median
    error, which the subset test passed over: it counted as agreeing, and its windows trained
    on 3D targets with all-zero confidences."""
    import dataclasses

    cameras, views, labels = demo
    blind = [dataclasses.replace(views[0], scores=np.full_like(views[0].scores, np.nan)),
             *views[1:]]
    without = make_pseudo_labels(cameras, blind)
    assert not without.views_used[0].any()
    assert without.views_used[1:].sum() > 0
    assert np.all(np.isnan(without.points_cam[0]))
