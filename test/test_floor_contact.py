"""Floor contact for one camera (core.floor_contact): the scale that stands a person's lower
ankle on a known floor, exact on a synthetic body, refused where the floor says nothing, robust
to single frames per track; and on the real demo recordings, each camera alone gets closer to
the 4-camera triangulation's distances."""
from __future__ import annotations

import numpy as np
import pytest

from pose3d_ros.core.camera import look_at
from pose3d_ros.core.floor_contact import FloorParams, FloorScale, floor_scales
from pose3d_ros.core.layouts import H36M17

ANKLE = 0.10


def _standing_world(x: float = 0.0, y: float = 4.0, ankle_z: float = ANKLE) -> np.ndarray:
    """An upright H36M-17 body in a z-up world, lower ankles at ankle_z (m)."""
    heights = {"pelvis": 0.95, "right_hip": 0.93, "left_hip": 0.93, "right_knee": 0.52,
               "left_knee": 0.52, "right_ankle": ANKLE, "left_ankle": ANKLE + 0.05,
               "spine": 1.2, "thorax": 1.45, "nose": 1.62, "head": 1.72,
               "left_shoulder": 1.43, "right_shoulder": 1.43, "left_elbow": 1.15,
               "right_elbow": 1.15, "left_wrist": 0.9, "right_wrist": 0.9}
    side = {"right": -0.15, "left": 0.15}
    joints = []
    for name in H36M17.joint_names:
        lateral = next((v for k, v in side.items() if name.startswith(k)), 0.0)
        joints.append([x + lateral, y, heights[name] - ANKLE + ankle_z])
    return np.array(joints)


def _camera(height: float = 1.5):
    return look_at(np.array([0.0, 0.0, height]), np.array([0.0, 4.0, 0.9]))


def _in_camera(world: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    return world @ R.T + t


def test_the_floor_scale_stands_the_lower_ankle_on_the_floor_exactly():
    R, t = _camera()
    people = np.stack([_in_camera(_standing_world(x, y), R, t)
                       for x, y in ((0.0, 4.0), (1.0, 6.5), (-1.5, 3.0))])
    wrong = people * np.array([0.8, 1.25, 1.0])[:, None, None]   # sizes misjudged
    scores = np.ones(people.shape[:2])
    np.testing.assert_allclose(floor_scales(wrong, scores, R, t, FloorParams()),
                               [1 / 0.8, 1 / 1.25, 1.0], rtol=1e-9)
    # the floor's own height in the frame counts
    shifted = FloorParams(height_m=0.3)
    raised = np.stack([_in_camera(_standing_world(ankle_z=0.3 + ANKLE), R, t)])
    np.testing.assert_allclose(floor_scales(raised * 0.9, scores[:1], R, t, shifted),
                               [1 / 0.9], rtol=1e-9)


def test_the_floor_says_nothing_for_unseen_ankles_people_up_high_or_a_low_camera():
    R, t = _camera()
    person = _in_camera(_standing_world(), R, t)[None]
    scores = np.ones((1, 17))
    ankles = [H36M17.index("left_ankle"), H36M17.index("right_ankle")]
    unsure = scores.copy()
    unsure[:, ankles] = 0.2
    assert np.isnan(floor_scales(person, unsure, R, t))[0]
    on_a_box = _in_camera(_standing_world(ankle_z=1.0 + ANKLE), R, t)[None]   # 1 m up
    assert np.isnan(floor_scales(on_a_box, scores, R, t))[0]
    low_R, low_t = _camera(height=0.05)                   # camera below the ankles
    low = _in_camera(_standing_world(), low_R, low_t)[None]
    assert np.isnan(floor_scales(low, scores, low_R, low_t))[0]
    nan_ankles = person.copy()
    nan_ankles[:, ankles] = np.nan
    assert np.isnan(floor_scales(nan_ankles, scores, R, t))[0]
    assert floor_scales(np.zeros((0, 17, 3)), np.zeros((0, 17)), R, t).shape == (0,)


def test_each_track_takes_its_median_scale_and_keeps_its_projection():
    R, t = _camera()
    true = np.stack([_in_camera(_standing_world(0.0, 4.0), R, t),
                     _in_camera(_standing_world(1.0, 5.0), R, t)])
    scores = np.ones((2, 17))
    floor = FloorScale(FloorParams())
    for k in range(9):
        jump = k == 4                                     # one frame in the air: ignored
        lifted = true.copy()
        if jump:
            lifted = np.stack([_in_camera(_standing_world(0.0, 4.0, ANKLE + 0.4), R, t),
                               true[1]])
        placed = lifted * np.array([0.85, 1.2])[:, None, None]   # one view misjudges size
        out = floor.apply(placed, scores, np.array([3, 7]), R, t)
    np.testing.assert_allclose(out, true, atol=1e-9)      # median of the 8 standing frames
    projected = out[..., :2] / out[..., 2:]
    np.testing.assert_allclose(projected, placed[..., :2] / placed[..., 2:], atol=1e-12)
    # a track the floor never saw keeps its own size
    unsure = np.zeros((1, 17))
    np.testing.assert_array_equal(floor.apply(placed[:1], unsure, np.array([9]), R, t),
                                  placed[:1])


def test_bad_floor_parameters_are_refused():
    with pytest.raises(ValueError, match="ankle_height_m"):
        FloorParams(ankle_height_m=0.7)
    with pytest.raises(ValueError, match="max_scale_ratio"):
        FloorParams(max_scale_ratio=1.0)
    with pytest.raises(ValueError, match="height_m"):
        FloorParams(height_m=float("nan"))


@pytest.mark.parametrize("camera_index", [2, 3])
def test_demo_cameras_alone_get_the_distance_from_the_floor(camera_index):
    """The two-person recording, cam03 and cam04 alone (their one-camera distances were the
    worst, 0.90 and 0.54 m median from the 4-camera triangulation): with the rig's floor
    (z = 0 of the Qualisys frame) the lifter's people land within 0.25 m, less than half."""
    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.data_paths import calibration_path, video_paths
    from pose3d_ros.core.detection.cache import detect_video_set
    from pose3d_ros.core.monocular import create_monocular_method
    from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline

    rig = load_rig(calibration_path("multi"))
    per_camera = [detect_video_set([v], "blazepose_multi")[0] for v in video_paths("multi")]
    frames = list(range(0, min(len(d.num_people) for d in per_camera), 2))      # 30 fps
    reference = Pose3DPipeline(rig.names, {c.name: c for c in rig}, frame_id=rig.frame_id,
                               params=PipelineParams(output_layout="h36m17", filtering=None))
    true_roots = [reference.process_detections(
        {c.name: per_camera[i].frame(f) for i, c in enumerate(rig)},
        10 + k / 30).skeletons.positions[:, 0] for k, f in enumerate(frames)]
    camera = rig[camera_index]
    errors = {}
    for name, floor in (("size", None), ("floor", FloorParams())):
        pipeline = Pose3DPipeline([camera.name], {camera.name: camera}, frame_id=rig.frame_id,
                                  lifter=create_monocular_method("lifter"),
                                  params=PipelineParams(output_layout="h36m17", floor=floor))
        gaps = []
        for k, f in enumerate(frames):
            roots = pipeline.process_detections(
                {camera.name: per_camera[camera_index].frame(f)},
                10 + k / 30).skeletons.positions[:, 0]
            for root in roots:           # against the nearest triangulated person
                truth = true_roots[k][np.argmin(np.linalg.norm(true_roots[k] - root, axis=-1))]
                gaps.append(abs(np.linalg.norm(root - camera.center)
                                - np.linalg.norm(truth - camera.center)))
        errors[name] = float(np.median(gaps))
    assert errors["floor"] < 0.25 and errors["floor"] < errors["size"] / 2, errors
