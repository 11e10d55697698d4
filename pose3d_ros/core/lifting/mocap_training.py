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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..layouts import H36M17, HIPS
from ..mocap import STATURE_M

if TYPE_CHECKING:
    from ..error_model import ErrorModel


def detector_like(points_norm: np.ndarray, errors: ErrorModel | None, rng: np.random.Generator,
                  fps: float,
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
class JointDefinitions:
    """Ranges (uniform) of where another dataset's H36M-17 hips, thorax and head lie on the
    same body (redefine_joints): hip_width, a factor on each pelvis -> hip vector;
    thorax_shift_m, along the pelvis -> thorax axis; head_shift_m, along the neck's axis
    (positive: towards the crown). Shifts in metres for the 1.62 m humanoid, scaled with the
    performer's stature."""

    hip_width: tuple[float, float] = (0.85, 1.6)
    thorax_shift_m: tuple[float, float] = (-0.02, 0.08)
    head_shift_m: tuple[float, float] = (-0.03, 0.12)


@dataclass(frozen=True)
class MocapAugment:
    """Ranges of the mocap performances (time warp, size) drawn every epoch.

    fps_range: frame rates of the performances (uniform); performances: how many per epoch;
    seconds: length of each; stature_m: body heights; proportion_jitter: per-limb lengths;
    arm_mix_probability / leg_mix_probability: chance that each arm / leg of a performance
    moves as in another performance (mix_limbs): poses no clip holds, from motions it does.
    tilt_probability / tilt_max_deg: chance that a performance is turned as a whole about a
    random horizontal axis through its first pelvis, by an angle uniform in +-tilt_max_deg
    (tilt_body): upright motions seen lying, leaning or upside down.
    definition_probability / definitions: chance that a performance's hip, thorax and head
    joints are placed by another dataset's definition, drawn from the ranges of
    `definitions` (redefine_joints): motion capture and detectors disagree on where these
    joints lie (the humanoid's hip joints are 0.085 m from the pelvis, a wide-hipped marker
    set's 0.13 m).
    """

    fps_range: tuple[float, float] = (15.0, 60.0)
    performances: int = 40
    seconds: float = 4.0
    stature_m: tuple[float, float] = (1.45, 1.95)
    proportion_jitter: float = 0.08
    arm_mix_probability: float = 0.0
    leg_mix_probability: float = 0.0
    tilt_probability: float = 0.0
    tilt_max_deg: float = 90.0
    definition_probability: float = 0.0
    definitions: JointDefinitions = field(default_factory=JointDefinitions)

    def __post_init__(self) -> None:
        for name in ("arm_mix_probability", "leg_mix_probability", "tilt_probability",
                     "definition_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.tilt_max_deg <= 180.0:
            raise ValueError(f"tilt_max_deg must lie in [0, 180], got {self.tilt_max_deg}")


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
        joints, stature, _ = person_motion(clip, rng, frames, fps, motion_aug)
        mix = np.zeros(4, bool)
        if augment.arm_mix_probability > 0 or augment.leg_mix_probability > 0:
            mix = np.concatenate([rng.random(2) < augment.arm_mix_probability,
                                  rng.random(2) < augment.leg_mix_probability])
        if mix.any():
            donor_clip = clips[int(rng.integers(0, len(clips)))]
            donor, _, _ = person_motion(donor_clip, rng, frames, fps, motion_aug)
            joints = mix_limbs(joints, donor, mix)
        if augment.tilt_probability > 0 and rng.random() < augment.tilt_probability:
            joints = tilt_body(joints, float(rng.uniform(0.0, 2.0 * np.pi)),
                               np.radians(float(rng.uniform(-1.0, 1.0)) * augment.tilt_max_deg))
        if augment.definition_probability > 0 and rng.random() < augment.definition_probability:
            ranges, size = augment.definitions, stature / STATURE_M
            joints = redefine_joints(joints, float(rng.uniform(*ranges.hip_width)),
                                     size * float(rng.uniform(*ranges.thorax_shift_m)),
                                     size * float(rng.uniform(*ranges.head_shift_m)))
        out.append((joints, fps))
    return out


def tilt_body(joints: np.ndarray, axis_azimuth: float, angle: float) -> np.ndarray:
    """A performance (F, 17, 3) WORLD joints (z up, metres) turned as a whole by `angle`
    (radians) about the horizontal axis at `axis_azimuth` (radians from x) through the first
    frame's pelvis."""
    from scipy.spatial.transform import Rotation

    axis = np.array([np.cos(axis_azimuth), np.sin(axis_azimuth), 0.0])
    turn = Rotation.from_rotvec(angle * axis).as_matrix()
    centre = joints[0, H36M17.index("pelvis")]
    return (joints - centre) @ turn.T + centre


_PELVIS, _THORAX, _HEAD = H36M17.indices(("pelvis", "thorax", "head"))
_HIPS = list(H36M17.indices(HIPS))


def redefine_joints(joints: np.ndarray, hip_width: float = 1.0, thorax_shift_m: float = 0.0,
                    head_shift_m: float = 0.0) -> np.ndarray:
    """The same bodies (..., 17, 3) metres with their hips, thorax and head placed by another
    definition: each hip at pelvis + hip_width x (hip - pelvis), the thorax moved by
    thorax_shift_m along pelvis -> thorax, the head by head_shift_m along the neck's axis
    (mocap.head_ends: chin -> crown). Other joints are unchanged. Returns a new array."""
    from ..mocap import head_ends

    out = np.array(joints, dtype=np.float64, copy=True)
    pelvis = out[..., _PELVIS:_PELVIS + 1, :]
    out[..., _HIPS, :] = pelvis + hip_width * (out[..., _HIPS, :] - pelvis)
    if head_shift_m:
        bottom, top = head_ends(joints)
        neck = top - bottom
        out[..., _HEAD, :] += head_shift_m * neck / np.linalg.norm(neck, axis=-1, keepdims=True)
    if thorax_shift_m:
        trunk = joints[..., _THORAX, :] - joints[..., _PELVIS, :]
        out[..., _THORAX, :] += thorax_shift_m * trunk / np.linalg.norm(trunk, axis=-1,
                                                                        keepdims=True)
    return out


# (limb root, middle, end) of the left arm, right arm, left leg, right leg (H36M-17)
LIMBS = np.array([H36M17.indices(names) for names in (
    ("left_shoulder", "left_elbow", "left_wrist"), ("right_shoulder", "right_elbow", "right_wrist"),
    ("left_hip", "left_knee", "left_ankle"), ("right_hip", "right_knee", "right_ankle"))])


def mix_limbs(base: np.ndarray, donor: np.ndarray, limbs: np.ndarray) -> np.ndarray:
    """Move the selected limbs of a performance as the donor's move.

    base, donor: (F, 17, 3) WORLD joints of two performances of equal length; limbs: (4,) bool
    for the left arm, right arm, left leg, right leg (LIMBS). Each selected limb's two bone
    directions are taken from the donor in the donor's body frame (core.body_frame: pelvis
    origin, z along the spine, y to the left) and put into the base's body frame, frame by
    frame, with the base's own bone lengths: the limb keeps where it joins the body and its
    size, and takes the donor's motion relative to the trunk. Returns a new (F, 17, 3) array.
    """
    from ..body_frame import body_frames

    if np.shape(base) != np.shape(donor):
        raise ValueError(f"base and donor performances differ in shape: {np.shape(base)} vs "
                         f"{np.shape(donor)}")
    out = np.array(base, dtype=np.float64, copy=True)
    chosen = LIMBS[np.asarray(limbs, bool)]                                 # (L, 3)
    if chosen.size == 0:
        return out
    to_base = body_frames(base, H36M17).rotations @ np.swapaxes(
        body_frames(donor, H36M17).rotations, -1, -2)                      # (F, 3, 3)
    bones_donor = donor[:, chosen[:, 1:]] - donor[:, chosen[:, :2]]         # (F, L, 2, 3)
    directions = np.einsum("fij,flbj->flbi", to_base, bones_donor)
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    lengths = np.linalg.norm(base[:, chosen[:, 1:]] - base[:, chosen[:, :2]], axis=-1)
    segments = directions * lengths[..., None]
    middle = base[:, chosen[:, 0]] + segments[:, :, 0]
    out[:, chosen[:, 1]] = middle
    out[:, chosen[:, 2]] = middle + segments[:, :, 1]
    return out
