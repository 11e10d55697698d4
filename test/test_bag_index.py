"""One camera discovery and one grouping of a bag's images into frame sets for every offline
reader (evaluate, run, the replay, the overlays and train_lifter --bag), stamped as the node
stamps its output. Found by a code review: train_lifter's reader named a driver's camera
'camera1/color' (the tools 'camera1'), read only */image_raw topics, put images stamped 0 at
their log time, dropped a camera's second image within the slop; and the tools stamped a set
1 ns before the node's output stamp when its images' stamps had an odd sum.

Bags here are small (64x48 black images, a few frames); BlazePose runs on 2 x 6 of them.
"""
from __future__ import annotations

import logging

import numpy as np
import pytest
from builtin_interfaces.msg import Time

from pose3d_ros.core import bagio
from pose3d_ros.core.bag_cameras import camera_name
from pose3d_ros.core.bag_tracks import index_frame_sets
from pose3d_ros.ros.conversions import mean_stamp

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
PERIOD_NS = 33 * MS
SIZE = (64, 48)                       # width, height
K = np.array([[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]])


def _bag(path, images, infos):
    """A bag of black SIZE images: images (topic, header stamp ns, log time ns), JPEG on
    topics ending in 'compressed'; one CameraInfo of SIZE on each topic of infos."""
    black = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    rows = [(topic, T0 - MS, bagio.camera_info_message(T0, f"{camera_name(topic)}_optical",
                                                       *SIZE, K, np.zeros(5)))
            for topic in infos]
    for topic, stamp, log_ns in images:
        frame = f"{camera_name(topic)}_optical"
        msg = (bagio.compressed_image_message(black, stamp, frame)
               if topic.endswith("compressed") else bagio.image_message(black, stamp, frame))
        rows.append((topic, log_ns, msg))
    with bagio.BagWriter(path, storage="mcap") as bag:
        for topic, log_ns, msg in sorted(rows, key=lambda row: row[1]):
            bag.write(topic, log_ns, msg)
    return path


def _node_stamp(stamps):
    """The node's output stamp of a set of header stamps (ros.conversions.mean_stamp), ns."""
    out = mean_stamp([Time(sec=s // 10**9, nanosec=s % 10**9) for s in stamps])
    return out.sec * 10**9 + out.nanosec


@pytest.fixture(scope="module")
def driver_bag(tmp_path_factory):
    """Two cameras as drivers record them: /camera1/color/image_raw (Image) with its
    CameraInfo beside it and a depth stream, /cam2/image_rect/compressed (no image_raw) with
    /cam2/camera_info. cam2 stamps each instant 3 ms + 1 ns later (odd sums), camera1 sends
    a second image 2 ms after the second instant, cam2's last image is stamped 0."""
    images = []
    for k in range(4):
        t = T0 + k * PERIOD_NS
        images.append(("/camera1/color/image_raw", t, t + 20 * MS))
        images.append(("/camera1/depth/image_rect_raw", t, t + 21 * MS))
        images.append(("/cam2/image_rect/compressed", 0 if k == 3 else t + 3 * MS + 1,
                       t + 22 * MS))
    images.append(("/camera1/color/image_raw", T0 + PERIOD_NS + 2 * MS, T0 + PERIOD_NS + 25 * MS))
    infos = ["/camera1/color/camera_info", "/camera1/depth/camera_info", "/cam2/camera_info"]
    return _bag(tmp_path_factory.mktemp("bags") / "driver", images, infos)


def test_a_set_is_stamped_as_the_node_stamps_its_output(tmp_path):
    """Two cameras 10 ms + 1 ns apart: the set stamp is the node's (half up), not 1 ns less."""
    a, b = T0, T0 + 10 * MS + 1
    bag = _bag(tmp_path / "odd", [("/cam01/image_raw", a, a), ("/cam02/image_raw", b, b)],
               ["/cam01/camera_info", "/cam02/camera_info"])
    index = index_frame_sets(bag, slop_ns=20 * MS)
    assert index.stamps.tolist() == [_node_stamp([a, b])] == [T0 + 5 * MS + 1]
    from pose3d_ros.core.sync import mean_stamp_ns

    assert mean_stamp_ns([a, b]) == _node_stamp([a, b])
    assert mean_stamp_ns([a]) == a and mean_stamp_ns([1, 2, 2]) == 2 == _node_stamp([1, 2, 2])
    with pytest.raises(ValueError, match="at least one stamp"):
        mean_stamp_ns([])


def test_train_lifter_reads_a_bag_as_the_tools_do(driver_bag, tmp_path):
    """Same cameras (named as the node names them), same frame sets, same set stamps."""
    from pose3d_ros.core.lifting.bag_dataset import read_bag_recording
    from pose3d_ros.core.lifting.labels import check_bag

    index = index_frame_sets(driver_bag)
    assert index.topics == {"/cam2/image_rect/compressed": bagio.COMPRESSED_IMAGE,
                            "/camera1/color/image_raw": bagio.IMAGE}
    assert index.left_out == {"zero_stamp": 1}
    first, second = T0, T0 + PERIOD_NS
    assert index.stamps.tolist() == [
        _node_stamp([first, first + 3 * MS + 1]),
        second,                                           # camera1 alone: its next image
        _node_stamp([second + 2 * MS, second + 3 * MS + 1]),     # opens the next set
        _node_stamp([T0 + 2 * PERIOD_NS, T0 + 2 * PERIOD_NS + 3 * MS + 1]),
        T0 + 3 * PERIOD_NS]                               # cam2's image stamped 0 left out
    assert check_bag(driver_bag) == 2
    rec = read_bag_recording(driver_bag, slop_s=0.010, cache_dir=tmp_path, progress=False)
    assert [c.name for c in rec.cameras] == ["cam2", "camera1"]
    assert [c.frame_id for c in rec.cameras] == ["cam2_optical", "camera1_optical"]
    np.testing.assert_array_equal(rec.stamps_ns, index.stamps)
    assert [v.keypoints.shape[0] for v in rec.views] == [5, 5]
    # the cache gives the same back
    cached = read_bag_recording(driver_bag, slop_s=0.010, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(cached.stamps_ns, index.stamps)


def test_one_camera_discovery_for_the_topic_list():
    from pose3d_ros.core.bag_cameras import camera_topics

    topics = {"/a/image_raw": bagio.IMAGE, "/a/image_raw/compressed": bagio.COMPRESSED_IMAGE,
              "/a/camera_info": bagio.CAMERA_INFO,
              "/b/image_raw/compressed": bagio.COMPRESSED_IMAGE,
              "/c/image_rect": bagio.IMAGE, "/c/depth/image_rect_raw": bagio.IMAGE,
              "/c/depth/camera_info": bagio.CAMERA_INFO, "/c/camera_info": bagio.CAMERA_INFO,
              "/d/color/image_raw": bagio.IMAGE, "/d/color/camera_info": bagio.CAMERA_INFO,
              "/d/infra1/image_rect_raw": bagio.IMAGE, "/d/infra1/camera_info":
                  bagio.CAMERA_INFO, "/tf_static": bagio.TF_MESSAGE}
    found = [(c.name, c.image_topic, c.info_topic) for c in camera_topics(topics)]
    assert found == [("a", "/a/image_raw", "/a/camera_info"),         # raw beats JPEG
                     ("b", "/b/image_raw/compressed", ""),             # no CameraInfo
                     ("c", "/c/image_rect", "/c/camera_info"),         # not the depth one
                     ("d", "/d/color/image_raw", "/d/color/camera_info")]   # shortest name
    chosen = camera_topics(topics, chosen=["/d/infra1/image_rect_raw", "/c/depth/image_rect_raw"])
    assert [(c.name, c.info_topic) for c in chosen] == [("c", "/c/depth/camera_info"),
                                                        ("d", "/d/infra1/camera_info")]
    assert [c.name for c in camera_topics(topics, cameras=["b", "d"])] == ["b", "d"]
    with pytest.raises(ValueError, match="no topic '/e/image_raw'"):
        camera_topics(topics, chosen=["/e/image_raw"])
    with pytest.raises(ValueError, match="both camera 'a''s"):
        camera_topics(topics, chosen=["/a/image_raw", "/a/image_raw/compressed"])
    with pytest.raises(ValueError, match="/a/camera_info is sensor_msgs/msg/CameraInfo, not an"):
        camera_topics(topics, chosen=["/a/camera_info"])


def test_cameras_sharing_a_namespace_are_told_apart_by_the_one_that_differs(caplog):
    """A rig recorded as /rig/cam01/image_raw, /rig/cam02/image_raw (or two realsense2_camera
    drivers: /camera/<name>/color/image_raw) was one camera 'rig' to the tools (a camera was a
    topic's first namespace), told at INFO: a rig scored as one camera. Now the namespace
    that tells them apart names them; one device's streams (color / infra1) stay one camera;
    what still cannot be told apart is a WARNING."""
    from pose3d_ros.core.bag_cameras import camera_topics

    I, C = bagio.IMAGE, bagio.CAMERA_INFO  # noqa: E741  (the two types of the tables)
    rig = {"/rig/cam01/image_raw": I, "/rig/cam01/camera_info": C,
           "/rig/cam02/image_raw": I, "/rig/cam02/camera_info": C}
    assert [(c.name, c.image_topic, c.info_topic) for c in camera_topics(rig)] == [
        ("cam01", "/rig/cam01/image_raw", "/rig/cam01/camera_info"),
        ("cam02", "/rig/cam02/image_raw", "/rig/cam02/camera_info")]
    two_realsense = {f"/camera/{n}/{stream}": kind for n in ("front", "back")
                     for stream, kind in (("color/image_raw", I), ("color/camera_info", C),
                                          ("infra1/image_rect_raw", I),
                                          ("infra1/camera_info", C),
                                          ("depth/image_rect_raw", I), ("depth/camera_info", C))}
    assert [(c.name, c.image_topic, c.info_topic) for c in camera_topics(two_realsense)] == [
        ("back", "/camera/back/color/image_raw", "/camera/back/color/camera_info"),
        ("front", "/camera/front/color/image_raw", "/camera/front/color/camera_info")]
    one_realsense = {k.replace("/front/", "/camera/"): v for k, v in two_realsense.items()
                     if "/back/" not in k}
    with caplog.at_level(logging.INFO, logger="pose3d_ros.core.bag_cameras"):
        found = camera_topics(one_realsense, where="bag one-realsense")
    assert [(c.name, c.image_topic) for c in found] == [
        ("camera", "/camera/camera/color/image_raw")]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]   # one device
    # a name another camera has: prefixed with the shared namespace
    clash = {"/cam01/image_raw": I, "/rig/cam01/image_raw": I, "/rig/cam02/image_raw": I}
    assert [c.name for c in camera_topics(clash)] == ["cam01", "rig_cam01", "rig_cam02"]
    # chosen topics are named the same way
    assert [c.name for c in camera_topics(two_realsense, chosen=[
        "/camera/front/infra1/image_rect_raw", "/camera/back/color/image_raw"])] == [
        "back", "front"]
    # a folder holding another's cannot be told apart: one camera, a WARNING naming them
    nested = {"/rig/image_raw": I, "/rig/cam02/image_raw": I}
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pose3d_ros.core.bag_cameras"):
        assert [c.name for c in camera_topics(nested, where="bag nested-test")] == ["rig"]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "ONE camera 'rig'" in warned[0] and "/rig/cam02" in warned[0]


def test_header_stamps_that_go_back_in_recorded_order_are_told_once(tmp_path, caplog):
    """A review: a camera whose clock stepped back 2 s mid-recording (an NTP step) was
    replayed in stamp order, the footage's second half first, without a word. One WARN now
    names the cameras, how often and how far; a bag in order says nothing."""
    images = []
    for k in range(6):
        t = T0 + k * PERIOD_NS - (2_000 * MS if k >= 3 else 0)     # back 2 s at the 4th
        images.append(("/cam01/image_raw", t, T0 + k * PERIOD_NS + 5 * MS))
        images.append(("/cam02/image_raw", T0 + k * PERIOD_NS, T0 + k * PERIOD_NS + 6 * MS))
    bag = _bag(tmp_path / "back", images, ["/cam01/camera_info", "/cam02/camera_info"])
    with caplog.at_level(logging.WARNING):
        index_frame_sets(bag, ["cam01", "cam02"])
        index_frame_sets(bag, ["cam01", "cam02"])
    told = [r.getMessage() for r in caplog.records if "go back in recorded order" in r.getMessage()]
    assert len(told) == 1, told
    assert f"cam01 1 time(s), at most {(2_000 * MS - PERIOD_NS) / 1e9:.3f} s" in told[0]
    assert "cam02" not in told[0]
    caplog.clear()
    in_order = _bag(tmp_path / "in_order", [row for row in images if "cam02" in row[0]],
                    ["/cam02/camera_info"])
    with caplog.at_level(logging.WARNING):
        index_frame_sets(in_order, ["cam02"])
    assert not [r for r in caplog.records if "go back" in r.getMessage()]
    # an image stamped 0 is told as such, not as the clock going back 1.7e9 s (a review)
    zero = _bag(tmp_path / "zero", [(t, 0 if k == 3 else s, log) for k, (t, s, log) in
                                    enumerate(row for row in images if "cam02" in row[0])],
                ["/cam02/camera_info"])
    with caplog.at_level(logging.WARNING):
        index_frame_sets(zero, ["cam02"])
    assert any("have header stamp 0" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if "go back" in r.getMessage()]
