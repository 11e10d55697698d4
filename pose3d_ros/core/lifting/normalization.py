"""Camera-aware input normalisation of 2D keypoints for the lifter.

Pixels of the full image are turned into normalised image coordinates with the intrinsics K
of that image, (u - cx) / fx and (v - cy) / fy: the ray direction of each joint, independent of
resolution, focal length and any crop. Per frame the model then sees

  * each joint relative to the root joint (pelvis), divided by the frame's 2D size
    (RMS distance of the joints from the root): the pose shape, scale-free;
  * the confidence of each joint (0 for missing joints, whose coordinates are set to 0);
  * the root's normalised coordinates (where the person is in the field of view), so the
    model can account for perspective away from the optical axis.

Feature layout of one frame: J*2 relative coordinates, J scores, 2 root coordinates, i.e.
(..., T, 3*J + 2). The same numpy function runs in training and at inference (before
onnxruntime), so the exported model carries no normalisation of its own; its metadata
names this one.
"""
from __future__ import annotations

import numpy as np

NORMALISATION_NAME = "k_normalised_root_relative_rms_scale_v1"
ROOT_INDEX = 0  # H36M-17 pelvis


def pixels_to_normalised(keypoints_px: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(..., 2) undistorted pixels -> (..., 2) normalised image coordinates.

    K: (3, 3), or broadcastable (..., 3, 3) with the leading dims of keypoints minus the
    joint axis, i.e. keypoints (..., J, 2) with K (..., 3, 3).
    """
    K = np.asarray(K, dtype=np.float64)
    if K.shape[-2:] != (3, 3):
        raise ValueError(f"K must have shape (..., 3, 3), got {K.shape}")
    kp = np.asarray(keypoints_px, dtype=np.float64)
    if kp.shape[-1] != 2:
        raise ValueError(f"keypoints must have shape (..., 2), got {kp.shape}")
    if K.ndim > 2:
        K = K[..., None, :, :]  # broadcast over the joint axis
    f = np.stack([K[..., 0, 0], K[..., 1, 1]], -1)
    c = np.stack([K[..., 0, 2], K[..., 1, 2]], -1)
    if not (np.all(np.isfinite(f)) and np.all(f > 0) and np.all(np.isfinite(c))):
        raise ValueError("K needs finite focal lengths fx, fy > 0 and a finite principal point")
    return (kp - c) / f


def normalised_to_pixels(points_norm: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Inverse of pixels_to_normalised for K of shape (3, 3)."""
    K = np.asarray(K, dtype=np.float64)
    return points_norm * np.array([K[0, 0], K[1, 1]]) + np.array([K[0, 2], K[1, 2]])


def lifter_features(keypoints_norm: np.ndarray, scores: np.ndarray,
                    min_score: float = 0.0) -> np.ndarray:
    """Per-frame model features from normalised keypoints.

    keypoints_norm: (..., T, J, 2) normalised image coordinates, NaN for missing joints.
    scores: (..., T, J) confidences in [0, 1].
    Returns (..., T, 3*J + 2) float32 features (see module docstring). A frame whose root is
    missing gets all-zero features (the model treats it as no evidence).
    """
    keypoints_norm = np.asarray(keypoints_norm, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if keypoints_norm.shape[-1] != 2 or keypoints_norm.shape[:-1] != scores.shape:
        raise ValueError(f"keypoints (..., T, J, 2) and scores (..., T, J) disagree: "
                         f"{keypoints_norm.shape} vs {scores.shape}")
    valid = np.isfinite(keypoints_norm).all(-1) & (scores > min_score)
    kp = np.where(valid[..., None], keypoints_norm, 0.0)
    root = kp[..., ROOT_INDEX:ROOT_INDEX + 1, :]
    rel = (kp - root) * valid[..., None]
    count = valid.sum(-1, keepdims=True)
    scale = np.sqrt((rel ** 2).sum((-1, -2))[..., None] / np.maximum(count, 1))
    scale = np.where(scale > 1e-6, scale, 1.0)
    frame_ok = valid[..., ROOT_INDEX:ROOT_INDEX + 1] & (count > 1)
    rel = rel / scale[..., None] * frame_ok[..., None]
    sc = np.where(valid, scores, 0.0) * frame_ok
    root_xy = root[..., 0, :] * frame_ok
    flat = rel.reshape(*rel.shape[:-2], -1)
    return np.concatenate([flat, sc, root_xy], -1).astype(np.float32)


def num_features(num_joints: int) -> int:
    return 3 * num_joints + 2
