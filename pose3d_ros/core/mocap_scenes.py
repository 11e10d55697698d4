"""Scenes of several people moving together, made from the real motion capture (core/mocap.py).

Everything is in the mocap WORLD frame (z up, x forward, y left, metres, floor z = 0), H36M17
joint order, vectorised over frames and people, and seeded by a numpy Generator.

API
    clips = load_mocap()                            # core/mocap.py: list[MocapClip]
    scene = make_scene(clips, rng, SceneConfig(num_people=3, fps=30.0, num_frames=150))
    scene.joints (F, P, 17, 3) metres, NaN while a person is absent; scene.present (F, P)
    motion, stature_m, mirrored = person_motion(clip, rng, num_frames, fps, MotionAugment())
                                                    # motion (F, 17, 3) metres
    Lower-level pieces, each on arrays:
    resample(joints, src_fps, dst_fps, num_frames, speed=1.0)  time warp by interpolation
    loop_motion(joints, num_frames, cyclic)       longer than the clip: cycles or ping-pong
    mirror_left_right(joints)                     y -> -y and left/right labels swapped
    with_bone_lengths(joints, lengths)            same bone directions, new lengths
                                                  (lifting.root_placement)
Projection into cameras, visibility and occlusion: core/mocap_views.py.

A person's motion: one clip, looped to the scene's length (clips whose DeepMimic "Loop" is
"wrap" repeat cycle after cycle, each cycle placed where the last ended and the seam blended
over BLEND_FRAMES; the others play forwards then backwards), time-warped to the scene rate
with a random speed factor, optionally mirrored, scaled to a random stature and with bone
proportions jittered, then turned about z and placed in the area. Bone lengths stay exact
through interpolation (linear interpolation shortens bones; with_bone_lengths restores them).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .body_model import bone_lengths, with_bone_lengths
from .layouts import H36M17
from .left_right import mirror_index
from .mocap import STATURE_M, MocapClip

# H36M17 joint index of each joint's mirror image (left <-> right).
MIRROR_INDEX = mirror_index(H36M17)
# Clips whose DeepMimic files say Loop "wrap": the last frame leads back into the first.
CYCLIC_CLIPS = frozenset({"backflip", "cartwheel", "crawl", "dance_a", "dance_b", "jump",
                          "roll", "run", "spin", "spinkick", "walk"})
BLEND_FRAMES = 6  # frames over which a cycle seam's jump is spread (clip rate)
_PELVIS = H36M17.index("pelvis")


def _bone_index(a: str, b: str) -> int:
    return H36M17.bones.index((H36M17.index(a), H36M17.index(b)))


# Bones whose lengths change together under proportion jitter (both sides of a limb alike:
# people are nearly symmetric; the torso's two halves alike).
PROPORTION_GROUPS = tuple(tuple(_bone_index(a, b) for a, b in group) for group in (
    (("pelvis", "left_hip"), ("pelvis", "right_hip")),
    (("left_hip", "left_knee"), ("right_hip", "right_knee")),
    (("left_knee", "left_ankle"), ("right_knee", "right_ankle")),
    (("pelvis", "spine"), ("spine", "thorax")),
    (("thorax", "nose"),), (("nose", "head"),),
    (("thorax", "left_shoulder"), ("thorax", "right_shoulder")),
    (("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow")),
    (("left_elbow", "left_wrist"), ("right_elbow", "right_wrist")),
))
_ANKLES = H36M17.indices(("left_ankle", "right_ankle"))


@dataclass(frozen=True)
class MotionAugment:
    """How one person's motion is varied (all ranges uniform, inclusive).

    speed: time-warp factor (1 = the clip's own pace; 1.2 = 20 % faster).
    mirror_probability: chance of a left/right mirrored motion.
    stature_m: the person's height; the body and its path are scaled by stature / STATURE_M.
    proportion_jitter: per-limb length factor 1 +- this (both sides of a limb alike).
    """

    speed: tuple[float, float] = (0.8, 1.25)
    mirror_probability: float = 0.5
    stature_m: tuple[float, float] = (1.50, 1.95)
    proportion_jitter: float = 0.06


@dataclass(frozen=True)
class SceneConfig:
    """A scene: num_people people for num_frames frames at fps, their paths centred in a
    disc of area_radius m around area_centre (x, y metres; for a real rig, e.g. the xy of
    mocap_views.rig_look_point(rig)), outside the inner disc of area_inner_radius (a robot
    whose cameras look outwards stands there).

    min_separation_m: pelvis distance kept between any two people at every frame (placement
    is retried up to 50 times, then the last try is kept). enter_leave_probability: chance
    that a person is absent at the start and/or end (entering after or leaving before at
    least min_presence_s of presence). clip_names: clips to draw from (default: all given).
    """

    num_people: int = 2
    fps: float = 30.0
    num_frames: int = 150
    area_radius: float = 2.5
    area_centre: tuple[float, float] = (0.0, 0.0)
    area_inner_radius: float = 0.0
    min_separation_m: float = 0.7
    enter_leave_probability: float = 0.3
    min_presence_s: float = 1.0
    clip_names: tuple[str, ...] | None = None
    augment: MotionAugment = field(default_factory=MotionAugment)


@dataclass(frozen=True)
class Scene:
    """People moving in the WORLD frame.

    joints: (F, P, 17, 3) metres, H36M17 order; NaN where present is False.
    present: (F, P) bool. fps: frame rate (Hz). clip_names: (P,) the clip each person plays.
    statures_m: (P,) each person's height. mirrored: (P,) bool.
    """

    joints: np.ndarray
    present: np.ndarray
    fps: float
    clip_names: tuple[str, ...]
    statures_m: np.ndarray
    mirrored: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.joints.shape[0])

    @property
    def num_people(self) -> int:
        return int(self.joints.shape[1])


def mirror_left_right(joints: np.ndarray) -> np.ndarray:
    """(..., 17, 3) WORLD joints -> the mirror motion: y negated, left/right joints swapped."""
    out = joints[..., MIRROR_INDEX, :].copy()
    out[..., 1] *= -1.0
    return out


def resample(joints: np.ndarray, src_fps: float, dst_fps: float, num_frames: int,
             speed: float = 1.0) -> np.ndarray:
    """Time warp: frames k = 0..num_frames-1 at time k / dst_fps * speed of a (F, 17, 3)
    motion sampled at src_fps, linearly interpolated, bone lengths restored (mean of the
    clip's). Needs (num_frames - 1) * speed / dst_fps <= (F - 1) / src_fps."""
    if src_fps <= 0 or dst_fps <= 0 or speed <= 0:
        raise ValueError(f"rates and speed must be positive: {src_fps}, {dst_fps}, {speed}")
    pos = np.arange(num_frames) * (speed * src_fps / dst_fps)
    if pos[-1] > joints.shape[0] - 1 + 1e-9:
        raise ValueError(f"{num_frames} frames at speed {speed} need {pos[-1] + 1:.1f} source "
                         f"frames, the motion has {joints.shape[0]}")
    lo = np.minimum(np.floor(pos).astype(int), joints.shape[0] - 2)
    w = (pos - lo)[:, None, None]
    mixed = joints[lo] * (1 - w) + joints[lo + 1] * w
    return with_bone_lengths(mixed, np.nanmean(bone_lengths(joints), axis=0))


def _yaw_alignment(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation about z (3, 3) and shift (3,) (z part 0) best mapping the xy of src (J, 3)
    onto dst (J, 3) in the least-squares sense."""
    a = src[:, :2] - src[:, :2].mean(0)
    b = dst[:, :2] - dst[:, :2].mean(0)
    ang = np.arctan2(np.sum(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]), np.sum(a * b))
    c, s = np.cos(ang), np.sin(ang)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    shift = np.zeros(3)
    shift[:2] = dst[:, :2].mean(0) - (src @ rot.T)[:, :2].mean(0)
    return rot, shift


def loop_motion(joints: np.ndarray, num_frames: int, cyclic: bool) -> np.ndarray:
    """(F, 17, 3) motion extended (or cut) to (num_frames, 17, 3) without jumps.

    cyclic: each next cycle is turned and shifted so that its first frame continues the last
    cycle's motion (position extrapolated by one frame), the remaining seam offset fading out
    over BLEND_FRAMES frames, bone lengths restored. Not cyclic: forwards, backwards, ...
    """
    f = joints.shape[0]
    if num_frames <= f:
        return joints[:num_frames].copy()
    if not cyclic:
        period = np.concatenate([np.arange(f), np.arange(f - 2, 0, -1)])
        return joints[np.resize(period, num_frames)]
    lengths = np.nanmean(bone_lengths(joints), axis=0)
    cycle = joints[1:]  # frame 0 of a new cycle continues the last frame of the previous one
    fade = np.clip(1.0 - np.arange(cycle.shape[0]) / BLEND_FRAMES, 0.0, 1.0)[:, None, None]
    parts = [joints]
    total = f
    while total < num_frames:
        last = parts[-1]
        expected = 2 * last[-1] - last[-2]  # the next frame if the motion went on
        rot, shift = _yaw_alignment(joints[0], last[-1])
        placed = cycle @ rot.T + shift
        placed = placed + fade * (expected - placed[0])
        parts.append(with_bone_lengths(placed, lengths))
        total += cycle.shape[0]
    return np.concatenate(parts)[:num_frames]


def person_motion(clip: MocapClip, rng: np.random.Generator, num_frames: int, fps: float,
                  augment: MotionAugment = MotionAugment()) -> tuple[np.ndarray, float, bool]:
    """One augmented performance of a clip: (num_frames, 17, 3) WORLD joints at fps, starting
    at a random phase, with pelvis start over the origin; also the stature (m) and whether it
    was mirrored. Random speed, mirroring, stature and limb proportions per `augment`."""
    speed = rng.uniform(*augment.speed)
    need = int(np.ceil((num_frames - 1) * speed * clip.fps / fps)) + 2
    offset = int(rng.integers(0, clip.num_frames))
    extended = loop_motion(clip.joints, need + offset, clip.name in CYCLIC_CLIPS)[offset:]
    joints = resample(extended, clip.fps, fps, num_frames, speed)
    mirrored = bool(rng.uniform() < augment.mirror_probability)
    if mirrored:
        joints = mirror_left_right(joints)
    stature = rng.uniform(*augment.stature_m)
    anchor = np.array([joints[0, _PELVIS, 0], joints[0, _PELVIS, 1], 0.0])
    joints = (joints - anchor) * (stature / STATURE_M)
    if augment.proportion_jitter > 0:
        floor = np.nanmin(joints[:, _ANKLES, 2])
        factor = 1 + rng.uniform(-augment.proportion_jitter, augment.proportion_jitter,
                                 size=len(PROPORTION_GROUPS))
        per_bone = np.ones(len(H36M17.bones))
        for group, value in zip(PROPORTION_GROUPS, factor, strict=True):
            per_bone[list(group)] = value
        joints = with_bone_lengths(joints, np.nanmean(bone_lengths(joints), axis=0) * per_bone)
        joints[..., 2] += floor - np.nanmin(joints[:, _ANKLES, 2])  # feet back on the floor
    return joints, float(stature), mirrored


def _presence(rng: np.random.Generator, config: SceneConfig) -> np.ndarray:
    """(F,) bool: a person present over one interval, possibly entering late / leaving early."""
    f = config.num_frames
    keep = min(f, max(1, int(round(config.min_presence_s * config.fps))))
    start, end = 0, f
    if rng.uniform() < config.enter_leave_probability:
        start = int(rng.integers(0, f - keep + 1))
        end = int(rng.integers(start + keep, f + 1))
    present = np.zeros(f, bool)
    present[start:end] = True
    return present


def _place(motion: np.ndarray, rng: np.random.Generator, radius: float,
           centre_xy: tuple[float, float], inner_radius: float = 0.0) -> np.ndarray:
    """Turn a (F, 17, 3) motion about z by a random yaw and put its path's centre at a random
    point of the disc of `radius` around centre_xy (uniform over its area), outside the
    inner disc of `inner_radius` (e.g. where the robot carrying the cameras stands)."""
    yaw = rng.uniform(0, 2 * np.pi)
    c, s = np.cos(yaw), np.sin(yaw)
    turned = motion @ np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]).T
    centre = np.nanmean(turned[:, _PELVIS, :2], axis=0)
    r = radius * np.sqrt(rng.uniform((inner_radius / radius) ** 2, 1.0))
    a = rng.uniform(0, 2 * np.pi)
    target = np.array([r * np.cos(a), r * np.sin(a)]) + centre_xy
    turned[..., :2] += target - centre
    return turned


def make_scene(clips: list[MocapClip], rng: np.random.Generator,
               config: SceneConfig = SceneConfig()) -> Scene:
    """A scene of config.num_people people, each playing a random clip (see module doc)."""
    pool = [c for c in clips if config.clip_names is None or c.name in config.clip_names]
    if not pool:
        raise ValueError(f"no clip to draw from (given {[c.name for c in clips]}, "
                         f"wanted {config.clip_names})")
    if config.num_people < 1 or config.num_frames < 2 or config.fps <= 0:
        raise ValueError(f"scene needs people >= 1, frames >= 2, fps > 0: {config}")
    f, p = config.num_frames, config.num_people
    joints = np.full((f, p, H36M17.num_joints, 3), np.nan)
    present = np.zeros((f, p), bool)
    names, statures, mirrored = [], np.zeros(p), np.zeros(p, bool)
    for i in range(p):  # people are few; each is vectorised over frames and joints
        clip = pool[int(rng.integers(len(pool)))]
        motion, statures[i], mirrored[i] = person_motion(clip, rng, f, config.fps,
                                                         config.augment)
        mask = _presence(rng, config)
        for _ in range(50):
            placed = _place(motion, rng, config.area_radius, config.area_centre,
                            config.area_inner_radius)
            others = joints[:, :i, _PELVIS, :2]  # (F, i, 2), NaN where absent
            gap = np.linalg.norm(others - placed[:, None, _PELVIS, :2], axis=-1)
            gap = np.where(present[:, :i] & mask[:, None], gap, np.inf)
            if gap.size == 0 or gap.min() >= config.min_separation_m:
                break
        joints[mask, i] = placed[mask]
        present[:, i] = mask
        names.append(clip.name)
    return Scene(joints, present, config.fps, tuple(names), statures, mirrored)
