"""Is a 3D skeleton a human body? Bone-length checks that keep impossible people unpublished.

A monocular back-end can place a "person" into glare or a pattern: a body 0.9 m tall at the
wrong depth, arms longer than legs, one thigh twice the other. The checks here compare each
bone with the anthropometric proportions of root_placement.BodySizePrior at the body's own
height (estimated from the bones it has), so they hold at any metric scale a lifter gives:

  * the estimated standing height lies in [min_height_m, max_height_m];
  * every known limb and torso bone is within [min_bone_ratio, max_bone_ratio] of its
    expected length (face bones, whose joints are approximations, are not checked);
  * left and right limb bones agree within max_asymmetry (ratio of the longer to the shorter);
  * at least min_joints joints are known.
The limits are wide on purpose: monocular 3D of real people (BlazePose world landmarks, the
lifter) has forearms 0.55 of their twin and bones at 0.4-1.9 of the proportions in ordinary
frames of the demo recordings; the checks only stop bodies no human has.

Vectorised over people; H36M-17 (the monocular output layout) or any layout with default
proportions in BodySizePrior.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layouts import H36M17, JointLayout
from .lifting.root_placement import BodySizePrior, bone_lengths

_FACE = {"nose", "head", "left_eye", "right_eye", "left_ear", "right_ear"}


@dataclass(frozen=True)
class PlausibilityParams:
    """Human ranges: heights in metres, ratios without unit (see the module docstring)."""

    min_height_m: float = 1.0
    max_height_m: float = 2.3
    min_bone_ratio: float = 0.3
    max_bone_ratio: float = 2.5
    max_asymmetry: float = 2.5
    min_joints: int = 8

    def __post_init__(self) -> None:
        if not 0 < self.min_height_m < self.max_height_m:
            raise ValueError(f"need 0 < min_height_m < max_height_m, got {self.min_height_m}, "
                             f"{self.max_height_m}")
        if not 0 < self.min_bone_ratio < 1 < self.max_bone_ratio:
            raise ValueError(f"need 0 < min_bone_ratio < 1 < max_bone_ratio, got "
                             f"{self.min_bone_ratio}, {self.max_bone_ratio}")
        if not self.max_asymmetry >= 1:
            raise ValueError(f"max_asymmetry must be >= 1, got {self.max_asymmetry}")


def _mirror_bones(layout: JointLayout) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (left bone, right bone) into layout.bones."""
    names = layout.joint_names
    keyed = {(names[a], names[b]): k for k, (a, b) in enumerate(layout.bones)}
    left, right = [], []
    for (a, b), k in keyed.items():
        if a.startswith("left_") or b.startswith("left_"):
            twin = (a.replace("left_", "right_"), b.replace("left_", "right_"))
            if twin in keyed:
                left.append(k)
                right.append(keyed[twin])
    return np.array(left, np.intp), np.array(right, np.intp)


def estimated_height(points: np.ndarray, layout: JointLayout = H36M17) -> np.ndarray:
    """(P, J, 3) metres -> (P,) standing height (m) that the known bones imply, NaN if none."""
    expected = BodySizePrior(height_m=1.0, layout=layout).lengths()   # fractions of height
    lengths = bone_lengths(points, layout)
    known = np.isfinite(lengths)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(known, lengths, 0).sum(-1) / np.where(known, expected, 0).sum(-1)


def plausible_bodies(points: np.ndarray, layout: JointLayout = H36M17,
                     params: PlausibilityParams | None = None) -> np.ndarray:
    """(P, J, 3) metres (any frame) -> (P,) bool: True where the skeleton is a human body."""
    params = params or PlausibilityParams()
    points = np.asarray(points, np.float64)
    if points.ndim != 3 or points.shape[1:] != (layout.num_joints, 3):
        raise ValueError(f"expected (P, {layout.num_joints}, 3) points, got {points.shape}")
    if points.shape[0] == 0:
        return np.zeros(0, bool)
    height = estimated_height(points, layout)
    lengths = bone_lengths(points, layout)
    expected = BodySizePrior(height_m=1.0, layout=layout).lengths()
    names = layout.joint_names
    body = np.array([not ({names[a], names[b]} & _FACE) for a, b in layout.bones])
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (lengths / (expected * height[:, None]))[:, body]
        left, right = _mirror_bones(layout)
        pair = lengths[:, left] / lengths[:, right]
    bones_ok = np.where(np.isfinite(ratio), (ratio >= params.min_bone_ratio)
                        & (ratio <= params.max_bone_ratio), True).all(-1)
    symmetric = np.where(np.isfinite(pair), (pair <= params.max_asymmetry)
                         & (pair >= 1 / params.max_asymmetry), True).all(-1)
    joints = np.isfinite(points).all(-1).sum(-1) >= params.min_joints
    tall = np.nan_to_num(height, nan=0.0)
    return (joints & bones_ok & symmetric & (tall >= params.min_height_m)
            & (tall <= params.max_height_m))
