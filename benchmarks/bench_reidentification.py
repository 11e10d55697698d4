"""Re-identification in a crowd: are ids given back to the people who left, and only to them?

A ring of --cameras cameras (core/rig_scenes.py: real motion capture, the measured 2D error
model, false and duplicate detections) with --people people, each of whom leaves --leaves
times for 0.3-4 s (their detections removed from every camera meanwhile), through
Pose3DPipeline.process_detections (filtering off, as bench_multiview_people runs it). Each
frame the published people are matched to the true people by pelvis (Hungarian, within
--gate m). An id published again after frames without it is a re-identification: "right"
when it is matched to the person it was last matched to, "wrong" when to another person
(the id of someone who left given to someone else; printed with the distance between the
two pelvises and the time since the id was last published). A person back after an absence
of at most the tracker's re-identification window "got their id back" when their first
matched id is the one they last had. Id switches: metrics.id_switches over the pelvis matches.

    python benchmarks/bench_reidentification.py [--people 20] [--cameras 8] [--seeds 3]
        [--seed-start 0] [--size-tolerance none|0.05]   # none: position alone (before)
"""
from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose3d_ros.core.metrics import id_switches  # noqa: E402
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline  # noqa: E402
from pose3d_ros.core.rig_scenes import Scene, make_scene  # noqa: E402
from pose3d_ros.core.tracking import TrackerParams  # noqa: E402

ABSENCE_S = (0.3, 4.0)   # how long each leave lasts (s), uniform


def with_leaves(scene: Scene, leaves: int, rng: np.random.Generator) -> Scene:
    """The scene with every person absent `leaves` more times (ABSENCE_S each, at random
    starts): their detections (and duplicate boxes) removed from every camera, their truth
    NaN."""
    frames, people = scene.present.shape
    present = scene.present.copy()
    for person in range(people):
        for _ in range(leaves):
            length = int(rng.uniform(*ABSENCE_S) * scene.fps)
            start = int(rng.integers(0, max(frames - length, 1)))
            present[start:start + length, person] = False
    truth = np.where(present[..., None, None], scene.truth, np.nan)
    detections, sources = [], []
    for f in range(frames):
        absent = np.flatnonzero(~present[f])
        frame_dets, frame_srcs = [], []
        for det, src in zip(scene.detections[f], scene.sources[f], strict=True):
            keep = ~(np.isin(src, absent) | np.isin(-2 - src, absent))
            frame_dets.append(replace(det, keypoints=det.keypoints[keep],
                                      scores=det.scores[keep], boxes=det.boxes[keep],
                                      person_scores=det.person_scores[keep]))
            frame_srcs.append(src[keep])
        detections.append(frame_dets)
        sources.append(frame_srcs)
    return replace(scene, truth=truth, present=present, detections=detections,
                   sources=sources)


def published(scene: Scene, tracking: TrackerParams) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per frame (pelvis (P, 3) m, ids (P,)) of the full path with these tracker settings."""
    cameras = scene.rig.cameras
    pipe = Pose3DPipeline([c.name for c in cameras], {c.name: c for c in cameras},
                          frame_id="rig", params=PipelineParams(filtering=None,
                                                                tracking=tracking))
    out = []
    for f, dets in enumerate(scene.detections):
        skeletons = pipe.process_detections(
            {c.name: d for c, d in zip(cameras, dets, strict=True)}, f / scene.fps).skeletons
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            centre = np.nanmean(skeletons.positions, axis=1)
        pelvis = skeletons.positions[:, 0]
        out.append((np.where(np.isfinite(pelvis), pelvis, centre), skeletons.ids))
    return out


def reidentifications(scene: Scene, frames: list, gate_m: float, window_s: float) -> dict:
    """Counts of re-identifications right and wrong, and of people back within window_s
    who got their id back (module docstring), id switches; "wrong_events": (gap s, pelvis
    distance m, the person the id had, the person it was given to) of each wrong one."""
    last_person: dict[int, int] = {}     # id -> true person it was last matched to
    last_frame: dict[int, int] = {}      # id -> frame it was last published
    last_pelvis: dict[int, np.ndarray] = {}
    person_id: dict[int, int] = {}       # true person -> id last matched to them
    person_seen: dict[int, int] = {}     # true person -> frame last matched
    right = wrong = returns = got_back = 0
    events = []
    matched_people, matched_ids = [], []
    for f, (pelvis, ids) in enumerate(frames):
        truth = scene.truth[f, :, 0]
        who = np.flatnonzero(scene.present[f])
        if len(ids) and who.size:
            dist = np.linalg.norm(pelvis[:, None] - truth[None, who], axis=-1)
            rows, cols = linear_sum_assignment(np.where(np.isfinite(dist), dist, 1e6))
            ok = dist[rows, cols] <= gate_m
            matches = list(zip(rows[ok].tolist(), who[cols[ok]].tolist(), strict=True))
        else:
            matches = []
        matched_people.append(np.array([person for _, person in matches], np.int64))
        matched_ids.append(np.array([ids[row] for row, _ in matches], np.int64))
        for row, person in matches:
            track = int(ids[row])
            if track in last_frame and last_frame[track] < f - 1 and track in last_person:
                if last_person[track] == person:
                    right += 1
                else:
                    wrong += 1
                    events.append(((f - last_frame[track]) / scene.fps,
                                   float(np.linalg.norm(pelvis[row] - last_pelvis[track])),
                                   last_person[track], person))
            if person in person_seen and person_seen[person] < f - 1:
                absent = (f - person_seen[person]) / scene.fps
                if absent <= window_s:
                    returns += 1
                    got_back += person_id[person] == track
            last_person[track], person_id[person], person_seen[person] = person, track, f
            last_pelvis[track] = pelvis[row]
        for track in ids.tolist():
            last_frame[int(track)] = f
    return {"right": right, "wrong": wrong, "returns": returns, "got_back": got_back,
            "id_switches": id_switches(matched_people, matched_ids), "wrong_events": events}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--cameras", default="8")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--leaves", type=int, default=2)
    parser.add_argument("--gate", type=float, default=0.5,
                        help="pelvis distance (m) within which a published person is a true one")
    parser.add_argument("--size-tolerance", default=str(TrackerParams().reid_size_tolerance),
                        help="TrackerParams.reid_size_tolerance ('none': position alone)")
    parser.add_argument("--seed-start", type=int, default=0)
    args = parser.parse_args(argv)
    tolerance = None if args.size_tolerance.lower() == "none" else float(args.size_tolerance)
    tracking = TrackerParams(reid_size_tolerance=tolerance)
    warnings.simplefilter("ignore", RuntimeWarning)
    from pose3d_ros.tools.fetch_mocap import load_mocap
    clips = load_mocap()
    window_s = tracking.reid_window_s
    total = {"right": 0, "wrong": 0, "returns": 0, "got_back": 0, "id_switches": 0}
    seeds = range(args.seed_start, args.seed_start + args.seeds)
    for seed in seeds:
        scene = with_leaves(make_scene(args.cameras, args.people, args.frames, seed, clips),
                            args.leaves, np.random.default_rng([seed, 7]))
        counts = reidentifications(scene, published(scene, tracking), args.gate, window_s)
        for key in total:
            total[key] += counts[key]
        events = ", ".join(f"{gap:.2f} s / {distance:.2f} m"
                           for gap, distance, *_ in counts["wrong_events"])
        print(f"seed {seed}: re-ids right {counts['right']}, wrong {counts['wrong']}"
              f"{' (' + events + ')' if events else ''}; back within {window_s:g} s "
              f"{counts['returns']}, with their id {counts['got_back']}; id switches "
              f"{counts['id_switches']}", flush=True)
    print(f"total ({args.cameras} cameras x {args.people} people, {args.frames} frames, "
          f"seeds {seeds.start}-{seeds.stop - 1}, size tolerance {tolerance}): re-ids right "
          f"{total['right']}, wrong {total['wrong']}; "
          f"back within {window_s:g} s {total['returns']}, with their id {total['got_back']}; "
          f"id switches {total['id_switches']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
