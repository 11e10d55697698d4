"""The package's one human body: a canonical standing person, the bone proportions every
part that needs a body's size derives from it, and the bone lengths of any skeleton
(bone_lengths, their variation over time length_cv; with_bone_lengths imposes them).

Users: synthetic people (core/synthetic.py), the body template of the multi-view completion
(core/completion.py), the bone-length plausibility checks of every back-end
(core/plausibility.py), the metric body-size prior of one-camera placement
(lifting/root_placement.BodySizePrior) and the metric scale of self-calibration
(core/selfcalib.py).

The body is made here, with JOINT CENTRES where pose detectors put their keypoints (the
shoulder joint, not the acromion), in the BlazePose-33 layout; any layout convertible from
it (layouts.convert_joints: COCO-17, H36M-17, ...) gets its joints and bones. Checked against
two independent real sources (bone / thigh, the ratio that does not depend on height;
`test_body_model.py`): the DeepMimic motion capture (core/mocap.py, 1,620 frames of its
1.62 m humanoid) and the person of the demo recording 'single' triangulated from its four
Qualisys-calibrated cameras (BlazePose 2D, median over 100 frames):

    bone / thigh        this body   motion capture   demo person
    upper arm           0.651       0.654            0.659-0.696
    forearm             0.582       0.615            0.649-0.665
    half shoulders      0.442       0.435            0.442
    shank               1.000       0.973            0.911-0.941

Until 2026-12-06 the one-camera prior and self-calibration used a second table (Winter's
anthropometric fractions, measured to the acromion: upper arm 0.186 H against 0.160 H here,
half shoulders 0.129 H against 0.109 H) while the rest used this body.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .array_ops import nanmedian_axis, vector_norm
from .layouts import BLAZEPOSE33, H36M17, JointLayout, convert_joints, convertible

# Canonical standing body for a 1.75 m person, BlazePose-33 joints, body frame:
# x to the person's right, y forward, z up, feet on z = 0 (a right-handed frame: the person's
# left is up x forward = -x). Until session 42 x pointed to the left: a mirror image of a
# person, which no rotation fits to a real one (the completion's template put a real
# person's nose 0.22 m off, median over motion-capture frames that stand like it; 0.05 m now).
_CANONICAL = {
    "nose": (0.0, 0.10, 1.62), "left_eye_inner": (-0.015, 0.085, 1.66),
    "left_eye": (-0.032, 0.08, 1.662), "left_eye_outer": (-0.048, 0.075, 1.662),
    "right_eye_inner": (0.015, 0.085, 1.66), "right_eye": (0.032, 0.08, 1.662),
    "right_eye_outer": (0.048, 0.075, 1.662), "left_ear": (-0.075, 0.0, 1.63),
    "right_ear": (0.075, 0.0, 1.63), "mouth_left": (-0.025, 0.085, 1.58),
    "mouth_right": (0.025, 0.085, 1.58), "left_shoulder": (-0.19, 0.0, 1.45),
    "right_shoulder": (0.19, 0.0, 1.45), "left_elbow": (-0.20, 0.0, 1.17),
    "right_elbow": (0.20, 0.0, 1.17), "left_wrist": (-0.21, 0.0, 0.92),
    "right_wrist": (0.21, 0.0, 0.92), "left_pinky": (-0.22, -0.01, 0.83),
    "right_pinky": (0.22, -0.01, 0.83), "left_index": (-0.21, 0.02, 0.82),
    "right_index": (0.21, 0.02, 0.82), "left_thumb": (-0.19, 0.03, 0.87),
    "right_thumb": (0.19, 0.03, 0.87), "left_hip": (-0.10, 0.0, 0.95),
    "right_hip": (0.10, 0.0, 0.95), "left_knee": (-0.10, 0.01, 0.52),
    "right_knee": (0.10, 0.01, 0.52), "left_ankle": (-0.10, 0.0, 0.09),
    "right_ankle": (0.10, 0.0, 0.09), "left_heel": (-0.10, -0.05, 0.03),
    "right_heel": (0.10, -0.05, 0.03), "left_foot_index": (-0.10, 0.16, 0.02),
    "right_foot_index": (0.10, 0.16, 0.02),
}
CANONICAL_HEIGHT_M = 1.75
# A person's standing height when nothing else is known (m): the default of every height
# prior (self-calibration's metric scale, the one-camera body-size prior, the tools' --height)
DEFAULT_PERSON_HEIGHT_M = 1.70
# The standing heights (m) the package takes for a person: plausibility's default limits of a
# published body, and the range the tools' --height options accept
STANDING_HEIGHTS_M = (1.0, 2.3)


def canonical_pose(layout: JointLayout = BLAZEPOSE33) -> np.ndarray:
    """The canonical standing body of a CANONICAL_HEIGHT_M person in `layout`: (J, 3) metres,
    body frame (x to the person's right, y forward, z up, feet on z = 0); a new array."""
    base = np.array([_CANONICAL[n] for n in BLAZEPOSE33.joint_names])
    return base if layout.name == BLAZEPOSE33.name else convert_joints(base, BLAZEPOSE33, layout)


@lru_cache(maxsize=16)
def bone_fractions(layout: JointLayout = H36M17) -> np.ndarray:
    """(B,) the canonical body's bone lengths over its height, in the order of layout.bones
    (a person of height H has bones of about H times these); read-only. ValueError for a
    layout the body cannot be converted to."""
    if not convertible(BLAZEPOSE33, layout):
        raise ValueError(f"no body proportions for layout {layout.name} (not convertible "
                         f"from {BLAZEPOSE33.name})")
    fractions = bone_lengths(canonical_pose(layout), layout) / CANONICAL_HEIGHT_M
    fractions.flags.writeable = False
    return fractions


def bone_fraction(first: str, second: str, layout: JointLayout = H36M17) -> float:
    """The canonical body's bone between two joints of `layout`, over its height; KeyError for
    a pair that is not one of the layout's bones."""
    index = {pair: k for k, pair in enumerate(layout.bones)}
    bone = index.get((layout.index(first), layout.index(second)))
    if bone is None:
        raise KeyError(f"({first!r}, {second!r}) is not a bone of {layout.name}")
    return float(bone_fractions(layout)[bone])


def bone_lengths(points: np.ndarray, bones: JointLayout | np.ndarray = H36M17) -> np.ndarray:
    """(..., J, 3) -> (..., B) bone lengths in the points' units (NaN where a joint is
    missing): the package's one bone-length computation. bones: a layout (its bones, in its
    order) or (B, 2) joint index pairs (any subset, e.g. the limbs)."""
    if isinstance(bones, JointLayout):
        first, second = _bone_ends(bones)
    else:
        pairs = np.asarray(bones, np.intp)
        first, second = pairs[:, 0], pairs[:, 1]
    return vector_norm(points[..., first, :] - points[..., second, :])


@lru_cache(maxsize=16)
def _bone_ends(layout: JointLayout) -> tuple[np.ndarray, np.ndarray]:
    """The layout's bones' first and second joints (B,) each, read-only: bone_lengths' index
    arrays, made once per layout (bones_array makes a new array at each call)."""
    pairs = layout.bones_array
    first, second = pairs[:, 0].copy(), pairs[:, 1].copy()
    first.flags.writeable = second.flags.writeable = False
    return first, second


def length_cv(lengths: np.ndarray, min_samples: int) -> np.ndarray:
    """(N, B) lengths over N samples (NaN unknown) -> (B,) each column's coefficient of
    variation, std / mean over its finite samples (population std); NaN with fewer than
    min_samples of them: how much a bone's length varies over time (a person's bones do not
    change length, an estimate of them does)."""
    lengths = np.asarray(lengths, np.float64)
    count = np.isfinite(lengths).sum(0)
    some = np.where(count[None] > 0, lengths, 0.0)     # (no warning for an empty column)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = np.nanstd(some, axis=0) / np.nanmean(some, axis=0)
    return np.where(count >= min_samples, cv, np.nan)


def body_size_difference(lengths: np.ndarray, reference: np.ndarray,
                         min_bones: int = 3) -> np.ndarray:
    """How much a body's size differs from another's: bone lengths (..., B) against reference
    lengths (..., B) of the same bones (broadcast; metres, NaN unknown) -> (...) the absolute
    median over the bones both have of log(length / reference), about the fraction by which
    the body is larger or smaller (a few wrong bones move it little); NaN with fewer than
    min_bones such bones."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(lengths) - np.log(reference)
    log_ratio = np.where(np.isfinite(log_ratio), log_ratio, np.nan)
    shared = (~np.isnan(log_ratio)).sum(-1)
    return np.where(shared >= min_bones, np.abs(nanmedian_axis(log_ratio, -1)), np.nan)


_BONES = np.array(H36M17.bones, np.intp)                     # (B, 2) parent, child


def _bone_levels() -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]:
    """H36M17's bones grouped by their depth below the pelvis: per level the bone indices,
    their parents and their children (a level's parents are all placed by the levels above)."""
    depth = {H36M17.index("pelvis"): 0}
    levels: dict[int, list[int]] = {}
    for b, (parent, child) in enumerate(H36M17.bones):        # bones are listed parent first
        depth[child] = depth[parent] + 1
        levels.setdefault(depth[child], []).append(b)
    return tuple((np.array(idx), _BONES[idx, 0], _BONES[idx, 1])
                 for _, idx in sorted(levels.items()))


_BONE_LEVELS = _bone_levels()
# the bones in the order of their levels, and per level its slice of them, its parents and its
# children: with_bone_lengths' offsets of a level are then one view instead of a gathered copy
_LEVEL_ORDER = np.concatenate([idx for idx, _, _ in _BONE_LEVELS])
_LEVEL_PARENTS, _LEVEL_CHILDREN = _BONES[_LEVEL_ORDER, 0], _BONES[_LEVEL_ORDER, 1]
_LEVEL_SLICES = tuple(
    (slice(start, start + len(idx)), parents, children)
    for start, (idx, parents, children) in zip(
        np.cumsum([0] + [len(idx) for idx, _, _ in _BONE_LEVELS[:-1]]).tolist(), _BONE_LEVELS,
        strict=True))


def with_bone_lengths(joints: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(..., 17, 3) joints rebuilt from the pelvis out with each bone's direction kept and its
    length set to lengths (..., 16) (H36M17.bones order, broadcast over the leading axes).
    A bone without a direction (a missing or coincident joint) or length leaves its child and
    everything below it NaN. Vectorised over the bones of each level of the tree (the same
    operations per joint as one bone at a time, so the same numbers)."""
    d = joints[..., _LEVEL_CHILDREN, :] - joints[..., _LEVEL_PARENTS, :]   # (..., B, 3) by level
    norm = vector_norm(d)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        offsets = d / norm * np.asarray(lengths)[..., _LEVEL_ORDER, None]
    out = joints.copy()
    for part, parents, children in _LEVEL_SLICES:
        out[..., children, :] = out[..., parents, :] + offsets[..., part, :]
    return out


def rebuilt_with_bone_lengths(joints: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """with_bone_lengths, except that joints the rebuild cannot reach (below a missing joint,
    or all of them with a missing pelvis) keep their place instead of becoming NaN."""
    rebuilt = with_bone_lengths(joints, lengths)
    return np.where(np.isfinite(rebuilt), rebuilt, joints)
