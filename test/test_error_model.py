"""The measured 2D error model: measuring recovers known errors, applying reproduces them."""
from __future__ import annotations

import numpy as np
import pytest

from pose3d_ros.core import error_model as em
from pose3d_ros.core import mocap_views as mv
from pose3d_ros.core.camera import Rig
from pose3d_ros.core.layouts import H36M17
from pose3d_ros.core.mocap import load_mocap
from pose3d_ros.tools import measure_error_model

LH, RH = H36M17.index("left_hip"), H36M17.index("right_hip")


@pytest.fixture(scope="module")
def projected():
    """Exact 2D of a walking person in one virtual camera: (F, 17, 2) pixels."""
    joints = load_mocap(["walk"])[0].joints
    cam = mv.random_camera(joints[:, 0].mean(0), np.random.default_rng(0),
                           mv.CameraSampling(aim_jitter_m=0.0, distance_m=(4.0, 4.0)))
    views = mv.project_scene(Rig("world", [cam]), joints[:, None])
    assert views.in_image.all()
    return views.keypoints[:, 0, 0]


def test_measuring_recovers_known_errors_swaps_and_misses(projected):
    rng = np.random.default_rng(1)
    ref = np.stack([projected[:20], projected[10:30]], axis=1)  # (F=20, V=2, 17, 2)
    scale = em.person_scale(ref)
    offsets = rng.normal(0, 0.01, ref.shape) * scale[..., None, None]
    det = ref + offsets
    det[3, 1, [LH, RH]] = det[3, 1, [RH, LH]]  # one left/right hip swap
    det[5, 0] = np.nan  # one missed person
    scores = rng.uniform(0.5, 1.0, ref.shape[:-1])
    model = em.measure_error_model(ref, det, scores, false_per_view=0.25, source="test")
    assert model.num_samples == 39 and model.person_miss_rate == pytest.approx(1 / 40)
    k = int(np.flatnonzero((model.frame == 3) & (model.camera == 1))[0])
    hip_pair = [i for i, (a, b) in enumerate(em.SWAP_PAIRS) if (a, b) == (LH, RH)][0]
    assert model.swapped[k, hip_pair] and model.swapped.sum() == 1
    expected = offsets[model.frame, model.camera] / scale[model.frame, model.camera, None, None]
    np.testing.assert_allclose(model.residuals, expected, atol=1e-6)  # swap undone
    np.testing.assert_allclose(model.scores, scores[model.frame, model.camera], atol=1e-6)
    assert model.summary()["false_per_view"] == 0.25
    with pytest.raises(ValueError, match="17"):
        em.measure_error_model(ref[..., :16, :], det[..., :16, :], scores[..., :16])


@pytest.mark.parametrize("path", [em.ERROR_MODEL_PATH, em.MULTI_ERROR_MODEL_PATH])
def test_the_shipped_models_are_measured_and_load(path):
    model = em.load_error_model(path)
    assert model.num_samples >= 300  # 4 cameras x 100 frames of the demo
    assert "blazepose" in model.source and "leave-one-camera-out" in model.source
    summary = model.summary()
    medians = np.array(list(summary["median_error_per_joint"].values()))
    assert np.all((medians > 0.002) & (medians < 0.2))  # of the person's 2D size
    assert 0.0 <= model.person_miss_rate < 0.5 and model.fps == 60.0
    assert np.all((model.scores >= 0) & (model.scores <= 1))
    with pytest.raises(ValueError, match="read-only"):
        model.residuals[0, 0, 0] = 1.0  # the cached model cannot be changed by a caller


def test_applying_reproduces_the_measured_statistics(projected):
    model = em.load_error_model()
    rng = np.random.default_rng(2)
    truth = np.broadcast_to(projected, (200,) + projected.shape)  # (200, F, 17, 2)
    noisy, conf = em.apply_error_model(truth, rng, model)
    assert noisy.shape == truth.shape and conf.shape == truth.shape[:-1]
    assert np.array_equal(np.isnan(noisy[..., 0]), conf == 0)
    scale = em.person_scale(truth)
    straight = np.linalg.norm(noisy - truth, axis=-1) / scale[..., None]
    swapped = em.detect_swaps(truth, noisy, scale)
    measured = np.median(np.linalg.norm(model.residuals, axis=-1))
    clean = straight[~swapped.any(-1)]
    assert np.nanmedian(clean) == pytest.approx(measured, rel=0.15)
    rate = model.swapped.mean(0)
    np.testing.assert_allclose(swapped.mean(axis=(0, 1)), rate, atol=0.03)
    hidden = np.zeros(truth.shape[:-1], bool)
    hidden[..., H36M17.index("left_wrist")] = True
    noisy, conf = em.apply_error_model(truth, rng, model, visible=~hidden)
    assert np.isnan(noisy[hidden]).all() and (conf[hidden] == 0).all()
    with pytest.raises(ValueError, match="17"):
        em.apply_error_model(truth[..., :5, :], rng, model)


def test_errors_follow_the_recording_over_time(projected):
    model = em.load_error_model()
    rng = np.random.default_rng(5)
    truth = np.broadcast_to(projected, (50,) + projected.shape)  # (50 sequences, F, 17, 2)
    scale = em.person_scale(truth)[..., None, None]
    steady, _ = em.apply_error_model(truth, rng, model, frames_axis=1, fps=60.0)
    shaky, _ = em.apply_error_model(truth, rng, model)
    change = [np.nanmedian(np.linalg.norm(np.diff((n - truth) / scale, axis=1), axis=-1))
              for n in (steady, shaky)]
    assert change[0] < 0.6 * change[1]  # the detector's errors are correlated in time
    picks = em._sequence_picks(model, rng, (3, 40), 1, model.fps)
    cams, frames = model.camera[picks], model.frame[picks]
    assert np.all(cams == cams[:, :1])  # one recorded camera per sequence
    assert np.median(np.abs(np.diff(frames, axis=1))) == 1  # consecutive recorded frames


def test_misses_drop_whole_people(projected):
    model = em.load_error_model()
    always_missed = em.ErrorModel(model.residuals, model.scores, model.swapped, model.camera,
                                  model.frame, 1.0, 0.0, "test")
    noisy, conf = em.apply_error_model(projected, np.random.default_rng(0), always_missed)
    assert np.isnan(noisy).all() and not conf.any()


def test_false_detections_are_partial_bodies_in_the_image(projected):
    rng = np.random.default_rng(4)
    fakes, scores = em.false_detections(rng, 200, (1280, 720), pose_pool=projected)
    assert fakes.shape == (200, 17, 2) and scores.shape == (200, 17)
    shown = np.isfinite(fakes[..., 0])
    assert np.array_equal(shown, scores > 0)
    assert (shown.sum(1) < 17).mean() > 0.5  # mostly partial
    centre = np.nanmean(fakes, axis=1)
    assert np.all((centre[:, 0] > -300) & (centre[:, 0] < 1580))
    height = np.nanmax(fakes[..., 1], 1) - np.nanmin(fakes[..., 1], 1)
    assert np.nanmax(height) <= 0.7 * 720 + 1


def test_the_measuring_tool_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "model.json"
    out.write_text("{}")
    assert measure_error_model.run_cli(measure_error_model.main, ["--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--overwrite" in err     # as every tool says it
    assert out.read_text() == "{}"
    with pytest.raises(ValueError, match="not an error model"):
        em.load_error_model(out)


def _synthetic_demo(num_people, frames=6):
    """Exact BlazePose-33 2D of people seen by a 4-camera synthetic rig."""
    from pose3d_ros.core.synthetic import observe, random_poses, random_rig

    rng = np.random.default_rng(11)
    rig = random_rig(4, rng, distortion_scale=0.0)
    poses = random_poses(frames, num_people, rng, area_radius=1.5)  # (F, P, 33, 3)
    obs = observe(rig, poses, rng, noise_px=0.0)  # keypoints (F, P, V, 33, 2)
    return rig, poses, np.moveaxis(obs.keypoints, 2, 1), np.moveaxis(obs.scores, 2, 1)


def test_references_are_the_projections_of_the_other_cameras():
    from pose3d_ros.core import error_measurement as meas
    from pose3d_ros.core.layouts import BLAZEPOSE33, convert_joints

    rig, poses, kp, sc = _synthetic_demo(1)
    ref = meas.reference_2d(rig.cameras, kp[:, :, 0], np.ones_like(sc[:, :, 0]))
    truth = np.moveaxis(rig.project(convert_joints(poses[:, 0], BLAZEPOSE33, H36M17)), 1, 1)
    np.testing.assert_allclose(ref, truth, atol=1e-3)


def test_matching_and_multi_person_references_find_each_person():
    from pose3d_ros.core import error_measurement as meas
    from pose3d_ros.core.layouts import BLAZEPOSE33, convert_joints

    rig, poses, kp, sc = _synthetic_demo(2)
    sizes = np.array([[c.width, c.height] for c in rig])
    refs = meas.multi_person_references(rig.cameras, kp, np.ones_like(sc), sizes, max_people=3)
    truth = rig.project(convert_joints(poses, BLAZEPOSE33, H36M17))  # (F, P, V, 17, 2)
    cand = convert_joints(kp[:, :, ::-1], BLAZEPOSE33, H36M17)  # detections in another order
    detected, scores, index = meas.match_detections(refs, cand, np.ones(cand.shape[:-1]))
    found = index >= 0  # (F, V, T)
    assert found.sum(axis=2).min() == 2  # both people matched in every view
    for v in range(4):  # tracks are per held-out camera, steady over the frames
        gap = np.linalg.norm(refs[0, v, :2] - truth[0, :, v][:, None], axis=-1).mean(-1)
        track_of = gap.argmin(axis=1)  # (P,) the track of each person
        assert sorted(track_of) == [0, 1]
        for p, t in enumerate(track_of):
            np.testing.assert_allclose(refs[:, v, t], truth[:, p, v], atol=1e-3)
            np.testing.assert_array_equal(index[:, v, t], 1 - p)  # candidates were reversed
    assert np.isnan(refs[:, :, 2]).all()
    far = cand + 400.0  # nothing near the references: no match
    assert (meas.match_detections(refs, far, np.ones(far.shape[:-1]))[2] == -1).all()
