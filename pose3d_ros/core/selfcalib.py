"""Camera self-calibration from people: relative poses of cameras with known intrinsics, from
synchronised 2D skeletons, with metric scale from a body-size prior.

Every body joint of every person in every synchronised frame is a point correspondence between
the cameras that see it (not the face's: body_joint_scores). Steps:
1. Undistort all keypoints (intrinsics known); keep those with score >= min_score.
2. Essential matrix with RANSAC (OpenCV) for every camera pair with enough common joints; the
   pair with the most inliers starts the reconstruction (relative pose by cv2.recoverPose).
3. Incremental registration: joints are triangulated (robustly, see triangulation.py) and the
   next camera (most 2D-3D matches) is placed by PnP + RANSAC; repeat until all are placed.
4. Bundle adjustment of all camera poses and all 3D joints together
   (scipy.optimize.least_squares, sparse Jacobian, soft-L1 loss on pixel residuals).
5. Gauge: the reference camera sits at the rig origin (R = I, t = 0), so the rig frame is
   that camera's optical frame. Metric scale: the reconstruction is scaled so that the median
   limb lengths match the package's body (body_model: joint-centre proportions, upper arm
   0.160 H, forearm 0.143 H, thigh 0.246 H, shank 0.246 H) at `person_height_m`, or explicit
   `bone_lengths_m` given by joint-name pairs.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any, Callable, Sequence

import numpy as np

from .array_ops import cross_matrix, nanmedian_axis
from .body_model import DEFAULT_PERSON_HEIGHT_M, bone_fraction, bone_lengths
from .camera import CameraModel, Rig
from .crossview import (
    MORE_FRAMES_HINT,
    CrossViewParams,
    CrossViewPeople,
    associate_uncalibrated,
)
from .layouts import BLAZEPOSE33, JointLayout
from .plausibility import reference_body
from .rig_comparison import compare_rigs
from .selfcalib_checks import (
    CalibrationRefusedError,
    CheckLimits,
    SolutionChecks,
    check_solution,
    heldout_mask,
    sync_scan,
)
from .triangulation import triangulate

log = logging.getLogger(__name__)
DEFAULT_LIMITS = CheckLimits()

# Limb lengths as fractions of body height: the limbs of the package's one body
# (body_model.bone_fraction).
LIMB_FRACTIONS: dict[tuple[str, str], float] = {
    (f"{side}_{a}", f"{side}_{b}"): bone_fraction(f"{side}_{a}", f"{side}_{b}")
    for side in ("left", "right") for a, b in (("shoulder", "elbow"), ("elbow", "wrist"),
                                               ("hip", "knee"), ("knee", "ankle"))}


@dataclass(frozen=True)
class SelfCalibration:
    """Result of self-calibration.

    rig: cameras with estimated extrinsics (rig frame = reference camera's optical frame,
        metres after scaling).
    reprojection_rms_px: RMS pixel residual of the bundle adjustment (inlier observations).
    num_observations: 2D observations used in the bundle adjustment.
    scale: metres per unit of the unscaled reconstruction.
    pair_inliers: {(a, b): essential-matrix RANSAC inliers} for the camera pairs tried.
    checks: the solution's own checks (selfcalib_checks.SolutionChecks), None if not run.
    heldout_samples: (N,) True for the input samples the fit never saw (the held-out check's).
    """

    rig: Rig
    reprojection_rms_px: float
    num_observations: int
    scale: float
    pair_inliers: dict
    checks: SolutionChecks | None = None
    heldout_samples: np.ndarray | None = None


def _relative_pose(xa: np.ndarray, xb: np.ndarray, threshold: float
                   ) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Essential matrix + cheirality from normalised correspondences (n, 2) -> R, t, inliers."""
    import cv2

    eye = np.eye(3)
    e, mask = cv2.findEssentialMat(xa, xb, eye, method=cv2.RANSAC, prob=0.999,
                                   threshold=threshold)
    if e is None or e.shape != (3, 3):
        return None
    n_in, rot, t, mask2 = cv2.recoverPose(e[:3], xa, xb, eye, mask=mask.copy())
    return rot, t.reshape(3), int(n_in)


def _limb_prior(person_height_m: float | None,
               bone_lengths_m: dict[tuple[str, str], float] | None) -> dict:
    """Expected limb lengths in metres: explicit bone lengths, else fractions of the height."""
    if bone_lengths_m:
        return bone_lengths_m
    if person_height_m is None:
        raise ValueError("the metric scale needs person_height_m or bone_lengths_m")
    return {k: v * float(person_height_m) for k, v in LIMB_FRACTIONS.items()}


def _limb_scale(points: np.ndarray, layout: JointLayout, person_height_m: float | None,
                bone_lengths_m: dict[tuple[str, str], float] | None) -> float:
    """Metres per reconstruction unit from limb lengths. points: (N, J, 3)."""
    prior = _limb_prior(person_height_m, bone_lengths_m)
    limbs = [limb for limb in prior if all(j in layout.joint_names for j in limb)]
    measured = bone_lengths(points, np.array([layout.indices(limb) for limb in limbs],
                                             np.intp).reshape(-1, 2))            # (N, L)
    usable = np.isfinite(measured) & (measured > 0)
    median = nanmedian_axis(np.where(usable, measured, np.nan), axis=0)         # (L,)
    ratios = np.array([prior[limb] for limb in limbs]) / median
    ratios = ratios[np.isfinite(ratios)]
    if not ratios.size:
        raise ValueError(f"layout {layout.name}: none of the prior bones {list(prior)} could be "
                         "measured; cannot fix the metric scale")
    return float(np.median(ratios))


def _essential_pairs(xy: np.ndarray, valid: np.ndarray, focal: np.ndarray, ransac_px: float
                     ) -> tuple[dict[tuple[int, int], tuple[np.ndarray, np.ndarray]],
                                dict[tuple[int, int], int]]:
    """Relative pose and RANSAC inliers of every camera pair sharing >= 15 confident joints."""
    pair_inliers: dict[tuple[int, int], int] = {}
    pair_pose: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    for a, b in combinations(range(xy.shape[1]), 2):
        both = valid[:, a] & valid[:, b]
        if both.sum() < 15:
            continue
        res = _relative_pose(xy[both, a], xy[both, b], ransac_px / np.sqrt(focal[a] * focal[b]))
        if res is not None:
            pair_pose[(a, b)] = res[:2]
            pair_inliers[(a, b)] = res[2]
    if not pair_inliers:
        raise ValueError("no camera pair shares enough confident joints (>= 15) to estimate "
                         "an essential matrix" + MORE_FRAMES_HINT)
    return pair_pose, pair_inliers


def _register(cameras: Sequence[CameraModel], raw: np.ndarray, xy: np.ndarray, w: np.ndarray,
              valid: np.ndarray, focal: np.ndarray,
              pair_pose: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]],
              pair_inliers: dict[tuple[int, int], int], min_score: float, ransac_px: float
              ) -> tuple[list[np.ndarray | None], list[np.ndarray | None], int]:
    """Initial poses: the pair with the most inliers, then PnP + RANSAC camera by camera.
    Returns rotations, translations (lists of V) and the start pair."""
    import cv2

    n_views = len(cameras)
    a0, b0 = max(pair_inliers, key=lambda pair: pair_inliers[pair])
    rot: list[np.ndarray | None] = [None] * n_views
    trans: list[np.ndarray | None] = [None] * n_views
    rot[a0], trans[a0] = np.eye(3), np.zeros(3)
    rot[b0], trans[b0] = pair_pose[(a0, b0)]
    log.info("self-calibration: start pair %s with %d inliers", (a0, b0), pair_inliers[(a0, b0)])
    registered = [a0, b0]
    while len(registered) < n_views:
        pts3d, _ = _triangulate_posed(cameras, rot, trans, registered, raw, w, valid,
                                      min_score, ransac_px)
        have = np.all(np.isfinite(pts3d), -1)
        counts = {v: int((have & valid[:, v]).sum()) for v in range(n_views)
                  if v not in registered}
        best = max(counts, key=lambda v: counts[v])
        if counts[best] < 6:
            missing = [cameras[v].name for v in range(n_views) if v not in registered]
            raise ValueError(f"cannot register cameras {missing}: fewer than 6 joints seen by "
                             "them and by already registered cameras" + MORE_FRAMES_HINT)
        sel = have & valid[:, best]
        ok, rvec, tvec, inl = cv2.solvePnPRansac(
            pts3d[sel].astype(np.float64), xy[sel, best].astype(np.float64), np.eye(3), None,
            reprojectionError=ransac_px / focal[best], iterationsCount=500, confidence=0.999,
            flags=cv2.SOLVEPNP_EPNP)
        if not ok:
            raise ValueError(f"PnP failed for camera {cameras[best].name!r}")
        rot[best] = cv2.Rodrigues(rvec)[0]
        trans[best] = tvec.reshape(3)
        registered.append(best)
        log.info("self-calibration: registered %s with %d PnP inliers", cameras[best].name,
                 0 if inl is None else len(inl))
    return rot, trans, a0


def _triangulate_posed(cameras: Sequence[CameraModel], rot: Sequence[np.ndarray | None],
                       trans: Sequence[np.ndarray | None], indices: list[int], raw: np.ndarray,
                       w: np.ndarray, valid: np.ndarray, min_score: float, ransac_px: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Robust triangulation of the points (M, V, 2) with the cameras `indices` at the given
    poses (None for a camera not registered: none of `indices` may be one) -> points (M, 3),
    used views (M, len(indices))."""
    posed = []
    for i in indices:
        rotation, translation = rot[i], trans[i]
        if rotation is None or translation is None:
            raise ValueError(f"camera {cameras[i].name} has no pose to triangulate with")
        posed.append(cameras[i].with_pose(rotation, translation))
    kp_sub = raw[:, indices][:, :, None]  # (M, v, 1, 2)
    w_sub = np.where(valid[:, indices], w[:, indices], 0.0)[:, :, None]
    res = triangulate(posed, kp_sub, w_sub, min_score=min_score,
                      outlier_threshold_px=3 * ransac_px)
    return res.points[:, 0], res.used[:, :, 0]


@dataclass(frozen=True)
class _Bundle:
    """Bundle adjustment result: rotations (V, 3, 3), translations (V, 3), RMS pixel residual
    of the inlier observations (< 3 loss_px) and their number; the pixel residual (n,) of every
    observation it used and the point (index into M) of each; focal_scale (V,) the factor
    each camera's focal length was refined by (ones unless free_focal)."""

    rotations: np.ndarray
    translations: np.ndarray
    rms_px: float
    num_inliers: int
    residual_px: np.ndarray
    point: np.ndarray
    focal_scale: np.ndarray


def _so3_right_jacobian(rotvec: np.ndarray) -> np.ndarray:
    """(..., 3) rotation vectors -> (..., 3, 3) right Jacobians J_r of SO(3):
    R(r + d) = R(r) exp([J_r(r) d]x) to first order in d."""
    angle = np.linalg.norm(rotvec, axis=-1)[..., None, None]
    small = angle < 1e-4
    safe = np.where(small, 1.0, angle)
    # (1 - cos a) / a^2 and (a - sin a) / a^3, with their series near 0
    first = np.where(small, 0.5 - angle ** 2 / 24.0, (1.0 - np.cos(safe)) / safe ** 2)
    second = np.where(small, 1.0 / 6.0 - angle ** 2 / 120.0, (safe - np.sin(safe)) / safe ** 3)
    hat = cross_matrix(rotvec)
    return np.eye(3) - first * hat + second * (hat @ hat)


def _bundle_adjust(rot: Sequence[np.ndarray | None], trans: Sequence[np.ndarray | None],
                   pts3d: np.ndarray, used: np.ndarray, xy: np.ndarray, w: np.ndarray,
                   focal: np.ndarray, fixed: int, *, loss_px: float, iterations: int,
                   max_points: int, free_focal: bool = False) -> _Bundle:
    """Sparse bundle adjustment of all poses but camera `fixed` and all points; with
    free_focal also one focal-length factor per camera, every camera's (normalised
    coordinates scale with 1 / focal length; the principal points and distortion stay).

    pts3d (M, 3) initial points, used (M, V) observations to use; xy (M, V, 2) normalised
    coordinates; w (M, V) observation weights (residuals are scaled by their square root).
    """
    from scipy.optimize import least_squares
    from scipy.sparse import coo_matrix, csr_matrix
    from scipy.spatial.transform import Rotation

    n_views = xy.shape[1]
    keep = np.flatnonzero(np.all(np.isfinite(pts3d), -1) & (used.sum(-1) >= 2))
    if keep.size > max_points:
        keep = keep[np.linspace(0, keep.size - 1, max_points).astype(int)]
    obs_pt, obs_cam = np.nonzero(used[keep])
    obs_xy = xy[keep][obs_pt, obs_cam]
    obs_w = np.sqrt(w[keep][obs_pt, obs_cam]) * focal[obs_cam]
    free = [v for v in range(n_views) if v != fixed]
    cam_slot = np.full(n_views, -1)
    cam_slot[free] = np.arange(len(free))

    n_pose = 6 * len(free)
    n_focal = n_views if free_focal else 0               # log focal factors, after the poses

    def rotation_vectors(x: np.ndarray) -> np.ndarray:
        """(V, 3) every camera's rotation vector (zero for the fixed one)."""
        rv = np.zeros((n_views, 3))
        rv[free] = x[:n_pose].reshape(-1, 6)[:, :3]
        return rv

    def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        tv = np.zeros((n_views, 3))
        tv[free] = x[:n_pose].reshape(-1, 6)[:, 3:]
        scale = np.exp(x[n_pose:n_pose + n_focal]) if free_focal else np.ones(n_views)
        return (Rotation.from_rotvec(rotation_vectors(x)).as_matrix(), tv, scale,
                x[n_pose + n_focal:].reshape(-1, 3))

    def residuals(x: np.ndarray) -> np.ndarray:
        rmat, tv, scale, pts = unpack(x)
        pc = np.einsum("nij,nj->ni", rmat[obs_cam], pts[obs_pt]) + tv[obs_cam]
        z = np.where(np.abs(pc[:, 2]) > 1e-9, pc[:, 2], 1e-9)
        projected = pc[:, :2] / z[:, None] * scale[obs_cam][:, None]
        return ((projected - obs_xy) * obs_w[:, None]).reshape(-1)

    def jacobian(x: np.ndarray) -> csr_matrix:
        """The residuals' exact derivatives, in the sparsity pattern's order: per observation
        and image axis (rotation vector 3, translation 3, log focal factor 0-1, point 3)."""
        rmat, tv, scale, pts = unpack(x)
        point = pts[obs_pt]
        pc = np.einsum("nij,nj->ni", rmat[obs_cam], point) + tv[obs_cam]
        z = np.where(np.abs(pc[:, 2]) > 1e-9, pc[:, 2], 1e-9)
        gain = (scale[obs_cam] * obs_w)[:, None, None]
        # d(x/z, y/z) / d(camera point): (n_obs, 2, 3)
        d_proj = np.zeros((n_obs, 2, 3))
        d_proj[:, 0, 0] = d_proj[:, 1, 1] = 1.0 / z
        d_proj[:, :, 2] = -pc[:, :2] / (z * z)[:, None]
        d_proj *= gain
        d_point = d_proj @ rmat[obs_cam]                                    # (n_obs, 2, 3)
        # R(r + d) p = R p - R [p]x J_r(r) d (J_r: the right Jacobian of SO(3))
        right = _so3_right_jacobian(rotation_vectors(x))[obs_cam]
        d_rotvec = -(d_point @ cross_matrix(point)) @ right
        blocks = [d_rotvec, d_proj]
        if free_focal:
            blocks.append((pc[:, :2] / z[:, None] * gain[:, :, 0])[..., None])
        blocks.append(d_point)
        values = np.concatenate(blocks, axis=2).reshape(-1)
        return csr_matrix((values[mask], (rows[mask], cols[mask])), shape=sparsity.shape)

    x0 = np.concatenate(
        [np.concatenate([Rotation.from_matrix(rot[v]).as_rotvec(), trans[v]]) for v in free]
        + [np.zeros(n_focal), pts3d[keep].reshape(-1)])
    n_obs = obs_pt.size
    per_obs = 6 + (1 if free_focal else 0) + 3
    rows = np.repeat(np.arange(2 * n_obs), per_obs)
    cols_cam = 6 * cam_slot[obs_cam][:, None] + np.arange(6)  # (n_obs, 6); -1 slot -> invalid
    cols_focal = (n_pose + obs_cam)[:, None][:, :n_focal]     # (n_obs, 1 or 0)
    cols_pt = n_pose + n_focal + 3 * obs_pt[:, None] + np.arange(3)
    cols = np.repeat(np.concatenate([cols_cam, cols_focal, cols_pt], axis=1), 2,
                     axis=0).reshape(-1)
    mask = np.repeat(np.concatenate([np.repeat(cam_slot[obs_cam][:, None] >= 0, 6, 1),
                                     np.ones((n_obs, per_obs - 6), bool)], 1), 2,
                     axis=0).reshape(-1)
    sparsity = coo_matrix((np.ones(mask.sum()), (rows[mask], cols[mask])),
                          shape=(2 * n_obs, x0.size))
    sol = least_squares(residuals, x0, jac=jacobian, loss="soft_l1", f_scale=loss_px,
                        x_scale="jac", method="trf", max_nfev=iterations)
    rmat, tv, focal_scale, _ = unpack(sol.x)
    err = np.linalg.norm(sol.fun.reshape(-1, 2) / np.sqrt(w[keep][obs_pt, obs_cam])[:, None],
                         axis=-1)
    inlier = err < 3 * loss_px
    rms = float(np.sqrt(np.mean(err[inlier] ** 2))) if inlier.any() else float("nan")
    return _Bundle(rmat, tv, rms, int(inlier.sum()), err, keep[obs_pt], focal_scale)


def body_joint_scores(scores: np.ndarray, layout: JointLayout) -> np.ndarray:
    """scores (..., J) with the face joints' (nose, eyes, ears, mouth: plausibility's
    reference_body(layout).face) set to 0, so that they are neither fitted nor checked (but
    for the nose of the two-camera mirrored-bodies check, check_solution's front_scores; the
    synchronisation scan and the focal factors of calibrate_from_detections keep every
    joint: their limits were set on them).

    A 2D network places the face of a head it sees from behind where a face would be: on the
    one-person demo 10-15 px off the geometry the arms and legs agree on within 3 px, and
    with one short walk that systematic pattern turned cam03 3.2 degrees (session 66, 6z16 of
    results_multiview.md; without the face joints 0.6 / 1.5 / 0.4 degrees). The face spans a
    few centimetres: the body's joints carry the geometry.
    """
    sc = np.array(scores, np.float64)
    face = reference_body(layout).face
    if sc.shape[-1] != face.size:
        raise ValueError(f"scores have {sc.shape[-1]} joints, layout {layout.name!r} has "
                         f"{face.size}")
    sc[..., face] = 0.0
    return sc


def joint_noise_weights(residual_px: np.ndarray, joint: np.ndarray, num_joints: int, *,
                        floor: float = 0.05) -> np.ndarray:
    """Relative weights (num_joints,) of joint types from how well the cameras agree on them.

    residual_px: (n,) reprojection residuals (pixels) of bundle-adjusted observations; joint:
    (n,) their joint index. A joint type's noise scale is the median of its residuals; its
    weight is (median over the types of those scales / its own scale)^2, clipped to
    [floor, 1 / floor]: inverse-variance weighting, so that keypoints whose definition moves
    with the viewpoint (hips, shoulders, a face seen from behind) pull less on the cameras.
    Joint types without residuals get weight 1.
    """
    residual_px = np.asarray(residual_px, np.float64)
    joint = np.asarray(joint, np.int64)
    if residual_px.shape != joint.shape or residual_px.ndim != 1:
        raise ValueError(f"residual_px and joint must be (n,), got {residual_px.shape} and "
                         f"{joint.shape}")
    if residual_px.size == 0:
        return np.ones(num_joints)
    counts = np.bincount(joint, minlength=num_joints)
    order = np.lexsort((residual_px, joint))              # by joint, then by residual
    middle = np.minimum(np.cumsum(counts) - counts + np.maximum(counts - 1, 0) // 2,
                        residual_px.size - 1)
    scale = np.where(counts > 0, residual_px[order[middle]], np.nan)
    weight = (np.nanmedian(scale) / np.maximum(scale, 1e-9)) ** 2
    return np.where(counts > 0, np.clip(weight, floor, 1.0 / floor), 1.0)


def self_calibrate(keypoints: np.ndarray, scores: np.ndarray, cameras: Sequence[CameraModel], *,
                   layout: JointLayout = BLAZEPOSE33,
                   person_height_m: float = DEFAULT_PERSON_HEIGHT_M,
                   bone_lengths_m: dict[tuple[str, str], float] | None = None,
                   min_score: float = 0.5, reference: int = 0, ransac_px: float = 8.0,
                   frame_id: str = "rig", max_bundle_points: int = 1000,
                   bundle_loss_px: float | None = None, bundle_iterations: int = 60,
                   bundle_rounds: int = 2, weigh_joints: bool = False,
                   face_joints: bool = False, sample_frames: np.ndarray | None = None,
                   limits: CheckLimits | None = DEFAULT_LIMITS) -> SelfCalibration:
    """Estimate camera extrinsics from people (module docstring), then check the solution.

    keypoints: (N, V, J, 2) raw pixels, N synchronised samples (frames x people already
        associated, e.g. by crossview.associate_uncalibrated), NaN where unseen.
        scores: (N, V, J).
    cameras: V cameras whose intrinsics (K, distortion, size) are known; their extrinsics are
        ignored.
    person_height_m / bone_lengths_m: metric scale prior (bone_lengths_m wins if given).
    ransac_px: RANSAC threshold for the essential matrix and PnP, pixels.
    max_bundle_points: the bundle adjustment uses at most this many joint samples (evenly
        subsampled) to bound its run time. bundle_loss_px: scale of its soft-L1 loss (pixels,
        default ransac_px); bundle_iterations: its most function evaluations; bundle_rounds:
        how often it is repeated, each round re-selecting the inlier observations (robust
        triangulation) with the poses of the round before. weigh_joints: after each round,
        weigh the joint types by how well the cameras agree on them (joint_noise_weights).
    face_joints: fit and check the face joints too (default: the body's only,
        body_joint_scores says why).
    sample_frames: (N,) frame index of each sample (default 0..N-1); the held-out samples are
        whole blocks of frames (checks.heldout_mask), never used for fitting.
    limits: the checks a solution must pass (selfcalib_checks); None fits on all samples and
        checks nothing (for experiments only).
    Returns a SelfCalibration; raises CalibrationRefusedError when the solution fails a check,
    ValueError when cameras cannot be registered or the input is malformed.
    """
    kp = np.asarray(keypoints, np.float64)
    sc = np.asarray(scores, np.float64)
    n_views = len(cameras)
    if kp.ndim != 4 or kp.shape[1] != n_views or kp.shape[-1] != 2 or sc.shape != kp.shape[:-1]:
        raise ValueError(f"keypoints must be (N, V={n_views}, J, 2) and scores (N, V, J); got "
                         f"{kp.shape} and {sc.shape}")
    if n_views < 2:
        raise ValueError("self-calibration needs at least 2 cameras")
    front_scores = sc                     # the mirrored-bodies check needs the nose
    if not face_joints:
        sc = body_joint_scores(sc, layout)
    if bundle_rounds < 1:
        raise ValueError(f"bundle_rounds must be >= 1, got {bundle_rounds}")
    frames = np.arange(kp.shape[0]) if sample_frames is None else np.asarray(sample_frames)
    if frames.shape != (kp.shape[0],):
        raise ValueError(f"sample_frames must be ({kp.shape[0]},), got {frames.shape}")
    heldout = heldout_mask(frames, limits) if limits is not None else np.zeros(len(frames), bool)
    n_joints = kp.shape[2]
    # flatten samples x joints -> points (M, V, 2); the fit sees the training samples only
    fit = ~np.repeat(heldout, n_joints)
    raw = kp.transpose(0, 2, 1, 3).reshape(-1, n_views, 2)[fit]
    w = sc.transpose(0, 2, 1).reshape(-1, n_views)[fit]
    xy = np.stack([cam.undistort(raw[:, v]) for v, cam in enumerate(cameras)], axis=1)
    valid = np.all(np.isfinite(xy), -1) & (w >= min_score)
    focal = np.array([np.sqrt(c.K[0, 0] * c.K[1, 1]) for c in cameras])

    pair_pose, pair_inliers = _essential_pairs(xy, valid, focal, ransac_px)
    rot, trans, fixed = _register(cameras, raw, xy, w, valid, focal, pair_pose, pair_inliers,
                                  min_score, ransac_px)
    everyone = list(range(n_views))
    pts3d, used = _triangulate_posed(cameras, rot, trans, everyone, raw, w, valid, min_score,
                                     ransac_px)
    point_joint = np.tile(np.arange(n_joints), kp.shape[0])[fit]           # (M,)
    joint_weight = np.ones(n_joints)
    for _ in range(bundle_rounds):
        bundle = _bundle_adjust(
            rot, trans, pts3d, used, xy, w * joint_weight[point_joint][:, None], focal, fixed,
            loss_px=bundle_loss_px or ransac_px, iterations=bundle_iterations,
            max_points=max_bundle_points)
        # the next round starts from the adjusted poses, with the inliers they define
        rot, trans = list(bundle.rotations), list(bundle.translations)
        pts3d, used = _triangulate_posed(cameras, rot, trans, everyone, raw, w, valid,
                                         min_score, ransac_px)
        if weigh_joints:
            joint_weight = joint_noise_weights(bundle.residual_px, point_joint[bundle.point],
                                               n_joints)
    rmat, tv, rms, n_inliers = (bundle.rotations, bundle.translations, bundle.rms_px,
                                bundle.num_inliers)

    # gauge: reference camera at the origin; metric scale from limbs (training samples)
    r_ref, t_ref = rmat[reference], tv[reference]
    new_r = [rmat[v] @ r_ref.T for v in everyone]
    new_t = [tv[v] - new_r[v] @ t_ref for v in everyone]
    unscaled = [cameras[v].with_pose(new_r[v], new_t[v]) for v in everyone]
    res = triangulate(unscaled, kp, sc, min_score=min_score, outlier_threshold_px=3 * ransac_px)
    scale = _limb_scale(res.points[~heldout], layout, person_height_m, bone_lengths_m)
    rig = Rig(frame_id, [cameras[v].with_pose(new_r[v], new_t[v] * scale)
                         for v in everyone],
              None if bone_lengths_m else person_height_m).validate()   # the scale's source
    result = SelfCalibration(rig, rms, n_inliers, scale, pair_inliers, None, heldout)
    if limits is None:
        return result
    checks = check_solution(rig, kp, sc, heldout, layout=layout, min_score=min_score,
                            outlier_threshold_px=3 * ransac_px,
                            limb_lengths_m=_limb_prior(person_height_m, bone_lengths_m),
                            front_scores=front_scores)
    result = SelfCalibration(rig, rms, n_inliers, scale, pair_inliers, checks, heldout)
    failures = checks.failures(limits)
    if failures:
        raise CalibrationRefusedError("self-calibration refused, the solution fails its own "
                                     "checks: " + "; ".join(failures), result)
    return result


def self_calibrate_best_split(keypoints: np.ndarray, scores: np.ndarray,
                              cameras: Sequence[CameraModel], *,
                              sample_frames: np.ndarray | None = None,
                              limits: CheckLimits = DEFAULT_LIMITS, **kwargs: Any
                              ) -> SelfCalibration:
    """self_calibrate once per choice of held-out blocks (each of the `holdout_every` phases),
    keeping the solution that passes its checks with the lowest held-out reprojection error,
    provided at least `limits.min_agreeing_splits` passing solutions (itself included) agree
    with it within `limits.max_split_disagreement_deg` on every camera's rotation.

    With one or two people over a short recording the fit is poorly conditioned: which frames
    it sees can move cameras by degrees or let it converge to a wrong solution (which the
    checks refuse). Every candidate is judged on frames it did not use, so choosing among them
    by that error is a fair model selection; a solution that only one split finds is not
    trusted (a camera whose 2D is out of step with the others gave one passing split 10 degrees
    off, the three others refused). With two cameras every split must pass and every two agree
    (selfcalib_checks module docstring). Raises CalibrationRefusedError when no candidate
    passes or the passing ones disagree. Arguments as self_calibrate.
    """
    kp = np.asarray(keypoints)
    frames = np.arange(kp.shape[0]) if sample_frames is None else np.asarray(sample_frames)
    passed: list[SelfCalibration] = []
    refusals: list[CalibrationRefusedError] = []
    for phase in range(limits.holdout_every):
        shifted = frames + phase * limits.holdout_block   # moves which blocks are held out
        try:
            passed.append(self_calibrate(kp, scores, cameras, sample_frames=shifted,
                                         limits=limits, **kwargs))
        except CalibrationRefusedError as exc:
            log.info("self-calibration, held-out phase %d: %s", phase, exc)
            refusals.append(exc)
    if not passed:
        raise refusals[0]
    best = min(passed, key=lambda r: r.checks.heldout_px if r.checks else np.inf)
    if len(cameras) == 2:                 # stricter: every split passes, every two agree
        _check_pair_splits(best, passed, refusals, limits)
        return best
    agreeing = [r for r in passed if r is not best and np.nanmax(
        compare_rigs(r.rig, best.rig).rotation_error_deg) <= limits.max_split_disagreement_deg]
    if len(agreeing) + 1 < limits.min_agreeing_splits:
        raise CalibrationRefusedError(
            f"self-calibration refused, the solution is not reproducible: {len(passed)} of "
            f"{limits.holdout_every} held-out splits pass their checks and "
            f"{len(agreeing) + 1} agree within {limits.max_split_disagreement_deg:.0f} degrees "
            f"(need {limits.min_agreeing_splits}){_refused_splits(refusals, limits)}", best)
    return best


def _refused_splits(refusals: list[CalibrationRefusedError], limits: CheckLimits) -> str:
    """"; N refused, the first for: ..." with the checks the first refused held-out split
    fails ("" when none was refused or it holds no checks): a camera out of step in time or
    with wrong intrinsics is named there (a review: "not reproducible" alone named none)."""
    checks = getattr(refusals[0].result, "checks", None) if refusals else None
    failures = checks.failures(limits) if isinstance(checks, SolutionChecks) else []
    if not failures:
        return ""
    return f"; {len(refusals)} refused, the first for: " + "; ".join(failures)


def _check_pair_splits(best: SelfCalibration, passed: list[SelfCalibration],
                       refusals: list[CalibrationRefusedError], limits: CheckLimits) -> None:
    """Two cameras (selfcalib_checks module docstring): no third camera outvotes a wrong one
    and two views can leave the rotation poorly determined, so every held-out split must pass
    and every two of them agree within limits.max_split_disagreement_deg; else
    CalibrationRefusedError."""
    if refusals:
        raise CalibrationRefusedError(
            f"{refusals[0]} (with two cameras every held-out split must pass; "
            f"{len(refusals)} of {limits.holdout_every} did not)", refusals[0].result)
    spread = max(float(np.nanmax(compare_rigs(a.rig, b.rig).rotation_error_deg))
                 for a, b in combinations(passed, 2))
    if spread > limits.max_split_disagreement_deg:
        raise CalibrationRefusedError(
            f"self-calibration refused, the solution is not reproducible: with two cameras "
            f"the fits on the {len(passed)} held-out splits must agree within "
            f"{limits.max_split_disagreement_deg:.0f} degrees, they differ by {spread:.1f} "
            "(the two views leave the rotation poorly determined: record the people over "
            "more depth and more of the view, or add a camera)", best)


def check_other_rig(rig: Rig, keypoints: np.ndarray, scores: np.ndarray,
                    result: SelfCalibration, *, layout: JointLayout = BLAZEPOSE33,
                    person_height_m: float = DEFAULT_PERSON_HEIGHT_M, min_score: float = 0.5,
                    ransac_px: float = 8.0, face_joints: bool = False) -> SolutionChecks:
    """The checks of a self-calibration applied to another rig with the same cameras (e.g. a
    shipped calibration), on the same samples and held-out frames as `result`: whose geometry
    the 2D agrees with. Arguments as self_calibrate (keypoints, scores: its input)."""
    if result.heldout_samples is None:
        raise ValueError("the self-calibration result has no held-out samples")
    sc = np.asarray(scores, np.float64)
    return check_solution(rig, np.asarray(keypoints, np.float64),
                          sc if face_joints else body_joint_scores(sc, layout),
                          result.heldout_samples, layout=layout, min_score=min_score,
                          outlier_threshold_px=3 * ransac_px,
                          limb_lengths_m=_limb_prior(person_height_m, None), front_scores=sc)


@dataclass(frozen=True)
class PeopleCalibration:
    """A checked self-calibration and the cross-view people it was fitted on.

    calibration: the passing solution (self_calibrate_best_split).
    people: the people associated across the uncalibrated views (crossview.CrossViewPeople):
        keypoints (N, V, J, 2) raw pixels, scores (N, V, J), frames (N,) their frame index.
    """

    calibration: SelfCalibration
    people: CrossViewPeople


def calibrate_from_detections(keypoints: np.ndarray, scores: np.ndarray,
                              cameras: Sequence[CameraModel], *, fps: float,
                              person_height_m: float = DEFAULT_PERSON_HEIGHT_M,
                              min_score: float = 0.5, reference: int = 0, frame_id: str = "rig",
                              limits: CheckLimits = DEFAULT_LIMITS,
                              step: Callable[[str], None] | None = None) -> PeopleCalibration:
    """Extrinsics from the people in synchronised 2D, the way `calibrate` does it: people
    associated across the views without extrinsics (crossview.associate_uncalibrated, by
    epipolar consistency over time), then self_calibrate_best_split (fits on held-out splits,
    checked, refused when no split passes or the passing ones disagree).

    keypoints: (F, V, P, 33, 2) BlazePose-33 raw pixels, P detection slots per camera and
        frame in any order, NaN where absent; scores: (F, V, P, 33). One person per camera
        is P = 1. cameras: V cameras with known intrinsics (extrinsics ignored).
    fps: frame rate of the 2D (the 2D tracker's motion gates).
    The chosen solution is then checked for cameras out of step in time (selfcalib_checks.
    sync_scan over every detection) and for focal lengths the 2D disagrees with
    (focal_scales): given too long or too short, refused; beyond a smaller factor either
    way, warned about.
    Raises ValueError when a camera sees nobody (not one joint of min_score: named) or no
    camera pair shares a person, CalibrationRefusedError when the solution fails its checks.
    Two cameras are checked with what a pair allows (selfcalib_checks module docstring),
    which is logged as a warning (SolutionChecks.checked).
    step: called with the name of each of the three stages as it starts (a progress bar:
    on a long recording each takes minutes).
    """
    tell = step or (lambda name: None)
    kp, sc = np.asarray(keypoints, np.float64), np.asarray(scores, np.float64)
    if kp.ndim == 5 and kp.shape[1] == len(cameras) and sc.shape == kp.shape[:-1]:
        # (a review: a black or wrong video was told as "no camera pair shares a person ...
        # a longer recording helps", naming no camera)
        seen = (np.isfinite(kp).all(-1) & (sc >= min_score)).any(axis=(0, 2, 3))
        blind = [cameras[int(v)].name for v in np.flatnonzero(~seen)]
        if blind:
            raise ValueError(f"{', '.join(blind)} {'sees' if len(blind) == 1 else 'see'} "
                             f"nobody: not one 2D joint of confidence >= {min_score:g} in "
                             f"{kp.shape[0]} frames; check that its images show the people")
    tell("people across the views")
    people = associate_uncalibrated(keypoints, scores, cameras,
                                    CrossViewParams(min_score=min_score, fps=fps))
    tell("camera poses")
    calibration = self_calibrate_best_split(
        people.keypoints, people.scores, cameras, sample_frames=people.frames, limits=limits,
        person_height_m=person_height_m, min_score=min_score, reference=reference,
        frame_id=frame_id)
    tell("checks")
    calibration = _check_sync_and_focal(calibration, people, keypoints, scores, limits,
                                        min_score)
    if len(cameras) == 2 and calibration.checks is not None:   # what a pair could not check
        log.warning("two cameras, %s", calibration.checks.checked())
    return PeopleCalibration(calibration, people)


def _check_sync_and_focal(calibration: SelfCalibration, people: CrossViewPeople,
                          keypoints: np.ndarray, scores: np.ndarray, limits: CheckLimits,
                          min_score: float, ransac_px: float = 8.0) -> SelfCalibration:
    """calibration with the checks that need all of its samples added (selfcalib_checks
    module docstring): the synchronisation scan against every detection (F, V, P, J, 2) /
    (F, V, P, J) (sync_scan; limits.sync_search_frames 0 skips it), which refuses
    (CalibrationRefusedError holding it) a camera out of step; and the focal lengths the
    people's 2D prefers (focal_scales, three or more cameras: two views leave them
    undetermined, the demo pairs gave 0.41-2.03 with the shipped intrinsics), a factor
    below limits.min_focal_scale or above limits.max_focal_scale refused, one beyond
    limits.warn_focal_factor either way logged as a warning (CheckLimits)."""
    if calibration.checks is None:
        return calibration
    checks = calibration.checks
    if limits.sync_search_frames > 0:
        checks = replace(checks, sync=sync_scan(
            calibration.rig, people.keypoints, people.scores, people.frames,
            np.asarray(keypoints, np.float64), np.asarray(scores, np.float64),
            max_shift=limits.sync_search_frames, min_score=min_score, limits=limits,
            outlier_threshold_px=3 * ransac_px))
    if len(calibration.rig) >= 3 and (limits.warn_focal_factor > 0  # a pair cannot tell
                                      or limits.min_focal_scale > 0
                                      or limits.max_focal_scale > 0):
        checks = replace(checks, focal_scale=focal_scales(
            calibration.rig, people.keypoints, people.scores, min_score=min_score,
            ransac_px=ransac_px))
    checked = replace(calibration, checks=checks)
    failures = checks.failures(limits)
    if failures:
        raise CalibrationRefusedError("self-calibration refused, the solution fails its own "
                                      "checks: " + "; ".join(failures), checked)
    for warning in checks.focal_warnings(limits):
        log.warning("self-calibration: %s", warning)
    return checked


def focal_scales(rig: Rig, keypoints: np.ndarray, scores: np.ndarray, *, min_score: float = 0.5,
                 ransac_px: float = 8.0, max_points: int = 1500,
                 iterations: int = 100) -> np.ndarray:
    """(V,) the factor by which the people's 2D would change each camera's focal length:
    a bundle adjustment from the rig's poses with one free focal-length factor per camera
    (every camera's; principal points and distortion kept). keypoints (N, V, J, 2) raw
    pixels, scores (N, V, J): the samples the rig was fitted on; max_points joint samples
    at most (evenly), iterations the most function evaluations.

    Views of people moving through the scene determine the focal lengths only loosely:
    with the shipped intrinsics of the demo recordings 0.95-1.14 over all 100 frames of the
    four cameras (multi 0.98-1.14 since session 56's landmark crop, before 0.95-1.06),
    0.91-1.16 from three (the eight 3-camera subsets), but 0.74-3.9 over 30-80-frame
    stretches of three and four cameras (the people in too few places; lower only with
    every camera low, on rigs 16-28 degrees off), 0.41-2.03 from two cameras. With one of
    the four cameras' focal length given 2x / 1.7x / 1.5x / 1.3x / 0.6x its true value,
    0.56-0.62 / 0.58-0.76 / 0.65-0.84 / 0.74-0.91 / 1.39-1.61 for it over the 100 frames
    (pulled towards 1; session 57, both recordings). A factor is a hint, not a
    measurement: below CheckLimits.min_focal_scale or above max_focal_scale a refusal,
    beyond warn_focal_factor a warning.
    """
    cameras = list(rig.cameras)
    n_views = len(cameras)
    kp = np.asarray(keypoints, np.float64)
    raw = kp.transpose(0, 2, 1, 3).reshape(-1, n_views, 2)
    w = np.asarray(scores, np.float64).transpose(0, 2, 1).reshape(-1, n_views)
    xy = np.stack([cam.undistort(raw[:, v]) for v, cam in enumerate(cameras)], axis=1)
    valid = np.all(np.isfinite(xy), -1) & (w >= min_score)
    focal = np.array([np.sqrt(c.K[0, 0] * c.K[1, 1]) for c in cameras])
    # the bundle adjustment holds camera 0 at the origin: poses relative to it
    rot = [c.R @ cameras[0].R.T for c in cameras]
    trans = [c.t - r @ cameras[0].t for c, r in zip(cameras, rot, strict=True)]
    everyone = list(range(n_views))
    pts3d, used = _triangulate_posed(cameras, rot, trans, everyone, raw, w, valid, min_score,
                                     ransac_px)
    bundle = _bundle_adjust(rot, trans, pts3d, used, xy, w, focal, 0, loss_px=ransac_px,
                            iterations=iterations, max_points=max_points, free_focal=True)
    return bundle.focal_scale
