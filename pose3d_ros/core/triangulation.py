"""Robust, confidence-weighted multi-view triangulation, batched over frames x people x joints.

Method (all steps vectorised over every joint of every person of every frame):
1. Undistort the raw pixels of each camera to normalised image coordinates.
2. Confidence-weighted DLT (Hartley & Zisserman, Multiple View Geometry, 2nd ed., sec. 12.2;
   the score weighting follows Iskakov et al., "Learnable Triangulation of Human Pose", 2019):
   each view contributes the rows w (x P3 - P1), w (y P3 - P2) for its normalised camera
   matrix P = [R | t]; the solution is the eigenvector of A^T A with the smallest eigenvalue
   (the same null vector an SVD of A gives, from a 4x4 symmetric problem). One re-weighting by
   inverse depth turns the algebraic residual into an image-plane one.
3. Outlier-view rejection for joints whose worst view reprojects worse than
   `outlier_threshold_px`: every pair of usable views proposes a point (MSAC hypotheses, all
   pairs, deterministic); the proposal with the lowest truncated squared reprojection cost over
   all views wins, its inlier views are re-triangulated, and views still above the threshold
   are dropped. A wrong 2D joint in one camera therefore cannot drag the 3D joint.
4. Optional Gauss-Newton refinement of the reprojection error (normalised coordinates scaled
   by each camera's focal length, score-weighted).

Joints with fewer than `min_views` usable views are NaN with num_views 0: never invented.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Sequence

import numpy as np

from .camera import CameraModel


@dataclass
class TriangulationResult:
    """points: (..., J, 3) metres in the rig frame, NaN where missing.
    reprojection_error: (..., J) RMS pixels over the views used (raw, distorted images), NaN
        where missing.
    num_views: (..., J) int, views used (0 where missing).
    confidence: (..., J) in [0, 1]: mean score of the views used times
        exp(-0.5 (reprojection_error / outlier_threshold_px)^2); 0 where missing.
    used: (..., V, J) bool, which views each joint used.
    """

    points: np.ndarray
    reprojection_error: np.ndarray
    num_views: np.ndarray
    confidence: np.ndarray
    used: np.ndarray


def _camera_arrays(cameras: Sequence[CameraModel]) -> tuple[np.ndarray, np.ndarray]:
    """Normalised projection matrices (V, 3, 4) and focal lengths sqrt(fx fy) (V,)."""
    pn = np.stack([np.hstack([c.R, c.t[:, None]]) for c in cameras])
    focal = np.array([np.sqrt(c.K[0, 0] * c.K[1, 1]) for c in cameras])
    return pn, focal


def dlt(pn: np.ndarray, xy: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted linear triangulation.

    pn: (V, 3, 4) normalised camera matrices [R | t]; xy: (..., V, 2) undistorted normalised
    coordinates (any value where weight is 0); weights: (..., V) >= 0.
    Returns (..., 3) points (NaN where fewer than 2 views have weight > 0).
    """
    xy = np.where(weights[..., None] > 0, xy, 0.0)
    # rows: x P3 - P1 and y P3 - P2, shape (..., V, 2, 4)
    rows = xy[..., :, None] * pn[:, 2, None, :] - pn[:, :2, :]
    w2 = weights * weights
    ata = np.einsum("...vki,...vkj,...v->...ij", rows, rows, w2)
    _, vecs = np.linalg.eigh(ata)
    h = vecs[..., :, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        points = h[..., :3] / h[..., 3:4]
    enough = (weights > 0).sum(axis=-1) >= 2
    return np.where(enough[..., None], points, np.nan)


def _depths(pn: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Depth of (..., 3) points in each camera -> (..., V)."""
    return np.einsum("vi,...i->...v", pn[:, 2, :3], points) + pn[:, 2, 3]


def _errors_px(pn: np.ndarray, focal: np.ndarray, points: np.ndarray, xy: np.ndarray
               ) -> np.ndarray:
    """Approximate pixel reprojection error per view (..., V) from normalised coordinates.

    Points behind a camera get +inf (cheirality). NaN where the observation is NaN.
    """
    pc = np.einsum("vij,...j->...vi", pn[:, :, :3], points) + pn[:, :, 3]
    z = pc[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        proj = pc[..., :2] / z[..., None]
        err = np.linalg.norm(proj - xy, axis=-1) * focal
    return np.where(z > 1e-6, err, np.inf)


def _dlt_reweighted(pn, xy, weights):
    """DLT, then one re-solve with rows divided by the first estimate's depth."""
    points = dlt(pn, xy, weights)
    z = _depths(pn, points)
    with np.errstate(invalid="ignore", divide="ignore"):
        w2 = np.where(z > 1e-6, weights / z, weights)
    w2 = np.where(np.isfinite(w2), w2, weights)
    refined = dlt(pn, xy, w2)
    return np.where(np.isfinite(refined), refined, points)


def _gauss_newton(pn, focal, xy, weights, points, iterations: int = 5):
    """Minimise sum_v w_v f_v^2 |pi(R_v X + t_v) - x_v|^2 over X, batched. Shapes as in dlt."""
    rot, trans = pn[:, :, :3], pn[:, :, 3]
    wv = np.where(weights > 0, weights, 0.0) * focal * focal
    xy = np.where(weights[..., None] > 0, xy, 0.0)
    x = points.copy()
    ok = np.all(np.isfinite(x), axis=-1)
    x[~ok] = 0.0
    for _ in range(iterations):
        pc = np.einsum("vij,...j->...vi", rot, x) + trans  # (..., V, 3)
        z = np.where(pc[..., 2] > 1e-6, pc[..., 2], 1e-6)
        proj = pc[..., :2] / z[..., None]
        res = proj - xy  # (..., V, 2)
        # d proj / d pc = [[1/z, 0, -x/z^2], [0, 1/z, -y/z^2]]; chain with R
        dp = np.zeros(pc.shape[:-1] + (2, 3))
        dp[..., 0, 0] = 1 / z
        dp[..., 1, 1] = 1 / z
        dp[..., :, 2] = -proj / z[..., None]
        jac = np.einsum("...vkc,vcj->...vkj", dp, rot)  # (..., V, 2, 3)
        jtj = np.einsum("...vki,...vkj,...v->...ij", jac, jac, wv)
        jtr = np.einsum("...vki,...vk,...v->...i", jac, res, wv)
        jtj = jtj + 1e-9 * np.eye(3)
        step = np.linalg.solve(jtj, -jtr[..., None])[..., 0]
        x = x + np.where(np.isfinite(step), step, 0.0)
    x[~ok] = np.nan
    return x


def triangulate(cameras: Sequence[CameraModel], keypoints: np.ndarray, scores: np.ndarray, *,
                min_views: int = 2, min_score: float = 0.3, outlier_threshold_px: float = 20.0,
                refine: bool = False) -> TriangulationResult:
    """Triangulate joints seen by several calibrated cameras.

    cameras: V cameras sharing one rig frame.
    keypoints: (..., V, J, 2) raw pixels, NaN for unseen joints.
    scores: (..., V, J) confidences in [0, 1]; a view is usable when its keypoint is finite and
        its score >= min_score.
    min_views: fewest usable (inlier) views to report a joint (>= 2).
    outlier_threshold_px: reprojection error above which a view is treated as an outlier;
        np.inf disables outlier rejection (plain weighted DLT).
    refine: Gauss-Newton refinement of the reprojection error after the linear solution.
    Returns a TriangulationResult with leading dims (...) of the input.
    """
    kp = np.asarray(keypoints, np.float64)
    sc = np.asarray(scores, np.float64)
    n_views = len(cameras)
    if kp.ndim < 3 or kp.shape[-1] != 2 or kp.shape[-3] != n_views:
        raise ValueError(f"keypoints must have shape (..., V={n_views}, J, 2), got {kp.shape}")
    if sc.shape != kp.shape[:-1]:
        raise ValueError(f"scores must have shape {kp.shape[:-1]}, got {sc.shape}")
    if min_views < 2:
        raise ValueError(f"min_views must be >= 2, got {min_views}")
    if n_views < 2:
        raise ValueError(f"triangulation needs at least 2 cameras, got {n_views}")
    lead = kp.shape[:-3]
    n_joints = kp.shape[-2]

    # (..., V, J, 2) -> (M, V, 2) with M = prod(lead) * J
    xy = np.stack([cam.undistort(kp[..., v, :, :]) for v, cam in enumerate(cameras)], axis=-3)
    xy = np.moveaxis(xy, -3, -2).reshape(-1, n_views, 2)
    raw = np.moveaxis(kp, -3, -2).reshape(-1, n_views, 2)
    w = np.moveaxis(sc, -2, -1).reshape(-1, n_views)
    valid = np.all(np.isfinite(xy), axis=-1) & np.isfinite(w) & (w >= min_score)
    w = np.where(valid, np.clip(w, 1e-3, None), 0.0)

    pn, focal = _camera_arrays(cameras)
    points = _dlt_reweighted(pn, xy, w)
    err = _errors_px(pn, focal, points, xy)
    used = valid.copy()

    if np.isfinite(outlier_threshold_px):
        thr = float(outlier_threshold_px)
        worst = np.max(np.where(valid, err, 0.0), axis=-1)
        suspect = np.flatnonzero(((worst > thr) | ~np.all(np.isfinite(points), -1))
                                 & (valid.sum(-1) >= 3))
        if suspect.size:
            points_s, used_s = _robust_subset(pn, focal, xy[suspect], w[suspect],
                                              valid[suspect], thr)
            points[suspect] = points_s
            used[suspect] = used_s
        # two-view joints: nothing to vote with; keep them unless they are behind a camera
        err = _errors_px(pn, focal, points, xy)
        used &= np.isfinite(err)

    w_used = np.where(used, w, 0.0)
    if refine:
        points = _gauss_newton(pn, focal, xy, w_used, points)

    n_used = used.sum(axis=-1)
    missing = (n_used < min_views) | ~np.all(np.isfinite(points), axis=-1)
    points[missing] = np.nan
    used[missing] = False
    n_used = np.where(missing, 0, n_used)

    # exact reprojection error in raw pixels, through each camera's distortion model
    pts_full = points.reshape(lead + (n_joints, 3))
    proj = np.stack([cam.project(pts_full) for cam in cameras], axis=-3)  # (..., V, J, 2)
    proj = np.moveaxis(proj, -3, -2).reshape(-1, n_views, 2)
    sq = np.sum((proj - raw) ** 2, axis=-1)
    sq = np.where(used, sq, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.sqrt(sq.sum(-1) / n_used)
        mean_score = np.where(used, w, 0.0).sum(-1) / n_used
    rms = np.where(missing, np.nan, rms)
    thr_c = outlier_threshold_px if np.isfinite(outlier_threshold_px) else 20.0
    confidence = np.where(missing, 0.0, mean_score * np.exp(-0.5 * (rms / thr_c) ** 2))

    def back(a, *tail):
        return a.reshape(lead + (n_joints,) + tail)

    return TriangulationResult(
        points=back(points, 3), reprojection_error=back(rms), num_views=back(n_used),
        confidence=back(confidence),
        used=np.moveaxis(back(used, n_views), -1, -2))


def _robust_subset(pn, focal, xy, w, valid, thr):
    """MSAC over all view pairs for (M, V) joints. Returns points (M, 3), inlier views (M, V)."""
    m, n_views = w.shape
    pairs = np.array(list(combinations(range(n_views), 2)))  # (H, 2)
    hyp_w = np.zeros((len(pairs), n_views))
    hyp_w[np.arange(len(pairs)), pairs[:, 0]] = 1.0
    hyp_w[np.arange(len(pairs)), pairs[:, 1]] = 1.0
    wh = w[:, None, :] * hyp_w[None]  # (M, H, V)
    cand = dlt(pn, xy[:, None], wh)  # (M, H, 3)
    err = _errors_px(pn, focal, cand, xy[:, None])  # (M, H, V)
    err = np.where(valid[:, None], err, np.nan)
    # truncated quadratic cost over valid views; invalid hypotheses cost the most
    cost = np.where(valid[:, None], np.minimum(np.nan_to_num(err, nan=np.inf), thr) ** 2, 0.0)
    cost = cost.sum(-1)
    cost = np.where(np.all(np.isfinite(cand), -1) & (wh > 0).sum(-1).astype(bool), cost, np.inf)
    best = np.argmin(cost, axis=1)
    err_best = err[np.arange(m), best]
    inliers = valid & (err_best < thr)
    points = _dlt_reweighted(pn, xy, np.where(inliers, w, 0.0))
    err2 = _errors_px(pn, focal, points, xy)
    inliers2 = inliers & (err2 < thr)
    # re-solve where the final check removed views
    changed = np.flatnonzero((inliers2 != inliers).any(-1))
    if changed.size:
        points[changed] = _dlt_reweighted(pn, xy[changed],
                                          np.where(inliers2[changed], w[changed], 0.0))
    return points, inliers2
