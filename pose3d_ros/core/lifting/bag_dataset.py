"""Lifter training data from a multi-camera rosbag2 (sqlite3 or MCAP): the same per-camera
ViewDetections that dataset.detect_recording makes from videos, plus the CameraModels.

The bag is read as the tools (evaluate, run, the replay, the overlays) read it, so that a bag
gives the lifter the cameras and the frame sets the node makes of it:

Cameras: core.bag_cameras.camera_topics, the tools' discovery: a camera is an image topic's
first namespace (/camera1/color/image_raw -> "camera1", the node's camera name), any non-depth
Image or CompressedImage topic is a camera's (raw wins, then the shortest name); explicit
image topics may have any name (one per camera). Each camera needs a CameraInfo topic (the one
beside its images, else its own non-depth one); intrinsics come from its first valid message.

Frame sets: core.bag_tracks.index_frame_sets, the tools' grouping (header stamps of all
cameras in time order; a set takes the images at most `slop` after its first, one per camera,
a camera's second image opening the next set; images stamped 0 or repeating their camera's
stamp left out with a warning; set stamp = core.sync.mean_stamp_ns, the node's output stamp).
Only the slop is train_lifter's own (default: half the median frame period). Set f is frame f
of EVERY camera: a camera without an image in set f gets a NaN row there, so frame indices
never shift between cameras. An image that cannot be used (corrupt data, a refused encoding,
a size its CameraInfo is not for) is also a NaN row, skipped as the tools skip it
(core.bag_tracks.bag_image: logged once per topic and reason, counted in skipped_images).

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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import bagio
from ..bag_cameras import TF_STATIC, CameraTopics, bag_where, camera_topics
from ..bag_tracks import FrameSetIndex, frame_sets, index_frame_sets, skipped_images
from ..camera import CameraModel, camera_model_from_info_msg
from ..messages import seconds_to_ns
from ..output_files import DamagedFileError, cache_kept, npz_file
from ..static_tf import StaticTransform, transforms_from_message
from .dataset import BlazePoseSequence, ViewDetections, load_views, save_views

log = logging.getLogger(__name__)

# 2: cameras named and frames grouped as the tools do (core.bag_cameras, core.bag_tracks)
CACHE_VERSION = 2
_DEFAULT_SLOP_S = 0.010


@dataclass(frozen=True)
class BagRecording:
    """What one bag gives the lifter training.

    cameras: intrinsics from CameraInfo, identity extrinsics (see posed_cameras);
    views: per camera (F, ...) BlazePose detections, row f = frame set f;
    stamps_ns: (F,) int64, each frame set's stamp (core.sync.mean_stamp_ns of its images'
        header stamps), ns since the epoch;
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


def training_cameras(path: Path, image_topics: Sequence[str] | None = None
                     ) -> list[CameraTopics]:
    """The bag's cameras (core.bag_cameras.camera_topics, sorted by name; image_topics:
    exactly these), read from its topic list. ValueError naming the bag when no camera is
    found or a camera has no CameraInfo topic (its intrinsics would be unknown)."""
    where = bag_where(path)
    cams = camera_topics(bagio.bag_topics(path), chosen=image_topics, where=where)
    for cam in cams:
        if not cam.info_topic:
            folder = cam.image_topic.removesuffix("/compressed").rsplit("/", 1)[0]
            raise ValueError(f"{where}: camera {cam.name!r} ({cam.image_topic}) has no "
                             f"{folder}/camera_info (sensor_msgs/msg/CameraInfo) topic, so its "
                             "intrinsics are unknown; record camera_info with the images")
    return cams


def bag_camera_models(path: Path, image_topics: Sequence[str] | None = None
                      ) -> list[CameraModel]:
    """The training cameras' models from their first valid CameraInfo (training_cameras;
    no image is read): for checks before any 2D detection. ValueError as _intrinsics."""
    return _intrinsics(Path(path), training_cameras(Path(path), image_topics), False)[0]


def default_slop_ns(stamps: Sequence[np.ndarray]) -> int:
    """Half the median frame period over all cameras (10 ms if no camera has two frames)."""
    periods = np.concatenate([np.diff(np.asarray(s, np.int64)) for s in stamps])
    periods = periods[periods > 0]
    return int(np.median(periods) // 2) if periods.size else seconds_to_ns(_DEFAULT_SLOP_S)


def _intrinsics(path: Path, cams: list[CameraTopics], has_tf: bool
                ) -> tuple[list[CameraModel], list[StaticTransform]]:
    """Each camera's model from its first valid CameraInfo, and the bag's /tf_static (the
    images are not read). ValueError naming a camera without a valid CameraInfo."""
    store = bagio.typestore()
    info_index = {c.info_topic: v for v, c in enumerate(cams)}
    models: list[CameraModel | None] = [None] * len(cams)
    errors: list[str | None] = [None] * len(cams)
    transforms: list[StaticTransform] = []
    topics = list(info_index) + ([TF_STATIC] if has_tf else [])
    for item in bagio.read_messages(path, topics, deserialize=False):
        if item.topic in info_index:
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
    return [m for m in models if m is not None], transforms


def _frame_index(path: Path, cams: list[CameraTopics], slop_s: float | None
                 ) -> tuple[FrameSetIndex, int]:
    """The bag's frame sets (core.bag_tracks.index_frame_sets over the cameras' image topics)
    with slop_s, default half the median frame period, and that slop in ns. ValueError
    naming a camera with no image with a header stamp."""
    topics = [c.image_topic for c in cams]
    index = index_frame_sets(path, topics=topics)
    stamps: dict[str, list[int]] = {topic: [] for topic in topics}
    for topic, stamp in index.set_of:
        stamps[topic].append(stamp)
    for cam in cams:
        if not stamps[cam.image_topic]:
            raise ValueError(f"bag {path}: camera {cam.name!r} has no image with a header "
                             f"stamp on {cam.image_topic}")
    slop_ns = seconds_to_ns(slop_s) if slop_s is not None else default_slop_ns(
        [np.sort(np.array(stamps[t], np.int64)) for t in topics])
    return index_frame_sets(path, topics=topics, slop_ns=slop_ns), slop_ns


def _detect(path: Path, index: FrameSetIndex, cameras: list[CameraModel], progress: bool
            ) -> list[ViewDetections]:
    """Decode each frame set's images (core.bag_tracks.frame_sets: an unusable image is
    skipped, counted in skipped_images) and run each camera's BlazePose tracker on its
    images in set order; row f of every view is frame set f, NaN where the camera has no
    usable image."""
    from tqdm import tqdm

    slot = {c.name: v for v, c in enumerate(cameras)}
    frame_of = {stamp: f for f, stamp in enumerate(index.stamps.tolist())}
    n_frames = len(index.stamps)
    trackers = [BlazePoseSequence() for _ in cameras]
    try:
        with tqdm(total=n_frames, desc=path.name, disable=not progress) as bar:
            for stamp, images in frame_sets(path, index=index, models=dict(zip(
                    slot, cameras, strict=True))):
                frame = frame_of[stamp]
                for name, image in images.items():
                    trackers[slot[name]].pad_to(frame)
                    trackers[slot[name]].add(image)
                bar.update(frame + 1 - bar.n)
        views = []
        for cam, tracker in zip(cameras, trackers, strict=True):
            tracker.pad_to(n_frames)
            view = tracker.result()
            view.image_size = (cam.width, cam.height)
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
    with npz_file(cache_file, "a bag's detection cache file") as data:
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
            try:
                return _load(cache_file, path)
            except DamagedFileError as exc:   # (a disk error, a copy cut short): detect again
                log.warning("%s: detecting again", exc)
    cams = training_cameras(path, image_topics)
    if len(cams) < 2:
        log.warning("bag %s: only one camera (%s); pseudo-labels need two or more", path,
                    cams[0].image_topic)
    cameras, transforms = _intrinsics(path, cams, TF_STATIC in bagio.bag_topics(path))
    index, slop_ns = _frame_index(path, cams, slop_s)
    present = Counter(index.set_of.values())
    log.info("bag %s: %d cameras (%s), %d frame sets (slop %.1f ms), %d with a camera "
             "missing", path, len(cams), ", ".join(c.image_topic for c in cams),
             len(index.stamps), slop_ns / 1e6,
             sum(present[s] < len(cams) for s in index.stamps.tolist()))
    views = _detect(path, index, cameras, progress)
    for (topic, reason), count in skipped_images(path).counts().items():
        if topic in index.topics:
            log.info("bag %s: %d image(s) of %s skipped [%s]: NaN rows of that camera", path,
                     count, topic, reason)
    for cam, view in zip(cams, views, strict=True):
        if not np.isfinite(view.keypoints).any():
            log.warning("camera %s: no person detected in any frame", cam.name)
    rec = BagRecording(path, cameras, views, index.stamps, transforms)
    if cache_file is not None:
        cache_kept(lambda: _save(cache_file, rec), cache_file, "the bag's 2D cache")
    return rec
