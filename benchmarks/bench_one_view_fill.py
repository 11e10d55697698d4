"""How well SkeletonCompleter places a joint that exactly one camera sees (core.completion's
one-view fill: the point on that view's ray at the person's bone length from its parent; of
the two such points, the choice is what this measures).

Two kinds of scene, each person's left wrist and right knee (--hide) hidden from all views
but one:

* real motion capture (core.mocap, the 15 DeepMimic clips): stretches of --frames frames of
  one person, each through its own random 4-camera ring (core.mocap_views.random_ring_rig),
  1 px noise; H36M17 joints;
* synthetic (the test's scenes, core.synthetic): three moving people, four random cameras,
  COCO17 joints, --synthetic seeds (their limbs are never far from straight: random bends
  around the canonical body);
* everyday postures (--static N trials each): the canonical body with both arms (and for
  some, both legs) posed (hands on the hips, a phone to the ear, arms folded, squatting, ...),
  turning slowly in front of a random 4-camera ring, 20 frames per trial.

A joint is hidden for the whole stretch by default, so the track's motion never decides;
--intermittent K hides it in alternate runs of K frames (seen by every view in between), as an
occlusion that comes and goes, where the motion decides while the joint was seen recently.

Prints per clip the one-view joints' error (mean, median, share over 0.1 m) and how long
complete() took per frame. Run it on two trees to compare code (e.g. a `git worktree` of the
commit before): same seeds, same scenes.

    python benchmarks/bench_one_view_fill.py [--clips jump walk] [--rigs 8] [--frames 40]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from pose3d_ros.core.body_model import canonical_pose
from pose3d_ros.core.camera import CameraArrays, Rig
from pose3d_ros.core.completion import SkeletonCompleter
from pose3d_ros.core.layouts import COCO17, H36M17, JointLayout
from pose3d_ros.core.mocap import CLIP_NAMES, load_mocap
from pose3d_ros.core.mocap_views import random_ring_rig
from pose3d_ros.core.synthetic import (
    observe,
    random_poses,
    random_rig,
    rotation_about_z,
)
from pose3d_ros.core.triangulation import triangulate_normalized

HIDDEN = ("left_wrist:1,2,3", "right_knee:0,1,3")
# Everyday postures: the left upper arm's and forearm's directions (body frame of
# body_model.canonical_pose: -x the person's left, +y forward, +z up; the right side mirrored),
# optionally the thigh's and shin's, and how far the body is lowered (m).
POSTURES: dict[str, tuple] = {
    "arms hanging": ((0, 0, -1), (0, 0, -1)),
    "arms folded": ((0, 0.3, -1), (1, 0.25, 0.05)),
    "boxing guard": ((0, 0.5, -0.85), (0.2, 0.3, 1)),
    "hands on hips": ((-0.7, 0, -0.7), (0.7, 0.1, -0.7)),
    "phone to ear": ((-0.2, 0.6, -0.8), (0.3, -0.3, 1)),
    "arms overhead": ((0, 0, 1), (0, 0, 1)),
    "reaching forward": ((0, 1, 0), (0, 1, 0.05)),
    "forearms forward": ((0, 0, -1), (0, 1, 0)),
    "sitting": ((0, 0.3, -1), (0, 1, 0), (0, 1, 0), (0, 0, -1), 0.45),
    "kneeling": ((0, 0, -1), (0, 0, -1), (0, 0, -1), (0, -1, 0.02), 0.44),
    "squatting": ((0, 0.7, -0.7), (0, 1, 0), (0, 1, 0.6), (0, -0.4, -1), 0.6),
}
# ... and the same with the left arm alone posed (the right one hanging): both sides of a
# posture alike favour a rule that copies one arm's bend to the other
for _name in ("arms folded", "hands on hips", "phone to ear", "reaching forward",
              "forearms forward"):
    POSTURES[f"left arm: {_name}"] = POSTURES[_name]


def posture(name: str) -> np.ndarray:
    """(17, 3) COCO17 metres, body frame: the canonical body in POSTURES[name]."""
    body = canonical_pose(COCO17)
    upper, fore, *legs = POSTURES[name]
    sides = (("left", 1.0),) if name.startswith("left arm: ") else (("left", 1.0), ("right", -1.0))
    for side, mirror in sides:
        flip = np.array([mirror, 1.0, 1.0])
        chains = [(("shoulder", "elbow", "wrist"), upper, fore)]
        if legs:
            chains.append((("hip", "knee", "ankle"), legs[0], legs[1]))
        for names, first, second in chains:
            top, mid, end = (COCO17.index(f"{side}_{n}") for n in names)
            lengths = (np.linalg.norm(body[mid] - body[top]), np.linalg.norm(body[end] - body[mid]))
            for (a, b), direction, length in zip(((top, mid), (mid, end)), (first, second),
                                                 lengths, strict=True):
                d = np.asarray(direction, float) * flip
                body[b] = body[a] + length * d / np.linalg.norm(d)
    body[:, 2] -= legs[2] if legs else 0.0
    return body


def _errors(rig: Rig, poses: np.ndarray, layout: JointLayout, rng: np.random.Generator,
            hide: list[tuple[str, list[int]]], period: int = 0) -> tuple[list[float], float]:
    """One-view joint errors (m) over a sequence poses (F, P, J, 3) WORLD metres seen by rig,
    the joints `hide` (name, views) hidden from those views (in every frame, or with period
    > 0 in the frames f with (f // period) odd), and complete()'s mean time per frame (s)."""
    obs = observe(rig, poses, rng, noise_px=1.0)
    xy = np.stack([cam.undistort(obs.keypoints[..., v, :, :])
                   for v, cam in enumerate(rig.cameras)], axis=-3)          # (F, P, V, J, 2)
    scores = obs.scores.copy()
    frames = np.arange(poses.shape[0])
    hidden_frames = frames if period <= 0 else frames[(frames // period) % 2 == 1]
    for name, views in hide:
        j = layout.index(name)
        at = np.ix_(hidden_frames, np.arange(poses.shape[1]), views)
        xy[at + (j,)] = np.nan
        scores[at + (j,)] = 0.0
    cams = CameraArrays.from_cameras(rig.cameras)
    completer = SkeletonCompleter()
    hidden = [layout.index(n) for n, _ in hide]
    errors: list[float] = []
    spent = 0.0
    for f in range(poses.shape[0]):
        tri = triangulate_normalized(cams, xy[f], scores[f], outlier_threshold_px=20.0)
        start = time.perf_counter()
        out = completer.complete(tri.points, tri.num_views, tri.confidence, layout, f / 30,
                                 normalized=xy[f], scores=scores[f], cameras=cams)
        spent += time.perf_counter() - start
        for j in hidden:
            once = out.num_views[:, j] == 1
            errors += np.linalg.norm(out.points[once, j] - poses[f][once, j], axis=-1).tolist()
    return errors, spent / poses.shape[0]


def _row(name: str, errors: list[float], seconds: list[float]) -> str:
    """A table row: errors (m) and complete()'s seconds per frame ('-' where there are none)."""
    e = np.asarray(errors)
    ms = f"{1e3 * np.mean(seconds):.2f}" if seconds else "-"
    if not e.size:
        return f"| {name} | 0 | - | - | - | {ms} |"
    return (f"| {name} | {e.size} | {e.mean():.3f} | {np.median(e):.3f} | "
            f"{100 * (e > 0.1).mean():.0f} | {ms} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="*", default=list(CLIP_NAMES))
    parser.add_argument("--rigs", type=int, default=8, help="stretches (own rig each) per clip")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--synthetic", type=int, default=200, help="synthetic scenes (seeds)")
    parser.add_argument("--static", type=int, default=30, help="trials per everyday posture")
    parser.add_argument("--intermittent", type=int, default=0, metavar="K",
                        help="hide the joints in alternate runs of K frames (default: always)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hide", nargs="*", default=list(HIDDEN),
                        help="joint:views hidden from those views (of 4), default %(default)s")
    args = parser.parse_args()
    hide = [(h.split(":")[0], [int(v) for v in h.split(":")[1].split(",")]) for h in args.hide]

    print("| scene | one-view joints | mean m | median m | > 0.1 m % | complete() ms/frame |")
    print("|---|---|---|---|---|---|")
    every: list[float] = []
    for clip in load_mocap(args.clips):
        rng = np.random.default_rng([args.seed, CLIP_NAMES.index(clip.name)])
        errors: list[float] = []
        seconds: list[float] = []
        for _ in range(args.rigs):
            start = int(rng.integers(0, max(1, clip.num_frames - args.frames)))
            joints = clip.joints[start:start + args.frames].copy()
            joints[..., :2] -= joints[:, :, :2].mean((0, 1))        # stand at the ring's centre
            e, s = _errors(random_ring_rig(4, rng), joints[:, None], H36M17, rng,
                           hide, args.intermittent)
            errors += e
            seconds.append(s)
        every += errors
        print(_row(clip.name, errors, seconds))
    print(_row("**all clips**", every, []))
    errors, seconds = [], []
    per_scene = []
    for seed in range(1, args.synthetic + 1):
        rng = np.random.default_rng(seed)
        rig = random_rig(4, rng)
        e, s = _errors(rig, random_poses(20, 3, rng, layout=COCO17), COCO17, rng, hide,
                       args.intermittent)
        errors += e
        seconds.append(s)
        if e:
            per_scene.append(np.median(e))
    print(_row(f"synthetic x {args.synthetic}", errors, seconds))
    for name in POSTURES if args.static else ():
        errors, seconds = [], []
        for trial in range(args.static):
            rng = np.random.default_rng([args.seed, trial, 7])
            heading = rng.uniform(0, 2 * np.pi) + np.linspace(0, 0.3, 20)          # (F,)
            poses = np.einsum("fij,kj->fki", rotation_about_z(heading), posture(name))[:, None]
            poses[..., :2] += rng.normal(0, 0.3, 2)
            e, s = _errors(random_ring_rig(4, rng), poses, COCO17, rng, hide,
                           args.intermittent)
            errors += e
            seconds.append(s)
        print(_row(f"posture: {name}", errors, seconds))
    if per_scene:
        print(f"\nsynthetic: median of the scenes' medians {np.median(per_scene):.3f} m "
              f"(first 30 scenes {np.median(per_scene[:30]):.3f} m)")


if __name__ == "__main__":
    main()
