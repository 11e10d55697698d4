"""The image tracker's left/right continuity (core.tracking.ImageTracker.update_labelled,
core.left_right) on its own: how many left/right pairs of each demo camera's 2D are labelled
opposite to the 4-camera reference, as detected and as relabelled, and what the continuity
does to the one-camera chain on the motion-capture scene of bench_onecam over many seeds
(where the truth is known).

  python benchmarks/bench_left_right.py labels --stride 2     # 30 fps; --stride 1: 60 fps
  python benchmarks/bench_left_right.py seeds --count 12
  python benchmarks/bench_left_right.py seeds --first 37 --count 36   # other draws
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
from bench_onecam import (
    FPS,
    RECORDINGS,
    _mocap_arrays,
    _mocap_camera,
    _run_mocap,
    _track,
    _truth_track,
)


def labels(stride: int) -> str:
    """Left/right pairs of each demo camera's 2D labelled opposite to the 4-camera reference
    (error_model.detect_swaps on H36M-17, the person's nearest reference body projected),
    as detected and as the image tracker relabels them (markdown). Reference bodies that are
    mirror images (the nose behind the shoulders: most views' labels exchanged, so the
    consensus itself is wrong) are left out."""
    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.data_paths import calibration_path, video_paths
    from pose3d_ros.core.detection.cache import detect_video_set
    from pose3d_ros.core.error_model import detect_swaps, person_scale
    from pose3d_ros.core.layouts import H36M17, convert_joints
    from pose3d_ros.core.left_right import exchange_pairs, left_right_pairs, mirror_index
    from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline
    from pose3d_ros.core.tracking import ImageTracker

    lines = ["| recording | camera | person-frames (reference mirrored, left out) | "
             "pairs opposite: detected | pairs opposite: relabelled |", "|---|---|---|---|---|"]
    mirror = mirror_index(H36M17)
    for recording, detector in RECORDINGS.items():
        rig = load_rig(calibration_path(recording))
        per_camera = detect_video_set(video_paths(recording), detector)
        reference = Pose3DPipeline(rig.names, {c.name: c for c in rig}, frame_id=rig.frame_id,
                                   params=PipelineParams(output_layout="h36m17",
                                                         filtering=None))
        frames = range(min(len(d.num_people) for d in per_camera))
        truth = [reference.process_detections({c.name: per_camera[k].frame(t)
                                               for k, c in enumerate(rig)}, 10 + t / FPS)
                 .skeletons for t in frames]
        for k, camera in enumerate(rig):
            detections, tracker = per_camera[k], ImageTracker()
            pairs = left_right_pairs(detections.layout)
            counts = np.zeros(4, np.int64)     # person-frames, left out, detected, relabelled
            for t in frames[::stride]:
                found = detections.frame(t)
                update = tracker.update_labelled(found.keypoints, 10 + t / FPS,
                                                 detections.layout)
                if not truth[t].num_people:
                    continue
                expected = camera.project(truth[t].positions)               # (R, 17, 2)
                for seen, fixed in zip(found.keypoints, exchange_pairs(
                        found.keypoints, pairs, update.swapped), strict=True):
                    raw = convert_joints(seen[None].astype(np.float64), detections.layout,
                                         H36M17)
                    gap = np.fmin(np.linalg.norm(expected - raw, axis=-1),
                                  np.linalg.norm(expected - raw[:, mirror], axis=-1))
                    nearest = int(np.argmin(np.nanmean(gap, axis=-1)))
                    if _mirror_image(truth[t].positions[nearest]):
                        counts[1] += 1
                        continue
                    ref = expected[nearest][None]
                    relabelled = convert_joints(fixed[None].astype(np.float64),
                                                detections.layout, H36M17)
                    counts[0] += 1
                    counts[2] += detect_swaps(ref, raw, person_scale(ref)).sum()
                    counts[3] += detect_swaps(ref, relabelled, person_scale(ref)).sum()
            lines.append(f"| {recording} | {camera.name} | {counts[0]} ({counts[1]}) | "
                         f"{counts[2]} | {counts[3]} |")
    return "\n".join(lines)


def _mirror_image(body: np.ndarray) -> bool:
    """(17, 3) H36M-17 metres, y up or down alike: True where the nose lies behind the
    shoulders, front being (left - right) x up: a left-handed body, no person."""
    from pose3d_ros.core.layouts import H36M17

    j = H36M17.index
    shoulders = 0.5 * (body[j("left_shoulder")] + body[j("right_shoulder")])
    up = shoulders - body[j("pelvis")]
    front = np.cross(body[j("left_shoulder")] - body[j("right_shoulder")], up)
    return bool(np.dot(body[j("nose")] - shoulders, front) < 0)


def seeds(count: int, first: int = 1) -> str:
    """The motion-capture scene of _mocap_arrays for seeds first..first+count-1, lifter, the image
    tracker's left/right continuity off and on: bone CV, root-relative error against the
    truth and root-depth jitter p95, per seed and the means (markdown)."""
    lines = ["| seed | bone CV (off / on) | root-rel. error mm (off / on) | "
             "jitter p95 m/frame (off / on) |", "|---|---|---|---|"]
    totals, over = np.zeros((2, 3)), np.zeros(2, np.int64)
    for seed in range(first, first + count):
        arrays = _mocap_arrays(seed)
        cells = []
        for k, relabel in enumerate((False, True)):
            out: dict[str, np.ndarray] = {}
            _run_mocap(arrays, out, None, relabel)
            metric = _mocap_metrics({**arrays, **out})
            totals[k] += metric
            over[k] += metric[2] > 0.10
            cells.append(metric)
        lines.append(f"| {seed} | {cells[0][0]:.1f} / {cells[1][0]:.1f} % | "
                     f"{cells[0][1]:.0f} / {cells[1][1]:.0f} | "
                     f"{cells[0][2]:.3f} / {cells[1][2]:.3f} |")
    mean = totals / count
    lines.append(f"| mean | {mean[0, 0]:.2f} / {mean[1, 0]:.2f} % | {mean[0, 1]:.1f} / "
                 f"{mean[1, 1]:.1f} | {mean[0, 2]:.3f} / {mean[1, 2]:.3f} |")
    lines.append(f"| seeds over 0.10 m/frame | | | {over[0]} / {over[1]} of {count} |")
    return "\n".join(lines)


def _mocap_metrics(data) -> np.ndarray:
    """(bone CV %, root-relative error mm, jitter p95 m/frame) of a mocap run vs its truth."""
    from pose3d_ros.core.evaluation import image_identities, stability

    pred, camera = _track(data, "mocap/cam01/lifter", "world"), _mocap_camera(data)
    ident = image_identities(pred, _truth_track(data, pred.stamps_ns), camera)
    s = stability(pred, viewpoint=camera.center).summary()
    return np.array([100 * s["bone-length CV median"], 1000 * ident.root_relative_mpjpe_m,
                     s["root-depth jitter p95 [m/frame]"]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    lab = sub.add_parser("labels", help="left/right pairs opposite to the 4-camera "
                         "reference, detected and relabelled by the image tracker")
    lab.add_argument("--stride", type=int, default=2)
    m = sub.add_parser("seeds", help="the motion-capture scene over several seeds, the "
                       "left/right continuity off and on")
    m.add_argument("--count", type=int, default=12)
    m.add_argument("--first", type=int, default=1, help="first seed")
    args = parser.parse_args(argv)
    print(labels(args.stride) if args.step == "labels" else seeds(args.count, args.first))
    return 0


if __name__ == "__main__":
    sys.exit(main())
