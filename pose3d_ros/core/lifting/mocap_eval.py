"""Lifter accuracy on motion capture held out from training, through fixed virtual cameras.

A held-out clip (its own frame rate and body, no augmentation) is watched by `num_cameras`
cameras placed evenly around the centre of its path at `distance_m`, `height_m` high, looking
at the path's centre 1 m above the floor (unbounded images: every joint is in view). The 2D
is the exact projection (perfect 2D) or that projection with the measured detector errors
(core.error_model, following the recording in time at the clip's rate; fixed seed).
Scores: root-relative MPJPE, PA-MPJPE, N-MPJPE (mm) and PSS (core.metrics.pose_scores, the
lifter's one scoring, as tools/eval_lifter's; PSS vocabulary: k-means of the reference poses
of all evaluated clips and cameras, not the paper's Human3.6M clusters), and the metric
placement of the root
(core.lifting.root_placement) against the true depth; beside them a constant pose: each clip's
mean root-relative pose in each camera (an oracle that knows the clip's average pose).

Everything is WORLD z-up metres (core/mocap.py) and camera optical frames.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..body_model import DEFAULT_PERSON_HEIGHT_M
from ..camera import look_at_rotation
from .mocap_training import detector_like
from .root_placement import BodySizePrior, place_in_camera
from .training import window_indices

if TYPE_CHECKING:
    from ..error_model import ErrorModel

# (P, T, J, 2) normalised 2D windows, (P, T, J) scores -> (P, J, 3) root-relative metres
LiftFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class EvalCameras:
    """Fixed virtual cameras around a clip's path."""

    num_cameras: int = 4
    distance_m: float = 4.5
    height_m: float = 1.6
    first_azimuth_deg: float = 30.0


def clip_views(joints: np.ndarray, cameras: EvalCameras = EvalCameras()) -> np.ndarray:
    """(F, J, 3) WORLD joints -> (C, F, J, 3) the same in each camera's optical frame."""
    centre = np.nanmean(joints[:, 0], axis=0)
    aim = np.array([centre[0], centre[1], 1.0])
    az = np.radians(cameras.first_azimuth_deg) + 2 * np.pi * np.arange(cameras.num_cameras) \
        / cameras.num_cameras
    reach = np.nanmax(np.linalg.norm(joints[:, 0, :2] - centre[:2], axis=-1))
    dist = cameras.distance_m + reach  # the path stays in front of every camera
    position = np.stack([aim[0] + dist * np.cos(az), aim[1] + dist * np.sin(az),
                         np.full_like(az, cameras.height_m)], -1)
    R = look_at_rotation(position, np.broadcast_to(aim, position.shape), np.array([0, 0, 1.0]),
                         np.zeros(cameras.num_cameras))
    return np.einsum("cij,cfkj->cfki", R, joints[None] - position[:, None, None])


def observe(points_cam: np.ndarray, errors: ErrorModel | None, rng: np.random.Generator,
            fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(C, F, J, 3) camera-frame joints -> normalised 2D (C, F, J, 2) and scores (C, F, J):
    the exact projection (errors None: scores 1) or with the measured errors of an
    core.error_model.ErrorModel, following the recording in time at fps."""
    return detector_like(points_cam[..., :2] / points_cam[..., 2:3], errors, rng, fps)


def evaluate_clip(lift: LiftFn, joints: np.ndarray, fps: float, window: int, causal: bool,
                  errors: ErrorModel | None, rng: np.random.Generator,
                  cameras: EvalCameras = EvalCameras(),
                  prior_height_m: float = DEFAULT_PERSON_HEIGHT_M) -> dict:
    """Lift one clip (joints (F, J, 3) WORLD at fps) in every camera (errors: an ErrorModel
    or None for perfect 2D): predictions and references (C*F, J, 3) root-relative,
    the constant-mean-pose baseline, and pelvis depth errors (m) of the placement at the
    lifter's own size, with the BodySizePrior(prior_height_m), and half way (log scale)."""
    cam = clip_views(joints, cameras)
    norm, scores = observe(cam, errors, rng, fps)
    c, f = norm.shape[:2]
    idx = window_indices(f, window, causal)
    pred = lift(norm[:, idx].reshape(c * f, window, *norm.shape[2:]),
                scores[:, idx].reshape(c * f, window, -1))
    ref = (cam - cam[:, :, :1]).reshape(c * f, *cam.shape[2:])
    mean_pose = np.broadcast_to((cam - cam[:, :, :1]).mean(1, keepdims=True), cam.shape)
    flat_norm, flat_sc = norm.reshape(c * f, -1, 2), scores.reshape(c * f, -1)
    depth_true = cam[:, :, 0, 2].reshape(-1)
    depth = {}
    for name, prior in (("own size", None),
                        (f"prior {prior_height_m:.2f} m", BodySizePrior(height_m=prior_height_m)),
                        ("fused 0.5", BodySizePrior(height_m=prior_height_m, weight=0.5))):
        _, t = place_in_camera(pred, flat_norm, flat_sc, prior=prior)
        depth[name] = np.abs(t[:, 2] - depth_true)
    return {"pred": pred, "ref": ref, "mean_pose": mean_pose.reshape(c * f, -1, 3),
            "depth_error_m": depth, "depth_m": depth_true}
