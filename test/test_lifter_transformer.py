"""Spatio-temporal transformer lifter: shapes, root-relative output, token pruning, ONNX."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pose3d_ros.core.layouts import H36M17
from pose3d_ros.core.lifting.model import LifterConfig, build_lifter
from pose3d_ros.core.lifting.runtime import OnnxLifter
from pose3d_ros.core.lifting.training import export_onnx
from pose3d_ros.core.lifting.transformer import SpatioTemporalLifter, graph_distance


def _config(**kw) -> LifterConfig:
    return LifterConfig(architecture="stformer", dim=16, depth=2, heads=2, dropout=0.0, **kw)


@pytest.mark.parametrize("window,causal,prune", [(27, True, 0), (27, False, 3), (9, True, 9),
                                                 (13, False, 3)])
def test_shape_root_relative_and_every_frame_matters(window, causal, prune):
    torch.manual_seed(0)
    model = build_lifter(_config(window=window, causal=causal, prune_stride=prune,
                                 prune_after=0 if prune == 9 else 1)).eval()
    assert isinstance(model, SpatioTemporalLifter)
    x = torch.randn(2, window, 53)
    y = model(x)
    assert y.shape == (2, 17, 3) and torch.all(y[:, 0] == 0)
    for frame in (0, window - 1):  # merged frames still count
        x2 = x.clone()
        x2[:, frame] += 1.0
        assert not torch.allclose(model(x2), y)
    with pytest.raises(ValueError, match="window"):
        model(torch.randn(1, window + 1, 53))


def test_graph_distance_of_the_skeleton():
    d = graph_distance(17, H36M17.bones_array)
    pelvis, knee, wrist = (H36M17.index(n) for n in ("pelvis", "left_knee", "left_wrist"))
    assert d[pelvis, pelvis] == 0 and d[pelvis, knee] == 2 and d[knee, pelvis] == 2
    assert d[pelvis, wrist] == 5  # pelvis-spine-thorax-shoulder-elbow-wrist
    assert (d == d.T).all()


def test_bad_architecture_rejected():
    with pytest.raises(ValueError, match="architecture"):
        LifterConfig(architecture="lstm")


def test_onnx_export_matches_torch(tmp_path):
    torch.manual_seed(1)
    model = build_lifter(_config(window=27, causal=True, prune_stride=3)).eval()
    export_onnx(model, tmp_path / "st.onnx")
    lifter = OnnxLifter(tmp_path / "st.onnx")
    assert lifter.window == 27
    rng = np.random.default_rng(0)
    kp = rng.uniform(300, 700, (3, 27, 17, 2))
    sc = rng.uniform(0.3, 1.0, (3, 27, 17))
    K = np.array([[1000.0, 0, 500], [0, 1000.0, 500], [0, 0, 1]])
    out = lifter.lift(kp, sc, K)
    from pose3d_ros.core.lifting.normalization import lifter_features, pixels_to_normalised

    with torch.no_grad():
        ref = model(torch.from_numpy(lifter_features(pixels_to_normalised(kp, K), sc))).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-4)
