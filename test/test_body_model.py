"""The package's one human body (core/body_model.py): one set of proportions for every user,
and proportions of real people (the motion capture's joint centres)."""
from __future__ import annotations

import numpy as np
import pytest

from pose3d_ros.core.body_model import (
    CANONICAL_HEIGHT_M,
    bone_fraction,
    bone_fractions,
    bone_lengths,
    canonical_pose,
)
from pose3d_ros.core.layouts import CAMPUS14, COCO17, H36M17
from pose3d_ros.core.lifting.root_placement import BodySizePrior
from pose3d_ros.core.mocap import load_mocap
from pose3d_ros.core.plausibility import reference_body
from pose3d_ros.core.selfcalib import LIMB_FRACTIONS


def test_every_user_of_body_proportions_reads_the_one_body():
    """Found in session 54: the one-camera body-size prior and self-calibration's metric scale
    used Winter's acromion table (upper arm 0.326 m, half shoulders 0.226 m for 1.75 m) while
    synthetic people, the completion and the multi-view plausibility used the canonical body
    (0.280, 0.190 m)."""
    canonical = reference_body(H36M17).lengths
    np.testing.assert_allclose(BodySizePrior(height_m=CANONICAL_HEIGHT_M).lengths(), canonical,
                               rtol=1e-12)
    np.testing.assert_allclose(bone_fractions(H36M17) * CANONICAL_HEIGHT_M, canonical,
                               rtol=1e-12)
    names = H36M17.joint_names
    for (a, b), fraction in LIMB_FRACTIONS.items():
        k = H36M17.bones.index((names.index(a), names.index(b)))
        assert fraction * CANONICAL_HEIGHT_M == pytest.approx(canonical[k], rel=1e-12)


def test_proportions_are_those_of_real_joint_centres():
    """Bone / thigh (independent of height) of the prior against the real motion capture's
    humanoid, over every frame of every clip: within 8 % for the limbs and the shoulders (the
    acromion table before: upper arm +16 %, half shoulders +21 %)."""
    joints = np.concatenate([clip.joints for clip in load_mocap()])          # (N, 17, 3)
    real = np.nanmedian(bone_lengths(joints), axis=0)
    prior = BodySizePrior(height_m=1.70).lengths()
    names = H36M17.joint_names
    thigh = H36M17.bones.index((names.index("left_hip"), names.index("left_knee")))
    for side in ("left", "right"):
        for a, b in (("thorax", f"{side}_shoulder"), (f"{side}_shoulder", f"{side}_elbow"),
                     (f"{side}_elbow", f"{side}_wrist"), (f"{side}_knee", f"{side}_ankle")):
            k = H36M17.bones.index((names.index(a), names.index(b)))
            assert prior[k] / prior[thigh] == pytest.approx(real[k] / real[thigh], rel=0.08), \
                (a, b)


def test_body_proportions_in_other_layouts_and_refusals():
    coco = bone_fractions(COCO17)
    assert coco.shape == (len(COCO17.bones),) and np.all(coco > 0) and not coco.flags.writeable
    assert np.all(BodySizePrior(height_m=1.60, layout=COCO17).lengths() == coco * 1.60)
    assert bone_fraction("left_hip", "left_knee", COCO17) == pytest.approx(
        bone_fraction("left_hip", "left_knee"))
    # standing height: the canonical body's head top is not a joint; its feet stand on z = 0
    assert 0.9 * CANONICAL_HEIGHT_M < canonical_pose()[:, 2].max() < CANONICAL_HEIGHT_M
    with pytest.raises(KeyError, match="not a bone"):
        bone_fraction("left_wrist", "right_wrist")
    with pytest.raises(ValueError, match="campus14.*give bone_lengths_m"):
        BodySizePrior(layout=CAMPUS14).lengths()
