"""Replay evaluation: score 3D skeletons against a reference and write JSON + an HTML report.

Inputs are skeleton tracks (pose3d_ros/Skeleton3DArray over time). The prediction comes from a
bag topic (for example the output bag the demo collector or `ros2 bag record` wrote) or from
running the pipeline on the bag; the reference is a 3D skeleton topic (motion capture, or a
multi-view triangulation you trust) in the same or another bag.

Scoring pairs frames by stamp, matches people per frame (Hungarian on mean joint distance),
follows each reference identity over time, and computes (pose3d_ros.core.metrics): MPJPE,
PA-MPJPE, N-MPJPE, PSS, PCK3D@150 mm and AUC, velocity and acceleration error, jitter, the
pipeline's own reprojection error, detection rate, false positives, id switches, and latency
when the prediction's log times are receive times.

Usage:
  python -m pose3d_ros.tools.evaluate --bag OUT_BAG --pred-topic /skeletons \\
      --ref-bag REF_BAG --ref-topic /mocap/skeletons --out-dir eval/
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from pose3d_ros.core import bagio, metrics
from pose3d_ros.core.bag_cameras import read_bag_cameras
from pose3d_ros.core.camera import CameraModel
from pose3d_ros.core.layouts import JointLayout, convert_joints
from pose3d_ros.core.report import ReportData, Snapshot, write_report
from pose3d_ros.core.types import Skeletons3D

log = logging.getLogger(__name__)


@dataclass
class SkeletonTrack:
    """Skeletons over time.

    stamps_ns: (T,) int64 header stamps (capture time), strictly increasing.
    frames: T Skeletons3D, all in one layout and frame.
    log_ns: (T,) int64 times the messages were logged/received, when known.
    """

    stamps_ns: np.ndarray
    frames: list[Skeletons3D]
    log_ns: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.stamps_ns = np.asarray(self.stamps_ns, dtype=np.int64)
        if len(self.stamps_ns) != len(self.frames):
            raise ValueError(f"{len(self.stamps_ns)} stamps for {len(self.frames)} frames")
        if len(self.frames) > 1 and not (np.diff(self.stamps_ns) > 0).all():
            raise ValueError("skeleton track stamps must strictly increase")
        layouts = {f.layout.name for f in self.frames if f.num_people}
        if len(layouts) > 1:
            raise ValueError(f"a track must use one joint layout, got {sorted(layouts)}")

    @property
    def layout(self) -> JointLayout | None:
        for frame in self.frames:
            if frame.num_people:
                return frame.layout
        return None


def read_track(bag: Path, topic: str) -> SkeletonTrack:
    """A Skeleton3DArray topic of a bag as a track, in stamp order.

    Several messages with one stamp (a node that processed a partial camera set and then the
    rest) keep the one with the most estimated joints, and say so in the log.
    """
    by_stamp: dict[int, tuple[Skeletons3D, int]] = {}
    for item in bagio.read_messages(bag, [topic]):
        if item.msgtype != bagio.SKELETON3D_ARRAY:
            raise ValueError(f"{bag}:{topic} is {item.msgtype}, not {bagio.SKELETON3D_ARRAY}")
        stamp = bagio.stamp_to_ns(item.message.header.stamp)
        frame = bagio.skeletons_from_message(item.message)
        if stamp in by_stamp:
            kept = by_stamp[stamp][0]
            log.warning("%s: several messages stamped %d; keeping the most complete", topic,
                        stamp)
            if _known_joints(frame) <= _known_joints(kept):
                continue
        by_stamp[stamp] = (frame, item.stamp_ns)
    stamps = sorted(by_stamp)
    frames = [by_stamp[s][0] for s in stamps]
    logs = [by_stamp[s][1] for s in stamps]
    return SkeletonTrack(np.array(stamps, np.int64), frames, np.array(logs, np.int64))


def _known_joints(frame: Skeletons3D) -> int:
    return int(np.isfinite(frame.positions).all(axis=-1).sum())


def link_identities(frames: Sequence[np.ndarray], max_distance: float) -> list[np.ndarray]:
    """Identities (>= 1) for people over time, frames[t] of shape (P_t, J, 3) metres: each
    person continues the identity of the person it matches best in the previous frame
    (Hungarian on mean joint distance, at most max_distance metres), or starts a new one."""
    identities: list[np.ndarray] = []
    previous = np.zeros((0, 0, 3))
    previous_ids = np.zeros(0, np.int64)
    next_id = 1
    for people in frames:
        ids = np.zeros(len(people), np.int64)
        if len(previous) and len(people):
            pairs = metrics.match_people([people], [previous], max_distance=max_distance).pairs[0]
            ids[pairs[:, 0]] = previous_ids[pairs[:, 1]]
        for k in np.flatnonzero(ids == 0):
            ids[k] = next_id
            next_id += 1
        identities.append(ids)
        if len(people):
            previous, previous_ids = people, ids
    return identities


def pair_frames(pred_ns: np.ndarray, ref_ns: np.ndarray, tolerance_ns: int) -> np.ndarray:
    """For each reference stamp (T_ref,), the index of the nearest prediction stamp within
    tolerance_ns, or -1. Both stamp arrays sorted."""
    pred_ns = np.asarray(pred_ns, dtype=np.int64)
    ref_ns = np.asarray(ref_ns, dtype=np.int64)
    if len(pred_ns) == 0:
        return np.full(len(ref_ns), -1, np.intp)
    right = np.clip(np.searchsorted(pred_ns, ref_ns), 0, len(pred_ns) - 1)
    left = np.clip(right - 1, 0, len(pred_ns) - 1)
    pick = np.where(np.abs(pred_ns[left] - ref_ns) <= np.abs(pred_ns[right] - ref_ns), left,
                    right)
    return np.where(np.abs(pred_ns[pick] - ref_ns) <= tolerance_ns, pick, -1)


def _common_layout(pred: JointLayout, ref: JointLayout) -> JointLayout:
    """The layout both can be expressed in: the prediction's if the reference converts to it."""
    for target, source in ((pred, ref), (ref, pred)):
        try:
            convert_joints(np.zeros((source.num_joints, 3)), source, target)
            convert_joints(np.zeros((target.num_joints, 3)), target, target)
            return target
        except ValueError:
            continue
    raise ValueError(f"layouts {pred.name} and {ref.name} cannot be compared")


def _in_layout(frame: Skeletons3D, layout: JointLayout) -> np.ndarray:
    if frame.layout.name == layout.name:
        return np.asarray(frame.positions, dtype=np.float64)
    return convert_joints(frame.positions, frame.layout, layout)


@dataclass
class Evaluation:
    """Scores and the series behind the plots.

    summary: headline numbers (JSON-able). time_s: (T,) reference frame times from the first.
    ref, pred: (T, U, J, 3) metres, by reference identity (U identities), prediction NaN where
    unmatched. per_frame: label -> (T,) metres. per_joint: label -> (J,) metres.
    """

    summary: dict[str, object]
    layout: JointLayout
    time_s: np.ndarray
    ref: np.ndarray
    pred: np.ndarray
    per_frame: dict[str, np.ndarray]
    per_joint: dict[str, np.ndarray]
    latency_s: dict[str, np.ndarray] = field(default_factory=dict)


def evaluate_tracks(pred: SkeletonTrack, ref: SkeletonTrack, *, max_match_distance: float = 0.5,
                    tolerance_s: float = 0.004, pss_k: int = 10,
                    latency_s: dict[str, np.ndarray] | None = None) -> Evaluation:
    """Score a predicted track against a reference track (see the module docstring).

    max_match_distance: metres, mean joint distance above which a person is not matched.
    tolerance_s: largest stamp difference for a prediction frame to count for a reference frame.
    pss_k: number of pose clusters for PSS, built from the reference itself (at most one per
    ten complete reference poses; with a short reference PSS is a coarse structure check).
    latency_s: stage -> samples in seconds, shown as they are; if None and the prediction has
    log times, end-to-end latency = log time - stamp.
    """
    if len(ref.frames) == 0:
        raise ValueError("the reference track is empty")
    ref_layout = ref.layout
    if ref_layout is None:
        raise ValueError("the reference track holds no skeleton")
    layout = _common_layout(pred.layout or ref_layout, ref_layout)
    pair = pair_frames(pred.stamps_ns, ref.stamps_ns, int(tolerance_s * 1e9))

    identities = [np.asarray(f.ids, np.int64) for f in ref.frames]
    all_ids = np.concatenate(identities + [np.zeros(0, np.int64)])
    if all_ids.size and (all_ids == 0).all():
        # An untracked reference (e.g. triangulation without tracking): follow its people
        # from frame to frame so that temporal metrics and id switches compare like with like.
        identities = link_identities([_in_layout(f, layout) for f in ref.frames],
                                     max_match_distance)
        all_ids = np.concatenate(identities)
    ref_ids = np.unique(all_ids)
    slot = {int(i): k for k, i in enumerate(ref_ids)}
    T, U, J = len(ref.frames), len(ref_ids), layout.num_joints
    ref_arr = np.full((T, U, J, 3), np.nan)
    pred_arr = np.full((T, U, J, 3), np.nan)
    pred_id = np.full((T, U), -1, np.int64)
    expected = np.zeros(T, np.int64)
    detected = np.zeros(T, np.int64)
    false_pos = np.zeros(T, np.int64)
    reproj = []
    for t, ref_frame in enumerate(ref.frames):
        r = _in_layout(ref_frame, layout)
        cols = np.array([slot[int(i)] for i in identities[t]], np.intp)
        ref_arr[t, cols] = r
        expected[t] = ref_frame.num_people
        if pair[t] < 0:
            continue
        pred_frame = pred.frames[pair[t]]
        p = _in_layout(pred_frame, layout) if pred_frame.num_people else np.zeros((0, J, 3))
        matching = metrics.match_people([p], [r], max_distance=max_match_distance)
        pairs = matching.pairs[0]
        pred_arr[t, cols[pairs[:, 1]]] = p[pairs[:, 0]]
        pred_id[t, cols[pairs[:, 1]]] = pred_frame.ids[pairs[:, 0]]
        detected[t] = len(pairs)
        false_pos[t] = pred_frame.num_people - len(pairs)
        if pred_frame.num_people:
            reproj.append(np.asarray(pred_frame.reprojection_error, dtype=np.float64).ravel())

    time_s = (ref.stamps_ns - ref.stamps_ns[0]) / 1e9
    flat_p, flat_r = pred_arr.reshape(-1, J, 3), ref_arr.reshape(-1, J, 3)
    err = metrics.mpjpe(flat_p, flat_r)
    pa = metrics.p_mpjpe(flat_p, flat_r)
    nm = metrics.n_mpjpe(flat_p, flat_r)
    vel = metrics.velocity_error(pred_arr, ref_arr, stamps=time_s) if T > 1 else None
    acc = metrics.acceleration_error(pred_arr, ref_arr, stamps=time_s) if T > 2 else None
    jit = metrics.jitter(pred_arr, stamps=time_s) if T > 2 else None
    complete = ~np.isnan(flat_r).any(axis=(1, 2))
    # About ten reference poses per cluster at least: a vocabulary with more clusters than the
    # reference can support splits near-identical poses and makes PSS noise.
    pss = metrics.pss(flat_p, flat_r, k=max(1, min(pss_k, int(complete.sum()) // 10))) \
        if complete.any() else None
    rate = metrics.detection_rate(detected, expected)
    matched = pred_id >= 0
    switches = metrics.id_switches([np.flatnonzero(m) for m in matched],
                                   [pred_id[t][matched[t]] for t in range(T)])
    reproj_px = np.concatenate(reproj) if reproj else np.zeros(0)
    reproj_px = reproj_px[np.isfinite(reproj_px)]

    if latency_s is None and pred.log_ns is not None and len(pred.log_ns):
        latency = (pred.log_ns - pred.stamps_ns) / 1e9
        latency_s = {"end to end": latency} if (latency > 0).any() else {}
    latency_s = latency_s or {}

    def m(value: float) -> float:
        return round(float(value), 6)

    summary: dict[str, object] = {
        "reference frames": T, "prediction frames": len(pred.frames),
        "paired frames": int((pair >= 0).sum()), "layout": layout.name,
        "MPJPE [m]": m(err.mean), "PA-MPJPE [m]": m(pa.mean), "N-MPJPE [m]": m(nm.mean),
        "PCK3D@150mm": m(metrics.pck3d(flat_p, flat_r)), "AUC 0-150mm": m(metrics.auc(
            flat_p, flat_r)),
        "PSS": m(pss.score) if pss else float("nan"),
        "PSS clusters": len(pss.centres) if pss else 0,
        "velocity error [m/s]": m(vel.mean) if vel else float("nan"),
        "acceleration error [m/s^2]": m(acc.mean) if acc else float("nan"),
        "jitter (prediction) [m/s^2]": m(jit.mean) if jit else float("nan"),
        "reprojection error (pipeline) [px]": m(np.mean(reproj_px)) if len(reproj_px)
        else float("nan"),
        "detection rate": m(rate.rate), "people expected": rate.expected,
        "people detected": rate.detected, "false positives": int(false_pos.sum()),
        "id switches": switches, "joints scored": err.num_valid,
        "joints missing": err.num_missing,
    }
    for stage, samples in latency_s.items():
        samples = np.asarray(samples, dtype=np.float64)
        if len(samples):
            summary[f"latency {stage} median [s]"] = m(np.median(samples))
            summary[f"latency {stage} p95 [s]"] = m(np.percentile(samples, 95))
    per_frame = {"MPJPE": metrics.JointErrors(err.errors.reshape(T, U * J)).per_frame,
                 "PA-MPJPE": metrics.JointErrors(pa.errors.reshape(T, U * J)).per_frame}
    per_joint = {"MPJPE": err.per_joint, "PA-MPJPE": pa.per_joint}
    return Evaluation(summary, layout, time_s, ref_arr, pred_arr, per_frame, per_joint,
                      {k: np.asarray(v, dtype=np.float64) for k, v in latency_s.items()})


# --- cameras of a bag, reprojection and overlays ------------------------------------------

def cameras_from_bag(bag: Path) -> dict[str, CameraModel]:
    """Camera models from a bag's first CameraInfo per camera and /tf_static
    (core.bag_cameras). Keyed by optical frame id."""
    cameras, _ = read_bag_cameras(bag)
    return {cam.frame_id: cam for cam in cameras.values()}


def project_points(camera: CameraModel, points: np.ndarray) -> np.ndarray:
    """Project (..., 3) fixed-frame points into the camera's raw (distorted) image -> (..., 2)
    pixels, NaN for missing points and points behind the camera."""
    return camera.project(points)


def draw_skeletons(image: np.ndarray, uv: np.ndarray, bones: np.ndarray,
                   colour: tuple[int, int, int], thickness: int = 3) -> np.ndarray:
    """Draw (P, J, 2) pixel skeletons onto a copy of a BGR image."""
    out = image.copy()
    for person in np.asarray(uv, dtype=np.float64):
        for a, b in np.asarray(bones, dtype=np.intp):
            if np.isfinite(person[[a, b]]).all():
                cv2.line(out, tuple(int(v) for v in person[a]), tuple(int(v) for v in person[b]),
                         colour, thickness, cv2.LINE_AA)
        for point in person[np.isfinite(person).all(axis=1)]:
            cv2.circle(out, tuple(int(v) for v in point), thickness + 1, colour, -1)
    return out


def overlay_images(bag: Path, evaluation: Evaluation, stamps_ns: np.ndarray,
                   frame_indices: Sequence[int], max_width: int = 360,
                   camera_names: Sequence[str] | None = None
                   ) -> list[tuple[str, np.ndarray]]:
    """Images of the bag at some reference frames with the reference (green) and the
    prediction (magenta) reprojected into every camera (or those named)."""
    cameras = cameras_from_bag(bag)
    topics = {t: ty for t, ty in bagio.bag_topics(bag).items()
              if ty in (bagio.IMAGE, bagio.COMPRESSED_IMAGE) and (
                  camera_names is None or t.strip("/").split("/")[0] in camera_names)}
    want = {int(stamps_ns[i]): i for i in frame_indices}
    out = []
    bones = evaluation.layout.bones_array
    for item in bagio.read_messages(bag, topics):
        stamp = bagio.stamp_to_ns(item.message.header.stamp)
        if stamp not in want or item.message.header.frame_id not in cameras:
            continue
        t = want[stamp]
        camera = cameras[item.message.header.frame_id]
        image = bagio.decode_image(item.message)
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        image = draw_skeletons(image, project_points(camera, evaluation.ref[t]), bones,
                               (60, 200, 60), 5)
        image = draw_skeletons(image, project_points(camera, evaluation.pred[t]), bones,
                               (200, 60, 200), 3)
        scale = max_width / image.shape[1]
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        out.append((f"{camera.name} t={evaluation.time_s[t]:.2f} s", image))
    return out


def write_overlay_video(bag: Path, evaluation: Evaluation, stamps_ns: np.ndarray, camera: str,
                        path: Path, fps: float, max_width: int = 540) -> Path:
    """MP4 of one camera with the reference (green) and prediction (magenta) reprojected."""
    frames = overlay_images(bag, evaluation, stamps_ns, range(len(stamps_ns)), max_width,
                            [camera])
    if not frames:
        raise ValueError(f"no image of camera {camera!r} matches the evaluated stamps")
    height, width = frames[0][1].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    try:
        for _, image in frames:
            writer.write(image)
    finally:
        writer.release()
    return path


# --- running the pipeline on a bag --------------------------------------------------------

def frame_sets(bag: Path, cameras: Sequence[str] | None = None
               ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """(stamp_ns, camera name -> BGR image) for each image stamp of the bag, in time order.

    Images sharing a header stamp form one set (make_bag stamps synchronised frames alike);
    the camera name is the topic's first namespace (/cam01/image_raw -> cam01).
    """
    topics = {t: ty for t, ty in bagio.bag_topics(bag).items()
              if ty in (bagio.IMAGE, bagio.COMPRESSED_IMAGE)
              and (cameras is None or t.strip("/").split("/")[0] in cameras)}
    if not topics:
        raise ValueError(f"bag {bag} has no image topic" +
                         (f" for cameras {list(cameras)}" if cameras else ""))
    current: int | None = None
    images: dict[str, np.ndarray] = {}
    for item in bagio.read_messages(bag, topics):
        stamp = bagio.stamp_to_ns(item.message.header.stamp)
        if current is not None and stamp != current:
            yield current, images
            images = {}
        current = stamp
        images[item.topic.strip("/").split("/")[0]] = bagio.decode_image(item.message)
    if images:
        yield current, images


@dataclass
class PipelineRun:
    """Output of the pipeline over a bag.

    track: the 3D skeletons per frame set. timings: stage -> (T,) seconds per frame set.
    per_camera: camera -> {"people detected": n, "reprojection error [px]": mean}, the latter
    comparing the 3D output projected into the camera with that camera's own 2D detections.
    detections: per frame set, camera -> Detections2D (to re-use for a reference run).
    """

    track: SkeletonTrack
    timings: dict[str, np.ndarray]
    per_camera: dict[str, dict[str, float]]
    detections: list[dict]


def pipeline_cameras(bag: Path) -> tuple[dict, str]:
    """The bag's cameras as pose3d_ros.core.camera.CameraModel objects, keyed by camera name,
    and the fixed frame their extrinsics refer to (the root on /tf_static)."""
    return read_bag_cameras(bag)


def run_pipeline(bag: Path, *, detector: str = "blazepose", cameras: Sequence[str] | None = None,
                 params: object | None = None, detections: list[dict] | None = None,
                 max_frames: int | None = None) -> PipelineRun:
    """Replay a bag through pose3d_ros.core.pipeline (the chain the nodes run), frame set by
    frame set, deterministically and as fast as the machine allows.

    cameras: subset of the bag's cameras to use (default all). detections: 2D results of an
    earlier run, re-used instead of running the detector (same sets, same cameras).
    """
    from pose3d_ros.core.pipeline import Pose3DPipeline, create_detectors

    models, fixed = pipeline_cameras(bag)
    names = [n for n in sorted(models) if cameras is None or n in cameras]
    if cameras is not None and set(cameras) - set(names):
        raise ValueError(f"bag {bag} has no camera {sorted(set(cameras) - set(names))}")
    detectors = None if detections is not None else create_detectors(detector, len(names))
    pipeline = Pose3DPipeline(names, {n: models[n] for n in names}, detectors, frame_id=fixed,
                              params=params)
    stamps, frames, found = [], [], []
    timings: dict[str, list[float]] = {}
    try:
        if detections is None:
            sets = ((stamp, {n: images[n] for n in names if n in images})
                    for stamp, images in frame_sets(bag, names))
        else:
            sets = ((int(round(d["stamp"] * 1e9)), d) for d in detections)
        for index, (stamp, data) in enumerate(sets):
            if max_frames is not None and index >= max_frames:
                break
            if detections is None:
                result = pipeline.process_images(data, stamp / 1e9)
            else:
                result = pipeline.process_detections(
                    {n: data["cameras"][n] for n in names if n in data["cameras"]}, stamp / 1e9)
            stamps.append(stamp)
            frames.append(result.skeletons)
            found.append({"stamp": stamp / 1e9, "cameras": result.detections})
            for stage, seconds in result.timings.items():
                timings.setdefault(stage, []).append(seconds)
    finally:
        pipeline.close()
    track = SkeletonTrack(np.array(stamps, np.int64), frames)
    return PipelineRun(track, {k: np.array(v) for k, v in timings.items()},
                       per_camera_figures(bag, track, found), found)


def per_camera_figures(bag: Path, track: SkeletonTrack, detections: list[dict],
                       tolerance_s: float = 0.004) -> dict[str, dict[str, float]]:
    """Per camera: people the 2D detector found, and the reprojection error (px) of `track`'s
    3D skeletons against them, for detections from run_pipeline (paired by stamp)."""
    cameras = {cam.name: cam for cam in cameras_from_bag(bag).values()}
    stamps = np.array([int(round(d["stamp"] * 1e9)) for d in detections], np.int64)
    pair = pair_frames(stamps, track.stamps_ns, int(tolerance_s * 1e9))
    people: dict[str, int] = {}
    errors: dict[str, list[np.ndarray]] = {}
    for t, k in enumerate(pair):
        if k < 0:
            continue
        for name, dets in detections[k]["cameras"].items():
            people[name] = people.get(name, 0) + dets.num_people
            errors.setdefault(name, []).append(
                _camera_reprojection(cameras[name], track.frames[t], dets))
    out = {}
    for name in sorted(people):
        err = np.concatenate(errors[name])
        err = err[np.isfinite(err)]
        out[name] = {"people detected": float(people[name]),
                     "reprojection error [px]": float(err.mean()) if len(err) else float("nan")}
    return out


def _camera_reprojection(camera: CameraModel, skeletons: Skeletons3D, detections) -> np.ndarray:
    """Pixel distances (flattened) between each 3D person projected into `camera` and the
    nearest of the camera's 2D people, in the 3D layout."""
    if skeletons.num_people == 0 or detections.num_people == 0:
        return np.zeros(0)
    try:
        uv2d = convert_joints(detections.keypoints, detections.layout, skeletons.layout)
    except ValueError:
        return np.zeros(0)
    projected = project_points(camera, skeletons.positions)  # (P, J, 2)
    dist = np.linalg.norm(projected[:, None] - uv2d[None], axis=-1)  # (P, Q, J)
    mean = metrics.JointErrors(dist.reshape(-1, dist.shape[-1])).per_frame.reshape(
        dist.shape[:2])
    mean = np.where(np.isnan(mean), np.inf, mean)
    nearest = np.argmin(mean, axis=1)
    picked = dist[np.arange(len(nearest)), nearest]
    return picked[np.isfinite(mean[np.arange(len(nearest)), nearest])].ravel()


# --- outputs ------------------------------------------------------------------------------

def write_track_bag(track: SkeletonTrack, out: Path, topic: str = "/skeletons",
                    storage: str = "mcap", tf_static_from: Path | None = None) -> Path:
    """Write a track as Skeleton3DArray messages (log time = stamp) for rviz2/Foxglove, with the
    rig's /tf_static copied from `tf_static_from` so the cameras show too."""
    with bagio.BagWriter(out, storage=storage) as bag:
        if tf_static_from is not None and "/tf_static" in bagio.bag_topics(tf_static_from):
            for item in bagio.read_messages(tf_static_from, ["/tf_static"], deserialize=False):
                bag.write_raw("/tf_static", item.stamp_ns, item.raw, item.msgtype)
        for stamp, frame in zip(track.stamps_ns, track.frames, strict=True):
            bag.write(topic, int(stamp), bagio.skeleton3d_array_message(frame, int(stamp)))
    return out


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value)}")


def _finite_or_none(value: object) -> object:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_outputs(evaluation: Evaluation, out_dir: Path, *, title: str,
                  images: Iterable[tuple[str, np.ndarray]] = (), notes: Sequence[str] = (),
                  per_camera: dict[str, dict[str, float]] | None = None) -> tuple[Path, Path]:
    """evaluation.json (summary, per-frame and per-joint series, NaN as null) and report.html."""
    out_dir.mkdir(parents=True, exist_ok=True)
    joint_names = list(evaluation.layout.joint_names)
    payload = {
        "summary": {k: _finite_or_none(v) for k, v in evaluation.summary.items()},
        "time_s": evaluation.time_s.tolist(),
        "per_frame_m": {k: [_finite_or_none(float(x)) for x in v]
                        for k, v in evaluation.per_frame.items()},
        "per_joint_m": {k: dict(zip(joint_names, [_finite_or_none(float(x)) for x in v],
                                    strict=True)) for k, v in evaluation.per_joint.items()},
        "latency_s": {k: v.tolist() for k, v in evaluation.latency_s.items()},
        "notes": list(notes),
    }
    json_path = out_dir / "evaluation.json"
    json_path.write_text(json.dumps(payload, indent=1, default=_json_default))
    T = len(evaluation.time_s)
    picks = sorted({0, T // 2, T - 1}) if T else []
    snapshots = [Snapshot(f"t = {evaluation.time_s[t]:.2f} s", evaluation.pred[t],
                          evaluation.ref[t], evaluation.layout.bones_array) for t in picks]
    data = ReportData(title=title, summary=evaluation.summary, time_s=evaluation.time_s,
                      over_time=evaluation.per_frame, joint_names=joint_names,
                      per_joint=evaluation.per_joint, per_camera=per_camera or {},
                      latency_s=evaluation.latency_s, snapshots=snapshots, images=list(images),
                      notes=list(notes))
    return json_path, write_report(data, out_dir / "report.html")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bag", type=Path, required=True,
                        help="bag with the camera images, CameraInfo and /tf_static (and/or "
                        "the predicted skeletons)")
    parser.add_argument("--pred-topic", default=None,
                        help="predicted Skeleton3DArray topic in --pred-bag/--bag; without it "
                        "the pipeline runs on --bag's images")
    parser.add_argument("--pred-bag", type=Path, help="bag of the predictions (default: --bag)")
    parser.add_argument("--ref-topic", default=None,
                        help="reference Skeleton3DArray topic; without it the reference is "
                        "multi-view triangulation from all of --bag's cameras (no tracking, "
                        "no filtering)")
    parser.add_argument("--ref-bag", type=Path, help="bag of the reference (default: --bag)")
    parser.add_argument("--cameras", default=None,
                        help="comma-separated cameras the pipeline uses (default: all)")
    parser.add_argument("--detector", default="blazepose", help="2D back-end for the pipeline")
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--out-dir", type=Path, default=Path("evaluation"))
    parser.add_argument("--out-bag", action="store_true",
                        help="also write the predictions to <out-dir>/skeletons (MCAP)")
    parser.add_argument("--overlay-video", default=None, metavar="CAMERA",
                        help="write <out-dir>/overlay_<CAMERA>.mp4 with reprojected skeletons")
    parser.add_argument("--max-match-distance", type=float, default=0.5, help="metres")
    parser.add_argument("--tolerance", type=float, default=0.004,
                        help="largest stamp difference in seconds to pair frames")
    parser.add_argument("--title", default="pose3d_ros evaluation")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    has_images = any(ty in (bagio.IMAGE, bagio.COMPRESSED_IMAGE)
                     for ty in bagio.bag_topics(args.bag).values())
    notes, per_camera, latency, run = [], {}, None, None
    cameras = args.cameras.split(",") if args.cameras else None
    if args.pred_topic:
        pred = read_track(args.pred_bag or args.bag, args.pred_topic)
        notes.append(f"prediction: topic {args.pred_topic} of {args.pred_bag or args.bag}")
    else:
        run = run_pipeline(args.bag, detector=args.detector, cameras=cameras,
                           max_frames=args.max_frames)
        pred, per_camera = run.track, run.per_camera
        latency = {stage: v for stage, v in run.timings.items()}
        notes.append(f"prediction: pose3d_ros pipeline ({args.detector}, cameras "
                     f"{', '.join(cameras or sorted(run.per_camera))}) replayed on {args.bag}; "
                     "latency = per-stage compute time per frame set")
    if args.ref_topic:
        ref = read_track(args.ref_bag or args.bag, args.ref_topic)
        notes.append(f"reference: topic {args.ref_topic} of {args.ref_bag or args.bag}")
    else:
        from pose3d_ros.core.pipeline import PipelineParams

        params = PipelineParams(tracking=None, filtering=None)
        reuse = run.detections if run is not None and cameras is None else None
        ref_run = run_pipeline(args.bag, detector=args.detector, params=params,
                               detections=reuse, max_frames=args.max_frames)
        ref = ref_run.track
        notes.append("reference: multi-view triangulation from all cameras of the bag, "
                     "without tracking or filtering (it shares the 2D detector's errors: it "
                     "measures consistency, not ground-truth accuracy)")
    evaluation = evaluate_tracks(pred, ref, max_match_distance=args.max_match_distance,
                                 tolerance_s=args.tolerance, latency_s=latency)
    images = []
    if has_images and len(ref.frames):
        images = overlay_images(args.bag, evaluation, ref.stamps_ns, [len(ref.frames) // 2])
    json_path, html_path = write_outputs(evaluation, args.out_dir, title=args.title,
                                         images=images, notes=notes, per_camera=per_camera)
    if args.out_bag:
        write_track_bag(pred, args.out_dir / "skeletons", tf_static_from=args.bag)
    if args.overlay_video:
        fps = 1.0 / np.median(np.diff(evaluation.time_s)) if len(evaluation.time_s) > 1 else 30.0
        write_overlay_video(args.bag, evaluation, ref.stamps_ns, args.overlay_video,
                            args.out_dir / f"overlay_{args.overlay_video}.mp4", fps)
    for key, value in evaluation.summary.items():
        print(f"{key:40s} {value}")
    print(f"report: {html_path}\njson:   {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
