"""rosbag2 round trips with rosbags: what is written is what is read, stamps and frames included."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from pose3d_ros.core import bagio
from pose3d_ros.core.layouts import COCO17
from pose3d_ros.core.types import METHOD_TRIANGULATION, Skeletons3D
from pose3d_ros.tools.fetch_demo import video_paths

T0 = 1_700_000_000_123_456_789


def _demo_frame() -> np.ndarray:
    capture = cv2.VideoCapture(str(video_paths("single")[0]))
    ok, frame = capture.read()
    capture.release()
    assert ok
    return cv2.resize(frame, (frame.shape[1] // 4, frame.shape[0] // 4))


def _skeletons(seed: int) -> Skeletons3D:
    rng = np.random.default_rng(seed)
    positions = rng.normal(size=(2, 17, 3))
    positions[1, 4] = np.nan
    confidence = rng.uniform(size=(2, 17)).astype(np.float32)
    confidence[1, 4] = 0.0
    return Skeletons3D(positions=positions, confidence=confidence,
                       reprojection_error=rng.uniform(0, 5, size=(2, 17)).astype(np.float32),
                       num_views=rng.integers(0, 5, size=(2, 17)).astype(np.uint8),
                       layout=COCO17, frame_id="rig", method=METHOD_TRIANGULATION,
                       ids=np.array([3, 7]))


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_round_trip_of_every_written_type(tmp_path, storage):
    frame = _demo_frame()
    K = np.array([[1500.0, 0, 539.5], [0, 1500, 959.5], [0, 0, 1]])
    D = np.array([0.1, -0.05, 0.001, 0.002, 0.0])
    tf = bagio.StaticTransform("rig", "cam01_optical_frame", np.array([1.0, 2.0, 3.0]),
                               np.array([0.0, 0.0, np.sin(0.25), np.cos(0.25)]))
    stamps = [T0 + i * 16_666_667 for i in range(3)]
    path = tmp_path / "bag"
    with bagio.BagWriter(path, storage=storage) as bag:
        bag.write("/tf_static", T0, bagio.tf_message([tf], T0))
        for i, stamp in enumerate(stamps):
            bag.write("/cam01/image_raw", stamp,
                      bagio.image_message(frame, stamp, "cam01_optical_frame"))
            bag.write("/cam01/image_raw/compressed", stamp,
                      bagio.compressed_image_message(frame, stamp, "cam01_optical_frame"))
            bag.write("/cam01/camera_info", stamp, bagio.camera_info_message(
                stamp, "cam01_optical_frame", frame.shape[1], frame.shape[0], K, D))
            bag.write("/pose3d/skeletons", stamp,
                      bagio.skeleton3d_array_message(_skeletons(i), stamp, ["cam01"]))
    suffix = {"sqlite3": ".db3", "mcap": ".mcap"}[storage]
    assert list(path.glob(f"*{suffix}")), "storage file of the requested kind"
    assert bagio.bag_topics(path) == {
        "/tf_static": bagio.TF_MESSAGE, "/cam01/image_raw": bagio.IMAGE,
        "/cam01/image_raw/compressed": bagio.COMPRESSED_IMAGE,
        "/cam01/camera_info": bagio.CAMERA_INFO, "/pose3d/skeletons": bagio.SKELETON3D_ARRAY}

    got = list(bagio.read_bag(path))
    assert len(got) == 1 + 4 * 3
    by_topic: dict[str, list] = {}
    for topic, stamp, msg in got:
        by_topic.setdefault(topic, []).append((stamp, msg))

    (stamp, tf_msg), = by_topic["/tf_static"]
    assert stamp == T0
    (item,) = tf_msg.transforms
    assert bagio.stamp_to_ns(item.header.stamp) == T0
    assert (item.header.frame_id, item.child_frame_id) == ("rig", "cam01_optical_frame")
    t, q = item.transform.translation, item.transform.rotation
    np.testing.assert_allclose([t.x, t.y, t.z, q.x, q.y, q.z, q.w],
                               [1, 2, 3, 0, 0, np.sin(0.25), np.cos(0.25)])

    for topic in ("/cam01/image_raw", "/cam01/image_raw/compressed", "/cam01/camera_info",
                  "/pose3d/skeletons"):
        assert [s for s, _ in by_topic[topic]] == stamps, topic
        for stamp, msg in by_topic[topic]:
            assert bagio.stamp_to_ns(msg.header.stamp) == stamp
    for _, msg in by_topic["/cam01/image_raw"]:
        assert msg.header.frame_id == "cam01_optical_frame" and msg.encoding == "bgr8"
        np.testing.assert_array_equal(bagio.decode_image(msg), frame)
    for _, msg in by_topic["/cam01/image_raw/compressed"]:
        decoded = bagio.decode_image(msg)
        assert decoded.shape == frame.shape and msg.format == "jpeg"
        assert np.abs(decoded.astype(int) - frame).mean() < 3.0  # JPEG at quality 90
    for _, msg in by_topic["/cam01/camera_info"]:
        np.testing.assert_array_equal(msg.k.reshape(3, 3), K)
        np.testing.assert_array_equal(msg.d, D)
        np.testing.assert_array_equal(msg.p.reshape(3, 4)[:, :3], K)
        assert (msg.width, msg.height, msg.distortion_model) == (
            frame.shape[1], frame.shape[0], "plumb_bob")
    for i, (_, msg) in enumerate(by_topic["/pose3d/skeletons"]):
        want = _skeletons(i)
        back = bagio.skeletons_from_message(msg)
        assert msg.cameras == ["cam01"] and back.frame_id == "rig"
        assert back.layout == COCO17 and back.method == METHOD_TRIANGULATION
        np.testing.assert_array_equal(back.ids, want.ids)
        np.testing.assert_array_equal(back.positions, want.positions)  # NaN kept
        np.testing.assert_array_equal(back.confidence, want.confidence)
        np.testing.assert_array_equal(back.reprojection_error, want.reprojection_error)
        np.testing.assert_array_equal(back.num_views, want.num_views)
        assert list(msg.skeletons[0].layout.joint_names) == list(COCO17.joint_names)


def test_our_message_types_carry_the_generated_type_hash():
    """rosbags' hash of our registered .msg must equal the one colcon generated, or rviz2 /
    ros2 bag would treat the bag's topics as a different type."""
    from ament_index_python.packages import get_package_share_directory

    share = get_package_share_directory("pose3d_ros")
    for name in ("Skeleton3DArray", "Skeleton2DArray"):
        description = json.loads(open(f"{share}/msg/{name}.json").read())
        hashes = {h["type_name"]: h["hash_string"] for h in description["type_hashes"]}
        msgtype = f"pose3d_ros/msg/{name}"
        assert bagio.typestore().hash_rihs01(msgtype) == hashes[msgtype]


def test_bad_input_is_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="storage"):
        bagio.BagWriter(tmp_path / "x", storage="rosbag1")
    (tmp_path / "exists").mkdir()
    with pytest.raises(FileExistsError):
        bagio.BagWriter(tmp_path / "exists")
    with pytest.raises(ValueError, match="bgr8 needs uint8"):
        bagio.image_message(np.zeros((4, 4), np.uint8), 0, "f")
    with pytest.raises(FileNotFoundError):
        list(bagio.read_bag(tmp_path / "nope"))
    path = tmp_path / "bag"
    with bagio.BagWriter(path) as bag:
        bag.write("/a", 5, bagio.camera_info_message(5, "f", 4, 4, np.eye(3), np.zeros(5)))
    with pytest.raises(ValueError, match="no topic"):
        list(bagio.read_bag(path, topics=["/b"]))
