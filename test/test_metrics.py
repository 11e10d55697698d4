"""Metrics against hand-computed cases (MPJPE, Procrustes, scale, PSS, PCK/AUC, temporal, ids)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from pose3d_ros.core import metrics


def _pose(seed: int = 0, joints: int = 17) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=0.3, size=(joints, 3))


def test_mpjpe_hand_case_and_missing_joints_are_excluded_and_counted():
    ref = np.zeros((2, 3, 3))
    pred = ref.copy()
    pred[0, 0] = [0.3, 0.4, 0.0]          # 0.5 m error
    pred[1, 2] = [0.0, 0.0, 0.2]          # 0.2 m error
    pred[1, 1] = np.nan                   # missing in the prediction
    ref[0, 2, 1] = np.nan                 # missing in the reference
    result = metrics.mpjpe(pred, ref)
    assert result.num_valid == 4 and result.num_missing == 2
    assert result.mean == pytest.approx((0.5 + 0.0 + 0.0 + 0.2) / 4)
    np.testing.assert_allclose(result.per_frame, [0.25, 0.1])
    np.testing.assert_allclose(result.per_joint, [0.0 + 0.5 / 2, 0.0, 0.2])


def test_mpjpe_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="differs"):
        metrics.mpjpe(np.zeros((2, 17, 3)), np.zeros((2, 16, 3)))


def test_procrustes_removes_rotation_scale_translation():
    ref = np.stack([_pose(0), _pose(1)])
    rot = Rotation.from_euler("xyz", [[30, -50, 110], [5, 80, -20]], degrees=True).as_matrix()
    pred = 1.7 * np.einsum("nik,njk->nji", rot, ref) + np.array([[[1.0, -2.0, 0.5]]])
    assert metrics.mpjpe(pred, ref).mean > 0.3
    assert metrics.p_mpjpe(pred, ref).mean == pytest.approx(0.0, abs=1e-9)
    # Missing joints take no part in the alignment and still give ~0 on the rest.
    pred[0, 3] = np.nan
    ref[1, 5] = np.nan
    result = metrics.p_mpjpe(pred, ref)
    assert result.num_missing == 2
    assert result.mean == pytest.approx(0.0, abs=1e-9)


def test_procrustes_does_not_allow_a_reflection():
    ref = _pose(2)
    mirrored = ref * np.array([-1.0, 1.0, 1.0])
    assert metrics.p_mpjpe(mirrored, ref).mean > 0.01


def test_procrustes_residual_hand_case():
    # A pure translation aligns to 0; a non-rigid change keeps a residual, smaller than the
    # unaligned error (the identity is one of the similarities Procrustes searches).
    ref = np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    assert metrics.p_mpjpe(ref + 5.0, ref).mean == pytest.approx(0.0, abs=1e-12)
    bent = ref.copy()
    bent[2, 2] = 0.2
    assert metrics.p_mpjpe(bent, ref).mean < metrics.mpjpe(bent, ref).mean


def test_frames_with_too_few_joints_cannot_be_aligned():
    ref = _pose(3)[:4]
    pred = ref.copy()
    pred[:2] = np.nan  # only 2 common joints left
    result = metrics.p_mpjpe(pred, ref)
    assert result.num_valid == 0 and np.isnan(result.mean)


def test_procrustes_is_scipys_kabsch_rotation_with_the_least_squares_scale():
    """procrustes_align (array_ops.masked_rigid_fit with scale) against an independent
    reference per frame: scipy's Kabsch (Rotation.align_vectors) on the joints valid in both,
    the scale s = sum y.Rx / sum |x|^2 that minimises the error for that rotation."""
    from pose3d_ros.core.array_ops import masked_rigid_fit

    rng = np.random.default_rng(11)
    n, j = 60, 17
    pred = rng.normal(scale=0.3, size=(n, j, 3))
    rot = Rotation.random(n, random_state=12).as_matrix()
    ref = (rng.uniform(0.5, 2.0, size=(n, 1, 1)) * np.einsum("nik,njk->nji", rot, pred)
           + rng.normal(size=(n, 1, 3)) + rng.normal(scale=0.03, size=(n, j, 3)))
    ref[7] = pred[7] * [-1.0, 1.0, 1.0]                  # a mirror image: no reflection
    pred[rng.random((n, j)) < rng.uniform(0.0, 0.9, size=(n, 1))] = np.nan
    ref[rng.random((n, j)) < 0.2] = np.nan
    valid = ~(np.isnan(pred).any(-1) | np.isnan(ref).any(-1))
    pred[3, valid[3]] = [0.5, 0.25, 0.125]               # its common joints coincide: no scale
    aligned = metrics.procrustes_align(pred, ref)
    np.testing.assert_array_equal(aligned, masked_rigid_fit(pred, ref, valid, scale=True))
    assert valid.sum(1).min() < 3 and np.isnan(aligned[3]).all()
    for i in np.flatnonzero(valid.sum(1) >= 3):
        if i == 3:
            continue
        x_mean, y_mean = pred[i, valid[i]].mean(0), ref[i, valid[i]].mean(0)
        x, y = pred[i, valid[i]] - x_mean, ref[i, valid[i]] - y_mean
        best = Rotation.align_vectors(y, x)[0]
        scale = (y * best.apply(x)).sum() / (x * x).sum()
        np.testing.assert_allclose(aligned[i], scale * best.apply(pred[i] - x_mean) + y_mean,
                                   atol=1e-10)      # NaN where pred is NaN
    assert np.isnan(aligned[valid.sum(1) < 3]).all()


def test_n_mpjpe_scale_only_hand_case():
    ref = np.array([[1.0, 0, 0], [0, 1, 0]])
    pred = np.array([[2.0, 0, 0], [0, 0, 0]])
    # s = <x, y> / <x, x> = 2 / 4 -> aligned [[1,0,0],[0,0,0]] -> errors 0 and 1.
    assert metrics.n_mpjpe(pred, ref, centre=False).mean == pytest.approx(0.5)
    # Scale and translation are removed with centring, rotation is not.
    ref3 = _pose(4)
    assert metrics.n_mpjpe(0.5 * ref3 + 3.0, ref3, centre=True).mean == pytest.approx(0.0,
                                                                           abs=1e-12)
    rot = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    assert metrics.n_mpjpe(ref3 @ rot.T, ref3, centre=True).mean > 0.05


def test_pose_scores_n_mpjpe_is_scale_only_about_the_root():
    """Rhodin et al. 2018's N-MPJPE (VideoPose3D's n_mpjpe): root-relative poses scaled by the
    least-squares s, no translation. Centring on the joints' mean (the old pose_scores) gave
    205.1 mm here."""
    ref = np.array([[[0.0, 0, 0], [1, 0, 0], [-1, 0, 0]]])
    pred = np.array([[[0.0, 0, 0], [1.5, 0, 0], [-0.5, 0, 0]]])
    # s = (1.5 + 0.5) / (2.25 + 0.25) = 0.8 -> [0, 1.2, -0.4] -> errors 0, 0.2, 0.6 m
    assert metrics.pose_scores(pred, ref)["N-MPJPE"] == pytest.approx(800 / 3)


def test_pck_and_auc_hand_case():
    ref = np.zeros((4, 3))
    pred = np.array([[0.1, 0, 0], [0, 0.2, 0], [0, 0, 0.15], [np.nan, 0, 0]])
    # strictly below the threshold, as MPI-INF-3DHP's mpii_compute_3d_pck.m counts: the joint
    # at exactly 150 mm is out (the code before a review counted it: 2/3)
    assert metrics.pck3d(pred, ref) == pytest.approx(1 / 3)
    assert metrics.pck3d(pred, ref, threshold=0.1501) == pytest.approx(2 / 3)
    assert metrics.pck3d(pred, ref, threshold=0.05) == 0.0
    # PCK at 0, 0.1, 0.2 m: 0, 0, 2/3 -> mean 2/9 (a joint at a threshold is not below it).
    assert metrics.auc(pred, ref, thresholds=np.array([0.0, 0.1, 0.2])) == pytest.approx(2 / 9)
    # an exact joint (a root-relative pose's root) is not within 0 mm: 30 of 31 thresholds
    assert metrics.auc(np.zeros((1, 3)), np.zeros((1, 3))) == pytest.approx(30 / 31)
    with pytest.raises(ValueError, match="PCK threshold must be >= 0 m"):
        metrics.pck3d(pred, ref, threshold=-1)


def _pss_vocabulary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.array([[0.0, 0, 0], [0, 1, 0], [0, 2, 0], [1, 2, 0]])    # an "L"
    b = np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [2, 0, 1]])    # a different "L"
    centres = metrics.normalise_poses(np.stack([a, b]))
    return a, b, centres


def test_pss_hand_case_with_given_clusters():
    a, b, centres = _pss_vocabulary()
    ref = np.stack([a, a, b, b, a])
    pred = np.stack([
        3.0 * a,                # same cluster as its reference (PSS is scale free)
        b,                      # wrong cluster
        b + 0.01,               # same
        a,                      # wrong
        a,                      # not scored: the reference below misses a joint
    ])
    ref[4, 1] = np.nan
    result = metrics.pss(pred, ref, centres=centres)
    assert result.num_frames == 4 and result.num_skipped == 1
    assert result.score == pytest.approx(0.5)


def test_pss_normalises_root_relative_poses_by_their_norm_alone():
    """Kocabas et al.'s PSS: delta(C(p / ||p||), C(q / ||q||)) of root-relative poses (the
    code before also centred each pose on its joints' mean, which took (J-1)/J of a body's
    offset from its root away). A body 0.5 m off its root is told from the same body on it
    when the vocabulary holds both."""
    a, b, centres = _pss_vocabulary()
    np.testing.assert_allclose(metrics.normalise_poses(a[None])[0],
                               a.ravel() / np.linalg.norm(a))
    np.testing.assert_allclose(centres[1], b.ravel() / np.linalg.norm(b))
    off_root = a + [0.5, 0.0, 0.0]
    off_root[0] = 0.0                                       # the root stays at the origin
    both = np.concatenate([centres, metrics.normalise_poses(off_root[None])])
    assert metrics.pss(off_root[None], a[None], centres=both).score == 0.0
    assert metrics.pss(a[None], a[None], centres=both).score == 1.0


def test_pss_with_clusters_from_the_reference():
    a, b, _ = _pss_vocabulary()
    rng = np.random.default_rng(0)
    ref = np.stack([a] * 10 + [b] * 10) + rng.normal(scale=0.01, size=(20, 4, 3))
    assert metrics.pss(ref.copy(), ref, k=2).score == 1.0
    swapped = np.concatenate([ref[10:], ref[:10]])
    assert metrics.pss(swapped, ref, k=2).score == 0.0


def test_velocity_and_acceleration_error_hand_case():
    ref = np.zeros((3, 1, 3))
    pred = np.zeros((3, 1, 3))
    pred[:, 0, 0] = [0.0, 0.5, 1.0]  # 1 m/s at dt = 0.5 s
    vel = metrics.velocity_error(pred, ref, dt=0.5)
    np.testing.assert_allclose(vel.errors, [[1.0], [1.0]])
    assert metrics.acceleration_error(pred, ref, dt=0.5).mean == pytest.approx(0.0)
    pred[:, 0, 0] = [0.0, 0.0, 1.0]  # v = 0 then 1 m/s over 1 s -> a = 1 m/s^2
    assert metrics.acceleration_error(pred, ref, dt=1.0).mean == pytest.approx(1.0)
    assert metrics.jitter(pred, stamps=np.array([0.0, 1.0, 2.0])).mean == pytest.approx(1.0)


def test_temporal_metrics_guard_the_time_step():
    poses = np.zeros((3, 2, 3))
    with pytest.raises(ValueError, match="dt must be > 0"):
        metrics.velocity_error(poses, poses, dt=0.0)
    with pytest.raises(ValueError, match="strictly increase"):
        metrics.velocities(poses, stamps=np.array([0.0, 0.1, 0.1]))
    with pytest.raises(ValueError, match="exactly one"):
        metrics.velocities(poses)


def test_reprojection_error_hand_case():
    K = np.array([[100.0, 0, 50], [0, 100, 40], [0, 0, 1]])
    P = np.stack([K @ np.hstack([np.eye(3), [[0], [0], [0]]]),
                  K @ np.hstack([np.eye(3), [[-1], [0], [0]]])])
    points = np.array([[0.0, 0, 2], [0.2, 0, 2]])
    keypoints = np.array([[[53.0, 44], [60, 40]],      # camera 0: (50,40)+(3,4); exact
                          [[0.0, 40], [np.nan, np.nan]]])  # camera 1: x=-1 -> u=0; missing
    result = metrics.reprojection_error(points, keypoints, P)
    np.testing.assert_allclose(result.errors, [[5.0, 0.0], [0.0, np.nan]])
    behind = metrics.project(np.array([[0.0, 0, -1]]), P[:1])
    assert np.isnan(behind).all()


def test_matching_detection_rate_and_id_switches():
    a, b = _pose(5), _pose(6) + 3.0
    matching = metrics.match_people([np.stack([b, a]), np.stack([a]), np.zeros((0, 17, 3))],
                                    [np.stack([a, b]), np.stack([b]), np.stack([a])])
    np.testing.assert_array_equal(matching.pairs[0], [[0, 1], [1, 0]])
    assert len(matching.pairs[1]) == 0  # a is far from b: no match
    assert len(matching.pairs[2]) == 0
    rate = metrics.detection_rate([len(p) for p in matching.pairs], [2, 1, 1])
    assert (rate.detected, rate.expected) == (2, 4) and rate.rate == pytest.approx(0.5)
    assert metrics.detection_rate([3], [1]).rate == 1.0  # extras do not raise the rate
    ref_ids = [[1, 2], [1, 2], [1], [1], [2]]
    pred_ids = [[10, 20], [20, 10], [20], [10], [10]]
    # frame 1: both switch (2); frame 2: no change; frame 3: 1 switches back (1); frame 4: 2
    # keeps 10 (0) -> 3.
    assert metrics.id_switches(ref_ids, pred_ids) == 3
    with pytest.raises(ValueError):
        metrics.id_switches([[1]], [[1, 2]])


def test_matching_takes_only_pairs_within_the_gate_and_keeps_given_pairs_first():
    """Pairs beyond max_distance are no candidates (CLEAR-MOT): two people each within the gate
    of their own prediction are both matched, although the least total cost pairs one of them
    beyond it (0.673 + 0.01 < 0.49 + 0.45; one match before). keep: pairs taken first where
    they qualify."""
    ref = np.array([[[0.0, 0, 0]], [[0.5, 0, 0]]])
    pred = np.array([[[0.49, 0, 0]], [[0.5, 0.45, 0]]])
    # costs: pred 0 - ref 0 0.49, - ref 1 0.01; pred 1 - ref 0 0.673, - ref 1 0.45
    pairs, cost = metrics.match_frame(pred, ref, max_distance=0.5)
    assert pairs.tolist() == [[0, 0], [1, 1]]
    np.testing.assert_allclose(cost, [0.49, 0.45])
    # with a wider gate the least total cost (0.683 < 0.94) ...
    assert metrics.match_frame(pred, ref, max_distance=0.7)[0].tolist() == [[0, 1], [1, 0]]
    # ... unless a pair is kept (CLEAR-MOT's of the frame before); one beyond the gate is not
    pairs, _ = metrics.match_frame(pred, ref, max_distance=0.7, keep=np.array([[0, 0]]))
    assert pairs.tolist() == [[0, 0], [1, 1]]
    pairs, _ = metrics.match_frame(pred, ref, max_distance=0.5, keep=np.array([[1, 0]]))
    assert pairs.tolist() == [[0, 0], [1, 1]]
    with pytest.raises(ValueError, match="one-to-one"):
        metrics.match_frame(pred, ref, keep=np.array([[0, 0], [1, 0]]))
    with pytest.raises(ValueError, match="one-to-one"):
        metrics.match_frame(pred, ref, keep=np.array([[2, 0]]))
    # CLEAR-MOT's pairs to keep: the reference people whose previous track is back
    kept = metrics.continued_pairs({1: 10, 2: 20, 3: 30}, np.array([3, 1, 2]),
                                   np.array([20, 40, 30]))
    assert kept.tolist() == [[2, 0], [0, 2]]
    with pytest.raises(ValueError, match="both"):
        metrics.match_people([pred], [ref], pred_ids=[np.array([1, 2])])


def test_matching_in_the_image_is_relative_to_each_reference_persons_scale():
    """match_frame on 2D keypoints with a per-reference scale (image_identities' cost: mean
    pixel distance over the reference person's size), against every assignment tried."""
    from itertools import permutations

    ref = np.zeros((2, 4, 2))
    ref[1] += 100.0
    pred = ref[:1] + [30.0, 0.0]                          # 30 px from ref 0, 122 px from ref 1
    assert metrics.match_frame(pred, ref)[0].tolist() == []         # 0.5 px: too far
    assert metrics.match_frame(pred, ref, max_distance=50)[0].tolist() == [[0, 0]]
    pairs, cost = metrics.match_frame(pred, ref, ref_scale=np.array([50.0, 1000.0]))
    assert pairs.tolist() == [[0, 1]] and cost == pytest.approx(np.hypot(70, 100) / 1000)
    with pytest.raises(ValueError, match="positive"):
        metrics.match_frame(pred, ref, ref_scale=np.array([50.0, 0.0]))
    # a pair with no common joint is never matched, not even with no distance limit
    lost = np.full((1, 4, 2), np.nan)
    assert metrics.match_people([lost], [ref], max_distance=np.inf).pairs[0].size == 0
    rng = np.random.default_rng(3)
    for _ in range(200):
        p, q = (int(n) for n in rng.integers(1, 5, size=2))
        a = rng.normal(scale=50.0, size=(p, 5, 2))
        b = rng.normal(scale=50.0, size=(q, 5, 2))
        a[rng.random((p, 5)) < 0.4] = np.nan
        b[rng.random((q, 5)) < 0.4] = np.nan
        scale = rng.uniform(20.0, 200.0, size=q)
        limit = float(rng.choice([0.3, 1.0, np.inf]))
        cost = metrics.mean_joint_distances(a, b) / scale                  # (P, Q)
        # every assignment of min(P, Q) pairs: most pairs within the limit (a pair beyond it
        # or with no common joint is no candidate, as in CLEAR-MOT), then their least cost
        best: tuple = (np.inf, np.inf, [])
        for order in permutations(range(max(p, q)), min(p, q)):
            pair = list(zip(range(p), order, strict=True) if p <= q
                        else zip(order, range(q), strict=True))
            c = np.array([cost[i, k] for i, k in pair])
            ok = np.isfinite(c) & (c <= limit)
            best = min(best, (-int(ok.sum()), float(c[ok].sum()),
                              [ik for ik, good in zip(pair, ok, strict=True) if good]),
                       key=lambda item: item[:2])
        expected = sorted(best[2])
        found = metrics.match_frame(a, b, max_distance=limit, ref_scale=scale)[0]
        assert sorted(map(tuple, found.tolist())) == expected


def test_predictions_are_laid_out_per_reference_person():
    from pose3d_ros.core.metrics import matched_to_reference

    ref = np.zeros((2, 2, 3, 3))
    ref[:, 1] += 3.0                                  # two people 3 m apart
    present = np.array([[True, True], [False, True]])
    pred = [ref[0, ::-1] + 0.01, ref[1, 1:] + 0.02]   # listed in another order; one absent
    matched = matched_to_reference(pred, ref, present)
    np.testing.assert_allclose(matched[0], ref[0] + 0.01)
    assert np.isnan(matched[1, 0]).all()
    np.testing.assert_allclose(matched[1, 1], ref[1, 1] + 0.02)


def test_an_infinite_missing_cost_makes_a_pair_unmatchable():
    """missing_cost=inf (a joint the reference has and the prediction lacks rules the pair
    out) gave the mean of the other joints once the mean went through the shared helper,
    which counts finite distances only (a review of that consolidation)."""
    pred = np.array([[[0.0, 0.0, 0.0], [np.nan, np.nan, np.nan]]])
    ref = np.array([[[0.25, 0.0, 0.0], [1.0, 0.0, 0.0]]])
    assert metrics.mean_joint_distances(pred, ref)[0, 0] == 0.25
    assert metrics.mean_joint_distances(pred, ref, missing_cost=1.0)[0, 0] == 0.625
    assert metrics.mean_joint_distances(pred, ref, missing_cost=np.inf)[0, 0] == np.inf
