"""REP-155 style body frames from 3D joints (numpy only; used for TF and Skeleton3D.body_pose).

Body frame of a person: origin at the pelvis (mid-hip), z up along the spine (mid-hip to
mid-shoulder), y to the person's left (right hip to left hip, made orthogonal to z), x forward
(y cross z). When a hip or shoulder is missing, the orientation is identity and the origin is
the mid-hip if both hips are known, else the mean of the visible joints, else NaN.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from pose3d_ros.core.layouts import JointLayout


def body_frames(positions: np.ndarray, layout: JointLayout) -> tuple[np.ndarray, np.ndarray]:
    """positions (P, J, 3) metres -> origins (P, 3) metres, rotations (P, 3, 3) (columns: the
    body x, y, z axes in the positions' frame)."""
    positions = np.asarray(positions, np.float64)
    num_people = positions.shape[0]
    rotations = np.tile(np.eye(3), (num_people, 1, 1))
    visible = np.isfinite(positions).all(-1)
    with np.errstate(invalid="ignore"):
        centroid = np.where(visible[..., None], positions, 0.0).sum(1) / np.maximum(
            visible.sum(1), 1)[:, None]
    centroid[visible.sum(1) == 0] = np.nan
    names = layout.joint_names
    if not all(n in names for n in ("left_hip", "right_hip", "left_shoulder", "right_shoulder")):
        return centroid, rotations
    lh, rh, ls, rs = (positions[:, layout.index(n)] for n in
                      ("left_hip", "right_hip", "left_shoulder", "right_shoulder"))
    mid_hip = (lh + rh) / 2
    origins = np.where(np.isfinite(mid_hip).all(-1, keepdims=True), mid_hip, centroid)
    z = (ls + rs) / 2 - mid_hip
    left = lh - rh
    with np.errstate(invalid="ignore", divide="ignore"):
        z = z / np.linalg.norm(z, axis=-1, keepdims=True)
        y = left - (left * z).sum(-1, keepdims=True) * z
        y = y / np.linalg.norm(y, axis=-1, keepdims=True)
    x = np.cross(y, z)
    frame = np.stack([x, y, z], axis=-1)
    ok = np.isfinite(frame).all((-1, -2))
    rotations[ok] = frame[ok]
    return origins, rotations


def quaternions_xyzw(rotations: np.ndarray) -> np.ndarray:
    """(P, 3, 3) rotation matrices -> (P, 4) quaternions (x, y, z, w), as geometry_msgs wants."""
    if rotations.shape[0] == 0:
        return np.zeros((0, 4))
    return Rotation.from_matrix(rotations).as_quat()
