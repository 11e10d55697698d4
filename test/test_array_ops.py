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
