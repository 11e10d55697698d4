"""Lifter training data from real motion capture seen through virtual cameras.

Each epoch draws fresh performances of the mocap clips (core/mocap.py) with
core.mocap_scenes.person_motion: a random clip, time-warped to a random frame rate in
`fps_range` (the rates robots see, 15-60 fps) and speed, mirrored with probability 1/2, scaled
to a random stature with jittered limb proportions. Each performance is then seen by random
virtual cameras (training.virtual_views: azimuth all round, elevation, distance, height of
the aim point, roll, field of view, people partly out of frame) and corrupted with the 2D
error model measured from the real detector (core.error_model: BlazePose on the demo against
the other cameras' triangulation: per-joint errors relative to the person's size, misses,
left/right swaps and confidences drawn together, following the recording in time).

Units: metres; 2D in normalised image coordinates (x right, y down); H36M-17.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def detector_like(points_norm: np.ndarray, errors, rng: np.random.Generator, fps: float,
                  visible: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Windows of exact 2D (N, T, J, 2) (any units: errors scale with the person's size) ->
    detector-like 2D and confidences (N, T, J) from the measured error model
    (core.error_model.ErrorModel; None: perfect 2D, confidence 1). Samples follow one
    recorded camera in time along T at `fps`, so the detector's correlations over time stay.
    visible: (N, T, J) joints the detector can see (default: finite ones)."""
    if errors is None:
        ok = np.isfinite(points_norm).all(-1) if visible is None else visible
        return np.where(ok[..., None], points_norm, np.nan), ok.astype(np.float64)
    from ..error_model import apply_error_model

    return apply_error_model(points_norm, rng, errors, visible=visible, frames_axis=1, fps=fps)


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
                       ) -> list[tuple[np.ndarray, float]]:
    """Fresh augmented performances: list of ((F, 17, 3) WORLD joints (z up), fps), one per
    draw, each at its own frame rate (F = seconds x fps)."""
    from ..mocap_scenes import MotionAugment, person_motion

    motion_aug = MotionAugment(stature_m=augment.stature_m,
                               proportion_jitter=augment.proportion_jitter)
    out = []
    for _ in range(augment.performances):
        clip = clips[int(rng.integers(0, len(clips)))]
        fps = float(rng.uniform(*augment.fps_range))
        frames = max(int(augment.seconds * fps), 2)
        joints, _, _ = person_motion(clip, rng, frames, fps, motion_aug)
        out.append((joints, fps))
    return out
