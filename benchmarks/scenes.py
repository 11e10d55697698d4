"""Multi-person scenes with 3D truth for bench_multiview_people.py.

A scene: a rig (3, 5 or 8 cameras on a ring from core.synthetic.random_rig, or the demo's
Qualisys rig), P people kept at least MIN_SEPARATION_M apart, each present over one interval of
frames (people enter and leave), and per frame and camera the 2D detections a detector would
give: projection + Gaussian noise (NOISE_PX), a share of confident wrong joints, joints of a
person hidden behind a nearer one (depth order: inside the nearer one's box) returned with a
low score and a larger error, people with too few visible joints not detected at all, and
false detections (Poisson, FALSE_PER_CAMERA per camera and frame): half human-shaped people
that are not there, half partial duplicates of a real detection (one half of the body, a few
pixels off, lower scores). Detections are shuffled within each camera.

Motion: core.synthetic.random_poses (COCO-17), or motion-capture clips (H36M-17 npz written by
pose3d_ros.tools.fetch_mocap) placed at random positions and headings when mocap_dir is given.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose3d_ros.core.camera import Rig
from pose3d_ros.core.layouts import COCO17, H36M17, JointLayout
from pose3d_ros.core.synthetic import observe, random_poses, random_rig
from pose3d_ros.core.types import Detections2D

FPS = 30.0
NOISE_PX = 2.0
OUTLIER_SHARE = 0.02
FALSE_PER_CAMERA = 1.0
MIN_SEPARATION_M = 0.6
MIN_VISIBLE_JOINTS = 6


@dataclass
class Scene:
    """truth (F, P, J, 3) metres, rig frame; present (F, P) bool; detections[f][v];
    sources[f][v]: (D,) who each detection is: person index, -1 a person that is not there,
    -2 - p a partial duplicate of person p."""

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


def make_scene(rig_name: str, num_people: int, frames: int, seed: int, *,
               mocap_dir: str = "") -> Scene:
    rng = np.random.default_rng([seed, num_people, sum(map(ord, rig_name))])
    if rig_name == "demo":
        from pose3d_ros.core.calibration import load_rig
        from pose3d_ros.tools.fetch_demo import calibration_path
        rig, radius = load_rig(calibration_path("single")), 0.8
    else:
        rig, radius = random_rig(int(rig_name), rng), 2.0
    truth, layout = (_mocap_people(Path(mocap_dir), num_people, frames, radius, rng)
                     if mocap_dir else _synthetic_people(num_people, frames, radius, rng))
    present = _presence(frames, num_people, rng)
    frames_out = [_detect(rig, truth[f], present[f], layout, rng) for f in range(frames)]
    return Scene(rig, layout, FPS, truth, present, [d for d, _ in frames_out],
                 [s for _, s in frames_out])


def _separated(poses: np.ndarray) -> bool:
    centre = poses.mean(axis=2)[..., :2]                                  # (F, P, 2)
    d = np.linalg.norm(centre[:, :, None] - centre[:, None], axis=-1)
    d[:, np.arange(d.shape[1]), np.arange(d.shape[1])] = np.inf
    return bool((d >= MIN_SEPARATION_M).all())


def _synthetic_people(num_people, frames, radius, rng):
    for _ in range(200):
        poses = random_poses(frames, num_people, rng, layout=COCO17, area_radius=radius)
        if _separated(poses):
            return poses, COCO17
    raise RuntimeError("could not place the people apart")


def _mocap_people(directory: Path, num_people, frames, radius, rng):
    clips = sorted(directory.glob("*.npz"))
    if not clips:
        raise FileNotFoundError(f"no motion-capture clips (*.npz) in {directory}")
    for _ in range(200):
        people = []
        for _p in range(num_people):
            with np.load(clips[rng.integers(len(clips))]) as data:
                joints, fps = data["joints"], float(data["fps"])
            index = np.minimum((np.arange(frames) * fps / FPS).astype(int), len(joints) - 1)
            start = rng.integers(0, max(1, len(joints) - index[-1]))
            seq = joints[np.minimum(index + start, len(joints) - 1)]
            heading = rng.uniform(0, 2 * np.pi)
            c, s = np.cos(heading), np.sin(heading)
            rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
            seq = (seq - np.r_[seq[0, 0, :2], 0.0]) @ rot.T
            r, a = radius * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
            people.append(seq + np.array([r * np.cos(a), r * np.sin(a), 0.0]))
        poses = np.stack(people, axis=1)
        if _separated(poses):
            return poses, H36M17
    raise RuntimeError("could not place the people apart")


def _presence(frames, num_people, rng):
    present = np.ones((frames, num_people), bool)
    for p in range(num_people):
        if rng.uniform() < 0.5:
            present[: rng.integers(0, frames // 3), p] = False
        if rng.uniform() < 0.5:
            present[rng.integers(2 * frames // 3, frames):, p] = False
    return present


def _detect(rig: Rig, people: np.ndarray, present: np.ndarray, layout: JointLayout,
            rng: np.random.Generator) -> tuple[list[Detections2D], list[np.ndarray]]:
    """Detections of one frame in every camera (module docstring) and their sources."""
    who = np.flatnonzero(present)
    people = people[present]
    obs = observe(rig, people, rng, noise_px=NOISE_PX, outlier_fraction=OUTLIER_SHARE)
    kp, sc = obs.keypoints.copy(), obs.scores.copy()                       # (P, V, J, 2)
    depth = np.stack([people.mean(1) @ cam.R[2] + cam.t[2] for cam in rig.cameras], 1)
    for v in range(len(rig.cameras)):
        _occlude(kp[:, v], sc[:, v], depth[:, v], rng)
    out, sources = [], []
    for v, cam in enumerate(rig.cameras):
        seen = (sc[:, v] >= 0.3).sum(1) >= MIN_VISIBLE_JOINTS
        k, s, src = list(kp[seen, v]), list(sc[seen, v]), list(who[seen])
        for _ in range(rng.poisson(FALSE_PER_CAMERA)):
            fk, fs, fsrc = _false_detection(rig, v, k[:int(seen.sum())], src, layout, rng)
            if fk is not None:
                k.append(fk)
                s.append(fs)
                src.append(fsrc)
        order = rng.permutation(len(k))
        sources.append(np.array(src, int).reshape(-1)[order])
        k = np.array(k, np.float32).reshape(-1, layout.num_joints, 2)[order]
        s = np.array(s, np.float32).reshape(-1, layout.num_joints)[order]
        with np.errstate(invalid="ignore"):
            boxes = np.concatenate([np.nanmin(k, 1), np.nanmax(k, 1)], -1) if len(k) else \
                np.zeros((0, 4), np.float32)
        out.append(Detections2D(k, s, np.nan_to_num(boxes).astype(np.float32),
                                np.ones(len(k), np.float32), layout, (cam.width, cam.height)))
    return out, sources


def _occlude(kp, sc, depth, rng):
    """In place for one camera: joints of a farther person inside a nearer person's (shrunk)
    box get a low score and a 20 px error. kp (P, J, 2), sc (P, J), depth (P,)."""
    with np.errstate(invalid="ignore"):
        low, high = np.nanmin(kp, 1), np.nanmax(kp, 1)                     # (P, 2)
    margin = 0.15 * (high - low)
    low, high = low + margin, high - margin
    inside = ((kp[:, None] >= low[None, :, None]) & (kp[:, None] <= high[None, :, None])).all(-1)
    nearer = depth[None, :] < depth[:, None]                                # (P, Q) q nearer
    hidden = (inside & nearer[..., None]).any(1) & (rng.uniform(size=sc.shape) < 0.8)
    kp[hidden] += rng.normal(0, 20.0, kp[hidden].shape)
    sc[hidden] = rng.uniform(0.05, 0.35, size=int(hidden.sum()))


def _false_detection(rig, v, real, real_sources, layout, rng):
    """A human-shaped person that is not there (source -1), or half of a real detection, a few
    px off (source -2 - person)."""
    cam = rig.cameras[v]
    if real and rng.uniform() < 0.5:
        pick = rng.integers(len(real))
        k = real[pick] + rng.normal(0, 8.0, 2)
        names = layout.joint_names
        half = rng.integers(4)
        keep = np.array([("left" in n, "right" in n, "hip" in n or "knee" in n or "ankle" in n,
                          not ("hip" in n or "knee" in n or "ankle" in n))[half] for n in names])
        k = np.where(keep[:, None], k, np.nan)
        s = np.where(keep, rng.uniform(0.3, 0.7, len(names)), 0.0)
        return k, s, -2 - int(real_sources[pick])
    ghost = random_poses(1, 1, rng, layout=layout if layout.name == COCO17.name else COCO17,
                         area_radius=3.0)[0, 0]
    if layout.name != COCO17.name:
        from pose3d_ros.core.layouts import convert_joints
        ghost = convert_joints(ghost, COCO17, layout)
    k = cam.project(ghost) + rng.normal(0, NOISE_PX, (layout.num_joints, 2))
    inside = np.isfinite(k).all(-1) & (k >= 0).all(-1) & (k < [cam.width, cam.height]).all(-1)
    if inside.sum() < MIN_VISIBLE_JOINTS:
        return None, None, None
    return (np.where(inside[:, None], k, np.nan),
            np.where(inside, rng.uniform(0.4, 0.9, len(k)), 0.0), -1)
