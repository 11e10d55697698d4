"""One Euro filtering of tracked skeletons: smoothing, low lag, NaN and time-step guards."""
from __future__ import annotations

import numpy as np
import pytest

from pose3d_ros.core.filtering import OneEuroParams, SkeletonFilter


def test_still_person_jitter_is_reduced_and_moving_person_follows():
    rng = np.random.default_rng(0)
    rate, n = 60.0, 240
    truth = np.zeros((n, 2, 17, 3))
    truth[:, 1, :, 0] = np.arange(n)[:, None] / rate * 1.5   # person 2 walks at 1.5 m/s
    noisy = truth + rng.normal(scale=0.01, size=truth.shape)
    smoother = SkeletonFilter()  # defaults
    out = np.stack([smoother.filter(noisy[k], np.array([3, 8]), k / rate) for k in range(n)])
    tail = slice(60, None)
    raw_jitter = np.std(np.diff(noisy[tail, 0], axis=0))
    filtered_jitter = np.std(np.diff(out[tail, 0], axis=0))
    assert filtered_jitter < 0.3 * raw_jitter
    lag = np.abs(out[tail, 1, :, 0] - truth[tail, 1, :, 0]).mean()
    assert lag < 0.04  # a walking person (1.5 m/s) is followed within 4 cm


def test_nan_joints_stay_nan_and_duplicate_stamps_do_not_divide_by_zero():
    smoother = SkeletonFilter()
    x = np.zeros((1, 3, 3))
    smoother.filter(x, np.array([1]), 0.0)
    x2 = x + 0.1
    x2[0, 1] = np.nan
    out = smoother.filter(x2, np.array([1]), 1 / 30)
    assert np.isnan(out[0, 1]).all() and np.isfinite(out[0, [0, 2]]).all()
    with np.errstate(all="raise"):
        same = smoother.filter(x2 + 5.0, np.array([1]), 1 / 30)  # duplicate stamp
        back = smoother.filter(x2 + 5.0, np.array([1]), 0.0)     # stamp going backwards
    np.testing.assert_array_equal(same[0, [0, 2]], out[0, [0, 2]])
    np.testing.assert_array_equal(back[0, [0, 2]], out[0, [0, 2]])


def test_long_gap_restarts_and_people_are_independent_of_order():
    smoother = SkeletonFilter(OneEuroParams(reset_after_s=0.5))
    a = np.zeros((1, 2, 3))
    b = np.ones((1, 2, 3))
    smoother.filter(np.concatenate([a, b]), np.array([1, 2]), 0.0)
    out = smoother.filter(np.concatenate([b, a]) + 0.0, np.array([2, 1]), 0.02)
    assert out[0].mean() == pytest.approx(1.0) and out[1].mean() == pytest.approx(0.0)
    jumped = smoother.filter(a + 3.0, np.array([1]), 2.0)   # after reset_after_s: no smoothing
    np.testing.assert_allclose(jumped, a + 3.0)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="min_cutoff_hz"):
        OneEuroParams(min_cutoff_hz=0)
    with pytest.raises(ValueError, match="beta"):
        OneEuroParams(beta=-1)
    with pytest.raises(ValueError, match="unique"):
        SkeletonFilter().filter(np.zeros((2, 1, 3)), np.array([4, 4]), 0.0)
    with pytest.raises(ValueError, match=r"\(P, J, 3\)"):
        SkeletonFilter().filter(np.zeros((2, 3)), np.array([1, 2]), 0.0)
