"""Statistics of the motion capture, the measured 2D error model and the mocap scenes.

Prints markdown tables (results in benchmarks/results_mocap.md):
  1. the 15 clips: frames, fps, duration, distance travelled, stature, rigid-bone drift;
  2. the shipped 2D error models (pose3d_ros/models/error_model_blazepose*.json);
  3. scenes in ring rigs of 3, 5 and 8 cameras with 1-6 people: joints in the image,
     occluded by another person, seen by >= 2 cameras, detections and false detections
     per view, and the time to make, project and detect a frame (numpy, this CPU).

Usage: python benchmarks/mocap_stats.py [--frames 150] [--seeds 3]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from pose3d_ros.core import mocap_scenes as ms
from pose3d_ros.core import mocap_views as mv
from pose3d_ros.core.body_model import bone_lengths
from pose3d_ros.core.error_model import (
    ERROR_MODEL_PATH,
    MULTI_ERROR_MODEL_PATH,
    load_error_model,
)
from pose3d_ros.core.layouts import H36M17
from pose3d_ros.core.mocap import HEAD_TOP_ABOVE_HEAD_M, load_mocap

RIGID = [i for i, (a, b) in enumerate(H36M17.bones)
         if {H36M17.joint_names[a], H36M17.joint_names[b]} not in
         ({"pelvis", "spine"}, {"spine", "thorax"}, {"thorax", "nose"})]


def clip_table(clips) -> None:
    print("| clip | frames | fps | seconds | pelvis path m | head top max m | "
          "rigid bone std max mm | loops as |")
    print("|---|---|---|---|---|---|---|---|")
    for c in clips:
        pelvis = c.joints[:, H36M17.index("pelvis"), :2]
        path = np.sum(np.linalg.norm(np.diff(pelvis, axis=0), axis=-1))
        top = c.joints[:, H36M17.index("head"), 2].max() + HEAD_TOP_ABOVE_HEAD_M
        drift = 1000 * bone_lengths(c.joints)[:, RIGID].std(0).max()
        kind = "cycles" if c.name in ms.CYCLIC_CLIPS else "ping-pong"
        print(f"| {c.name} | {c.num_frames} | {c.fps:.1f} | {c.duration_s:.2f} | {path:.2f} | "
              f"{top:.2f} | {drift:.1e} | {kind} |")
    print(f"| **all** | {sum(c.num_frames for c in clips)} | | "
          f"{sum(c.duration_s for c in clips):.1f} | | | | |")


def error_model_table(path) -> None:
    model = load_error_model(path)
    s = model.summary()
    print(f"\n### {path.name}\n\n{model.source}; {s['samples']} person-views; person miss rate "
          f"{s['person_miss_rate']}; false detections per view {s['false_per_view']}; "
          f"correlation(score, error) {s['score_error_correlation']}\n")
    print("| joint | median error / scale | p90 error / scale | confidence < 0.3 |")
    print("|---|---|---|---|")
    for name in H36M17.joint_names:
        print(f"| {name} | {s['median_error_per_joint'][name]:.4f} | "
              f"{s['p90_error_per_joint'][name]:.4f} | "
              f"{s['low_confidence_rate_per_joint'][name]:.3f} |")
    print("\n| left/right pair | swap rate |\n|---|---|")
    for pair, rate in s["swap_rate_per_pair"].items():
        print(f"| {pair} | {rate:.3f} |")
    print("\n| confidence | median error / scale | joints |\n|---|---|---|")
    for band, (median, count) in s["median_error_by_score"].items():
        print(f"| {band} | {median} | {count} |")


def scene_table(clips, frames: int, seeds: int) -> None:
    print("\n| cameras | people | in image | occluded | visible in >= 2 cams | "
          "detections / view | false / view | ms/frame make | project | detect |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for cams in (3, 5, 8):
        for people in (1, 2, 4, 6):
            stats, times = [], []
            for seed in range(seeds):
                rng = np.random.default_rng(1000 * cams + 10 * people + seed)
                t0 = time.perf_counter()
                scene = ms.make_scene(clips, rng, ms.SceneConfig(
                    num_people=people, num_frames=frames, area_radius=2.5))
                rig = mv.random_ring_rig(cams, rng)
                t1 = time.perf_counter()
                views = mv.project_scene(rig, scene.joints)
                t2 = time.perf_counter()
                dets = mv.detect_views(views, rng, fps=scene.fps, false_per_view=0.2)
                t3 = time.perf_counter()
                present = np.broadcast_to(scene.present[:, :, None, None], views.in_image.shape)
                seen2 = (views.visible.sum(axis=2) >= 2)[scene.present]
                stats.append([views.in_image[present].mean(), views.occluded[present].mean(),
                              seen2.mean(), (dets.person >= 0).sum() / (frames * cams),
                              (dets.person == -1).sum() / (frames * cams)])
                times.append(np.array([t1 - t0, t2 - t1, t3 - t2]) * 1000 / frames)
            m, t = np.mean(stats, axis=0), np.mean(times, axis=0)
            print(f"| {cams} | {people} | {m[0]:.3f} | {m[1]:.3f} | {m[2]:.3f} | {m[3]:.2f} | "
                  f"{m[4]:.2f} | {t[0]:.2f} | {t[1]:.2f} | {t[2]:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    clips = load_mocap()
    clip_table(clips)
    for path in (ERROR_MODEL_PATH, MULTI_ERROR_MODEL_PATH):
        error_model_table(path)
    scene_table(clips, args.frames, args.seeds)


if __name__ == "__main__":
    main()
