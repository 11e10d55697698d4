"""Is a 3D skeleton a human body? Bone-length checks that keep impossible people unpublished.

The one home of bone-length plausibility for every back-end and layout: the one-camera path
(pipeline, monocular lifter output in H36M-17) and the multi-view path (completion, any
layout) call `check_bones` with their own `PlausibilityParams`.

A monocular back-end can place a "person" into glare or a pattern (a body 0.9 m tall at the
wrong depth, arms longer than legs, one thigh twice the other); a multi-view association error
(two people's views mixed, a false detection matched with a real one) gives bones metres long.
Each bone is compared with the same bone of the package's one body (body_model.canonical_pose,
CANONICAL_HEIGHT_M tall, in the checked layout) at the body's own scale, estimated from the
bones it has, so the checks hold at any metric scale. The checks:

  * scale: "total" = summed known bone lengths / summed canonical lengths of those bones, or
    "median" = median of the checked bones' length ratios; as a standing height
    (scale x CANONICAL_HEIGHT_M) within [min_height_m, max_height_m];
  * checked bones: canonical length >= min_canonical_bone_m, face bones (joints whose names
    say nose / eye / ear / mouth / head: approximations) only with check_face_bones; at least
    min_measured_bones of them measured, and at most max_bad_bone_share of those outside
    [min_bone_ratio, max_bone_ratio] x the canonical bone at the body's scale;
  * left and right limb bones agree within max_asymmetry (ratio of the longer to the shorter);
  * at least min_joints joints are known.
The defaults are the one-camera limits, wide on purpose: monocular 3D of real people
(BlazePose world landmarks, the lifter) has forearms 0.55 of their twin and bones at 0.4-1.9
of the proportions in ordinary frames of the demo recordings (measured against the acromion
table used before 2026-12-06, whose upper arms were 16 % longer than this body's); they only
stop bodies no human has. Vectorised over people.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from .array_ops import finite_rows, nanmedian_axis, row_counts
from .body_model import CANONICAL_HEIGHT_M, STANDING_HEIGHTS_M, bone_lengths, canonical_pose
from .layouts import H36M17, JointLayout

_FACE_WORDS = ("nose", "eye", "ear", "mouth", "head")


@dataclass(frozen=True)
class PlausibilityParams:
    """Human ranges (module docstring): heights in metres, ratios without unit."""

    min_height_m: float = STANDING_HEIGHTS_M[0]
    max_height_m: float = STANDING_HEIGHTS_M[1]
    min_bone_ratio: float = 0.3
    max_bone_ratio: float = 2.5
    max_bad_bone_share: float = 0.0
    max_asymmetry: float = 2.5
    min_joints: int = 8
    min_measured_bones: int = 1
    scale_from: Literal["total", "median"] = "total"
    min_canonical_bone_m: float = 0.0
    check_face_bones: bool = False
    max_tallest_bone_ratio: float = np.inf

    def __post_init__(self) -> None:
        if not 0 < self.min_height_m < self.max_height_m:
            raise ValueError(f"need 0 < min_height_m < max_height_m, got {self.min_height_m}, "
                             f"{self.max_height_m}")
        if not 0 < self.min_bone_ratio < 1 < self.max_bone_ratio:
            raise ValueError(f"need 0 < min_bone_ratio < 1 < max_bone_ratio, got "
                             f"{self.min_bone_ratio}, {self.max_bone_ratio}")
        if not self.max_tallest_bone_ratio >= 1:
            raise ValueError(f"max_tallest_bone_ratio must be >= 1 (inf: off), got "
                             f"{self.max_tallest_bone_ratio}")
        if not self.max_asymmetry >= 1:
            raise ValueError(f"max_asymmetry must be >= 1, got {self.max_asymmetry}")
        if self.scale_from not in ("total", "median"):
            raise ValueError(f"scale_from must be 'total' or 'median', got {self.scale_from!r}")


@dataclass(frozen=True)
class BoneCheck:
    """plausible (P,) bool; scale (P,) body size / canonical body (NaN when no bone was
    measured); lengths (P, B) metres of layout.bones (NaN where an end is unknown)."""

    plausible: np.ndarray
    scale: np.ndarray
    lengths: np.ndarray


@dataclass(frozen=True, eq=False)
class ReferenceBody:
    """Per-layout constants: template (J, 3) canonical pose (m), bones (B, 2), lengths (B,)
    canonical bone lengths (m), face (J,) face joints, face_bone (B,) bones touching one,
    left / right (K,) indices of mirror bone pairs."""

    template: np.ndarray
    bones: np.ndarray
    lengths: np.ndarray
    face: np.ndarray
    face_bone: np.ndarray
    left: np.ndarray
    right: np.ndarray


@lru_cache(maxsize=16)
def reference_body(layout: JointLayout) -> ReferenceBody:
    """The layout's canonical body and bone bookkeeping (cached per layout)."""
    template = canonical_pose(layout)
    bones = layout.bones_array
    lengths = bone_lengths(template, layout)
    names = layout.joint_names
    face = np.array([any(w in name for w in _FACE_WORDS) for name in names])
    keyed = {(names[a], names[b]): k for k, (a, b) in enumerate(bones.tolist())}
    left, right = [], []
    for (a, b), k in keyed.items():
        if a.startswith("left_") or b.startswith("left_"):
            twin = (a.replace("left_", "right_"), b.replace("left_", "right_"))
            if twin in keyed:
                left.append(k)
                right.append(keyed[twin])
    return ReferenceBody(template, bones, lengths, face, face[bones].any(1),
                         np.array(left, np.intp), np.array(right, np.intp))


def bone_ratios(points: np.ndarray, layout: JointLayout) -> np.ndarray:
    """(P, B) each bone's length in points (P, J, 3) metres over the canonical body's
    (reference_body(layout).bones order); NaN where an end is unknown."""
    ref = reference_body(layout)
    return bone_lengths(points, layout) / ref.lengths


def median_scale(ratios: np.ndarray, bones: np.ndarray | None = None) -> np.ndarray:
    """(P,) each body's size over the canonical body: the median of its bones' length ratios
    (P, B) (bone_ratios), over the bones (B,) bool when given; a few wrong bones (a
    mislabelled limb, an association error) move it little. NaN without a known bone."""
    return nanmedian_axis(ratios if bones is None else np.where(bones, ratios, np.nan), axis=1)


def check_bones(points: np.ndarray, layout: JointLayout = H36M17,
                params: PlausibilityParams | None = None) -> BoneCheck:
    """(P, J, 3) metres (any frame) -> BoneCheck (module docstring), batched over people."""
    p = params or PlausibilityParams()
    points = np.asarray(points, np.float64)
    if points.ndim != 3 or points.shape[1:] != (layout.num_joints, 3):
        raise ValueError(f"expected (P, {layout.num_joints}, 3) points, got {points.shape}")
    ref = reference_body(layout)
    lengths = bone_lengths(points, layout)                        # (P, B)
    ratio = lengths / ref.lengths
    checked_ratio = np.where(checked_bones(layout, p), ratio, np.nan)
    n_checked = np.isfinite(checked_ratio).sum(1)
    if p.scale_from == "median":
        scale = median_scale(checked_ratio)
    else:
        known = np.isfinite(lengths)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = (np.where(known, lengths, 0).sum(-1)
                     / np.where(known, ref.lengths, 0).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = checked_ratio / scale[:, None]
        pair = lengths[:, ref.left] / lengths[:, ref.right]
    bad = row_counts((rel < p.min_bone_ratio) | (rel > p.max_bone_ratio)
                     | (checked_ratio > tallest_bone_ratio(p)))
    symmetric = np.where(np.isfinite(pair), (pair <= p.max_asymmetry)
                         & (pair >= 1 / p.max_asymmetry), True).all(-1)
    height = np.where(np.isnan(scale), 0.0, scale) * CANONICAL_HEIGHT_M
    plausible = ((n_checked >= p.min_measured_bones)
                 & (bad <= p.max_bad_bone_share * np.maximum(n_checked, 1)) & symmetric
                 & (row_counts(finite_rows(points)) >= p.min_joints)
                 & (height >= p.min_height_m) & (height <= p.max_height_m))
    return BoneCheck(plausible, scale, lengths)


@lru_cache(maxsize=16)
def checked_bones(layout: JointLayout, params: PlausibilityParams) -> np.ndarray:
    """(B,) bool: the bones check_bones judges (canonical length >= min_canonical_bone_m; the
    face's only with check_face_bones). A constant per layout and parameters."""
    ref = reference_body(layout)
    checked = ref.lengths >= params.min_canonical_bone_m
    return checked if params.check_face_bones else checked & ~ref.face_bone


def tallest_bone_ratio(params: PlausibilityParams) -> float:
    """The longest a checked bone may be over its canonical length, whatever the body's scale
    (check_bones): max_tallest_bone_ratio x the canonical bone of a max_height_m person
    (inf when off)."""
    return params.max_tallest_bone_ratio * params.max_height_m / CANONICAL_HEIGHT_M


@lru_cache(maxsize=16)
def checked_bone_pairs(layout: JointLayout, params: PlausibilityParams) -> np.ndarray:
    """(B', 2) joint index pairs of the bones check_bones judges (checked_bones), read-only:
    a body's long bones, whose lengths tell people apart (tracking's re-identification)."""
    pairs = reference_body(layout).bones[checked_bones(layout, params)]
    pairs.flags.writeable = False
    return pairs


def plausible_bodies(points: np.ndarray, layout: JointLayout = H36M17,
                     params: PlausibilityParams | None = None) -> np.ndarray:
    """(P, J, 3) metres (any frame) -> (P,) bool: True where the skeleton is a human body."""
    return check_bones(points, layout, params).plausible
