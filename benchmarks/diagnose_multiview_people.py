"""Where the in-house multi-person benchmark loses PCP and people: a decomposition by stage.

On bench_multiview_people's scenes (same generator, same seeds), two runs per scene:

  oracle   the TRUE association (each present person's own detections; no false or duplicate
           detection) through the same triangulation (triangulate_people) and completion as
           the pipeline: the PCP that the 2D errors and triangulation leave;
  full     the pipeline's stages run one by one (association, triangulation, completion,
           tracking: Pose3DPipeline._multi_view's order), and each ground-truth person-frame
           that the scorer finds no prediction for is put down to the first stage that lost
           it:
             seen<2       fewer than 2 cameras detect the person at all
             association  no group holds >= 2 of the person's detections (before the
                          visibility check)
             visibility   its group was dropped by the visibility check
             implausible  its group was refused by the bone-length check
             unconfirmed  its group waited for confirmation (new person, < 3 views)
             far          a group of the person was published, but its mean joint error is
                          over the scorer's 0.5 m gate (mixed or ill-conditioned views)
Per-limb PCP (Campus/Shelf limbs) of both runs shows which limbs fail; "truth as prediction"
is the ceiling the ground truth's head definition leaves (`--gt-head body|derived|both`, as
bench_multiview_people.py).

    python benchmarks/diagnose_multiview_people.py --rows 3x4,5x4,demox4,demox6 [--gt-head both]
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script from a checkout: use this checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_multiview_people import (  # noqa: E402
    THRESHOLD_PX,
    oracle_views,
    score,
    truth_as_prediction,
)

from pose3d_ros.core.association import associate_normalized, gather  # noqa: E402
from pose3d_ros.core.camera import CameraArrays  # noqa: E402
from pose3d_ros.core.completion import CompletionParams, SkeletonCompleter  # noqa: E402
from pose3d_ros.core.left_right import mirror_index  # noqa: E402
from pose3d_ros.core.metrics import match_people  # noqa: E402
from pose3d_ros.core.multiperson_metrics import (  # noqa: E402
    DEFAULT_GT_HEAD,
    GT_HEADS,
    MOCAP_PRED_HEAD,
    PCP_LIMB_NAMES,
    PRED_HEADS,
    mocap_truth_to_campus14,
    to_campus14,
)
from pose3d_ros.core.pipeline import PipelineParams  # noqa: E402
from pose3d_ros.core.rig_scenes import Scene, make_scene  # noqa: E402
from pose3d_ros.core.tracking import SkeletonTracker  # noqa: E402
from pose3d_ros.core.triangulation import triangulate_people  # noqa: E402
from pose3d_ros.core.undistortion import undistort_normalised  # noqa: E402

COMPLETION = CompletionParams()
PREFER_STRONGER = True
HEADS: tuple[str, ...] = (DEFAULT_GT_HEAD,)  # ground-truth head definitions scored (--gt-head)
PRED_HEAD = MOCAP_PRED_HEAD  # how the predictions' head is derived (--pred-head)
STAGES = ("seen<2", "association", "visibility", "implausible", "unconfirmed", "far")


def run_oracle(scene: Scene, threshold_px: float, complete: bool,
               threshold_m: float | None = None) -> dict:
    """Triangulation (+ completion) of the true association; per ground-truth head
    definition (HEADS) the score summary + per-limb PCP."""
    kp, sc, rows = oracle_views(scene)
    arrays = CameraArrays.from_cameras(scene.rig.cameras)
    xy = np.stack([undistort_normalised(cam, kp[:, v]) for v, cam in
                   enumerate(scene.rig.cameras)], axis=1)
    completer = SkeletonCompleter(COMPLETION)
    preds, ids = [], []
    for f in range(scene.num_frames):
        at = rows[:, 0] == f
        res, fx, fs = triangulate_people(arrays, xy[at], sc[at], scene.layout,
                                         outlier_threshold_px=threshold_px,
                                         outlier_threshold_m=threshold_m)
        points = res.points
        if complete:
            done = completer.complete(points, res.num_views, res.confidence, scene.layout,
                                      f / scene.fps, normalized=fx, scores=fs, cameras=arrays,
                                      ids=rows[at, 1] + 1, used=res.used)
            points = done.points
        preds.append(points)
        ids.append(rows[at, 1] + 1)
    return {h: score(scene, preds, ids, True, h, PRED_HEAD) for h in HEADS}


def _owner(sources: list[np.ndarray], members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group (G,): the person most of its detections show (duplicates count for their
    person; -1 when only false detections) and how many of its detections are that
    person's real (not duplicate) ones."""
    owner = np.full(len(members), -1)
    real = np.zeros(len(members), int)
    for g, row in enumerate(members):
        who = [int(sources[v][d]) for v, d in enumerate(row) if d >= 0]
        person = [w if w >= 0 else -2 - w for w in who if w != -1]
        if person:
            owner[g] = Counter(person).most_common(1)[0][0]
            real[g] = sum(w == owner[g] for w in who)
    return owner, real


def run_stages(scene: Scene, threshold_px: float, threshold_m: float | None = None) -> dict:
    """The pipeline's multi-view stages one by one, with the loss attribution above; per
    ground-truth head definition (HEADS) the scores and the attribution."""
    cams = scene.rig.cameras
    arrays = CameraArrays.from_cameras(cams)
    completer = SkeletonCompleter(COMPLETION)
    tracker = SkeletonTracker()
    preds, ids, stage_of_miss = [], [], Counter()
    refused, ghosts = Counter(), Counter()
    spent = 0.0
    previous = None          # the last frame's triangulated people, as the pipeline keeps them
    for f, dets in enumerate(scene.detections):
        t0 = time.process_time()
        found = [d.with_normalised(undistort_normalised(c, d.keypoints))
                 for c, d in zip(cams, dets, strict=True)]
        norm, scs = [d.normalised for d in found], [d.scores for d in found]
        assoc = associate_normalized(arrays, norm, scs, prefer_stronger=PREFER_STRONGER,
                                     mirror=mirror_index(scene.layout), previous=previous)
        normalized, scores = gather(found, assoc, normalised=True)
        res, normalized, scores = triangulate_people(arrays, normalized, scores, scene.layout,
                                                     outlier_threshold_px=threshold_px,
                                                     outlier_threshold_m=threshold_m,
                                                     previous=previous)
        done = completer.complete(res.points, res.num_views, res.confidence, scene.layout,
                                  f / scene.fps, normalized=normalized, scores=scores,
                                  cameras=arrays, used=res.used)
        published = done.points[done.publish]
        used_before, previous = previous, res.points[done.publish]
        ids.append(tracker.update(published, f / scene.fps))
        spent += time.process_time() - t0
        preds.append(published)
        # attribution (not timed)
        raw = associate_normalized(arrays, norm, scs, visibility_check=False,
                                   prefer_stronger=PREFER_STRONGER,
                                   mirror=mirror_index(scene.layout), previous=used_before)
        src = scene.sources[f]
        raw_owner, raw_real = _owner(src, raw.members)
        owner, real = _owner(src, assoc.members)
        present = np.flatnonzero(scene.present[f])
        gt = mocap_truth_to_campus14(scene.truth[f, present], HEADS[0], PRED_HEAD)
        pairs = match_people([to_campus14(published, scene.layout, derivation=PRED_HEAD)],
                             [gt]).pairs[0]
        matched_gt = set(pairs[:, 1].tolist())
        pub_owner = owner[done.publish]
        for g in range(len(owner)):
            if not done.publish[g] and owner[g] >= 0 and real[g] >= 2:
                refused["implausible" if not done.plausible[g] else "unconfirmed"] += 1
        for k in set(range(len(published))) - set(pairs[:, 0].tolist()):
            o = pub_owner[k]
            kind = ("false only" if o < 0 else
                    "duplicate of a matched person" if np.any(present[pairs[:, 1]] == o)
                    else "person not matched")
            ghosts[kind] += 1
        for q, person in enumerate(present):
            if q in matched_gt:
                continue
            seen = sum(int(np.any(s == person)) for s in src)
            mine = (owner == person) & (real >= 2)
            if seen < 2:
                stage = "seen<2"
            elif not np.any((raw_owner == person) & (raw_real >= 2)):
                stage = "association"
            elif not mine.any():
                stage = "visibility"
            elif not done.publish[mine].any():
                stage = "implausible" if not done.plausible[mine].any() else "unconfirmed"
            else:
                stage = "far"
            stage_of_miss[stage] += 1
    extra = {"miss_stage": dict(stage_of_miss), "refused_groups": dict(refused),
             "ghost_kind": dict(ghosts), "cpu_ms_per_frame": 1000 * spent / scene.num_frames}
    return {h: score(scene, preds, ids, True, h, PRED_HEAD) | extra for h in HEADS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="3x4,5x4,demox4,demox6",
                        help="comma-separated rig x people, e.g. 3x4,demox6")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--error-scale", type=float, default=1.0)
    parser.add_argument("--threshold-px", type=float, default=THRESHOLD_PX)
    parser.add_argument("--threshold-m", type=float,
                        default=PipelineParams().outlier_threshold_m or 0.0,
                        help="metric outlier threshold of triangulate_people, metres (default: "
                        "the pipeline's; 0 = the pixel threshold)")
    parser.add_argument("--completion", default="",
                        help="CompletionParams fields to change, e.g. bone_weight=1,"
                        "check_refined=1 (default: the package's)")
    parser.add_argument("--no-prefer-stronger", action="store_true",
                        help="association without replacing duplicate boxes")
    parser.add_argument("--gt-head", choices=GT_HEADS + ("both",), default=DEFAULT_GT_HEAD,
                        help="ground truth's head bottom/top (bench_multiview_people.py)")
    parser.add_argument("--pred-head", choices=PRED_HEADS, default=MOCAP_PRED_HEAD,
                        help="predictions' head from nose or ears (bench_multiview_people.py)")
    args = parser.parse_args(argv)
    global COMPLETION, PREFER_STRONGER, HEADS, PRED_HEAD
    HEADS = GT_HEADS if args.gt_head == "both" else (args.gt_head,)
    PRED_HEAD = args.pred_head
    PREFER_STRONGER = not args.no_prefer_stronger
    for item in filter(None, args.completion.split(",")):
        key, value = item.split("=")
        kind = type(getattr(COMPLETION, key))
        COMPLETION = replace(COMPLETION, **{key: kind(float(value))})
    warnings.simplefilter("ignore", RuntimeWarning)
    from pose3d_ros.core.mocap import load_mocap
    clips = load_mocap()
    print("| rig x people | GT head | run | PCP % | " + " | ".join(PCP_LIMB_NAMES)
          + " | MPJPE mm | misses % | ghosts % |")
    print("|---" * (7 + len(PCP_LIMB_NAMES)) + "|")
    notes = []
    for row in args.rows.split(","):
        rig, people = row.split("x")
        results: dict[str, list] = {"truth as prediction": [], "oracle triangulation": [],
                                    "oracle + completion": [], "full path": []}
        for seed in range(args.seeds):
            scene = make_scene(rig, int(people), args.frames, seed, clips,
                               error_scale=args.error_scale)
            thr = (args.threshold_px, args.threshold_m or None)
            results["truth as prediction"].append(
                {h: score(scene, *truth_as_prediction(scene), True, h, PRED_HEAD)
                 for h in HEADS})
            results["oracle triangulation"].append(run_oracle(scene, thr[0], False, thr[1]))
            results["oracle + completion"].append(run_oracle(scene, thr[0], True, thr[1]))
            results["full path"].append(run_stages(scene, *thr))
        for head in HEADS:
            for name, by_head in results.items():
                rs = [r[head] for r in by_head]
                limbs = np.nanmean([r["pcp_per_limb"] for r in rs], 0)
                gt_frames = sum(r["gt_person_frames"] for r in rs)
                pred_frames = max(sum(r["pred_person_frames"] for r in rs), 1)
                print(f"| {row} | {head} | {name} | {100 * np.mean([r['pcp'] for r in rs]):.1f} "
                      "| " + " | ".join(f"{100 * v:.0f}" for v in limbs)
                      + f" | {np.mean([r['mpjpe_mm'] for r in rs]):.1f} | "
                      f"{100 * sum(r['misses'] for r in rs) / gt_frames:.2f} | "
                      f"{100 * sum(r['ghosts'] for r in rs) / pred_frames:.2f} |", flush=True)
        full = [r[HEADS[0]] for r in results["full path"]]
        total = {k: sum(r[k].get(s, 0) for r in full for s in r[k])
                 for k in ("miss_stage", "refused_groups", "ghost_kind")}
        merged = {k: dict(sum((Counter(r[k]) for r in full), Counter()))
                  for k in ("miss_stage", "refused_groups", "ghost_kind")}
        notes.append(f"{row}: misses by stage {merged['miss_stage']} (of "
                     f"{sum(r['gt_person_frames'] for r in full)} person-frames); refused "
                     f"groups of a real person {merged['refused_groups']}; ghosts "
                     f"{merged['ghost_kind']}; {np.mean([r['cpu_ms_per_frame'] for r in full]):.2f}"
                     f" ms CPU / frame; totals {total}")
    print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
