"""Root placement, body-size prior, normalisation and test-time refinement of the lifter."""
from __future__ import annotations

import numpy as np
import pytest

from pose3d_ros.core.body_model import bone_lengths
from pose3d_ros.core.layouts import H36M17
from pose3d_ros.core.lifting.normalization import (
    lifter_features,
    normalised_to_pixels,
    pixels_to_normalised,
)
from pose3d_ros.core.lifting.refine import refine_relative_to_2d, refine_to_2d
from pose3d_ros.core.lifting.root_placement import (
    BodySizePrior,
    place_in_camera,
    refine_root_translation,
    scale_to_prior,
    solve_root_translation,
    solve_root_translation_torch,
)

K = np.array([[1400.0, 0, 540.0], [0, 1400.0, 960.0], [0, 0, 1]])


def _skeleton() -> np.ndarray:
    """A standing H36M-17 person (metres, optical axes: y down), root at the origin."""
    pts = {
        "pelvis": (0, 0, 0), "right_hip": (-0.1, 0, 0), "right_knee": (-0.1, 0.42, 0.02),
        "right_ankle": (-0.1, 0.84, 0), "left_hip": (0.1, 0, 0), "left_knee": (0.1, 0.42, 0.03),
        "left_ankle": (0.1, 0.84, 0.05), "spine": (0, -0.25, 0), "thorax": (0, -0.5, 0),
        "nose": (0, -0.65, -0.1), "head": (0, -0.72, 0), "left_shoulder": (0.2, -0.5, 0),
        "left_elbow": (0.3, -0.25, 0.05), "left_wrist": (0.35, -0.02, -0.1),
        "right_shoulder": (-0.2, -0.5, 0), "right_elbow": (-0.3, -0.25, 0.1),
        "right_wrist": (-0.25, -0.05, -0.2)}
    return np.array([pts[n] for n in H36M17.joint_names], float)


def _people(rng, n):
    """n rotated skeletons (n, 17, 3) and root translations (n, 3) in front of the camera."""
    yaw = rng.uniform(-np.pi, np.pi, n)
    c, s = np.cos(yaw), np.sin(yaw)
    R = np.zeros((n, 3, 3))
    R[:, 0, 0], R[:, 0, 2], R[:, 1, 1], R[:, 2, 0], R[:, 2, 2] = c, s, 1, -s, c
    rel = np.einsum("nij,kj->nki", R, _skeleton())
    t = np.stack([rng.uniform(-1, 1, n), rng.uniform(-0.3, 0.5, n), rng.uniform(2, 7, n)], -1)
    return rel, t


def _project(points):
    return points[..., :2] / points[..., 2:3]


def test_root_translation_is_exact_without_noise_and_vectorised():
    rng = np.random.default_rng(0)
    rel, t = _people(rng, 12)
    rel, t = rel.reshape(3, 4, 17, 3), t.reshape(3, 4, 3)  # (frames, people, ...)
    x = _project(rel + t[..., None, :])
    w = rng.uniform(0.3, 1.0, x.shape[:-1])
    t_lin = solve_root_translation(rel, x, w)
    assert t_lin.shape == (3, 4, 3)
    np.testing.assert_allclose(t_lin, t, atol=1e-9)


def test_refine_improves_the_linear_solution_under_noise():
    rng = np.random.default_rng(1)
    rel, t = _people(rng, 50)
    x = _project(rel + t[:, None]) + rng.normal(0, 3 / 1400, (50, 17, 2))
    w = np.ones((50, 17))
    t_lin = solve_root_translation(rel, x, w)
    t_gn = refine_root_translation(rel, x, w, t_lin)

    def reproj(tt):
        return np.abs(_project(rel + tt[:, None]) - x).mean()

    assert reproj(t_gn) <= reproj(t_lin) + 1e-12
    assert np.median(np.linalg.norm(t_gn - t, axis=-1)) < 0.1


def test_refine_reaches_the_weighted_reprojection_minimum():
    """The closed-form Gauss-Newton steps land where a general least-squares solver (scipy)
    puts the root of the confidence-weighted reprojection residuals."""
    from scipy.optimize import least_squares
    rng = np.random.default_rng(5)
    rel, t = _people(rng, 6)
    x = _project(rel + t[:, None]) + rng.normal(0, 4 / 1400, (6, 17, 2))
    w = rng.uniform(0.2, 1.0, (6, 17))
    t_gn = refine_root_translation(rel, x, w, solve_root_translation(rel, x, w), iterations=10)
    for k in range(6):
        def residual(tt, k=k):
            return ((_project(rel[k] + tt) - x[k]) * np.sqrt(w[k])[:, None]).ravel()
        best = least_squares(residual, t[k], xtol=1e-14, ftol=1e-14, gtol=1e-14).x
        np.testing.assert_allclose(t_gn[k], best, atol=1e-7)


def test_refine_stops_early_only_where_it_has_converged():
    """The early exit (GAUSS_NEWTON_TOLERANCE_M) lands within a micrometre of running every
    iteration, from a start 0.3 m off; a tolerance too loose would not."""
    rng = np.random.default_rng(6)
    rel, t = _people(rng, 20)
    x = _project(rel + t[:, None]) + rng.normal(0, 4 / 1400, (20, 17, 2))
    w = rng.uniform(0.2, 1.0, (20, 17))
    start = t + rng.normal(0, 0.3, t.shape)
    full = refine_root_translation(rel, x, w, start, iterations=12, tolerance_m=0.0)
    early = refine_root_translation(rel, x, w, start, iterations=12)
    np.testing.assert_allclose(early, full, atol=1e-6)
    loose = refine_root_translation(rel, x, w, start, iterations=12, tolerance_m=1.0)
    assert np.abs(loose - full).max() > 1e-4


def test_missing_joints_are_ignored_and_too_few_give_nan():
    rng = np.random.default_rng(2)
    rel, t = _people(rng, 2)
    x = _project(rel + t[:, None])
    x[0, 3:] = np.nan  # person 0: only 3 joints seen
    x[1, 1:] = np.nan  # person 1: only the root -> not enough
    t_hat = solve_root_translation(rel, x, np.ones((2, 17)))
    np.testing.assert_allclose(t_hat[0], t[0], atol=1e-9)
    assert np.isnan(t_hat[1]).all()


def test_torch_solve_matches_numpy():
    import torch

    rng = np.random.default_rng(3)
    rel, t = _people(rng, 5)
    x = _project(rel + t[:, None]) + rng.normal(0, 1e-3, (5, 17, 2))
    w = rng.uniform(0, 1, (5, 17))
    got = solve_root_translation_torch(torch.from_numpy(rel), torch.from_numpy(x),
                                       torch.from_numpy(w)).numpy()
    # the torch twin adds a 1e-6 ridge to the normal equations for stable gradients
    np.testing.assert_allclose(got, solve_root_translation(rel, x, w), rtol=1e-4, atol=1e-5)


def test_body_size_prior_sets_the_metric_depth():
    rng = np.random.default_rng(4)
    rel, t = _people(rng, 4)
    x = _project(rel + t[:, None])
    prior = BodySizePrior(height_m=1.70)
    small = rel * 0.5  # a skeleton of the wrong size
    scaled, scale = scale_to_prior(small, prior)
    np.testing.assert_allclose(np.nansum(bone_lengths(scaled), -1), prior.lengths().sum())
    placed, t_hat = place_in_camera(small, x, np.ones((4, 17)), prior=prior)
    # the projection is right whatever the size; depth follows the prior's size
    np.testing.assert_allclose(_project(placed), x, atol=1e-6)
    true_scale = prior.lengths().sum() / bone_lengths(rel).sum(-1)
    np.testing.assert_allclose(t_hat[:, 2], t[:, 2] * true_scale, rtol=1e-6)


def test_prior_weight_fuses_own_size_and_prior_in_log_scale():
    rel = _skeleton()
    prior = BodySizePrior(height_m=1.70)
    full = prior.lengths().sum() / np.nansum(bone_lengths(rel))
    for weight in (0.0, 0.5, 1.0):
        _, scale = scale_to_prior(rel, BodySizePrior(height_m=1.70, weight=weight))
        np.testing.assert_allclose(scale, full ** weight)
    with pytest.raises(ValueError, match="weight"):
        BodySizePrior(weight=1.5)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="height_m"):
        BodySizePrior(height_m=170)
    with pytest.raises(ValueError, match="bone_lengths_m"):
        BodySizePrior(bone_lengths_m=(0.3, 0.4))
    with pytest.raises(ValueError, match="disagree"):
        solve_root_translation(np.zeros((17, 3)), np.zeros((16, 2)), np.ones(17))
    with pytest.raises(ValueError, match="K must"):
        pixels_to_normalised(np.zeros((17, 2)), np.eye(2))


def test_normalisation_round_trip_and_features():
    rng = np.random.default_rng(5)
    px = rng.uniform(0, 1000, (2, 27, 17, 2))
    norm = pixels_to_normalised(px, K)
    np.testing.assert_allclose(normalised_to_pixels(norm, K), px)
    scores = np.ones((2, 27, 17))
    f = lifter_features(norm, scores)
    assert f.shape == (2, 27, 17 * 3 + 2) and f.dtype == np.float32
    rel = f[..., :34].reshape(2, 27, 17, 2)
    np.testing.assert_allclose(rel[..., 0, :], 0, atol=1e-7)  # root-relative
    np.testing.assert_allclose(np.sqrt((rel ** 2).sum((-1, -2)) / 17), 1, rtol=1e-5)
    # the 2D scale (person distance) does not change the pose part of the features
    f2 = lifter_features(norm[..., :1, :] + 0.5 * (norm - norm[..., :1, :]), scores)
    np.testing.assert_allclose(f2[..., :51], f[..., :51], atol=1e-5)
    # a missing joint gets score 0 and coordinates 0; a missing root blanks the frame
    norm[0, 0, 5] = np.nan
    norm[1, 3, 0] = np.nan
    f = lifter_features(norm, scores)
    assert f[0, 0, 34 + 5] == 0 and (f[0, 0, 10:12] == 0).all()
    assert (f[1, 3] == 0).all()


def test_refinement_pulls_joints_onto_their_rays_and_keeps_bones():
    """A lift whose body is turned a little (a lifter's typical error: right bones, wrong
    directions) moves towards the exact 2D where the 2D is confident; bone lengths stay, an
    unsupported joint is not pulled; a missing joint stays missing."""
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(6)
    rel, t = _people(rng, 6)
    truth = rel + t[:, None]
    x = _project(truth)
    turn = Rotation.from_rotvec(rng.normal(0, 0.12, (6, 3))).as_matrix()
    lifted = np.einsum("nij,nkj->nki", turn, rel) + t[:, None]
    scores = np.ones((6, 17))
    wrist = H36M17.index("left_wrist")
    scores[:, wrist] = 0.0  # unsupported by the 2D
    refined = refine_to_2d(lifted, x, scores)
    supported = np.arange(17) != wrist
    err_before = np.linalg.norm(_project(lifted) - x, axis=-1)[:, supported].mean()
    err_after = np.linalg.norm(_project(refined) - x, axis=-1)[:, supported].mean()
    assert err_after < 0.5 * err_before
    np.testing.assert_allclose(bone_lengths(refined), bone_lengths(lifted), atol=1e-9)
    # the unsupported wrist is not pulled onto its ray, as it is when supported
    wrist_error = lambda p: np.linalg.norm(_project(p) - x, axis=-1)[:, wrist].mean()  # noqa
    assert wrist_error(refined) > 1.5 * wrist_error(refine_to_2d(lifted, x, np.ones((6, 17))))
    # zero confidence everywhere: nothing moves
    np.testing.assert_allclose(refine_to_2d(lifted, x, np.zeros((6, 17))), lifted, atol=1e-12)
    lifted[0, 4] = np.nan
    out = refine_to_2d(lifted, x, scores)
    assert np.isnan(out[0, 4]).all() and np.isfinite(np.delete(out[0], 4, axis=0)).all()


def test_refining_root_relative_skeletons_places_them_first_and_keeps_the_unplaceable():
    """refine_relative_to_2d: the same pull as refine_to_2d on the placed skeleton, returned
    root-relative; a person with fewer than two usable 2D joints comes back unchanged."""
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(8)
    rel, t = _people(rng, 3)
    x = _project(rel + t[:, None])
    turn = Rotation.from_rotvec(rng.normal(0, 0.12, (3, 3))).as_matrix()
    lifted = np.einsum("nij,nkj->nki", turn, rel)
    scores = np.ones((3, 17))
    scores[2, 1:] = 0.0                      # only the pelvis is usable: cannot be placed
    out = refine_relative_to_2d(lifted, x, scores)
    placed, _ = place_in_camera(lifted[:2], x[:2], scores[:2], refine=False)
    expected = refine_to_2d(placed, x[:2], scores[:2])
    np.testing.assert_allclose(out[:2], expected - expected[:, :1], atol=1e-12)
    np.testing.assert_allclose(out[:, 0], 0.0, atol=1e-12)
    np.testing.assert_array_equal(out[2], lifted[2])


def test_placed_confidence_is_the_2d_score_clipped_to_0_1_and_0_where_nothing_was_placed():
    """A review: to_camera_frame with scores of 5 (a foreign detector's heatmap maxima)
    published confidences of 5, documented in [0, 1]."""
    from pose3d_ros.core.lifting.root_placement import placed_confidence

    placed = np.array([[0.0, 0.0, 3.0], [np.nan, 0.0, 3.0], [0.1, 0.0, 3.0],
                       [0.2, 0.0, 3.0], [0.3, 0.0, 3.0]])
    scores = np.array([5.0, 0.9, np.nan, -1.0, np.inf])
    np.testing.assert_array_equal(placed_confidence(placed, scores),
                                  np.array([1.0, 0.0, 0.0, 0.0, 1.0], np.float32))
