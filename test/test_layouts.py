"""Joint layouts and conversions between them."""
from __future__ import annotations

import numpy as np
import pytest

from pose3d_ros.core.layouts import (
    BLAZEPOSE33,
    COCO17,
    H36M17,
    LAYOUTS,
    convert_joint_scores,
    convert_joints,
    get_layout,
)


def test_layout_sizes_and_bones_are_valid():
    assert (COCO17.num_joints, H36M17.num_joints, BLAZEPOSE33.num_joints) == (17, 17, 33)
    for layout in LAYOUTS.values():
        bones = layout.bones_array
        assert bones.shape[1] == 2 and bones.min() >= 0 and bones.max() < layout.num_joints
        # Every joint is reachable through bones from the first one, except BlazePose's mouth,
        # which MediaPipe draws as a segment of its own.
        reached, frontier = {0}, [0]
        while frontier:
            j = frontier.pop()
            for a, b in layout.bones:
                for x, y in ((a, b), (b, a)):
                    if x == j and y not in reached:
                        reached.add(y)
                        frontier.append(y)
        detached = {"mouth_left", "mouth_right"} if layout is BLAZEPOSE33 else set()
        expected = set(range(layout.num_joints)) - {layout.index(n) for n in detached}
        assert reached == expected, layout.name


def test_blazepose_to_h36m_by_hand():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(4, 2, 33, 3))  # frames x people x joints x xyz
    out = convert_joints(points, BLAZEPOSE33, H36M17)
    assert out.shape == (4, 2, 17, 3)
    lhip, rhip = BLAZEPOSE33.index("left_hip"), BLAZEPOSE33.index("right_hip")
    lsh, rsh = BLAZEPOSE33.index("left_shoulder"), BLAZEPOSE33.index("right_shoulder")
    np.testing.assert_allclose(out[..., 0, :], (points[..., lhip, :] + points[..., rhip, :]) / 2)
    np.testing.assert_allclose(out[..., H36M17.index("thorax"), :],
                               (points[..., lsh, :] + points[..., rsh, :]) / 2)
    np.testing.assert_allclose(
        out[..., H36M17.index("spine"), :],
        points[..., [lhip, rhip, lsh, rsh], :].mean(axis=-2))
    np.testing.assert_allclose(out[..., H36M17.index("left_wrist"), :],
                               points[..., BLAZEPOSE33.index("left_wrist"), :])


def test_coco_to_h36m_and_back_keeps_shared_joints():
    rng = np.random.default_rng(2)
    coco = rng.normal(size=(17, 2))
    h36m = convert_joints(coco, "coco17", "h36m17")
    for name in ("left_knee", "right_ankle", "nose", "left_wrist"):
        np.testing.assert_allclose(h36m[H36M17.index(name)], coco[COCO17.index(name)])
    # H36M has no eyes or ears, so the way back is refused rather than invented.
    with pytest.raises(ValueError, match="cannot derive joint 'left_eye'"):
        convert_joints(h36m, "h36m17", "coco17")


def test_missing_source_joint_makes_derived_joint_missing():
    points = np.ones((33, 3))
    points[BLAZEPOSE33.index("left_hip")] = np.nan
    out = convert_joints(points, BLAZEPOSE33, H36M17)
    missing = {H36M17.joint_names[j] for j in np.flatnonzero(np.isnan(out).any(axis=1))}
    assert missing == {"pelvis", "left_hip", "spine"}


def test_scores_take_the_least_certain_contributor():
    scores = np.linspace(0.1, 0.9, 33)
    out = convert_joint_scores(scores, BLAZEPOSE33, H36M17)
    assert out.shape == (17,)
    assert out[0] == pytest.approx(min(scores[23], scores[24]))


def test_bad_shapes_and_names_are_clear_errors():
    with pytest.raises(ValueError, match=r"expected shape \(\.\.\., 33, C\)"):
        convert_joints(np.zeros((17, 3)), BLAZEPOSE33, H36M17)
    with pytest.raises(ValueError, match="unknown joint layout 'openpose25'"):
        get_layout("openpose25")
    with pytest.raises(KeyError, match="has no joint 'tail'"):
        H36M17.index("tail")
