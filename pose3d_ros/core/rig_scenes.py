"""Multi-person scenes seen by a rig, with 2D detections and 3D truth, from the real motion
capture: the in-house multi-view benchmark's scenes (benchmarks/bench_multiview_people.py and
its diagnostics), also used by the tests of what needs people around a rig (test_lone_views).

A scene (core/mocap_scenes.py): P people, each playing a DeepMimic clip (walk, run, dance,
kick, cartwheel, crawl, ...; time-warped, mirrored, scaled to a stature of 1.50-1.95 m), kept
0.7 m apart, entering and leaving. A rig: 3, 5 or 8 cameras on a ring (core/mocap_views.py:
4-7 m away, 1-3 m high, random intrinsics and image sizes) or the demo's 4-camera Qualisys rig.
2D per frame and camera: projection, occlusion between people by depth order (mocap_views),
the 2D errors measured from the package's BlazePose on the demo recording
(core/error_model.py: per-joint residuals relative to the person's size, left/right swaps,
confidences, missed people; sequences follow the recording in time), a person with fewer than
MIN_VISIBLE_JOINTS confident joints not detected, and false detections in every camera
(Poisson, FALSE_PER_CAMERA): error_model.false_detections (partial bodies of the scene's own
2D poses at random places and sizes) and, as many, DUPLICATE boxes of real people (one half
of a real detection a few pixels off, lower scores: the second box 2D detectors give).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import Rig
from .error_model import apply_error_model, false_detections, person_scale
from .layouts import H36M17, JointLayout
from .mocap_scenes import SceneConfig
from .mocap_scenes import make_scene as make_people
from .mocap_views import outward_rig, project_scene, random_ring_rig
from .types import Detections2D

FPS = 30.0
FALSE_PER_CAMERA = 0.5      # random partial bodies per camera and frame (Poisson mean)
DUPLICATES_PER_CAMERA = 0.5  # duplicate boxes of real people per camera and frame
MIN_VISIBLE_JOINTS = 6
MIN_SCORE = 0.3
HEAD360_CAMERAS = 6          # the "head360" rig's lenses


@dataclass(frozen=True)
class Scene:
    """truth (F, P, J, 3) metres, rig frame (NaN while absent); present (F, P) bool;
    detections[f][v]; sources[f][v]: (D,) who each detection is: person index, -1 a false
    detection, -2 - p a duplicate box of person p."""

    rig: Rig
    layout: JointLayout
    fps: float
    truth: np.ndarray
    present: np.ndarray
    detections: list[list[Detections2D]]
    sources: list[list[np.ndarray]]

    @property
    def num_frames(self) -> int:
        return int(self.truth.shape[0])

    @property
    def detections_per_frame(self) -> float:
        return float(np.mean([sum(d.num_people for d in dets) for dets in self.detections]))


def make_scene(rig_name: str, num_people: int, frames: int, seed: int, clips: list, *,
               error_scale: float = 1.0) -> Scene:
    """rig_name: "3", "5", "8" (cameras on a ring), "demo" (the demo's Qualisys rig) or
    "robot" (mocap_views.outward_rig: 4 cameras on a robot looking outwards, people 1.5-5 m
    around it, most seen by one camera), "robot_wide" (the same with 120-degree lenses: two
    neighbours 0.2 m apart share each corner, a pair that fixes depth poorly), "robot_large"
    (120-degree lenses 0.5 m from the centre of a larger robot: neighbours 0.7 m apart
    triangulate the people at the corners), "head360" (a
    360-degree camera head: HEAD360_CAMERAS 100-degree lenses 2 cm apart around a small
    head, neighbours overlapping by 40 degrees, people 2-5 m around it: every overlap's
    rays are nearly parallel, its depth is not measurable);
    clips: MocapClip list;
    error_scale: the measured 2D residuals times this (they are an upper bound: the
    reference they were measured against carries its own triangulation error)."""
    rng = np.random.default_rng([seed, num_people, sum(map(ord, rig_name))])
    inner = 0.0
    if rig_name == "demo":
        from .calibration import load_rig
        from .data_paths import calibration_path
        rig, radius = load_rig(calibration_path("single")), 1.2
    elif rig_name == "robot":       # 4 cameras on a robot looking outwards, people around it
        rig, radius, inner = outward_rig(4), 5.0, 1.5
    elif rig_name == "robot_wide":  # the same with 120 degrees: neighbours share the corners
        rig, radius, inner = outward_rig(4, hfov_deg=120.0), 5.0, 1.5
    elif rig_name == "robot_large":  # 120 degrees 0.5 m out: corners seen 0.7 m apart
        rig, radius, inner = outward_rig(4, offset_m=0.5, hfov_deg=120.0), 5.0, 1.5
    elif rig_name == "head360":     # lenses 2 cm apart: neighbours 2 r sin(180 / 6) = r
        rig, radius, inner = outward_rig(HEAD360_CAMERAS, offset_m=0.02,
                                         hfov_deg=100.0), 5.0, 2.0
    else:
        rig, radius = random_ring_rig(int(rig_name), rng), 2.0
    people = make_people(clips, rng, SceneConfig(num_people=num_people, fps=FPS,
                                                 num_frames=frames, area_radius=radius,
                                                 area_inner_radius=inner))
    views = project_scene(rig, people.joints)                       # (F, P, V, J, 2)
    noisy, conf = apply_error_model(views.keypoints, rng, visible=views.visible,
                                    scale=error_scale * person_scale(views.keypoints),
                                    frames_axis=0, fps=FPS)
    pool = views.keypoints[np.isfinite(views.keypoints).all((-1, -2))]   # whole 2D poses
    detections, sources = [], []
    for f in range(frames):
        per_camera = [_camera_detections(rig, v, noisy[f, :, v], conf[f, :, v], pool, rng)
                      for v in range(len(rig.cameras))]
        detections.append([d for d, _ in per_camera])
        sources.append([s for _, s in per_camera])
    return Scene(rig, H36M17, FPS, people.joints, people.present, detections, sources)


def _camera_detections(rig: Rig, v: int, keypoints: np.ndarray, scores: np.ndarray,
                       pool: np.ndarray, rng: np.random.Generator
                       ) -> tuple[Detections2D, np.ndarray]:
    """One camera's detections of one frame (shuffled) and their sources."""
    cam = rig.cameras[v]
    seen = np.flatnonzero((scores >= MIN_SCORE).sum(1) >= MIN_VISIBLE_JOINTS)
    k, s, src = [keypoints[seen]], [scores[seen]], [seen]
    n_false = rng.poisson(FALSE_PER_CAMERA)
    if n_false and len(pool):
        fk, fs = false_detections(rng, n_false, (cam.width, cam.height), pose_pool=pool)
        k.append(fk)
        s.append(fs)
        src.append(np.full(n_false, -1))
    n_dup = min(rng.poisson(DUPLICATES_PER_CAMERA), seen.size)
    if n_dup:
        pick = rng.choice(seen, n_dup, replace=False)
        half = _HALVES[rng.integers(len(_HALVES), size=n_dup)]            # (D, J)
        dk = keypoints[pick] + rng.normal(0, 8.0, (n_dup, 1, 2))
        k.append(np.where(half[..., None], dk, np.nan))
        s.append(np.where(half, scores[pick] * rng.uniform(0.6, 0.9, (n_dup, 1)), 0.0))
        src.append(-2 - pick)
    kp = np.concatenate(k).astype(np.float32)
    sc = np.concatenate(s).astype(np.float32)
    order = rng.permutation(len(kp))
    kp, sc, who = kp[order], sc[order], np.concatenate(src)[order]
    seen_joint = np.isfinite(kp).all(-1, keepdims=True)
    boxes = np.concatenate([np.where(seen_joint, kp, np.inf).min(1),
                            np.where(seen_joint, kp, -np.inf).max(1)], -1)
    boxes = np.where(np.isfinite(boxes), boxes, 0.0).astype(np.float32)
    return Detections2D(kp, sc, boxes, np.ones(len(kp), np.float32), H36M17,
                        (cam.width, cam.height)), who


def _half(words: tuple[str, ...], keep_if_found: bool) -> np.ndarray:
    found = np.array([any(w in n for w in words) for n in H36M17.joint_names])
    return found if keep_if_found else ~found


_LOWER = ("hip", "knee", "ankle", "pelvis")
_HALVES = np.stack([_half(("left",), True), _half(("right",), True), _half(_LOWER, True),
                    _half(_LOWER, False)])
