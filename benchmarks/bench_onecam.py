"""One camera alone: id stability, root-depth jitter, bone-length CV, unanswered frames and
ghosts, per demo camera, for both monocular methods.

Each demo camera's video is run alone through pose3d_ros.core.pipeline (cached 2D of the
package's default back-end, blazepose_multi on both recordings since session 5,
core.detection.cache) with the node's default parameters; the reference is the same
recording triangulated from all four cameras (3D tracking for its ids, no filter).
Identities and ghosts
are judged in that camera's image (core.evaluation.image_identities): the monocular depth is
a guess, the image is where people are measured.

A last row runs the lifter on a motion-capture scene whose ids and depth are known (two
people walking, one virtual camera, the measured 2D error model, two one-frame false
detections: the scene of test/test_onecam.py).

Steps, so the same 2D can be run through another checkout's pipeline (the "before" column of
benchmarks/RESULTS.md is main's):
  python benchmarks/bench_onecam.py export2d --out 2d.npz   # this checkout's 2D + mocap scene
  PYTHONPATH=OTHER_CHECKOUT python benchmarks/bench_onecam.py run --twod 2d.npz --out before.npz
  python benchmarks/bench_onecam.py run --twod 2d.npz --out after.npz
  python benchmarks/bench_onecam.py score before.npz after.npz
`--stride 2` runs the 60 fps recordings at 30 fps (the rate of the issue's jitter target).
The run step uses only interfaces both versions have (Pose3DPipeline, detect_video_set);
`--bone-window 0` (bones as estimated, before each track's median-bone constraint) and
`--no-relabel` (the image tracker's left/right continuity off) exist in checkouts that have
them. `score --metrics cv,shape` picks columns; "root-rel. error" is the mean joint distance to
the reference after moving the roots together (body shape and left/right labels, not depth).
benchmarks/bench_left_right.py measures the left/right continuity itself.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from pose3d_ros.core.detection import DEFAULT_DETECTOR

# the package's default back-end where it serves (session 5: the two-stage blazepose_multi;
# before, mediapipe's graph "blazepose" on "single"); "multi" needs a multi-person back-end
RECORDINGS = {"single": DEFAULT_DETECTOR, "multi": "blazepose_multi"}
METHODS = ("detector_3d", "lifter")
FPS = 60.0


def _monocular(method: str, bone_window: int | None = None, refine: bool | None = None):
    """The monocular method; bone_window (frames of each track's median bone lengths, 0 = off)
    and refine (monocular_refine_to_2d) only where given, so checkouts without them still
    run."""
    try:
        from pose3d_ros.core.monocular import create_monocular_method
    except ImportError:                       # checkouts before core/monocular.py
        from pose3d_ros.core.pipeline import create_monocular_lifter as create_monocular_method
    options: dict = {} if bone_window is None else {"bone_window": bone_window}
    if refine is not None:
        options["refine_to_2d"] = refine
    return create_monocular_method(method, **options)


def _params(relabel: bool = True, floor: bool = False):
    """The node's default PipelineParams (H36M-17 out); relabel=False turns the image
    tracker's left/right continuity off, floor=True adds floor contact with its defaults
    (the rig frame's z = 0; monocular_floor) (checkouts with them only)."""
    from pose3d_ros.core.pipeline import PipelineParams
    options: dict = {"output_layout": "h36m17"}
    if not relabel:
        from pose3d_ros.core.tracking import ImageTrackerParams
        options["image_tracking"] = ImageTrackerParams(relabel_window_s=0.0)
    if floor:
        from pose3d_ros.core.floor_contact import FloorParams
        options["floor"] = FloorParams()
    return PipelineParams(**options)


def export2d(out: Path) -> None:
    """The cached 2D of every demo camera alone, as plain arrays (any checkout can read them)."""
    from pose3d_ros.core.data_paths import video_paths
    from pose3d_ros.core.detection.cache import detect_video_set

    arrays = {}
    for recording, detector in RECORDINGS.items():
        for k, video in enumerate(video_paths(recording)):
            d = detect_video_set([video], detector)[0]
            key = f"{recording}/{k}"
            arrays.update({f"{key}/keypoints": d.keypoints, f"{key}/scores": d.scores,
                           f"{key}/boxes": d.boxes, f"{key}/person_scores": d.person_scores,
                           f"{key}/num_people": d.num_people, f"{key}/world": d.world,
                           f"{key}/image_size": np.array(d.image_size),
                           f"{key}/layout": np.array(d.layout.name)})
    arrays.update(_mocap_arrays())
    np.savez_compressed(out, **arrays)


def _mocap_arrays(seed: int = 7) -> dict[str, np.ndarray]:
    """Two people walking (real motion capture), 3 s at 30 fps, one virtual camera at 7 m,
    detector-like 2D (the measured error model) and a one-frame false detection in frames
    20 and 55: the scene of test_onecam, as arrays."""
    from pose3d_ros.core.error_model import apply_error_model, false_detections
    from pose3d_ros.core.mocap_scenes import SceneConfig, make_scene
    from pose3d_ros.core.mocap_views import CameraSampling, random_camera
    from pose3d_ros.tools.fetch_mocap import load_mocap

    rng = np.random.default_rng(seed)
    scene = make_scene(load_mocap(["walk"]), rng, SceneConfig(
        num_people=2, fps=30.0, num_frames=90, enter_leave_probability=0.0,
        min_separation_m=1.2))
    camera = random_camera(np.array([0.0, 0.0, 1.0]), rng, CameraSampling(
        distance_m=(7.0, 7.0), height_m=(1.5, 1.5), roll_deg=(0.0, 0.0), aim_jitter_m=0.0,
        fov_deg=(60.0, 60.0), image_sizes=((1280, 720),)), azimuth=0.3)
    exact = camera.project(scene.joints)
    noisy, scores = apply_error_model(exact, rng, frames_axis=0, fps=30.0)
    keypoints = np.full((scene.num_frames, 3, 17, 2), np.nan)
    confidence = np.zeros((scene.num_frames, 3, 17))
    keypoints[:, :2], confidence[:, :2] = noisy, scores
    for t in (20, 55):
        fake, fake_scores = false_detections(rng, 1, (camera.width, camera.height),
                                             pose_pool=exact[t])
        keypoints[t, 2], confidence[t, 2] = fake[0], fake_scores[0]
    return {"mocap/keypoints": keypoints, "mocap/scores": confidence,
            "mocap/truth": scene.joints, "mocap/K": camera.K, "mocap/R": camera.R,
            "mocap/t": camera.t, "mocap/size": np.array([camera.width, camera.height])}


class _Stored2D:
    """One camera's exported 2D, frame by frame as Detections2D."""

    def __init__(self, data, key: str) -> None:
        self.data, self.key = data, key
        self.num_people = data[f"{key}/num_people"]

    def frame(self, t: int):
        from pose3d_ros.core.layouts import get_layout
        from pose3d_ros.core.types import Detections2D

        d, k, n = self.data, self.key, int(self.num_people[t])
        return Detections2D(d[f"{k}/keypoints"][t, :n], d[f"{k}/scores"][t, :n],
                            d[f"{k}/boxes"][t, :n], d[f"{k}/person_scores"][t, :n],
                            get_layout(str(d[f"{k}/layout"])),
                            tuple(int(v) for v in d[f"{k}/image_size"]),
                            d[f"{k}/world"][t, :n])


def run(out: Path, max_frames: int | None, stride: int = 1, twod: Path | None = None, *,
        bone_window: int | None = None, relabel: bool = True, refine: bool | None = None,
        floor: bool = False) -> None:
    """Every (recording, camera, method): per frame the published people (positions in the
    rig frame, H36M-17, ids) or a failure; plus the 4-camera reference per recording.
    stride: use every stride-th video frame (2: the 60 fps demo as 30 fps). bone_window,
    refine, relabel and floor: see _monocular and _params (None / True / False: the
    checkout's defaults)."""
    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.detection.cache import detect_video_set
    from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline
    try:
        from pose3d_ros.core.data_paths import calibration_path, video_paths
    except ImportError:                       # checkouts before core/data_paths.py
        from pose3d_ros.tools.fetch_demo import calibration_path, video_paths

    arrays: dict[str, np.ndarray] = {}
    for recording, detector in RECORDINGS.items():
        rig = load_rig(calibration_path(recording))
        videos = video_paths(recording)
        if twod is not None:
            stored = np.load(twod)
            per_camera = [_Stored2D(stored, f"{recording}/{k}") for k in range(len(videos))]
        else:
            per_camera = [detect_video_set([v], detector, max_frames=max_frames)[0]
                          for v in videos]
        available = min(len(d.num_people) for d in per_camera)
        frames_used = np.arange(0, available if max_frames is None else
                                min(available, max_frames), stride)
        T = len(frames_used)
        stamps = 10.0 + frames_used / FPS
        # tracked (4 views make 3D ids reliable) but unfiltered
        reference = Pose3DPipeline(rig.names, {c.name: c for c in rig}, frame_id=rig.frame_id,
                                   params=PipelineParams(output_layout="h36m17",
                                                         filtering=None))
        _store(arrays, f"{recording}/reference", [reference.process_detections(
            {c.name: per_camera[k].frame(frames_used[t]) for k, c in enumerate(rig)},
            stamps[t]).skeletons
            for t in range(T)], stamps)
        for k, camera in enumerate(rig):
            for method in METHODS:
                pipeline = Pose3DPipeline([camera.name], {camera.name: camera},
                                          frame_id=rig.frame_id,
                                          lifter=_monocular(method, bone_window, refine),
                                          params=_params(relabel, floor))
                frames, failed = [], np.zeros(T, bool)
                started = time.perf_counter()
                for t in range(T):
                    try:
                        frames.append(pipeline.process_detections(
                            {camera.name: per_camera[k].frame(frames_used[t])},
                            stamps[t]).skeletons)
                    except ValueError:
                        frames.append(None)
                        failed[t] = True
                seconds = time.perf_counter() - started
                key = f"{recording}/{camera.name}/{method}"
                _store(arrays, key, frames, stamps)
                arrays[f"{key}/failed"] = failed
                arrays[f"{key}/seconds"] = np.array(seconds)
                print(f"{key}: {T} frames, {failed.sum()} failed, {seconds:.1f} s", flush=True)
    if twod is not None and "mocap/keypoints" in np.load(twod):
        mocap = np.load(twod)
        _run_mocap(mocap, arrays, bone_window, relabel, refine, floor)
        arrays.update({k: mocap[k] for k in ("mocap/truth", "mocap/K", "mocap/R", "mocap/t",
                                             "mocap/size")})
    np.savez_compressed(out, **arrays)


def _mocap_camera(data):
    from pose3d_ros.core.camera import CameraModel

    width, height = (int(v) for v in data["mocap/size"])
    return CameraModel("cam01", "cam01_optical_frame", width, height, data["mocap/K"],
                       np.zeros(5), "plumb_bob", data["mocap/R"], data["mocap/t"])


def _run_mocap(data, arrays: dict, bone_window: int | None = None, relabel: bool = True,
               refine: bool | None = None, floor: bool = False) -> None:
    """The lifter on the exported motion-capture scene (H36M-17 2D, one camera)."""
    from pose3d_ros.core.layouts import H36M17
    from pose3d_ros.core.pipeline import Pose3DPipeline
    from pose3d_ros.core.types import Detections2D

    camera = _mocap_camera(data)
    pipeline = Pose3DPipeline(["cam01"], {"cam01": camera}, frame_id="world",
                              lifter=_monocular("lifter", bone_window, refine),
                              params=_params(relabel, floor))
    frames, failed = [], np.zeros(len(data["mocap/keypoints"]), bool)
    stamps = 10.0 + np.arange(len(failed)) / 30.0
    for t, (kp, sc) in enumerate(zip(data["mocap/keypoints"], data["mocap/scores"],
                                     strict=True)):
        seen = np.isfinite(kp).any(-1).any(-1)
        kp, sc = kp[seen], sc[seen]
        box = np.concatenate([np.nanmin(kp, 1), np.nanmax(kp, 1)], -1) if len(kp) else \
            np.zeros((0, 4))
        found = Detections2D(kp.astype(np.float32), sc.astype(np.float32),
                             np.nan_to_num(box).astype(np.float32),
                             np.ones(len(kp), np.float32), H36M17,
                             (camera.width, camera.height))
        try:
            frames.append(pipeline.process_detections({"cam01": found}, stamps[t]).skeletons)
        except ValueError:
            frames.append(None)
            failed[t] = True
    _store(arrays, "mocap/cam01/lifter", frames, stamps)
    arrays["mocap/cam01/lifter/failed"] = failed
    print(f"mocap/cam01/lifter: {len(failed)} frames, {failed.sum()} failed", flush=True)


def _store(arrays: dict, key: str, frames: list, stamps: np.ndarray) -> None:
    """Frames as padded arrays: positions (T, P, 17, 3), ids (T, P), count (T,)."""
    P = max([f.num_people for f in frames if f is not None] + [1])
    positions = np.full((len(frames), P, 17, 3), np.nan)
    ids = np.zeros((len(frames), P), np.int64)
    count = np.zeros(len(frames), np.int64)
    for t, f in enumerate(frames):
        if f is not None and f.num_people:
            if f.layout.name != "h36m17":
                raise ValueError(f"{key}: layout {f.layout.name}")
            positions[t, :f.num_people], ids[t, :f.num_people] = f.positions, f.ids
            count[t] = f.num_people
    arrays[f"{key}/positions"], arrays[f"{key}/ids"] = positions, ids
    arrays[f"{key}/count"], arrays[f"{key}/stamps"] = count, stamps


def _track(data, key: str, frame_id: str):
    from pose3d_ros.core.evaluation import SkeletonTrack
    from pose3d_ros.core.layouts import H36M17
    from pose3d_ros.core.types import METHOD_UNKNOWN, Skeletons3D

    stamps = np.round(data[f"{key}/stamps"] * 1e9).astype(np.int64)
    frames = []
    for positions, ids, n in zip(data[f"{key}/positions"], data[f"{key}/ids"],
                                 data[f"{key}/count"], strict=True):
        p = positions[:n]
        frames.append(Skeletons3D(p, np.ones(p.shape[:2], np.float32),
                                  np.full(p.shape[:2], np.nan, np.float32),
                                  np.ones(p.shape[:2], np.uint8), H36M17, frame_id,
                                  METHOD_UNKNOWN, ids[:n]))
    return SkeletonTrack(stamps, frames)


METRICS = {"ids": "ids per person", "jitter": "jitter p95 m/frame", "cv": "bone CV",
           "unanswered": "frames w/o output", "ghosts": "ghost person-frames",
           "unmatched": "unmatched person-frames", "shape": "root-rel. error mm",
           "depth": "root distance error m (median)"}


def _cells(ident, steady, unanswered: int) -> dict[str, str]:
    """One run's table cells by METRICS key."""
    s = steady.summary()
    return {"ids": "/".join(str(v) for v in ident.ids_per_person.values()) or "-",
            "jitter": f"{s['root-depth jitter p95 [m/frame]']:.3f}",
            "cv": f"{100 * s['bone-length CV median']:.1f} %", "unanswered": str(unanswered),
            "ghosts": str(ident.ghost_person_frames),
            "unmatched": str(ident.unmatched_person_frames),
            "shape": f"{1000 * getattr(ident, 'root_relative_mpjpe_m', np.nan):.0f}",
            "depth": f"{getattr(ident, 'root_distance_error_m', np.nan):.2f}"}


def score(paths: list[Path], metrics: list[str] | None = None) -> str:
    """Markdown table: one row per (recording, camera, method), per metric (METRICS keys,
    default all) one column per file."""
    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.data_paths import calibration_path
    from pose3d_ros.core.evaluation import image_identities, stability

    metrics = metrics or list(METRICS)
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise SystemExit(f"unknown metrics {sorted(unknown)}; known: {list(METRICS)}")
    if missing := [str(p) for p in paths if not Path(p).is_file()]:   # (a review: traceback)
        raise SystemExit(f"error: no such file: {', '.join(missing)}")
    runs = [np.load(p) for p in paths]
    head = "| recording | camera | method | " + " | ".join(
        f"{METRICS[m]} ({p.stem})" for m in metrics for p in paths) + " |"
    lines = [head, "|" + "---|" * (3 + len(metrics) * len(paths))]
    for recording in RECORDINGS:
        rig = load_rig(calibration_path(recording))
        for camera in rig:
            for method in METHODS:
                key = f"{recording}/{camera.name}/{method}"
                per_run = []
                for data in runs:
                    pred = _track(data, key, rig.frame_id)
                    ref = _track(data, f"{recording}/reference", rig.frame_id)
                    per_run.append(_cells(image_identities(pred, ref, camera),
                                          stability(pred, viewpoint=camera.center),
                                          int(data[f"{key}/failed"].sum())))
                cells = [cell[m] for m in metrics for cell in per_run]
                lines.append(f"| {recording} | {camera.name} | {method} | " + " | ".join(cells)
                             + " |")
    if all("mocap/cam01/lifter/positions" in data for data in runs):
        lines.append(_mocap_row(runs, metrics))
    return "\n".join(lines)


def _mocap_row(runs, metrics: list[str]) -> str:
    """The motion-capture scene against its truth (ids known, depth known)."""
    from pose3d_ros.core.evaluation import image_identities, stability

    per_run = []
    for data in runs:
        camera = _mocap_camera(data)
        pred = _track(data, "mocap/cam01/lifter", "world")
        per_run.append(_cells(image_identities(pred, _truth_track(data, pred.stamps_ns),
                                               camera),
                              stability(pred, viewpoint=camera.center),
                              int(data["mocap/cam01/lifter/failed"].sum())))
    cells = [cell[m] for m in metrics for cell in per_run]
    return "| mocap walk x2 (30 fps) | virtual cam | lifter | " + " | ".join(cells) + " |"


def _truth_track(data, stamps_ns: np.ndarray):
    """The motion-capture scene's truth as a SkeletonTrack (ids 1, 2) at the prediction's
    stamps."""
    return truth_track(data["mocap/truth"], stamps_ns)


def truth_track(joints: np.ndarray, stamps_ns: np.ndarray):
    """Ground-truth people (F, P, 17, 3) metres in "world", H36M17, as a SkeletonTrack with
    ids 1..P at stamps_ns (F,) (core.evaluation.truth_track)."""
    from pose3d_ros.core.evaluation import truth_track as track
    from pose3d_ros.core.layouts import H36M17
    return track(joints, stamps_ns, H36M17, "world",
                 present=np.ones(np.shape(joints)[:2], bool))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--max-frames", type=int, default=None)
    r.add_argument("--twod", type=Path, default=None,
                   help="2D exported by export2d (default: this checkout's cache)")
    r.add_argument("--stride", type=int, default=1,
                   help="every n-th frame (2: the 60 fps recordings at 30 fps)")
    r.add_argument("--bone-window", type=int, default=None,
                   help="frames of each track's median bone lengths (0: bones as estimated; "
                        "default: the checkout's)")
    r.add_argument("--refine", choices=("true", "false"), default=None,
                   help="monocular_refine_to_2d (default: the checkout's)")
    r.add_argument("--floor", action="store_true",
                   help="one-camera floor contact (monocular_floor) on the rig frame's z = 0")
    r.add_argument("--no-relabel", action="store_true",
                   help="turn the image tracker's left/right continuity off")
    e = sub.add_parser("export2d")
    e.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("score")
    s.add_argument("runs", type=Path, nargs="+")
    s.add_argument("--metrics", default=",".join(METRICS),
                   help=f"comma-separated columns out of {','.join(METRICS)}")
    args = parser.parse_args(argv)
    if args.step == "export2d":
        export2d(args.out)
    elif args.step == "run":
        run(args.out, args.max_frames, args.stride, args.twod, bone_window=args.bone_window,
            relabel=not args.no_relabel,
            refine=None if args.refine is None else args.refine == "true", floor=args.floor)
    else:
        print(score(args.runs, args.metrics.split(",")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
