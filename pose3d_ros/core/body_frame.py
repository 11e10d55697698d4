"""REP-155 style body frames from 3D joints (numpy only; used for TF and Skeleton3D.body_pose,
by the nodes and by the offline bag writer alike).

Body frame of a person: origin at the pelvis (mid-hip), z up along the spine (mid-hip to
mid-shoulder), y to the person's left (right hip to left hip, made orthogonal to z), x forward
(y cross z). When a hip or shoulder is missing, the orientation is identity and the origin is
the mid-hip if both hips are known, else the mean of the visible joints, else NaN.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.spatial.transform import Rotation

from .array_ops import cross3, masked_mean
from .layouts import HIPS, SHOULDERS, JointLayout, root_positions
from .static_tf import StaticTransform
from .types import Skeletons3D


@dataclass(frozen=True)
class BodyFrames:
    """The body frames of P people, in the frame of the joint positions they came from.

    origins: (P, 3) metres (NaN when no joint is known); rotations: (P, 3, 3), columns the body
    x, y, z axes; quaternions: (P, 4) the same rotations as (x, y, z, w), as geometry_msgs
    wants; known: (P,) bool, False where a hip or shoulder is missing and the rotation is
    identity. Computed once per frame set and shared by the 3D message and TF.
    """

    origins: np.ndarray
    rotations: np.ndarray
    quaternions: np.ndarray
    known: np.ndarray


def body_frames(positions: np.ndarray, layout: JointLayout) -> BodyFrames:
    """positions (P, J, 3) metres -> the people's BodyFrames."""
    positions = np.asarray(positions, np.float64)
    num_people = positions.shape[0]
    rotations = np.tile(np.eye(3), (num_people, 1, 1))
    centroid = masked_mean(positions, np.isfinite(positions).all(-1))   # NaN: no joint
    names = layout.joint_names
    if not all(n in names for n in HIPS + SHOULDERS):
        return BodyFrames(centroid, rotations, quaternions_xyzw(rotations),
                          np.zeros(num_people, bool))
    lh, rh, ls, rs = (positions[:, layout.index(n)] for n in HIPS + SHOULDERS)
    mid_hip = (lh + rh) / 2
    origins = np.where(np.isfinite(mid_hip).all(-1, keepdims=True), mid_hip, centroid)
    z = (ls + rs) / 2 - mid_hip
    left = lh - rh
    with np.errstate(invalid="ignore", divide="ignore"):
        z = z / np.sqrt(np.einsum("pi,pi->p", z, z))[:, None]
        y = left - np.einsum("pi,pi->p", left, z)[:, None] * z
        y = y / np.sqrt(np.einsum("pi,pi->p", y, y))[:, None]
    x = cross3(y, z)
    frame = np.stack([x, y, z], axis=-1)
    ok = np.isfinite(frame).all((-1, -2))
    rotations[ok] = frame[ok]
    return BodyFrames(origins, rotations, quaternions_xyzw(rotations), ok)


# A frame whose z lies within this of the people's median up direction is taken as z-up.
UPRIGHT_FRAME_DEG = 45.0


def median_body_up(points: np.ndarray, layout: JointLayout) -> np.ndarray | None:
    """The people's median up direction, unit (3,): pelvis (or mid-hip) -> thorax (or
    mid-shoulder) over every person-sample of points (..., J, 3) metres (NaN missing); None
    when no body shows it."""
    names = layout.joint_names
    flat = np.asarray(points, np.float64).reshape(-1, layout.num_joints, 3)
    if "thorax" in names:
        top = flat[:, names.index("thorax")]
    else:
        top = 0.5 * (flat[:, names.index("left_shoulder")]
                     + flat[:, names.index("right_shoulder")])
    trunk = top - root_positions(flat, layout)
    trunk = trunk[np.isfinite(trunk).all(-1)]
    if not len(trunk):
        return None
    up = np.median(trunk, axis=0)
    norm = float(np.linalg.norm(up))
    return up / norm if norm > 1e-9 else None


_UPPER_WORDS = ("nose", "eye", "ear", "head", "neck", "thorax", "shoulder")
_LOWER_WORDS = ("pelvis", "hip", "knee", "ankle", "heel", "foot")


@lru_cache(maxsize=16)
def _upper_lower(layout: JointLayout) -> tuple[np.ndarray, np.ndarray]:
    """(J,) bool each: the layout's head-and-shoulder joints, and its pelvis-and-leg joints."""
    names = layout.joint_names
    return (np.array([any(w in n for w in _UPPER_WORDS) for n in names]),
            np.array([any(w in n for w in _LOWER_WORDS) for n in names]))


def people_up(points: np.ndarray, layout: JointLayout) -> np.ndarray:
    """(P, 3) each person's own up direction, unit: from the mean of their visible pelvis and
    leg joints to the mean of their visible head and shoulder joints (points (P, J, 3),
    metres, NaN missing); NaN where either group is unseen. Cruder than the body frame, but
    it needs no particular joint."""
    upper, lower = _upper_lower(layout)
    seen = np.isfinite(points).all(-1)
    up = masked_mean(points, seen & upper) - masked_mean(points, seen & lower)
    with np.errstate(invalid="ignore", divide="ignore"):
        return up / np.sqrt(np.einsum("pi,pi->p", up, up))[:, None]


def frame_up(points: np.ndarray, layout: JointLayout) -> np.ndarray:
    """The up axis of the frame the people's points (..., J, 3) are in: +z when their median
    up direction lies within UPRIGHT_FRAME_DEG of it (a world or rig frame), else that
    direction (a camera's optical frame, a self-calibrated rig: y down)."""
    up = median_body_up(points, layout)
    z = np.array([0.0, 0.0, 1.0])
    if up is None or up[2] >= np.cos(np.radians(UPRIGHT_FRAME_DEG)):
        return z
    return up


def quaternions_xyzw(rotations: np.ndarray) -> np.ndarray:
    """(P, 3, 3) rotation matrices -> (P, 4) quaternions (x, y, z, w), as geometry_msgs wants."""
    if rotations.shape[0] == 0:
        return np.zeros((0, 4))
    # body_frames' rotations are orthonormal by construction (or the identity): scipy's
    # orthogonalisation of each is skipped (73 % of this call's time; a review)
    return Rotation.from_matrix(rotations, assume_valid=True).as_quat()


def body_frame_name(person_id: int, prefix: str = "") -> str:
    """REP-155 name of a person's body frame: body_<id>, after `prefix` (one per node when
    several publish people on one TF tree)."""
    return f"{prefix}body_{int(person_id)}"


def body_transforms(skeletons: Skeletons3D, frames: BodyFrames | None = None, *,
                    per_joint: bool = False, prefix: str = "") -> list[StaticTransform]:
    """TF transforms of the people: skeletons.frame_id -> <prefix>body_<id> at the pelvis with
    the body axes, and with per_joint one child <prefix>body_<id>_<joint name> per known
    joint (identity orientation: joints' own orientation is not estimated). People whose
    origin is unknown (no visible joint) get none. frames: the people's body_frames() if
    already computed."""
    frames = frames if frames is not None else body_frames(skeletons.positions,
                                                           skeletons.layout)
    identity = np.array([0.0, 0.0, 0.0, 1.0])
    transforms = []
    for k in np.flatnonzero(np.isfinite(frames.origins).all(-1)):
        body = body_frame_name(skeletons.ids[k], prefix)
        transforms.append(StaticTransform(skeletons.frame_id, body, frames.origins[k],
                                          frames.quaternions[k]))
        if per_joint:
            local = (skeletons.positions[k] - frames.origins[k]) @ frames.rotations[k]  # R^T(p-o)
            transforms += [StaticTransform(body, f"{body}_{skeletons.layout.joint_names[j]}",
                                           local[j], identity)
                           for j in np.flatnonzero(np.isfinite(local).all(-1))]
    return transforms
