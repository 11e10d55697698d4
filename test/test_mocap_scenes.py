"""Mocap scenes and virtual cameras: augmentation keeps bodies human, cameras see right."""
from __future__ import annotations

import numpy as np
import pytest

from pose3d_ros.core import mocap_scenes as ms
from pose3d_ros.core import mocap_views as mv
from pose3d_ros.core.body_model import bone_lengths
from pose3d_ros.core.layouts import H36M17
from pose3d_ros.core.mocap import HEAD_TOP_ABOVE_HEAD_M, STATURE_M, load_mocap

J = H36M17.index


@pytest.fixture(scope="module")
def clips():
    return {c.name: c for c in load_mocap(["walk", "kick", "dance_a"])}


def _max_step(joints):
    return np.nanmax(np.linalg.norm(np.diff(joints, axis=0), axis=-1))


def _forward(joints):
    left = joints[..., J("left_hip"), :] - joints[..., J("right_hip"), :]
    return np.cross(left, [0.0, 0.0, 1.0])


def test_mirror_is_a_proper_body_and_an_involution(clips):
    walk = clips["walk"].joints
    mirrored = ms.mirror_left_right(walk)
    np.testing.assert_allclose(ms.mirror_left_right(mirrored), walk)
    assert np.all(mirrored[:, J("right_hip"), 1] < mirrored[:, J("left_hip"), 1])
    assert np.all(_forward(mirrored)[:, 0] > 0)  # still faces +x, now as its mirror image
    lengths, mirror_lengths = bone_lengths(walk), bone_lengths(mirrored)
    swap = [H36M17.bones.index(tuple(sorted((ms.MIRROR_INDEX[a], ms.MIRROR_INDEX[b]))))
            for a, b in H36M17.bones]
    np.testing.assert_allclose(mirror_lengths, lengths[:, swap], atol=1e-12)
    assert not np.allclose(mirrored, walk)


def test_bone_lengths_are_set_and_directions_kept(clips):
    walk = clips["walk"].joints
    lengths = bone_lengths(walk)
    np.testing.assert_allclose(ms.with_bone_lengths(walk, lengths), walk, atol=1e-12)
    longer = ms.with_bone_lengths(walk, lengths * 1.5)
    np.testing.assert_allclose(bone_lengths(longer), lengths * 1.5, atol=1e-12)
    b = H36M17.bones_array
    d0 = walk[:, b[:, 1]] - walk[:, b[:, 0]]
    d1 = longer[:, b[:, 1]] - longer[:, b[:, 0]]
    np.testing.assert_allclose(d1, d0 * 1.5, atol=1e-12)


def test_time_warp_samples_the_clip_and_keeps_bones(clips):
    walk = clips["walk"]
    half = ms.resample(walk.joints, walk.fps, walk.fps / 2, 19)  # every second frame
    rigid = [0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 15]
    np.testing.assert_allclose(half, walk.joints[::2][:19], atol=0.02)
    np.testing.assert_allclose(half[:, J("right_knee")], walk.joints[:38:2, J("right_knee")],
                               atol=1e-9)  # exact frames: hips and legs untouched
    odd = ms.resample(walk.joints, 30.0, 47.0, 50, speed=1.1)
    assert np.nanstd(bone_lengths(odd)[:, rigid], axis=0).max() < 1e-9
    np.testing.assert_allclose(bone_lengths(odd)[0, rigid],
                               bone_lengths(walk.joints)[0, rigid], atol=1e-9)
    with pytest.raises(ValueError, match="source frames"):
        ms.resample(walk.joints, 30.0, 30.0, 100)


def test_looping_continues_without_jumps(clips):
    walk, kick = clips["walk"], clips["kick"]
    long_walk = ms.loop_motion(walk.joints, 200, cyclic=True)
    assert long_walk.shape == (200, 17, 3)
    assert _max_step(long_walk) <= 1.05 * _max_step(walk.joints)
    travel = long_walk[-1, J("pelvis")] - long_walk[0, J("pelvis")]
    assert np.linalg.norm(travel[:2]) > 4.0  # keeps walking: 200 frames at 30 fps
    np.testing.assert_allclose(long_walk[..., 2].min(), walk.joints[..., 2].min(), atol=0.05)
    long_kick = ms.loop_motion(kick.joints, 150, cyclic=False)
    assert _max_step(long_kick) <= _max_step(kick.joints) + 1e-12
    np.testing.assert_allclose(long_kick[2 * kick.num_frames - 2], kick.joints[0])


def test_person_motion_has_the_asked_stature_and_rate(clips):
    rng = np.random.default_rng(3)
    augment = ms.MotionAugment(stature_m=(1.8, 1.8), proportion_jitter=0.0,
                               mirror_probability=0.0)
    joints, stature, mirrored = ms.person_motion(clips["walk"], rng, 90, 60.0, augment)
    assert joints.shape == (90, 17, 3) and stature == 1.8 and not mirrored
    scale = stature / STATURE_M
    top = np.max(joints[:, J("head"), 2]) + HEAD_TOP_ABOVE_HEAD_M * scale
    assert top == pytest.approx(stature, abs=0.04)
    # at 60 fps (twice the clip's 30) steps are about half the clip's
    assert _max_step(joints) < 0.75 * _max_step(clips["walk"].joints) * scale
    varied, _, _ = ms.person_motion(clips["walk"], rng, 40, 30.0, ms.MotionAugment())
    assert np.nanstd(bone_lengths(varied), axis=0).max() < 1e-9
    assert np.nanmin(varied[..., 2]) > -0.05  # feet stay on the floor


def test_scene_places_people_apart_and_marks_absence(clips):
    config = ms.SceneConfig(num_people=3, fps=25.0, num_frames=120, area_radius=3.0,
                            area_centre=(10.0, -4.0), enter_leave_probability=1.0,
                            min_presence_s=1.0)
    scene = ms.make_scene(list(clips.values()), np.random.default_rng(5), config)
    again = ms.make_scene(list(clips.values()), np.random.default_rng(5), config)
    np.testing.assert_array_equal(scene.joints, again.joints)  # seeded
    assert scene.joints.shape == (120, 3, 17, 3) and scene.present.shape == (120, 3)
    assert np.array_equal(np.isnan(scene.joints).any(axis=(2, 3)), ~scene.present)
    for p in range(3):
        frames = np.flatnonzero(scene.present[:, p])
        assert frames.size >= 25 and np.all(np.diff(frames) == 1)  # one interval >= 1 s
    pelvis = scene.joints[:, :, J("pelvis"), :2]
    gaps = np.linalg.norm(pelvis[:, :, None] - pelvis[:, None], axis=-1)
    both = scene.present[:, :, None] & scene.present[:, None, :] & ~np.eye(3, dtype=bool)
    assert gaps[both].min() >= config.min_separation_m
    assert set(scene.clip_names) <= set(clips)
    always = ms.make_scene(list(clips.values()), np.random.default_rng(6),
                           ms.SceneConfig(num_people=3, area_radius=3.0, area_centre=(10.0, -4.0),
                                          enter_leave_probability=0.0))
    assert always.present.all()
    centres = np.mean(always.joints[:, :, J("pelvis"), :2], axis=0)  # paths centred in the disc
    assert np.all(np.linalg.norm(centres - [10.0, -4.0], axis=-1) <= 3.0 + 1e-9)
    with pytest.raises(ValueError, match="no clip"):
        ms.make_scene(list(clips.values()), np.random.default_rng(0),
                      ms.SceneConfig(clip_names=("moonwalk",)))


def test_random_camera_looks_at_the_target():
    rng = np.random.default_rng(2)
    sampling = mv.CameraSampling(aim_jitter_m=0.0, roll_deg=(0.0, 0.0), height_m=(1.0, 2.0),
                                 distance_m=(3.0, 4.0))
    for _ in range(5):
        target = rng.uniform(-2, 2, 3)
        cam = mv.random_camera(target, rng, sampling)
        centre = np.array([(cam.width - 1) / 2, (cam.height - 1) / 2])
        assert np.linalg.norm(cam.project(target) - centre) < 0.05 * cam.width
        assert 1.0 <= cam.center[2] <= 2.0
        assert 3.0 <= np.linalg.norm(cam.center[:2] - target[:2]) <= 4.0
        up = cam.project(target + [0, 0, 0.5]) - cam.project(target)
        assert up[1] < 0 and abs(up[0]) < 1e-6 * cam.width  # no roll: up is straight up
    rolled = mv.random_camera(np.zeros(3), rng, mv.CameraSampling(roll_deg=(20.0, 20.0),
                                                                   aim_jitter_m=0.0))
    up = rolled.project([0, 0, 0.5]) - rolled.project([0, 0, 0])
    assert np.degrees(np.arctan2(-up[0], -up[1])) == pytest.approx(-20.0, abs=1.0)
    rig = mv.random_ring_rig(5, rng, mv.CameraSampling(aim_jitter_m=0.0, roll_deg=(0, 0)),
                             target=(1.0, -2.0, 0.8))
    assert len(rig) == 5 and rig.frame_id == "world"
    np.testing.assert_allclose(mv.rig_look_point(rig), [1.0, -2.0, 0.8], atol=1e-6)


def _two_in_a_row(gap_m):
    """A camera on the x axis looking along -x at two standing people, one gap_m behind."""
    rng = np.random.default_rng(0)
    joints = load_mocap(["walk"])[0].joints[:3]
    front = joints - joints[:, J("pelvis")][:, None] * [1, 1, 0]
    back = front - [gap_m, 0.0, 0.0]
    cam = mv.random_camera(np.array([0.0, 0.0, 1.0]), rng,
                           mv.CameraSampling(aim_jitter_m=0.0, roll_deg=(0, 0),
                                             height_m=(1.0, 1.0), distance_m=(4.0, 4.0)),
                           azimuth=0.0)
    return cam, np.stack([front, back], axis=1)


def test_people_hide_each_other_by_depth_order():
    from pose3d_ros.core.camera import Rig
    cam, joints = _two_in_a_row(1.5)
    views = mv.project_scene(Rig("world", [cam]), joints)
    np.testing.assert_allclose(views.keypoints[:, 0, 0], cam.project(joints[:, 0]))
    torso = H36M17.indices(("pelvis", "spine", "thorax"))
    assert views.occluded[:, 1, 0][:, torso].all()  # the one behind is hidden
    assert not views.occluded[:, 0].any()  # the front one is not
    swapped = mv.project_scene(Rig("world", [cam]), joints[:, ::-1])
    np.testing.assert_array_equal(swapped.occluded, views.occluded[:, ::-1])
    alone = mv.project_scene(Rig("world", [cam]), joints[:, :1])
    assert not alone.occluded.any() and alone.in_image.all()
    behind = mv.project_scene(Rig("world", [cam]), joints[:, :1] + [6.0, 0.0, 0.0])
    assert not behind.in_image.any() and np.isnan(behind.keypoints).all()
    absent = joints.copy()
    absent[:, 1] = np.nan
    nobody = mv.project_scene(Rig("world", [cam]), absent)
    assert not nobody.in_image[:, 1].any() and not nobody.occluded.any()


def test_detections_carry_measured_errors_and_false_people():
    clips = load_mocap(["walk", "dance_a"])
    rng = np.random.default_rng(8)
    scene = ms.make_scene(clips, rng, ms.SceneConfig(num_people=3, num_frames=40,
                                                     enter_leave_probability=0.0))
    rig = mv.random_ring_rig(3, rng)
    views = mv.project_scene(rig, scene.joints)
    dets = mv.detect_views(views, rng, false_per_view=0.5, fps=scene.fps)
    f, v, d = dets.person.shape
    assert dets.keypoints.shape == (f, v, d, 17, 2) and (f, v) == (40, 3)
    real = dets.person >= 0
    fi, vi, di = np.nonzero(real)
    truth = views.keypoints[fi, :, vi]  # (N, P, 17, 2): every person in that view
    err = np.nanmedian(np.linalg.norm(dets.keypoints[fi, vi, di][:, None] - truth, axis=-1), -1)
    assert np.mean(err.argmin(axis=1) == dets.person[fi, vi, di]) > 0.97  # labels are right
    hidden = ~views.visible[fi, dets.person[fi, vi, di], vi]  # (N, 17)
    assert np.isnan(dets.keypoints[fi, vi, di][hidden]).all()
    fakes = (dets.person == -1).sum() / (f * v)
    assert 0.3 < fakes < 0.7  # Poisson mean 0.5
    assert np.isnan(dets.keypoints[dets.person == -2]).all()
    empty_first = (dets.person[..., :-1] == -2) & (dets.person[..., 1:] != -2)
    assert not empty_first.any()  # empty slots come last
    assert not np.all(dets.person[..., 0] == 0)  # shuffled: order tells nothing
    one, who = dets.frame(5, 1)
    assert one.layout is H36M17 and one.image_size == (rig[1].width, rig[1].height)
    assert one.num_people == (dets.person[5, 1] != -2).sum() == len(who)
    if one.num_people:
        assert np.all(one.boxes[:, :2] <= np.nanmin(one.keypoints, axis=1) + 1e-3)
        assert np.all((one.person_scores > 0) & (one.person_scores <= 1))


def test_scenes_fit_a_real_rig():
    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.data_paths import calibration_path

    rig = load_rig(calibration_path("single"))  # the demo's Qualisys rig, z up
    centre = mv.rig_look_point(rig)
    assert 0.0 < centre[2] < 2.0  # looks at a point at body height
    scene = ms.make_scene(load_mocap(["walk", "dance_a"]), np.random.default_rng(0),
                          ms.SceneConfig(num_people=2, area_radius=1.0,
                                         area_centre=(centre[0], centre[1]),
                                         enter_leave_probability=0.0))
    views = mv.project_scene(rig, scene.joints)
    assert views.in_image.mean() > 0.5
    assert views.in_image.any(axis=(0, 1, 3)).all()  # every camera sees the people
    np.testing.assert_array_equal(views.image_sizes, [[c.width, c.height] for c in rig])
