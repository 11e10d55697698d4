"""Per-frame CPU cost of two checkouts' multi-view path, side by side in ONE process.

On a shared machine the speed drifts by 10-30 % between calls of bench_multiview_people.py
--timing; here this checkout's package and another checkout's (e.g. main from `git archive`)
run the same scenes alternately, round after round, so both see the same machine. The other
checkout's `pose3d_ros` package is copied into a temporary directory and imported under another
name (the core uses relative imports only). Both paths of bench_multiview_people.py are timed:
"full" = Pose3DPipeline.process_detections (association with the #14 checks, triangulation with
the left/right correction, completion, tracking), "pre-#14" = associate + triangulate + track.

    git archive main | tar -x -C /tmp/main_tree
    python benchmarks/bench_multiview_cost_ab.py --against /tmp/main_tree [--rounds 10]
    python benchmarks/bench_multiview_cost_ab.py --against /tmp/main_tree --stages
        # CPU ms per frame of each stage of the full path (STAGES), both trees
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import fields, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

if __package__ in (None, ""):  # run as a script from a checkout: use this checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose3d_ros.core.rig_scenes import make_scene  # noqa: E402

OTHER = "pose3d_other"
# (module, function, modules that import it by name): the stages --stages times
STAGES = [("pipeline", "Pose3DPipeline._multi_view", ()),
          ("pipeline", "Pose3DPipeline._finish", ()), ("pipeline", "Pose3DPipeline._undistort", ()),
          ("undistortion", "undistort_cameras", ("pipeline",)),
          ("undistortion", "undistort_stacked", ("pipeline",)),
          ("association", "associate_normalized", ("pipeline",)),
          ("association", "associate_stacked", ("pipeline",)),
          ("ray_affinity", "ray_affinity", ("association",)),
          ("ray_affinity", "stacked_affinity", ("association",)), ("association", "_merge", ()),
          ("group_checks", "replace_by_stronger", ("association",)),
          ("group_checks", "count_unexplained", ("association",)), ("association", "_rejoin", ()),
          ("association", "_groups", ()), ("triangulation", "triangulate_people", ("pipeline",)),
          ("triangulation", "_solve", ()), ("triangulation", "_robust_subset", ()),
          ("triangulation", "unswap_left_right", ()),
          ("left_right", "swapped_against_3d", ("triangulation",)),
          ("triangulation", "_finish_normalized", ()),
          ("completion", "SkeletonCompleter.complete", ()),
          ("completion", "SkeletonCompleter._single_views", ()),
          ("completion", "_ray_at_distance", ()), ("completion", "check_bones", ()),
          ("completion", "refine_with_bones", ()), ("completion", "SkeletonCompleter._match", ())]


def add_against_argument(parser: argparse.ArgumentParser) -> None:
    """--against: the other checkout the side-by-side cost benchmarks compare with."""
    parser.add_argument("--against", required=True,
                        help="the other checkout (a directory holding pose3d_ros/)")


def checkout_error(checkout: Path) -> str | None:
    """One line when `checkout` holds no pose3d_ros package to compare with, else None."""
    if (checkout / "pose3d_ros" / "core" / "pipeline.py").is_file():
        return None
    return f"error: {checkout} holds no pose3d_ros package"


@contextlib.contextmanager
def other_checkout(checkout: Path) -> Iterator[str]:
    """Make another checkout's `pose3d_ros` package importable as OTHER (a copy in a temporary
    directory; the core uses relative imports only) for the duration; yields OTHER."""
    source = checkout / "pose3d_ros"
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(source, Path(tmp) / OTHER, ignore=shutil.ignore_patterns("__pycache__"))
        sys.path.insert(0, tmp)
        try:
            yield OTHER
        finally:
            sys.path.remove(tmp)


def alternate(runs: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Each run once to warm up, then `rounds` rounds of all runs, in turn, every other round
    in reverse order (so a drifting machine weighs on all alike): the seconds each returned."""
    for run in runs.values():
        run()
    out: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(rounds):
        for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
            out[name].append(runs[name]())
    return out


def count_stages(package: str, spent: dict[str, float]) -> None:
    """Wrap the package's STAGES (those it has) to add their CPU seconds to spent[name]."""
    for module, name, users in STAGES:
        try:
            owner: object = importlib.import_module(f"{package}.core.{module}")
        except ImportError:
            continue
        *path, attr = name.split(".")
        for part in path:
            owner = getattr(owner, part)
        inner = getattr(owner, attr, None)
        if inner is None:
            continue

        def timed(*args, _inner=inner, _name=name, **kwargs):
            start = time.process_time()
            try:
                return _inner(*args, **kwargs)
            finally:
                spent[_name] = spent.get(_name, 0.0) + time.process_time() - start
        setattr(owner, attr, timed)
        for user in users:
            setattr(importlib.import_module(f"{package}.core.{user}"), attr, timed)


def own_layouts(package: str, scene) -> list:
    """The scene's detections (frames of per-camera Detections2D) with the package's own
    JointLayout objects: the other checkout's code tells a layout from a (B, 2) bone array by
    its own class (body_model.bone_lengths), and this checkout's layouts are not of it."""
    layouts = importlib.import_module(f"{package}.core.layouts").LAYOUTS
    return [[replace(d, layout=layouts[d.layout.name]) for d in dets]
            for dets in scene.detections]


def own_cameras(package: str, cameras) -> dict:
    """name -> the cameras as the package's own CameraModel objects: its pipeline checks
    the class of the cameras it is given (session 60), and this checkout's are not of it."""
    model = importlib.import_module(f"{package}.core.camera").CameraModel
    return {c.name: model(**{f.name: getattr(c, f.name) for f in fields(c)}) for c in cameras}


def full_path(package: str):
    """CPU seconds of process_detections over a scene (the --timing "after" path)."""
    pipeline = importlib.import_module(f"{package}.core.pipeline")
    converted: dict[int, list] = {}

    def run(scene) -> float:
        frames = converted.setdefault(id(scene), own_layouts(package, scene))
        pipe = pipeline.Pose3DPipeline(
            [c.name for c in scene.rig.cameras], own_cameras(package, scene.rig.cameras),
            frame_id="rig", params=pipeline.PipelineParams(outlier_threshold_px=40.0,
                                                           filtering=None))
        start = time.process_time()
        for f, dets in enumerate(frames):
            pipe.process_detections({c.name: d for c, d in zip(scene.rig.cameras, dets,
                                                               strict=True)}, f / scene.fps)
        return time.process_time() - start
    return run


def pre14_path(package: str):
    """CPU seconds of the pre-#14 path (bench_multiview_people.run_before) over a scene."""
    core = {name: importlib.import_module(f"{package}.core.{name}")
            for name in ("association", "camera", "triangulation", "tracking", "undistortion")}
    converted: dict[int, list] = {}

    def run(scene) -> float:
        arrays = core["camera"].CameraArrays.from_cameras(scene.rig.cameras)
        tracker = core["tracking"].SkeletonTracker()
        frames = converted.setdefault(id(scene), own_layouts(package, scene))
        start = time.process_time()
        for f, dets in enumerate(frames):
            found = [replace(d, keypoints=core["undistortion"].undistort_normalised(c, d.keypoints))
                     for c, d in zip(scene.rig.cameras, dets, strict=True)]
            groups = core["association"].associate_normalized(
                arrays, [d.keypoints for d in found], [d.scores for d in found],
                merge_distance_m=None, prefer_stronger=False)
            kp, sc = core["association"].gather(found, groups)
            res = core["triangulation"].triangulate_normalized(arrays, kp, sc,
                                                               outlier_threshold_px=40.0)
            tracker.update(res.points[np.isfinite(res.points).all(-1).any(-1)], f / scene.fps)
        return time.process_time() - start
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_against_argument(parser)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--rig", default="5")
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--stages", action="store_true",
                        help="time the full path's stages instead (min over rounds)")
    args = parser.parse_args(argv)
    if (error := checkout_error(Path(args.against))) is not None:
        print(error, file=sys.stderr)
        return 2
    warnings.simplefilter("ignore", RuntimeWarning)
    from pose3d_ros.tools.fetch_mocap import load_mocap
    clips = load_mocap()
    scenes = [make_scene(args.rig, args.people, args.frames, seed, clips) for seed in range(2)]
    frames = sum(len(s.detections) for s in scenes)
    with other_checkout(Path(args.against)):
        if args.stages:
            return stages(scenes, frames, args.rounds)
        paths = {"other full": full_path(OTHER), "this full": full_path("pose3d_ros"),
                 "other pre-#14": pre14_path(OTHER), "this pre-#14": pre14_path("pose3d_ros")}
        seconds = alternate({name: (lambda run=run: sum(run(scene) for scene in scenes))
                             for name, run in paths.items()}, args.rounds)
        ms = {name: [1000 * value / frames for value in values]
              for name, values in seconds.items()}
    print(f"{args.rig} cameras x {args.people} people, {frames} frames, {args.rounds} rounds, "
          f"load average {os.getloadavg()[0]:.1f}; ms CPU per frame, min / median / max")
    for name, values in ms.items():
        print(f"  {name:14s} {min(values):.2f} / {np.median(values):.2f} / {max(values):.2f}")
    ratio = np.array(ms["this full"]) / np.array(ms["other full"])
    print(f"  this / other, full path, per round: median {np.median(ratio):.3f} "
          f"({ratio.min():.3f}-{ratio.max():.3f})")
    for tree in ("other", "this"):
        over = np.array(ms[f"{tree} full"]) / np.array(ms[f"{tree} pre-#14"])
        print(f"  {tree} full / {tree} pre-#14: median {np.median(over):.2f} "
              f"({over.min():.2f}-{over.max():.2f})")
    return 0


def stages(scenes: list, frames: int, rounds: int) -> int:
    """Print each stage's CPU ms per frame (min over rounds) for both trees, alternating."""
    spent: dict[str, dict[str, float]] = {OTHER: {}, "pose3d_ros": {}}
    best: dict[str, dict[str, float]] = {OTHER: {}, "pose3d_ros": {}}
    runs = {}
    for package in spent:
        count_stages(package, spent[package])
        runs[package] = full_path(package)
        for scene in scenes:                                               # warm-up
            runs[package](scene)
    for r in range(rounds):
        for package in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
            spent[package].clear()
            total = sum(runs[package](s) for s in scenes)
            for name, seconds in list(spent[package].items()) + [("whole loop", total)]:
                ms = 1000 * seconds / frames
                best[package][name] = min(best[package].get(name, np.inf), ms)
    print(f"stage CPU ms per frame (min of {rounds} rounds; wrapped functions include their "
          f"callees), load average {os.getloadavg()[0]:.1f}")
    print("| stage | other | this | this / other |\n|---|---|---|---|")
    names = sorted(set(best[OTHER]) | set(best["pose3d_ros"]),
                   key=lambda n: -max(best[OTHER].get(n, 0), best["pose3d_ros"].get(n, 0)))
    for name in names:
        a, b = best[OTHER].get(name, np.nan), best["pose3d_ros"].get(name, np.nan)
        print(f"| {name} | {a:.3f} | {b:.3f} | {b / a:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
