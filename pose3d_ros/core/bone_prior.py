"""Triangulated joints corrected with the person's own bone lengths, as far as the views allow.

A joint triangulated from views whose rays are nearly parallel (two cameras facing each other,
or close together) is well placed across the rays but poorly along them: its error is an
ellipsoid stretched along the viewing direction, often tens of centimetres long, while the
person's bones keep their lengths. Each joint's measurement is its triangulated point X0 with
the information of its views,

    N = sum over the views used of  w_v^2 (I - d_v d_v^T)        (3 x 3, per joint)

(d_v the unit ray from camera v to the joint, w_v the view's 2D score: a view pins the joint
across its ray, not along it; this is the plain DLT's normal matrix with the residuals in
metres), and every bone between two measured joints adds a soft length constraint
`bone_weight` ((r . (X_j - X_k)) - L)^2 along the bone's direction r, L the person's learned
length. The joints are moved to the minimum of

    sum_j (X_j - X0_j)^T N_j (X_j - X0_j) + bone_weight sum_bones (r . (X_j - X_k) - L)^2

by a few Jacobi sweeps (each joint solved with its neighbours held, all joints at once): a
well-seen joint hardly moves, an ill-conditioned one slides along its poorly known direction
until its bones have their lengths. Batched over people x joints; pure numpy.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .array_ops import finite_rows, small_sum, squared_norm, vector_norm
from .camera import CameraArrays

_EYE3 = np.eye(3)
_EYE3.flags.writeable = False


def joint_information(points: np.ndarray, used: np.ndarray, scores: np.ndarray,
                      cameras: CameraArrays) -> np.ndarray:
    """(P, J, 3, 3) information of each triangulated joint (module docstring).

    points (P, J, 3) metres, rig frame (NaN missing); used (P, V, J) views the triangulation
    kept; scores (P, V, J) their 2D scores. Zero where the joint is missing."""
    ray = points[:, None] - cameras.centers[None, :, None]                   # (P, V, J, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        ray = ray / vector_norm(ray)[..., None]
    weight = np.where(used & finite_rows(ray), np.clip(scores, 0.0, 1.0), 0.0) ** 2
    ray = np.where(weight[..., None] > 0, ray, 0.0)
    outer = np.einsum("pvj,pvja,pvjb->pjab", weight, ray, ray)
    return weight.sum(1)[..., None, None] * _EYE3 - outer


def refine_with_bones(points: np.ndarray, information: np.ndarray, bones: np.ndarray,
                      lengths: np.ndarray, bone_weight: np.ndarray, sweeps: int = 3
                      ) -> np.ndarray:
    """Joints moved towards their bones' lengths within what their views allow.

    points (P, J, 3) triangulated (NaN missing, left as is); information (P, J, 3, 3)
    (joint_information); bones (B, 2) joint indices; lengths (P, B) metres (NaN: no
    constraint); bone_weight (P, B) >= 0, in the units of the information (one view of score
    1 pins a joint across its ray with weight 1). Returns the moved points (P, J, 3)."""
    a, b = bones[:, 0], bones[:, 1]
    known = finite_rows(points)                                              # (P, J)
    active = known[:, a] & known[:, b] & np.isfinite(lengths) & (bone_weight > 0)
    if not active.any():
        return points
    n_people, n_joints = known.shape
    anchor = np.where(known[..., None], points, 0.0)
    info = np.where(known[..., None, None], information, 0.0)
    info_anchor = (info @ anchor[..., None])[..., 0]                          # (P, J, 3)
    # each bone end e: its joint, the bone's other joint; it wants r . (x_joint - x_other) = L
    joint, other = np.concatenate([a, b]), np.concatenate([b, a])             # (2B,)
    lam = np.where(active, bone_weight, 0.0)
    lam = np.concatenate([lam, lam], -1)[..., None]                           # (P, 2B, 1)
    length = np.where(active, lengths, 0.0)
    length = np.concatenate([length, length], -1)[..., None]
    ends_t = _incidence(bones, n_joints).T                                    # (J, 2B)
    ridge = 1e-9 * _EYE3
    x = anchor
    for _ in range(sweeps):
        r = x[:, joint] - x[:, other]                                         # (P, 2B, 3)
        unit = r / np.maximum(np.sqrt(squared_norm(r)), 1e-12)[..., None]
        outer = (lam * unit)[..., :, None] * unit[..., None, :]               # (P, 2B, 3, 3)
        want = lam * unit * (small_sum(unit * x[:, other])[..., None] + length)
        outer = outer.reshape(n_people, -1, 9)
        matrix = info + (ends_t @ outer).reshape(n_people, n_joints, 3, 3)
        x = np.linalg.solve(matrix + ridge, (info_anchor + ends_t @ want)[..., None])[..., 0]
    diagonal = info.reshape(info.shape[:-2] + (9,))
    trace = diagonal[..., 0] + diagonal[..., 4] + diagonal[..., 8]
    seen = known & (trace > 1e-9)                                # no views: left as it was
    return np.where(seen[..., None], x, points)


@lru_cache(maxsize=8)
def _incidence_cached(bones: bytes, n_bones: int, n_joints: int) -> np.ndarray:
    pairs = np.frombuffer(bones, np.intp).reshape(n_bones, 2)
    ends = np.zeros((2 * n_bones, n_joints))
    ends[np.arange(n_bones), pairs[:, 0]] = 1.0
    ends[n_bones + np.arange(n_bones), pairs[:, 1]] = 1.0
    return ends


def _incidence(bones: np.ndarray, n_joints: int) -> np.ndarray:
    """(2B, J): row k < B has a 1 at bone k's first joint, row B + k at its second."""
    pairs = np.ascontiguousarray(bones, np.intp)
    return _incidence_cached(pairs.tobytes(), len(pairs), n_joints)
