"""Multi-person multi-view benchmark with 3D ground truth: PCP, MPJPE, ghosts, misses, id switches.

Scenes: several people moving together in a rig (3, 5, 8 cameras on a ring, and the demo's
4-camera Qualisys rig), people entering and leaving, occlusion between people by depth order,
2D noise, confident wrong joints, and false detections in every camera (human-shaped people
that are not there, and partial duplicates of real people, as 2D detectors produce them).
The scene generator is `pose3d_ros/core/rig_scenes.py`: the real motion capture (DeepMimic clips,
core/mocap_scenes.py), virtual rigs and occlusion (core/mocap_views.py), and the 2D error
model measured from the package's detector (core/error_model.py).

Methods (same 2D input):
  before    main's multi-view path: associate() + triangulate(), every person with a joint
            published, then the tracker (the package before #14);
  after     Pose3DPipeline.process_detections: association with duplicate merging and view
            recovery, triangulation, skeleton completion and plausibility, tracking;
  anipose / p2s   aniposelib's DLT and Pose2Sim's best-camera triangulation, given the TRUE
            association (no false detections) since neither associates people across views:
            a bound for what triangulation alone gives, 1-person scenes only.

Scored with core.multiperson_metrics (Campus/Shelf PCP; predictions' head from ears and
shoulders, MOCAP_PRED_HEAD, since the nose-based derivation of the protocol's evaluation code
assumes an upright person, `--pred-head nose` for it; the ground truth's head bottom and top
from the mocap body's head, `--gt-head body`, the default, as Campus/Shelf annotate them, or
derived like the predictions', `--gt-head derived`, the definition before 2026-11-30;
`--gt-head both` scores both and prints them side by side with the truth itself as prediction).
    python benchmarks/bench_multiview_people.py [--frames 60] [--json out.json] [--gt-head both]
    PYTHONPATH=/tmp/benchpkgs python benchmarks/bench_multiview_people.py --peers
    python benchmarks/bench_multiview_people.py --outputs a.npz  # in two checkouts, then
    python benchmarks/bench_multiview_people.py --same-outputs a.npz b.npz   # same people?
"""
from __future__ import annotations

import argparse
import json
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

from pose3d_ros.core.association import associate_normalized, gather  # noqa: E402
from pose3d_ros.core.camera import CameraArrays  # noqa: E402
from pose3d_ros.core.multiperson_metrics import (  # noqa: E402
    DEFAULT_GT_HEAD,
    GT_HEADS,
    MOCAP_PRED_HEAD,
    PCP_LIMB_NAMES,
    PRED_HEADS,
    mocap_truth_to_campus14,
    score_multiperson,
    to_campus14,
)
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline  # noqa: E402
from pose3d_ros.core.rig_scenes import Scene, make_scene  # noqa: E402
from pose3d_ros.core.tracking import SkeletonTracker  # noqa: E402
from pose3d_ros.core.triangulation import triangulate_normalized  # noqa: E402
from pose3d_ros.core.undistortion import undistort_normalised  # noqa: E402

THRESHOLD_PX = 40.0  # the pipeline's default outlier threshold (pixels)


def run_before(scene: Scene, threshold_px: float = THRESHOLD_PX) -> tuple[list, list, float]:
    """main's path: association + robust triangulation, people with >= 1 joint, tracking.
    Returns predictions, ids, CPU seconds per frame (the same stages as the pipeline's)."""
    arrays = CameraArrays.from_cameras(scene.rig.cameras)
    tracker = SkeletonTracker()
    preds, ids = [], []
    t0 = time.process_time()
    for f, dets in enumerate(scene.detections):
        found = [replace(d, keypoints=undistort_normalised(cam, d.keypoints))
                 for cam, d in zip(scene.rig.cameras, dets, strict=True)]
        assoc = associate_normalized(arrays, [d.keypoints for d in found],
                                     [d.scores for d in found], **BEFORE_ASSOCIATION)
        kp, sc = gather(found, assoc)
        res = triangulate_normalized(arrays, kp, sc, outlier_threshold_px=threshold_px)
        keep = np.isfinite(res.points).all(-1).any(-1)
        points = res.points[keep]
        ids.append(tracker.update(points, f / scene.fps))
        preds.append(points)
    return preds, ids, (time.process_time() - t0) / max(len(scene.detections), 1)


BEFORE_ASSOCIATION = {"merge_distance_m": None, "prefer_stronger": False}  # pre-#14


def run_after(scene: Scene, threshold_px: float = THRESHOLD_PX) -> tuple[list, list, float]:
    pipe = Pose3DPipeline([c.name for c in scene.rig.cameras],
                          {c.name: c for c in scene.rig.cameras}, frame_id="rig",
                          params=PipelineParams(outlier_threshold_px=threshold_px,
                                                filtering=None))
    preds, ids = [], []
    t0 = time.process_time()
    for f, dets in enumerate(scene.detections):
        result = pipe.process_detections({c.name: d for c, d in zip(scene.rig.cameras, dets,
                                                                    strict=True)}, f / scene.fps)
        preds.append(result.skeletons.positions)
        ids.append(result.skeletons.ids)
    return preds, ids, (time.process_time() - t0) / max(len(scene.detections), 1)


def run_lone(scene: Scene, threshold_px: float = THRESHOLD_PX, floor: bool = False
             ) -> tuple[list, list, float, np.ndarray]:
    """The full path with lone views (PipelineParams.lone_views: people whom one camera alone
    sees placed by the lifter, the scene's 2D has no detector 3D), output in H36M-17 (the
    scene's layout); floor: their distance from the floor at z = 0 (floor_contact). Returns
    predictions, ids, CPU seconds per frame, and the pelvis distance (m) of every published
    lone person-frame to the nearest true pelvis."""
    from pose3d_ros.core.floor_contact import FloorParams
    from pose3d_ros.core.lone_views import LoneViewParams
    from pose3d_ros.core.monocular import create_monocular_method
    from pose3d_ros.core.types import METHOD_TRIANGULATION

    pipe = Pose3DPipeline([c.name for c in scene.rig.cameras],
                          {c.name: c for c in scene.rig.cameras}, frame_id="rig",
                          params=PipelineParams(outlier_threshold_px=threshold_px,
                                                filtering=None, output_layout="h36m17",
                                                lone_views=LoneViewParams(),
                                                floor=FloorParams() if floor else None),
                          lifter=create_monocular_method("lifter"))
    preds, ids, root_errors = [], [], []
    t0 = time.process_time()
    for f, dets in enumerate(scene.detections):
        result = pipe.process_detections({c.name: d for c, d in zip(scene.rig.cameras, dets,
                                                                    strict=True)}, f / scene.fps)
        skeletons = result.skeletons
        preds.append(skeletons.positions)
        ids.append(skeletons.ids)
        lone = skeletons.methods() != METHOD_TRIANGULATION
        truth = scene.truth[f, scene.present[f], 0]
        if lone.any() and len(truth):
            gap = np.linalg.norm(skeletons.positions[lone, None, 0] - truth[None], axis=-1)
            root_errors += gap.min(1).tolist()
    spent = (time.process_time() - t0) / max(len(scene.detections), 1)
    return preds, ids, spent, np.array(root_errors)


def timing(clips: list, frames: int, threshold_px: float, repeats: int = 3) -> int:
    """CPU and wall ms per frame of both paths at 5 cameras x 4 people, repeated."""
    scenes = [make_scene("5", 4, frames, seed, clips) for seed in range(2)]
    print(f"2D people per frame: {np.mean([s.detections_per_frame for s in scenes]):.1f}")
    for rep in range(repeats):
        line = []
        for name, run in (("before", run_before), ("after", run_after)):
            wall = time.perf_counter()
            cpu = np.mean([run(s, threshold_px)[2] for s in scenes])
            wall = (time.perf_counter() - wall) / (frames * len(scenes))
            line.append(f"{name} {1000 * cpu:.2f} ms CPU / {1000 * wall:.2f} ms wall")
        print(f"run {rep}: " + ", ".join(line) + f" (load {os.getloadavg()[0]:.1f})",
              flush=True)
    return 0


def oracle_views(scene: Scene) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each present person's own detections (the TRUE association, no false or duplicate
    detection): keypoints (N, V, J, 2) raw pixels, NaN where unusable (score < 0.3), scores
    (N, V, J), and (N, 2) (frame, person) of each row."""
    rows, kps, scs = [], [], []
    n_views, n_joints = len(scene.rig.cameras), scene.layout.num_joints
    for f in range(scene.num_frames):
        for person in np.flatnonzero(scene.present[f]):
            kp = np.full((n_views, n_joints, 2), np.nan)
            sc = np.zeros((n_views, n_joints))
            for v, det in enumerate(scene.detections[f]):
                idx = np.flatnonzero(scene.sources[f][v] == person)
                if idx.size:
                    kp[v], sc[v] = det.keypoints[idx[0]], det.scores[idx[0]]
            kp[sc < 0.3] = np.nan
            rows.append((f, person))
            kps.append(kp)
            scs.append(sc)
    return np.array(kps), np.array(scs), np.array(rows).reshape(-1, 2)


def run_peers(scene: Scene, threshold_px: float) -> dict:
    """Triangulation alone on the true association: ours (robust), aniposelib's DLT and
    Pose2Sim's best-camera triangulation (bench_triangulation's wrappers). PCP, MPJPE and
    CPU ms per frame (all people of a frame)."""
    import importlib.util

    from bench_triangulation import anipose, ours, pose2sim
    kp, sc, rows = oracle_views(scene)
    out = {}
    methods = [("ours (triangulation only)", ours(threshold_px))]
    # the peers only where installed (PYTHONPATH=/tmp/benchpkgs), as bench_triangulation does
    for name, package, make in (("aniposelib DLT", "aniposelib", lambda: anipose(False)),
                                ("Pose2Sim best cameras", "Pose2Sim",
                                 lambda: pose2sim(True, threshold_px))):
        if importlib.util.find_spec(package) is None:
            print(f"{name}: {package} is not installed; its rows are left out", flush=True)
        else:
            methods.append((name, make()))
    for name, method in methods:
        method(scene.rig, kp[:1], sc[:1])                     # warm-up (JAX compiles)
        t0 = time.process_time()
        points = method(scene.rig, kp, sc)
        spent = (time.process_time() - t0) / scene.num_frames
        preds = [points[rows[:, 0] == f] for f in range(scene.num_frames)]
        out[name] = score(scene, preds, [rows[rows[:, 0] == f, 1] + 1
                                         for f in range(scene.num_frames)])
        out[name]["cpu_ms_per_frame"] = 1000 * spent
    return out


def score(scene: Scene, preds: list, ids: list, per_limb: bool = False,
          gt_head: str = DEFAULT_GT_HEAD, pred_head: str = PRED_HEADS[0]) -> dict:
    """The scene's scores (multiperson_metrics summary) of per-frame predictions (P, J, 3) in the
    scene's layout with their ids; per_limb: also "pcp_per_limb" (Campus limb order); gt_head:
    the ground truth's head ends (multiperson_metrics.GT_HEADS: "body" or "derived");
    pred_head: how the predictions' head is derived (PRED_HEADS: "nose", the protocol's, or
    "ears"; with gt_head "derived" the ground truth's too)."""
    gt, gt_ids = [], []
    for f in range(scene.num_frames):
        present = scene.present[f]
        gt.append(mocap_truth_to_campus14(scene.truth[f, present], gt_head, pred_head))
        gt_ids.append(np.flatnonzero(present))
    campus = [to_campus14(p, scene.layout, derivation=pred_head) for p in preds]
    result = score_multiperson(campus, gt, gt_ids=gt_ids, pred_ids=ids)
    if not per_limb:
        return result.summary()
    return result.summary() | {"pcp_per_limb": result.pcp_per_limb.tolist()}


def truth_as_prediction(scene: Scene) -> tuple[list, list]:
    """The true joints of the present people as predictions (P, J, 3) per frame, with their ids:
    what a perfect system would publish (its PCP is the ceiling a ground-truth head allows)."""
    return ([scene.truth[f, scene.present[f]] for f in range(scene.num_frames)],
            [np.flatnonzero(scene.present[f]) for f in range(scene.num_frames)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--rigs", default="3,5,8,demo")
    parser.add_argument("--people", default="1,2,4,6")
    parser.add_argument("--error-scale", type=float, default=1.0,
                        help="measured 2D residuals times this (1 = as measured)")
    parser.add_argument("--threshold-px", type=float, default=THRESHOLD_PX,
                        help="outlier threshold of the robust triangulation (pixels)")
    parser.add_argument("--peers", action="store_true",
                        help="also aniposelib and Pose2Sim (PYTHONPATH=/tmp/benchpkgs) on the "
                        "1-person scenes, given the true association")
    parser.add_argument("--timing", action="store_true",
                        help="only time both paths at 5 cameras x 4 people (2 scenes, 3 runs)")
    parser.add_argument("--gt-head", choices=GT_HEADS + ("both",), default=DEFAULT_GT_HEAD,
                        help="ground truth's head bottom/top: the mocap body's head (body, as "
                        "Campus/Shelf annotate it), derived from nose and shoulders like the "
                        "predictions' (derived), or both side by side (tables use body)")
    parser.add_argument("--pred-head", choices=PRED_HEADS, default=MOCAP_PRED_HEAD,
                        help="predictions' head from nose and shoulders (the protocol's for "
                        "upright people) or from ears and shoulders (VoxelPose's Campus "
                        "conversion; default here: right in every pose of the clips)")
    parser.add_argument("--lone", action="store_true",
                        help="also the full path with lone views (people one camera alone "
                        "sees, placed by the lifter), without and with the floor; try "
                        "--rigs robot (4 cameras back to back)")
    parser.add_argument("--json", default="")
    parser.add_argument("--outputs", default="",
                        help="also write the full path's 3D and ids of every frame (.npz), for "
                        "--same-outputs")
    parser.add_argument("--same-outputs", nargs=2, metavar=("A_NPZ", "B_NPZ"),
                        help="only check that two --outputs runs (e.g. two checkouts, same "
                        "scenes) published the same people: ids equal, 3D within 1e-9 m")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE_JSON", "AFTER_JSON"),
                        help="only print the table of two --json runs (e.g. two checkouts, "
                        "same seeds): BEFORE's full path against AFTER's")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if args.same_outputs:
        return same_outputs(*args.same_outputs)
    warnings.simplefilter("ignore", RuntimeWarning)
    from pose3d_ros.tools.fetch_mocap import load_mocap
    clips = load_mocap()
    if args.timing:
        return timing(clips, args.frames, args.threshold_px)
    heads = GT_HEADS if args.gt_head == "both" else (args.gt_head,)
    rows, outputs = [], {}
    for rig_name in args.rigs.split(","):
        for people in (int(p) for p in args.people.split(",")):
            for seed in range(args.seeds):
                scene = make_scene(rig_name, people, args.frames, seed, clips,
                                   error_scale=args.error_scale)
                row = {"rig": rig_name, "people": people, "seed": seed,
                       "detections_per_frame": scene.detections_per_frame}
                for name, run in (("before", run_before), ("after", run_after)):
                    preds, ids, spent = run(scene, args.threshold_px)
                    if name == "after":
                        outputs |= _frames(f"{rig_name}/{people}/{seed}", preds, ids)
                    by_head = {h: score(scene, preds, ids, True, h, args.pred_head)
                               for h in heads}
                    row[name] = by_head[heads[0]] | {"cpu_ms_per_frame": 1000 * spent}
                    row.setdefault("by_gt_head", {})[name] = by_head
                row["by_gt_head"]["truth"] = {h: score(scene, *truth_as_prediction(scene), True,
                                                       h, args.pred_head) for h in heads}
                if args.lone:
                    for name, floor in (("lone", False), ("lone_floor", True)):
                        preds, ids, spent, root = run_lone(scene, args.threshold_px, floor)
                        row[name] = score(scene, preds, ids, False, heads[0],
                                          args.pred_head) | {
                            "cpu_ms_per_frame": 1000 * spent,
                            "lone_person_frames": int(root.size),
                            "lone_root_errors_m": root.tolist()}
                if args.peers and people == 1:
                    row["peers"] = run_peers(scene, args.threshold_px)
                rows.append(row)
                print(_line(row), flush=True)
    print(to_markdown(rows))
    if args.lone:
        print(lone_markdown(rows))
    if len(heads) > 1:
        print(heads_markdown(rows, heads))
    if args.peers:
        print(peers_markdown(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "machine": _machine(),
                                               "gt_head": heads[0],
                                               "pred_head": args.pred_head}, indent=1))
    if args.outputs:
        np.savez_compressed(args.outputs, **outputs)
    return 0


def _frames(scene_key: str, preds: list, ids: list) -> dict[str, np.ndarray]:
    """One scene's published people as arrays named '<rig>/<people>/<seed>/<frame>/points'
    ((P, J, 3) metres) and '.../ids' ((P,))."""
    out = {}
    for f, (points, person_ids) in enumerate(zip(preds, ids, strict=True)):
        out[f"{scene_key}/{f}/points"] = np.asarray(points, np.float64)
        out[f"{scene_key}/{f}/ids"] = np.asarray(person_ids, np.int64)
    return out


def same_outputs(a_path: str, b_path: str, tolerance_m: float = 1e-9) -> int:
    """Exit 0 when two --outputs files hold the same frames, the same ids and 3D points within
    tolerance_m (NaN where the other has NaN); else print the first differences, exit 1."""
    with np.load(a_path) as a, np.load(b_path) as b:
        if set(a.files) != set(b.files):
            print(f"different frames: {len(set(a.files) ^ set(b.files))} not in both")
            return 1
        worst, bad = 0.0, []
        for key in sorted(a.files):
            x, y = a[key], b[key]
            if x.shape != y.shape:
                bad.append(f"{key}: shape {x.shape} != {y.shape}")
            elif key.endswith("/ids"):
                if not np.array_equal(x, y):
                    bad.append(f"{key}: ids {x.tolist()} != {y.tolist()}")
            elif not np.array_equal(np.isnan(x), np.isnan(y)):
                bad.append(f"{key}: missing joints differ")
            elif x.size:
                worst = max(worst, float(np.nanmax(np.abs(x - y), initial=0.0)))
        frames = sum(key.endswith("/ids") for key in a.files)
        print(f"{frames} frames, {len(bad)} differing in people or ids, largest 3D difference "
              f"{worst:.3g} m")
        for line in bad[:10]:
            print("  " + line)
        return 0 if not bad and worst <= tolerance_m else 1


def _line(row: dict) -> str:
    b, a = row["before"], row["after"]
    return (f"{row['rig']:>5} {row['people']}p seed {row['seed']}: PCP {b['pcp']:.3f} -> "
            f"{a['pcp']:.3f}, ghosts {b['ghosts']} -> {a['ghosts']}, misses {b['misses']} -> "
            f"{a['misses']}, idsw {b['id_switches']} -> {a['id_switches']}, ms "
            f"{b['cpu_ms_per_frame']:.2f} -> {a['cpu_ms_per_frame']:.2f}")


def to_markdown(rows: list[dict]) -> str:
    """One table row per rig x crowd size (seeds pooled by person-frames)."""
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r["rig"], r["people"]), []).append(r)
    out = ["| rig | people | 2D people / frame | PCP % before / after | MPJPE mm before / after "
           "| ghost person-frames % before / after | misses % before / after | id switches "
           "before / after | CPU ms / frame before / after |", "|---" * 9 + "|"]
    for (rig, people), rs in groups.items():
        out.append(
            f"| {rig} | {people} | {np.mean([r['detections_per_frame'] for r in rs]):.1f} | "
            f"{100 * _mean(rs, 'before', 'pcp'):.1f} / {100 * _mean(rs, 'after', 'pcp'):.1f} | "
            f"{_mean(rs, 'before', 'mpjpe_mm'):.1f} / {_mean(rs, 'after', 'mpjpe_mm'):.1f} | "
            f"{_rate(rs, 'before', 'ghosts', 'pred_person_frames'):.2f} / "
            f"{_rate(rs, 'after', 'ghosts', 'pred_person_frames'):.2f} | "
            f"{_rate(rs, 'before', 'misses', 'gt_person_frames'):.2f} / "
            f"{_rate(rs, 'after', 'misses', 'gt_person_frames'):.2f} | "
            f"{sum(r['before']['id_switches'] for r in rs)} / "
            f"{sum(r['after']['id_switches'] for r in rs)} | "
            f"{_mean(rs, 'before', 'cpu_ms_per_frame'):.2f} / "
            f"{_mean(rs, 'after', 'cpu_ms_per_frame'):.2f} |")
    return "\n".join(out)


def lone_markdown(rows: list[dict]) -> str:
    """The full path without and with lone views (--lone), seeds pooled as in to_markdown."""
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r["rig"], r["people"]), []).append(r)
    runs = ("after", "lone", "lone_floor")
    out = ["| rig | people | PCP % without / lone / lone + floor | MPJPE mm | ghost "
           "person-frames % | misses % | id switches | lone person-frames | lone root error "
           "m median, p90 (lone / + floor) | CPU ms / frame |", "|---" * 10 + "|"]
    for (rig, people), rs in groups.items():
        pcp = " / ".join(f"{100 * _mean(rs, k, 'pcp'):.1f}" for k in runs)
        mpjpe = " / ".join(f"{_mean(rs, k, 'mpjpe_mm'):.1f}" for k in runs)
        ghosts = " / ".join(f"{_rate(rs, k, 'ghosts', 'pred_person_frames'):.2f}" for k in runs)
        misses = " / ".join(f"{_rate(rs, k, 'misses', 'gt_person_frames'):.2f}" for k in runs)
        switches = " / ".join(str(sum(r[k]["id_switches"] for r in rs)) for k in runs)
        lone = " / ".join(str(sum(r[k]["lone_person_frames"] for r in rs)) for k in runs[1:])
        roots = [np.concatenate([np.asarray(r[k]["lone_root_errors_m"]) for r in rs])
                 for k in runs[1:]]
        spread = " / ".join(f"{np.median(e):.2f}, {np.percentile(e, 90):.2f}" if e.size
                            else "-" for e in roots)
        cpu = " / ".join(f"{_mean(rs, k, 'cpu_ms_per_frame'):.2f}" for k in runs)
        out.append(f"| {rig} | {people} | {pcp} | {mpjpe} | {ghosts} | {misses} | {switches} "
                   f"| {lone} | {spread} | {cpu} |")
    return "\n".join(out)


def heads_markdown(rows: list[dict], heads: tuple[str, ...]) -> str:
    """The full path ("after") and the truth itself as prediction scored with each ground-truth
    head (seeds pooled as in to_markdown): PCP, and PCP of the head, the torso (its far end is
    head bottom) and the 8 arm and leg limbs, which the head definition cannot change."""
    head, torso = PCP_LIMB_NAMES.index("head"), PCP_LIMB_NAMES.index("torso")
    names = " / ".join(heads)
    out = [f"| rig | people | PCP % after ({names}) | ceiling: truth as prediction, PCP % | "
           f"head limb % after | torso % after | 8 arm + leg limbs % after | ceiling head "
           f"limb % |", "|---" * 8 + "|"]
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r["rig"], r["people"]), []).append(r["by_gt_head"])
    for (rig, people), rs in groups.items():
        cells = [_per_head(rs, "after", heads, lambda s: s["pcp"]),
                 _per_head(rs, "truth", heads, lambda s: s["pcp"]),
                 _per_head(rs, "after", heads, lambda s: s["pcp_per_limb"][head]),
                 _per_head(rs, "after", heads, lambda s: s["pcp_per_limb"][torso]),
                 _per_head(rs, "after", heads, lambda s: np.mean(s["pcp_per_limb"][:8])),
                 _per_head(rs, "truth", heads, lambda s: s["pcp_per_limb"][head])]
        out.append(f"| {rig} | {people} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _per_head(rows: list[dict], run: str, heads: tuple[str, ...], pick) -> str:
    """'x / y' percentages: pick(score) of `run` averaged over rows, one per head definition."""
    return " / ".join(f"{100 * np.mean([pick(r[run][h]) for r in rows]):.1f}" for h in heads)


def compare(before_json: str, after_json: str) -> int:
    """Print to_markdown() of two runs' full paths ("after" of each), row by row."""
    before, after = (json.loads(Path(p).read_text())["rows"] for p in (before_json, after_json))
    key = [(r["rig"], r["people"], r["seed"]) for r in before]
    if key != [(r["rig"], r["people"], r["seed"]) for r in after]:
        print("the two runs have different scenes (rigs, people, seeds)", file=sys.stderr)
        return 2
    print(to_markdown([b | {"before": b["after"], "after": a["after"]}
                       for b, a in zip(before, after, strict=True)]))
    return 0


def peers_markdown(rows: list[dict]) -> str:
    """Triangulation-only comparison on the true association (1-person scenes)."""
    out = ["| rig | method | PCP % | MPJPE mm | CPU ms / frame |", "|---|---|---|---|---|"]
    for rig in dict.fromkeys(r["rig"] for r in rows if "peers" in r):
        rs = [r for r in rows if r["rig"] == rig and "peers" in r]
        for name in rs[0]["peers"]:
            vals = [r["peers"][name] for r in rs]
            out.append(f"| {rig} | {name} | {100 * np.mean([v['pcp'] for v in vals]):.1f} | "
                       f"{np.mean([v['mpjpe_mm'] for v in vals]):.1f} | "
                       f"{np.mean([v['cpu_ms_per_frame'] for v in vals]):.2f} |")
        out.append(f"| {rig} | pose3d_ros full path (after) | "
                   f"{100 * _mean(rs, 'after', 'pcp'):.1f} | {_mean(rs, 'after', 'mpjpe_mm'):.1f}"
                   f" | {_mean(rs, 'after', 'cpu_ms_per_frame'):.2f} |")
    return "\n".join(out)


def _mean(rows: list[dict], method: str, key: str) -> float:
    return float(np.mean([r[method][key] for r in rows]))


def _rate(rows: list[dict], method: str, key: str, total: str) -> float:
    """Percentage pooled over rows: sum of `key` / sum of `total`."""
    return 100 * sum(r[method][key] for r in rows) / max(sum(r[method][total] for r in rows), 1)


def _machine() -> dict:
    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "load": os.getloadavg(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


if __name__ == "__main__":
    sys.exit(main())
