"""Lifter training data from a multi-camera rosbag2 (sqlite3 or MCAP): the same per-camera
ViewDetections that dataset.detect_recording makes from videos, plus the CameraModels.

Cameras: every `<ns>/image_raw` (sensor_msgs/Image) or `<ns>/image_raw/compressed`
(sensor_msgs/CompressedImage) topic with a `<ns>/camera_info` beside it (image_transport's
naming); raw wins when a camera has both. Explicit image topics may have any name; their
camera_info is looked up the same way. Camera names are the namespaces without the leading
'/', e.g. "cam01". Intrinsics come from the first valid CameraInfo of each camera.

Synchronisation (offline, all stamps known in advance, so not core.sync's online rules):
header stamps of all cameras are sorted and grouped greedily; a frame joins the group whose
first stamp is at most `slop` earlier (default: half the median frame period), a second frame
of the same camera in one group is dropped. Group f is frame f of EVERY camera: a camera
without a frame in group f gets a NaN row there, so frame indices never shift between cameras.
A frame that cannot be decoded, or whose size differs from its CameraInfo, is also a NaN row
(logged once per camera and reason).

Extrinsics (bag_extrinsics.posed_cameras): a rig file (core.calibration.load_rig) if given,
else the bag's /tf_static (core.bag_cameras.cameras_from_tf: optical frames of all cameras
under one common root frame), else
self-calibration from the people in the images (core.selfcalib), whose rig frame is the
first camera's optical frame and whose metric scale comes from a body-height prior.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import bagio
from ..bag_cameras import TF_STATIC
from ..camera import CameraModel, camera_model_from_info_msg
from ..static_tf import StaticTransform, transforms_from_message
from .dataset import BlazePoseSequence, ViewDetections, load_views, save_views

log = logging.getLogger(__name__)

CACHE_VERSION = 1
_IMAGE_TYPES = (bagio.IMAGE, bagio.COMPRESSED_IMAGE)
_DEFAULT_SLOP_S = 0.010


@dataclass(frozen=True)
class BagCameraTopics:
    """Topics of one camera: name ("cam01"), image topic (Image or CompressedImage) and the
    CameraInfo topic beside it."""

    name: str
    image_topic: str
    info_topic: str


@dataclass
class BagRecording:
    """What one bag gives the lifter training.

    cameras: intrinsics from CameraInfo, identity extrinsics (see posed_cameras);
    views: per camera (F, ...) BlazePose detections, row f = synchronised frame f;
    stamps_ns: (F,) int64, mean header stamp of each frame's images, ns since the epoch;
    transforms: the bag's /tf_static (empty if none).
    """

    path: Path
    cameras: list[CameraModel]
    views: list[ViewDetections]
    stamps_ns: np.ndarray
    transforms: list[StaticTransform]

    @property
    def num_frames(self) -> int:
        return int(self.stamps_ns.shape[0])


def _namespace(image_topic: str, msgtype: str) -> str:
    """Namespace of an image topic: '/a/image_raw' -> '/a'; '/a/image_raw/compressed' -> '/a'."""
    base = image_topic.rstrip("/")
    if msgtype == bagio.COMPRESSED_IMAGE and base.rsplit("/", 1)[-1] == "compressed":
        base = base.rsplit("/", 1)[0]
    return base.rsplit("/", 1)[0] if "/" in base.strip("/") else ""


def _natural_key(text: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def discover_cameras(topics: dict[str, str], image_topics: Sequence[str] | None = None,
                     where: str = "bag") -> list[BagCameraTopics]:
    """Cameras of a bag from its topic -> type map (bagio.bag_topics).

    image_topics: use exactly these (any Image/CompressedImage topics) instead of discovering
    `<ns>/image_raw[/compressed]`. Raises ValueError naming the bag when a camera has no
    `<ns>/camera_info` topic or no camera is found.
    """
    images = sorted(t for t, m in topics.items() if m in _IMAGE_TYPES)
    if image_topics:
        chosen = []
        for topic in image_topics:
            if topic not in topics:
                raise ValueError(f"{where} has no topic {topic!r}; its image topics: {images}")
            if topics[topic] not in _IMAGE_TYPES:
                raise ValueError(f"{where}: {topic} is {topics[topic]}, not an Image or "
                                 "CompressedImage")
            chosen.append(topic)
    else:
        by_ns: dict[str, str] = {}
        for topic in images:
            raw = topics[topic] == bagio.IMAGE and topic.endswith("/image_raw")
            jpeg = (topics[topic] == bagio.COMPRESSED_IMAGE
                    and topic.endswith("/image_raw/compressed"))
            if not (raw or jpeg):
                continue
            ns = _namespace(topic, topics[topic])
            if ns in by_ns and topics[by_ns[ns]] == bagio.IMAGE:
                continue  # raw pixels beat JPEG
            by_ns[ns] = topic
        chosen = list(by_ns.values())
        if not chosen:
            raise ValueError(f"{where}: no camera found (expected <ns>/image_raw or "
                             f"<ns>/image_raw/compressed topics); image topics: {images}; "
                             "choose others with image_topics")
    cams = []
    for topic in chosen:
        ns = _namespace(topic, topics[topic])
        info = f"{ns}/camera_info"
        name = ns.strip("/") or "camera"
        if topics.get(info) != bagio.CAMERA_INFO:
            raise ValueError(f"{where}: camera {name!r} ({topic}) has no {info} "
                             f"(sensor_msgs/msg/CameraInfo) topic, so its intrinsics are "
                             "unknown; record camera_info with the images")
        cams.append(BagCameraTopics(name, topic, info))
    names = [c.name for c in cams]
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: two image topics of one camera namespace: "
                         f"{[c.image_topic for c in cams]}")
    return sorted(cams, key=lambda c: _natural_key(c.name))


def group_stamps(stamps: Sequence[np.ndarray], slop_ns: int
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Group frames of V cameras by capture stamp.

    stamps: per camera (n_v,) int64 header stamps in ns, strictly increasing.
    Returns frame stamps (F,) int64 (mean of each group) and per camera (n_v,) the frame index
    of each of its images, -1 for one dropped (a second image of that camera in a group).
    Greedy in time order: a group is opened by its earliest stamp and takes the stamps at
    most slop_ns later.
    """
    cams = np.concatenate([np.full(len(s), v) for v, s in enumerate(stamps)]).astype(int)
    flat = np.concatenate([np.asarray(s, np.int64) for s in stamps])
    order = np.argsort(flat, kind="stable")
    frame_of = np.full(flat.size, -1)
    group, start = -1, None
    members: set[int] = set()
    for i in order:  # per image, not per joint: ~frames x cameras steps
        if start is None or flat[i] - start > slop_ns:
            group, start, members = group + 1, flat[i], set()
        if cams[i] in members:
            continue
        members.add(cams[i])
        frame_of[i] = group
    kept = frame_of >= 0
    n_frames = group + 1
    sums = np.bincount(frame_of[kept], weights=flat[kept] - flat.min(), minlength=n_frames)
    counts = np.bincount(frame_of[kept], minlength=n_frames)
    frame_stamps = flat.min() + np.round(sums / counts).astype(np.int64)
    splits = np.cumsum([len(s) for s in stamps])[:-1]
    return frame_stamps, np.split(frame_of, splits)


def default_slop_ns(stamps: Sequence[np.ndarray]) -> int:
    """Half the median frame period over all cameras (10 ms if no camera has two frames)."""
    periods = np.concatenate([np.diff(np.asarray(s, np.int64)) for s in stamps])
    periods = periods[periods > 0]
    return int(np.median(periods) // 2) if periods.size else int(_DEFAULT_SLOP_S * 1e9)


class _OnceLog:
    """Logs a warning once per (camera, reason) and counts every occurrence."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def __call__(self, camera: str, reason: str, message: str) -> None:
        if not self.counts[(camera, reason)]:
            log.warning("camera %s: %s (reported once per camera; counted)", camera,
                        message)
        self.counts[(camera, reason)] += 1


@dataclass
class _Scan:
    """First pass over a bag: per camera image header stamps (log order) and CameraInfo."""

    stamps: list[np.ndarray]
    cameras: list[CameraModel]
    transforms: list[StaticTransform]


def _image_stamp(item: bagio.BagMessage, camera: str, warn: _OnceLog | None) -> int:
    """Header stamp of an image message, ns; the bag's log time if the header has none."""
    try:
        stamp = bagio.header_stamp_ns(item.raw)
    except ValueError:
        stamp = 0
    if stamp > 0:
        return stamp
    if warn is not None:
        warn(camera, "no_stamp", "image without header stamp; using the bag's log time")
    return item.stamp_ns


def _scan(path: Path, cams: list[BagCameraTopics], has_tf: bool, warn: _OnceLog) -> _Scan:
    store = bagio.typestore()
    index = {c.image_topic: v for v, c in enumerate(cams)}
    info_index = {c.info_topic: v for v, c in enumerate(cams)}
    stamps: list[list[int]] = [[] for _ in cams]
    models: list[CameraModel | None] = [None] * len(cams)
    errors: list[str | None] = [None] * len(cams)
    transforms: list[StaticTransform] = []
    topics = list(index) + list(info_index) + ([TF_STATIC] if has_tf else [])
    for item in bagio.read_messages(path, topics, deserialize=False):
        if item.topic in index:
            v = index[item.topic]
            stamps[v].append(_image_stamp(item, cams[v].name, warn))
        elif item.topic in info_index:
            v = info_index[item.topic]
            if models[v] is not None:
                continue
            try:
                msg = store.deserialize_cdr(item.raw, item.msgtype)
                models[v] = camera_model_from_info_msg(msg, cams[v].name)
            except ValueError as err:
                errors[v] = errors[v] or str(err)
        else:
            transforms += transforms_from_message(store.deserialize_cdr(item.raw, item.msgtype))
    for v, cam in enumerate(cams):
        if models[v] is None:
            reason = errors[v] or f"no message on {cam.info_topic}"
            raise ValueError(f"bag {path}: no usable CameraInfo for camera {cam.name!r}: {reason}")
        if not stamps[v]:
            raise ValueError(f"bag {path}: camera {cam.name!r} has no image on {cam.image_topic}")
    return _Scan([np.asarray(s, np.int64) for s in stamps],
                 [m for m in models if m is not None], transforms)


def _increasing(stamps: np.ndarray) -> np.ndarray:
    """(n,) bool: stamps later than every stamp before them."""
    previous = np.maximum.accumulate(np.r_[np.iinfo(np.int64).min, stamps[:-1]])
    return stamps > previous


def _detect(path: Path, cams: list[BagCameraTopics], cameras: list[CameraModel],
            frame_by_stamp: list[dict[int, int]], n_frames: int, warn: _OnceLog,
            progress: bool) -> list[ViewDetections]:
    """Second pass: decode each kept image and run that camera's BlazePose tracker.

    frame_by_stamp: per camera, image stamp (ns) -> synchronised frame index of the images
    kept by the first pass; frames reach each tracker in increasing order.
    """
    from tqdm import tqdm

    store = bagio.typestore()
    index = {c.image_topic: v for v, c in enumerate(cams)}
    trackers = [BlazePoseSequence() for _ in cams]
    total = sum(len(f) for f in frame_by_stamp)
    try:
        with tqdm(total=total, desc=path.name, disable=not progress) as bar:
            for item in bagio.read_messages(path, list(index), deserialize=False):
                v = index[item.topic]
                frame = frame_by_stamp[v].get(_image_stamp(item, cams[v].name, None), -1)
                if frame < len(trackers[v]):  # dropped by the first pass, or a duplicate
                    continue
                bar.update()
                name = cams[v].name
                try:
                    image = bagio.decode_image(store.deserialize_cdr(item.raw, item.msgtype))
                except Exception as err:  # any broken message costs one frame, not the run
                    warn(name, "undecodable", f"cannot decode an image on {item.topic}: {err}")
                    continue
                size = (image.shape[1], image.shape[0])
                if size != (cameras[v].width, cameras[v].height):
                    warn(name, "size", f"image {size[0]}x{size[1]} but CameraInfo says "
                         f"{cameras[v].width}x{cameras[v].height}")
                    continue
                trackers[v].pad_to(frame)
                trackers[v].add(image)
        views = []
        for v, tracker in enumerate(trackers):
            tracker.pad_to(n_frames)
            view = tracker.result()
            view.image_size = (cameras[v].width, cameras[v].height)
            views.append(view)
    finally:
        for tracker in trackers:
            tracker.close()
    return views


def bag_cache_key(path: Path, image_topics: Sequence[str] | None, slop_s: float | None) -> str:
    """Hex digest that changes when the bag's files (names, sizes, mtimes) or the reading
    options change."""
    path = Path(path).resolve()
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    content = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()]
    doc = {"path": str(path), "files": content, "image_topics": list(image_topics or []),
           "slop_s": slop_s, "version": CACHE_VERSION}
    return hashlib.sha1(json.dumps(doc).encode()).hexdigest()[:16]


def _save(cache_file: Path, rec: BagRecording) -> None:
    cams = rec.cameras
    tfs = rec.transforms
    save_views(
        cache_file, rec.views, stamps_ns=rec.stamps_ns,
        cam_name=np.array([c.name for c in cams]), cam_frame=np.array([c.frame_id for c in cams]),
        cam_size=np.array([[c.width, c.height] for c in cams]),
        cam_K=np.stack([c.K for c in cams]), cam_model=np.array([c.distortion_model for c in cams]),
        **{f"cam_dist{v}": c.dist for v, c in enumerate(cams)},
        tf_parent=np.array([t.parent for t in tfs], dtype=str),
        tf_child=np.array([t.child for t in tfs], dtype=str),
        tf_translation=np.array([t.translation for t in tfs]).reshape(-1, 3),
        tf_rotation=np.array([t.rotation for t in tfs]).reshape(-1, 4))


def _load(cache_file: Path, path: Path) -> BagRecording:
    with np.load(cache_file) as data:
        views = load_views(data)
        cameras = [CameraModel(str(name), str(frame), int(size[0]), int(size[1]), K,
                               data[f"cam_dist{v}"], str(model))
                   for v, (name, frame, size, K, model) in enumerate(zip(
                       data["cam_name"], data["cam_frame"], data["cam_size"], data["cam_K"],
                       data["cam_model"], strict=True))]
        tfs = [StaticTransform(str(p), str(c), t, q) for p, c, t, q in zip(
            data["tf_parent"], data["tf_child"], data["tf_translation"], data["tf_rotation"],
            strict=True)]
        return BagRecording(path, cameras, views, data["stamps_ns"], tfs)


def read_bag_recording(path: str | Path, image_topics: Sequence[str] | None = None,
                       slop_s: float | None = None, cache_dir: Path | None = None,
                       progress: bool = True) -> BagRecording:
    """BlazePose detections and cameras of a multi-camera bag (module docstring).

    image_topics: explicit image topics (default: discover); slop_s: largest stamp difference
    of one frame's images, seconds (default: half the median frame period); cache_dir: the
    result is cached there as bag_<name>_<key>_blazepose.npz (key: bag_cache_key).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no bag at {path}")
    cache_file = None
    if cache_dir is not None:
        key = bag_cache_key(path, image_topics, slop_s)
        cache_file = Path(cache_dir) / f"bag_{path.name}_{key}_blazepose.npz"
        if cache_file.is_file():
            log.info("%s: 2D detections from the cache %s", path, cache_file)
            return _load(cache_file, path)
    topics = bagio.bag_topics(path)
    cams = discover_cameras(topics, image_topics, where=f"bag {path}")
    if len(cams) < 2:
        log.warning("bag %s: only one camera (%s); pseudo-labels need two or more", path,
                    cams[0].image_topic)
    warn = _OnceLog()
    scan = _scan(path, cams, TF_STATIC in topics, warn)
    kept_stamps = []
    for cam, stamps in zip(cams, scan.stamps, strict=True):
        ok = _increasing(stamps)
        if not ok.all():
            warn(cam.name, "stamp_order", f"{int((~ok).sum())} image(s) not later than the "
                 "previous one (duplicate or backwards header stamp)")
        kept_stamps.append(stamps[ok])
    slop_ns = int(slop_s * 1e9) if slop_s is not None else default_slop_ns(kept_stamps)
    frame_stamps, grouped = group_stamps(kept_stamps, slop_ns)
    frame_by_stamp = []
    present = np.zeros(len(frame_stamps), int)
    for v, (stamps, frames) in enumerate(zip(kept_stamps, grouped, strict=True)):
        keep = frames >= 0
        if not keep.all():
            warn(cams[v].name, "same_set", f"{int((~keep).sum())} image(s) within "
                 f"{slop_ns / 1e6:.1f} ms of another image of the same camera dropped")
        frame_by_stamp.append(dict(zip(stamps[keep].tolist(), frames[keep].tolist(),
                                       strict=True)))
        present[frames[keep]] += 1
    log.info("bag %s: %d cameras (%s), %d synchronised frames (slop %.1f ms), %d with a "
             "camera missing", path, len(cams), ", ".join(c.image_topic for c in cams),
             len(frame_stamps), slop_ns / 1e6, int((present < len(cams)).sum()))
    views = _detect(path, cams, scan.cameras, frame_by_stamp, len(frame_stamps), warn,
                    progress)
    for (name, reason), count in sorted(warn.counts.items()):
        log.info("camera %s: %d frame(s) affected by %s", name, count, reason)
    for cam, view in zip(cams, views, strict=True):
        if not np.isfinite(view.keypoints).any():
            log.warning("camera %s: no person detected in any frame", cam.name)
    rec = BagRecording(path, scan.cameras, views, frame_stamps, scan.transforms)
    if cache_file is not None:
        _save(cache_file, rec)
    return rec
