"""The trained temporal lifter as the nodes' monocular path (monocular_method 'lifter'), on real
demo video with the lifter model shipped in the package, against 4-camera triangulation."""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
import pytest

from pose3d_ros.core.calibration import load_rig
from pose3d_ros.core.detection import create_detector
from pose3d_ros.core.layouts import H36M17, convert_joints
from pose3d_ros.core.metrics import p_mpjpe
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline, create_monocular_method
from pose3d_ros.core.tracking import ImageTracker
from pose3d_ros.core.types import METHOD_LIFTER
from pose3d_ros.core.undistortion import undistort_normalised
from pose3d_ros.tools.fetch_demo import calibration_path, video_paths

FRAMES = 40   # > T = 27 of the shipped model, so full windows are scored too


@lru_cache(maxsize=1)
def _demo():
    """Rig and mediapipe detections of the first FRAMES frames of the 4 demo cameras."""
    rig = load_rig(calibration_path("single"))
    per_camera = []
    for path in video_paths("single"):
        capture = cv2.VideoCapture(str(path))
        detector = create_detector("blazepose")
        per_camera.append([detector.detect([capture.read()[1]])[0] for _ in range(FRAMES)])
        detector.close()
    return rig, per_camera


def test_lifter_path_gives_metric_3d_close_to_triangulation():
    rig, per_camera = _demo()
    params = PipelineParams(tracking=None, filtering=None)
    cameras = {c.name: c for c in rig}
    multi = Pose3DPipeline(rig.names, cameras, frame_id=rig.frame_id, params=params)
    mono = Pose3DPipeline(rig.names, cameras, frame_id=rig.frame_id, params=params,
                          lifter=create_monocular_method("lifter"))
    lifted, reference = [], []
    for k in range(FRAMES):
        stamp = 10.0 + k / 60
        frames = {c.name: per_camera[v][k] for v, c in enumerate(rig)}
        triangulated = multi.process_detections(frames, stamp).skeletons
        single = mono.process_detections({"cam01": frames["cam01"]}, stamp).skeletons
        assert single.method == METHOD_LIFTER and single.layout is H36M17
        assert single.num_people == 1 and triangulated.num_people == 1
        lifted.append(single.positions[0])
        reference.append(convert_joints(triangulated.positions[0], triangulated.layout, H36M17))
    lifted, reference = np.array(lifted), np.array(reference)
    assert np.isfinite(lifted).all(), "every joint of a fully visible person is estimated"
    # Pose: PA-MPJPE against the 4-view reference. This clip is in the shipped weights'
    # fine-tuning recording, so this checks the node path, not accuracy (held-out accuracy is
    # in test_lifter_demo and docs/lifter.md). Measured 2026-12-06 on cam01: 37 mm (the
    # 18-21 mm said here before were of earlier weights); guard 55 mm, 1.5x.
    errors = p_mpjpe(lifted, reference)
    assert errors.mean < 0.055, errors.mean
    # Placement: one camera guesses depth from the lifted body's size. On these frames the
    # median pelvis gap is 0.10 m on cam01 (2026-12-06); the node takes detector_3d's depth
    # when the detector gives one (lifter_depth_from_detector, tested below), since the
    # lifter's own size places people worse (results_lifter.md). Guard: 0.2 m, 2x (a
    # placement off by a body's depth, 0.3 m, fails).
    pelvis_gap = np.linalg.norm(lifted[:, 0] - reference[:, 0], axis=-1)
    assert np.median(pelvis_gap) < 0.2, np.median(pelvis_gap)


def test_people_keep_their_own_windows():
    """Two people in view: each one is followed in 2D and keeps a window of its own 2D."""
    rig, per_camera = _demo()
    lifter = create_monocular_method("lifter")
    camera = rig["cam01"]
    first = per_camera[0][0]
    shifted = type(first)(first.keypoints + np.float32([300.0, 0.0]), first.scores,
                          first.boxes + np.float32([300.0, 0.0, 300.0, 0.0]),
                          first.person_scores, first.layout, first.image_size)
    both = type(first)(np.concatenate([first.keypoints, shifted.keypoints]),
                       np.concatenate([first.scores, shifted.scores]),
                       np.concatenate([first.boxes, shifted.boxes]),
                       np.concatenate([first.person_scores, shifted.person_scores]),
                       first.layout, first.image_size)
    tracker = ImageTracker()
    found = both.with_normalised(undistort_normalised(camera, both.keypoints))
    for k in range(3):
        ids, _ = tracker.update(found.keypoints, 10.0 + k / 60)
        out = lifter.lift(found, ids)
        assert out.positions.shape[0] == 2
    # Each person's window holds only that person's keypoints, frame after frame (windows
    # hold normalised coordinates: times the focal lengths they are undistorted pixels).
    windows = lifter.windows._keypoints
    assert sorted(windows) == [1, 2]
    focal = np.diag(camera.K)[:2]
    pixels = [w[-1] * focal for w in (windows[1], windows[2])]
    shift = np.broadcast_to([300.0, 0.0], pixels[0].shape)
    # Undistortion bends the 300 px shift slightly.
    np.testing.assert_allclose(pixels[1] - pixels[0], shift, atol=1.0)
    assert np.linalg.norm(out.positions[0, 0] - out.positions[1, 0]) > 0.3


def test_a_person_back_after_a_stall_starts_a_new_window():
    """A camera that stops for 4 s while its person keeps the id (the image tracker keeps a
    track seen at its previous update): the lifter's window started again instead of lifting
    26 frames from before the stall with the present one (a review: the man on the box 123,
    106, 52 mm off the continuous run on the first frames back; the woman 111 mm for a stale
    window, 26 mm for a new one). Frames a few intervals apart still slide the window."""
    from pose3d_ros.core.lifting.runtime import MAX_WINDOW_GAP_S

    rig, per_camera = _demo()
    params = PipelineParams(tracking=None, filtering=None)
    mono = Pose3DPipeline(["cam01"], {"cam01": rig["cam01"]}, frame_id=rig.frame_id,
                          params=params, lifter=create_monocular_method("lifter"))
    stamps = [10.0 + k / 60 for k in range(20)]
    stamps += [stamps[-1] + 0.9 * MAX_WINDOW_GAP_S, stamps[-1] + 0.9 * MAX_WINDOW_GAP_S + 4.0]
    frames = list(range(20)) + [25, 39]
    windows = []
    for k, stamp in zip(frames, stamps, strict=True):
        assert mono.process_detections({"cam01": per_camera[0][k]}, stamp).skeletons.num_people
        (window,) = mono.lifter.windows._keypoints.values()
        windows.append(window.copy())
    # a gap under the limit slides the window (the frame before it is still in it)
    assert np.array_equal(windows[-2][-2], windows[-3][-1], equal_nan=True)
    assert not np.array_equal(windows[-2][0], windows[-2][-1], equal_nan=True)
    # after the stall every row of the window is the frame back (edge replicated, as new)
    assert np.array_equal(windows[-1], np.repeat(windows[-1][-1:], len(windows[-1]), 0),
                          equal_nan=True)


@pytest.mark.parametrize("flip_average", [True, False])
def test_a_frame_of_nobody_between_frames_of_a_person(flip_average):
    """A frame in which the camera sees nobody (an empty 2D message) between frames of a
    person: nobody is published for it, and the person's window goes on with the next frame
    (the window takes no row for the empty frame). The lifter keeps each frame's features
    beside its 2D: making them for nobody failed (found by this session's own review)."""
    rig, per_camera = _demo()
    mono = Pose3DPipeline(["cam01"], {"cam01": rig["cam01"]}, frame_id=rig.frame_id,
                          params=PipelineParams(tracking=None, filtering=None),
                          lifter=create_monocular_method("lifter", flip_average=flip_average))
    first = per_camera[0][0]
    nobody = type(first).empty(first.layout, first.image_size)
    counts, windows = [], []
    # a confirmed track (3 frames) keeps its id over a frame's miss
    for k, found in enumerate(per_camera[0][:4] + [nobody] + per_camera[0][4:5]):
        counts.append(mono.process_detections({"cam01": found}, 10.0 + k / 60)
                      .skeletons.num_people)
        windows.append([w.copy() for w in mono.lifter.windows._keypoints.values()])
    assert counts == [1, 1, 1, 1, 0, 1]
    assert len(windows[-1]) == 1
    assert np.array_equal(windows[-1][0][:-1], windows[3][0][1:], equal_nan=True)
    assert not np.array_equal(windows[-1][0][-1], windows[3][0][-1], equal_nan=True)


def test_a_centred_lifter_after_a_stall_is_stamped_with_the_first_frame_back(tmp_path):
    """A centred lifter's 3D is of its window's middle frame (13 sets back for T = 27): after
    a stall its windows start again from the first frame back, and so does the stamp the 3D
    describes (a review: that frame's pose went out under the stamps of the sets before the
    stall, up to the whole 4 s stall old)."""
    import torch

    from pose3d_ros.core.lifting.model import LifterConfig, build_lifter
    from pose3d_ros.core.lifting.training import export_onnx

    torch.manual_seed(0)
    model = tmp_path / "centred.onnx"
    export_onnx(build_lifter(LifterConfig(window=27, causal=False, channels=16)), model)
    rig, per_camera = _demo()
    mono = Pose3DPipeline(["cam01"], {"cam01": rig["cam01"]}, frame_id=rig.frame_id,
                          params=PipelineParams(tracking=None, filtering=None),
                          lifter=create_monocular_method("lifter", model_path=str(model)))
    assert mono.described_lag == 13
    stamps = [10.0 + k / 60 for k in range(18)] + [14.3 + k / 60 for k in range(4)]
    described = [mono.process_detections({"cam01": per_camera[0][k]}, stamp).described_stamp
                 for k, stamp in enumerate(stamps)]
    assert described == [stamps[max(k - 13, 0)] for k in range(18)] + [stamps[18]] * 4


def test_a_camera_that_changes_resolution_keeps_its_peoples_ids():
    """A camera_info of another resolution (a driver switched from half to full size): the
    image tracker's pixels are moved with the intrinsics (Pose3DPipeline.set_camera), so the
    person keeps the id (a review: the man got a new id after 0.2 s of refused frames). The
    tracker's pixels are those of the camera before the change without it."""
    from dataclasses import replace

    rig, per_camera = _demo()
    full = rig["cam01"]
    half = replace(full, K=full.K * np.array([[0.5], [0.5], [1.0]]), width=full.width // 2,
                   height=full.height // 2)
    params = PipelineParams(filtering=None)
    mono = Pose3DPipeline(["cam01"], {"cam01": half}, frame_id=rig.frame_id, params=params,
                          lifter=create_monocular_method("lifter"))
    ids = []
    for k in range(16):
        found = per_camera[0][k]
        if k < 8:                                   # the half-size image's 2D
            found = type(found)(found.keypoints * np.float32(0.5), found.scores,
                                found.boxes * np.float32(0.5), found.person_scores,
                                found.layout, (full.width // 2, full.height // 2))
        elif k == 8:
            mono.set_camera(full)
        # a gap of 0.2 s where the frames of the old size were refused, as the node does
        stamp = 10.0 + k / 60 + (0.2 if k >= 8 else 0.0)
        skeletons = mono.process_detections({"cam01": found}, stamp).skeletons
        ids.append(skeletons.ids.tolist())
    assert ids[2:] == [[1]] * 14, ids        # published from its third frame, always id 1
    tracker = mono.image_trackers["cam01"]
    with pytest.raises(ValueError, match="affine"):
        tracker.remap(np.eye(3))
    # a region of interest moved by (200, 100) px at the same size: the camera node says the
    # image moved (its camera_info's roi), and the pixels follow (a review: only a new size
    # moved them); a new K of the same image (a recalibration) moves none
    before = tracker._keypoints.copy()
    shifted_k = full.K - np.array([[0.0, 0.0, 200.0], [0.0, 0.0, 100.0], [0.0, 0.0, 0.0]])
    mono.set_camera(replace(full, K=shifted_k), image_moved=True)
    np.testing.assert_allclose(tracker._keypoints, before - [200.0, 100.0], atol=1e-9)
    mono.set_camera(replace(full, K=full.K))                       # same size: not moved
    np.testing.assert_allclose(tracker._keypoints, before - [200.0, 100.0], atol=1e-9)


def test_missing_lifter_model_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="train one with"):
        create_monocular_method("lifter", model_path=str(tmp_path / "absent.onnx"))


def test_lifter_takes_the_detectors_depth_and_keeps_its_size_per_track():
    """With BlazePose world landmarks in the detections, each frame's lifted pelvis goes along
    its own ray to detector_3d's pelvis depth, and the body around it is scaled by the median
    of those depth factors over the track (not by each frame's own: one frame's depth error
    must not resize the bones); without world landmarks (or with the option off) the lifter's
    own size sets the depth."""
    rig, per_camera = _demo()
    camera = rig["cam01"]
    own = create_monocular_method("lifter", depth_from_detector=False)
    fused = create_monocular_method("lifter")
    detector_3d = create_monocular_method("detector_3d")
    ids = np.array([7])
    factors = []
    for k in range(FRAMES):       # FRAMES < the 90-frame window: the median of all so far
        detections = per_camera[0][k]
        assert detections.world is not None and detections.num_people == 1
        normalised = undistort_normalised(camera, detections.keypoints)
        detections = detections.with_normalised(normalised)
        a, b = own.lift(detections, ids), fused.lift(detections, ids)
        reference = detector_3d.lift(detections, ids)
        np.testing.assert_allclose(b.positions[:, 0, 2], reference.positions[:, 0, 2],
                                   rtol=1e-9)
        pelvis_a = a.positions[:, 0, :2] / a.positions[:, 0, 2:]
        pelvis_b = b.positions[:, 0, :2] / b.positions[:, 0, 2:]
        np.testing.assert_allclose(pelvis_a, pelvis_b, atol=1e-9)
        np.testing.assert_array_equal(a.confidence, b.confidence)
        factors.append(b.positions[0, 0, 2] / a.positions[0, 0, 2])
        body_a = a.positions[0] - a.positions[0, :1]
        body_b = b.positions[0] - b.positions[0, :1]
        np.testing.assert_allclose(body_b, body_a * np.median(factors), atol=1e-9)
    factors = np.array(factors)
    assert abs(np.median(factors) - 1.0) > 1e-3   # the two depths differ on this footage
    assert factors.std() > 1e-3                   # and their ratio changes frame to frame
    no_world = type(detections)(detections.keypoints, detections.scores, detections.boxes,
                                detections.person_scores, detections.layout,
                                detections.image_size).with_normalised(normalised)
    assert no_world.world is None
    c = fused.lift(no_world, ids)
    assert np.isfinite(c.positions).all()


def test_at_depth_of_with_a_body_factor():
    """at_depth_of: the pelvis at the reference's depth on its own ray; the body about it by
    body_factor (NaN: the pelvis's own factor; no reference depth: as it was)."""
    from pose3d_ros.core.monocular import at_depth_of
    rng = np.random.default_rng(3)
    placed = rng.normal(0.0, 0.3, (3, 17, 3)) + np.array([0.2, 0.1, 3.0])
    reference = placed.copy()
    reference[:, 0, 2] = [4.5, 3.0, np.nan]
    out = at_depth_of(placed, reference, np.array([1.2, np.nan, 0.8]))
    np.testing.assert_allclose(out[:, 0, 2], [4.5, 3.0, placed[2, 0, 2]])
    np.testing.assert_allclose(out[:, 0, :2] / out[:, 0, 2:], placed[:, 0, :2] / placed[:, 0, 2:])
    body = lambda x: x - x[:, :1]  # noqa: E731
    np.testing.assert_allclose(body(out)[0], body(placed)[0] * 1.2)
    np.testing.assert_allclose(out[1], placed[1] * 3.0 / placed[1, 0, 2])  # NaN: own factor
    np.testing.assert_allclose(body(out)[2], body(placed)[2] * 0.8)
    scaled = at_depth_of(placed, reference)                        # each frame's own factor
    np.testing.assert_allclose(scaled[0], placed[0] * 4.5 / placed[0, 0, 2])
    lost = placed.copy()
    lost[0, 0] = np.nan                                            # no pelvis: no body factor
    np.testing.assert_array_equal(np.isfinite(at_depth_of(lost, reference, np.ones(3))),
                                  np.isfinite(lost))


@pytest.mark.parametrize("method", ["lifter", "detector_3d"])
def test_refinement_makes_the_3d_agree_with_its_own_view(method):
    """monocular_refine_to_2d: on real demo frames the published 3D of either method projects
    closer to the confident 2D it came from than without the refinement, every joint finite."""
    rig, per_camera = _demo()
    camera = rig["cam01"]
    plain = create_monocular_method(method, refine_to_2d=False)
    refined = create_monocular_method(method)
    ids = np.array([3])
    gaps: dict[str, list] = {"plain": [], "refined": []}
    for k in range(FRAMES):
        detections = per_camera[0][k]
        normalised = undistort_normalised(camera, detections.keypoints)
        detections = detections.with_normalised(normalised)
        x = convert_joints(normalised, detections.layout, H36M17)[0]
        sure = np.isfinite(x).all(-1)
        for name, lift in (("plain", plain), ("refined", refined)):
            p = lift.lift(detections, ids).positions[0]
            assert np.isfinite(p).all()
            gaps[name].append(np.linalg.norm(p[sure, :2] / p[sure, 2:] - x[sure], axis=-1))
    plain_px = camera.K[0, 0] * np.median(np.concatenate(gaps["plain"]))
    refined_px = camera.K[0, 0] * np.median(np.concatenate(gaps["refined"]))
    # measured 2026-11-30: median 5.96 -> 4.01 px (lifter), 10.03 -> 5.69 px (detector_3d)
    assert refined_px < 0.8 * plain_px, (plain_px, refined_px)
