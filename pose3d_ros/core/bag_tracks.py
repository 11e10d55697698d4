"""Skeleton tracks and cameras of a rosbag2, and the pipeline replayed offline on its images.

  read_track        a Skeleton3DArray topic as an evaluation.SkeletonTrack, brought into the
                    frame asked for through the bag's /tf_static (the skeletons' frame_id is
                    read from the messages, never assumed)
  bag_cameras       CameraModel per camera (core.bag_cameras), or a lone camera unposed
  frame_sets        the bag's images grouped into frame sets by header stamp
                    (index_frame_sets: within the node's sync slop); an image that cannot be
                    used (corrupt data, an encoding the nodes refuse, a size its CameraInfo
                    is not for) is skipped as the node skips it, counted in skipped_images
                    and logged once per topic and reason
  run_pipeline      pose3d_ros.core.pipeline over those sets, deterministic, as fast as the
                    machine allows (the chain the nodes run)
  per_camera_figures  people per camera and the 3D output's reprojection error against them
  recorded_2d       the 2D a node published beside its 3D (<camera>/skeletons_2d), recorded
                    in a bag, in per_camera_figures' form
  write_track_bag   a track as an MCAP bag with the rig's /tf_static
"""
from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from . import bagio, metrics
from .bag_cameras import (
    bag_where,
    camera_info_topics,
    camera_name,
    camera_topics,
    read_bag_cameras,
)
from .camera import CameraModel, camera_model_from_info_msg, is_uncalibrated
from .detection import DEFAULT_DETECTOR
from .evaluation import SkeletonTrack, in_frame, pair_frames
from .image_decode import ImageDecodeError, check_image_size
from .layouts import convert_joints
from .messages import (
    detections_from_message,
    image_from_message,
    ns_to_seconds,
    seconds_to_ns,
    stamp_to_ns,
)
from .static_tf import TransformTree, transforms_from_message, upright_transform
from .sync import SyncParams, mean_stamp_ns
from .types import Detections2D, Skeletons3D

if TYPE_CHECKING:
    from .pipeline import PipelineParams

log = logging.getLogger(__name__)
_Stamped = TypeVar("_Stamped", bound=tuple)    # a message as (stamp ns, ...)

TF_STATIC = "/tf_static"
# Largest header stamp difference (ns) within one frame set of a bag: the node's sync.slop_s
# default, so the tools group a recording's images as the node does.
FRAME_SET_SLOP_NS = seconds_to_ns(SyncParams().slop_s)


def static_tree(bag: Path) -> TransformTree:
    """All /tf_static transforms of a bag (empty tree when it has none)."""
    tree = TransformTree()
    if TF_STATIC in bagio.bag_topics(bag):
        for _, _, msg in bagio.read_bag(bag, [TF_STATIC]):
            tree.add(transforms_from_message(msg))
    return tree


def read_track(bag: Path, topic: str, *, frame_id: str | None = None,
               tree: TransformTree | None = None) -> SkeletonTrack:
    """A Skeleton3DArray topic of a bag as a track, in stamp order, in `frame_id` (default:
    the messages' own frame). The transform comes from `tree` (default: the bag's
    /tf_static); LookupError naming the frames when it is not there.

    Several messages with one stamp (a node that processed a partial camera set and then the
    rest) keep the one with the most estimated joints, said in one log line. A recording of a
    looped replay holds its stamps several times, each pass starting where the stamps go back
    in log order: the pass with the most messages is read (the first of equals), said in one
    line (a review: a WARN per frame set, and the passes mixed, message by message).
    """
    items: list[tuple[int, Skeletons3D, int]] = []        # (stamp, skeletons, log time)
    frames_seen: set[str] = set()
    for item in bagio.read_messages(bag, [topic]):
        if item.msgtype != bagio.SKELETON3D_ARRAY:
            raise ValueError(f"{bag}:{topic} is {item.msgtype}, not {bagio.SKELETON3D_ARRAY}")
        items.append((bagio.stamp_to_ns(item.message.header.stamp),
                      bagio.skeletons_from_message(item.message), item.stamp_ns))
        frames_seen.add(item.message.header.frame_id)
    passes, repeated = [], []
    for of_pass in replay_passes(items) or [[]]:
        by_stamp: dict[int, tuple[Skeletons3D, int]] = {}
        for stamp, frame, log_ns in of_pass:
            if stamp in by_stamp and _known_joints(frame) <= _known_joints(by_stamp[stamp][0]):
                continue
            by_stamp[stamp] = (frame, log_ns)
        passes.append(by_stamp)
        repeated.append(len(of_pass) - len(by_stamp))
    chosen = max(range(len(passes)), key=lambda k: len(passes[k]))   # the first of equals
    by_stamp = passes[chosen]
    if len(passes) > 1:
        log.warning("%s: its stamps go back %d times (a looped replay recorded?): pass %d of "
                    "%d, of %d messages, is read", topic, len(passes) - 1, chosen + 1,
                    len(passes), len(by_stamp))
    if repeated[chosen]:
        log.warning("%s: %d messages repeat a stamp; the most complete of each stamp is kept",
                    topic, repeated[chosen])
    if len(frames_seen) > 1:
        raise ValueError(f"{bag}:{topic} mixes frames {sorted(frames_seen)}")
    stamps = sorted(by_stamp)
    track = SkeletonTrack(np.array(stamps, np.int64), [by_stamp[s][0] for s in stamps],
                          np.array([by_stamp[s][1] for s in stamps], np.int64))
    source = next(iter(frames_seen), "")
    if frame_id is None or not source or source == frame_id:
        return track
    R, t = (tree or static_tree(bag)).lookup(frame_id, source)
    log.info("%s: skeletons in %r, expressed in %r through /tf_static", topic, source, frame_id)
    return in_frame(track, frame_id, R, t)


def replay_passes(items: Sequence[_Stamped]) -> list[list[_Stamped]]:
    """Messages of one topic in log order, (stamp ns, ...) each, split into the passes of a
    recorded looped replay: a pass starts where the stamp goes back (one pass otherwise;
    none for no message)."""
    passes: list[list[_Stamped]] = []
    for item in items:
        if not passes or item[0] < passes[-1][-1][0]:
            passes.append([])
        passes[-1].append(item)
    return passes


def published_frame(bag: Path, topic: str) -> str:
    """The header frame_id of the first message of a topic ("" when it has none)."""
    for item in bagio.read_messages(bag, [topic]):
        return str(item.message.header.frame_id)
    return ""


def _known_joints(frame: Skeletons3D) -> int:
    return int(np.isfinite(frame.positions).all(axis=-1).sum())


def bag_cameras(bag: Path, uncalibrated_hfov_deg: float = 0.0
                ) -> tuple[dict[str, CameraModel], str]:
    """The bag's calibrated cameras, name -> CameraModel posed from /tf_static, and the fixed
    frame those poses refer to (core.bag_cameras.read_bag_cameras). A bag with one camera and
    no pose for it (a video with intrinsics alone) gives that camera with identity extrinsics:
    its optical frame is then the fixed frame (one camera needs no rig);
    uncalibrated_hfov_deg > 0: that camera, if its CameraInfo K is all zero, as a pinhole of
    that horizontal field of view (camera.camera_model_from_info_msg, as the nodes take it)."""
    try:
        return read_bag_cameras(bag)
    except ValueError:
        infos = camera_info_topics(bag)      # name -> topic, one per camera, not a depth one
        if len(infos) != 1:
            raise
    (name, topic), = infos.items()
    for _, _, msg in bagio.read_bag(bag, [topic]):
        camera = camera_model_from_info_msg(msg, name, uncalibrated_hfov_deg)
        return {camera.name: camera}, camera.frame_id
    raise ValueError(f"bag {bag}: topic {topic} holds no CameraInfo message")


def uncalibrated_cameras(bag: Path) -> list[str]:
    """The bag's cameras whose first CameraInfo has an all-zero K (not calibrated)."""
    infos = camera_info_topics(bag)
    first: dict[str, bool] = {}
    for topic, _, msg in bagio.read_bag(bag, list(infos.values())):
        first.setdefault(topic, is_uncalibrated(msg))
        if len(first) == len(infos):
            break
    return sorted(name for name, topic in infos.items() if first.get(topic))


@dataclass(frozen=True)
class FrameSetIndex:
    """How a bag's images form frame sets (index_frame_sets), read without decoding them.

    stamps: (S,) int64 ns, each set's stamp (the mean of its images' header stamps, as the
        node stamps its output: core.sync.mean_stamp_ns), increasing.
    set_of: (image topic, header stamp ns) -> the stamp of the set the image belongs to; an
        image left out (a zero stamp, a camera's stamp repeated, no header) is not in it.
    left_out: reason -> images left out ("zero_stamp", "repeated_stamp",
        "unreadable_header").
    topics: the image topics read (bag_cameras.camera_topics): topic -> type.
    camera_of: image topic -> the name of its camera (bag_cameras.camera_topics).
    """

    stamps: np.ndarray
    set_of: dict[tuple[str, int], int]
    left_out: dict[str, int]
    topics: dict[str, str]
    camera_of: dict[str, str]


def index_frame_sets(bag: Path, cameras: Sequence[str] | None = None, *,
                     slop_ns: int = FRAME_SET_SLOP_NS,
                     topics: Sequence[str] | None = None) -> FrameSetIndex:
    """Group the bag's images into frame sets by header stamp: the one grouping of the
    offline readers (evaluate, run, the replay, the overlays and train_lifter --bag, which
    pass their own slop or topics), with the node's rules where it has one, so that a bag
    gives the sets, and the set stamps, the node makes of it live.

    Images: one topic per camera (bag_cameras.camera_topics, of `cameras` if given; `topics`:
    exactly these image topics). In stamp order, an image joins the open set when it is
    within slop_ns of the set's first stamp and its camera has no image there yet, else it
    opens the next set: cameras that are not hardware-synchronised stamp one instant a few
    milliseconds apart, and a camera's second image within the slop is a frame of its own,
    not lost (the node's synchroniser, which sees frames as they arrive, keeps one of two
    such frames, the nearer to the other cameras'). A set's stamp is the mean of its images'
    stamps rounded as the node rounds its output stamp (core.sync.mean_stamp_ns), so an
    offline set and the node's output for it carry the same stamp, bit for bit. Left out
    with a warning, as the node cannot pair them either: images stamped 0 (a driver that does
    not stamp; the bag's log time is when the recorder got them, not a capture time), a
    camera's repeated stamp (the node drops it: "duplicate_stamp") and a message too short to
    hold a header. ValueError when no image is left. A tool asks for the same bag's index
    several times (stamps, replay, overlays): the bag is read once while its files stay as
    they are."""
    path, signature = _bag_state(bag)
    return _indexed_frame_sets(path, None if cameras is None else tuple(cameras),
                               None if topics is None else tuple(topics), slop_ns, signature)


def _bag_state(bag: Path) -> tuple[Path, tuple]:
    """The bag's resolved path and the (name, size, mtime) of its files: what the records
    kept per bag in this process (index, skipped images) are keyed by."""
    path = Path(bag).resolve()
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    return path, tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files
                       if f.is_file())


@functools.lru_cache(maxsize=8)
def _indexed_frame_sets(bag: Path, cameras: tuple[str, ...] | None,
                        topics: tuple[str, ...] | None, slop_ns: int, signature: tuple
                        ) -> FrameSetIndex:
    """index_frame_sets' grouping, once per bag, cameras, topics, slop and state of the bag's
    files (the images' stamps read once for every slop: _image_stamps)."""
    chosen, camera_of, kept, left_out = _image_stamps(bag, cameras, topics, signature)
    groups: list[list[tuple[int, str]]] = []
    in_group: set[str] = set()                         # cameras (image topics) of the open set
    for stamp, topic in kept:
        if not groups or stamp - groups[-1][0][0] > slop_ns or topic in in_group:
            groups.append([])
            in_group = set()
        groups[-1].append((stamp, topic))
        in_group.add(topic)
    stamps = [mean_stamp_ns([stamp for stamp, _ in group]) for group in groups]
    set_of = {(topic, stamp): set_stamp for set_stamp, group in zip(stamps, groups, strict=True)
              for stamp, topic in group}
    return FrameSetIndex(np.array(stamps, np.int64), set_of, dict(left_out), dict(chosen),
                         dict(camera_of))


@functools.lru_cache(maxsize=8)
def _image_stamps(bag: Path, cameras: tuple[str, ...] | None, topics: tuple[str, ...] | None,
                  signature: tuple
                  ) -> tuple[dict[str, str], dict[str, str], list[tuple[int, str]],
                             dict[str, int]]:
    """The image topics read (topic -> type) and their cameras (topic -> camera name), the
    (header stamp ns, topic) of each image grouped, in stamp order, and the images left out
    by reason (index_frame_sets), read without deserialising the images, once per bag,
    cameras, topics and state of its files; the warnings about images left out are logged
    here, once."""
    found = camera_topics(bagio.bag_topics(bag), cameras, topics, where=bag_where(bag))
    chosen = {c.image_topic: c.image_type for c in found}
    camera_of = {c.image_topic: c.name for c in found}
    images, unreadable = [], 0
    for item in bagio.read_messages(bag, chosen, deserialize=False):
        try:
            images.append((bagio.header_stamp_ns(item.raw), item.topic))
        except ValueError:
            unreadable += 1
    left_out = {"zero_stamp": 0, "repeated_stamp": 0, "unreadable_header": unreadable}
    seen: set[tuple[str, int]] = set()
    kept = []
    for stamp, topic in sorted(images):
        if stamp == 0:
            left_out["zero_stamp"] += 1
        elif (topic, stamp) in seen:
            left_out["repeated_stamp"] += 1
        else:
            seen.add((topic, stamp))
            kept.append((stamp, topic))
    if not images and not unreadable:
        raise ValueError(f"bag {bag}: no message on its image topics {sorted(chosen)}")
    if not kept:
        why = f"all {len(images)} are stamped 0" + (f", {unreadable} more have no header"
                                                     if unreadable else "")
        raise ValueError(f"bag {bag}: no image with a header stamp ({why}); the tools pair "
                         "frames by header stamp: record the camera with a driver that "
                         "stamps its images")
    if left_out["zero_stamp"]:
        log.warning("bag %s: %d of %d images have header stamp 0 and are left out (the tools "
                    "pair frames by header stamp; stamp them in the driver)", bag,
                    left_out["zero_stamp"], len(images))
    if left_out["repeated_stamp"]:
        log.warning("bag %s: %d images repeat their camera's previous header stamp and are "
                    "left out", bag, left_out["repeated_stamp"])
    if unreadable:
        log.warning("bag %s: %d image messages are too short to hold a header and are left "
                    "out", bag, unreadable)
    if back := backward_stamps([(stamp, topic) for stamp, topic in images if stamp != 0]):
        # (a review: a camera clock stepped back 2 s mid-recording was replayed in stamp
        # order, the footage's second half first, without a word)
        log.warning("bag %s: header stamps go back in recorded order (%s): the frames are "
                    "taken in stamp order, not as recorded (a clock reset or an NTP step in "
                    "the cameras' driver)", bag, ", ".join(
                        f"{camera_of[topic]} {count} time(s), at most {largest_s:.3f} s"
                        for topic, (count, largest_s) in back.items()))
    return chosen, camera_of, kept, {reason: n for reason, n in left_out.items() if n}


def backward_stamps(images: list[tuple[int, str]]) -> dict[str, tuple[int, float]]:
    """Per topic of (header stamp ns, topic) pairs in recorded order: how often its stamp
    is below its previous one, and the largest such step (s); topics that never go back are
    left out."""
    by_topic: dict[str, list[int]] = {}
    for stamp, topic in images:
        by_topic.setdefault(topic, []).append(stamp)
    out = {}
    for topic, stamps in by_topic.items():
        steps = np.diff(np.asarray(stamps, np.int64))
        back = steps[steps < 0]
        if back.size:
            out[topic] = (int(back.size), float(-back.min()) / 1e9)
    return out


def stamp_text(stamp_ns: int) -> str:
    """A header stamp (int ns) as seconds.nanoseconds, exact (as `ros2 bag` shows it)."""
    return f"{stamp_ns // 1_000_000_000}.{stamp_ns % 1_000_000_000:09d} s"


@dataclass(frozen=True)
class SkippedImages:
    """The images of one bag that its readers skipped (see frame_sets), kept for the
    process (skipped_images): (topic, reason) -> the header stamps (int ns) of those images,
    and the first one's message (it names the topic and the stamp). Each (topic, reason) is
    logged once, when first met; a frame read again (the pipeline, then the reference) is
    neither counted nor told twice."""

    bag: Path
    stamps: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    first: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, topic: str, stamp_ns: int, error: ImageDecodeError) -> None:
        """Count the image of `topic` stamped stamp_ns skipped for `error` (its reason)."""
        key = (topic, error.reason)
        if key not in self.stamps:
            self.first[key] = str(error)
            log.warning("bag %s: skipped image [%s] %s (logged once per topic and reason; "
                        "counted in the report's notes)", self.bag, error.reason, error)
        self.stamps.setdefault(key, set()).add(stamp_ns)

    def counts(self) -> dict[tuple[str, str], int]:
        """(topic, reason) -> images skipped."""
        return {key: len(stamps) for key, stamps in sorted(self.stamps.items())}

    def notes(self) -> list[str]:
        """One line per (topic, reason) for a report's notes: how many, and the first."""
        return [f"{count} image(s) of {topic} skipped [{reason}] as the node skips them "
                f"(each set went on with its other images); first: "
                f"{self.first[(topic, reason)]}"
                for (topic, reason), count in self.counts().items()]


_SKIPPED: dict[tuple[Path, tuple], SkippedImages] = {}


def skipped_images(bag: Path) -> SkippedImages:
    """The record of the bag's images skipped so far in this process (one per bag and state
    of its files: every reader of the bag adds to it, and a tool lists its notes())."""
    key = _bag_state(bag)
    if key not in _SKIPPED:
        _SKIPPED[key] = SkippedImages(key[0])
    return _SKIPPED[key]


def bag_image(item: bagio.BagMessage, camera: CameraModel | None,
              skipped: SkippedImages) -> np.ndarray | None:
    """The (H, W, 3) uint8 BGR image of a bag's Image or CompressedImage message, checked
    against its camera's calibrated size (image_decode.check_image_size; camera None: not
    checked), or None when it cannot be used (corrupt or truncated data, an encoding the
    nodes refuse, another size), counted and told once in `skipped`."""
    stamp = bagio.stamp_to_ns(item.message.header.stamp)
    source = f"{item.topic} image stamped {stamp_text(stamp)}"
    try:
        image = image_from_message(item.message, source)
        if camera is not None:
            check_image_size(image, (camera.width, camera.height), source=source)
    except ImageDecodeError as err:
        skipped.add(item.topic, stamp, err)
        return None
    return image


def frame_sets(bag: Path, cameras: Sequence[str] | None = None,
               index: FrameSetIndex | None = None,
               models: Mapping[str, CameraModel] | None = None
               ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """(set stamp ns, camera name -> BGR image) for each frame set of the bag (index_frame_sets,
    or `index` when already made), in time order. models: camera name -> the CameraModel its
    images must fit in size (a camera not in it: unchecked). An image that cannot be used
    (bag_image) is skipped as the node skips it: its set goes on with the other cameras, and a
    set left with no image is dropped; skipped_images(bag) counts them."""
    index = index or index_frame_sets(bag, cameras)
    skipped = skipped_images(bag)
    pending: dict[int, dict[str, np.ndarray]] = {}
    done: dict[int, set[str]] = {}                     # set -> cameras read (kept or skipped)
    expected: dict[int, int] = {}
    for stamp in index.set_of.values():
        expected[stamp] = expected.get(stamp, 0) + 1
    order = iter(index.stamps.tolist())
    next_set = next(order, None)
    for item in bagio.read_messages(bag, index.topics):
        key = (item.topic, bagio.stamp_to_ns(item.message.header.stamp))
        name = index.camera_of[item.topic]
        if (key not in index.set_of or next_set is None or index.set_of[key] < next_set
                or name in done.get(index.set_of[key], set())):
            continue                                   # left out, or its set already gone
        set_stamp = index.set_of[key]
        done.setdefault(set_stamp, set()).add(name)
        image = bag_image(item, (models or {}).get(name), skipped)
        if image is not None:
            pending.setdefault(set_stamp, {})[name] = image
        while next_set is not None and len(done.get(next_set, ())) == expected[next_set]:
            done.pop(next_set)
            if next_set in pending:                    # (else every image of it was skipped)
                yield next_set, pending.pop(next_set)
            next_set = next(order, None)
    while next_set is not None:                        # (a set whose images never came)
        if next_set in pending:
            yield next_set, pending.pop(next_set)
        next_set = next(order, None)


def frame_set_stamps(bag: Path, cameras: Sequence[str] | None = None) -> np.ndarray:
    """(S,) int64 ns: the stamps of the bag's frame sets (index_frame_sets) in time order,
    read without decoding images."""
    return index_frame_sets(bag, cameras).stamps


def count_frame_sets(bag: Path, cameras: Sequence[str] | None = None) -> int:
    """Number of frame sets (for progress bars), without decoding images."""
    return len(frame_set_stamps(bag, cameras))


@dataclass(frozen=True)
class PipelineRun:
    """Output of the pipeline over a bag.

    track: the 3D skeletons per frame set (in the rig's fixed frame). timings: stage -> (T,)
    seconds per frame set. per_camera: camera -> {"2D people (detector, all frames)": n,
    "reprojection error [px]": mean, "reprojection error median [px]": median}. detections:
    per frame set, {"stamp_ns": capture stamp (int ns, exact: the overlays find the bag's
    images by it), "cameras": camera -> Detections2D} (to re-use for a reference run).
    """

    track: SkeletonTrack
    timings: dict[str, np.ndarray]
    per_camera: dict[str, dict[str, float]]
    detections: list[dict]


def run_pipeline(bag: Path, *, detector: str = DEFAULT_DETECTOR,
                 cameras: Sequence[str] | None = None, params: PipelineParams | None = None,
                 detections: list[dict] | None = None,
                 max_frames: int | None = None, monocular_method: str | None = None,
                 progress: Callable[[int], None] | None = None,
                 detector_options: Mapping[str, Any] | None = None) -> PipelineRun:
    """Replay a bag through pose3d_ros.core.pipeline, frame set by frame set.

    cameras: subset of the bag's cameras (default all). detections: 2D results of an earlier
    run, re-used instead of running the detector. detector_options: create_detector options
    of the back-end (e.g. an ONNX back-end's model files). monocular_method: the one-camera method
    (monocular.MONOCULAR_METHODS) for sets with a single camera. progress: called with 1 per
    frame set.
    """
    from .monocular import create_monocular_method
    from .pipeline import Pose3DPipeline, create_detectors

    models, fixed = bag_cameras(bag)
    names = [n for n in sorted(models) if cameras is None or n in cameras]
    if cameras is not None and set(cameras) - set(names):
        raise ValueError(f"bag {bag} has no camera {sorted(set(cameras) - set(names))}")
    lifter = create_monocular_method(monocular_method) if monocular_method else None
    detectors = None if detections is not None else \
        create_detectors(detector, len(names), per_camera=False, **(detector_options or {}))
    pipeline = Pose3DPipeline(names, {n: models[n] for n in names}, detectors, frame_id=fixed,
                              params=params, lifter=lifter)
    stamps, frames, found = [], [], []
    timings: dict[str, list[float]] = {}
    try:
        sets: Iterator[tuple[int, Any]]
        if detections is None:
            sets = ((stamp, {n: images[n] for n in names if n in images})
                    for stamp, images in frame_sets(bag, names, models=models))
        else:
            sets = ((int(d["stamp_ns"]), d) for d in detections)
        # (islice: the set after the last is not read, so its bad images are not counted)
        for stamp, data in itertools.islice(sets, max_frames):
            if detections is None:
                result = pipeline.process_images(data, ns_to_seconds(stamp))
            else:
                result = pipeline.process_detections(
                    {n: data["cameras"][n] for n in names if n in data["cameras"]},
                    ns_to_seconds(stamp))
            stamps.append(stamp)
            frames.append(result.skeletons)
            found.append({"stamp_ns": stamp, "cameras": result.detections})
            for stage, seconds in result.timings.items():
                timings.setdefault(stage, []).append(seconds)
            if progress is not None:
                progress(1)
    finally:
        pipeline.close()
    track = SkeletonTrack(np.array(stamps, np.int64), frames)
    return PipelineRun(track, {k: np.array(v) for k, v in timings.items()},
                       per_camera_figures(models, track, found), found)


def per_camera_figures(cameras: dict[str, CameraModel], track: SkeletonTrack,
                       detections: list[dict], tolerance_s: float = 0.004
                       ) -> dict[str, dict[str, float]]:
    """Per camera: people the 2D detector found, and the reprojection error (px) of `track`'s
    3D skeletons (in the cameras' rig frame) against them, paired by stamp: the mean over
    every joint, which the detector's faults in that view raise too (left/right swaps), and
    the median, which they move little: a median far above the other cameras' is the
    camera's calibration or timing (the demo's cam02 swaps legs in 29 frames: mean 35 px,
    median 7 px like the others)."""
    stamps = np.array([int(d["stamp_ns"]) for d in detections], np.int64)
    pair = pair_frames(stamps, track.stamps_ns, seconds_to_ns(tolerance_s))
    people: dict[str, int] = {}
    errors: dict[str, list[np.ndarray]] = {}
    for found in detections:       # every frame's, as the label says (a review: only the
        for name, dets in found["cameras"].items():    # frames with an output were counted)
            people[name] = people.get(name, 0) + dets.num_people
            errors.setdefault(name, [])
    for t, k in enumerate(pair):
        if k < 0:
            continue
        for name, dets in detections[k]["cameras"].items():
            errors[name].append(camera_reprojection(cameras[name], track.frames[t], dets))
    out = {}
    for name in sorted(people):
        err = np.concatenate(errors[name]) if errors[name] else np.zeros(0)
        err = err[np.isfinite(err)]
        out[name] = {"2D people (detector, all frames)": float(people[name]),
                     "reprojection error [px]": float(err.mean()) if len(err) else float("nan"),
                     "reprojection error median [px]":
                         float(np.median(err)) if len(err) else float("nan")}
    return out


def recorded_2d(bags: Sequence[Path], cameras: Sequence[str], track: SkeletonTrack
                ) -> tuple[list[dict], int]:
    """The 2D a node published with `track` (publish_2d: Skeleton2DArray on
    /<camera>/skeletons_2d, the camera named by the topic's first namespace) as recorded in
    the first of `bags` that holds any (the prediction's bag before the images' bag: a
    recording may hold an earlier run's 2D), in per_camera_figures' form: one entry per frame
    of the track that a camera's 2D pairs with by header stamp (the nearest within
    FRAME_SET_SLOP_NS: a set's stamp lies within its cameras' slop), {"stamp_ns": the
    track's stamp, "cameras": camera -> Detections2D}; and the number of 2D messages that
    do not decode (skipped, as the fusion node skips them). A refused image's answer (no
    skeletons, image size 0 x 0) is no 2D of that image and left out, as the fusion node
    leaves it out."""
    for bag in dict.fromkeys(bags):
        topics = [topic for topic, kind in bagio.bag_topics(bag).items()
                  if kind == bagio.SKELETON2D_ARRAY and camera_name(topic) in cameras]
        if topics:
            break
    else:
        return [], 0
    logged: dict[str, list[tuple[int, int, Any]]] = {}    # camera -> (stamp, log time, 2D)
    malformed = 0
    for topic, log_ns, msg in bagio.read_bag(bag, topics):
        try:
            detections = detections_from_message(msg)
        except ValueError:
            malformed += 1
            continue
        if detections.refused_image:
            continue
        logged.setdefault(camera_name(topic), []).append(
            (stamp_to_ns(msg.header.stamp), log_ns, detections))
    # of a recorded looped replay, the pass logged at the time of the track's (a review: the
    # 3D of one pass was paired with another pass's 2D)
    middle = int(np.median(track.log_ns)) if track.log_ns is not None and \
        len(track.log_ns) else None
    found: dict[str, list[tuple[int, Any]]] = {}
    for camera, of_camera in logged.items():
        passes = replay_passes(of_camera)
        chosen = passes[0] if len(passes) == 1 or middle is None else min(
            passes, key=lambda p: 0 if p[0][1] <= middle <= p[-1][1]
            else min(abs(p[0][1] - middle), abs(p[-1][1] - middle)))
        found[camera] = [(stamp, detections) for stamp, _, detections in chosen]
    by_frame: dict[int, dict] = {}
    for camera, items in found.items():
        items.sort(key=lambda item: item[0])
        stamps = np.array([stamp for stamp, _ in items], np.int64)
        frame = pair_frames(track.stamps_ns, stamps, FRAME_SET_SLOP_NS)
        distance = np.abs(stamps - track.stamps_ns[np.maximum(frame, 0)]) \
            if len(track.stamps_ns) else np.zeros(len(stamps))
        paired = np.flatnonzero(frame >= 0)
        paired = paired[np.lexsort((distance[paired], frame[paired]))]
        _, nearest = np.unique(frame[paired], return_index=True)  # each frame's nearest
        for k in paired[nearest]:
            by_frame.setdefault(int(frame[k]), {})[camera] = items[k][1]
    return [{"stamp_ns": int(track.stamps_ns[k]), "cameras": by_frame[k]}
            for k in sorted(by_frame)], malformed


def camera_reprojection(camera: CameraModel, skeletons: Skeletons3D,
                        detections: Detections2D) -> np.ndarray:
    """Pixel distances (flattened) between the 3D people projected into `camera` and the
    camera's 2D people, in the 3D layout, each 2D person paired with at most one 3D person
    (Hungarian on the mean joint distance): a person the camera does not see is left out,
    not compared with the 2D of someone else (an audit saw cam03's mean rise from 16 to 26 px
    where it saw one of two people)."""
    if skeletons.num_people == 0 or detections.num_people == 0:
        return np.zeros(0)
    try:
        uv2d = convert_joints(detections.keypoints, detections.layout, skeletons.layout)
    except ValueError:
        return np.zeros(0)
    projected = camera.project(skeletons.positions)                  # (P, J, 2)
    pairs, _ = metrics.match_frame(projected, uv2d, max_distance=np.inf)
    return metrics.joint_distances(projected[pairs[:, 0]], uv2d[pairs[:, 1]]).ravel()


def write_track_bag(track: SkeletonTrack, out: Path, topic: str = "/skeletons",
                    storage: str = "mcap", tf_static_from: Path | None = None,
                    upright_of: str = "") -> Path:
    """Write a track as Skeleton3DArray messages (log time = stamp) for rviz2/Foxglove, with the
    rig's /tf_static copied from `tf_static_from` so the cameras show too; upright_of: a lone
    camera's optical frame (intrinsics alone, no /tf_static) that gets the upright frame the
    node broadcasts for it, <frame>_upright (static_tf.upright_transform), as `run` records
    it (without it rviz2 had no frame in which the people stand up)."""
    with bagio.BagWriter(out, storage=storage) as bag:
        if tf_static_from is not None and TF_STATIC in bagio.bag_topics(tf_static_from):
            for item in bagio.read_messages(tf_static_from, [TF_STATIC], deserialize=False):
                bag.write_raw(TF_STATIC, item.stamp_ns, item.raw, item.msgtype)
        if upright_of and len(track.stamps_ns):
            first = int(track.stamps_ns[0])
            bag.write(TF_STATIC, first, bagio.tf_message([upright_transform(upright_of)],
                                                         first))
        for stamp, frame in zip(track.stamps_ns, track.frames, strict=True):
            bag.write(topic, int(stamp), bagio.skeleton3d_array_message(frame, int(stamp)))
    return out
