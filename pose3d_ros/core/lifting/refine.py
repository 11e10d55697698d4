"""Test-time refinement of lifted 3D against the 2D detections (UAO-style).

The lifted skeleton X (camera frame, metres, already placed by root_placement) is moved by
per-joint offsets D minimising, over all skeletons at once (torch, L-BFGS):

    sum_j w_j |pi(X_j + D_j) - x_j|^2 * f^2                 reprojection, pixels^2
  + anchor * sum_j |D_j|^2 / (w_j + eps)                   stay put where 2D is weak
  + bones  * sum_b (|bone_b(X + D)| - |bone_b(X)|)^2        keep bone lengths (metres^2)

w_j are the 2D confidences (0 for missing joints), pi the pinhole projection to normalised
coordinates, f a nominal focal length converting normalised units to pixels. A joint the 2D
does not support (w_j ~ 0) is held by the anchor term alone and does not move.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..layouts import H36M17, JointLayout


@dataclass(frozen=True)
class RefineConfig:
    """Weights of the refinement objective (see module docstring)."""

    focal_px: float = 1000.0
    anchor: float = 2.0e4
    bones: float = 1.0e5
    eps: float = 0.05
    min_score: float = 0.2
    iterations: int = 30


def refine_to_2d(points_cam: np.ndarray, keypoints_norm: np.ndarray, scores: np.ndarray,
                 config: RefineConfig = RefineConfig(),
                 layout: JointLayout = H36M17) -> np.ndarray:
    """Refine (..., J, 3) camera-frame skeletons so they project onto (..., J, 2) normalised
    2D keypoints with confidences (..., J). Returns refined (..., J, 3) metres; skeletons with
    NaN joints keep those joints NaN."""
    import torch

    X = np.asarray(points_cam, np.float64)
    x = np.asarray(keypoints_norm, np.float64)
    w = np.asarray(scores, np.float64)
    if X.shape[-1] != 3 or x.shape[-1] != 2 or X.shape[:-1] != x.shape[:-1] or \
            w.shape != x.shape[:-1]:
        raise ValueError(f"expected points (..., J, 3), keypoints (..., J, 2), scores (..., J);"
                         f" got {X.shape}, {x.shape}, {w.shape}")
    lead = X.shape[:-2]
    J = X.shape[-2]
    Xf, xf, wf = X.reshape(-1, J, 3), x.reshape(-1, J, 2), w.reshape(-1, J)
    present = np.asarray(np.isfinite(Xf).all(-1))
    usable = present & np.isfinite(xf).all(-1) & (wf >= config.min_score)
    wf = np.where(usable, wf, 0.0)
    Xt = torch.from_numpy(np.ascontiguousarray(np.where(present[..., None], Xf, 0.0)))
    xt = torch.from_numpy(np.where(usable[..., None], xf, 0.0))
    wt = torch.from_numpy(wf)
    bones = torch.from_numpy(layout.bones_array)
    bone_ok = torch.from_numpy(present[:, layout.bones_array].all(-1))
    rest = torch.linalg.norm(Xt[:, bones[:, 0]] - Xt[:, bones[:, 1]], dim=-1)
    offset = torch.zeros(Xt.shape, dtype=Xt.dtype, requires_grad=True)
    anchor_w = config.anchor / (wt + config.eps)
    opt = torch.optim.LBFGS([offset], lr=1.0, max_iter=config.iterations,
                            line_search_fn="strong_wolfe")

    def objective():
        opt.zero_grad()
        P = Xt + offset
        z = P[..., 2:3].clamp(min=0.05)
        r = (P[..., :2] / z - xt) * config.focal_px
        loss = (wt * (r ** 2).sum(-1)).sum()
        loss = loss + (anchor_w * (offset ** 2).sum(-1)).sum()
        length = torch.linalg.norm(P[:, bones[:, 0]] - P[:, bones[:, 1]], dim=-1)
        loss = loss + config.bones * (((length - rest) ** 2) * bone_ok).sum()
        loss.backward()
        return loss

    opt.step(objective)
    out = (Xt + offset).detach().numpy()
    out[~present] = np.nan
    return out.reshape(*lead, J, 3)
