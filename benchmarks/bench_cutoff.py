"""A person cut off by the bottom image edge: the 2D and the one-camera placement, per demo camera.

    python benchmarks/bench_cutoff.py [--border replicate|zero] [--frames 98]

Each camera of the demo recording 'single' (one person) has its rows below a cut removed (the
cut image keeps its pixel coordinates and intrinsics; only the image height changes), at three
rows set per camera from the uncut 2D (medians over the clip): "chest" = shoulders + 0.4 x
(hips - shoulders), "hips", "thigh" = hips + 0.5 x (knees - hips); "none" is the uncut video.
The package's default back-end (blazepose_multi, tracked) runs on the cut frames.

2D, against the uncut frame's 2D of the same back-end (the detection cache): median and 90th
percentile pixel error of the joints the cut image still shows (uncut v < cut - 20 px), the
shoulder width cut / uncut (median), the hips' score (median; they are outside the image at
the chest cut).
Placement: each camera alone through Pose3DPipeline (node defaults, H36M-17 out, detector_3d),
its published person in the direction of the 4-camera triangulation's pelvis (all four uncut
views, the reference), signed error of the pelvis distance from the camera (+ = too far):
median, median and maximum of its absolute value, frames answered.
`--border zero` fills the landmark crop past the image with black (the back-end before s56)
to measure the difference.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose3d_ros.core.calibration import load_rig  # noqa: E402
from pose3d_ros.core.data_paths import calibration_path, video_paths  # noqa: E402
from pose3d_ros.core.detection import blazepose_multi, create_detector  # noqa: E402
from pose3d_ros.core.detection.cache import detect_video_set  # noqa: E402
from pose3d_ros.core.monocular import create_monocular_method  # noqa: E402
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline  # noqa: E402

FPS = 60.0


def cut_rows(keypoints: np.ndarray, height: int) -> dict[str, int]:
    """Cut rows (image v, px) from the uncut BlazePose-33 2D (T, 33, 2) of one person."""
    shoulder, hip, knee = (float(np.nanmedian(keypoints[:, a:a + 2, 1].mean(1)))
                           for a in (11, 23, 25))
    return {"none": height, "chest": int(shoulder + 0.4 * (hip - shoulder)), "hips": int(hip),
            "thigh": int(hip + 0.5 * (knee - hip))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--border", choices=sorted(blazepose_multi.LANDMARK_BORDERS),
                        default="replicate")
    parser.add_argument("--frames", type=int, default=98)
    args = parser.parse_args(argv)
    rig = load_rig(calibration_path("single"))
    videos = video_paths("single")
    # the uncut reference from the cache, made (and cached) by the back-end as it ships
    cached = [detect_video_set([v], "blazepose_multi")[0] for v in videos]
    T = min([args.frames] + [len(d.num_people) for d in cached])
    stamps = 10.0 + np.arange(T) / FPS
    reference = Pose3DPipeline(rig.names, {c.name: c for c in rig}, frame_id=rig.frame_id,
                               params=PipelineParams(output_layout="h36m17", filtering=None))
    pelvis = np.full((T, 3), np.nan)
    for t in range(T):
        found = reference.process_detections({c.name: cached[k].frame(t)
                                              for k, c in enumerate(rig)}, stamps[t]).skeletons
        if found.num_people:
            pelvis[t] = found.positions[0, 0]
    print(f"border {args.border}, {T} frames per camera; 2D vs the uncut frame's, placement vs "
          "the 4-camera triangulation")
    print("| camera | cut row | visible joints px median / p90 | shoulders cut/uncut | "
          "hip score | distance error m median / abs median / abs max | frames |")
    print("|---|---|---|---|---|---|---|")
    for k, camera in enumerate(rig):
        capture = cv2.VideoCapture(str(videos[k]))
        frames = [capture.read()[1] for _ in range(T)]
        capture.release()
        uncut = cached[k].keypoints[:T, 0]
        centre = camera.center
        for cut, row in cut_rows(uncut, camera.height).items():
            detector = create_detector("blazepose_multi", landmark_border=args.border)
            cut_camera = dataclasses.replace(camera, height=row)
            pipeline = Pose3DPipeline([camera.name], {camera.name: cut_camera},
                                      frame_id=rig.frame_id,
                                      lifter=create_monocular_method("detector_3d"),
                                      params=PipelineParams(output_layout="h36m17"))
            errors, ratios, hip_scores, distance = [], [], [], np.full(T, np.nan)
            for t, frame in enumerate(frames):
                det = detector.detect([np.ascontiguousarray(frame[:row])], cameras=[0])[0]
                if det.num_people:
                    near = np.nanmedian(np.linalg.norm(det.keypoints - uncut[t], axis=-1), 1)
                    i = int(np.argmin(near))
                    shown = uncut[t, :, 1] < row - 20
                    errors.append(np.linalg.norm(det.keypoints[i] - uncut[t], axis=-1)[shown])
                    ratios.append(np.linalg.norm(det.keypoints[i, 11] - det.keypoints[i, 12])
                                  / np.linalg.norm(uncut[t, 11] - uncut[t, 12]))
                    hip_scores.append(det.scores[i, 23:25].mean())
                try:
                    people = pipeline.process_detections({camera.name: det}, stamps[t]).skeletons
                except ValueError:
                    continue
                if people.num_people and np.isfinite(pelvis[t]).all():
                    rays = people.positions[:, 0] - centre
                    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
                    i = int(np.nanargmax(rays @ (pelvis[t] - centre)))
                    distance[t] = (np.linalg.norm(people.positions[i, 0] - centre)
                                   - np.linalg.norm(pelvis[t] - centre))
            detector.close()
            e = np.concatenate(errors) if errors else np.full(1, np.nan)
            answered = np.isfinite(distance)
            print(f"| {camera.name} | {cut} ({row}) | {np.median(e):.1f} / "
                  f"{np.percentile(e, 90):.1f} | {np.median(ratios):.2f} | "
                  f"{np.median(hip_scores):.2f} | {np.nanmedian(distance):+.2f} / "
                  f"{np.nanmedian(np.abs(distance)):.2f} / {np.nanmax(np.abs(distance)):.2f} | "
                  f"{answered.sum()} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
