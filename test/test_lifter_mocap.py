"""Lifter training data from the motion capture (time warp, sizes, virtual cameras with a
field of view, the measured 2D error model) and the held-out clip evaluation."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pose3d_ros.core.body_frame import body_frames
from pose3d_ros.core.body_model import bone_lengths
from pose3d_ros.core.error_model import load_error_model
from pose3d_ros.core.layouts import H36M17
from pose3d_ros.core.lifting.mocap_eval import EvalCameras, clip_views, evaluate_clip
from pose3d_ros.core.lifting.mocap_training import (
    LIMBS,
    MocapAugment,
    mix_limbs,
    mocap_performances,
    redefine_joints,
    tilt_body,
)
from pose3d_ros.core.lifting.model import LifterConfig
from pose3d_ros.core.lifting.training import TrainConfig, VirtualCameras, train, virtual_views
from pose3d_ros.core.metrics import pose_scores
from pose3d_ros.tools.fetch_mocap import load_mocap


@pytest.fixture(scope="module")
def clips():
    return load_mocap(["walk", "run", "kick", "roll"])


def test_performances_are_time_warped_and_resized(clips):
    rng = np.random.default_rng(0)
    perf = mocap_performances(clips, rng, MocapAugment(performances=12, seconds=2.0,
                                                       stature_m=(1.5, 1.9)))
    assert len(perf) == 12
    rates = np.array([fps for _, fps in perf])
    assert (rates >= 15).all() and (rates <= 60).all() and np.ptp(rates) > 10
    for joints, fps in perf:
        assert joints.shape == (int(2.0 * fps), 17, 3) and np.isfinite(joints).all()
    heights = np.array([np.ptp(j[..., 2], axis=-1).max() for j, _ in perf])
    assert np.ptp(heights) > 0.05  # bodies of several sizes


def test_mixed_limbs_keep_the_body_and_take_the_donors_motion(clips):
    by_name = {c.name: c.joints for c in clips}
    base, donor = by_name["walk"][:30], by_name["kick"][:30]
    chosen = np.array([True, False, False, True])          # left arm, right leg
    mixed = mix_limbs(base, donor, chosen)
    np.testing.assert_allclose(bone_lengths(mixed), bone_lengths(base), atol=1e-9)
    moved = np.zeros(H36M17.num_joints, bool)
    moved[LIMBS[chosen][:, 1:].ravel()] = True
    np.testing.assert_array_equal(mixed[:, ~moved], base[:, ~moved])
    assert np.abs(mixed[:, moved] - base[:, moved]).max() > 0.05
    # in the body frame, the moved bones point as the donor's do
    def limb_directions(joints):
        bones = joints[:, LIMBS[chosen][:, 1:]] - joints[:, LIMBS[chosen][:, :2]]
        local = np.einsum("fji,flbj->flbi", body_frames(joints, H36M17).rotations, bones)
        return local / np.linalg.norm(local, axis=-1, keepdims=True)

    np.testing.assert_allclose(limb_directions(mixed), limb_directions(donor), atol=1e-9)
    np.testing.assert_array_equal(mix_limbs(base, donor, np.zeros(4, bool)), base)
    perf = mocap_performances(clips, np.random.default_rng(1), MocapAugment(
        performances=6, seconds=1.0, arm_mix_probability=1.0, leg_mix_probability=1.0))
    assert all(np.isfinite(j).all() for j, _ in perf)


def test_tilted_performances_keep_the_body_and_lean_it(clips):
    walk = {c.name: c.joints for c in clips}["walk"][:30]
    pelvis, thorax = H36M17.index("pelvis"), H36M17.index("thorax")
    lying = tilt_body(walk, 0.4, np.pi / 2)
    np.testing.assert_allclose(bone_lengths(lying), bone_lengths(walk), atol=1e-9)
    np.testing.assert_allclose(lying[0, pelvis], walk[0, pelvis], atol=1e-12)

    def spine_from_vertical_deg(joints):
        spine = joints[:, thorax] - joints[:, pelvis]
        return np.degrees(np.arccos(spine[:, 2] / np.linalg.norm(spine, axis=-1)))

    assert spine_from_vertical_deg(walk).max() < 30 and spine_from_vertical_deg(lying).min() > 60
    upright = mocap_performances(clips, np.random.default_rng(2), MocapAugment(
        performances=8, seconds=1.0))
    tilted = mocap_performances(clips, np.random.default_rng(2), MocapAugment(
        performances=8, seconds=1.0, tilt_probability=1.0))
    lean = [np.median(spine_from_vertical_deg(j)) for j, _ in tilted]
    assert max(lean) > 30 and all(np.isfinite(j).all() for j, _ in tilted)
    assert len(upright) == len(tilted)


def test_other_joint_definitions_move_only_the_hips_thorax_and_head(clips):
    """redefine_joints: the same body with its hips, thorax and head placed as another dataset
    places them (wider hips, a higher thorax, the head at the crown); every other joint stays,
    the hips stay symmetric about the pelvis, the shifts lie along the trunk and the neck.
    MocapAugment.definition_probability draws them per performance; 0 (the shipped recipe)
    draws nothing, so the shipped weights' random stream is unchanged."""
    from pose3d_ros.core.mocap import head_ends
    walk = {c.name: c.joints for c in clips}["walk"][:30]
    other = redefine_joints(walk, hip_width=1.5, thorax_shift_m=0.05, head_shift_m=0.1)
    moved = np.abs(other - walk).max(axis=(0, 2)) > 1e-12
    assert [H36M17.joint_names[j] for j in np.flatnonzero(moved)] == [
        "right_hip", "left_hip", "thorax", "head"]
    pelvis, hips = H36M17.index("pelvis"), list(H36M17.indices(("left_hip", "right_hip")))
    np.testing.assert_allclose(other[:, hips] - other[:, [pelvis]],
                               1.5 * (walk[:, hips] - walk[:, [pelvis]]), atol=1e-12)
    thorax, head = H36M17.index("thorax"), H36M17.index("head")
    trunk = walk[:, thorax] - walk[:, pelvis]
    np.testing.assert_allclose(other[:, thorax] - walk[:, thorax],
                               0.05 * trunk / np.linalg.norm(trunk, axis=-1, keepdims=True),
                               atol=1e-12)
    bottom, top = head_ends(walk)
    neck = (top - bottom) / np.linalg.norm(top - bottom, axis=-1, keepdims=True)
    np.testing.assert_allclose(other[:, head] - walk[:, head], 0.1 * neck, atol=1e-12)
    plain = mocap_performances(clips, np.random.default_rng(3), MocapAugment(
        performances=4, seconds=1.0))
    again = mocap_performances(clips, np.random.default_rng(3), MocapAugment(
        performances=4, seconds=1.0, definition_probability=0.0))
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(plain, again, strict=True))
    # the first performance is drawn alike up to its definition (drawn last)
    first = mocap_performances(clips, np.random.default_rng(3), MocapAugment(
        performances=1, seconds=1.0, definition_probability=1.0))[0][0]
    kept = [j for j in range(H36M17.num_joints) if j not in (*hips, thorax, head)]
    np.testing.assert_array_equal(first[:, kept], plain[0][0][:, kept])
    width = np.linalg.norm(first[:, hips[0]] - first[:, hips[1]], axis=-1) / np.linalg.norm(
        plain[0][0][:, hips[0]] - plain[0][0][:, hips[1]], axis=-1)
    assert np.ptp(width) < 1e-9 and 0.85 <= width[0] <= 1.6 and abs(width[0] - 1) > 1e-3


def test_virtual_views_with_field_of_view_and_measured_errors(clips):
    rng = np.random.default_rng(1)
    joints = clips[0].joints
    cams = VirtualCameras(distance_m=(1.5, 3.0), half_fov_deg=(20.0, 25.0))
    feats, kps, scs, tgts = virtual_views(joints, None, 300, 27, True, rng, 0.0, 1000.0,
                                          cameras=cams, fps=clips[0].fps)
    assert feats.shape == (300, 27, 53) and tgts.shape == (300, 17, 3)
    assert np.allclose(tgts[:, 0], 0) and np.isfinite(tgts).all()
    hidden = ~np.isfinite(kps).all(-1)
    assert hidden.any() and not hidden.all()            # close, narrow cameras cut people
    assert ((scs == 0) == hidden).all() and (scs[~hidden] == 1).all()  # perfect 2D elsewhere
    wide = VirtualCameras(distance_m=(4.0, 6.0))
    _, kps, scs, _ = virtual_views(joints, load_error_model(), 300, 27, True, rng, 0.0, 1000.0,
                                   cameras=wide, fps=clips[0].fps)
    seen = np.isfinite(kps).all(-1)
    assert seen.mean() > 0.7 and (scs[seen] > 0).all() and (scs[seen] < 1).any()


def test_oracle_lifter_scores_zero_and_places_the_root_exactly(clips):
    walk = clips[0]
    cam = clip_views(walk.joints, EvalCameras())
    assert cam.shape == (4, walk.num_frames, 17, 3) and (cam[..., 2] > 1).all()
    truth = iter([(cam - cam[:, :, :1]).reshape(-1, 17, 3)])

    def oracle(norm, scores):
        assert norm.shape == (4 * walk.num_frames, 27, 17, 2)
        return next(truth)

    out = evaluate_clip(oracle, walk.joints, walk.fps, 27, True, None,
                        np.random.default_rng(0))
    assert pose_scores(out["pred"], out["ref"])["MPJPE"] < 1e-6
    assert pose_scores(out["mean_pose"], out["ref"])["MPJPE"] > 20  # the baseline moves
    assert np.median(out["depth_error_m"]["own size"]) < 1e-6
    assert np.median(out["depth_error_m"]["prior 1.70 m"]) > 0.01  # 1.62 m body, 1.70 m prior


def test_train_on_mocap_then_fine_tune(clips, tmp_path):
    config = TrainConfig(model=LifterConfig(window=27, causal=True, channels=16), epochs=2,
                         mocap_per_epoch=256, batch_size=64,
                         mocap_augment=MocapAugment(performances=4, seconds=1.5))
    model = train([], config, tmp_path / "pre", progress=False, mocap=clips,
                  errors=load_error_model())
    history = json.loads((tmp_path / "pre" / "history.json").read_text())
    assert len(history) == 2 and all(np.isfinite(h["loss"]) for h in history)
    tuned_config = TrainConfig(model=config.model, epochs=1, mocap_per_epoch=64, batch_size=64,
                               learning_rate=0.0, mocap_augment=config.mocap_augment,
                               init_from=str(tmp_path / "pre" / "checkpoint.pt"))
    tuned = train([], tuned_config, tmp_path / "tune", progress=False, mocap=clips)
    statistics = ("running_mean", "running_var", "num_batches_tracked")  # BN's, not learned
    before, after = model.state_dict(), tuned.state_dict()
    assert before.keys() == after.keys()
    learned = [name for name in before if not name.endswith(statistics)]
    assert learned and all(torch.equal(before[n], after[n]) for n in learned)  # lr 0: unchanged
    with pytest.raises(ValueError, match="nothing to train on"):
        train([], TrainConfig(model=config.model), tmp_path / "none", progress=False)


def test_mocap_training_is_deterministic(clips, tmp_path):
    config = TrainConfig(model=LifterConfig(window=27, causal=True, channels=16), epochs=1,
                         mocap_per_epoch=128, batch_size=64,
                         mocap_augment=MocapAugment(performances=3, seconds=1.0))
    runs = [train([], config, tmp_path / name, progress=False, mocap=clips,
                  errors=load_error_model()).state_dict() for name in ("a", "b")]
    for key, value in runs[0].items():
        assert torch.equal(value, runs[1][key]), key


def test_labels_of_a_self_calibrated_rig_are_seen_by_upright_virtual_cameras(clips):
    """Found by an audit of learning from one's own recording: a self-calibrated rig's frame
    is its reference camera's optical frame (y down), but the training's virtual cameras
    circled +z, so they saw those people lying down (N-MPJPE +12 mm on the held-out woman).
    The frame's up now comes from the people (body_frame.frame_up): +z exactly for a z-up
    frame (the shipped recipe's samples are unchanged), their own up otherwise."""
    from pose3d_ros.core.body_frame import frame_up
    from pose3d_ros.core.layouts import H36M17

    joints = clips[0].joints                                   # z up
    assert np.array_equal(frame_up(joints, H36M17), [0.0, 0.0, 1.0])
    # the same people in a camera's optical frame: x right, y down, z forward (+y of the world)
    optical = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    seen = joints @ optical.T
    up = frame_up(seen, H36M17)
    assert np.degrees(np.arccos(np.clip(up @ (optical @ [0, 0, 1]), -1, 1))) < 15

    def image_up(up_axis) -> float:
        """Mean y of the targets' unit trunk direction in the virtual cameras (-1: upright)."""
        *_, targets = virtual_views(seen, None, 300, 27, True, np.random.default_rng(2), 0.0,
                                    1000.0, up=up_axis, fps=clips[0].fps)
        trunk = targets[:, H36M17.index("thorax")] - targets[:, 0]
        return float(np.mean(trunk[:, 1] / np.linalg.norm(trunk, axis=-1)))
    assert image_up(up) < -0.8
    assert image_up(None) > -0.5                               # circling +z: lying people
