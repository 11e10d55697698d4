"""The smoothing filter's lag against its jitter, on scenes with 3D ground truth.

The One Euro filter (core.filtering.SkeletonFilter, the last stage of the 3D path) trades lag
(a moving joint published behind where it is: MPJPE up) against jitter (a still joint
published moving: velocity and acceleration errors up). Measured on the in-house multi-person
scenes (core.rig_scenes: the real motion capture through virtual rigs, the 2D error model
measured from the package's detector): the multi-view path (Pose3DPipeline) runs once per
scene without filtering, then each candidate filter runs on the people and ids it published
(nothing before the filter sees its output, so this is the pipeline with that filter but for
one detail: the pipeline drops joints that end a bone no human has after its filter, which
then still holds their raw value; a review measured the difference at 0.5:7: walkers 74.19 vs
74.30 mm, still-pose velocity error 0.562 vs 0.568 m/s) and is scored against the truth:
MPJPE (mm), Campus/Shelf PCP (%), velocity error (m/s) and acceleration error (m/s^2) of the
people matched to the truth (core.metrics.matched_to_reference).
Three motion sets: every clip ("all": walks, kicks, cartwheels, ...), walking and running
("walk, run"), and one pose held still ("still": the walk clip's first frame; no motion, so its
velocity error is the jitter itself).

    python benchmarks/bench_smoothing.py [--rows 3x1,5x4,...] [--frames 90] [--seeds 2]
        [--candidates 1:2 0.5:7 0.3:10:0.5 ...]  # min_cutoff_hz:beta (s/m)[:d_cutoff_hz]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script from a checkout: use this checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_multiview_people import THRESHOLD_PX, score  # noqa: E402

from pose3d_ros.core.filtering import OneEuroParams, SkeletonFilter  # noqa: E402
from pose3d_ros.core.metrics import (  # noqa: E402
    acceleration_error,
    matched_to_reference,
    velocity_error,
)
from pose3d_ros.core.mocap import MocapClip  # noqa: E402
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline  # noqa: E402
from pose3d_ros.core.rig_scenes import Scene, make_scene  # noqa: E402

ROWS = "3x1,3x2,5x1,5x4,8x1,8x2,demox1,demox2"
CANDIDATES = ("none", "1:2", "0.5:5", "0.5:7", "0.5:10", "1:7", "1:10")


def motion_sets(clips: list[MocapClip]) -> dict[str, list[MocapClip]]:
    """The three motion sets of the module doc, from the fetched clips."""
    walk = next(c for c in clips if c.name == "walk")
    still = MocapClip("still", walk.fps, np.repeat(walk.joints[:1], walk.num_frames, axis=0))
    return {"all": clips, "walk, run": [c for c in clips if c.name in ("walk", "run")],
            "still": [still]}


def unfiltered(scene: Scene) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The multi-view path's people (P, J, 3) and ids (P,) per frame, without filtering."""
    pipe = Pose3DPipeline([c.name for c in scene.rig.cameras],
                          {c.name: c for c in scene.rig.cameras}, frame_id="rig",
                          params=PipelineParams(outlier_threshold_px=THRESHOLD_PX,
                                                filtering=None))
    preds, ids = [], []
    for f, dets in enumerate(scene.detections):
        result = pipe.process_detections(
            {c.name: d for c, d in zip(scene.rig.cameras, dets, strict=True)}, f / scene.fps)
        preds.append(result.skeletons.positions)
        ids.append(result.skeletons.ids)
    return preds, ids


def smoothed(scene: Scene, preds: list[np.ndarray], ids: list[np.ndarray],
             params: OneEuroParams | None) -> list[np.ndarray]:
    """preds through a fresh SkeletonFilter(params), frame by frame at the scene's rate."""
    if params is None:
        return preds
    smoother = SkeletonFilter(params)
    return [smoother.filter(points, person_ids, f / scene.fps) if len(person_ids) else points
            for f, (points, person_ids) in enumerate(zip(preds, ids, strict=True))]


def errors(scene: Scene, preds: list[np.ndarray], ids: list[np.ndarray]) -> np.ndarray:
    """[MPJPE mm, PCP %, velocity error m/s, acceleration error m/s^2] of one scene."""
    matched = matched_to_reference(preds, scene.truth, scene.present)  # (F, P, J, 3)
    distance = np.linalg.norm(matched - scene.truth, axis=-1)
    dt = 1.0 / scene.fps
    return np.array([1000 * np.nanmean(distance), 100 * score(scene, preds, ids)["pcp"],
                     velocity_error(matched, scene.truth, dt=dt).mean,
                     acceleration_error(matched, scene.truth, dt=dt).mean])


def candidate(text: str) -> OneEuroParams | None:
    """'min_cutoff_hz:beta[:d_cutoff_hz]' -> the default OneEuroParams with those; 'none' ->
    None."""
    if text == "none":
        return None
    values = [float(v) for v in text.split(":")]
    params = replace(OneEuroParams(), min_cutoff_hz=values[0], beta=values[1])
    return replace(params, d_cutoff_hz=values[2]) if len(values) > 2 else params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=ROWS, help="rig x people scenes (rig_scenes names)")
    parser.add_argument("--frames", type=int, default=90, help="frames per scene (30 fps)")
    parser.add_argument("--seeds", type=int, default=2, help="scenes per row and motion set")
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES),
                        help="filters to compare: min_cutoff_hz:beta (s/m)[:d_cutoff_hz], or "
                        "none")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)
    from pose3d_ros.tools.fetch_mocap import load_mocap
    sets = motion_sets(load_mocap())
    filters = {name: candidate(name) for name in args.candidates}
    default = OneEuroParams()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; rows {args.rows}, "
          f"{args.frames} frames x {args.seeds} seeds; the package's default: "
          f"{default.min_cutoff_hz:g}:{default.beta:g} (d_cutoff_hz {default.d_cutoff_hz:g})")
    table: dict[str, dict[str, np.ndarray]] = {name: {} for name in filters}
    for set_name, clips in sets.items():
        per_filter: dict[str, list[np.ndarray]] = {name: [] for name in filters}
        for row in args.rows.split(","):
            rig_name, people = row.split("x")
            for seed in range(args.seeds):
                scene = make_scene(rig_name, int(people), args.frames, seed, clips)
                preds, ids = unfiltered(scene)
                for name, params in filters.items():
                    per_filter[name].append(errors(scene, smoothed(scene, preds, ids, params),
                                                   ids))
        for name in filters:
            table[name][set_name] = np.mean(per_filter[name], axis=0)
    print("\nMPJPE mm / PCP % / velocity error m/s / acceleration error m/s^2 (mean over scenes)")
    print("| min_cutoff_hz:beta | " + " | ".join(sets) + " |")
    print("|---" * (len(sets) + 1) + "|")
    for name, by_set in table.items():
        print(f"| {name} | " + " | ".join(
            "{:.1f} / {:.1f} / {:.3f} / {:.2f}".format(*by_set[s]) for s in sets) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
