"""Skeleton joint layouts (COCO-17, H36M-17, BlazePose-33; for public data sets Campus-14,
Shelf-15, Panoptic-19, OpenPose COCO-18 and BODY_25) and vectorised conversion between them.

A layout fixes the joint order of every per-joint array in the package and in the messages.
Conversions are linear: each target joint is a weighted mean of source joints (e.g. H36M's
pelvis is the mean of the two hips), applied to whole arrays of shape (..., J_src, C) at once.
A target joint is NaN whenever one of its source joints is NaN, never silently invented.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class JointLayout:
    """A named joint order and its bones (pairs of joint indices)."""

    name: str
    joint_names: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {n: i for i, n in enumerate(self.joint_names)})
        if len(self._index) != len(self.joint_names):
            raise ValueError(f"layout {self.name!r} has duplicate joint names")
        for a, b in self.bones:
            if not (0 <= a < self.num_joints and 0 <= b < self.num_joints):
                raise ValueError(f"layout {self.name!r}: bone ({a}, {b}) out of range")

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def index(self, joint_name: str) -> int:
        """Index of a joint by name; KeyError naming the layout if absent."""
        try:
            return self._index[joint_name]
        except KeyError:
            raise KeyError(f"layout {self.name!r} has no joint {joint_name!r}") from None

    def indices(self, joint_names: list[str] | tuple[str, ...]) -> np.ndarray:
        return np.array([self.index(n) for n in joint_names], dtype=np.intp)

    @property
    def bones_array(self) -> np.ndarray:
        """Bones as an int array of shape (B, 2)."""
        return np.array(self.bones, dtype=np.intp).reshape(-1, 2)


def _bones(names: tuple[str, ...], pairs: list[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
    idx = {n: i for i, n in enumerate(names)}
    return tuple((idx[a], idx[b]) for a, b in pairs)


_COCO17_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
_LIMBS = [
    ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"), ("left_hip", "right_hip"), ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
]
# the arms, legs and the shoulder and hip lines, by name: every body layout's bones
# start from them, and so do figures over a body's main bones (eval_multiview's bone-length
# variation)
LIMB_BONES: tuple[tuple[str, str], ...] = tuple(_LIMBS)
# the torso's corners by name, each pair left first: what body frames, torso centres, the
# left/right and upright checks and the joints made from them (pelvis, thorax) start from
SHOULDERS: tuple[str, str] = ("left_shoulder", "right_shoulder")
HIPS: tuple[str, str] = ("left_hip", "right_hip")
TORSO_JOINTS: tuple[str, ...] = SHOULDERS + HIPS
COCO17 = JointLayout(
    "coco17", _COCO17_NAMES,
    _bones(_COCO17_NAMES, _LIMBS + [
        ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
        ("right_eye", "right_ear"), ("left_ear", "left_shoulder"),
        ("right_ear", "right_shoulder"), ("left_shoulder", "left_hip"),
        ("right_shoulder", "right_hip")]),
)

# Human3.6M 17-joint order as used by the lifting literature (VideoPose3D and successors).
_H36M17_NAMES = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "nose", "head", "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist",
)
H36M17 = JointLayout(
    "h36m17", _H36M17_NAMES,
    _bones(_H36M17_NAMES, [
        ("pelvis", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
        ("pelvis", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
        ("pelvis", "spine"), ("spine", "thorax"), ("thorax", "nose"), ("nose", "head"),
        ("thorax", "left_shoulder"), ("left_shoulder", "left_elbow"),
        ("left_elbow", "left_wrist"), ("thorax", "right_shoulder"),
        ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist")]),
)

_BLAZEPOSE33_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
BLAZEPOSE33 = JointLayout(
    "blazepose33", _BLAZEPOSE33_NAMES,
    _bones(_BLAZEPOSE33_NAMES, _LIMBS + [
        ("nose", "left_eye_inner"), ("left_eye_inner", "left_eye"),
        ("left_eye", "left_eye_outer"), ("left_eye_outer", "left_ear"),
        ("nose", "right_eye_inner"), ("right_eye_inner", "right_eye"),
        ("right_eye", "right_eye_outer"), ("right_eye_outer", "right_ear"),
        ("mouth_left", "mouth_right"), ("left_ear", "left_shoulder"),
        ("right_ear", "right_shoulder"), ("left_shoulder", "left_hip"),
        ("right_shoulder", "right_hip"), ("left_wrist", "left_pinky"),
        ("left_pinky", "left_index"), ("left_wrist", "left_index"), ("left_wrist", "left_thumb"),
        ("right_wrist", "right_pinky"), ("right_pinky", "right_index"),
        ("right_wrist", "right_index"), ("right_wrist", "right_thumb"),
        ("left_ankle", "left_heel"), ("left_heel", "left_foot_index"),
        ("left_ankle", "left_foot_index"), ("right_ankle", "right_heel"),
        ("right_heel", "right_foot_index"), ("right_ankle", "right_foot_index")]),
)

# Layouts of public multi-view data sets and 2D detectors (core/datasets). Joint orders are
# the ones their files use (docs/datasets.md).
_TORSO_SIDES = [("left_shoulder", "left_hip"), ("right_shoulder", "right_hip")]
_NECK_BONES = [("neck", "left_shoulder"), ("neck", "right_shoulder"), ("neck", "nose"),
               ("neck", "pelvis"), ("pelvis", "left_hip"), ("pelvis", "right_hip")]
_FACE_BONES = [("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
               ("right_eye", "right_ear")]

# Campus / Shelf ground truth (actorsGT): 14 joints, the head as bottom (neck) and top.
_CAMPUS14_NAMES = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
    "left_wrist", "head_bottom", "head_top",
)
CAMPUS14 = JointLayout(
    "campus14", _CAMPUS14_NAMES,
    _bones(_CAMPUS14_NAMES, _LIMBS + [
        ("head_bottom", "head_top"), ("head_bottom", "left_shoulder"),
        ("head_bottom", "right_shoulder")] + _TORSO_SIDES),
)
# The same with the pelvis appended (the Shelf ground truth of the 4D-association code).
_SHELF15_NAMES = _CAMPUS14_NAMES + ("pelvis",)
SHELF15 = JointLayout(
    "shelf15", _SHELF15_NAMES,
    _bones(_SHELF15_NAMES, _LIMBS + [
        ("head_bottom", "head_top"), ("head_bottom", "left_shoulder"),
        ("head_bottom", "right_shoulder"), ("pelvis", "left_hip"), ("pelvis", "right_hip")]
        + _TORSO_SIDES),
)
# CMU Panoptic hdPose3d_stage1_coco19 (joints19): neck, nose, body centre (pelvis), ...
_PANOPTIC19_NAMES = (
    "neck", "nose", "pelvis", "left_shoulder", "left_elbow", "left_wrist", "left_hip",
    "left_knee", "left_ankle", "right_shoulder", "right_elbow", "right_wrist", "right_hip",
    "right_knee", "right_ankle", "left_eye", "left_ear", "right_eye", "right_ear",
)
PANOPTIC19 = JointLayout("panoptic19", _PANOPTIC19_NAMES,
                         _bones(_PANOPTIC19_NAMES, _LIMBS + _NECK_BONES + _FACE_BONES))
# OpenPose COCO-18 (pose_keypoints_2d of the COCO model).
_COCO18_NAMES = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
)
COCO18 = JointLayout("coco18", _COCO18_NAMES, _bones(_COCO18_NAMES, _LIMBS + _FACE_BONES + [
    ("neck", "left_shoulder"), ("neck", "right_shoulder"), ("neck", "nose")] + _TORSO_SIDES))
# OpenPose BODY_25.
_BODY25_NAMES = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "pelvis", "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe",
    "right_heel",
)
BODY25 = JointLayout("body25", _BODY25_NAMES, _bones(_BODY25_NAMES, _LIMBS + _NECK_BONES + [
    ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
    ("right_eye", "right_ear"), ("left_ankle", "left_big_toe"),
    ("left_big_toe", "left_small_toe"), ("left_ankle", "left_heel"),
    ("right_ankle", "right_big_toe"), ("right_big_toe", "right_small_toe"),
    ("right_ankle", "right_heel")]))

LAYOUTS: dict[str, JointLayout] = {lay.name: lay for lay in (
    COCO17, H36M17, BLAZEPOSE33, CAMPUS14, SHELF15, PANOPTIC19, COCO18, BODY25)}


def get_layout(name: str) -> JointLayout:
    """Layout by name (a key of LAYOUTS: "coco17", "h36m17", "blazepose33", "body25", ...)."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown joint layout {name!r}; known: {sorted(LAYOUTS)}") from None


# Each target joint as a mean of source joints. Keys: (source, target).
_MEAN_OF: dict[str, tuple[str, ...]] = {
    "pelvis": HIPS,
    "thorax": SHOULDERS,
    "spine": HIPS + SHOULDERS,
    # H36M's head joint lies above the ears; the mean of the ears is the closest point that
    # COCO and BlazePose both observe.
    "head": ("left_ear", "right_ear"),
    # OpenPose's and Panoptic's neck: between the shoulders.
    "neck": SHOULDERS,
}


def _recipe(src: JointLayout, dst: JointLayout) -> tuple[np.ndarray, np.ndarray]:
    """Gather indices (J_dst, K) and weights (J_dst, K) turning src joints into dst joints."""
    rows: list[list[int]] = []
    for name in dst.joint_names:
        if name in src._index:
            rows.append([src.index(name)])
        elif name in _MEAN_OF and all(n in src._index for n in _MEAN_OF[name]):
            rows.append([src.index(n) for n in _MEAN_OF[name]])
        else:
            raise ValueError(f"cannot derive joint {name!r} of {dst.name} from {src.name}")
    width = max(len(r) for r in rows)
    # Pad by repeating a real contributor with weight 0: a NaN source still yields NaN.
    index = np.array([r + [r[0]] * (width - len(r)) for r in rows], dtype=np.intp)
    weight = np.array([[1.0 / len(r)] * len(r) + [0.0] * (width - len(r)) for r in rows])
    return index, weight


_RECIPES: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}


def _cached_recipe(src: JointLayout | str, dst: JointLayout | str
                   ) -> tuple[JointLayout, JointLayout, tuple[np.ndarray, np.ndarray]]:
    src = get_layout(src) if isinstance(src, str) else src
    dst = get_layout(dst) if isinstance(dst, str) else dst
    key = (src.name, dst.name)
    if key not in _RECIPES:
        _RECIPES[key] = _recipe(src, dst)
    return src, dst, _RECIPES[key]


def convertible(src: JointLayout | str, dst: JointLayout | str) -> bool:
    """Whether every joint of dst can be made from src's joints (convert_joints)."""
    try:
        _cached_recipe(src, dst)
    except ValueError:
        return False
    return True


def convert_joints(values: np.ndarray, src: JointLayout | str,
                   dst: JointLayout | str) -> np.ndarray:
    """Convert per-joint vectors of shape (..., J_src, C) from layout src to dst.

    values: positions or pixel coordinates in any units (C = 2 or 3 typically).
    Returns (..., J_dst, C); a derived joint is the mean of its sources, NaN if any is NaN.
    """
    source, _, (index, weight) = _cached_recipe(src, dst)
    values = np.asarray(values)
    if values.ndim < 2 or values.shape[-2] != source.num_joints:
        raise ValueError(f"expected shape (..., {source.num_joints}, C) for {source.name}, "
                         f"got {values.shape}")
    gathered = values[..., index, :]  # (..., J_dst, K, C)
    return np.einsum("...jkc,jk->...jc", gathered, weight)


def convert_joint_scores(scores: np.ndarray, src: JointLayout | str,
                         dst: JointLayout | str) -> np.ndarray:
    """Convert per-joint scalars (..., J_src) such as confidences from layout src to dst.

    A derived joint takes the minimum of its sources: it is only as certain as the least
    certain joint it is made from. Returns (..., J_dst).
    """
    source, _, (index, _) = _cached_recipe(src, dst)
    scores = np.asarray(scores)
    if scores.ndim < 1 or scores.shape[-1] != source.num_joints:
        raise ValueError(f"expected shape (..., {source.num_joints}) for {source.name}, "
                         f"got {scores.shape}")
    return scores[..., index].min(axis=-1)


def root_positions(people: np.ndarray, layout: JointLayout) -> np.ndarray:
    """(..., J, 3) -> (..., 3): the pelvis (the hips' mean where the layout has no pelvis)."""
    names = layout.joint_names
    if "pelvis" in names:
        return people[..., names.index("pelvis"), :]
    return 0.5 * (people[..., names.index("left_hip"), :] + people[..., names.index(
        "right_hip"), :])
