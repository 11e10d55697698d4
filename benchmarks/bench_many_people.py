"""Per-person state over a long run among many different people: does anything grow with the
number of people ever seen?

A robot in a hall, shop or hospital sees thousands of different people a day, each for a few
seconds. This drives Pose3DPipeline.process_detections (sped up: stamps at 30 fps, processed
as fast as the CPU goes) with a stream of people entering and leaving, and reports over time
the size of every container the pipeline holds (found by walking its objects: dicts, lists,
deques, sets and numpy arrays, keyed by track id or not), the number of ids given, the process
RSS, and the CPU per frame at the start and at the end of the run.

The stream: a pool of --episodes episodes made once (core/mocap_scenes.py people playing the
real motion capture, projected into a fixed rig with the measured 2D error model and false and
duplicate detections as core/rig_scenes.py makes them); each episode holds --people people,
every one entering and leaving within it (1-4 s each), and episodes follow each other in a
cycle with --gap-s seconds of empty frames between them (longer than every re-identification
window), so every episode's people are new people to the pipeline. The first and the last
pass over the pool see the very same input: their CPU per frame is compared.

Configurations (--config):
  rig    5 cameras on a ring, triangulation, default PipelineParams (tracking, One Euro,
         completion), no monocular method;
  mono   the ring's first camera alone with the lifter (create_monocular_method("lifter")):
         image tracking, lifter windows, root-depth filter, floor contact, upright votes;
  robot  4 cameras on a robot looking outwards (mocap_views.outward_rig) with lone views:
         triangulated and one-camera people, hand-over between them, the lifter.

    python benchmarks/bench_many_people.py --config rig --frames 36000
    python benchmarks/bench_many_people.py --config mono --frames 36000
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
import warnings
from collections import deque
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script from a checkout: use this checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from process_memory import status_mib  # noqa: E402

from pose3d_ros.core.error_model import apply_error_model, person_scale  # noqa: E402
from pose3d_ros.core.floor_contact import FloorParams  # noqa: E402
from pose3d_ros.core.lone_views import LoneViewParams  # noqa: E402
from pose3d_ros.core.mocap_scenes import SceneConfig  # noqa: E402
from pose3d_ros.core.mocap_scenes import make_scene as make_people  # noqa: E402
from pose3d_ros.core.mocap_views import outward_rig, project_scene, random_ring_rig  # noqa: E402
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline  # noqa: E402
from pose3d_ros.core.rig_scenes import _camera_detections  # noqa: E402
from pose3d_ros.core.types import Detections2D  # noqa: E402

FPS = 30.0
MAX_COUNTED_ID = (1 << 22) - 1      # ids published are counted up to this one


def episodes(config: str, count: int, people: int, frames: int, seed: int):
    """(rig, camera names used, [episode: [frame: {camera: Detections2D}]])."""
    from pose3d_ros.tools.fetch_mocap import load_mocap
    clips = load_mocap()
    rng = np.random.default_rng(seed)
    if config == "robot":
        rig, radius, inner = outward_rig(4), 5.0, 1.5
    else:
        rig, radius, inner = random_ring_rig(5, np.random.default_rng(seed)), 2.5, 0.0
    names = [c.name for c in rig.cameras][:1 if config == "mono" else None]
    out = []
    for _ in range(count):
        scene = make_people(clips, rng, SceneConfig(
            num_people=people, fps=FPS, num_frames=frames, area_radius=radius,
            area_inner_radius=inner, enter_leave_probability=1.0, min_presence_s=1.0))
        views = project_scene(rig, scene.joints)
        noisy, conf = apply_error_model(views.keypoints, rng, visible=views.visible,
                                        scale=person_scale(views.keypoints), frames_axis=0,
                                        fps=FPS)
        pool = views.keypoints[np.isfinite(views.keypoints).all((-1, -2))]
        episode = []
        for f in range(frames):
            episode.append({name: _camera_detections(rig, v, noisy[f, :, v], conf[f, :, v],
                                                     pool, rng)[0]
                            for v, name in enumerate(names)})
        out.append(episode)
    return rig, names, out


def make_pipeline(config: str, rig, names: list[str]) -> Pose3DPipeline:
    cams = {c.name: c for c in rig.cameras if c.name in names}
    if config == "rig":
        return Pose3DPipeline(names, cams, frame_id="world", params=PipelineParams())
    from pose3d_ros.core.monocular import create_monocular_method
    if config == "mono":
        return Pose3DPipeline(names, cams, frame_id="world",
                              params=PipelineParams(output_layout="h36m17",
                                                    floor=FloorParams()),
                              lifter=create_monocular_method("lifter"))
    return Pose3DPipeline(names, cams, frame_id="world",
                          params=PipelineParams(output_layout="h36m17",
                                                lone_views=LoneViewParams()),
                          lifter=create_monocular_method("lifter"))


_LEAVES = (str, bytes, int, float, bool, type(None), np.generic)


def containers(root, name: str = "pipe", depth: int = 0, seen: set | None = None,
               out: dict | None = None) -> dict[str, int]:
    """path -> size (len, or an array's first dimension) of every container reachable from
    root through object attributes, dicts, lists and deques (torch modules and functions
    skipped). Dict entries holding objects are walked as name[*] (sizes summed over them)."""
    seen = set() if seen is None else seen
    out = {} if out is None else out
    if depth > 8 or id(root) in seen or isinstance(root, _LEAVES):
        return out
    seen.add(id(root))
    if isinstance(root, np.ndarray):
        if root.ndim:
            out[name] = out.get(name, 0) + int(root.shape[0])
        return out
    if isinstance(root, (dict, list, tuple, deque, set, frozenset)):
        if not isinstance(root, tuple):
            out[name] = out.get(name, 0) + len(root)
        items = root.values() if isinstance(root, dict) else root
        if not isinstance(root, (set, frozenset)):
            for item in list(items)[:10_000]:
                containers(item, f"{name}[*]", depth + 1, seen, out)
        return out
    module = type(root).__module__ or ""
    if module.startswith(("torch", "onnxruntime", "concurrent", "threading", "builtins")):
        return out
    if callable(root) and not hasattr(root, "__dict__"):
        return out
    attrs = getattr(root, "__dict__", None)
    if attrs is None and hasattr(type(root), "__slots__"):
        attrs = {s: getattr(root, s, None) for s in type(root).__slots__}
    for key, value in (attrs or {}).items():
        containers(value, f"{name}.{key}", depth + 1, seen, out)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=("rig", "mono", "robot"), default="rig")
    parser.add_argument("--frames", type=int, default=36_000, help="frames processed")
    parser.add_argument("--episodes", type=int, default=12, help="episodes in the pool")
    parser.add_argument("--people", type=int, default=10, help="people per episode")
    parser.add_argument("--episode-s", type=float, default=5.0)
    parser.add_argument("--gap-s", type=float, default=2.5,
                        help="empty frames between episodes (s): longer than the re-id windows")
    parser.add_argument("--rows", type=int, default=8, help="table rows over the run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample-every", type=int, default=15,
                        help="frames between two walks of the containers (each row shows the "
                             "largest size sampled since the row before)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)
    t0 = time.perf_counter()
    rig, names, pool = episodes(args.config, args.episodes, args.people,
                                int(args.episode_s * FPS), args.seed)
    gap = int(args.gap_s * FPS)
    empty = {name: Detections2D.empty(pool[0][0][name].layout, pool[0][0][name].image_size)
             for name in names}
    cycle = [frame for episode in pool for frame in episode + [empty] * gap]
    print(f"# config {args.config}: {len(names)} camera(s), pool of {len(pool)} episodes x "
          f"{args.people} people, cycle {len(cycle)} frames ({len(cycle) / FPS:.0f} s); "
          f"made in {time.perf_counter() - t0:.0f} s", flush=True)
    pipe = make_pipeline(args.config, rig, names)
    checkpoints = sorted({int(round(args.frames * k / args.rows)) for k in
                          range(1, args.rows + 1)} | {len(cycle)})
    rows, cpu, ids_max, people_frames = [], np.zeros(args.frames), 0, 0
    peak: dict[str, int] = {}
    low: dict[str, int] = {}       # the smallest size sampled over the run
    # ids published (people shown, ghosts included): a preallocated, touched bitmap, so that
    # the bench's own bookkeeping does not grow the RSS it measures (a set of 6,000 ids: 0.3 MiB)
    published = np.zeros(MAX_COUNTED_ID + 1, bool)
    published[:] = False
    cpu.fill(0.0)                  # (written now: np.zeros' pages became resident as it filled)
    first = pipe.process_detections(cycle[0], 0.0)             # (warm-up: lifter load)
    del first
    gc.collect()
    rss0 = status_mib("VmRSS")[0]
    for f in range(args.frames):
        c0 = time.process_time()
        result = pipe.process_detections(cycle[f % len(cycle)], (f + 1) / FPS)
        cpu[f] = time.process_time() - c0
        ids = result.skeletons.ids
        if len(ids):
            published[np.minimum(ids, MAX_COUNTED_ID)] = True
            ids_max = max(ids_max, int(ids.max()))
            people_frames += len(ids)
        if (f + 1) % args.sample_every == 0 or f + 1 in checkpoints:
            for key, size in containers(pipe).items():      # the largest since the last row
                peak[key] = max(peak.get(key, 0), size)
                low[key] = min(low.get(key, size), size)
        if f + 1 in checkpoints:
            gc.collect()
            stats = pipe.tracker_stats
            rows.append((f + 1, status_mib("VmRSS")[0] - rss0, ids_max,
                         f"{stats.tracks_started} / {int(published.sum())}",
                         cpu[max(0, f + 1 - len(cycle)):f + 1].mean() * 1e3, peak))
            peak = {}
            print(f"  frame {f + 1}: rss +{rows[-1][1]:.1f} MiB, max id {ids_max}, "
                  f"tracks started / ids published {rows[-1][3]}", flush=True)
    # containers whose size moved during the run (the others are fixed: cameras, layouts);
    # "x[*]" sums the items of x (rings of a per-id dict): left out, x itself counts the ids
    keys = sorted({k for r in rows for k in r[-1] if not k.endswith("[*]")})
    moving = [k for k in keys if low.get(k, 0) != max(r[-1].get(k, 0) for r in rows)]
    groups: dict[str, list[str]] = {}
    for key in moving:      # one column per object: the largest of its containers
        owner = key.rpartition(".")[0]
        groups.setdefault(key if owner == "pipe" else owner, []).append(key)
    print(f"\n## {args.config}: {args.frames} frames ({args.frames / FPS / 60:.0f} min at 30 fps),"
          f" {people_frames} person-frames published")
    print("(per-person state: the largest size sampled since the row before, entries or an "
          "array's rows; an object's column is its largest container)")
    print("| frame | hours at 30 fps | RSS delta (MiB) | CPU ms/frame, last cycle | max id | "
          "tracks started / ids published | "
          + " | ".join(g.removeprefix("pipe.") for g in groups) + " |")
    print("|" + "---|" * (6 + len(groups)))
    for frame, rss, top, started, ms, sizes in rows:
        print(f"| {frame} | {frame / FPS / 3600:.2f} | {rss:+.1f} | {ms:.2f} | {top} | {started} | "
              + " | ".join(str(max(sizes.get(k, 0) for k in g)) for g in groups.values())
              + " |")
    grew = [k for k in moving if rows[-1][-1].get(k, 0) > max(r[-1].get(k, 0) for r in rows[:2])]
    print(f"\ncontainers walked: {len(keys)}; moving: {len(moving)}; larger in the last row "
          f"than in both first rows: {grew or 'none'}")
    n = len(cycle)
    passes = args.frames // n
    if passes >= 3:    # (the first pass also pays the warm-up of caches and allocations)
        a, b, c = (cpu[k * n:(k + 1) * n].mean() * 1e3 for k in (0, 1, passes - 1))
        print(f"\nCPU per frame, the same input each pass: pass 1 {a:.2f} ms, pass 2 {b:.2f} ms, "
              f"pass {passes} {c:.2f} ms ({(c / b - 1) * 100:+.0f} % from pass 2); people "
              f"seen by the end: {passes * len(pool) * args.people}")

if __name__ == "__main__":
    main()
