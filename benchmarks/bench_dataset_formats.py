"""The public-format path end to end on a generated Shelf-like scene: write it in the
4D-association Shelf layout (calibration.json, gt.txt, BODY_25 bottom-up detection files),
load it back with core.datasets, run the pipeline and score it with the Campus/Shelf PCP
protocol; beside it, the same 2D given to the same scorer in memory, so the table shows
what the files (writing, parsing, bottom-up grouping) change: nothing, when they are right.

The scene is GENERATED (pose3d_ros/core/rig_scenes.py: real motion capture, 5 cameras on a
ring, the 2D error model measured from the package's detector, false and duplicate
detections); it is not the Shelf benchmark, whose data are not available here.

    python benchmarks/bench_dataset_formats.py --out /tmp/shelf_scene [--people 4 --frames 301]
    python -m pose3d_ros.tools.eval_dataset --format shelf /tmp/shelf_scene --out /tmp/res
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script from a checkout: use this checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose3d_ros.core.datasets import (  # noqa: E402
    GroundTruth,
    MultiViewSequence,
    evaluate_sequence,
    load_campus_shelf,
    writers,
)
from pose3d_ros.core.datasets.campus_shelf import HEAD_RULES  # noqa: E402
from pose3d_ros.core.datasets.records import detections_from_arrays  # noqa: E402
from pose3d_ros.core.layouts import BODY25, H36M17, SHELF15  # noqa: E402
from pose3d_ros.core.multiperson_metrics import to_campus14  # noqa: E402
from pose3d_ros.core.rig_scenes import make_scene  # noqa: E402


def to_body25(values: np.ndarray) -> np.ndarray:
    """(..., 17, C) H36M-17 -> (..., 25, C) BODY_25: shared joints, neck = mid-shoulders,
    the rest (eyes, ears, feet) NaN, as a detector that does not see them."""
    out = np.full(values.shape[:-2] + (25, values.shape[-1]), np.nan)
    for name in BODY25.joint_names:
        if name in H36M17.joint_names:
            out[..., BODY25.index(name), :] = values[..., H36M17.index(name), :]
    out[..., BODY25.index("neck"), :] = values[..., H36M17.index("thorax"), :]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write")
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--frames", type=int, default=301)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.out.exists():        # never replaced (a review: a FileExistsError traceback)
        parser.error(f"--out {args.out} already exists; give a new folder")
    from pose3d_ros.tools.fetch_mocap import load_mocap

    scene = make_scene("5", args.people, args.frames, args.seed, load_mocap())
    ids = np.arange(args.people)
    # head ends by Shelf's own scoring rule, as the scorer derives the predictions'
    truth = to_campus14(scene.truth, H36M17, (0.0, 0.0, 1.0), derivation=HEAD_RULES["shelf"])
    pelvis = scene.truth[..., H36M17.index("pelvis"):H36M17.index("pelvis") + 1, :]
    shelf15 = np.concatenate([truth, pelvis], axis=-2)
    t0 = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=False)
    writers.save_4da_calibration(scene.rig, args.out / "calibration.json")
    writers.save_4da_ground_truth(args.out / "gt.txt", shelf15, ids)
    (args.out / "detection").mkdir()
    memory = [dict() for _ in range(scene.num_frames)]
    for v, cam in enumerate(scene.rig):
        size = (cam.width, cam.height)
        width = max(d[v].num_people for d in scene.detections)
        people = np.full((scene.num_frames, width, 25, 3), np.nan)
        for f, dets in enumerate(scene.detections):
            d = dets[v]
            kp = to_body25(np.where(d.scores[..., None] > 0, d.keypoints, np.nan))
            sc = to_body25(d.scores[..., None])[..., 0]
            people[f, :d.num_people] = np.concatenate([kp, np.nan_to_num(sc)[..., None]], -1)
            memory[f][cam.name] = detections_from_arrays(kp, np.nan_to_num(sc), BODY25, size)
        writers.save_bottom_up_file(args.out / "detection" / f"{cam.name}.txt", people,
                                    BODY25, size)
    t_write = time.perf_counter() - t0
    t0 = time.perf_counter()
    loaded = load_campus_shelf(args.out, "shelf")
    t_load = time.perf_counter() - t0
    in_memory = MultiViewSequence("in memory", scene.rig, np.arange(scene.num_frames),
                                  tuple(memory), GroundTruth(shelf15, ids, SHELF15,
                                                                head_rule=HEAD_RULES["shelf"]),
                                  loaded.fps)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"# generated Shelf-format scene: {args.people} people, {scene.num_frames} frames, "
          f"{len(scene.rig)} cameras, {scene.detections_per_frame / len(scene.rig):.1f} 2D "
          f"people per view; {platform.node()}, {when}, load {os.getloadavg()[0]:.1f}")
    print(f"# write {t_write:.1f} s, load (parse + bottom-up grouping) {t_load:.1f} s")
    print("| 2D path | PCP | per actor | MPJPE mm | ghosts | misses | id sw | "
          "ms/frame (median, p90) |")
    print("|---|---|---|---|---|---|---|---|")
    for label, sequence in (("files (4D-association layout)", loaded),
                            ("in memory, same 2D", in_memory)):
        r = evaluate_sequence(sequence)
        s = r.score
        actors = " / ".join(f"{100 * p:.1f}" for p in s.pcp_per_actor)
        print(f"| {label} | {100 * s.pcp:.1f} | {actors} | {1000 * s.mpjpe_m:.1f} | "
              f"{s.ghosts} | {s.misses} | {s.id_switches} | "
              f"{r.ms_per_frame[0]:.1f}, {r.ms_per_frame[1]:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
