"""array_ops' one-home helpers: a person's size in the image (box_diagonal) and the mean
distance over the joints both people have (mean_joint_distance), their empty cases included,
and the same numbers as the inline code they replace."""
import warnings

import numpy as np
import pytest


def _people() -> np.ndarray:
    """Three people (3, 17, 2) pixels: all joints (a 240 x 340 box: diagonal 416.17...), one
    joint, none."""
    rng = np.random.default_rng(3)
    kp = rng.uniform([100, 50], [340, 390], (3, 17, 2))
    kp[:, 0], kp[:, 1] = [100, 50], [340, 390]                     # the box's corners
    kp[1, 1:] = np.nan
    kp[2] = np.nan
    return kp


def test_box_diagonal_empty_cases_are_the_callers_choice():
    """All joints: the box's diagonal; one joint: 0; no joint: the caller's `empty` (NaN, 0,
    or any other), without a RuntimeWarning; a mask selects joints, a joint with one NaN
    coordinate is no joint."""
    from pose3d_ros.core.array_ops import box_diagonal
    kp = _people()
    full = np.hypot(240.0, 340.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for empty in (np.nan, 0.0, -1.0, 7.0):
            size = box_diagonal(kp, empty=empty)
            np.testing.assert_allclose(size[0], full, rtol=1e-15)
            assert size[1] == 0.0
            assert size[2] == empty or (np.isnan(empty) and np.isnan(size[2]))
        mask = np.zeros((3, 17), bool)
        mask[0, 2:] = True                                           # not the corners
        mask[1, 0] = True
        size = box_diagonal(kp, mask, empty=np.nan)
        assert 0 < size[0] < full and size[1] == 0.0 and np.isnan(size[2])
        half = kp.copy()
        half[0, 0, 1] = np.nan                                       # x alone: not a joint
        assert box_diagonal(half, empty=0.0)[0] < full
    assert box_diagonal(np.zeros((0, 17, 2)), empty=0.0).shape == (0,)
    assert box_diagonal(np.zeros((2, 4, 0, 2)), empty=-1.0).tolist() == [[-1.0] * 4] * 2


def test_box_diagonal_gives_the_replaced_code_s_numbers():
    """box_diagonal is the sum-of-squares norm of the masked box's sides, bit for bit the
    numbers of the homes it replaced that took it that way (association, group_checks,
    error_model.person_scale), on people with missing joints, one joint or none; and within
    an ulp of the hypot the tracker and lone_views took (not always the same bits: 17 % of
    random boxes differ in the last one, a difference no gate there sees in practice)."""
    from pose3d_ros.core.array_ops import box_diagonal, corner_diagonal, masked_extent
    rng = np.random.default_rng(5)
    for shape in [(1, 17, 2), (6, 17, 2), (3, 8, 17, 2), (5, 17, 3)]:
        kp = rng.uniform(0, 1000, shape)
        kp[rng.random(shape[:-1]) < 0.3] = np.nan
        kp[0] = np.nan
        if shape[0] > 1:
            kp[1, ..., 1:, :] = np.nan
        seen = np.isfinite(kp).all(-1) & (rng.random(shape[:-1]) < 0.9)
        masked = np.where(seen[..., None], kp, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            span = np.nanmax(masked, axis=-2) - np.nanmin(masked, axis=-2)
        expected = np.sqrt((span * span).sum(-1))                 # NaN: no joint seen
        size = box_diagonal(kp, seen, empty=np.nan)
        np.testing.assert_array_equal(size, expected)
        np.testing.assert_array_equal(corner_diagonal(*masked_extent(kp, seen[..., None], -2),
                                                      empty=np.nan), expected)
        np.testing.assert_array_equal(box_diagonal(kp, seen, empty=0.0),
                                      np.where(np.isnan(expected), 0.0, expected))
        if shape[-1] == 2:
            np.testing.assert_allclose(size, np.hypot(span[..., 0], span[..., 1]),
                                       rtol=2.5e-16)


def test_person_scale_keeps_its_two_joint_rule():
    """error_model.person_scale through box_diagonal: the diagonal, NaN for one joint or none
    (a scale to divide errors by), and no RuntimeWarning for a person without joints."""
    from pose3d_ros.core.error_model import person_scale
    kp = _people()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scale = person_scale(kp)
    assert scale[0] == pytest.approx(np.hypot(240.0, 340.0)) and np.isnan(scale[1:]).all()
    assert person_scale(kp[0, :2]) == pytest.approx(np.hypot(240.0, 340.0))   # two joints


def test_mean_joint_distance_empty_cases_and_count():
    """Two people with all joints, one joint and no joint in common: the mean, and the count
    (float, exact); `empty` (NaN by default, 0 for the tracker) where none is common; a mask
    counts only its joints; no RuntimeWarning."""
    from pose3d_ros.core.array_ops import mean_joint_distance
    distance = np.array([[1.0, 2.0, 3.0, 6.0], [np.nan, 5.0, np.nan, np.nan],
                         [np.nan] * 4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, count = mean_joint_distance(distance)
        assert mean[:2].tolist() == [3.0, 5.0] and np.isnan(mean[2])
        assert count.tolist() == [4.0, 1.0, 0.0] and count.dtype == np.float64
        mean, count = mean_joint_distance(distance, empty=0.0)
        assert mean.tolist() == [3.0, 5.0, 0.0]
        mask = np.isfinite(distance) & (np.arange(4) < 2)
        mean, count = mean_joint_distance(distance, mask, empty=-1.0)
        assert mean.tolist() == [1.5, 5.0, -1.0] and count.tolist() == [2.0, 1.0, 0.0]
    mean, count = mean_joint_distance(np.zeros((0, 17)))
    assert mean.shape == count.shape == (0,)


def test_mean_joint_distance_gives_the_replaced_code_s_numbers():
    """Bit for bit the inline means it replaced: np.where(both, d, 0).sum(-1) / count
    (group_checks, association, evaluation), along axis 1 of (K, J, V) through np.swapaxes
    (association._same_detections), metrics' NaN-mean over the transposed (J, P * Q)
    distances; and masked_mean the body frame's centroid (NaN: no joint)."""
    from pose3d_ros.core.array_ops import masked_mean, mean_joint_distance
    rng = np.random.default_rng(9)
    for shape in [(1, 17), (6, 17), (48, 17), (6, 8, 17)]:
        d = rng.uniform(0, 2, shape) * 10.0 ** rng.uniform(-3, 3, shape)
        d[rng.random(shape) < 0.3] = np.nan
        d[0] = np.nan
        both = np.isfinite(d)
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = np.where(both, d, 0.0).sum(-1) / both.sum(-1)
        mean, count = mean_joint_distance(d)
        np.testing.assert_array_equal(mean, expected)
        np.testing.assert_array_equal(count, both.sum(-1))
        flat = d.reshape(-1, 17).T                                   # metrics' old layout
        valid = ~np.isnan(flat)
        total = np.where(valid, flat, 0.0).sum(axis=0)
        np.testing.assert_array_equal(
            mean, np.where(valid.sum(0) > 0, total / np.maximum(valid.sum(0), 1),
                           np.nan).reshape(shape[:-1]))
    for k, v in [(1, 1), (5, 3), (20, 8)]:
        d = rng.uniform(0, 2, (k, 17, v))
        both = rng.random(d.shape) < 0.7
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = np.where(both, d, 0.0).sum(1) / both.sum(1)
        mean, count = mean_joint_distance(np.swapaxes(d, 1, 2), np.swapaxes(both, 1, 2))
        np.testing.assert_array_equal(mean, expected)
        np.testing.assert_array_equal(count, both.sum(1))
    points = rng.normal(size=(5, 17, 3))
    points[rng.random((5, 17)) < 0.4] = np.nan
    points[2] = np.nan
    visible = np.isfinite(points).all(-1)
    with np.errstate(invalid="ignore"):
        centroid = np.where(visible[..., None], points, 0.0).sum(1) / np.maximum(
            visible.sum(1), 1)[:, None]
    centroid[visible.sum(1) == 0] = np.nan
    np.testing.assert_array_equal(masked_mean(points, visible), centroid)
