"""Self-calibration from people on a synthetic scene with known extrinsics."""
from __future__ import annotations

import numpy as np
import pytest

from pose3d_ros.core.selfcalib import compare_rigs, self_calibrate
from pose3d_ros.core.synthetic import observe, random_poses, random_rig
from pose3d_ros.core.triangulation import triangulate


def test_recovers_synthetic_rig_with_metric_scale():
    rng = np.random.default_rng(21)
    rig = random_rig(3, rng)
    poses = random_poses(30, 1, rng, heights=(1.8, 1.8))
    obs = observe(rig, poses, rng, noise_px=1.0, outlier_fraction=0.03)
    kp, sc = obs.keypoints[:, 0], obs.scores[:, 0]
    result = self_calibrate(kp, sc, rig.cameras, person_height_m=1.8, max_bundle_points=600)
    cmp = compare_rigs(result.rig, rig)
    assert np.nanmax(cmp.rotation_error_deg) < 0.5
    assert np.nanmax(cmp.translation_direction_error_deg) < 0.5
    # the canonical body's limbs follow the anthropometric fractions to within a few percent
    assert np.nanmax(np.abs(cmp.scale_ratio - 1)) < 0.06
    assert result.reprojection_rms_px < 2.0
    assert result.rig.cameras[0].t == pytest.approx(np.zeros(3))
    # the self-calibrated rig triangulates as well as the true one, up to the scale
    est = triangulate(result.rig.cameras, kp, sc)
    true = triangulate(rig.cameras, kp, sc)
    assert np.nanmedian(est.reprojection_error) < 1.2 * np.nanmedian(true.reprojection_error)


def test_refuses_without_enough_shared_joints():
    rng = np.random.default_rng(1)
    rig = random_rig(2, rng)
    kp = np.full((3, 2, 17, 2), np.nan)
    with pytest.raises(ValueError, match="enough confident joints"):
        self_calibrate(kp, np.ones((3, 2, 17)), rig.cameras)
    with pytest.raises(ValueError, match="keypoints must be"):
        self_calibrate(np.zeros((3, 3, 17, 2)), np.ones((3, 3, 17)), rig.cameras)
