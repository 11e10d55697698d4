"""When a person seen by too few views is published (completion.SkeletonCompleter._continued):
the two costs of the rule, side by side on the in-house motion-capture scenes.

  ghosts   heavy false detections (rig_scenes.FALSE_PER_CAMERA 5 per camera and frame, 10x
           the measured rate), the demo rig and the 3- and 5-camera rings, 1/2/4 people x
           seeds 0 and 1, 150 frames: ghost person-frames and misses (bench_multiview_people's
           scorer);
  drops    two-camera rigs (pairs of the 5- and 3-camera rings and of the demo rig), 3 people,
           60 frames, seeds 1 and 2, one person's 2D dropped from one camera in 25 % of the
           frames (a missed detection): person-frames published, and held as unconfirmed.

  python benchmarks/bench_confirmation.py [--part ghosts|drops|both]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script from a checkout: use this checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_multiview_people import run_after, score  # noqa: E402

import pose3d_ros.core.rig_scenes as rig_scenes  # noqa: E402
from pose3d_ros.core.pipeline import Pose3DPipeline  # noqa: E402
from pose3d_ros.tools.fetch_mocap import load_mocap  # noqa: E402

DROP_SHARE = 0.25
TWO_CAMERA_RIGS = (("5", (1, 3)), ("5", (0, 2)), ("3", (0, 1)), ("demo", (0, 1)),
                   ("demo", (1, 2)))


def ghosts(clips: list) -> list[str]:
    """Markdown rows: rig, ghost person-frames, misses, published person-frames."""
    rows = []
    saved, rig_scenes.FALSE_PER_CAMERA = rig_scenes.FALSE_PER_CAMERA, 5.0
    try:
        for rig in ("demo", "3", "5"):
            totals = np.zeros(3, np.int64)
            for people in (1, 2, 4):
                for seed in (0, 1):
                    scene = rig_scenes.make_scene(rig, people, 150, seed, clips)
                    summary = score(scene, *run_after(scene)[:2])
                    totals += (summary["ghosts"], summary["misses"],
                               summary["pred_person_frames"])
            rows.append(f"| {rig} | {totals[0]} | {totals[1]} | {totals[2]} |")
    finally:
        rig_scenes.FALSE_PER_CAMERA = saved
    return rows


def drops(clips: list) -> list[str]:
    """Markdown rows: rig and camera pair, person-frames published / held unconfirmed."""
    rows = []
    for rig, pair in TWO_CAMERA_RIGS:
        published = unconfirmed = 0
        for seed in (1, 2):
            scene = rig_scenes.make_scene(rig, 3, 60, seed, clips)
            cameras = [scene.rig.cameras[k] for k in pair]
            pipeline = Pose3DPipeline([c.name for c in cameras], {c.name: c for c in cameras},
                                      frame_id="rig")
            rng = np.random.default_rng(7)
            for f in range(scene.num_frames):
                found = {c.name: scene.detections[f][k] for k, c in zip(pair, cameras,
                                                                        strict=True)}
                first = found[cameras[0].name]
                if f > 5 and first.num_people and rng.random() < DROP_SHARE:
                    keep = np.ones(first.num_people, bool)
                    keep[rng.integers(first.num_people)] = False
                    found[cameras[0].name] = type(first)(
                        first.keypoints[keep], first.scores[keep], first.boxes[keep],
                        first.person_scores[keep], first.layout, first.image_size)
                result = pipeline.process_detections(found, f / scene.fps)
                published += result.skeletons.num_people
                unconfirmed += result.rejected.get("unconfirmed", 0)
        rows.append(f"| {rig} cameras {pair[0]}, {pair[1]} | {published} | "
                    f"{unconfirmed} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("ghosts", "drops", "both"), default="both")
    args = parser.parse_args(argv)
    clips = load_mocap()
    if args.part in ("ghosts", "both"):
        print("| 5 false bodies per camera and frame: rig | ghost person-frames | misses | "
              "published person-frames |\n|---|---|---|---|")
        print("\n".join(ghosts(clips)))
    if args.part in ("drops", "both"):
        print("\n| two cameras, one person's 2D dropped in 25 % of frames | person-frames "
              "published | held unconfirmed |\n|---|---|---|")
        print("\n".join(drops(clips)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
