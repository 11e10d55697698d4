"""Lifter training data from real motion capture seen through virtual cameras.

Each epoch draws fresh performances of the mocap clips (core/mocap.py) with
core.mocap_scenes.person_motion: a random clip, time-warped to a random frame rate in
`fps_range` (the rates robots see, 15-60 fps) and speed, mirrored with probability 1/2, scaled
to a random stature with jittered limb proportions. Each performance is then seen by random
virtual cameras (training.virtual_views: azimuth all round, elevation, distance, height of
the aim point, roll, field of view, people partly out of frame) and corrupted with a 2D error
model measured from the real detector (ErrorBank: BlazePose on the demo recordings against
the multi-camera triangulation: per-joint errors, drop-outs, left/right swaps, confidences,
borrowed as whole sequences so that their correlations over joints and time stay real).

Units: metres; 2D in normalised image coordinates (x right, y down); H36M-17.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..layouts import H36M17
from .dataset import PseudoLabels, undistort_pixels, world_to_camera
from .normalization import ROOT_INDEX, pixels_to_normalised


def rms_radius(points_norm: np.ndarray) -> np.ndarray:
    """(..., J, 2) normalised 2D -> (...,) RMS distance of the joints from the root joint
    (NaN joints left out); the 2D size of the pose that errors are measured relative to."""
    rel = points_norm - points_norm[..., ROOT_INDEX:ROOT_INDEX + 1, :]
    return np.sqrt(np.nanmean((rel ** 2).sum(-1), axis=-1))


@dataclass(frozen=True)
class ErrorBank:
    """2D detector errors as whole sequences, to borrow for virtual views.

    residuals: (S, F, J, 2) detected minus true 2D, in units of the pose's 2D RMS radius
      (scale-free, so an error measured on a near person transfers to a far one); NaN where
      the detector gave no joint (a drop-out).
    scores: (S, F, J) the detector's confidences of the same joints (0 for drop-outs).
    """

    residuals: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        if self.residuals.shape[:-1] != self.scores.shape or self.residuals.ndim != 4:
            raise ValueError(f"residuals (S, F, J, 2) and scores (S, F, J) disagree: "
                             f"{self.residuals.shape} vs {self.scores.shape}")

    @classmethod
    def perfect(cls, num_joints: int = H36M17.num_joints) -> "ErrorBank":
        """No error, full confidence: perfect 2D."""
        return cls(np.zeros((1, 1, num_joints, 2)), np.ones((1, 1, num_joints)))

    @classmethod
    def from_labels(cls, labels: list[PseudoLabels], wrong_person: float = 0.6) -> "ErrorBank":
        """Errors of each camera's 2D against the projection of the multi-camera 3D.

        Frames where the median joint error exceeds `wrong_person` RMS radii (the camera
        followed someone else) or without a 3D reference become drop-out frames."""
        res, scs = [], []
        for lab in labels:
            for v, cam in enumerate(lab.cameras):
                det = pixels_to_normalised(undistort_pixels(cam, lab.keypoints[v]), cam.K)
                pts = world_to_camera(cam, lab.points_world)
                z = pts[..., 2:3]
                true = np.where(z > 0.1, pts[..., :2] / np.where(z > 0.1, z, 1.0), np.nan)
                radius = rms_radius(true)[..., None, None]
                r = (det - true) / radius
                err = np.linalg.norm(r, axis=-1)
                frame_ok = np.isfinite(true[:, ROOT_INDEX]).all(-1) & \
                    (np.nanmedian(np.where(np.isfinite(err), err, np.nan), axis=-1)
                     < wrong_person)
                seen = np.isfinite(det).all(-1) & (lab.scores[v] > 0) & frame_ok[:, None]
                # joints the reference lacks but the detector saw: error unknown, count as 0
                r = np.where(np.isfinite(r), r, 0.0)
                res.append(np.where(seen[..., None], r, np.nan))
                scs.append(np.where(seen, lab.scores[v], 0.0))
        frames = min(r.shape[0] for r in res)
        return cls(np.stack([r[:frames] for r in res]), np.stack([s[:frames] for s in scs]))

    def sample(self, rng: np.random.Generator, frame_index: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """Errors for N windows: frame_index (N, T) frame numbers of the windows -> residuals
        (N, T, J, 2) and scores (N, T, J) of one random stored sequence per window, read at a
        random offset (consecutive frames stay consecutive), mirrored left/right at random."""
        n = frame_index.shape[0]
        seq = rng.integers(0, self.scores.shape[0], n)
        frames = (frame_index + rng.integers(0, self.scores.shape[1], n)[:, None]) \
            % self.scores.shape[1]
        res = self.residuals[seq[:, None], frames]
        sc = self.scores[seq[:, None], frames]
        from .runtime import MIRROR_INDEX

        flip = rng.random(n) < 0.5
        res[flip] = res[flip][:, :, MIRROR_INDEX] * np.array([-1.0, 1.0])
        sc[flip] = sc[flip][:, :, MIRROR_INDEX]
        return res, sc

    def summary(self) -> dict:
        """Per-joint median error (RMS radii), drop-out rate, mean confidence."""
        err = np.linalg.norm(self.residuals, axis=-1)
        return {"median_error_radii": np.nanmedian(err, axis=(0, 1)).round(3).tolist(),
                "dropout_rate": float(np.isnan(err).mean()),
                "mean_score": float(self.scores[np.isfinite(err)].mean())}


def apply_errors(points_norm: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """Add scale-free residuals (..., J, 2) to true 2D (..., J, 2) (NaN residual: drop-out)."""
    return points_norm + residuals * rms_radius(points_norm)[..., None, None]


@dataclass(frozen=True)
class MocapAugment:
    """Ranges of the mocap performances (time warp, size) drawn every epoch.

    fps_range: frame rates of the performances (uniform); performances: how many per epoch;
    seconds: length of each; stature_m: body heights; proportion_jitter: per-limb lengths.
    """

    fps_range: tuple[float, float] = (15.0, 60.0)
    performances: int = 40
    seconds: float = 4.0
    stature_m: tuple[float, float] = (1.45, 1.95)
    proportion_jitter: float = 0.08


def mocap_performances(clips: list, rng: np.random.Generator, augment: MocapAugment
                       ) -> list[np.ndarray]:
    """Fresh augmented performances: list of (F, 17, 3) WORLD joints (z up), one per draw,
    each at its own frame rate (F = seconds x fps)."""
    from ..mocap_scenes import MotionAugment, person_motion

    motion_aug = MotionAugment(stature_m=augment.stature_m,
                               proportion_jitter=augment.proportion_jitter)
    out = []
    for _ in range(augment.performances):
        clip = clips[int(rng.integers(0, len(clips)))]
        fps = float(rng.uniform(*augment.fps_range))
        frames = max(int(augment.seconds * fps), 2)
        joints, _, _ = person_motion(clip, rng, frames, fps, motion_aug)
        out.append(joints)
    return out
