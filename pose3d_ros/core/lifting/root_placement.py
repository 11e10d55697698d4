"""Metric placement of a root-relative skeleton in the camera frame from its 2D evidence.

Given a root-relative skeleton X (J, 3) in metres (camera optical axes: x right, y down,
z forward) and its detected 2D joints in normalised image coordinates (x_j, y_j) with
confidences w_j, the root translation t = (tx, ty, tz) makes the projection of X + t agree
with the 2D:

    x_j = (X_j + tx) / (Z_j + tz),   y_j = (Y_j + ty) / (Z_j + tz)

Multiplying out gives two equations per joint that are linear in t:

    tx - x_j tz = x_j Z_j - X_j,      ty - y_j tz = y_j Z_j - Y_j

solved by confidence-weighted linear least squares (3x3 normal equations, batched), then
optionally refined by Gauss-Newton on the true (non-linear) reprojection residuals. The
skeleton's size fixes the depth: monocular 2D cannot tell a small near person from a large far
one, so the skeleton can first be scaled to a body-size prior (BodySizePrior).
Every function is vectorised over any leading axes (people, frames).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..body_model import DEFAULT_PERSON_HEIGHT_M, bone_fractions, bone_lengths
from ..layouts import H36M17, JointLayout

if TYPE_CHECKING:
    import torch

@dataclass(frozen=True)
class BodySizePrior:
    """Expected bone lengths of a person (metres), H36M-17 bones in layout order.

    height_m: standing height; bone lengths are height times the proportions of the package's
    one body (body_model.bone_fractions) unless bone_lengths_m gives them explicitly (B,) in
    the order of the layout's bones.
    weight: how far the skeleton is scaled towards the prior, in log scale: 1 = the prior's
    size (as before), 0 = the skeleton's own metric size (a lifter's learned size), 0.5 =
    their geometric mean (the fusion of the two estimates of the person's size, hence depth).
    """

    height_m: float = DEFAULT_PERSON_HEIGHT_M
    bone_lengths_m: tuple[float, ...] | None = None
    layout: JointLayout = field(default=H36M17, compare=False)
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not 0.5 < self.height_m < 2.5:
            raise ValueError(f"height_m must be a human height in metres, got {self.height_m}")
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"weight must be in [0, 1], got {self.weight}")
        if self.bone_lengths_m is not None and len(self.bone_lengths_m) != len(self.layout.bones):
            raise ValueError(f"bone_lengths_m needs {len(self.layout.bones)} values "
                             f"(bones of {self.layout.name}), got {len(self.bone_lengths_m)}")

    def lengths(self) -> np.ndarray:
        """(B,) expected bone lengths in metres."""
        if self.bone_lengths_m is not None:
            return np.asarray(self.bone_lengths_m, dtype=np.float64)
        try:
            return bone_fractions(self.layout) * self.height_m
        except ValueError as err:
            raise ValueError(f"{err}; give bone_lengths_m") from err


def scale_to_prior(points_rel: np.ndarray, prior: BodySizePrior) -> tuple[np.ndarray, np.ndarray]:
    """Scale root-relative skeletons (..., J, 3) so their total bone length matches the prior
    (prior.weight < 1: part of the way, in log scale).

    Only bones present (finite) in a skeleton count, on both sides of the ratio.
    Returns (scaled points (..., J, 3), scale factors (...,)); NaN scale if no bone is present.
    """
    lengths = bone_lengths(points_rel, prior.layout)
    expected = np.broadcast_to(prior.lengths(), lengths.shape)
    ok = np.isfinite(lengths)
    measured = np.where(ok, lengths, 0).sum(-1)
    wanted = np.where(ok, expected, 0).sum(-1)
    scale = np.where(measured > 1e-9, wanted / np.where(measured > 1e-9, measured, 1), np.nan)
    scale = scale ** prior.weight
    return points_rel * scale[..., None, None], scale


def _check(points_rel: np.ndarray, keypoints_norm: np.ndarray, weights: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    points_rel = np.asarray(points_rel, np.float64)
    keypoints_norm = np.asarray(keypoints_norm, np.float64)
    weights = np.asarray(weights, np.float64)
    if points_rel.shape[-1] != 3 or keypoints_norm.shape[-1] != 2:
        raise ValueError(f"expected points (..., J, 3) and keypoints (..., J, 2), got "
                         f"{points_rel.shape} and {keypoints_norm.shape}")
    if points_rel.shape[:-1] != keypoints_norm.shape[:-1] or \
            weights.shape != keypoints_norm.shape[:-1]:
        raise ValueError(f"points {points_rel.shape}, keypoints {keypoints_norm.shape} and "
                         f"weights {weights.shape} disagree on (..., J)")
    usable = np.isfinite(points_rel).all(-1) & np.isfinite(keypoints_norm).all(-1) & \
        np.isfinite(weights) & (weights > 0)
    w = np.where(usable, weights, 0.0)
    return (np.where(usable[..., None], points_rel, 0.0),
            np.where(usable[..., None], keypoints_norm, 0.0), w)


def _solve_translation_system(w: np.ndarray, u: np.ndarray, v: np.ndarray, ru: np.ndarray,
                               rv: np.ndarray, ridge: float = 0.0) -> np.ndarray:
    """Solve sum_j w_j (a_j a_j^T + b_j b_j^T) t = sum_j w_j (ru_j a_j + rv_j b_j) for t,
    batched, with a_j = [1, 0, -u_j] and b_j = [0, 1, -v_j] (the rows of both root-translation
    problems below): all arrays (..., J); ridge is added to the diagonal. The matrix is
    [[S, 0, -Su], [0, S, -Sv], [-Su, -Sv, Suv]] with S = sum w, Su = sum w u, Sv = sum w v,
    Suv = sum w (u^2 + v^2), solved by eliminating t_x and t_y: no per-person LAPACK call.
    Returns (..., 3); inf/NaN where the system is singular (the caller masks those)."""
    s = w.sum(-1) + ridge
    su, sv = (w * u).sum(-1), (w * v).sum(-1)
    suv = (w * (u * u + v * v)).sum(-1) + ridge
    gx, gy = (w * ru).sum(-1), (w * rv).sum(-1)
    gz = -(w * (u * ru + v * rv)).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tz = (gz + (su * gx + sv * gy) / s) / (suv - (su * su + sv * sv) / s)
        t = np.empty(tz.shape + (3,))              # (np.stack's call costs more than this)
        t[..., 0], t[..., 1], t[..., 2] = (gx + su * tz) / s, (gy + sv * tz) / s, tz
        return t


def solve_root_translation(points_rel: np.ndarray, keypoints_norm: np.ndarray,
                           weights: np.ndarray) -> np.ndarray:
    """Confidence-weighted linear least-squares root translation.

    points_rel: (..., J, 3) root-relative metres (camera axes); keypoints_norm: (..., J, 2)
    normalised image coordinates; weights: (..., J) >= 0 (NaN inputs get weight 0).
    Returns (..., 3) translation t in metres; NaN where fewer than 2 joints are usable.
    """
    return _solve_checked(*_check(points_rel, keypoints_norm, weights))


def _solve_checked(X: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """solve_root_translation of _check's arrays."""
    # rows: [1, 0, -x_j] t = x_j Z_j - X_j ; [0, 1, -y_j] t = y_j Z_j - Y_j
    t = _solve_translation_system(w, x[..., 0], x[..., 1], x[..., 0] * X[..., 2] - X[..., 0],
                                  x[..., 1] * X[..., 2] - X[..., 1])
    enough = ((w > 0).sum(-1) >= 2) & np.isfinite(t).all(-1)   # (and not degenerate)
    return np.where(enough[..., None], t, np.nan)


# Gauss-Newton stops once no translation moves more than this (metres). It converges
# quadratically from the linear solution: on the demo's real 2D the largest step over 300
# placements was 56 mm, 0.39 mm, 6.3 um, 0.1 um in iterations 1-4, so it stops after the
# third, 0.1 um from where five iterations end.
GAUSS_NEWTON_TOLERANCE_M = 1e-5


def refine_root_translation(points_rel: np.ndarray, keypoints_norm: np.ndarray,
                            weights: np.ndarray, t0: np.ndarray,
                            iterations: int = 5,
                            tolerance_m: float = GAUSS_NEWTON_TOLERANCE_M) -> np.ndarray:
    """Gauss-Newton on the weighted reprojection residuals in normalised coordinates.

    Same shapes as solve_root_translation, t0 (..., 3) the start. Returns (..., 3).
    Steps that would put a joint behind the camera are rejected (t kept). At most
    `iterations` steps; fewer once every translation's step is under tolerance_m metres
    (0 = always all of them).
    """
    return _refine_checked(*_check(points_rel, keypoints_norm, weights), t0, iterations,
                           tolerance_m)


def _refine_checked(X: np.ndarray, x: np.ndarray, w: np.ndarray, t0: np.ndarray,
                    iterations: int, tolerance_m: float) -> np.ndarray:
    """refine_root_translation of _check's arrays."""
    t = np.array(t0, dtype=np.float64, copy=True)
    ok = np.asarray(np.isfinite(t).all(-1))
    t = np.where(ok[..., None], t, np.array([0.0, 0.0, 1.0]))
    seen = (w > 0).any(-1)
    for _ in range(iterations):
        P = X + t[..., None, :]
        z = P[..., 2]
        inv = 1.0 / np.where(np.abs(z) > 1e-6, z, 1e-6)
        u, v = P[..., 0] * inv, P[..., 1] * inv                      # projections (..., J)
        # d(proj)/dt = inv * [1, 0, -u] and inv * [0, 1, -v]: the Gauss-Newton system is the
        # linear one's with weights w inv^2 and right-hand sides (residual / inv)
        step = _solve_translation_system(w * inv * inv, u, v, (u - x[..., 0]) / inv,
                                         (v - x[..., 1]) / inv, ridge=1e-9)
        step = np.where(np.isfinite(step), step, 0.0)
        t_new = t - step
        in_front = ((X[..., 2] + t_new[..., None, 2]) > 1e-3).all(-1) | ~seen
        t = np.where(in_front[..., None], t_new, t)
        if not (np.abs(step) >= tolerance_m).any():       # every step taken is negligible
            break
    t[~ok] = np.nan
    return t


def place_in_camera(points_rel: np.ndarray, keypoints_norm: np.ndarray, weights: np.ndarray,
                    prior: BodySizePrior | None = None, refine: bool = True,
                    iterations: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Root-relative skeletons -> skeletons in the camera frame, metres.

    points_rel: (..., J, 3); keypoints_norm (..., J, 2) normalised image coordinates of the
    same joints (undistorted); weights (..., J) confidences. prior: scale the skeletons to
    this body size first (None keeps their own metric scale).
    Returns (points in the camera frame (..., J, 3), root translations (..., 3)).
    """
    if prior is not None:
        points_rel, _ = scale_to_prior(points_rel, prior)
    checked = _check(points_rel, keypoints_norm, weights)     # once for both steps
    t = _solve_checked(*checked)
    if refine:
        t = _refine_checked(*checked, t, iterations, GAUSS_NEWTON_TOLERANCE_M)
    return np.asarray(points_rel, np.float64) + t[..., None, :], t



def placed_confidence(placed: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(..., J) float32 confidence of one-view placed joints (..., J, 3): each joint's 2D score
    where it was placed, 0 where it was not (a NaN score counts as 0): what the one-camera
    methods publish, so a consumer tells seen joints from missing ones; clipped to [0, 1] (a
    foreign detector's heatmap maxima of 5 were published as confidence 5: a review)."""
    return np.where(np.isfinite(placed).all(-1),
                    np.clip(np.nan_to_num(scores, posinf=1.0, neginf=0.0), 0.0, 1.0),
                    0.0).astype(np.float32)

def solve_root_translation_torch(points_rel: torch.Tensor, keypoints_norm: torch.Tensor,
                                 weights: torch.Tensor) -> torch.Tensor:
    """Torch twin of solve_root_translation (differentiable; for training losses).

    points_rel (B, J, 3), keypoints_norm (B, J, 2), weights (B, J) with no NaN (weight 0 for
    missing joints). Returns (B, 3).
    """
    import torch

    x, y = keypoints_norm[..., 0], keypoints_norm[..., 1]
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    A = torch.cat([torch.stack([one, zero, -x], -1), torch.stack([zero, one, -y], -1)], -2)
    b = torch.cat([x * points_rel[..., 2] - points_rel[..., 0],
                   y * points_rel[..., 2] - points_rel[..., 1]], -1)
    ww = torch.cat([weights, weights], -1)
    AtA = torch.einsum("bki,bk,bkj->bij", A, ww, A) + 1e-6 * torch.eye(3, dtype=A.dtype)
    Atb = torch.einsum("bki,bk,bk->bi", A, ww, b)
    return torch.linalg.solve(AtA, Atb)
