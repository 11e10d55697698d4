"""Floor contact for one-camera people: where the floor is known, it fixes one view's scale.

One camera cannot tell a small near person from a large far one: the monocular methods place
each skeleton at the depth that its own size implies (core.monocular). Where the output frame
is a calibrated frame with z up (REP-103) and a horizontal floor at a known height, a standing
or walking person's lower ankle is on that floor (an ankle joint `ankle_height_m` above it).
Scaling a camera-frame skeleton about the camera centre keeps its projection exactly and
changes its size and distance together, so the one scale that puts the lower ankle at that
height is what the floor says about the person's distance.

Per frame and person (vectorised): u = R e_z, the rig's up direction in the camera frame, and
H, the camera centre's height above the floor; a joint X (camera frame) lies at height
u . X + H, and at s X at height s u . X + H, so s = (ankle_height_m - H) / (u . X_ankle) for the
lower of the two confident ankles (the one with the smaller u . X). A frame's s is used only
where the ankle's ray points down and s lies within [1 / max_scale_ratio, max_scale_ratio]
(someone on a box or a step, or a foot in the air, is not pulled down to the floor); each
track applies the median of its last `window` usable scales (a jump or a kick moves it
little), and a track without one keeps its own size.

Measured on rendered motion capture and the demo cameras alone in
benchmarks/results_onecam.md (session 11).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layouts import H36M17
from .monocular import TrackMedians

_ANKLES = np.array([H36M17.index("left_ankle"), H36M17.index("right_ankle")])


@dataclass(frozen=True)
class FloorParams:
    """height_m: the floor's z in the output (rig) frame (m). ankle_height_m: height of a
    standing person's ankle keypoint above the floor (m; 0.055 on the motion-capture body,
    0.10-0.15 for BlazePose's ankles triangulated on the demo recordings' floor). window:
    frames of each track's median scale. max_scale_ratio: a frame's floor scale is used
    within [1/x, x] of the size-based placement. min_score: ankle confidence the floor needs
    (0..1)."""

    height_m: float = 0.0
    ankle_height_m: float = 0.10
    window: int = 90
    max_scale_ratio: float = 1.4
    min_score: float = 0.5

    def __post_init__(self) -> None:
        if not np.isfinite(self.height_m):
            raise ValueError(f"floor height_m must be finite, got {self.height_m}")
        if not 0.0 <= self.ankle_height_m < 0.5:
            raise ValueError(f"ankle_height_m must be in [0, 0.5) m, got {self.ankle_height_m}")
        if self.window < 1:
            raise ValueError(f"window must be >= 1, got {self.window}")
        if not self.max_scale_ratio > 1.0:
            raise ValueError(f"max_scale_ratio must be > 1, got {self.max_scale_ratio}")
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score must be in [0, 1], got {self.min_score}")


def floor_scales(positions: np.ndarray, scores: np.ndarray, R: np.ndarray, t: np.ndarray,
                 params: FloorParams = FloorParams()) -> np.ndarray:
    """positions (P, 17, 3) H36M-17 metres in the camera optical frame, scores (P, 17); R, t
    map the rig frame (z up) into the camera frame (x_cam = R x_rig + t). Returns (P,): the
    scale about the camera centre that puts each person's lower confident ankle at
    params.ankle_height_m above the floor, NaN where the floor says nothing usable."""
    up = np.asarray(R, np.float64)[:, 2]                    # rig z in the camera frame
    camera_height = -(up @ np.asarray(t, np.float64)) - params.height_m   # above the floor
    ankles = positions[:, _ANKLES]                           # (P, 2, 3)
    along = ankles @ up                                      # (P, 2): u . X
    usable = (scores[:, _ANKLES] >= params.min_score) & np.isfinite(along)
    lower = np.where(usable, along, np.inf).min(axis=1)      # the lower confident ankle
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = (params.ankle_height_m - camera_height) / lower
    ok = (np.isfinite(lower) & (lower < -1e-6) & (camera_height > params.ankle_height_m)
          & (scale >= 1.0 / params.max_scale_ratio) & (scale <= params.max_scale_ratio))
    return np.where(ok, scale, np.nan)


class FloorScale:
    """Per camera: each track's median floor scale (floor_scales, TrackMedians over
    params.window frames), applied about the camera centre (projections unchanged)."""

    def __init__(self, params: FloorParams = FloorParams()) -> None:
        self.params = params
        self._medians = TrackMedians(params.window)

    def apply(self, positions: np.ndarray, scores: np.ndarray, track_ids: np.ndarray,
              R: np.ndarray, t: np.ndarray) -> np.ndarray:
        """positions (P, 17, 3) camera frame, scores (P, 17), track_ids (P,) distinct ->
        the skeletons scaled by their track's median floor scale (unchanged without one)."""
        frame = np.log(floor_scales(positions, scores, R, t, self.params))
        median = self._medians.push(frame[:, None], track_ids)[:, 0]
        scale = np.exp(np.where(np.isfinite(median), median, 0.0))
        return positions * scale[:, None, None]
