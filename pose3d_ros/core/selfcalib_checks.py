"""The checks a self-calibrated rig must pass before anyone uses it.

Bundle adjustment can fit 2D keypoints with a small residual and still be wrong: with people
mixed up across views it converges to cameras that look away from the scene, points behind
them (the projection x/z does not see the sign of z) and bones that stretch from frame to
frame. A solution is therefore judged on what it implies, not on its residual:

* in front: every joint triangulated from >= 2 views must lie in front of every camera that
  detects it (cheirality), overall and per camera (a camera "behind the people" sees most of
  its joints at negative depth);
* consistent scale: a limb of a real body keeps its length; the median over the limbs of the
  coefficient of variation (std / mean over the samples) of each limb's 3D length must stay
  small. A wrong geometry stretches limbs as people move;
* held-out reprojection: whole blocks of frames (`holdout_block` frames, every
  `holdout_every`-th block) are never used for fitting; they are triangulated with the
  solution and the median distance between each confident detection and the projection of
  its joint must stay small; with three or more cameras also each camera alone, against the
  joints the OTHER cameras triangulate (leave_one_camera_out_residuals);
* reproducible (selfcalib.self_calibrate_best_split): of the fits on the `holdout_every`
  possible held-out splits, at least `min_agreeing_splits` must pass and agree.

Two cameras (a stereo pair) cannot be checked camera by camera: the joints of one camera's
held-out detections would be triangulated from a single view. What is checked instead is the
above without the per-camera held-out term: cheirality, limb-length consistency, the held-out
FRAMES (fitted on the other frames; with two views their reprojection measures how well the
fitted epipolar geometry explains frames it never saw) and, stricter, the splits: EVERY split
must pass and every two agree within `max_split_disagreement_deg` (no third camera outvotes a
wrong one, and when the people span little depth two views leave the rotation poorly
determined: on the demo pair multi cam03-cam04 the four splits passed at 24-31 degrees from
the Qualisys rotation, 6.6 degrees apart, while the other eleven demo pairs were at most
3.3 degrees apart); and, for two cameras only, the bodies' handedness (body_front_share): a
mirror-image geometry, which two views allow with people mixed up (multi cam03-cam04 with the
two people swapped in one view passed every other check 163 degrees off), turns bodies inside
out. Left undetected: a rotation that is wrong yet reproducible and not mirrored (a
desynchronised camera can give one), which no check without a third camera sees.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .array_ops import vector_norm
from .camera import Rig
from .layouts import JointLayout
from .triangulation import triangulate


@dataclass(frozen=True)
class CheckLimits:
    """Limits of the self-calibration checks (module docstring).

    min_in_front: share of (joint, detecting camera) pairs with the joint in front of the camera.
    min_camera_in_front: the same share for each camera alone.
    max_limb_length_cv: median over limbs of std / mean of the limb's 3D length.
    max_heldout_px: median held-out reprojection distance (pixels).
    max_camera_heldout_px: the same for each camera alone, its held-out detections against
        the joints the OTHER cameras triangulate (a camera placed wrong is outvoted by the
        others in the overall median, not in its own); three or more cameras only.
    min_heldout_detections: fewest confident held-out detections for the held-out check.
    holdout_block, holdout_every: blocks of this many frames; every holdout_every-th block is
        held out (the last of each cycle).
    min_agreeing_splits, max_split_disagreement_deg: selfcalib.self_calibrate_best_split
        needs this many passing solutions (of the holdout_every held-out splits) whose camera
        rotations agree within this many degrees; with two cameras all of them, every two
        within this many degrees (module docstring).
    min_body_front_share: two cameras: share of the triangulated bodies whose nose lies in
        front of the torso as its left / right labels define it (body_front_share).
    """

    min_in_front: float = 0.97
    min_camera_in_front: float = 0.9
    max_limb_length_cv: float = 0.3
    max_heldout_px: float = 30.0
    max_camera_heldout_px: float = 30.0
    min_heldout_detections: int = 50
    holdout_block: int = 5
    holdout_every: int = 4
    min_agreeing_splits: int = 2
    max_split_disagreement_deg: float = 5.0
    min_body_front_share: float = 0.9

    def __post_init__(self) -> None:
        if self.holdout_block < 1 or self.holdout_every < 2:
            raise ValueError(f"holdout_block must be >= 1 and holdout_every >= 2, got "
                             f"{self.holdout_block} and {self.holdout_every}")


class CalibrationRefusedError(ValueError):
    """The solution failed its own checks; `result` holds it (never to be saved as a rig)."""

    def __init__(self, message: str, result: object) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class SolutionChecks:
    """What a solution implies (module docstring).

    in_front_share: share of (joint, detecting camera) pairs in front of the camera.
    camera_in_front_share: (V,) the same per camera (NaN for a camera that detects nothing
        triangulated).
    limb_length_cv: median over the prior limbs of std / mean of their 3D length.
    heldout_px: median distance (pixels) between held-out detections and their projections.
    heldout_detections: how many held-out detections that median is over.
    camera_names: the cameras, in order.
    camera_heldout_px: (V,) per camera, the median distance (pixels) between its held-out
        detections and the joints triangulated from the other cameras, projected (NaN where
        it has none); None with two cameras (not checked: module docstring).
    body_front_share: two cameras only (else None): body_front_share of the samples; NaN when
        no body shows the joints it needs (not checked, not a failure).
    """

    in_front_share: float
    camera_in_front_share: np.ndarray
    limb_length_cv: float
    heldout_px: float
    heldout_detections: int
    camera_names: tuple[str, ...]
    camera_heldout_px: np.ndarray | None = None
    body_front_share: float | None = None

    def checked(self) -> str:
        """One sentence: what these checks verified (module docstring), for the user."""
        if self.camera_heldout_px is not None:
            return ("checked: joints in front of every camera, limb-length consistency, "
                    "held-out frames' reprojection overall and per camera against the others, "
                    "agreement of the held-out splits")
        mirrored = ("bodies not mirrored, " if self.body_front_share is not None
                    and np.isfinite(self.body_front_share) else "")
        return (f"checked ({len(self.camera_names)} cameras: no camera can be held out against "
                "the others): joints in front of both cameras, limb-length consistency, "
                f"{mirrored}held-out frames' reprojection, every held-out split "
                "passing and agreeing"
                + ("" if mirrored else " (not whether the bodies are mirrored: no nose, "
                   "shoulders and hips seen by both cameras)") + "; "
                "a wrong but reproducible rotation would go unseen: check the rig (e.g. a "
                "third camera or a known distance)")

    def failures(self, limits: CheckLimits) -> list[str]:
        """One sentence per failed check; empty when the solution passes."""
        out = []
        if not self.in_front_share >= limits.min_in_front:
            out.append(f"only {100 * self.in_front_share:.0f} % of the triangulated joints lie "
                       f"in front of the cameras that see them (need "
                       f"{100 * limits.min_in_front:.0f} %)")
        behind = [f"{name} ({100 * share:.0f} %)" for name, share
                  in zip(self.camera_names, self.camera_in_front_share, strict=True)
                  if not share >= limits.min_camera_in_front]
        if behind:
            out.append("cameras behind the people: " + ", ".join(behind) + " of their joints "
                       "in front")
        if not self.limb_length_cv <= limits.max_limb_length_cv:
            out.append(f"inconsistent scale: limb lengths vary by {100 * self.limb_length_cv:.0f}"
                       f" % (limit {100 * limits.max_limb_length_cv:.0f} %)")
        if self.heldout_detections < limits.min_heldout_detections:
            out.append(f"only {self.heldout_detections} held-out detections to check the "
                       f"solution (need {limits.min_heldout_detections}): give more frames")
        elif not self.heldout_px <= limits.max_heldout_px:
            out.append(f"held-out frames reproject at {self.heldout_px:.1f} px median "
                       f"(limit {limits.max_heldout_px:.0f} px)")
        if self.body_front_share is not None and np.isfinite(self.body_front_share) and not (
                self.body_front_share >= limits.min_body_front_share):     # NaN: not checked
            out.append(f"mirrored bodies: only {100 * self.body_front_share:.0f} % of the "
                       "triangulated people face the way their left and right say (need "
                       f"{100 * limits.min_body_front_share:.0f} %)")
        if self.camera_heldout_px is not None:
            off = [f"{name} ({px:.0f} px)" for name, px
                   in zip(self.camera_names, self.camera_heldout_px, strict=True)
                   if px > limits.max_camera_heldout_px]
            if off:
                out.append("cameras that disagree with the others on held-out frames: "
                           + ", ".join(off) + f" median (limit "
                           f"{limits.max_camera_heldout_px:.0f} px)")
        return out


def heldout_mask(frames: np.ndarray, limits: CheckLimits) -> np.ndarray:
    """(N,) frame index of each sample -> (N,) True for samples of held-out blocks."""
    block = np.asarray(frames) // limits.holdout_block
    return block % limits.holdout_every == limits.holdout_every - 1


def _in_front(rig: Rig, points: np.ndarray, detected: np.ndarray) -> tuple[float, np.ndarray]:
    """points (M, 3) triangulated, detected (M, V) -> overall and per-camera share in front."""
    depth = np.stack([cam.to_camera_frame(points)[:, 2] for cam in rig.cameras], axis=1)
    seen = detected & np.isfinite(depth)
    front = seen & (depth > 0)
    per_camera = front.sum(0) / np.where(seen.sum(0) > 0, seen.sum(0), np.nan)
    overall = float(front.sum() / seen.sum()) if seen.any() else float("nan")
    return overall, per_camera


def body_front_share(points: np.ndarray, layout: JointLayout) -> float:
    """Share of the samples (N, J, 3) whose nose lies in front of the torso, the front being
    (left - right shoulders) x (mid-shoulder - mid-hip) as a real body's left / right labels
    define it; a mirror-image geometry (people mixed up or a flipped video with two cameras)
    turns bodies inside out. NaN when the layout lacks these joints or none is triangulated."""
    names = ("nose", "left_shoulder", "right_shoulder", "left_hip", "right_hip")
    if not all(n in layout.joint_names for n in names):
        return float("nan")
    nose, ls, rs, lh, rh = (points[:, layout.index(n)] for n in names)
    front = np.cross(ls - rs, (ls + rs) / 2 - (lh + rh) / 2)
    side = np.einsum("ni,ni->n", nose - (ls + rs) / 2, front)
    side = side[np.isfinite(side)]
    return float(np.mean(side > 0)) if side.size else float("nan")


def limb_length_cv(points: np.ndarray, layout: JointLayout,
                   limbs: Sequence[tuple[str, str]]) -> float:
    """Median over `limbs` of std / mean of the limb's length over the samples (N, J, 3)."""
    cvs = []
    for a, b in limbs:
        if a not in layout.joint_names or b not in layout.joint_names:
            continue
        d = np.linalg.norm(points[:, layout.index(a)] - points[:, layout.index(b)], axis=-1)
        d = d[np.isfinite(d)]
        if d.size >= 5:
            cvs.append(np.std(d) / np.mean(d))
    return float(np.median(cvs)) if cvs else float("nan")


def leave_one_camera_out_residuals(rig: Rig, keypoints: np.ndarray, scores: np.ndarray, *,
                                   min_score: float = 0.5, **triangulate_options) -> np.ndarray:
    """Residuals (..., V, J, 2) pixels: each camera's 2D detection minus the projection of the
    joint triangulated from all OTHER cameras (triangulation.triangulate with
    `triangulate_options`), NaN where unavailable or score < min_score. keypoints
    (..., V, J, 2) raw pixels, scores (..., V, J). The camera judged takes no part in the
    geometry it is compared with: a camera whose rotation disagrees with the 2D shows a
    shift of its median residual."""
    n_views = len(rig)
    out = np.full(np.shape(keypoints), np.nan)
    for v in range(n_views):  # one batched triangulation per left-out camera
        others = [i for i in range(n_views) if i != v]
        res = triangulate([rig.cameras[i] for i in others], keypoints[..., others, :, :],
                          scores[..., others, :], **triangulate_options)
        residual = keypoints[..., v, :, :] - rig.cameras[v].project(res.points)
        out[..., v, :, :] = np.where((scores[..., v, :] >= min_score)[..., None], residual,
                                     np.nan)
    return out


def check_solution(rig: Rig, keypoints: np.ndarray, scores: np.ndarray, heldout: np.ndarray, *,
                   layout: JointLayout, min_score: float, outlier_threshold_px: float,
                   limb_lengths_m: dict[tuple[str, str], float]) -> SolutionChecks:
    """Checks of a solution on its samples: keypoints (N, V, J, 2) raw pixels, scores
    (N, V, J), heldout (N,) samples never used for fitting (module docstring)."""
    res = triangulate(rig.cameras, keypoints, scores, min_score=min_score,
                      outlier_threshold_px=outlier_threshold_px)
    n_views = len(rig)
    detected = (scores >= min_score) & np.isfinite(keypoints[..., 0])          # (N, V, J)
    points = res.points.reshape(-1, 3)
    overall, per_camera = _in_front(rig, points, detected.transpose(0, 2, 1).reshape(-1, n_views))
    cv = limb_length_cv(res.points, layout, list(limb_lengths_m))
    held_points = res.points[heldout]                                         # (H, J, 3)
    proj = np.stack([cam.project(held_points) for cam in rig.cameras], axis=1)  # (H, V, J, 2)
    dist = np.linalg.norm(proj - keypoints[heldout], axis=-1)
    dist = dist[detected[heldout] & np.isfinite(dist)]
    per_camera_heldout = None                # two cameras: no camera can be held out
    if n_views >= 3:
        residual = vector_norm(leave_one_camera_out_residuals(
            rig, keypoints[heldout], scores[heldout], min_score=min_score,
            outlier_threshold_px=outlier_threshold_px))                       # (H, V, J)
        with warnings.catch_warnings():              # a camera without held-out detections
            warnings.simplefilter("ignore", RuntimeWarning)
            per_camera_heldout = np.nanmedian(
                np.moveaxis(residual, 1, 0).reshape(n_views, -1), axis=1)
    return SolutionChecks(overall, per_camera, cv,
                          float(np.median(dist)) if dist.size else float("nan"), int(dist.size),
                          tuple(rig.names), per_camera_heldout,
                          body_front_share(res.points, layout) if n_views == 2 else None)
