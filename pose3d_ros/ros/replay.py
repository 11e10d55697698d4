"""Bag replay over DDS without `ros2 bag play`, and a collector for published skeletons.

BagReplayer publishes a rosbag2's messages with rclpy, straight from their stored CDR bytes
(rclpy publishers accept serialized messages), in log-time order: at recorded speed (rate=1),
faster (rate=k), as fast as possible (rate=0), or in lock-step with a collector (each frame set
waits for the pipeline's output, which makes a replay deterministic on a loaded machine).
Header stamps are kept as recorded, as `ros2 bag play` does; /tf_static is latched.

SkeletonCollector subscribes to a pose3d_ros/Skeleton3DArray topic, keeps every message with its
receive time, and writes them to a bag (log time = header stamp) for evaluation, rviz2 and
Foxglove.

Why not rosbag2: `ros2 bag` has no PyPI wheel, and the environments this package is tested in
have no ROS install; on a ROS machine `ros2 bag play` does the same job.
"""
from __future__ import annotations

import importlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message

from pose3d_ros.core import bagio
from pose3d_ros.core.bag_cameras import camera_info_topics
from pose3d_ros.core.bag_tracks import FrameSetIndex, index_frame_sets
from pose3d_ros.core.evaluation import STAMP_MATCH_NS, pair_frames
from pose3d_ros.core.messages import ns_to_seconds
from pose3d_ros.core.static_tf import StaticTransform

# Reliable keep-last matches both reliable and best-effort subscribers; the depth is generous so
# a fast replay does not overwrite messages a subscriber has not taken yet.
REPLAY_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100,
                        reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.VOLATILE)
LATCHED_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                         reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
# Lock-step: a set is sent with the next image of each camera it has none of, when that lies
# at most this far ahead in stamps (node_base's future limit; BagReplayer.play) and in sets:
# the set that image opens in the node's synchroniser waits for the others' frames of its
# instant, which come that many answers later, and must not reach its sync.timeout_s (10 s
# in lock-step) first (a review: 1 s ahead at 60 fps, at 0.2 s an answer, is 12 s). 8 sets
# cover a 7.5 fps camera beside 60 fps ones and a node at up to 1.2 s a set.
LOOKAHEAD_NS = 1_000_000_000
LOOKAHEAD_SETS = 8
# Nodes stamp outputs from float seconds (sub-microsecond rounding): match stamps to 1 ms.
STAMP_TOLERANCE_NS = STAMP_MATCH_NS
SKELETONS_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000,
                           reliability=ReliabilityPolicy.RELIABLE,
                           durability=DurabilityPolicy.VOLATILE)


def message_type(msgtype: str) -> type:
    """rclpy message class of a type name like 'sensor_msgs/msg/Image'."""
    package, kind, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.{kind}"), name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"message type {msgtype} is not available to rclpy here: {error}") \
            from error


@dataclass
class ReplayStats:
    """published: messages sent; frame_sets: frame sets sent (bag_tracks.index_frame_sets);
    publish_ns: a frame set's stamp -> wall time (ns) its first image was published."""

    published: int = 0
    frame_sets: int = 0
    publish_ns: dict[int, int] = field(default_factory=dict)
    wall_s: float = 0.0


class BagReplayer:
    """Publish a bag's topics from `node` (publishers are created here, one per topic)."""

    def __init__(self, node: Node, bag: Path, topics: Iterable[str] | None = None,
                 remap: dict[str, str] | None = None) -> None:
        self.node = node
        self.bag = Path(bag)
        available = bagio.bag_topics(self.bag)
        self.topics = dict(available) if topics is None else {t: available[t] for t in topics}
        remap = remap or {}
        self._publishers = {
            topic: node.create_publisher(message_type(msgtype), remap.get(topic, topic),
                                         LATCHED_QOS if topic == "/tf_static" else REPLAY_QOS)
            for topic, msgtype in self.topics.items()}

    def wait_for_subscribers(self, topics: Iterable[str], timeout_s: float = 10.0) -> bool:
        """Wait until every given topic has a matched subscriber (DDS discovery)."""
        deadline = time.monotonic() + timeout_s
        topics = list(topics)
        while time.monotonic() < deadline:
            if all(self._publishers[t].get_subscription_count() > 0 for t in topics):
                return True
            time.sleep(0.02)
        return False

    def publish_first(self, topics: Iterable[str]) -> int:
        """Publish the first message of each given topic now (e.g. every camera's CameraInfo
        before the images start: DDS keeps no order across topics). Returns how many."""
        pending = set(topics)
        sent = 0
        for item in bagio.read_messages(self.bag, pending, deserialize=False):
            if item.topic in pending:
                self._publishers[item.topic].publish(item.raw)
                pending.discard(item.topic)
                sent += 1
            if not pending:
                break
        return sent

    def play(self, rate: float = 1.0, wait_for: Callable[[int], bool] | None = None,
             wait_timeout_s: float = 5.0, frame_index: FrameSetIndex | None = None,
             before_set: Callable[[int], None] | None = None) -> ReplayStats:
        """Publish every message once.

        rate: 1 = recorded speed, 2 = twice as fast, 0 = as fast as possible.
        wait_for: lock-step mode; before publishing the next frame set, and after the last,
        call wait_for(previous set's stamp) until it is True or wait_timeout_s passed (and
        once with the first set's stamp before it goes, its answer ignored). A set's
        images go out together in header-stamp order, so the node groups them as
        bag_tracks.index_frame_sets does (cameras a few ms apart, as recorded from drivers).
        frame_index: the bag's frame sets (default: index_frame_sets of the bag).
        before_set: called with each frame set's stamp (ns) before its first image goes out
        (e.g. to advance a simulated clock).
        """
        if rate < 0:
            raise ValueError(f"replay rate must be >= 0, got {rate}")
        index = frame_index or index_frame_sets(self.bag)
        stats = ReplayStats()
        start_wall = time.monotonic()
        first_log: int | None = None
        previous_set: int | None = None     # rate mode: the set of the last image sent
        # lock-step: each set's images held until all have been read (a recorder logs the
        # cameras' images of one instant at different times, interleaved with other sets')
        topics_of = _image_topics_of_sets(index, self.topics)
        members = {set_stamp: len(topics) for set_stamp, topics in topics_of.items()}
        order = deque(stamp for stamp in index.stamps.tolist() if stamp in members)
        next_images = _next_images(topics_of, order)
        # lock-step: a set's images (with their place in the log) held until it goes
        held: dict[int, list[tuple[int, bagio.BagMessage]]] = {}
        sent_ahead: dict[int, set[str]] = {}   # lock-step: a set's image topics sent earlier
        # lock-step: messages that are not images, held (log place, message, the image topic
        # of its camera for a camera_info, else None)
        others: list[tuple[int, bagio.BagMessage, str | None]] = []
        image_of_info = _image_topics_of_infos(self.bag, self.topics, index)
        answered_set: int | None = None     # lock-step: the last set sent, to wait for
        read_images: set[tuple[str, int]] = set()   # lock-step: (topic, header stamp) read

        def complete(set_stamp: int) -> bool:
            return len(held.get(set_stamp, ())) + len(sent_ahead.get(set_stamp, ())) \
                == members[set_stamp]

        def publish(item: bagio.BagMessage, set_stamp: int | None) -> None:
            self._publishers[item.topic].publish(item.raw)
            stats.published += 1
            if set_stamp is not None:
                stats.publish_ns.setdefault(set_stamp, time.time_ns())

        def wait_answer(set_stamp: int) -> None:
            """Lock-step: until wait_for(set_stamp) or wait_timeout_s."""
            assert wait_for is not None
            deadline = time.monotonic() + wait_timeout_s
            while not wait_for(set_stamp) and time.monotonic() < deadline:
                time.sleep(0.002)

        def publish_others(everything: bool = False) -> None:
            """Lock-step: a message that is not an image (camera_info, /tf) goes once the
            images logged before it have gone, of its camera for a camera_info, of every
            camera else; in log order per camera. (A review: while a set's images waited for
            the sets of its cameras' next images to be read, a camera_info went out when read,
            and a calibration change reached the node before the camera's frames logged
            before it, which took it once they came a second after it.)"""
            if not others:
                return
            oldest: dict[str, int] = {}               # image topic -> its first held place
            for reads in held.values():
                for place, item in reads:
                    oldest[item.topic] = min(oldest.get(item.topic, place), place)
            oldest_any = min(oldest.values(), default=None)
            kept = []
            for place, item, image_topic in others:
                limit = oldest_any if image_topic is None else oldest.get(image_topic)
                if everything or limit is None or place < limit:
                    publish(item, None)
                else:
                    kept.append((place, item, image_topic))
            others[:] = kept

        def release(set_stamp: int) -> None:
            """Lock-step: wait for the answer to the last set, then send this set's images
            in header-stamp order. The first set is asked about once before it goes (the
            answer is not waited for): a SkeletonCollector learns from that question that
            a pass starts, before its answer can come (a review: an answer that came first
            was taken for the last pass's and forgotten, and the replay waited its
            timeout)."""
            nonlocal answered_set
            if answered_set is None and wait_for is not None:
                wait_for(set_stamp)
            if answered_set is not None and wait_for is not None:
                wait_answer(answered_set)
            if before_set is not None:
                before_set(set_stamp)
            items = sorted(held.get(set_stamp, []),
                           key=lambda read: bagio.header_stamp_ns(read[1].raw))
            for read in items:
                publish_others()
                held[set_stamp].remove(read)
                publish(read[1], set_stamp)
            held.pop(set_stamp, None)
            gone_ahead = sent_ahead.pop(set_stamp, set())
            if gone_ahead:                            # (all its images may have gone ahead)
                stats.publish_ns.setdefault(set_stamp, time.time_ns())
            stats.frame_sets += 1
            answered_set = set_stamp
            # A camera without an image in this set (a slower camera between its frames, one
            # that starts later or stopped): its next image, of one of the next sets, goes now
            # too. The node's synchroniser finishes a set once each camera is in it or has sent
            # a later frame; without it, it waited its timeout (10 s in lock-step) for each
            # such set (a review: two 30 fps cameras beside two at 60 fps, every other set).
            # Only within LOOKAHEAD_NS of bag time: the node refuses frames stamped ahead of
            # its (simulated) clock. Not counted as the later set's publish time (latency).
            present = {item.topic for _, item in items} | gone_ahead
            for ahead in next_images.get(set_stamp, ()):
                for read in [r for r in held.get(ahead, ()) if r[1].topic not in present]:
                    publish_others()
                    held[ahead].remove(read)
                    sent_ahead.setdefault(ahead, set()).add(read[1].topic)
                    publish(read[1], None)
                    present.add(read[1].topic)
            publish_others()

        for place, item in enumerate(bagio.read_messages(self.bag, self.topics,
                                                         deserialize=False)):
            if first_log is None:
                first_log = item.stamp_ns
            if rate > 0:
                due = start_wall + ns_to_seconds(item.stamp_ns - first_log) / rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            is_image = item.topic in index.topics
            key = (item.topic, bagio.header_stamp_ns(item.raw)) if is_image else None
            set_stamp = index.set_of.get(key) if key is not None else None
            if is_image and set_stamp is None:
                continue                     # left out (stamped 0, a repeated stamp)
            if wait_for is not None and key is not None:
                if key in read_images:
                    # a camera's stamp repeated (the index leaves the repeat out): held again,
                    # its set was never complete or never left `held`, which held every later
                    # set or /tf and camera_info to the end of the bag (a review)
                    continue
                read_images.add(key)
            if wait_for is not None and set_stamp is None:
                others.append((place, item, image_of_info.get(item.topic)))
                publish_others()
                continue
            if wait_for is None or set_stamp is None:
                if set_stamp is not None and set_stamp != previous_set:
                    previous_set = set_stamp
                    stats.frame_sets += 1
                    if before_set is not None:
                        before_set(set_stamp)
                publish(item, set_stamp)
                continue
            held.setdefault(set_stamp, []).append((place, item))
            # a set goes once it and the sets of its cameras' next images are read (release
            # sends those of the cameras it has none of)
            while order and complete(order[0]) and all(
                    complete(ahead) for ahead in next_images.get(order[0], ())):
                release(order.popleft())
        while order:                         # the last sets, and those whose images did not
            incomplete = order.popleft()     # all come
            if incomplete in held or incomplete in sent_ahead:
                release(incomplete)
        publish_others(everything=True)
        if answered_set is not None and wait_for is not None:
            # the last set's answer too: one that came after the next pass had started was
            # taken for that pass's (a review: a collector played twice found its first sets
            # answered by the previous pass's last output)
            wait_answer(answered_set)
        stats.wall_s = time.monotonic() - start_wall
        return stats


def _image_topics_of_infos(bag: Path, topics: dict[str, str], index: FrameSetIndex
                           ) -> dict[str, str]:
    """CameraInfo topic -> the image topic of its camera (bag_cameras.camera_info_topics)."""
    image_of_camera = {camera: topic for topic, camera in index.camera_of.items()}
    return {info: image_of_camera[camera]
            for camera, info in camera_info_topics(bag, topics).items()
            if camera in image_of_camera}


def _image_topics_of_sets(index: FrameSetIndex, topics: Iterable[str]
                          ) -> dict[int, set[str]]:
    """Each frame set's stamp (ns) -> its image topics among `topics` (sets with none left
    out)."""
    wanted = set(topics)
    topics_of: dict[int, set[str]] = {}
    for (topic, _), member_of in index.set_of.items():
        if topic in wanted:
            topics_of.setdefault(member_of, set()).add(topic)
    return topics_of


def _next_images(topics_of: dict[int, set[str]], order: Iterable[int]
                 ) -> dict[int, tuple[int, ...]]:
    """For each set of `order` (stamps, ns, increasing): the later sets, at most LOOKAHEAD_NS
    and LOOKAHEAD_SETS ahead, that hold the next image of each image topic (topics_of: set
    -> its image topics) it has none of (a slower camera between its frames, one that starts
    later or stopped), nearest first."""
    next_of: dict[str, int] = {}          # topic -> its nearest later set
    result: dict[int, tuple[int, ...]] = {}
    stamps = list(order)
    place = {stamp: k for k, stamp in enumerate(stamps)}
    for set_stamp in reversed(stamps):
        own = topics_of.get(set_stamp, set())
        ahead = {next_of[topic] for topic in next_of
                 if topic not in own and next_of[topic] - set_stamp <= LOOKAHEAD_NS
                 and place[next_of[topic]] - place[set_stamp] <= LOOKAHEAD_SETS}
        result[set_stamp] = tuple(sorted(ahead))
        next_of.update(dict.fromkeys(own, set_stamp))
    return result


@dataclass(frozen=True)
class Received:
    stamp_ns: int
    receive_ns: int
    raw: bytes


class SkeletonCollector:
    """Keep every Skeleton3DArray published on `topic`, with receive times (thread-safe)."""

    def __init__(self, node: Node, topic: str = "skeletons") -> None:
        self._type = message_type(bagio.SKELETON3D_ARRAY)
        self._lock = threading.Lock()
        self.received: list[Received] = []
        self._latest_ns: int | None = None       # the largest stamp received (this pass)
        self._asked_ns: int | None = None        # the stamp has_stamp_at_least was asked last
        self.topic = topic
        self._subscription = node.create_subscription(self._type, topic, self._on_message,
                                                      SKELETONS_QOS, raw=True)

    def _on_message(self, raw: bytes) -> None:
        now = time.time_ns()
        msg = deserialize_message(raw, self._type)
        stamp = bagio.stamp_to_ns(msg.header.stamp)
        with self._lock:
            self.received.append(Received(stamp, now, bytes(raw)))
            self._latest_ns = stamp if self._latest_ns is None else max(self._latest_ns, stamp)

    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def has_stamp_at_least(self, stamp_ns: int, tolerance_ns: int = STAMP_TOLERANCE_NS) -> bool:
        """Whether an output stamped at or after stamp_ns (less tolerance_ns) has arrived.
        A question about an earlier stamp than the last one asked starts another pass of the
        same stamps (BagReplayer.play asks in stamp order; a bag played again): from then on
        only the outputs that arrive count (a review: a second lock-step pass on one collector
        found every set answered at once, sent the bag in 0.1 s, and the node dropped the
        sets). Constant time: the replay asks every 2 ms, and a scan of everything received
        took 2.6 ms at 14,400 outputs (the long-input audit), under the lock the node's thread
        needs to hand in its next output."""
        with self._lock:
            if self._asked_ns is not None and stamp_ns < self._asked_ns:
                self._latest_ns = None
            self._asked_ns = stamp_ns
            return self._latest_ns is not None and self._latest_ns >= stamp_ns - tolerance_ns

    def write_bag(self, out: Path, topic: str = "/skeletons", storage: str = "mcap",
                  tf_static_from: Path | None = None,
                  transforms: Sequence[StaticTransform] = (),
                  transforms_ns: int | None = None,
                  others: Sequence[tuple[str, int, bytes, str]] = ()) -> Path:
        """All received messages in stamp order (log time = header stamp), with the /tf_static
        of another bag (the input's rig) copied in so rviz2 and Foxglove show the cameras, or
        `transforms` written as one /tf_static message stamped transforms_ns (None: the first
        message's stamp); `others`: more messages as (topic, log time ns, CDR bytes, type),
        written as they are (the node's 2D)."""
        with self._lock:
            items = sorted(self.received, key=lambda r: r.stamp_ns)
        with bagio.BagWriter(out, storage=storage) as bag:
            if tf_static_from is not None and "/tf_static" in bagio.bag_topics(tf_static_from):
                for item in bagio.read_messages(tf_static_from, ["/tf_static"],
                                                deserialize=False):
                    bag.write_raw("/tf_static", item.stamp_ns, item.raw, item.msgtype)
            if transforms:
                first = transforms_ns if transforms_ns is not None else (
                    items[0].stamp_ns if items else 0)
                bag.write("/tf_static", first, bagio.tf_message(transforms, first))
            bag.add_topic(topic, bagio.SKELETON3D_ARRAY)
            for r in items:
                bag.write_raw(topic, r.stamp_ns, r.raw, bagio.SKELETON3D_ARRAY)
            for other_topic, stamp_ns, raw, msgtype in sorted(others, key=lambda o: o[1]):
                bag.write_raw(other_topic, stamp_ns, raw, msgtype)
        return out

    def latencies_s(self, publish_ns: dict[int, int],
                    tolerance_ns: int = STAMP_TOLERANCE_NS) -> list[float]:
        """Receive time minus the publish time of the images with the nearest stamp (within
        tolerance_ns), in seconds, one per received message that has such images."""
        if not publish_ns:
            return []
        stamps = np.array(sorted(publish_ns), dtype=np.int64)
        with self._lock:
            received = list(self.received)
        nearest = pair_frames(stamps, np.array([r.stamp_ns for r in received], np.int64),
                              tolerance_ns)
        return [ns_to_seconds(r.receive_ns - publish_ns[int(stamps[k])])
                for r, k in zip(received, nearest, strict=True) if k >= 0]
