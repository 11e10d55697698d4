"""Virtual cameras around mocap scenes: random intrinsics and poses, projection, visibility
and occlusion between people by depth order.

Frames: the mocap WORLD frame (z up, metres; core/mocap.py) is the rig frame of every camera
made here; cameras are core/camera.py CameraModel / Rig (optical frame z forward, x right,
y down; raw pixels).

API
    cam = random_camera(target, rng, CameraSampling(), name="cam01")   # looks at target
    rig = random_ring_rig(num_cameras, rng, CameraSampling(...), target=(0, 0, 1))
    centre = rig_look_point(rig)                  # where a (real) rig looks: centre scenes there
    views = project_scene(rig, scene.joints)     # joints (F, P, 17, 3), NaN = absent
    views.keypoints (F, P, V, 17, 2) pixels; views.depth (F, P, V, 17) metres;
    views.in_image, views.occluded, views.visible (F, P, V, 17) bool
    occluded = occlusion_mask(keypoints, depth, focal_px)   # the depth-order test alone
    dets = detect_views(views, rng, fps=scene.fps, false_per_view=0.5)  # measured 2D errors
    dets.keypoints (F, V, D, 17, 2), dets.scores (F, V, D, 17), dets.person (F, V, D):
    shuffled per view, person -1 = false detection, -2 = empty slot
    detections, who = dets.frame(f, v)           # core.types.Detections2D of one image

Occlusion (approximate, vectorised): every person's body is a set of 2D capsules (BODY_CAPSULES:
limbs, torso, neck and head with radii in metres, drawn at the depth of their ends, radius in
pixels = radius_m * focal / depth). A joint is occluded in a view when it falls inside a
capsule of ANOTHER person whose depth there is smaller than the joint's by at least
OCCLUSION_MARGIN_M. Self-occlusion is not modelled here (the measured 2D error model in
core/error_model.py carries the detector's own misses).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .array_ops import in_image
from .camera import CameraModel, Rig, look_at, pinhole_from_fov
from .layouts import H36M17
from .types import Detections2D

if TYPE_CHECKING:
    from .error_model import ErrorModel

# (joint a, joint b, radius m): the body as capsules for occlusion between people.
BODY_CAPSULES = (
    ("pelvis", "thorax", 0.14), ("left_hip", "left_shoulder", 0.09),
    ("right_hip", "right_shoulder", 0.09), ("left_hip", "left_knee", 0.08),
    ("right_hip", "right_knee", 0.08), ("left_knee", "left_ankle", 0.06),
    ("right_knee", "right_ankle", 0.06), ("left_shoulder", "left_elbow", 0.05),
    ("right_shoulder", "right_elbow", 0.05), ("left_elbow", "left_wrist", 0.04),
    ("right_elbow", "right_wrist", 0.04), ("thorax", "nose", 0.06), ("nose", "head", 0.10),
)
_CAP_A = H36M17.indices(tuple(c[0] for c in BODY_CAPSULES))
_CAP_B = H36M17.indices(tuple(c[1] for c in BODY_CAPSULES))
_CAP_R = np.array([c[2] for c in BODY_CAPSULES])
OCCLUSION_MARGIN_M = 0.05
_CHUNK_ELEMENTS = 2_000_000  # frames per occlusion batch are chosen to stay near this size


@dataclass(frozen=True)
class CameraSampling:
    """Ranges (uniform) of virtual cameras.

    image_sizes: (width, height) choices, pixels. fov_deg: horizontal field of view.
    distance_m: horizontal distance from the target. height_m: camera height above the floor.
    roll_deg: rotation about the optical axis. aim_jitter_m: the point looked at is the
    target moved by up to this in each axis (people partly out of frame at the extremes).
    """

    image_sizes: tuple[tuple[int, int], ...] = ((1280, 720), (1920, 1080), (640, 480),
                                                (720, 1280))
    fov_deg: tuple[float, float] = (45.0, 90.0)
    distance_m: tuple[float, float] = (2.5, 8.0)
    height_m: tuple[float, float] = (0.3, 2.8)
    roll_deg: tuple[float, float] = (-10.0, 10.0)
    aim_jitter_m: float = 0.3


def rig_look_point(rig: Rig) -> np.ndarray:
    """(3,) the point nearest (least squares) to every camera's optical axis, rig frame: where
    a rig looks, to centre a scene in it (SceneConfig.area_centre = its x, y)."""
    axes = np.stack([cam.R[2] for cam in rig])  # optical z of each camera in the rig frame
    centres = np.stack([cam.center for cam in rig])
    proj = np.eye(3) - axes[:, :, None] * axes[:, None, :]  # (V, 3, 3) off-axis projectors
    if len(rig) < 2:
        raise ValueError("rig_look_point needs at least two cameras")
    return np.linalg.solve(proj.sum(0), np.einsum("vij,vj->i", proj, centres))


def _roll(angle: float) -> np.ndarray:
    """Rotation about the optical axis (z) by angle (rad), applied in the optical frame."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def random_camera(target: np.ndarray, rng: np.random.Generator,
                  sampling: CameraSampling = CameraSampling(), *, name: str = "cam01",
                  azimuth: float | None = None) -> CameraModel:
    """A pinhole camera (no distortion) looking at `target` (3,) WORLD metres from a random
    distance, height, azimuth (or the one given, radians about z), roll and field of view."""
    target = np.asarray(target, float)
    az = rng.uniform(0, 2 * np.pi) if azimuth is None else azimuth
    dist = rng.uniform(*sampling.distance_m)
    center = np.array([target[0] + dist * np.cos(az), target[1] + dist * np.sin(az),
                       rng.uniform(*sampling.height_m)])
    aim = target + rng.uniform(-sampling.aim_jitter_m, sampling.aim_jitter_m, 3)
    rot, _ = look_at(center, aim)
    rot = _roll(np.deg2rad(rng.uniform(*sampling.roll_deg))) @ rot
    w, h = sampling.image_sizes[int(rng.integers(len(sampling.image_sizes)))]
    fx = 0.5 * w / np.tan(0.5 * np.deg2rad(rng.uniform(*sampling.fov_deg)))
    k = np.array([[fx, 0.0, (w - 1) / 2 + rng.normal(0, 0.01 * w)],
                  [0.0, fx, (h - 1) / 2 + rng.normal(0, 0.01 * h)], [0.0, 0.0, 1.0]])
    return CameraModel(name, f"{name}_optical_frame", w, h, k, np.zeros(5), "plumb_bob",
                       rot, -rot @ center).validate()


def random_ring_rig(num_cameras: int, rng: np.random.Generator,
                    sampling: CameraSampling = CameraSampling(distance_m=(4.0, 7.0),
                                                              height_m=(1.0, 3.0),
                                                              roll_deg=(-3.0, 3.0),
                                                              aim_jitter_m=0.3),
                    *, target: Sequence[float] | np.ndarray = (0.0, 0.0, 1.0),
                    frame_id: str = "world") -> Rig:
    """num_cameras cameras spread evenly (+- 20 % of the spacing) on a ring around target."""
    spacing = 2 * np.pi / num_cameras
    azimuths = np.arange(num_cameras) * spacing + rng.uniform(-0.2, 0.2, num_cameras) * spacing
    return Rig(frame_id, [random_camera(np.asarray(target, float), rng, sampling,
                                        name=f"cam{v + 1:02d}", azimuth=float(a))
                          for v, a in enumerate(azimuths)])


def outward_rig(num_cameras: int = 4, *, height_m: float = 1.2, offset_m: float = 0.15,
                hfov_deg: float = 90.0, image_size: tuple[int, int] = (1280, 720),
                look_down_deg: float = 10.0, frame_id: str = "world") -> Rig:
    """Cameras on a robot looking outwards: num_cameras pinhole cameras (no distortion) at
    `height_m` above the floor, each `offset_m` out from the z axis along its own viewing
    direction, facing evenly spread azimuths (the first along +x), tilted down by
    look_down_deg, of hfov_deg horizontal field of view. With 4 cameras of 90 degrees the
    views meet at their edges: most people are seen by one camera."""
    cameras = []
    for v, azimuth in enumerate(np.arange(num_cameras) * 2 * np.pi / num_cameras):
        facing = np.array([np.cos(azimuth), np.sin(azimuth), 0.0])
        center = offset_m * facing + np.array([0.0, 0.0, height_m])
        aim = center + facing - np.array([0.0, 0.0, np.tan(np.deg2rad(look_down_deg))])
        rot, _ = look_at(center, aim)
        camera = pinhole_from_fov(f"cam{v + 1:02d}", *image_size, hfov_deg)
        cameras.append(camera.with_pose(rot, -rot @ center).validate())
    return Rig(frame_id, cameras)


def occlusion_mask(keypoints: np.ndarray, depth: np.ndarray, focal_px: np.ndarray
                   ) -> np.ndarray:
    """Joints hidden behind other people (see module doc).

    keypoints: (F, P, V, J, 2) pixels; depth: (F, P, V, J) metres along the optical axis
    (NaN for absent people or joints behind the camera); focal_px: (V,) focal length.
    Returns (F, P, V, J) bool, True where another person's body covers the joint nearer to
    the camera. Batched over frames in chunks of bounded memory (float32 inside).
    """
    f, p, v, j, _ = keypoints.shape
    out = np.zeros((f, p, v, j), bool)
    if p < 2:
        return out
    c = len(BODY_CAPSULES)
    step = max(1, _CHUNK_ELEMENTS // (p * v * j * p * c))
    other = ~np.eye(p, dtype=bool)[:, None, :, None]  # (P, 1, Q, 1): not oneself
    radius_m = _CAP_R.astype(np.float32)
    for s in range(0, f, step):
        kp = np.moveaxis(keypoints[s:s + step], 2, 1).astype(np.float32)  # (f, V, P, J, 2)
        z = np.moveaxis(depth[s:s + step], 2, 1).astype(np.float32)  # (f, V, P, J)
        ax, ay = kp[:, :, :, _CAP_A, 0], kp[:, :, :, _CAP_A, 1]  # (f, V, Q, C)
        dx, dy = kp[:, :, :, _CAP_B, 0] - ax, kp[:, :, :, _CAP_B, 1] - ay
        za, dz = z[:, :, :, _CAP_A], z[:, :, :, _CAP_B] - z[:, :, :, _CAP_A]
        with np.errstate(invalid="ignore", divide="ignore"):
            radius = radius_m * focal_px[None, :, None, None].astype(np.float32) / (za + dz / 2)
            inv_len2 = 1.0 / np.maximum(dx * dx + dy * dy, 1e-6)
        e = (slice(None), slice(None), None, None)  # capsules against every (P, J)
        px = kp[..., 0][..., None, None] - ax[e]  # (f, V, P, J, Q, C)
        py = kp[..., 1][..., None, None] - ay[e]
        with np.errstate(invalid="ignore"):
            t = np.clip((px * dx[e] + py * dy[e]) * inv_len2[e], 0.0, 1.0)
            px -= t * dx[e]
            py -= t * dy[e]
            covered = ((px * px + py * py < (radius * radius)[e])
                       & (za[e] + t * dz[e] < z[..., None, None] - OCCLUSION_MARGIN_M) & other)
        out[s:s + step] = np.moveaxis(covered.any(axis=(-1, -2)), 1, 2)
    return out


@dataclass(frozen=True)
class SceneViews:
    """A scene seen by V cameras.

    keypoints: (F, P, V, J, 2) raw pixels, NaN where the person is absent or the joint is
    behind the camera (it may lie outside the image: see in_image). depth: (F, P, V, J)
    metres along each optical axis. in_image: inside the image and in front of the camera.
    occluded: covered by another person nearer the camera. image_sizes: (V, 2) width, height.
    """

    keypoints: np.ndarray
    depth: np.ndarray
    in_image: np.ndarray
    occluded: np.ndarray
    image_sizes: np.ndarray

    @property
    def visible(self) -> np.ndarray:
        """(F, P, V, J) bool: in the image and not hidden by another person."""
        return self.in_image & ~self.occluded


def project_scene(rig: Rig, joints: np.ndarray, *, occlusion: bool = True) -> SceneViews:
    """Project (F, P, J, 3) WORLD joints (NaN = absent) into every camera of the rig."""
    joints = np.asarray(joints, float)
    if joints.ndim != 4 or joints.shape[-1] != 3:
        raise ValueError(f"joints must be (F, P, J, 3), got {joints.shape}")
    keypoints = rig.project(joints)  # (F, P, V, J, 2)
    depth = np.stack([cam.to_camera_frame(joints)[..., 2] for cam in rig], axis=2)
    size = np.array([[cam.width, cam.height] for cam in rig], float)[:, None, :]  # (V, 1, 2)
    visible_in_image = in_image(keypoints, size)          # False where NaN
    if occlusion:
        focal = np.array([np.sqrt(cam.K[0, 0] * cam.K[1, 1]) for cam in rig])
        occluded = occlusion_mask(keypoints, np.where(depth > 1e-3, depth, np.nan), focal)
    else:
        occluded = np.zeros_like(visible_in_image)
    return SceneViews(keypoints, depth, visible_in_image, occluded, size[:, 0].astype(int))


@dataclass(frozen=True)
class ViewDetections2D:
    """Detector-like 2D of a scene, per frame and view, in a random order per view.

    keypoints: (F, V, D, 17, 2) pixels, NaN where a joint is not detected or the slot is
    empty; scores: (F, V, D, 17), 0 there; person: (F, V, D) int, the scene person each
    detection comes from, -1 for a false detection, -2 for an empty slot. image_sizes: (V, 2).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    person: np.ndarray
    image_sizes: np.ndarray

    def frame(self, frame: int, view: int) -> tuple[Detections2D, np.ndarray]:
        """One image's detections as the package's Detections2D (H36M17 layout; box = the
        detected joints' extent, person score = their mean confidence) and (D,) their
        person indices (-1 = false)."""
        real = self.person[frame, view] != -2
        kp = self.keypoints[frame, view, real].astype(np.float32)
        sc = self.scores[frame, view, real].astype(np.float32)
        size = (int(self.image_sizes[view, 0]), int(self.image_sizes[view, 1]))
        if not real.any():
            return Detections2D.empty(H36M17, size), self.person[frame, view, real]
        boxes = np.concatenate([np.nanmin(kp, axis=1), np.nanmax(kp, axis=1)], axis=1)
        person_scores = (sc.sum(1) / np.maximum((sc > 0).sum(1), 1)).astype(np.float32)
        return (Detections2D(kp, sc, boxes, person_scores, H36M17, size),
                self.person[frame, view, real])


def detect_views(views: SceneViews, rng: np.random.Generator, model: ErrorModel | None = None,
                 *, false_per_view: float | None = None, fps: float = 30.0) -> ViewDetections2D:
    """Apply the measured 2D error model (core/error_model.py) to a projected scene.

    Visible joints get measured errors (time-correlated along frames at fps); a person with
    no detected joint in a view is not a detection there. false_per_view: mean number of
    false detections per view and frame (Poisson; default: the model's measured rate), drawn
    as partial bodies of the scene's own true 2D, placed anywhere in the image. Detections
    are shuffled per view so their order tells nothing.
    """
    from .error_model import apply_error_model, false_detections, load_error_model

    model = model or load_error_model()
    rate = model.false_per_view if false_per_view is None else false_per_view
    f, p, v = views.keypoints.shape[:3]
    truth = np.moveaxis(views.keypoints, 2, 1)  # (F, V, P, J, 2)
    noisy, conf = apply_error_model(truth, rng, model, visible=np.moveaxis(views.visible, 2, 1),
                                    frames_axis=0, fps=fps)
    counts = rng.poisson(rate, size=(f, v)) if rate > 0 else np.zeros((f, v), int)
    d = p + int(counts.max(initial=0))
    keypoints = np.full((f, v, d, H36M17.num_joints, 2), np.nan)
    scores = np.zeros((f, v, d, H36M17.num_joints))
    person = np.full((f, v, d), -2)
    keypoints[:, :, :p], scores[:, :, :p] = noisy, conf
    person[:, :, :p] = np.where((conf > 0).any(-1), np.arange(p), -2)
    if counts.sum() > 0:
        pool = truth[np.isfinite(truth).all(axis=(-1, -2))]
        fi, vi = np.nonzero(counts)
        n = counts[fi, vi]
        frame, view = np.repeat(fi, n), np.repeat(vi, n)
        slot = p + np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)  # p, p+1, ... per view
        fake, fake_scores = false_detections(rng, int(n.sum()), views.image_sizes[view],
                                             model, pose_pool=pool if len(pool) else None)
        keypoints[frame, view, slot], scores[frame, view, slot] = fake, fake_scores
        person[frame, view, slot] = -1
    order = np.argsort(rng.uniform(size=(f, v, d)) + 2 * (person == -2), axis=-1)  # empties last
    take = order[..., None, None]
    return ViewDetections2D(np.take_along_axis(keypoints, take, axis=2),
                            np.take_along_axis(scores, order[..., None], axis=2),
                            np.take_along_axis(person, order, axis=2), views.image_sizes)
