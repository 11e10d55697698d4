"""One camera: a 2D joint no human pose puts where the detector did (the detector's own fault:
a wrist or an ankle thrown two image widths off with a score of 0.95) is not seen by the
monocular methods (monocular, completion.gross_joints_2d). Found by a review: the lifter and
the root placement took such a joint at its score, and one of them in one frame moved the
placed pelvis by 1.2-4.8 m on the demo cameras (0.2-6.8 m through the one-camera pipeline's
filters), or lost the person for that frame. Real demo 2D (cached BlazePose)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from pose3d_ros.core.calibration import load_rig
from pose3d_ros.core.data_paths import calibration_path, video_paths
from pose3d_ros.core.detection.cache import detect_video_set
from pose3d_ros.core.layouts import H36M17, convert_joint_scores, convert_joints
from pose3d_ros.core.monocular import create_monocular_method
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline
from pose3d_ros.core.types import Detections2D
from pose3d_ros.core.undistortion import undistort_normalised

FRAMES = 60          # of the 60 fps demo; > the lifter's window of 27
WILD_FRAME = 45      # the one frame with the wild joint
WILD_SCORE = 0.95


@lru_cache(maxsize=2)
def _recording(name: str):
    """Rig and per-camera cached 2D (the calls test_onecam and test_lifter_demo make)."""
    rig = load_rig(calibration_path(name))
    if name == "single":
        return rig, [detect_video_set([v], "blazepose")[0] for v in video_paths(name)]
    return rig, detect_video_set(video_paths(name), "blazepose_multi")


def _changed(found: Detections2D, joint: str, shift_px: float | None) -> Detections2D:
    """Person 0 with BlazePose joint `joint` moved shift_px to the right at score WILD_SCORE,
    or (None) not seen: NaN, score 0."""
    keypoints, scores = found.keypoints.copy(), found.scores.copy()
    j = found.layout.index(joint)
    if shift_px is None:
        keypoints[0, j], scores[0, j] = np.nan, 0.0
    else:
        keypoints[0, j, 0] += shift_px
        scores[0, j] = WILD_SCORE
    return Detections2D(keypoints, scores, found.boxes, found.person_scores, found.layout,
                        found.image_size, found.world)


def _lifted(method: str, camera, per_frame, joint: str | None = None,
            shift_px: float | None = None):
    """The monocular method's output per frame (people as tracks 1..P), person 0's `joint`
    changed in WILD_FRAME (_changed)."""
    lifter = create_monocular_method(method)
    out = []
    for t in range(FRAMES):
        found = per_frame.frame(t)
        if joint is not None and t == WILD_FRAME:
            found = _changed(found, joint, shift_px)
        found = found.with_normalised(undistort_normalised(camera, found.keypoints))
        out.append(lifter.lift(found, np.arange(1, found.num_people + 1)))
    return out


@pytest.mark.parametrize("joint", ["left_wrist", "left_ankle"])
@pytest.mark.parametrize("method", ["detector_3d", "lifter"])
def test_a_wild_high_score_joint_is_not_seen_and_does_not_move_the_body(method, joint):
    rig, per_camera = _recording("single")
    camera, found = rig[0], per_camera[0]
    shift = 2.0 * found.image_size[0]
    plain = _lifted(method, camera, found)
    wild = _lifted(method, camera, found, joint, shift)
    unseen = _lifted(method, camera, found, joint, None)
    # the pelvis where the joint was wild: before the fix 2.6 m (wrist) and 3.3 m (ankle) off
    # with detector_3d, 2.6 and 0.9 m with the lifter; 1-4 mm after (one joint fewer)
    moved = np.linalg.norm(wild[WILD_FRAME].positions[0, 0] - plain[WILD_FRAME].positions[0, 0])
    assert moved < 0.02, moved
    # the same 3D in every frame as when the detector had not seen the joint at all (the
    # lifter's window holds that frame for 27 frames), and the joint itself is not published
    k = H36M17.index(joint)
    assert np.isnan(wild[WILD_FRAME].positions[0, k]).all()
    assert wild[WILD_FRAME].confidence[0, k] == 0.0
    for t, (a, b) in enumerate(zip(wild, unseen, strict=True)):
        keep = np.ones(a.confidence.shape, bool)
        if t == WILD_FRAME:
            keep[0, k] = False
        np.testing.assert_array_equal(a.positions[keep], b.positions[keep], err_msg=str(t))
        np.testing.assert_array_equal(a.confidence[keep], b.confidence[keep], err_msg=str(t))


@pytest.mark.parametrize("joint", ["left_wrist", "left_ankle"])
@pytest.mark.parametrize("method", ["detector_3d", "lifter"])
def test_one_camera_pipeline_keeps_the_person_in_place_through_a_wild_joint(method, joint):
    """Through the one-camera pipeline (image tracker, depth filter, smoothing), every frame
    from the wild one on: before the fix the published pelvis moved up to 0.31 m (wrist) and
    2.8 m (ankle) with detector_3d, 0.31 and 0.06 m with the lifter; 0.2-1.3 mm after."""
    rig, per_camera = _recording("single")
    camera, found = rig[0], per_camera[0]

    def pelvis(wild: bool) -> np.ndarray:
        pipeline = Pose3DPipeline([camera.name], {camera.name: camera}, frame_id=rig.frame_id,
                                  lifter=create_monocular_method(method),
                                  params=PipelineParams(output_layout="h36m17"))
        out = np.full((FRAMES, 3), np.nan)
        for t in range(FRAMES):
            frame = found.frame(t)
            if wild and t == WILD_FRAME:
                frame = _changed(frame, joint, 2.0 * found.image_size[0])
            people = pipeline.process_detections({camera.name: frame}, 10 + t / 60).skeletons
            if people.num_people:
                assert people.ids.tolist() == [1]
                out[t] = people.positions[0, 0]
        return out

    plain, wild = pelvis(False), pelvis(True)
    assert np.isfinite(wild[WILD_FRAME:]).all()
    assert np.nanmax(np.linalg.norm(wild - plain, axis=-1)) < 0.01


def _h36m(keypoints: np.ndarray, scores: np.ndarray, layout) -> tuple[np.ndarray, np.ndarray]:
    return (convert_joints(np.asarray(keypoints, np.float64), layout, H36M17),
            np.nan_to_num(convert_joint_scores(scores, layout, H36M17)))


def test_real_2d_of_every_demo_camera_and_frame_has_no_gross_joint():
    """The check leaves real poses alone: nothing is marked in any frame of any camera of both
    recordings (undistorted, as the monocular methods see them; the largest bone is 1.8x the
    person's 2D scale there, the limit 2.5x), so their 3D is what it was without the check."""
    from pose3d_ros.core.completion import gross_joints_2d

    person_frames = 0
    for name in ("single", "multi"):
        rig, per_camera = _recording(name)
        for camera, found in zip(rig, per_camera, strict=True):
            xy, scores = _h36m(undistort_normalised(camera, found.keypoints), found.scores,
                               found.layout)
            marked = gross_joints_2d(xy, scores, H36M17)            # (T, P, 17) at once
            assert marked.shape == scores.shape and not marked.any(), (name, camera.name)
            person_frames += int((scores > 0).any(-1).sum())
    assert person_frames >= 1100


def test_gross_joints_2d_marks_the_wild_joint_or_limb_part_only():
    from pose3d_ros.core.completion import gross_joints_2d

    _, per_camera = _recording("single")
    found = per_camera[0].frame(WILD_FRAME)
    xy, scores = _h36m(found.keypoints, found.scores, found.layout)
    elbow, wrist = H36M17.index("left_elbow"), H36M17.index("left_wrist")
    far = np.array([2.0 * found.image_size[0], 0.0])

    def marked(*joints: int) -> list[str]:
        moved = xy.copy()
        moved[0, list(joints)] += far
        return [H36M17.joint_names[j] for j in np.flatnonzero(
            gross_joints_2d(moved, scores, H36M17)[0])]

    assert marked() == []
    assert marked(wrist) == ["left_wrist"]
    assert marked(elbow) == ["left_elbow"]                   # its wrist is where it was
    assert marked(elbow, wrist) == ["left_elbow", "left_wrist"]   # the forearm moved whole
    # a joint the detector did not see is not judged; too few bones: nothing is judged
    assert not gross_joints_2d(xy + np.where(np.arange(17) == wrist, 1e4, 0.0)[:, None],
                               np.where(np.arange(17) == wrist, 0.0, scores), H36M17).any()
    few = np.where(np.isin(np.arange(17), [elbow, wrist, H36M17.index("left_shoulder")]),
                   scores, 0.0)
    assert not gross_joints_2d(xy + np.where(np.arange(17) == wrist, 1e4, 0.0)[:, None],
                               few, H36M17).any()
