"""How far an estimated rig is from a reference rig (e.g. a self-calibration from people
against a shipped calibration): per-camera rotation and translation-direction errors."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import Rig


@dataclass(frozen=True)
class RigComparison:
    """Per-camera differences between an estimated and a reference rig (angles in degrees).

    rotation_error_deg, translation_direction_error_deg, scale_ratio: relative to the
    `reference` camera (both rigs expressed in it; NaN for that camera; scale_ratio =
    estimated / reference baseline length, 1 is perfect). These put the reference camera's own
    error into every other camera.
    aligned_rotation_error_deg: (V,) every camera's rotation error after the one rotation
        that best aligns the two rigs' frames (chordal mean over the cameras), so that no
        camera is exact by construction.
    """

    names: list[str]
    rotation_error_deg: np.ndarray
    translation_direction_error_deg: np.ndarray
    scale_ratio: np.ndarray
    aligned_rotation_error_deg: np.ndarray


def rotation_angle_deg(rotations: np.ndarray) -> np.ndarray:
    """Angle (degrees) of rotation matrices (..., 3, 3)."""
    trace = np.trace(rotations, axis1=-2, axis2=-1)
    return np.degrees(np.arccos(np.clip((trace - 1) / 2, -1, 1)))


def aligned_rotation_errors(estimated: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Rotation errors (V,) degrees of world->camera rotations (V, 3, 3) after the common
    change of world frame Q (estimated_v @ Q ~ reference_v) that is the chordal L2 mean of the
    per-camera ones estimated_v^T @ reference_v (projected onto SO(3) by SVD)."""
    per_camera = np.einsum("vji,vjk->vik", estimated, reference)
    u, _, vt = np.linalg.svd(per_camera.sum(0))
    q = u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt
    return rotation_angle_deg(estimated @ q @ np.transpose(reference, (0, 2, 1)))


def compare_rigs(estimated: Rig, reference_rig: Rig, reference: int = 0) -> RigComparison:
    """Rotation and translation-direction error of each camera relative to camera `reference`
    (the reference camera itself has zero error by construction; its entries are NaN), and
    every camera's rotation error after the best common alignment (RigComparison)."""
    if estimated.names != reference_rig.names:
        raise ValueError(f"rigs have different cameras: {estimated.names} vs "
                         f"{reference_rig.names}")

    def relative(rig: Rig) -> tuple[list[np.ndarray], list[np.ndarray]]:
        r0, c0 = rig.cameras[reference].R, rig.cameras[reference].center
        rel_r = [c.R @ r0.T for c in rig.cameras]
        rel_c = [r0 @ (c.center - c0) for c in rig.cameras]  # centres in the ref camera frame
        return rel_r, rel_c

    er, ec = relative(estimated)
    rr, rc = relative(reference_rig)
    rot_err, dir_err, ratio = [], [], []
    for v in range(len(estimated)):
        if v == reference:
            rot_err.append(np.nan)
            dir_err.append(np.nan)
            ratio.append(np.nan)
            continue
        rot_err.append(float(rotation_angle_deg(er[v] @ rr[v].T)))
        cosang = ec[v] @ rc[v] / (np.linalg.norm(ec[v]) * np.linalg.norm(rc[v]))
        dir_err.append(np.degrees(np.arccos(np.clip(cosang, -1, 1))))
        ratio.append(np.linalg.norm(ec[v]) / np.linalg.norm(rc[v]))
    aligned = aligned_rotation_errors(np.stack([c.R for c in estimated.cameras]),
                                      np.stack([c.R for c in reference_rig.cameras]))
    return RigComparison(estimated.names, np.array(rot_err), np.array(dir_err), np.array(ratio),
                         aligned)
