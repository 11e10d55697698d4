"""Run the all-in-one node on a bag over real DDS and record what it publishes.

The same path a user's recording takes on a ROS 2 machine with `ros2 launch` + `ros2 bag play`
+ `ros2 bag record`, in one process (rosbag2's player has no PyPI wheel): the demo and the
run-your-own-data tool both use it.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from pose3d_ros.core import bagio
from pose3d_ros.core.bag_cameras import TF_STATIC, camera_info_topics, camera_name
from pose3d_ros.core.bag_tracks import index_frame_sets
from pose3d_ros.core.static_tf import UPRIGHT_SUFFIX, StaticTransform, transforms_from_message

log = logging.getLogger(__name__)


def node_topic_names(bag: Path, image_topics: Mapping[str, str],
                     camera_of: Mapping[str, str]) -> tuple[bool, dict[str, str]]:
    """How the node reads a bag's cameras: (compressed, remap), remap taking each camera's
    image topic (image_topics: topic -> type, one per camera, of the camera camera_of[topic]:
    bag_tracks.index_frame_sets) to /<camera>/image_raw[/compressed] and its CameraInfo
    (bag_cameras.camera_info_topics) to /<camera>/camera_info, as `ros2 bag play --remap`
    would for a driver's names (/camera1/color/image_raw, /rig/cam01/image_raw). ValueError
    when some cameras' images are compressed and others' raw (the node reads one
    transport)."""
    kinds = set(image_topics.values())
    if len(kinds) > 1:
        raise ValueError(f"the bag's cameras mix raw and compressed images "
                         f"({sorted(image_topics)}); the node reads one transport for all")
    compressed = kinds == {bagio.COMPRESSED_IMAGE}
    remap = {topic: f"/{camera_of[topic]}/image_raw" + ("/compressed" if compressed else "")
             for topic in image_topics}
    cameras = {camera_of[topic] for topic in image_topics}
    remap |= {topic: f"/{camera}/camera_info"
              for camera, topic in camera_info_topics(bag).items() if camera in cameras}
    return compressed, remap


def recorded_tf_static(bag: Path, broadcast: Sequence[StaticTransform]
                       ) -> list[StaticTransform]:
    """The output bag's /tf_static, as `ros2 bag record /tf_static` beside the node would
    hold it without other processes' transforms: the input bag's transforms (the rig) and the
    upright frames the node broadcast (`<frame>_upright` under `<frame>`: docs/nodes.md), one
    per child frame
    (the newest, as tf2's static buffer keeps it), without transforms from a frame to itself
    (tf2 ignores them: TF_SELF_TRANSFORM), so that they form a tree."""
    recorded: list[StaticTransform] = []
    if TF_STATIC in bagio.bag_topics(bag):
        for _, _, msg in bagio.read_bag(bag, [TF_STATIC]):
            recorded += transforms_from_message(msg)
    # of what came on /tf_static, only the node's upright frames: any other process on the
    # domain (a robot beside an offline run) publishes there too (a review)
    upright = [t for t in broadcast if t.child == t.parent + UPRIGHT_SUFFIX]
    latest = {t.child: t for t in [*recorded, *upright] if t.parent != t.child}
    return list(latest.values())


def wait_calibrated(node: Any, cameras: set[str], info_topics: Sequence[str], replayer: Any,
                    timeout_s: float = 5.0, resend_s: float = 0.5) -> bool:
    """Publish the bag's first CameraInfo of `info_topics` (replayer.publish_first) every
    `resend_s` until the node (a rig node: its `calibrated` set) has taken every camera of
    `cameras`, at most timeout_s. False on timeout (the node then reports the camera
    uncalibrated itself)."""
    deadline = time.monotonic() + timeout_s
    while True:
        replayer.publish_first(info_topics)
        resend = min(time.monotonic() + resend_s, deadline)
        while time.monotonic() < resend:
            if cameras <= set(node.calibrated):
                return True
            time.sleep(0.02)
        if time.monotonic() >= deadline:
            log.info("cameras %s not calibrated after %.0f s", sorted(cameras - set(
                node.calibrated)), timeout_s)
            return False


@dataclass(frozen=True)
class NodeRun:
    """What run_node_on_bag gave: the output bag; the end-to-end latencies (receive minus
    publish time, s); with record_2d, the node's 2D per frame set ({"stamp_ns": image stamp,
    "cameras": camera -> Detections2D}, bag_tracks.per_camera_figures' input; else empty);
    and how many sets back the node's 3D of a set describes (a centred lifter's
    Pose3DPipeline.described_lag, else 0)."""
    out_bag: Path
    latencies_s: np.ndarray
    detections: list[dict]
    described_lag: int


def sim_clock(helper: Any, node: Any, wait: bool) -> Callable[[int], None]:
    """A function that publishes /clock at a stamp (ns) from `helper` and, with `wait`
    (lock-step), waits up to 2 s until `node`'s clock has reached it, so that the set's
    images never come before the node's time (the node refuses frames stamped from its
    future)."""
    from rosgraph_msgs.msg import Clock

    from .conversions import ns_to_stamp

    publisher = helper.create_publisher(Clock, "/clock", 10)

    def advance(stamp_ns: int) -> None:
        # the stamp itself, to the nanosecond (through float seconds an epoch stamp came
        # out up to 247 ns off)
        publisher.publish(Clock(clock=ns_to_stamp(stamp_ns)))
        deadline = time.monotonic() + 2.0
        while wait and node.get_clock().now().nanoseconds < stamp_ns - 1_000_000 \
                and time.monotonic() < deadline:
            time.sleep(0.002)

    return advance


def run_node_on_bag(bag: Path, out_bag: Path, camera_names: Sequence[str], *,
                    parameters: Sequence[tuple[str, Any]] = (), rate: float = 0.0,
                    timeout_s: float = 5.0, progress: Callable[[int], None] | None = None,
                    record_2d: bool = False) -> NodeRun:
    """The all-in-one node (pose3d_ros.ros.nodes.Pose3DNode) in this process, fed the bag over
    DDS by the replay publisher: lock-step (rate 0: each frame set once the node answered the
    previous one) or at `rate` times recorded speed. The published Skeleton3DArray messages
    are written to out_bag with /tf_static (recorded_tf_static: the bag's and the node's).
    parameters: (name, value) overrides of
    the node's parameters (camera_names, image_transport and autostart are set here).
    record_2d: the node also publishes each camera's 2D (publish_2d), which is collected and
    written to out_bag too (/<camera>/skeletons_2d, as `ros2 bag record` would keep it).
    Returns what the run gave (NodeRun).
    """
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.serialization import serialize_message
    from tf2_msgs.msg import TFMessage

    from pose3d_ros.msg import Skeleton2DArray

    from .conversions import detections_from_msg
    from .node_base import FUTURE_TOLERANCE_S
    from .node_input import LATCHED_QOS, OUTPUT_QOS, SKELETONS_2D_TOPIC
    from .nodes import Pose3DNode
    from .replay import BagReplayer, SkeletonCollector

    context = Context()
    rclpy.init(context=context)
    # One thread runs every callback (as `ros2 run` does; the node computes on its own
    # thread): once it has been joined, no callback can touch an entity being destroyed.
    executor = SingleThreadedExecutor(context=context)
    node: Pose3DNode | None = None
    spinner: threading.Thread | None = None
    try:
        index = index_frame_sets(bag, camera_names)      # one image topic per camera
        compressed, remap = node_topic_names(bag, index.topics, index.camera_of)
        # A bag stamped after this computer's clock (a robot whose clock was ahead, a jump
        # forward while it recorded): the node refused its frames as from the future and the
        # run waited timeout_s for each set (a review). Such a bag runs on its own time.
        ahead_s = (int(index.stamps.max()) - time.time_ns()) / 1e9 if len(index.stamps) else 0
        sim_time = ahead_s > FUTURE_TOLERANCE_S
        if sim_time:
            log.info("the bag is stamped up to %.0f s after this computer's clock: the node "
                     "runs on the bag's time (/clock from its frame sets' stamps)", ahead_s)
        overrides = [
            Parameter("camera_names", value=list(camera_names)),
            Parameter("image_transport", value="compressed" if compressed else "raw"),
            Parameter("image_topic", value="image_raw"),
            Parameter("image_qos", value="reliable"),
            Parameter("autostart", value=False),
            # Lock-step replay sends a whole set at once, but on a loaded machine the node may
            # take a while to take it: wait for all cameras rather than emit partial sets. A
            # camera is stale only once a set went out without it and it stayed silent this
            # long, which a busy node (every camera silent alike) never causes: a camera that
            # stops mid-bag then holds back one set, not every set for 30 s (it took 42 s
            # instead of 7 for 24 sets); one that has sent nothing yet (it starts later in
            # the bag, more than the replay's look-ahead) holds the first set this long. At
            # a replay rate, sets time out as with live cameras.
            Parameter("sync.timeout_s", value=10.0 if rate == 0 else 2.0),
            Parameter("sync.stale_after_s", value=2.0),
            # lock-step: every frame of a set comes, however late (a busy machine)
            Parameter("sync.give_up_late", value=rate != 0),
        ] + [Parameter(name, value=value) for name, value in parameters] + (
            [Parameter("publish_2d", value=True)] if record_2d else []) + (
            [Parameter("use_sim_time", value=True)] if sim_time else [])
        node = Pose3DNode("pose3d_node", context=context, parameter_overrides=overrides)
        node.trigger_configure()
        if getattr(node, "last_error", None):      # a parameter or file of the user's
            raise ValueError(f"pose3d_node did not configure: {node.last_error}")
        node.trigger_activate()
        helper = Node("pose3d_demo_replay", context=context)
        collector = SkeletonCollector(helper, "skeletons")
        advance = (sim_clock(helper, node, wait=rate == 0) if sim_time
                   else None)  # /clock to each set's stamp (bag's time)
        found: dict[int, dict[str, Any]] = {}        # image stamp -> camera -> Detections2D
        recorded: list[tuple[str, int, bytes, str]] = []     # the 2D as the output bag keeps it
        lock = threading.Lock()
        broadcast: list[StaticTransform] = []        # /tf_static (the node's, latched)

        def on_tf_static(msg: Any) -> None:
            with lock:
                broadcast.extend(transforms_from_message(msg))

        helper.create_subscription(TFMessage, TF_STATIC, on_tf_static, LATCHED_QOS)

        topic_of = {camera: topic for topic, camera in index.camera_of.items()}

        def on_2d(camera: str, msg: Any) -> None:
            detections = detections_from_msg(msg)
            if detections.refused_image:       # no 2D of that image
                return
            # the camera's image stamp -> its frame set's (cameras stamp a set apart)
            stamp = bagio.stamp_to_ns(msg.header.stamp)
            set_stamp = index.set_of.get((topic_of.get(camera, ""), stamp), stamp)
            raw = serialize_message(msg)
            with lock:
                found.setdefault(set_stamp, {})[camera] = detections
                recorded.append((f"/{camera}/{SKELETONS_2D_TOPIC}", stamp, raw,
                                 bagio.SKELETON2D_ARRAY))

        if record_2d:
            for camera in camera_names:
                helper.create_subscription(Skeleton2DArray, f"{camera}/{SKELETONS_2D_TOPIC}",
                                           partial(on_2d, camera), OUTPUT_QOS)
        # only the cameras' images and camera_info, under the names the node reads, and
        # /tf_static (the rig's poses): a review found every other topic replayed onto the
        # live domain (/rosout, /parameter_events, /tf) and a bag refused for a message type
        # of a topic the node never reads (a robot's own types)
        replayer = BagReplayer(helper, bag, [
            t for t, ty in bagio.bag_topics(bag).items()
            if t in remap or (t == TF_STATIC and ty == bagio.TF_MESSAGE)], remap=remap)
        executor.add_node(node)
        executor.add_node(helper)
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        image_topics = list(index.topics)
        if not replayer.wait_for_subscribers(image_topics, timeout_s=15.0):
            raise ValueError(f"pose3d_node did not subscribe to the bag's image topics "
                             f"{image_topics} within 15 s")
        # The rig's poses, then the cameras: the node ignores images of a camera it has no
        # CameraInfo for yet, and a CameraInfo whose pose is not on /tf_static yet, so the
        # CameraInfo go again until the node has taken each (fixed sleeps raced on a loaded
        # machine: a first set before its calibration gave no output).
        if advance is not None and len(index.stamps):
            advance(int(index.stamps[0]))
        poses = [t for t, ty in replayer.topics.items() if ty == bagio.TF_MESSAGE]
        if poses:
            replayer.publish_first(poses)
        infos = [t for t, ty in replayer.topics.items() if ty == bagio.CAMERA_INFO]
        wait_calibrated(node, {camera_name(remap[t]) for t in infos if t in remap}, infos,
                        replayer)
        # (not the bag's path: the tools stage their outputs, so it names a temporary folder)
        log.info("replaying the bag to pose3d_node over DDS (%s)",
                 "lock-step" if rate == 0 else f"rate {rate}")
        started = time.monotonic()
        # A centred lifter's 3D of a set is stamped with the set `lag` sets back (the middle
        # of its window): that is the answer to wait for (a review: a centred model waited
        # timeout_s at every set, about 2 hours for 230 frames), and the last `lag` sets get
        # no 3D of their own.
        lag = node.pipeline.described_lag if node.pipeline is not None else 0
        if lag:
            log.info("the lifter is centred: its 3D of each frame set comes %d sets later, "
                     "and the last %d sets of the bag get none", lag, lag)

        def described(position: int) -> int:
            """The stamp of the set a centred lifter describes when given the set at
            `position` (the first set's until `lag` sets came: pipeline.described_stamp)."""
            return int(index.stamps[max(position - lag, 0)])

        answers_before = [collector.count()]      # answers when the last set was answered

        def answered(stamp_ns: int) -> bool:
            position = int(np.searchsorted(index.stamps, stamp_ns))
            if position <= lag:
                # the first lag + 1 answers all describe the first set: a new answer since the
                # set before was answered is this set's (else the next set would go while
                # the node is busy and be left in DDS unread; a set the node never answers
                # costs one timeout, as with a causal model)
                count = collector.count()
                done = count > answers_before[0]
                if done:
                    answers_before[0] = count
            else:
                done = collector.has_stamp_at_least(described(position))
            if done and progress is not None:
                progress(1)
            return done

        stats = replayer.play(rate=rate, wait_for=answered if rate == 0 else None,
                              wait_timeout_s=timeout_s, frame_index=index, before_set=advance)
        last = described(int(np.searchsorted(index.stamps, max(stats.publish_ns))))
        deadline = time.monotonic() + timeout_s

        def all_answered() -> bool:
            # with a lag, the last answers may all carry the first set's stamp: count them too
            return collector.has_stamp_at_least(last) and (
                not lag or collector.count() >= stats.frame_sets)

        while not all_answered() and time.monotonic() < deadline:
            time.sleep(0.05)
        log.info("published %d messages (%d frame sets) in %.1f s; received %d skeleton "
                 "arrays", stats.published, stats.frame_sets, time.monotonic() - started,
                 collector.count())
        with lock:
            transforms = recorded_tf_static(bag, broadcast)
            others = list(recorded)
        collector.write_bag(out_bag, transforms=transforms,       # at the first frame set
                            transforms_ns=int(index.stamps[0]) if len(index.stamps) else None,
                            others=others)
        latencies = np.array(collector.latencies_s(stats.publish_ns))
        with lock:
            detections = [{"stamp_ns": stamp, "cameras": found[stamp]} for stamp in sorted(found)]
    finally:
        # After the replay as after Ctrl-C or an error mid-replay: the executor stops and its
        # thread (the one that runs callbacks) ends before the node's own thread and entities
        # go, so no callback runs on a destroyed entity (with a thread pool, callbacks still
        # queued did: "exception was never retrieved: cannot use Destroyable", once an abort;
        # deactivate and cleanup called here while the executor still spun destroyed entities
        # under its wait set, rclpy's InvalidHandle race: found by a review).
        nodes = executor.get_nodes()          # (shutdown forgets them)
        executor.shutdown()
        if spinner is not None:
            spinner.join(timeout=10.0)
        if node is not None:
            node._stop()
            node._release()
        for each in {*nodes, *([node] if node is not None else [])}:
            each.destroy_node()
        rclpy.shutdown(context=context)
    return NodeRun(out_bag, latencies, detections, lag)
