"""3D human pose metrics, batched and NaN-aware (pure numpy, no ROS).

Conventions:
  poses      arrays of shape (..., J, 3) in metres; any leading batch shape (frames, people).
  missing    a joint is missing when any of its coordinates is NaN in the prediction OR in the
             reference; missing joints are excluded from every mean and counted separately.
  sequences  time is axis 0: (T, ..., J, 3), with stamps in seconds (T,) or a frame time dt.

Protocols implemented (names as in the literature):
  mpjpe      mean per-joint position error (Human3.6M protocol #1 on root-relative poses, as
             pose_scores gets them; on world-frame poses the absolute MPJPE).
  p_mpjpe    MPJPE after per-frame similarity (Procrustes) alignment with scale (protocol #2).
  n_mpjpe    MPJPE after per-frame scale-only alignment (Rhodin et al., CVPR 2018: of
             root-relative poses, the default).
  pss        Pose Structure Score (Kocabas et al., "Self-Supervised Learning of 3D Human Pose
             using Multi-view Geometry", CVPR 2019): share of frames whose root-relative
             prediction scaled to unit norm, p / ||p||, falls in the same k-means pose cluster
             as its reference q / ||q||. The paper's PSS@50 / PSS@100 cluster Human3.6M's
             ground-truth poses (its 17 joints) into 50 / 100 clusters; the package has no
             Human3.6M: its callers cluster their own reference poses (fewer clusters: their
             figures, named PSS@k with k, compare with each other, not with the paper's).
  pck3d/auc  share of joints within a distance threshold (150 mm) and its area under the curve
             over thresholds 0..150 mm (MPI-INF-3DHP protocol).
  velocity / acceleration error, jitter, reprojection error, detection rate, id switches.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.vq import kmeans2
from scipy.optimize import linear_sum_assignment

from .array_ops import masked_centre, masked_rigid_fit, mean_joint_distance

PCK_THRESHOLD_M = 0.150
AUC_THRESHOLDS_M = np.linspace(0.0, 0.150, 31)


@dataclass(frozen=True)
class JointErrors:
    """Per-joint errors with their missing-joint bookkeeping.

    errors: (N, J) float64 (metres, or pixels for reprojection), NaN where the joint is missing
        in the prediction or the reference (or the frame could not be aligned).
    """

    errors: np.ndarray

    @property
    def num_valid(self) -> int:
        """Number of (frame, joint) pairs that entered the mean."""
        return int(np.count_nonzero(~np.isnan(self.errors)))

    @property
    def num_missing(self) -> int:
        return int(self.errors.size - self.num_valid)

    @property
    def mean(self) -> float:
        """Mean over all valid joints of all frames; NaN when none is valid."""
        return _nanmean(self.errors)

    @property
    def median(self) -> float:
        return float(np.nanmedian(self.errors)) if self.num_valid else float("nan")

    @property
    def per_frame(self) -> np.ndarray:
        """(N,) mean over the valid joints of each frame; NaN for frames with none."""
        return _nanmean_axis(self.errors, axis=1)

    @property
    def per_joint(self) -> np.ndarray:
        """(J,) mean over the frames where each joint is valid; NaN for joints never valid."""
        return _nanmean_axis(self.errors, axis=0)

    def summary(self) -> dict[str, float | int]:
        return {"mean": self.mean, "median": self.median, "num_valid": self.num_valid,
                "num_missing": self.num_missing}


def _nanmean(values: np.ndarray) -> float:
    valid = ~np.isnan(values)
    return float(values[valid].mean()) if valid.any() else float("nan")


def _nanmean_axis(values: np.ndarray, axis: int) -> np.ndarray:
    valid = ~np.isnan(values)
    count = valid.sum(axis=axis)
    total = np.where(valid, values, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _check_pair(pred: np.ndarray, ref: np.ndarray, dim: int = 3) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if pred.shape != ref.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from reference {ref.shape}")
    if pred.ndim < 2 or pred.shape[-1] != dim:
        raise ValueError(f"expected poses of shape (..., J, {dim}), got {pred.shape}")
    return pred, ref


def _flatten(pred: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, J, C) views and the (N, J) mask of joints valid in both."""
    j, c = pred.shape[-2:]
    pred = pred.reshape(-1, j, c)
    ref = ref.reshape(-1, j, c)
    valid = ~(np.isnan(pred).any(-1) | np.isnan(ref).any(-1))
    return pred, ref, valid


def joint_distances(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Euclidean distance per joint: (..., J, C) x 2 -> (..., J); NaN where either is missing."""
    pred = np.asarray(pred, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if pred.shape != ref.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from reference {ref.shape}")
    return np.linalg.norm(pred - ref, axis=-1)


def mpjpe(pred: np.ndarray, ref: np.ndarray) -> JointErrors:
    """MPJPE: pred, ref (..., J, 3) metres -> JointErrors over (N = prod(...), J)."""
    pred, ref = _check_pair(pred, ref)
    return JointErrors(joint_distances(pred, ref).reshape(-1, pred.shape[-2]))


def procrustes_align(pred: np.ndarray, ref: np.ndarray, *,
                     min_joints: int = 3) -> np.ndarray:
    """Align each frame of pred to ref by the similarity s*R*x + t minimising squared error.

    pred, ref: (..., J, 3). Only joints valid in both determine the transform; frames with fewer
    than `min_joints` such joints come back all-NaN. Returns the aligned prediction (..., J, 3),
    NaN where pred was NaN. Rotation is proper (det +1): reflections are not allowed (Umeyama).
    """
    pred, ref = _check_pair(pred, ref)
    p, r, valid = _flatten(pred, ref)
    return masked_rigid_fit(p, r, valid, scale=True, min_points=min_joints).reshape(pred.shape)


def p_mpjpe(pred: np.ndarray, ref: np.ndarray) -> JointErrors:
    """PA-MPJPE: MPJPE after per-frame Procrustes alignment with scale. (..., J, 3) metres."""
    return mpjpe(procrustes_align(pred, ref), ref)


def scale_align(pred: np.ndarray, ref: np.ndarray, *, centre: bool = True) -> np.ndarray:
    """Scale each frame of pred by the s minimising |s*x - y|^2 over joints valid in both.

    pred, ref: (..., J, 3). With centre=True (default) both are first centred on the mean of
    their common valid joints, so poses in a world frame can be compared; pass root-relative
    poses with centre=False for the original N-MPJPE protocol. Returns (..., J, 3).
    """
    pred, ref = _check_pair(pred, ref)
    shape = pred.shape
    p, r, valid = _flatten(pred, ref)
    if centre:
        x, mu_x = masked_centre(p, valid)
        y, mu_y = masked_centre(r, valid)
        p_full = p - mu_x
    else:
        x = np.where(valid[..., None], p, 0.0)
        y = np.where(valid[..., None], r, 0.0)
        mu_y = np.zeros((p.shape[0], 1, 3))
        p_full = p
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = (x * y).sum(axis=(1, 2)) / (x ** 2).sum(axis=(1, 2))
    aligned = scale[:, None, None] * p_full + mu_y
    aligned[valid.sum(axis=1) == 0] = np.nan
    return aligned.reshape(shape)


def n_mpjpe(pred: np.ndarray, ref: np.ndarray, *, centre: bool = False) -> JointErrors:
    """N-MPJPE: MPJPE after per-frame scale-only alignment (see scale_align). Metres. The
    default is Rhodin et al.'s protocol: root-relative poses, the scale alone (centre=True
    also fits a translation: not the protocol)."""
    return mpjpe(scale_align(pred, ref, centre=centre), ref)


def pck3d(pred: np.ndarray, ref: np.ndarray, threshold: float = PCK_THRESHOLD_M) -> float:
    """Share of valid joints whose 3D error is below threshold (metres; strictly, as the
    MPI-INF-3DHP evaluation code mpii_compute_3d_pck.m counts). NaN if none is valid."""
    if threshold < 0:
        raise ValueError(f"PCK threshold must be >= 0 m, got {threshold}")
    err = mpjpe(pred, ref).errors
    valid = ~np.isnan(err)
    return float((err[valid] < threshold).mean()) if valid.any() else float("nan")


def auc(pred: np.ndarray, ref: np.ndarray,
        thresholds: np.ndarray = AUC_THRESHOLDS_M) -> float:
    """Area under the PCK curve: mean PCK3D over `thresholds` (metres, default 0..150 mm, 31)."""
    err = mpjpe(pred, ref).errors
    valid = ~np.isnan(err)
    if not valid.any():
        return float("nan")
    thresholds = np.asarray(thresholds, dtype=np.float64)
    # strictly below each threshold (pck3d): an exact joint (a root-relative pose's root) does
    # not count at 0 mm, where mpii_compute_3d_pck.m counts nothing (a review)
    return float((err[valid][None, :] < thresholds[:, None]).mean())


# --- Pose Structure Score ------------------------------------------------------------------

def normalise_poses(poses: np.ndarray) -> np.ndarray:
    """PSS's normalisation (Kocabas et al.): root-relative poses (N, J, 3) -> (N, J*3) unit
    vectors p / ||p||_2, the scale alone. Pass poses relative to their root (the root joint at
    the origin, as Human3.6M's protocol and pose_scores have them): no translation is fitted
    (centring on the joints' mean, the code before a review, aligned a misplaced root away).
    Poses with a missing joint or zero norm become NaN rows.
    """
    poses = np.asarray(poses, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[-1] != 3:
        raise ValueError(f"expected poses of shape (N, J, 3), got {poses.shape}")
    flat = poses.reshape(len(poses), -1)
    norm = np.linalg.norm(flat, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = flat / norm
    out[~(norm[:, 0] > 0)] = np.nan
    return out


def pose_clusters(reference: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """k-means pose vocabulary from root-relative reference poses (N, J, 3): (k, J*3) centres
    of the poses normalised by normalise_poses (Kocabas et al. cluster Human3.6M's ground truth,
    k = 50 and 100; scipy's kmeans2, k-means++ seeding, one run).

    Poses with missing joints are left out. k must not exceed the number of complete poses;
    fewer than k centres come back when the reference has fewer distinct poses (duplicate
    centres would make the nearest-centre assignment arbitrary).
    """
    flat = normalise_poses(reference)
    flat = flat[~np.isnan(flat).any(axis=1)]
    if not 1 <= k <= len(flat):
        raise ValueError(f"PSS needs 1 <= k <= number of complete reference poses ({len(flat)}), "
                         f"got k={k}")
    distinct = np.unique(np.round(flat, 9), axis=0)
    if len(distinct) <= k:
        return distinct
    centres, _ = kmeans2(flat, k, minit="++", seed=np.random.default_rng(seed), missing="warn")
    return np.unique(np.round(centres, 9), axis=0)


@dataclass(frozen=True)
class PoseStructureScore:
    """PSS: share of frames whose prediction is in the reference's cluster.

    score: in [0, 1], NaN when no frame was complete in both. num_frames: frames scored;
    num_skipped: frames left out because a joint was missing in either pose.
    """

    score: float
    num_frames: int
    num_skipped: int
    centres: np.ndarray


def pss(pred: np.ndarray, ref: np.ndarray, *, centres: np.ndarray | None = None,
        k: int = 50, seed: int = 0) -> PoseStructureScore:
    """Pose Structure Score of root-relative pred (N, J, 3) against ref (N, J, 3): the share
    of frames with delta(C(p / ||p||), C(q / ||q||)) = 1, C the nearest centre (Kocabas et al.).

    centres: a pose vocabulary (K, J*3) of normalised poses (from `pose_clusters` on a large
    reference set, e.g. a training set, as the paper's Human3.6M); when None it is built from
    `ref` itself with k = min(k, complete frames): a vocabulary of the scored poses, PSS@k of
    its own, not the paper's.
    """
    pred, ref = _check_pair(pred, ref)
    if pred.ndim != 3:
        raise ValueError(f"PSS expects (N, J, 3) poses, got {pred.shape}")
    p = normalise_poses(pred)
    r = normalise_poses(ref)
    complete = ~(np.isnan(p).any(axis=1) | np.isnan(r).any(axis=1))
    if centres is None:
        n_complete = int((~np.isnan(r).any(axis=1)).sum())
        centres = pose_clusters(ref, min(k, n_complete), seed) if n_complete else np.zeros(
            (0, p.shape[1]))
    centres = np.asarray(centres, dtype=np.float64)
    if centres.ndim != 2 or centres.shape[1] != p.shape[1]:
        raise ValueError(f"PSS centres must be (K, {p.shape[1]}), got {centres.shape}")
    n = int(complete.sum())
    if n == 0 or len(centres) == 0:
        return PoseStructureScore(float("nan"), 0, len(pred), centres)
    label_p = np.argmin(((p[complete, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    label_r = np.argmin(((r[complete, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    return PoseStructureScore(float((label_p == label_r).mean()), n, len(pred) - n, centres)


# --- root-relative pose scores (the lifter's evaluations) ----------------------------------
MIN_SCORED_JOINTS = 12


def scored_frames(pred: np.ndarray, ref: np.ndarray,
                  min_joints: int = MIN_SCORED_JOINTS) -> np.ndarray:
    """(N,) bool: the frames of (N, J, 3) poses a root-relative score counts: the reference has
    its root (joint 0) and at least min_joints joints (its missing joints are NaN and left out
    by the metrics; PSS only scores complete frames), the prediction every joint."""
    if pred.shape != ref.shape:
        raise ValueError(f"prediction {pred.shape} and reference {ref.shape} differ")
    ref_ok = np.isfinite(ref).all(-1)
    return ref_ok[:, 0] & (ref_ok.sum(-1) >= min_joints) & np.isfinite(pred).all((-1, -2))


def pose_scores(pred: np.ndarray, ref: np.ndarray,
                centres: np.ndarray | None = None) -> dict[str, float]:
    """MPJPE, PA-MPJPE, N-MPJPE (mm) and, given a pose vocabulary (pose_clusters), PSS of
    (N, J, 3) root-relative poses: {"MPJPE", "PA-MPJPE", "N-MPJPE"[, "PSS"]}. The lifter's
    evaluations (tools/eval_lifter on recordings, core.lifting.mocap_eval on motion capture)
    score with it; scored_frames picks a recording's frames first. N-MPJPE is Rhodin et al.'s:
    the scale alone, about the root (centre=False); centring on the joints' mean would also
    fit a translation the protocol does not allow (a review: up to tens of mm lower)."""
    out = {"MPJPE": 1000 * mpjpe(pred, ref).mean,
           "PA-MPJPE": 1000 * p_mpjpe(pred, ref).mean,
           "N-MPJPE": 1000 * n_mpjpe(pred, ref).mean}
    if centres is not None:
        out["PSS"] = pss(pred, ref, centres=centres).score
    return {k: float(v) for k, v in out.items()}


# --- temporal metrics ----------------------------------------------------------------------

def _frame_times(num_frames: int, stamps: np.ndarray | None, dt: float | None) -> np.ndarray:
    """(T,) times in seconds from stamps or a constant frame time; strictly increasing."""
    if (stamps is None) == (dt is None):
        raise ValueError("give exactly one of stamps (seconds, shape (T,)) or dt (seconds)")
    if dt is not None:
        if not dt > 0:
            raise ValueError(f"frame time dt must be > 0 s, got {dt}")
        return np.arange(num_frames) * float(dt)
    stamps = np.asarray(stamps, dtype=np.float64)
    if stamps.shape != (num_frames,):
        raise ValueError(f"stamps must have shape ({num_frames},), got {stamps.shape}")
    if num_frames > 1 and not (np.diff(stamps) > 0).all():
        bad = int(np.argmin(np.diff(stamps) > 0))
        raise ValueError(f"stamps must strictly increase (frame {bad + 1} is not after {bad})")
    return stamps


def velocities(poses: np.ndarray, *, stamps: np.ndarray | None = None,
               dt: float | None = None) -> np.ndarray:
    """Finite-difference joint velocities (T, ..., J, 3) -> (T-1, ..., J, 3) in m/s."""
    poses = np.asarray(poses, dtype=np.float64)
    t = _frame_times(poses.shape[0], stamps, dt)
    step = np.diff(t).reshape((-1,) + (1,) * (poses.ndim - 1))
    return np.diff(poses, axis=0) / step


def accelerations(poses: np.ndarray, *, stamps: np.ndarray | None = None,
                  dt: float | None = None) -> np.ndarray:
    """Second differences (T, ..., J, 3) -> (T-2, ..., J, 3) in m/s^2 (non-uniform aware)."""
    poses = np.asarray(poses, dtype=np.float64)
    t = _frame_times(poses.shape[0], stamps, dt)
    vel = velocities(poses, stamps=t)
    mid = 0.5 * (t[1:] + t[:-1])
    step = np.diff(mid).reshape((-1,) + (1,) * (poses.ndim - 1))
    return np.diff(vel, axis=0) / step


def velocity_error(pred: np.ndarray, ref: np.ndarray, *, stamps: np.ndarray | None = None,
                   dt: float | None = None) -> JointErrors:
    """Per-joint velocity error |v_pred - v_ref| in m/s. pred, ref (T, ..., J, 3)."""
    pred, ref = _check_pair(pred, ref)
    v = velocities(pred, stamps=stamps, dt=dt) - velocities(ref, stamps=stamps, dt=dt)
    return JointErrors(np.linalg.norm(v, axis=-1).reshape(-1, pred.shape[-2]))


def acceleration_error(pred: np.ndarray, ref: np.ndarray, *, stamps: np.ndarray | None = None,
                       dt: float | None = None) -> JointErrors:
    """Per-joint acceleration error |a_pred - a_ref| in m/s^2. pred, ref (T, ..., J, 3)."""
    pred, ref = _check_pair(pred, ref)
    a = accelerations(pred, stamps=stamps, dt=dt) - accelerations(ref, stamps=stamps, dt=dt)
    return JointErrors(np.linalg.norm(a, axis=-1).reshape(-1, pred.shape[-2]))


def jitter(poses: np.ndarray, *, stamps: np.ndarray | None = None,
           dt: float | None = None) -> JointErrors:
    """Acceleration magnitude per joint (m/s^2) of one sequence (T, ..., J, 3): smoothness
    without a reference (lower is smoother)."""
    poses = np.asarray(poses, dtype=np.float64)
    a = accelerations(poses, stamps=stamps, dt=dt)
    return JointErrors(np.linalg.norm(a, axis=-1).reshape(-1, poses.shape[-2]))


# --- image-space and identity metrics ------------------------------------------------------

def project(points: np.ndarray, projections: np.ndarray) -> np.ndarray:
    """Pinhole projection of (..., J, 3) points by C matrices (C, 3, 4) -> (C, ..., J, 2) px.

    Points behind a camera (depth <= 0) project to NaN.
    """
    points = np.asarray(points, dtype=np.float64)
    projections = np.asarray(projections, dtype=np.float64)
    if projections.ndim != 3 or projections.shape[1:] != (3, 4):
        raise ValueError(f"projection matrices must be (C, 3, 4), got {projections.shape}")
    homog = np.concatenate([points, np.ones(points.shape[:-1] + (1,))], axis=-1)
    img = np.einsum("cik,...k->c...i", projections, homog)
    depth = img[..., 2:3]
    with np.errstate(invalid="ignore", divide="ignore"):
        uv = img[..., :2] / depth
    return np.where(depth > 0, uv, np.nan)


def reprojection_error(points: np.ndarray, keypoints: np.ndarray,
                       projections: np.ndarray) -> JointErrors:
    """Pixel distance between projected 3D joints and observed 2D keypoints, per camera.

    points: (..., J, 3) metres in the frame the projections map from.
    keypoints: (C, ..., J, 2) undistorted pixels (NaN where not observed).
    projections: (C, 3, 4) pinhole matrices K [R | t].
    Returns JointErrors over (C * prod(...), J); `errors.reshape(C, -1, J)` gives per camera.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    proj = project(points, projections)
    if proj.shape != keypoints.shape:
        raise ValueError(f"keypoints shape {keypoints.shape} does not match projected "
                         f"{proj.shape} (C, ..., J, 2)")
    return JointErrors(np.linalg.norm(proj - keypoints, axis=-1).reshape(-1, proj.shape[-2]))


@dataclass(frozen=True)
class Matching:
    """People matched between prediction and reference over a sequence.

    pairs: one (K_t, 2) int array per frame of (pred index, ref index).
    distances: one (K_t,) float array per frame, each pair's cost: its mean joint distance
        (metres for 3D poses, pixels for 2D), over the reference's scale when one was given.
    """

    pairs: list[np.ndarray]
    distances: list[np.ndarray]


def mean_joint_distances(pred: np.ndarray, ref: np.ndarray,
                         missing_cost: float | None = None) -> np.ndarray:
    """(P, Q) mean distance between the joints of pred (P, J, D) and ref (Q, J, D): 3D poses
    in metres or 2D keypoints in pixels (the distance in their unit).

    missing_cost None: over the joints valid in both (NaN where none is). A number: a joint
    the reference has and the prediction lacks counts as that distance, so that a prediction
    of one joint does not look closer than a whole body a little off (joints the reference
    lacks are left out either way)."""
    d = np.linalg.norm(pred[:, None] - ref[None], axis=-1)                   # (P, Q, J)
    if missing_cost is not None:
        lacking = np.isnan(pred).any(-1)[:, None, :] & np.isfinite(ref).all(-1)[None, :, :]
        d = np.where(lacking, missing_cost, d)
    # over the joints that have a distance (not NaN): an infinite missing_cost or distance
    # makes the pair's mean infinite, unmatchable (a review: the shared helper's default mask,
    # finite distances only, left such joints out)
    return mean_joint_distance(d, ~np.isnan(d))[0]


def match_people(pred: Sequence[np.ndarray], ref: Sequence[np.ndarray], *,
                 max_distance: float = 0.5, missing_cost: float | None = None,
                 ref_scale: Sequence[np.ndarray] | None = None,
                 pred_ids: Sequence[np.ndarray] | None = None,
                 ref_ids: Sequence[np.ndarray] | None = None) -> Matching:
    """Hungarian matching per frame (match_frame) of pred[t] (P_t, J, D) to ref[t]
    (Q_t, J, D): 3D poses in metres or 2D keypoints in pixels; ref_scale[t] (Q_t,) each
    reference person's scale when given. See match_frame for the cost and max_distance.

    With pred_ids[t] (P_t,) track ids and ref_ids[t] (Q_t,) reference identities, CLEAR-MOT's
    correspondences (Bernardin & Stiefelhagen, "Evaluating Multiple Object Tracking
    Performance: The CLEAR MOT Metrics", 2008; TrackEval's CLEAR): a reference person matched
    at frame t-1 keeps that track at t while it is present and within max_distance
    (continued_pairs); only the rest are matched by the Hungarian algorithm. Without ids each
    frame is matched on its own."""
    if len(pred) != len(ref) or (ref_scale is not None and len(ref_scale) != len(ref)):
        raise ValueError(f"prediction has {len(pred)} frames, reference {len(ref)}"
                         + ("" if ref_scale is None else f", reference scales {len(ref_scale)}"))
    if (pred_ids is None) != (ref_ids is None):
        raise ValueError("give both pred_ids and ref_ids (CLEAR-MOT correspondences) or neither")
    if pred_ids is not None and ref_ids is not None and not len(pred_ids) == len(ref_ids) \
            == len(ref):
        raise ValueError(f"{len(ref)} frames but {len(pred_ids)} frames of predicted ids and "
                         f"{len(ref_ids)} of reference ids")
    pairs, dists = [], []
    previous: dict[int, int] = {}
    for t, (p, r) in enumerate(zip(pred, ref, strict=True)):
        try:
            keep = None
            if pred_ids is not None and ref_ids is not None:
                p_ids, r_ids = _frame_ids(pred_ids[t], len(p), "predicted"), \
                    _frame_ids(ref_ids[t], len(r), "reference")
                keep = continued_pairs(previous, r_ids, p_ids)
            found, cost = match_frame(p, r, max_distance=max_distance, missing_cost=missing_cost,
                                      ref_scale=None if ref_scale is None else ref_scale[t],
                                      keep=keep)
        except ValueError as exc:
            raise ValueError(f"frame {t}: {exc}") from None
        if keep is not None:
            previous = dict(zip(r_ids[found[:, 1]].tolist(), p_ids[found[:, 0]].tolist(),
                                strict=True))
        pairs.append(found)
        dists.append(cost)
    return Matching(pairs, dists)


def _frame_ids(ids: np.ndarray, count: int, what: str) -> np.ndarray:
    """One frame's (count,) int ids, or a ValueError naming `what` when their number differs."""
    out = np.asarray(ids, dtype=np.int64).ravel()
    if out.size != count:
        raise ValueError(f"{count} {what} people but {out.size} {what} ids")
    return out


def continued_pairs(previous: dict[int, int], ref_ids: np.ndarray, pred_ids: np.ndarray
                    ) -> np.ndarray:
    """The correspondences CLEAR-MOT tries to keep in a frame: (K, 2) int (pred index, ref
    index) of each reference person whose track at the previous frame (previous: reference
    id -> track id, that frame's matches) is present again. ref_ids (Q,), pred_ids (P,) this
    frame's ids; a track id present twice continues at its first."""
    first = {int(i): k for k, i in reversed(list(enumerate(np.asarray(pred_ids).tolist())))}
    kept = [(first[previous[r]], q) for q, r in enumerate(np.asarray(ref_ids).tolist())
            if previous.get(r) in first]
    return np.array(kept, np.intp).reshape(-1, 2)


def match_frame(pred: np.ndarray, ref: np.ndarray, *, max_distance: float = 0.5,
                missing_cost: float | None = None, ref_scale: np.ndarray | None = None,
                keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hungarian matching of pred (P, J, D) to ref (Q, J, D), 3D poses in metres or 2D
    keypoints in pixels, on the mean distance of their joints (mean_joint_distances; missing_cost:
    what a joint the prediction lacks costs), divided by ref_scale (Q,) > 0 when given (e.g. each
    reference person's size in the image, for a cost relative to it). Pairs whose cost exceeds
    max_distance (the cost's unit; inf: no limit), or with no common joint, are not matched.
    keep: (K, 2) one-to-one pairs (pred index, ref index) matched first wherever they qualify
    (CLEAR-MOT's correspondences of the previous frame, continued_pairs); the Hungarian
    algorithm matches the people they leave.
    Returns the pairs (K, 2) int (pred index, ref index), by pred index, and their costs (K,)."""
    p = np.asarray(pred, dtype=np.float64)
    r = np.asarray(ref, dtype=np.float64)
    if p.ndim != 3 or r.ndim != 3 or p.shape[1:] != r.shape[1:]:
        raise ValueError(f"expected (P, J, D) and (Q, J, D), got {p.shape}, {r.shape}")
    if ref_scale is not None:
        ref_scale = np.asarray(ref_scale, dtype=np.float64)
        if ref_scale.shape != r.shape[:1] or not (ref_scale > 0).all():
            raise ValueError(f"reference scales must be {r.shape[:1]} positive numbers, got "
                             f"shape {ref_scale.shape}")
    kept = np.zeros((0, 2), np.intp) if keep is None else np.asarray(keep, np.intp).reshape(-1, 2)
    if len(kept) and ((kept < 0).any() or (kept[:, 0] >= len(p)).any()
                      or (kept[:, 1] >= len(r)).any() or len(np.unique(kept[:, 0])) < len(kept)
                      or len(np.unique(kept[:, 1])) < len(kept)):
        raise ValueError(f"pairs to keep must be one-to-one indices into {len(p)} predicted "
                         f"and {len(r)} reference people, got {kept.tolist()}")
    if len(p) == 0 or len(r) == 0:
        return np.zeros((0, 2), np.intp), np.zeros((0,))
    cost = mean_joint_distances(p, r, missing_cost)
    if ref_scale is not None:
        cost = cost / ref_scale[None]
    # no common joint: never a pair, also when missing_cost prices the lacking joints (a
    # review: a prediction without any scored joint cost exactly missing_cost and was matched
    # to a real person 5 m away, neither a ghost nor a miss)
    seen_p = np.asarray(np.isfinite(p).all(axis=-1))                             # (P, J)
    seen_r = np.asarray(np.isfinite(r).all(axis=-1))                             # (Q, J)
    common = (seen_p[:, None, :] & seen_r[None]).any(axis=-1)
    valid = np.isfinite(cost) & common & (cost <= max_distance)
    kept = kept[valid[kept[:, 0], kept[:, 1]]]
    free_p = np.setdiff1d(np.arange(len(p)), kept[:, 0])
    free_r = np.setdiff1d(np.arange(len(r)), kept[:, 1])
    sub, ok = cost[np.ix_(free_p, free_r)], valid[np.ix_(free_p, free_r)]
    # a pair that cannot be matched costs more than any assignment of valid pairs (and at
    # least 1e9, which decides ties as before): as few of them as possible are assigned, then
    # the least total cost (they are never kept)
    fill = max(1e9, 1.0 + min(sub.shape) * (sub[ok].max() if ok.any() else 0.0))
    rows, cols = linear_sum_assignment(np.where(ok, sub, fill))
    take = ok[rows, cols]
    rows = np.concatenate([kept[:, 0], free_p[rows[take]]])
    cols = np.concatenate([kept[:, 1], free_r[cols[take]]])
    order = np.argsort(rows, kind="stable")
    rows, cols = rows[order], cols[order]
    return np.stack([rows, cols], axis=1), cost[rows, cols]


def matched_to_reference(pred: Sequence[np.ndarray], ref: np.ndarray, present: np.ndarray, *,
                         max_distance: float = 0.5) -> np.ndarray:
    """(F, Q, J, 3) each reference person's matched prediction (match_people), NaN where none
    was: pred[t] (P_t, J, 3) metres; ref (F, Q, J, 3) the reference people over time with
    present (F, Q) bool (people who come and go), so that per-person velocity and acceleration
    errors can be taken against ref."""
    ref, present = np.asarray(ref, np.float64), np.asarray(present, bool)
    people = [np.flatnonzero(row) for row in present]
    matching = match_people(pred, [ref[t, rows] for t, rows in enumerate(people)],
                            max_distance=max_distance)
    matched = np.full(ref.shape, np.nan)
    for t, (rows, pairs) in enumerate(zip(people, matching.pairs, strict=True)):
        matched[t, rows[pairs[:, 1]]] = np.asarray(pred[t], np.float64)[pairs[:, 0]]
    return matched


@dataclass(frozen=True)
class DetectionRate:
    """rate = detected / expected (NaN when nothing was expected)."""

    rate: float
    detected: int
    expected: int


def detection_rate(detected: np.ndarray, expected: np.ndarray) -> DetectionRate:
    """Share of expected people (or skeleton frames) that were detected.

    detected, expected: per-frame counts (T,) (or booleans); detected is clipped to expected so
    extra detections (false positives) never raise the rate.
    """
    detected = np.asarray(detected, dtype=np.int64)
    expected = np.asarray(expected, dtype=np.int64)
    if detected.shape != expected.shape:
        raise ValueError(f"detected {detected.shape} and expected {expected.shape} differ")
    if (detected < 0).any() or (expected < 0).any():
        raise ValueError("detection counts must be >= 0")
    got = int(np.minimum(detected, expected).sum())
    total = int(expected.sum())
    return DetectionRate(got / total if total else float("nan"), got, total)


def id_switches(ref_ids: Sequence[np.ndarray], pred_ids: Sequence[np.ndarray]) -> int:
    """Number of identity switches (CLEAR-MOT's IDSW, Bernardin & Stiefelhagen 2008): times a
    reference identity is matched to a different predicted id than at its previous match,
    however many frames before.

    ref_ids[t], pred_ids[t]: (K_t,) ids of the people matched in frame t, pair by pair, by
    CLEAR-MOT's matching (match_people with the ids: a per-frame Hungarian matching counts a
    ghost nearer than a person's own track for a frame as two switches). Frames where an
    identity is unmatched do not count as a switch by themselves.
    """
    if len(ref_ids) != len(pred_ids):
        raise ValueError(f"{len(ref_ids)} frames of reference ids, {len(pred_ids)} of predicted")
    frames, refs, preds = [], [], []
    for t, (r, p) in enumerate(zip(ref_ids, pred_ids, strict=True)):
        r = np.asarray(r).ravel()
        p = np.asarray(p).ravel()
        if r.shape != p.shape:
            raise ValueError(f"frame {t}: {r.size} reference ids but {p.size} predicted ids")
        frames.append(np.full(r.shape, t))
        refs.append(r)
        preds.append(p)
    if not frames:
        return 0
    f, r, p = (np.concatenate(a) for a in (frames, refs, preds))
    order = np.lexsort((f, r))
    r, p = r[order], p[order]
    same_ref = r[1:] == r[:-1]
    return int(np.count_nonzero(same_ref & (p[1:] != p[:-1])))
