"""Bag replay and skeleton collection over real DDS (rclpy, Fast DDS), with real demo frames."""
from __future__ import annotations

import time

import numpy as np
import pytest
from pose3d_ros.msg import Skeleton3DArray
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from ros_helpers import ros_context, spin_until
from sensor_msgs.msg import CameraInfo, CompressedImage
from tf2_msgs.msg import TFMessage

from pose3d_ros.core import bagio
from pose3d_ros.core.camera import CameraModel
from pose3d_ros.core.layouts import COCO17
from pose3d_ros.core.types import METHOD_TRIANGULATION, Skeletons3D
from pose3d_ros.ros.replay import BagReplayer, SkeletonCollector
from pose3d_ros.tools.fetch_demo import video_paths
from pose3d_ros.tools.make_bag import write_bag

T0 = 1_700_000_000_000_000_000


def _camera(k: int) -> CameraModel:
    return CameraModel(f"cam0{k + 1}", f"cam0{k + 1}_optical_frame", 1080, 1920,
                       np.array([[1600.0, 0, 539.5], [0, 1600, 959.5], [0, 0, 1]]), np.zeros(5),
                       "plumb_bob", np.eye(3), np.array([0.5 * k, 0.0, 3.0]))


def test_replay_publishes_what_the_bag_holds(tmp_path):
    bag = tmp_path / "demo"
    write_bag(bag, video_paths("single")[:2], [_camera(0), _camera(1)], fps=60.0, start_ns=T0,
              scale=0.25, max_frames=3)
    expected = {(t, s): raw for t, s, raw in
                ((m.topic, m.stamp_ns, m.raw) for m in
                 bagio.read_messages(bag, deserialize=False))}
    got: dict[tuple[str, int], object] = {}
    with ros_context() as context:
        player = Node("replay_test_player", context=context)
        listener = Node("replay_test_listener", context=context)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(listener)
        for topic, cls in (("/cam01/image_raw/compressed", CompressedImage),
                           ("/cam02/image_raw/compressed", CompressedImage),
                           ("/cam01/camera_info", CameraInfo), ("/cam02/camera_info", CameraInfo)):
            listener.create_subscription(
                cls, topic, lambda m, t=topic: got.__setitem__(
                    (t, bagio.stamp_to_ns(m.header.stamp)), m), 50)
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        listener.create_subscription(TFMessage, "/tf_static",
                                     lambda m: got.__setitem__(("/tf_static", T0), m), latched)
        replayer = BagReplayer(player, bag)
        executor.add_node(player)
        assert spin_until(executor, lambda: replayer._publishers[
            "/cam02/camera_info"].get_subscription_count() > 0, 10.0)
        stats = replayer.play(rate=0)
        assert spin_until(executor, lambda: len(got) == len(expected), 10.0), sorted(got)
        player.destroy_node()
        listener.destroy_node()
    assert stats.published == len(expected) == 1 + 3 * 2 * 2 and stats.frame_sets == 3
    assert sorted(stats.publish_ns) == [T0, T0 + 16_666_667, T0 + 33_333_333]
    assert set(got) == set(expected)
    store = bagio.typestore()
    for (topic, stamp), msg in got.items():
        want = store.deserialize_cdr(expected[(topic, stamp)], bagio.bag_topics(bag)[topic])
        if topic == "/tf_static":
            assert [t.child_frame_id for t in msg.transforms] == [
                "cam01_optical_frame", "cam02_optical_frame"]
            assert msg.transforms[1].transform.translation.x == pytest.approx(-0.5)
            continue
        assert msg.header.frame_id == want.header.frame_id
        if topic.endswith("compressed"):
            assert bytes(msg.data) == bytes(want.data)
        else:
            np.testing.assert_array_equal(np.asarray(msg.k), want.k)


def test_replay_rate_follows_the_recorded_timing(tmp_path):
    bag = tmp_path / "timed"
    write_bag(bag, video_paths("single")[:1], [_camera(0)], fps=10.0, start_ns=T0,
              scale=0.1, max_frames=4)  # 0.3 s recorded
    with ros_context() as context:
        node = Node("replay_rate_test", context=context)
        replayer = BagReplayer(node, bag)
        recorded = replayer.play(rate=1.0).wall_s
        fast = replayer.play(rate=0).wall_s
        node.destroy_node()
    assert recorded >= 0.28          # three 0.1 s gaps, waited for
    assert fast < recorded
    with pytest.raises(ValueError, match="replay rate must be >= 0"):
        replayer.play(rate=-1)


def test_collector_receives_skeletons_and_writes_a_bag(tmp_path):
    positions = np.random.default_rng(0).normal(size=(1, 17, 3))
    frame = Skeletons3D(positions=positions, confidence=np.ones((1, 17), np.float32),
                        reprojection_error=np.ones((1, 17), np.float32),
                        num_views=np.full((1, 17), 3, np.uint8), layout=COCO17,
                        frame_id="rig", method=METHOD_TRIANGULATION, ids=np.array([4]))
    stamps = [T0 + i * 16_666_667 for i in range(5)]
    with ros_context() as context:
        node = Node("collector_test", context=context)
        publisher = node.create_publisher(Skeleton3DArray, "skeletons", 10)
        collector = SkeletonCollector(node, "skeletons")
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        assert spin_until(executor, lambda: publisher.get_subscription_count() > 0, 10.0)
        store = bagio.typestore()
        sent_ns = {}
        for stamp in reversed(stamps):  # out of order on purpose
            sent_ns[stamp] = time.time_ns()
            raw = store.serialize_cdr(bagio.skeleton3d_array_message(frame, stamp),
                                      bagio.SKELETON3D_ARRAY)
            publisher.publish(bytes(raw))
        assert spin_until(executor, lambda: collector.count() == 5, 10.0)
        assert collector.has_stamp_at_least(stamps[-1])
        out = collector.write_bag(tmp_path / "skeletons")
        node.destroy_node()
    got = list(bagio.read_bag(out))
    assert [s for _, s, _ in got] == stamps
    for _, stamp, msg in got:
        back = bagio.skeletons_from_message(msg)
        assert bagio.stamp_to_ns(msg.header.stamp) == stamp and back.frame_id == "rig"
        np.testing.assert_array_equal(back.positions, positions)
        np.testing.assert_array_equal(back.ids, [4])
    latencies = collector.latencies_s(sent_ns)
    assert len(latencies) == 5 and all(0 <= lat < 10 for lat in latencies)


def test_lock_step_asks_about_the_first_set_before_it_goes(tmp_path):
    """A review (session 64): a second lock-step pass on one SkeletonCollector sent its first
    set unasked; a fast node's answer came before the replay's first question, which then
    started the new pass and forgot that answer: the replay waited its timeout. play() now
    asks about the first set once before sending it, so the collector starts the pass
    first; each set is still asked about before the next goes, and the last after it."""
    bag = tmp_path / "lockstep"
    write_bag(bag, video_paths("single")[:1], [_camera(0)], fps=10.0, start_ns=T0,
              scale=0.1, max_frames=3)
    events: list[tuple[str, int]] = []
    with ros_context() as context:
        node = Node("replay_ask_test", context=context)
        replayer = BagReplayer(node, bag)

        def asked(stamp_ns: int) -> bool:
            events.append(("asked", stamp_ns))
            return True

        replayer.play(rate=0, wait_for=asked, before_set=lambda s: events.append(("sent", s)))
        node.destroy_node()
    stamps = [s for kind, s in events if kind == "sent"]
    assert len(stamps) == 3
    # and the last set's answer is waited for before play() returns (a review, session 65:
    # one that came after a second pass had started was taken for that pass's)
    assert events == [("asked", stamps[0]), ("sent", stamps[0]), ("asked", stamps[0]),
                      ("sent", stamps[1]), ("asked", stamps[1]), ("sent", stamps[2]),
                      ("asked", stamps[2])], events


def _play_mixed_rates(tmp_path, every: int, frames: int, info_change_at: int | None = None):
    """Lock-step play of a bag of cam01 at 60 fps and cam02 in every `every`-th of its frames
    (each image after its camera_info, as write_bag logs them; cam01's K changes at frame
    `info_change_at`), every answer at once. Returns what went out, in order: (camera,
    'image' or the camera_info's fx, frame), the stats and the sets asked about."""
    import cv2

    capture = cv2.VideoCapture(str(video_paths("single")[0]))
    image = cv2.resize(capture.read()[1], (108, 192))
    capture.release()
    bag = tmp_path / f"rates_{every}"
    with bagio.BagWriter(bag, storage="mcap") as writer:
        for k in range(frames):                     # cam01 at 60 fps, cam02 every `every`
            stamp = T0 + round(k * 1e9 / 60)
            for camera in ("cam01", "cam02")[:1 + (k % every == 0)]:
                fx = 200.0 if camera == "cam01" and info_change_at is not None \
                    and k >= info_change_at else 100.0
                K = np.array([[fx, 0, 54], [0, fx, 96], [0, 0, 1.0]])
                writer.write(f"/{camera}/camera_info", stamp, bagio.camera_info_message(
                    stamp, f"{camera}_optical_frame", 108, 192, K, np.zeros(5)))
                writer.write(f"/{camera}/image_raw/compressed", stamp,
                             bagio.compressed_image_message(image, stamp,
                                                            f"{camera}_optical_frame", 90))
    def describe(topic: str, raw: bytes) -> tuple[str, object, int]:
        what: object = "image"
        if topic.endswith("camera_info"):
            what = float(deserialize_message(raw, CameraInfo).k[0])
        return topic.split("/")[1], what, round((bagio.header_stamp_ns(raw) - T0) * 60 / 1e9)

    sent, stats, released = _play_recorded(bag, describe)
    return sent, stats, [("set", stamp) for stamp in released]


def _play_recorded(bag, describe):
    """Lock-step play of `bag` over DDS, every answer at once; what went out, in order, as
    describe(topic, raw) gives it (the real publishers, recorded), the stats and the stamps
    of the sets released (ns)."""
    sent: list = []
    released: list[int] = []
    with ros_context() as context:
        node = Node("replay_recorded_test", context=context)
        replayer = BagReplayer(node, bag)
        for topic, publisher in replayer._publishers.items():
            publish = publisher.publish

            def record(raw, t=topic, p=publish):
                sent.append(describe(t, raw))
                p(raw)
            publisher.publish = record
        stats = replayer.play(rate=0, wait_for=lambda s: True, before_set=released.append)
        node.destroy_node()
    return sent, stats, released


def test_lock_step_sends_a_slower_cameras_next_image_with_a_set_that_has_none_of_it(tmp_path):
    """A review (session 65): `run --bag` of a rig with two cameras at 30 fps beside one at
    60 fps stalled 10 s on every other set: the node's synchroniser finishes a set once each
    camera is in it or has sent a later frame, and in lock-step the 30 fps camera's next frame
    went out only after the answer, so each set without it waited sync.timeout_s (46.8 s for
    40 sets; 10.8 s now). A set now goes with the next image of each camera it has none of,
    within LOOKAHEAD_NS and LOOKAHEAD_SETS (a review: a look-ahead of 4 sets missed a 10 fps
    camera beside 60 fps ones, one stall per frame of it; a second review: without a bound
    in sets, the set such an image opens in the node could time out before its instant's
    other frames came); that image is not sent again with its own set, every image goes
    once, and its set's publish time is its own set's release."""
    from pose3d_ros.ros.replay import LOOKAHEAD_SETS

    for every, frames in ((2, 7), (6, 13), (LOOKAHEAD_SETS + 2, 2 * LOOKAHEAD_SETS + 5)):
        sent, stats, events = _play_mixed_rates(tmp_path, every, frames)
        images = [(name, k) for name, what, k in sent if what == "image"]
        assert stats.frame_sets == frames and len(set(images)) == len(images)  # each once
        slow = list(range(0, frames, every))
        expected: list[tuple[str, int]] = []
        for k in range(frames):       # cam01's image, then cam02's of this set or its next
            expected.append(("cam01", k))
            following = [j for j in slow if j >= k]
            if following and following[0] - k <= LOOKAHEAD_SETS \
                    and ("cam02", following[0]) not in expected:
                expected.append(("cam02", following[0]))
        assert images == expected, (every, images)
        assert sorted(stats.publish_ns) == [s for _, s in events]


def test_lock_step_sends_a_camera_info_after_the_images_logged_before_it(tmp_path):
    """A review (session 65): in lock-step a set's images wait until the sets of its cameras'
    next images are read, but a camera_info went out as soon as it was read: cam01's new
    intrinsics, logged with its frame 8, reached the node before its frames 4-7 of the sets
    still held, which took it once they came a second after it. Every message that is not
    an image now goes out after the images logged before it."""
    sent, _, _ = _play_mixed_rates(tmp_path, 6, 13, info_change_at=8)
    for camera, frames in (("cam01", range(13)), ("cam02", (0, 6, 12))):
        own = [(what, k) for name, what, k in sent if name == camera]
        fx = [200.0 if camera == "cam01" and k >= 8 else 100.0 for k in frames]
        assert own == [pair for f, k in zip(fx, frames, strict=True)
                       for pair in ((f, k), ("image", k))]


@pytest.mark.parametrize("repeated_after", [1, 5])
def test_lock_step_leaves_out_an_image_whose_stamp_its_camera_repeats(tmp_path, repeated_after):
    """A review (session 66): an image logged again with its camera's stamp (a driver
    repeating a frame; index_frame_sets leaves the repeat out) was held again in lock-step:
    before its set went, the set never completed and every later set waited for the end of
    the bag; after, it stayed held for good, and with it every later /tf and its camera's
    camera_info. The repeat is left out as the index leaves it: every set goes in order,
    /tf in its place, each camera_info just before its image."""
    from pose3d_ros.core.static_tf import StaticTransform

    image = np.zeros((64, 48, 3), np.uint8)
    bag = tmp_path / "repeated"
    frames = 8
    with bagio.BagWriter(bag, storage="mcap") as writer:
        for k in range(frames):
            stamp = T0 + round(k * 1e9 / 30)
            for camera in ("cam01", "cam02"):
                K = np.array([[100.0, 0, 24], [0, 100.0, 32], [0, 0, 1]])
                writer.write(f"/{camera}/camera_info", stamp, bagio.camera_info_message(
                    stamp, f"{camera}_optical_frame", 48, 64, K, np.zeros(5)))
                message = bagio.compressed_image_message(image, stamp,
                                                         f"{camera}_optical_frame", 90)
                writer.write(f"/{camera}/image_raw/compressed", stamp, message)
                if camera == "cam01" and k == 1:
                    repeated = message
            if k == repeated_after:                 # cam01's frame 1 again, its stamp kept
                writer.write("/cam01/image_raw/compressed", stamp + 1, repeated)
            writer.write("/tf", stamp + 2, bagio.tf_message(
                [StaticTransform("world", "robot", np.zeros(3), np.array([0, 0, 0, 1.0]))],
                stamp))
    def describe(topic: str, raw: bytes) -> tuple[str, str, int | None]:
        k = None if topic == "/tf" else round((bagio.header_stamp_ns(raw) - T0) * 30 / 1e9)
        return topic.split("/")[1], topic.split("/")[-1], k

    sent, _, released = _play_recorded(bag, describe)
    assert [round((s - T0) * 30 / 1e9) for s in released] == list(range(frames))
    cam01 = [(what, k) for name, what, k in sent if name == "cam01"]
    assert cam01 == [pair for k in range(frames)
                     for pair in (("camera_info", k), ("compressed", k))], cam01
    tf_places = [i for i, (name, _, _) in enumerate(sent) if name == "tf"]
    assert tf_places == [5 * k + 4 for k in range(frames)], tf_places   # each after its set
