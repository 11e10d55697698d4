"""Where the in-house multi-person benchmark's ghost person-frames come from, by cause.

On bench_multiview_people's scenes (same generator, same seeds), the full pipeline
(Pose3DPipeline.process_detections, as bench_multiview_people's run_after) with each published
person's cross-view group kept; the predictions are matched to the truth as the scorer does
(Campus-14, match_people with the track ids, 0.5 m gate, a missing joint at the gate), and
each unmatched published person-frame (a ghost) is described by:

  source      whose detections its views are (core/rig_scenes.Scene.sources): one person's
              (a real person published > 0.5 m off), two people's "lone + lone" (each view's
              person seen by that camera only), "lone + taken" (a view of a person other
              cameras see too: that person's view was taken from them), with a false
              detection, with a duplicate box;
  views       how many cameras' detections it holds;
  absent      each other camera that should see its body (centre inside the image less 5 %,
              in front: group_checks.count_unexplained's test) and what it shows there: a
              detection box (grown 20 %, the check's) or none, and a true person whose body
              covers that point nearer the camera (an occluder) or none;
  unexplained absences no box explains, by the visibility check's test applied to the
              published (completed) body, not the association's DLT points, against its
              views (the association drops a group when unexplained >= views);
  floor       its lowest joint's height above the scenes' floor (z = 0), over 0.4 m or not;
  track       a new id, the id of a ghost the frame before, or of a real person.

    python benchmarks/diagnose_ghosts.py --rows demox4,demox6 --seeds 0,1 [--each]
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script from a checkout: use this checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_multiview_people import THRESHOLD_PX  # noqa: E402

from pose3d_ros.core.array_ops import masked_extent  # noqa: E402
from pose3d_ros.core.camera import CameraArrays  # noqa: E402
from pose3d_ros.core.group_checks import ABSENCE_BOX_GROWTH, inner_bounds  # noqa: E402
from pose3d_ros.core.metrics import match_people  # noqa: E402
from pose3d_ros.core.multiperson_metrics import (  # noqa: E402
    DEFAULT_GT_HEAD,
    MOCAP_PRED_HEAD,
    mocap_truth_to_campus14,
    to_campus14,
)
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline  # noqa: E402
from pose3d_ros.core.rig_scenes import Scene, make_scene  # noqa: E402
from pose3d_ros.core.undistortion import undistort_normalised  # noqa: E402

FLOATING_M = 0.4        # a lowest joint this high above the floor: a floating body


def run_with_groups(scene: Scene) -> tuple[list, list, list]:
    """The full pipeline on the scene: per frame the published positions (P, J, 3) rig frame,
    their track ids (P,), and the cross-view group (P, V) of each (detection index per camera,
    -1 none)."""
    cams = scene.rig.cameras
    pipe = Pose3DPipeline([c.name for c in cams], {c.name: c for c in cams}, frame_id="rig",
                          params=PipelineParams(outlier_threshold_px=THRESHOLD_PX,
                                                filtering=None))
    completed = {}
    complete = pipe.completer.complete

    def keep_completion(*args, **kwargs):
        completed["done"] = done = complete(*args, **kwargs)
        return done

    pipe.completer.complete = keep_completion    # type: ignore[method-assign]
    preds, ids, groups = [], [], []
    for f, dets in enumerate(scene.detections):
        completed.clear()
        result = pipe.process_detections(dict(zip([c.name for c in cams], dets, strict=True)),
                                         f / scene.fps)
        members = np.zeros((0, len(cams)), int)
        if "done" in completed and result.association is not None:
            members = result.association.members[completed["done"].publish]
        if len(members) != len(result.skeletons.positions):
            raise RuntimeError(f"frame {f}: {len(members)} groups for "
                               f"{len(result.skeletons.positions)} published people")
        preds.append(result.skeletons.positions)
        ids.append(result.skeletons.ids)
        groups.append(members)
    return preds, ids, groups


def ghosts_of(scene: Scene, preds: list, ids: list) -> list[np.ndarray]:
    """Per frame the indices of the published people the scorer matches to nobody
    (multiperson_metrics.score_multiperson's matching)."""
    gt = [mocap_truth_to_campus14(scene.truth[f, scene.present[f]], DEFAULT_GT_HEAD,
                                  MOCAP_PRED_HEAD) for f in range(scene.num_frames)]
    gt = [np.asarray(g, np.float64).reshape(-1, 14, 3) for g in gt]
    gt_ids = [np.flatnonzero(scene.present[f]) for f in range(scene.num_frames)]
    campus = [to_campus14(p, scene.layout, derivation=MOCAP_PRED_HEAD) for p in preds]
    matching = match_people(campus, gt, max_distance=0.5, missing_cost=0.5, pred_ids=ids,
                            ref_ids=gt_ids)
    return [np.setdiff1d(np.arange(len(p)), pair[:, 0])
            for p, pair in zip(preds, matching.pairs, strict=True)]


def describe(scene: Scene, label: str, each: bool) -> Counter:
    """Counts of the scene's ghost person-frames by each description (module docstring);
    each: also print one line per ghost."""
    preds, ids, groups = run_with_groups(scene)
    arrays = CameraArrays.from_cameras(scene.rig.cameras)
    low, high = inner_bounds(arrays)
    n_views = arrays.num_cameras
    out: Counter = Counter()
    ghost_ids_before: set = set()
    ids_before: set = set()
    for f, ghosts in enumerate(ghosts_of(scene, preds, ids)):
        sources = scene.sources[f]
        cameras_seeing = Counter(int(s) for v in range(n_views) for s in sources[v] if s >= 0)
        truth_in_camera = arrays.to_cameras(scene.truth[f])          # (P, J, V, 3)
        ghost_ids = set()
        for g in ghosts:
            track = int(ids[f][g])
            ghost_ids.add(track)
            members = groups[f][g]
            views = np.flatnonzero(members >= 0)
            who = [int(sources[v][members[v]]) for v in views]
            people = {w if w >= 0 else -2 - w for w in who if w != -1}
            if -1 in who:
                source = "with a false detection"
            elif any(w < -1 for w in who):
                source = "with a duplicate box"
            elif len(people) == 1:
                source = "one person's views (published off)"
            elif all(cameras_seeing[w] == 1 for w in who):
                source = "two people's: lone + lone"
            else:
                source = "two people's: lone + taken"
            points = preds[f][g]
            known = np.isfinite(points).all(-1)
            centre = arrays.to_cameras(points[known].mean(0))          # (V, 3)
            xy = centre[:, :2] / centre[:, 2:3]
            inside = (centre[:, 2] > 0.1) & (xy > low).all(-1) & (xy < high).all(-1)
            shown = []
            unexplained = 0
            for v in np.flatnonzero(inside & (members < 0)):
                kp = undistort_normalised(scene.rig.cameras[v], scene.detections[f][v].keypoints)
                box = False
                if len(kp):
                    box_low, box_high = masked_extent(kp, np.isfinite(kp), axis=1)
                    grow = ABSENCE_BOX_GROWTH * (box_high - box_low)
                    box = bool(((xy[v] >= box_low - grow) & (xy[v] <= box_high + grow))
                               .all(-1).any())
                occluder = False
                for p in np.flatnonzero(scene.present[f]):
                    body = truth_in_camera[p, :, v]
                    front = np.isfinite(body).all(-1) & (body[:, 2] > 0.1)
                    if not front.any():
                        continue
                    body_xy = body[front, :2] / body[front, 2:3]
                    lo, hi = body_xy.min(0), body_xy.max(0)
                    grow = ABSENCE_BOX_GROWTH * (hi - lo)
                    occluder |= bool(((xy[v] >= lo - grow) & (xy[v] <= hi + grow)).all()
                                     and np.median(body[front, 2]) < centre[v, 2])
                unexplained += not box
                shown.append(f"c{v}:{'box' if box else 'no box'}"
                             f"{', occluder' if occluder else ''}")
                out[f"absent camera: {'a box' if box else 'no box'}, "
                    f"{'an occluder' if occluder else 'no occluder'}"] += 1
            lowest = float(points[known, 2].min())
            track_kind = ("ghost's" if track in ghost_ids_before else
                          "real person's" if track in ids_before else "new")
            out["ghost person-frames"] += 1
            out[f"source: {source}"] += 1
            out[f"views: {len(views)}"] += 1
            out[f"unexplained / views: {unexplained} / {len(views)}"] += 1
            out[f"lowest joint > {FLOATING_M} m: {lowest > FLOATING_M}"] += 1
            out[f"track: {track_kind}"] += 1
            if each:
                print(f"  {label} frame {f} id {track}: {source}, cameras {views.tolist()} "
                      f"hold people {who} (seen by {[cameras_seeing.get(w, 0) for w in who]} "
                      f"cameras), lowest joint {lowest:.2f} m, {track_kind} track; absent "
                      f"where it should be seen: {'; '.join(shown) or 'none'}")
        ghost_ids_before = ghost_ids
        ids_before = set(np.asarray(ids[f]).tolist())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="demox4,demox6",
                        help="rig x people, comma-separated (e.g. demox4,5x6)")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--each", action="store_true", help="one line per ghost")
    args = parser.parse_args(argv)
    from pose3d_ros.tools.fetch_mocap import load_mocap
    clips = load_mocap()
    total: Counter = Counter()
    for row in args.rows.split(","):
        rig_name, people = row.split("x")
        for seed in map(int, args.seeds.split(",")):
            scene = make_scene(rig_name, int(people), args.frames, seed, clips)
            counts = describe(scene, f"{row} seed {seed}", args.each)
            print(f"{row} seed {seed}: {counts['ghost person-frames']} ghost person-frames",
                  flush=True)
            total += counts
    print(f"\nall ({args.rows}, seeds {args.seeds}, {args.frames} frames):")
    for key, count in sorted(total.items()):
        print(f"  {key}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
