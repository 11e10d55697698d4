"""Hand-over on a robot whose cameras look outwards: what a consumer sees when a person passes
from one camera alone (a lone view, placed by the lifter) into an overlap (triangulated) and on
into the next camera alone.

The in-house robot scenes (core/rig_scenes.py "robot": 90-degree lenses back to back, no
overlap; "robot_wide": 120 degrees, neighbours 0.2 m apart share the corners but do not measure
their depth; "robot_large": 120 degrees 0.7 m apart, the corners triangulated; real motion
capture, 2D error model, false and duplicate detections) through Pose3DPipeline with lone views, as
bench_multiview_people.run_lone runs it (filtering off unless --filtering). Each frame the
published people are matched to the true people by pelvis (Hungarian, within --gate m). Per true
person, the published state of a frame is "tri" (triangulated), "lone" (one view; its camera:
the visible camera on whose viewing ray of the true pelvis the published pelvis lies) or none.
A transition is a change of state between two published frames of that person (none frames
between them are the drop). Reported per transition kind: count, id kept, frames dropped, and
the pelvis jump |d published - d truth| (m) across it, against the same figure between two
frames of one state ("steady"). "Twice": person-frames with a second, unmatched published
pelvis within --gate of the person and nearer to them than to anyone else.
    python benchmarks/bench_handover.py [--frames 150] [--seeds 4] [--people 1,2,4]
"""
from __future__ import annotations

import argparse
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose3d_ros.core.filtering import OneEuroParams  # noqa: E402
from pose3d_ros.core.floor_contact import FloorParams  # noqa: E402
from pose3d_ros.core.lone_views import LoneViewParams  # noqa: E402
from pose3d_ros.core.monocular import create_monocular_method  # noqa: E402
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline  # noqa: E402
from pose3d_ros.core.rig_scenes import Scene, make_scene  # noqa: E402
from pose3d_ros.core.types import METHOD_TRIANGULATION  # noqa: E402

# the scenes' floor: z = 0 of the motion capture's world, the rig's frame; the ankle joint of
# the motion-capture body stands 0.055 m above it (floor_contact.FloorParams)
SCENE_FLOOR = FloorParams(height_m=0.0, ankle_height_m=0.055)


def published(scene: Scene, filtering: bool, floor: bool = False) -> list:
    """Per frame (pelvis (P, 3), ids (P,), triangulated (P,) bool) of the full path with lone
    views; a person without a pelvis: the centre of their joints. floor: lone people's
    distances from the floor (monocular_floor) instead of from body size alone."""
    pipe = Pose3DPipeline([c.name for c in scene.rig.cameras],
                          {c.name: c for c in scene.rig.cameras}, frame_id="rig",
                          params=PipelineParams(filtering=OneEuroParams() if filtering else None,
                                                output_layout="h36m17",
                                                lone_views=LoneViewParams(),
                                                floor=SCENE_FLOOR if floor else None),
                          lifter=create_monocular_method("lifter"))
    out = []
    for f, dets in enumerate(scene.detections):
        s = pipe.process_detections({c.name: d for c, d in zip(scene.rig.cameras, dets,
                                                               strict=True)},
                                    f / scene.fps).skeletons
        # the pelvis, or where it is missing (a triangulated person of a few joints) the
        # centre of the joints there are
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            centre = np.nanmean(s.positions, axis=1)
        out.append((np.where(np.isfinite(s.positions[:, 0]), s.positions[:, 0], centre), s.ids,
                    s.methods() == METHOD_TRIANGULATION))
    return out


def _rays(point: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(V, 3) unit directions from each camera centre (V, 3) to point (3,)."""
    rel = point - centres
    return rel / np.linalg.norm(rel, axis=-1, keepdims=True)


def transitions(scene: Scene, frames: list, gate: float
                ) -> tuple[list, np.ndarray, np.ndarray]:
    """(kind, id kept, frames dropped, of them frames with a detection of the person, pelvis
    jump m) per transition and steady step of every
    true person, (F, P) how many unmatched published pelvises lie near each present person
    (nearer to them than to anyone else present), and the pelvis error (m) of every
    person-frame published from one camera (lone)."""
    centres = np.array([c.center for c in scene.rig.cameras])                   # (V, 3)
    f_count, p_count = scene.present.shape
    state = np.full((f_count, p_count), "", object)
    pelvis = np.full((f_count, p_count, 3), np.nan)
    ident = np.full((f_count, p_count), -1)
    twice = np.zeros((f_count, p_count), int)
    for f, (pub, ids, tri) in enumerate(frames):
        present = np.flatnonzero(scene.present[f])
        if not len(present) or not len(pub):
            continue
        truth = scene.truth[f, present, 0]
        gap = np.linalg.norm(pub[:, None] - truth[None], axis=-1)
        gap = np.where(np.isfinite(gap), gap, 1e3)
        rows, cols = linear_sum_assignment(gap)
        matched = np.zeros(len(pub), bool)
        for i, j in zip(rows, cols, strict=True):
            if gap[i, j] > gate:
                continue
            matched[i] = True
            p = present[j]
            pelvis[f, p], ident[f, p] = pub[i], ids[i]
            if tri[i]:
                state[f, p] = "tri"
            else:   # the camera on whose ray of the true pelvis the published one lies
                seen = [v for v in range(len(centres)) if (scene.sources[f][v] == p).any()]
                cam = seen[int(np.argmax((_rays(pub[i], centres[seen])
                                          * _rays(truth[j], centres[seen])).sum(-1)))] \
                    if seen else -1
                state[f, p] = f"lone{cam}"
        for i in np.flatnonzero(~matched):
            j = int(np.argmin(gap[i]))
            if gap[i, j] <= gate:
                twice[f, present[j]] += 1
    events = []
    for p in range(p_count):
        shown = np.flatnonzero(state[:, p] != "")
        for a, b in zip(shown[:-1], shown[1:], strict=True):
            if not scene.present[a:b + 1, p].all():
                continue                           # left the scene between: not a hand-over
            sa, sb = state[a, p], state[b, p]
            kind = ("steady " + sa[:4] if sa == sb else
                    f"{sa[:4]} -> {sb[:4]}" if sa[:4] != sb[:4] else "lone A -> lone B")
            moved = (pelvis[b, p] - pelvis[a, p]) - (scene.truth[b, p, 0] - scene.truth[a, p, 0])
            seen = sum((scene.sources[f][v] == p).any() for f in range(a + 1, b)
                       for v in range(len(centres)))
            events.append((kind, ident[a, p] == ident[b, p], b - a - 1, seen,
                           float(np.linalg.norm(moved)), p, a, b))
    lone = np.char.startswith(state.astype(str), "lone")
    lone_error = np.linalg.norm(pelvis[lone] - scene.truth[:, :, 0][lone], axis=-1)
    return events, twice, lone_error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rigs", default="robot,robot_wide,robot_large")
    parser.add_argument("--people", default="1,2,4")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--gate", type=float, default=1.5,
                        help="published pelvis within this of a true one is that person (m)")
    parser.add_argument("--filtering", action="store_true",
                        help="the default One Euro smoothing on, as the nodes publish")
    parser.add_argument("--floor", action="store_true",
                        help="lone people's distances from the floor (monocular_floor at the "
                             "scenes' z = 0) instead of from body size alone")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)
    from pose3d_ros.tools.fetch_mocap import load_mocap
    clips = load_mocap()
    for rig in args.rigs.split(","):
        events: dict[str, list] = defaultdict(list)
        twice = np.zeros(3, int)       # person-frames seen by 1 / 2+ cameras, published twice
        shown = np.zeros(3, int)
        lone_errors = []
        for people in map(int, args.people.split(",")):
            for seed in range(args.seeds):
                scene = make_scene(rig, people, args.frames, seed, clips)
                found, doubled, lone_error = transitions(
                    scene, published(scene, args.filtering, args.floor), args.gate)
                lone_errors.append(lone_error)
                for kind, *figures in found:
                    events[kind].append(figures[:4])
                views = np.array([[(scene.sources[f][v] == p).any()
                                   for v in range(len(scene.rig.cameras))]
                                  for f in range(scene.num_frames)
                                  for p in range(scene.present.shape[1])]).sum(1)
                views = np.minimum(views.reshape(scene.present.shape), 2)
                for k in (1, 2):
                    on = scene.present & (views == k)
                    shown[k] += on.sum()
                    twice[k] += (doubled[on] > 0).sum()
        print(f"\n{rig} ({args.people} people, {args.seeds} seeds x {args.frames} frames, "
              f"filtering {'on' if args.filtering else 'off'}, "
              f"{'floor' if args.floor else 'body size'})")
        print("| transition | count | id kept % | frames dropped mean / max | of them seen by a "
              "camera | pelvis jump m median / p90 / max |\n|---|---|---|---|---|---|")
        for kind in sorted(events):
            e = np.array(events[kind], float)
            print(f"| {kind} | {len(e)} | {100 * e[:, 0].mean():.0f} | {e[:, 1].mean():.2f} / "
                  f"{e[:, 1].max():.0f} | {e[:, 2].sum():.0f} | {np.median(e[:, 3]):.2f} / "
                  f"{np.percentile(e[:, 3], 90):.2f} / {e[:, 3].max():.2f} |")
        print(f"published twice: {twice[1]} of {shown[1]} person-frames seen by one camera, "
              f"{twice[2]} of {shown[2]} seen by two or more")
        error = np.concatenate(lone_errors)
        print(f"pelvis error of the {error.size} person-frames published from one camera: "
              f"median {np.median(error):.2f} m, p90 {np.percentile(error, 90):.2f} m")
    return 0


if __name__ == "__main__":
    sys.exit(main())
