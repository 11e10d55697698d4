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

import numpy as np

from .camera import CameraArrays, vector_norm


def joint_information(points: np.ndarray, used: np.ndarray, scores: np.ndarray,
                      cameras: CameraArrays) -> np.ndarray:
    """(P, J, 3, 3) information of each triangulated joint (module docstring).

    points (P, J, 3) metres, rig frame (NaN missing); used (P, V, J) views the triangulation
    kept; scores (P, V, J) their 2D scores. Zero where the joint is missing."""
    ray = points[:, None] - cameras.centers[None, :, None]                   # (P, V, J, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        ray = ray / vector_norm(ray)[..., None]
    weight = np.where(used & np.isfinite(ray).all(-1), np.clip(scores, 0.0, 1.0), 0.0) ** 2
    ray = np.where(weight[..., None] > 0, ray, 0.0)
    outer = np.einsum("pvj,pvja,pvjb->pjab", weight, ray, ray)
    return weight.sum(1)[..., None, None] * np.eye(3) - outer


def refine_with_bones(points: np.ndarray, information: np.ndarray, bones: np.ndarray,
                      lengths: np.ndarray, bone_weight: np.ndarray, sweeps: int = 3
                      ) -> np.ndarray:
    """Joints moved towards their bones' lengths within what their views allow.

    points (P, J, 3) triangulated (NaN missing, left as is); information (P, J, 3, 3)
    (joint_information); bones (B, 2) joint indices; lengths (P, B) metres (NaN: no
    constraint); bone_weight (P, B) >= 0, in the units of the information (one view of score
    1 pins a joint across its ray with weight 1). Returns the moved points (P, J, 3)."""
    a, b = bones[:, 0], bones[:, 1]
    known = np.isfinite(points).all(-1)                                      # (P, J)
    active = known[:, a] & known[:, b] & np.isfinite(lengths) & (bone_weight > 0)
    if not active.any():
        return points
    anchor = np.where(known[..., None], points, 0.0)
    info = np.where(known[..., None, None], information, 0.0)
    info_anchor = np.einsum("pjab,pjb->pja", info, anchor)
    lam = np.where(active, bone_weight, 0.0)[..., None]                      # (P, B, 1)
    length = np.where(active, lengths, 0.0)[..., None]
    n_joints = points.shape[1]
    # scatter bones onto their two ends: (B, J) incidence
    at_a = np.zeros((len(bones), n_joints))
    at_a[np.arange(len(bones)), a] = 1.0
    at_b = np.zeros((len(bones), n_joints))
    at_b[np.arange(len(bones)), b] = 1.0
    x = anchor.copy()
    for _ in range(sweeps):
        r = x[:, b] - x[:, a]                                                # (P, B, 3)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = r / vector_norm(r)[..., None]
        r = np.where(active[..., None] & np.isfinite(r), r, 0.0)
        rr = lam[..., None] * r[..., :, None] * r[..., None, :]              # (P, B, 3, 3)
        # end b wants to be at x_a + L r, end a at x_b - L r (each along r only)
        want_b = np.einsum("pbk,pb->pbk", r, np.einsum("pbk,pbk->pb", r, x[:, a])) + length * r
        want_a = np.einsum("pbk,pb->pbk", r, np.einsum("pbk,pbk->pb", r, x[:, b])) - length * r
        matrix = info + np.einsum("pbxy,bj->pjxy", rr, at_a + at_b)
        rhs = (info_anchor + np.einsum("pbk,bj->pjk", lam * want_a, at_a)
               + np.einsum("pbk,bj->pjk", lam * want_b, at_b))
        solvable = np.abs(np.linalg.det(matrix)) > 1e-12
        safe = np.where(solvable[..., None, None], matrix, np.eye(3))
        step = np.linalg.solve(safe, rhs[..., None])[..., 0]
        x = np.where((solvable & known)[..., None], step, x)
    return np.where(known[..., None], x, points)
