"""Robust, confidence-weighted multi-view triangulation, batched over frames x people x joints.

Method (all steps vectorised over every joint of every person of every frame):
1. Undistort the raw pixels of each camera to normalised image coordinates.
2. Confidence-weighted DLT (Hartley & Zisserman, Multiple View Geometry, 2nd ed., sec. 12.2;
   the score weighting follows Iskakov et al., "Learnable Triangulation of Human Pose", 2019):
   each view contributes the rows w (x P3 - P1), w (y P3 - P2) for its normalised camera
   matrix P = [R | t]; the point minimises |A [X; 1]| (inhomogeneous DLT, solved from the 3x3
   normal equations in closed form: no per-joint LAPACK call). One re-weighting by inverse
   depth turns the algebraic residual into an image-plane one.
3. Outlier-view rejection for joints whose worst view reprojects worse than
   `outlier_threshold_px`: every pair of usable views proposes a point (MSAC hypotheses, all
   pairs, deterministic); the proposal with the lowest truncated squared reprojection cost over
   all views wins, its inlier views are re-triangulated, and views still above the threshold
   are dropped. A wrong 2D joint in one camera therefore cannot drag the 3D joint. A joint
   that only two views see has nothing to vote with: for associated people
   (`triangulate_people`, after its left/right exchanges), where either view is off the
   point by more than TWO_VIEW_AGREEMENT x the threshold, the joint is left out rather than
   placed between a right and a wrong view (the pipeline's skeleton completion then fills
   it from the track's motion or the body template, marked as such); `triangulate()` keeps
   it.
   `triangulate_people` also undoes the 2D detector's left/right exchanges, view by view,
   against the frame's solution, the body's bones and handedness, and (`previous`) the same
   person's joints a moment before (docs/multiview.md).
4. Optional Gauss-Newton refinement of the reprojection error (normalised coordinates scaled
   by each camera's focal length, score-weighted).

5. Depth the views cannot measure: a joint whose views look at it along nearly one line
   (lenses side by side, a few centimetres apart, or cameras facing each other across it) has
   its 2D errors amplified more than MAX_DEPTH_GAIN times along that line (depth_gain); it is
   not a measured joint: NaN, no view used, as a joint of one view (the pipeline's completion
   and lone views then treat it as such).

Joints with fewer than `min_views` usable views are NaN with num_views 0: never invented.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from typing import Any, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .array_ops import (
    NEXT_AXIS,
    PREV_AXIS,
    finite_rows,
    masked_mean,
    row_counts,
    small_sum,
    squared_norm,
    vector_norm,
)
from .camera import MIN_DEPTH_M, CameraArrays, CameraModel
from .layouts import JointLayout
from .left_right import (
    crossed_limbs_3d,
    exchange_pairs,
    left_right_pairs,
    pair_chains,
    pair_distances,
    swapped_against_3d,
    torso_pairs,
)

# a two-view joint whose views are off its point by more than this share of the outlier
# threshold (0.1 m at the pipeline's metric 0.2 m) is left out: on the in-house benchmark
# (benchmarks/results_multiview.md 6z2) 0.5 gave PCP +0.4 to +1.7 on the 3-camera and demo
# rows, 0.25 lost the demo rows, 0.75 and 1 gained less
TWO_VIEW_AGREEMENT = 0.5

# Depth that the views cannot measure (step 5): a joint's 2D error, in metres across each of its
# viewing rays at the joint, is about JOINT_NOISE_M (core/error_model.py's measured median
# residual: 2.7 % of the person's box diagonal for BlazePose, 3.4 % for the multi-person
# back-end; the diagonal of a standing adult's box is about 1.8 m); depth_gain() times it is the
# joint's error along its least certain direction, which may be at most DEPTH_TOLERANCE_M for
# the joint to count as measured. Two views then need 8.1 degrees between their rays (or
# between one ray and the other's opposite): 1 / sqrt(1 - cos 8.1 deg) = 10. Cameras of a ring
# around the people see them from tens of degrees apart; the lenses of a 360-degree head 2 cm
# apart see a person 3 m away 0.4 degrees apart (gain 200: a few pixels move the joint metres).
# Measured on the in-house scenes (core/rig_scenes.py, the true association, no limit; 4 scenes
# of 2 and 4 people per rig): joints of gain under 2 are 0.03-0.05 m off (median); on the demo
# rig gain 10-20 0.33 m, over 40 1.8 m; on robot_wide 14-40 0.30-0.36 m (p90 1 m); on head360
# 94 % are over 10, and all are 2-3 m off (a gross 2D error can make rays meet near the lenses,
# where the gain at the point is low: the gain sees the geometry, not the error)
JOINT_NOISE_M = 0.05
DEPTH_TOLERANCE_M = 0.5
MAX_DEPTH_GAIN = DEPTH_TOLERANCE_M / JOINT_NOISE_M


@dataclass(frozen=True)
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


def _adjugate_index(width: int) -> np.ndarray:
    """Flat indices (4, 3, 3) into a row-major (width x width) matrix of the four factors of
    the 3x3 adjugate of its upper-left block: adj[i, k] = m[i+1, k+1] m[i+2, k+2]
    - m[i+1, k+2] m[i+2, k+1] (indices mod 3), i.e. row i = m_{i+1} x m_{i+2}."""
    n, p = NEXT_AXIS, PREV_AXIS
    pairs = ((n[:, None], n[None]), (p[:, None], p[None]), (n[:, None], p[None]),
             (p[:, None], n[None]))
    return np.stack([row * width + col for row, col in pairs])


_ADJ3, _ADJ4 = _adjugate_index(3), _adjugate_index(4)
# flat 4x4 A^T A = [[B, c], [c^T, d]]: c (flat 3, 7, 11) beside B's first row (flat 0, 1, 2)
_RHS_AND_ROW0 = np.array([[3, 0], [7, 1], [11, 2]])


def _solve3(m: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched solve of symmetric 3x3 systems m x = b by the adjugate (closed form).
    m: (..., 3, 3), b: (..., 3) -> (..., 3); NaN where m is singular."""
    # rows of the adjugate: c_i = m_{i+1} x m_{i+2}; for symmetric m, inverse = [c0 c1 c2] / det
    flat = m.reshape(m.shape[:-2] + (9,))
    f = flat[..., _ADJ3]                                                   # (..., 4, 3, 3)
    adj = f[..., 0, :, :] * f[..., 1, :, :] - f[..., 2, :, :] * f[..., 3, :, :]
    det = np.einsum("...i,...i->...", flat[..., :3], adj[..., 0, :])
    x = np.einsum("...ij,...i->...j", adj, b)
    solvable = np.abs(det) > 1e-300                   # NaN det (NaN in m) is not solvable
    return np.where(solvable[..., None], x / np.where(solvable, det, 1.0)[..., None], np.nan)


def _solve_normal(ata: np.ndarray) -> np.ndarray:
    """The inhomogeneous DLT point from flat 4x4 normal matrices ata (..., 16) = A^T A
    (row-major [[B, c], [c^T, d]]): X = -B^-1 c, batched, (..., 3); NaN where B is singular.
    As _solve3, adj(B) c and det B = B_0 . adj(B)_0 in one (..., 3, 3) x (..., 3, 2) product
    (a stacked matmul: ~4x cheaper than einsum here; the same sums, rounded alike but for the
    last bit where the product uses fused multiply-adds)."""
    f = ata[..., _ADJ4]                                                    # (..., 4, 3, 3)
    adj = f[..., 0, :, :] * f[..., 1, :, :] - f[..., 2, :, :] * f[..., 3, :, :]
    both = adj @ ata[..., _RHS_AND_ROW0]                                  # [adj c, adj B_0]
    det = both[..., 0, 1]
    solvable = np.abs(det) > 1e-300                   # NaN det (NaN in ata) is not solvable
    return np.where(solvable[..., None], both[..., 0] / -np.where(solvable, det, 1.0)[..., None],
                    np.nan)


def _view_quadrics(pn: np.ndarray) -> np.ndarray:
    """Per-view 4x4 blocks whose weighted sum is A^T A: (4V, 16).

    For P = [p1; p2; p3], the two DLT rows of a view contribute
    (x^2 + y^2) p3 p3^T - x (p1 p3^T + p3 p1^T) - y (p2 p3^T + p3 p2^T) + p1 p1^T + p2 p2^T.
    """
    p1, p2, p3 = pn[:, 0], pn[:, 1], pn[:, 2]

    def outer(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a[:, :, None] * b[:, None, :]

    blocks = np.stack([outer(p3, p3), -(outer(p1, p3) + outer(p3, p1)),
                       -(outer(p2, p3) + outer(p3, p2)), outer(p1, p1) + outer(p2, p2)], axis=1)
    return blocks.reshape(-1, 16)  # (V * 4, 16)


@lru_cache(maxsize=16)
def rig_quadrics(arrays: CameraArrays) -> np.ndarray:
    """_view_quadrics of a CameraArrays, computed once per rig (keyed by identity)."""
    return _view_quadrics(arrays.projections)


def dlt(pn: np.ndarray, xy: np.ndarray, weights: np.ndarray,
        quadrics: np.ndarray | None = None, basis: np.ndarray | None = None,
        usable: np.ndarray | None = None) -> np.ndarray:
    """Weighted linear triangulation.

    pn: (V, 3, 4) normalised camera matrices [R | t]; xy: (..., V, 2) undistorted normalised
    coordinates (any value where weight is 0); weights: (..., V) >= 0.
    Returns (..., 3) points (NaN where fewer than 2 views have weight > 0).

    Each view adds the rows w (x P3 - P1), w (y P3 - P2) to A; the point minimises |A [X; 1]|
    (the inhomogeneous DLT; equivalent to the null vector of A for points at finite
    distance). A^T A is assembled for all joints at once as one matrix product with per-view
    quadrics (`quadrics`: _view_quadrics(pn), when the caller has them), and the 3x3 normal
    equations are solved in closed form. basis: _dlt_basis(xy, usable) when the caller solves
    the same keypoints with several weightings (usable: at least where weights > 0).
    usable: weights > 0, when the caller has it.
    """
    ok = weights > 0 if usable is None else usable
    basis = _dlt_basis(xy, ok) if basis is None else basis
    quadrics = _view_quadrics(pn) if quadrics is None else quadrics
    return _dlt_enough(np.where(ok, weights, 0.0), quadrics, basis, row_counts(ok) >= 2)


def _dlt_enough(weights: np.ndarray, quadrics: np.ndarray, basis: np.ndarray,
                enough: np.ndarray) -> np.ndarray:
    """dlt() of weights already 0 outside the usable views, `enough` (...,) where at least
    2 views are usable: NaN elsewhere."""
    return np.where(enough[..., None], _dlt_unchecked(weights, quadrics, basis), np.nan)


def _dlt_unchecked(weights: np.ndarray, quadrics: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """dlt()'s solution (..., 3) before the points of fewer than 2 views are set to NaN;
    weights (..., V) are 0 outside the usable views (as basis)."""
    coef = ((weights * weights)[..., None] * basis).reshape(
        weights.shape[:-1] + (4 * weights.shape[-1],))                                # (..., 4V)
    return _solve_normal(coef @ quadrics)                  # coef @ quadrics: A^T A row-major


def _dlt_basis(xy: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """(..., V, 4) per view [x^2 + y^2, x, y, 1] of (..., V, 2) keypoints, 0 where not usable
    (..., V): times the squared weight, a view's coefficients of its quadrics in A^T A."""
    basis = np.empty(usable.shape + (4,))
    xy = basis[..., 1:3] = np.where(usable[..., None], xy, 0.0)
    basis[..., 0] = small_sum(xy * xy)                        # x^2 + y^2, the same sum
    basis[..., 3] = 1.0
    return basis


def _errors_px(arrays: CameraArrays, points: np.ndarray, xy: np.ndarray,
               metric: bool = False) -> np.ndarray:
    """Approximate pixel reprojection error per view (..., V) from normalised coordinates
    (normalised residual times the view's focal length); with metric=True the residual taken
    back to the point's depth instead (metres across the viewing ray).

    Points behind a camera or within MIN_DEPTH_M of its image plane get +inf (cheirality:
    no projection; a joint placed at the centre of two cameras that share it, where the
    metric residuals vanish, was used with NaN errors and confidence, a review). NaN where
    the observation is NaN.
    """
    pc = arrays.to_cameras(points)          # all cameras at once (..., V, 3)
    z = pc[..., 2]
    front = z > MIN_DEPTH_M
    d = pc[..., :2] / np.where(front, z, 1.0)[..., None] - xy   # no division by ~0 to silence
    err = np.sqrt(squared_norm(d)) * (z if metric else arrays.focal)
    return np.where(front, err, np.inf)


def depth_gain(points: np.ndarray, centers: np.ndarray, used: np.ndarray) -> np.ndarray:
    """How many times a triangulated point's error along its least certain direction is its
    views' 2D error (metres across each viewing ray at the point, the same for every view: the
    metric outlier test's model; with pixel errors a far view's share is overstated).

    points (..., 3) and centers (V, 3) the cameras' optical centres, metres in the rig frame;
    used (..., V) bool, the views that measured each point. Returns (...,), at least
    sqrt(3 / (2 n)) for n views (1 for two):
    1 / sqrt(lambda_min(H)), H = sum over the used views of (I - r r^T), r the unit ray from the
    camera to the point (the least-squares information of one unit of error across each ray:
    the point's covariance is sigma^2 H^-1). Two views whose rays meet at angle a:
    1 / sqrt(1 - |cos a|) (1 at right angles, 4.1 at 20 degrees, 10 at 8.1, 200 at 0.4);
    inf where the rays are parallel or fewer than two views are used; NaN for NaN points.
    """
    return np.where(finite_rows(points), _gain_of_spread(_ray_spread(points, centers, used)),
                    np.nan)


def beyond_depth_gain(points: np.ndarray, centers: np.ndarray, used: np.ndarray,
                      max_depth_gain: float) -> np.ndarray:
    """depth_gain(points, centers, used) > max_depth_gain, (...,) bool (False for NaN points),
    the exact gain computed only where a cheap bound cannot decide: with H of depth_gain, n
    usable views (trace H = 2 n), lambda_min >= det H / n^2 (the other two eigenvalues' product
    is at most (trace / 2)^2), so det H > n^2 / max_depth_gain^2 passes a point (two views:
    rays more than about 11.5 degrees apart at the default 10; the triangulation's hot path,
    where nearly every joint of a ring of cameras passes)."""
    spread = _ray_spread(points, centers, used)
    n = spread[..., 0, 0] + spread[..., 1, 1] + spread[..., 2, 2]
    a, b, c = n - spread[..., 0, 0], n - spread[..., 1, 1], n - spread[..., 2, 2]
    x, y, z = spread[..., 0, 1], spread[..., 0, 2], spread[..., 1, 2]      # H's are minus
    det = a * b * c - 2.0 * x * y * z - a * z * z - b * y * y - c * x * x
    finite = finite_rows(points)
    beyond = finite & (n < 1.5)                  # fewer than two usable views: inf
    undecided = finite & ~beyond & ~(det > n * n / max_depth_gain ** 2)
    if undecided.any():
        beyond[undecided] = _gain_of_spread(spread[undecided]) > max_depth_gain
    return beyond


def beyond_reach(arrays: CameraArrays, normalized: np.ndarray, scores: np.ndarray,
                 min_score: float, max_depth_gain: float) -> np.ndarray:
    """(..., J) bool: joints that at least two views saw with a score >= min_score along rays
    so nearly one line that their depth_gain is over max_depth_gain (step 5: the rig cannot
    measure their depth, a person too far for its cameras' baselines, or between cameras that
    face each other). From the rays' directions alone, so also for the joints step 5 left
    NaN: normalized (..., V, J, 2) undistorted normalised coordinates, scores (..., V, J)."""
    if not np.isfinite(max_depth_gain):
        return np.zeros(scores.shape[:-2] + scores.shape[-1:], bool)
    usable = finite_rows(normalized) & (scores >= min_score)                 # (..., V, J)
    rays = np.concatenate([np.where(usable[..., None], normalized, 0.0),
                           np.ones(usable.shape + (1,))], axis=-1)
    rays = np.einsum("...vjk,vkl->...vjl", rays, arrays.rotations)   # R^T d, rig frame
    weight = usable / squared_norm(rays)                             # unit rays' r r^T
    spread = np.einsum("...vj,...vjk,...vjl->...jkl", weight, rays, rays)
    return (row_counts(usable.swapaxes(-1, -2)) >= 2) & (_gain_of_spread(spread) > max_depth_gain)


def _ray_spread(points: np.ndarray, centers: np.ndarray, used: np.ndarray) -> np.ndarray:
    """(..., 3, 3) the sum of r r^T over the usable views (used, not at the point) of the unit
    rays r from centers (V, 3) to points (..., 3); its trace is their count."""
    rays = points[..., None, :] - centers                                   # (..., V, 3)
    length2 = squared_norm(rays)
    usable = used & (length2 > 0)          # (NaN points: no usable view, NaN below anyway)
    inverse = np.divide(1.0, length2, out=np.zeros(length2.shape), where=usable)
    return np.swapaxes(rays * inverse[..., None], -1, -2) @ rays


def _gain_of_spread(spread: np.ndarray) -> np.ndarray:
    """depth_gain from _ray_spread's (..., 3, 3): 1 / sqrt(lambda_min(n I - spread)) for n
    usable views (the trace of spread), inf where that is not positive."""
    smallest = np.trace(spread, axis1=-2, axis2=-1) - _largest_eigenvalue(spread)
    return np.divide(1.0, np.sqrt(np.maximum(smallest, 0.0)), out=np.full(smallest.shape, np.inf),
                     where=smallest > 0)



# A pair of cameras whose triangulation ends nearer than this (m) is named when a rig is loaded:
# people stand farther from the cameras than that in any room (reach_of_pair_m)
SHORT_REACH_M = 3.0


def reach_of_pair_m(baseline_m: np.ndarray | float,
                    max_depth_gain: float = MAX_DEPTH_GAIN) -> np.ndarray:
    """How far (m) from two cameras `baseline_m` apart a point straight ahead of them can be
    and still be measured (depth_gain at most max_depth_gain): their rays must meet at an angle
    a with 1 / sqrt(1 - cos a) <= max_depth_gain, reached at baseline / (2 tan(a / 2)) (7.1
    baselines for the default 10; inf without a limit)."""
    if not np.isfinite(max_depth_gain):
        return np.full(np.shape(baseline_m), np.inf)
    angle = np.arccos(1.0 - 1.0 / max_depth_gain ** 2)
    return np.asarray(baseline_m, np.float64) / (2.0 * np.tan(angle / 2.0))


def short_reach_note(cameras: Sequence[CameraModel], max_depth_gain: float = MAX_DEPTH_GAIN,
                     lone_views: bool = False) -> tuple[bool, str] | None:
    """What a node says when it loads a rig whose cameras are too close together to measure
    the depth of people (step 5 of the module docstring: their joints are NaN, as if one
    view saw them): (every pair is short: a WARN, some are: INFO, the line), None when every
    pair reaches SHORT_REACH_M. lone_views: whether the people of one view are placed from it
    (the advice differs)."""
    pairs = list(combinations(range(len(cameras)), 2))
    if not pairs:
        return None
    centers = np.stack([camera.center for camera in cameras])
    reach = reach_of_pair_m(vector_norm(centers[[a for a, _ in pairs]]
                                        - centers[[b for _, b in pairs]]), max_depth_gain)
    short = [(cameras[a].name, cameras[b].name, float(r))
             for (a, b), r in zip(pairs, reach, strict=True) if r < SHORT_REACH_M]
    if not short:
        return None
    listed = ", ".join(f"{a}-{b} {r:.2f} m" for a, b, r in short[:6]) + \
        (f" and {len(short) - 6} more" if len(short) > 6 else "")
    every = len(short) == len(pairs)
    what = ("no two cameras are" if every else
            f"{len(short)} camera pair{'s are' if len(short) > 1 else ' is'}")
    outcome = ("people beyond it are placed from one view (lone_view_people)" if lone_views
               else "nobody beyond it is published: turn on lone_view_people to place such "
               "people from one view" if every else
               "beyond it those pairs alone triangulate nobody")
    return every, (f"{what} far enough apart to measure the depth of people more than "
                   f"{SHORT_REACH_M:g} m away (how far each pair measures: {listed}; "
                   f"triangulation.max_depth_gain {max_depth_gain:g}): {outcome}")


def _largest_eigenvalue(m: np.ndarray) -> np.ndarray:
    """Largest eigenvalue (...,) of symmetric 3x3 matrices m (..., 3, 3), in closed form (the
    trigonometric roots of the characteristic cubic; O. K. Smith, Comm. ACM 4(4), 1961): a
    few elementwise operations, not a LAPACK call per matrix."""
    q = (m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]) / 3.0
    a, b, c = m[..., 0, 0] - q, m[..., 1, 1] - q, m[..., 2, 2] - q
    x, y, z = m[..., 0, 1], m[..., 0, 2], m[..., 1, 2]
    p = np.sqrt((a * a + b * b + c * c + 2.0 * (x * x + y * y + z * z)) / 6.0)
    det = a * b * c + 2.0 * x * y * z - a * z * z - b * y * y - c * x * x      # det(m - q I)
    safe = np.where(p > 0, p, 1.0)
    half = np.clip(det / (2.0 * safe ** 3), -1.0, 1.0)
    return q + np.where(p > 0, 2.0 * p * np.cos(np.arccos(half) / 3.0), 0.0)


def _dlt_reweighted(arrays: CameraArrays, weights: np.ndarray, quadrics: np.ndarray,
                    metric: bool, basis: np.ndarray, enough: np.ndarray) -> np.ndarray:
    """DLT, then one re-solve with rows divided by the first estimate's depth (image-plane
    residuals). metric=True: the plain DLT, whose rows are the residuals in metres at the
    point's depth (the least-squares point when every view's error is the same in metres, as
    for a detector whose pixel errors grow with the person's size in the image).
    weights (..., V): 0 outside the usable views; basis: _dlt_basis of the keypoints and
    those views (both solves share it); enough (...,): at least 2 usable views."""
    if metric:
        return _dlt_enough(weights, quadrics, basis, enough)
    # both solves use the same views: the rows of fewer than 2 set to NaN once, at the end
    points = _dlt_unchecked(weights, quadrics, basis)
    z = arrays.rotate(points)[..., 2] + arrays.translations[:, 2]          # depths (..., V)
    front = z > 1e-6
    w2 = np.where(front, weights / np.where(front, z, 1.0), weights)
    w2 = np.where(np.isfinite(w2), w2, weights)
    # the same views (weights >= 0: w / z > 0 exactly where w > 0, for z > 1e-6)
    refined = _dlt_unchecked(w2, quadrics, basis)
    return np.where(enough[..., None], np.where(np.isfinite(refined), refined, points), np.nan)


def _gauss_newton(pn: np.ndarray, focal: np.ndarray, xy: np.ndarray, weights: np.ndarray,
                  points: np.ndarray, iterations: int = 5) -> np.ndarray:
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
        step = _solve3(jtj + 1e-9 * np.eye(3), -jtr)  # NaN where singular: no step
        x = x + np.where(np.isfinite(step), step, 0.0)
    x[~ok] = np.nan
    return x


def triangulate(cameras: Sequence[CameraModel], keypoints: np.ndarray, scores: np.ndarray, *,
                min_views: int = 2, min_score: float = 0.3, outlier_threshold_px: float = 40.0,
                refine: bool = False, outlier_threshold_m: float | None = None,
                max_depth_gain: float = MAX_DEPTH_GAIN) -> TriangulationResult:
    """Triangulate joints seen by several calibrated cameras.

    cameras: V cameras sharing one rig frame.
    keypoints: (..., V, J, 2) raw pixels, NaN for unseen joints.
    scores: (..., V, J) confidences in [0, 1]; a view is usable when its keypoint is finite and
        its score >= min_score.
    min_views: fewest usable (inlier) views to report a joint (>= 2).
    outlier_threshold_px: reprojection error above which a view is treated as an outlier;
        set it to 3-4x the reprojection error of correct detections (calibration and 2D
        quality); np.inf disables outlier rejection (plain weighted DLT).
    refine: Gauss-Newton refinement of the reprojection error after the linear solution.
    outlier_threshold_m: the outlier test in metres instead (triangulate_normalized).
    max_depth_gain: a joint whose depth_gain is above this is not measured (NaN, no view);
        MAX_DEPTH_GAIN by default (module docstring, step 5), np.inf: no limit.
    Returns a TriangulationResult with leading dims (...) of the input; reprojection errors
    in raw (distorted) pixels, through each camera's distortion model.
    """
    check_settings(min_score, outlier_threshold_px, outlier_threshold_m, max_depth_gain)
    kp, sc = _check_inputs(keypoints, scores, len(cameras), min_views)
    xy = np.stack([cam.undistort(kp[..., v, :, :]) for v, cam in enumerate(cameras)], axis=-3)
    solved = _solve(CameraArrays.from_cameras(cameras), xy, sc, min_views, min_score,
                    outlier_threshold_px, refine, outlier_threshold_m, max_depth_gain)
    lead, n_joints, n_views = kp.shape[:-3], kp.shape[-2], len(cameras)
    pts_full = solved.points.reshape(lead + (n_joints, 3))
    proj = np.stack([cam.project(pts_full) for cam in cameras], axis=-3)  # (..., V, J, 2)
    proj = np.moveaxis(proj, -3, -2).reshape(-1, n_views, 2)
    raw = np.moveaxis(kp, -3, -2).reshape(-1, n_views, 2)
    squared = np.sum((proj - raw) ** 2, axis=-1)
    return solved.result(squared, lead, n_joints, outlier_threshold_px)


def triangulate_normalized(arrays: CameraArrays, normalized: np.ndarray, scores: np.ndarray, *,
                           min_views: int = 2, min_score: float = 0.3,
                           outlier_threshold_px: float = 40.0,
                           refine: bool = False, outlier_threshold_m: float | None = None,
                           max_depth_gain: float = MAX_DEPTH_GAIN) -> TriangulationResult:
    """triangulate() for keypoints already undistorted, with the cameras stacked.

    The hot path of the nodes, which undistort every camera's keypoints once and share them
    with association. normalized: (..., V, J, 2) undistorted normalised image coordinates
    (x/z, y/z in each optical frame), NaN for unseen joints; other arguments as triangulate().
    Same points as triangulate(); reprojection errors are in undistorted pixels (the
    normalised residual times fx, fy). outlier_threshold_m: if set, the outlier test is
    metric instead: a view is an outlier when its residual, taken back to the joint's depth
    in that camera, is over this many metres (the same for near and far cameras, large and
    small images: 2D detector errors grow with the person's size in the image, so a pixel
    threshold that suits a near camera rejects nothing in a far one).
    """
    check_settings(min_score, outlier_threshold_px, outlier_threshold_m, max_depth_gain)
    xy, sc = _check_inputs(normalized, scores, arrays.num_cameras, min_views)
    solved = _solve(arrays, xy, sc, min_views, min_score, outlier_threshold_px, refine,
                    outlier_threshold_m, max_depth_gain)
    return _finish_normalized(arrays, solved, xy.shape[:-3], xy.shape[-2],
                              outlier_threshold_px)


def _finish_normalized(arrays: CameraArrays, solved: "_Solved", lead: tuple, n_joints: int,
                       outlier_threshold_px: float) -> TriangulationResult:
    """triangulate_normalized's result from its flat solution: reprojection errors in
    undistorted pixels (normalised residual times fx, fy)."""
    pc = arrays.to_cameras(solved.points)                  # (M, V, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(pc[..., 2] > MIN_DEPTH_M, pc[..., 2], np.nan)
        residual = (pc[..., :2] / z[..., None] - solved.normalized) * arrays.focal_xy
    squared = squared_norm(residual)
    return solved.result(squared, lead, n_joints, outlier_threshold_px)


def check_settings(min_score: float, outlier_threshold_px: float,
                   outlier_threshold_m: float | None, max_depth_gain: float) -> None:
    """ValueError for settings under which nothing can be triangulated (a review: a negative
    or zero outlier threshold, a NaN min_score or a depth gain of 0 returned nobody without
    a word); infinite thresholds and gains mean "no limit"."""
    if not 0.0 <= min_score <= 1.0:
        raise ValueError(f"min_score must be in [0, 1], got {min_score}")
    if not outlier_threshold_px > 0:
        raise ValueError(f"outlier_threshold_px must be > 0 (inf: no outlier test), got "
                         f"{outlier_threshold_px}")
    if outlier_threshold_m is not None and not outlier_threshold_m > 0:
        raise ValueError(f"outlier_threshold_m must be > 0 or None (the pixel test), got "
                         f"{outlier_threshold_m}")
    if not max_depth_gain >= 1:
        raise ValueError(f"max_depth_gain must be >= 1 (inf: no limit), got {max_depth_gain}")


def _check_inputs(keypoints: np.ndarray, scores: np.ndarray, n_views: int, min_views: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    kp = np.asarray(keypoints, np.float64)
    sc = np.asarray(scores, np.float64)
    if kp.ndim < 3 or kp.shape[-1] != 2 or kp.shape[-3] != n_views:
        raise ValueError(f"keypoints must have shape (..., V={n_views}, J, 2), got {kp.shape}")
    if sc.shape != kp.shape[:-1]:
        raise ValueError(f"scores must have shape {kp.shape[:-1]}, got {sc.shape}")
    if min_views < 2:
        raise ValueError(f"min_views must be >= 2, got {min_views}")
    if n_views < 2:
        raise ValueError(f"triangulation needs at least 2 cameras, got {n_views}")
    return kp, sc


@dataclass(frozen=True)
class _Solved:
    """Flat (M = prod(lead) * J joints) solution before the reprojection error is known."""

    points: np.ndarray      # (M, 3), NaN where missing
    used: np.ndarray        # (M, V)
    weights: np.ndarray     # (M, V) clipped scores, 0 where unusable
    normalized: np.ndarray  # (M, V, 2)

    def result(self, squared: np.ndarray, lead: tuple, n_joints: int,
               outlier_threshold_px: float) -> TriangulationResult:
        """Finish with the per-view squared reprojection errors (M, V) in pixels^2."""
        used, n_used = self.used, self.used.sum(axis=-1)
        missing = n_used == 0
        squared = np.where(used, squared, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            rms = np.sqrt(squared.sum(-1) / n_used)
            mean_score = np.where(used, self.weights, 0.0).sum(-1) / n_used
        # (no view used: 0 / 0, rms NaN already)
        thr = outlier_threshold_px if np.isfinite(outlier_threshold_px) else 40.0
        confidence = np.where(missing, 0.0, mean_score * np.exp(-0.5 * (rms / thr) ** 2))
        n_views = used.shape[-1]

        def back(a: np.ndarray, *tail: int) -> np.ndarray:
            return a.reshape(lead + (n_joints,) + tail)

        return TriangulationResult(
            points=back(self.points, 3), reprojection_error=back(rms),
            num_views=back(n_used), confidence=back(confidence),
            used=back(used, n_views).swapaxes(-1, -2))


def _solve(arrays: CameraArrays, xy: np.ndarray, sc: np.ndarray, min_views: int,
           min_score: float, outlier_threshold_px: float, refine: bool,
           outlier_threshold_m: float | None = None,
           max_depth_gain: float = MAX_DEPTH_GAIN) -> _Solved:
    """Steps 2-5 of the module docstring on (..., V, J, 2) normalised coordinates; with
    outlier_threshold_m the outlier test is metric (_errors_px(metric=True))."""
    n_views = arrays.num_cameras
    # (..., V, J, 2) -> (M, V, 2) with M = prod(lead) * J; a copy, never a view of the
    # caller's array (one person's reshape is a view), which the result's rows are written
    # over by triangulate_people (found by a test that triangulated the same input twice)
    source = xy
    xy = xy.swapaxes(-3, -2).reshape(-1, n_views, 2)
    if np.shares_memory(xy, source):
        xy = xy.copy()
    w = sc.swapaxes(-2, -1).reshape(-1, n_views)
    valid = finite_rows(xy) & np.isfinite(w) & (w >= min_score)
    # usable scores are >= min_score: at least 1e-3 already unless min_score is below it;
    # at most 1 (scores of 5 gave confidences of 5, documented in [0, 1]: a review)
    w = np.where(valid, np.clip(w, 1e-3, 1.0), 0.0)
    n_valid = row_counts(valid)

    quadrics = rig_quadrics(arrays)
    metric = outlier_threshold_m is not None
    basis = _dlt_basis(xy, valid)                # every solve below weights these views
    points = _dlt_reweighted(arrays, w, quadrics, metric, basis, n_valid >= 2)
    used = valid.copy()
    robust = bool(np.isfinite(outlier_threshold_px))
    if robust:
        thr = float(outlier_threshold_m if outlier_threshold_m is not None
                    else outlier_threshold_px)
        err = _errors_px(arrays, points, xy, metric)
        over = ((err > thr) & valid).any(-1)      # a usable view reprojects worse than thr
        # (a joint without a point has an infinite error in every view: over where seen)
        suspect = np.flatnonzero(over & (n_valid >= 3))
        if suspect.size:
            points[suspect], used[suspect], err[suspect] = _robust_subset(
                arrays, xy[suspect], w[suspect], valid[suspect], thr, quadrics, metric,
                basis[suspect])
        # two-view joints: nothing to vote with; keep them unless they are behind a camera
        # (triangulate_people leaves out those whose two views disagree); a joint without a
        # point has an infinite error in every view: no view used
        used &= np.isfinite(err)

    if refine:
        refined = _gauss_newton(arrays.projections, arrays.focal, xy, np.where(used, w, 0.0),
                                points)
        # a step may cross a used view's image plane (its depth is clamped inside): such a
        # point keeps the linear solution, in front of its views (a review: a point behind
        # a camera it counted as used, with NaN error and confidence)
        depth = arrays.rotate(refined)[..., 2] + arrays.translations[:, 2]    # (M, V)
        behind = (used & ~(depth > MIN_DEPTH_M)).any(-1)
        points = np.where(behind[:, None], points, refined)
    missing = row_counts(used) < min_views
    if refine or not robust:
        missing |= ~finite_rows(points)
    # step 5: depth the views cannot measure (NaN points compare False: missing above)
    if np.isfinite(max_depth_gain):
        missing |= beyond_depth_gain(points, arrays.centers, used, max_depth_gain)
    points[missing] = np.nan
    used[missing] = False
    return _Solved(points=points, used=used, weights=w, normalized=xy)


@lru_cache(maxsize=16)
def _view_pairs(n_views: int) -> np.ndarray:
    """(H, 2) all pairs of views (a < b), in combinations() order."""
    return np.array(list(combinations(range(n_views), 2)), np.intp).reshape(-1, 2)


@lru_cache(maxsize=16)
def rig_pair_quadrics(arrays: CameraArrays) -> np.ndarray:
    """(H, 8, 16) rig_quadrics of both views of every view pair (_view_pairs), once per rig."""
    pairs = _view_pairs(arrays.num_cameras)
    return rig_quadrics(arrays).reshape(-1, 4, 16)[pairs].reshape(-1, 8, 16)


def _robust_subset(arrays: CameraArrays, xy: np.ndarray, w: np.ndarray, valid: np.ndarray,
                   thr: float, quadrics: np.ndarray, metric: bool, basis: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MSAC over all view pairs for (M, V) joints. Returns points (M, 3), inlier views (M, V)
    and the points' errors in every view (M, V) (_errors_px). thr in pixels, or metres with
    metric=True; w (M, V): 0 outside the valid views; basis: _dlt_basis(xy, valid)."""
    m, n_views = w.shape
    pairs = _view_pairs(n_views)  # (H, 2)
    # two-view DLT for every pair from the pair's quadrics, with per pair end (M, H, 2, 4)
    # the dlt coefficients (squared weight times the basis)
    coef = ((w * w)[:, pairs, None] * basis[:, pairs]).reshape(m, len(pairs), 8)
    ata = np.matmul(coef.transpose(1, 0, 2),
                    rig_pair_quadrics(arrays)).transpose(1, 0, 2)                 # (M, H, 16)
    cand = _solve_normal(ata)  # (M, H, 3)
    both = valid[:, pairs[:, 0]] & valid[:, pairs[:, 1]]                     # (M, H)
    cand = np.where(both[..., None], cand, np.nan)
    # (M, H, V); the views that are not valid are masked out of the cost and the inliers
    err = _errors_px(arrays, cand, xy[:, None], metric)
    capped = np.fmin(err, thr)  # truncated quadratic cost, NaN error: the cap; bad pairs: inf
    cost = np.where(valid[:, None], capped * capped, 0.0).sum(-1)
    cost = np.where(finite_rows(cand), cost, np.inf)
    best = cost.argmin(1)
    inliers = valid & (err[np.arange(m), best] < thr)
    points = _dlt_reweighted(arrays, np.where(inliers, w, 0.0), quadrics, metric, basis,
                             row_counts(inliers) >= 2)
    err2 = _errors_px(arrays, points, xy, metric)
    inliers2 = inliers & (err2 < thr)
    dropped = inliers2 != inliers
    if dropped.any():             # re-solve where the final check removed views (rare)
        changed = np.flatnonzero(dropped.any(-1))
        kept = inliers2[changed]
        points[changed] = _dlt_reweighted(arrays, np.where(kept, w[changed], 0.0), quadrics,
                                          metric, basis[changed], row_counts(kept) >= 2)
        err2[changed] = _errors_px(arrays, points[changed], xy[changed], metric)
    return points, inliers2, err2


def triangulate_people(arrays: CameraArrays, normalized: np.ndarray, scores: np.ndarray,
                       layout: JointLayout, *, min_views: int = 2, min_score: float = 0.3,
                       outlier_threshold_px: float = 40.0, refine: bool = False,
                       outlier_threshold_m: float | None = None,
                       previous: np.ndarray | None = None,
                       max_depth_gain: float = MAX_DEPTH_GAIN
                       ) -> tuple[TriangulationResult, np.ndarray, np.ndarray]:
    """triangulate_normalized() of associated people (P, V, J, 2) that also undoes the 2D
    detector's left/right swaps (unswap_left_right against the robust solution; the people
    with a swap are triangulated again, and checked once more). Returns the result and the corrected
    normalized (P, V, J, 2) and scores (P, V, J).

    previous: (Q, J, 3) metres, the people a moment before (e.g. the last frame's solution),
    in any order, NaN where unknown: a pair the views disagreed about whose solution has its
    two labels the other way round from the same person's a moment before is decided by that
    person's previous joints, view by view (_follow_previous)."""
    options: dict[str, Any] = dict(min_views=min_views, min_score=min_score,
                                   outlier_threshold_px=outlier_threshold_px, refine=refine,
                                   outlier_threshold_m=outlier_threshold_m,
                                   max_depth_gain=max_depth_gain)
    metric = outlier_threshold_m is not None
    unswap_threshold = float(outlier_threshold_m if outlier_threshold_m is not None
                             else outlier_threshold_px)
    pairs = left_right_pairs(layout)
    if not pairs.size or not normalized.shape[0] or not np.isfinite(outlier_threshold_px):
        return triangulate_normalized(arrays, normalized, scores, **options), normalized, scores
    check_settings(min_score, outlier_threshold_px, outlier_threshold_m, max_depth_gain)
    xy, sc = _check_inputs(normalized, scores, arrays.num_cameras, min_views)
    n_people, n_joints = xy.shape[0], xy.shape[-2]
    if previous is not None and (previous.ndim != 3 or previous.shape[1:] != (n_joints, 3)):
        raise ValueError(f"previous must be (Q, {n_joints}, 3), got {previous.shape}")
    # the flat solution (row = person * J + joint), its rows of exchanged joints solved again
    # in one batch per round, the errors and confidences computed once at the end
    solved = _solve(arrays, xy, sc, min_views, min_score, outlier_threshold_px, refine,
                    outlier_threshold_m, max_depth_gain)
    fixed_xy, fixed_sc = xy.copy(), sc.copy()
    people = np.arange(n_people)
    points = solved.points.reshape(n_people, n_joints, 3)
    # round 1 checks everyone (no gather); round 2 only the people round 1 corrected
    swapped = swapped_against_3d(arrays, fixed_xy, fixed_sc, points, pairs, unswap_threshold,
                             metric, pair_chains(layout))
    contested = np.zeros((n_people, len(pairs)), bool)   # a pair exchanged in some view
    for round_ in range(2):       # a second round against the consensus the first one fixed
        hit, view, pair = np.nonzero(swapped)                       # (person, view, pair)
        if not hit.size:
            break
        person = people[hit]
        contested[person, pair] = True
        _exchange_and_solve(arrays, solved, fixed_xy, fixed_sc, (person, view, pair), pairs,
                            options)
        people = people[swapped.any((1, 2))]
        if round_ == 0:
            points = solved.points.reshape(n_people, n_joints, 3)
            swapped = swapped_against_3d(arrays, fixed_xy[people], fixed_sc[people],
                                     points[people], pairs, unswap_threshold, metric,
                                     pair_chains(layout))
    # limbs hung from the wrong side in 3D (most views of a pair confused alike), looked for
    # only where the views disagreed about a pair (their consensus is otherwise kept): every
    # view's labels of the pair exchanged, the solution's rows with them
    checked = np.flatnonzero(contested.any(1))
    limbs = np.zeros_like(contested)
    limbs[checked] = crossed_limbs_3d(solved.points.reshape(n_people, n_joints, 3)[checked],
                                      layout, contested=contested[checked])
    if limbs.any():
        person, pair = np.nonzero(limbs)
        a, b = person * n_joints + pairs[pair, 0], person * n_joints + pairs[pair, 1]
        order = np.arange(n_people * n_joints)
        order[a], order[b] = b, a
        for name in ("points", "used", "weights", "normalized"):
            rows_of = getattr(solved, name)
            rows_of[:] = rows_of[order]
        fixed_xy = exchange_pairs(fixed_xy.swapaxes(1, 2), pairs, limbs).swapaxes(1, 2)
        fixed_sc = exchange_pairs(fixed_sc.swapaxes(1, 2), pairs, limbs).swapaxes(1, 2)
    if previous is not None and len(previous) and contested.any():
        exchanged = _follow_previous(arrays, solved.points.reshape(n_people, n_joints, 3),
                                     previous, fixed_xy, fixed_sc, pairs, contested,
                                     unswap_threshold, metric, torso_pairs(layout))
        if exchanged.any():
            _exchange_and_solve(arrays, solved, fixed_xy, fixed_sc, np.nonzero(exchanged),
                                pairs, options)
    _leave_out_disagreeing_two_views(arrays, solved, unswap_threshold, metric, min_views)
    result = _finish_normalized(arrays, solved, (n_people,), n_joints, outlier_threshold_px)
    return result, fixed_xy, fixed_sc


def _exchange_and_solve(arrays: CameraArrays, solved: "_Solved", normalized: np.ndarray,
                        scores: np.ndarray, where: tuple[np.ndarray, ...], pairs: np.ndarray,
                        options: dict[str, Any]) -> None:
    """In place: the pairs' labels exchanged at `where` = (person, view, pair) indices in the
    people's normalized (P, V, J, 2) and scores (P, V, J), and the solution's rows (person *
    J + joint) of every joint exchanged in some view solved again (_solve, one batch; rows
    are solved independently). options: triangulate_people's solver options."""
    person, view, pair = where
    n_joints = normalized.shape[2]
    a, b = pairs[pair, 0], pairs[pair, 1]          # pairs are disjoint: no joint twice
    normalized[person, view, a], normalized[person, view, b] = (normalized[person, view, b],
                                                                normalized[person, view, a])
    scores[person, view, a], scores[person, view, b] = (scores[person, view, b],
                                                        scores[person, view, a])
    flagged = np.zeros(normalized.shape[0] * n_joints, bool)
    flagged[person * n_joints + a] = flagged[person * n_joints + b] = True
    rows = flagged.nonzero()[0]
    at_person, at_joint = np.divmod(rows, n_joints)
    again = _solve(arrays, normalized[at_person, :, at_joint].swapaxes(0, 1),
                   scores[at_person, :, at_joint].T, options["min_views"],
                   options["min_score"], options["outlier_threshold_px"], options["refine"],
                   options["outlier_threshold_m"], options["max_depth_gain"])
    for name in ("points", "used", "weights", "normalized"):
        getattr(solved, name)[rows] = getattr(again, name)


# _follow_previous: a pair counts as the other way round from the person's previous joints
# when exchanging its 3D labels brings it under FOLLOW_GAIN of its distance to them, and that
# distance is over FOLLOW_MIN_M metres; the people are matched by their centres (the mean of
# their joints, which a left/right exchange leaves where it is) within FOLLOW_MATCH_M metres.
# On the in-house benchmark (benchmarks/results_multiview.md 6z7) gains of 0.3 / 0.7 and
# minimums of 0.1 / 0.2 m gave the same rows within 0.2 PCP, a match within 0.15 m likewise
FOLLOW_GAIN = 0.5
FOLLOW_MIN_M = 0.1
FOLLOW_MATCH_M = 0.3


def _follow_previous(arrays: CameraArrays, points: np.ndarray, previous: np.ndarray,
                     normalized: np.ndarray, scores: np.ndarray, pairs: np.ndarray,
                     contested: np.ndarray, threshold: float, metric: bool,
                     torso: np.ndarray) -> np.ndarray:
    """(P, V, K) bool: the view labels to exchange so that the contested limb pairs (P, K)
    of the solution points (P, J, 3) keep the labelling of the same people in `previous`
    (Q, J, 3): for a limb pair (torso: (T,) the torso's pairs, left alone) whose solution is
    the other way round from the person's previous joints, each view whose labels fit the
    previous joints' projections crossed (swapped_against_3d) is exchanged. A limb a moment
    ago is not on the other side now, while the views that confuse it may outvote those that
    do not (two of four, or the views the frame's own checks misjudged), which the frame
    alone cannot tell. A person whose torso is the other way round from a moment ago is left
    as the frame has it: the frame's torso checks (crossed_limbs_3d's handedness, whole
    views) know the body, and the moment before may be the wrong one (following it there
    kept a mirrored person mirrored on the 3-camera rows)."""
    exchanged = np.zeros(normalized.shape[:2] + (len(pairs),), bool)
    now_centre = masked_mean(points, finite_rows(points))                     # (P, 3)
    then_centre = masked_mean(previous, finite_rows(previous))                # (Q, 3)
    gap = vector_norm(now_centre[:, None] - then_centre[None])                # (P, Q)
    gap = np.where(np.isfinite(gap), gap, np.inf)
    if not np.isfinite(gap).any():
        return exchanged
    now, then = linear_sum_assignment(np.minimum(gap, 1e6))
    close = gap[now, then] <= FOLLOW_MATCH_M
    now, then = now[close], then[close]
    if not now.size:
        return exchanged
    straight, crossed = pair_distances(points[now], previous[then], pairs)    # (M, K)
    with np.errstate(invalid="ignore"):
        turned = ((crossed < FOLLOW_GAIN * straight) & (straight > FOLLOW_MIN_M)
                  & contested[now])
    whole = turned[:, torso].any(1)
    turned[:, torso] = False
    turned &= ~whole[:, None]
    if not turned.any():
        return exchanged
    keep = turned.any(1)
    now, then, turned = now[keep], then[keep], turned[keep]
    views = swapped_against_3d(arrays, normalized[now], scores[now], previous[then], pairs,
                               threshold, metric)                             # (M, V, K)
    exchanged[now] = views & turned[:, None, :]
    return exchanged


def _leave_out_disagreeing_two_views(arrays: CameraArrays, solved: "_Solved", threshold: float,
                                 metric: bool, min_views: int) -> None:
    """In place: a joint that only two views see (after the left/right exchanges) and that
    either of them misses by more than TWO_VIEW_AGREEMENT x the outlier threshold (pixels,
    or metres with metric) is left out: NaN, no view used (module docstring, step 3)."""
    if min_views > 2:
        return
    two = (row_counts(solved.weights > 0) == 2) & (row_counts(solved.used) == 2)
    if not two.any():
        return
    rows = np.flatnonzero(two)
    err = _errors_px(arrays, solved.points[rows], solved.normalized[rows], metric)
    off = (np.where(solved.used[rows], err, 0.0) > TWO_VIEW_AGREEMENT * threshold).any(-1)
    solved.points[rows[off]] = np.nan
    solved.used[rows[off]] = False
