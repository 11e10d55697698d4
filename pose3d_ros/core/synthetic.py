"""Synthetic multi-view scenes with known truth: a moving-people generator and random rigs.

Rig/world frame: z up, metres, floor at z = 0. People stand within `area_radius` of the origin;
cameras stand on a ring around it and look at a point about 1 m above the floor. Everything
is seeded by a numpy Generator so tests are reproducible.

    rng = np.random.default_rng(0)
    rig = random_rig(4, rng)
    poses = random_poses(50, 3, rng, layout=COCO17)          # (F, P, J, 3)
    obs = observe(rig, poses, rng, noise_px=1.0, outlier_fraction=0.05)
    obs.keypoints (F, P, V, J, 2), obs.scores (F, P, V, J), obs.outliers (F, P, V, J)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body_model import CANONICAL_HEIGHT_M, canonical_pose
from .camera import CameraModel, Rig, look_at
from .layouts import BLAZEPOSE33, JointLayout, convert_joints


def _idx(*names: str) -> np.ndarray:
    return BLAZEPOSE33.indices(names)


_HAND = ("pinky", "index", "thumb")
_FOOT = ("heel", "foot_index")


def _rot_x(angle: np.ndarray) -> np.ndarray:
    """(...,) angles -> (..., 3, 3) rotations about x."""
    c, s = np.cos(angle), np.sin(angle)
    o, z = np.ones_like(angle), np.zeros_like(angle)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1),
                     np.stack([z, s, c], -1)], -2)


def rotation_about_z(angle: np.ndarray | float) -> np.ndarray:
    """(..., 3, 3) rotations about the z axis (up) by angle (..., ) radians."""
    angle = np.asarray(angle, np.float64)
    c, s = np.cos(angle), np.sin(angle)
    o, z = np.ones_like(angle), np.zeros_like(angle)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1),
                     np.stack([z, z, o], -1)], -2)


def _rotate_about(points: np.ndarray, joints: np.ndarray, pivot: int, rot: np.ndarray) -> None:
    """In place: rotate points[..., joints, :] about points[..., pivot, :] by rot (..., 3, 3)."""
    p0 = points[..., pivot: pivot + 1, :]
    points[..., joints, :] = p0 + np.einsum("...ij,...kj->...ki", rot, points[..., joints, :] - p0)


def random_poses(num_frames: int, num_people: int, rng: np.random.Generator, *,
                 layout: JointLayout = BLAZEPOSE33, fps: float = 30.0,
                 area_radius: float = 1.5, heights: tuple[float, float] = (1.55, 1.95)
                 ) -> np.ndarray:
    """Moving people with rigid bones: (F, P, J, 3) metres in a z-up world frame.

    Each person is the canonical body (body_model.canonical_pose) with a random height
    (uniform in `heights`, whole body scaled), position in a
    disc of `area_radius`, heading, and periodic arm/leg swings (shoulder, elbow, hip, knee)
    with random amplitude, frequency and phase; the body drifts slowly and turns. Bone
    lengths stay constant over time, so the truth has zero bone-length variation.
    """
    names = BLAZEPOSE33.joint_names
    base = canonical_pose()  # (33, 3)
    f, p = num_frames, num_people
    t = np.arange(f)[:, None] / fps  # (F, 1)
    scale = rng.uniform(*heights, size=p) / CANONICAL_HEIGHT_M
    pts = np.broadcast_to(base * scale[:, None, None], (f, p, len(names), 3)).copy()

    def swing(amplitude: float, offset: float = 0.0) -> np.ndarray:
        amp = rng.uniform(0, amplitude, size=p)
        freq = rng.uniform(0.3, 1.2, size=p)
        phase = rng.uniform(0, 2 * np.pi, size=p)
        return offset + amp * np.sin(2 * np.pi * freq * t + phase)  # (F, P)

    for side in ("left", "right"):
        arm = _idx(*(f"{side}_{n}" for n in ("elbow", "wrist") + _HAND))
        forearm = _idx(*(f"{side}_{n}" for n in ("wrist",) + _HAND))
        leg = _idx(*(f"{side}_{n}" for n in ("knee", "ankle") + _FOOT))
        shin = _idx(*(f"{side}_{n}" for n in ("ankle",) + _FOOT))
        # forearm first (about the elbow), then the whole arm (about the shoulder)
        _rotate_about(pts, forearm, BLAZEPOSE33.index(f"{side}_elbow"),
                      _rot_x(swing(1.2, 0.3)))
        _rotate_about(pts, arm, BLAZEPOSE33.index(f"{side}_shoulder"), _rot_x(swing(1.0)))
        _rotate_about(pts, shin, BLAZEPOSE33.index(f"{side}_knee"), _rot_x(-np.abs(swing(1.0))))
        _rotate_about(pts, leg, BLAZEPOSE33.index(f"{side}_hip"), _rot_x(swing(0.5)))
    # lift so that the lowest foot point touches the floor, then heading and position
    pts[..., 2] -= np.nanmin(pts[..., 2], axis=-1, keepdims=True)
    heading = rng.uniform(0, 2 * np.pi, size=p) + swing(0.6)
    pts = np.einsum("fpij,fpkj->fpki", rotation_about_z(heading), pts)
    r = area_radius * np.sqrt(rng.uniform(size=p))
    a = rng.uniform(0, 2 * np.pi, size=p)
    start = np.stack([r * np.cos(a), r * np.sin(a)], -1)  # (P, 2)
    drift = rng.normal(0, 0.3, size=(p, 2)) * t[..., None]  # (F, P, 2) metres
    centre = start + drift
    pts[..., :2] += centre[:, :, None, :]
    if layout.name != BLAZEPOSE33.name:
        pts = convert_joints(pts, BLAZEPOSE33, layout)
    return pts


def random_rig(num_cameras: int, rng: np.random.Generator, *,
               image_size: tuple[int, int] = (1280, 720), radius: tuple[float, float] = (4.0, 6.0),
               height: tuple[float, float] = (0.8, 2.5), fov_deg: tuple[float, float] = (55, 75),
               distortion_model: str = "plumb_bob", distortion_scale: float = 0.05,
               frame_id: str = "rig") -> Rig:
    """Cameras spread around a ring (random radius, height, jitter), looking at ~(0, 0, 1)."""
    cams = []
    angles = np.linspace(0, 2 * np.pi, num_cameras, endpoint=False)
    angles += rng.uniform(-0.3, 0.3, size=num_cameras) * (2 * np.pi / max(num_cameras, 1))
    w, h = image_size
    for i, ang in enumerate(angles):
        rad = rng.uniform(*radius)
        center = np.array([rad * np.cos(ang), rad * np.sin(ang), rng.uniform(*height)])
        target = np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.2, 3)
        rot, t = look_at(center, target)
        fov = np.deg2rad(rng.uniform(*fov_deg))
        fx = 0.5 * w / np.tan(0.5 * fov)
        k = np.array([[fx, 0, w / 2 + rng.normal(0, 5)],
                      [0, fx * rng.uniform(0.995, 1.005), h / 2 + rng.normal(0, 5)], [0, 0, 1]])
        if distortion_model == "plumb_bob":
            dist = rng.normal(0, distortion_scale, 5) * np.array([1, 0.5, 0.05, 0.05, 0.2])
        elif distortion_model == "rational_polynomial":
            dist = rng.normal(0, distortion_scale, 8) * np.array(
                [1, 0.5, 0.05, 0.05, 0.2, 0.5, 0.2, 0.1])
        elif distortion_model == "equidistant":
            dist = rng.normal(0, distortion_scale, 4) * np.array([1, 0.5, 0.2, 0.1])
        else:
            raise ValueError(f"unknown distortion model {distortion_model!r}")
        cams.append(CameraModel(f"cam{i + 1:02d}", f"cam{i + 1:02d}_optical_frame", w, h, k,
                                dist, distortion_model, rot, t).validate())
    return Rig(frame_id, cams)


@dataclass(frozen=True)
class SyntheticObservations:
    """2D observations of known 3D points.

    keypoints: (..., V, J, 2) raw pixels, NaN outside the image or behind the camera.
    scores: (..., V, J) in (0, 1]; 0 where not visible.
    outliers: (..., V, J) bool, where the keypoint was replaced by a wrong position.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    outliers: np.ndarray


def observe(rig: Rig, points: np.ndarray, rng: np.random.Generator, *, noise_px: float = 1.0,
            outlier_fraction: float = 0.0, outlier_px: tuple[float, float] = (40.0, 200.0),
            score_range: tuple[float, float] = (0.6, 1.0), dropout: float = 0.0
            ) -> SyntheticObservations:
    """Project (..., J, 3) points into every camera with Gaussian pixel noise, random joint
    dropout, and a share of outliers (offset by a random 40..200 px, keeping a high score as a
    confident wrong detection would)."""
    proj = rig.project(points)  # (..., V, J, 2)
    kp = proj + rng.normal(0, noise_px, proj.shape)
    shape = kp.shape[:-1]
    outl = rng.uniform(size=shape) < outlier_fraction
    mag = rng.uniform(*outlier_px, size=shape)
    ang = rng.uniform(0, 2 * np.pi, size=shape)
    offset = np.stack([mag * np.cos(ang), mag * np.sin(ang)], -1)
    kp = np.where(outl[..., None], kp + offset, kp)
    sizes = np.array([[c.width, c.height] for c in rig.cameras], float)  # (V, 2)
    inside = np.all((kp >= 0) & (kp <= sizes[:, None, :] - 1), axis=-1)
    visible = inside & (rng.uniform(size=shape) >= dropout)
    kp = np.where(visible[..., None], kp, np.nan)
    scores = np.where(visible, rng.uniform(*score_range, size=shape), 0.0)
    return SyntheticObservations(kp, scores, outl & visible)


def camera_out_of_step(keypoints: np.ndarray, scores: np.ndarray, camera: int, frames: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Synchronised 2D keypoints (F, V, ...) and scores (F, V, ...) with camera `camera`'s
    video `frames` ahead of the others (behind when negative): its frame t shows what theirs
    show at t + frames. The frames not all cameras have are cut: (F - |frames|, V, ...).
    A fault for tests and benchmarks of the synchronisation check (selfcalib_checks)."""
    n = keypoints.shape[0] - abs(frames)
    if n <= 0:
        raise ValueError(f"cannot move a camera {frames} frames in {keypoints.shape[0]} frames")
    others = slice(0, n) if frames > 0 else slice(-frames, None)
    own = slice(frames, None) if frames > 0 else slice(0, n)
    kp, sc = keypoints[others].copy(), scores[others].copy()
    kp[:, camera], sc[:, camera] = keypoints[own, camera], scores[own, camera]
    return kp, sc
