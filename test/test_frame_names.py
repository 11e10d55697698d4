"""ROS 1 style frame ids ("/camera_optical_frame", as converted ROS 1 bags carry them) are
read by their ROS 2 names (core.camera.ros2_frame_name) by every reader: the nodes and the
offline bag readers (core.bag_cameras, core.bag_tracks, evaluate, train_lifter --bag) alike.
Found by a review: only the nodes dropped the slash, so the offline readers kept slashed frame
names, which tf2 and the nodes' outputs never use, and a camera_info slashed beside a
/tf_static that is not left the camera without a pose. Real bags (make_bag's writer)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pose3d_ros.core import bag_tracks, bagio
from pose3d_ros.core.bag_cameras import camera_name, camera_name_problem, read_bag_cameras
from pose3d_ros.core.camera import camera_model_from_info_msg, ros2_frame_name
from pose3d_ros.core.static_tf import StaticTransform, transforms_from_message
from pose3d_ros.tools import fetch_demo, make_bag

T0 = 1_700_000_000_000_000_000


@pytest.mark.parametrize("name", ["cam01", "Cam_A", "_left", "cam__1", "cam 02", "cam-1",
                                  "1cam", "cam.1", "left/cam", "", "cam/"])
def test_camera_names_the_tools_take_are_those_rclpy_and_the_readers_take(name):
    """A camera name becomes <name>/image_raw (rclpy's rules) and is read back from a bag as
    the topic's first namespace (camera_name): the tools take exactly those that survive
    both (a review: 'cam 02' was refused by the node after run had written the input bag)."""
    from rclpy.exceptions import InvalidTopicNameException
    from rclpy.validate_topic_name import validate_topic_name

    try:
        validate_topic_name(f"{name}/image_raw")
        valid = camera_name(f"/{name}/image_raw") == name
    except InvalidTopicNameException:
        valid = False
    assert (camera_name_problem(name) == "") == valid, name


def test_ros2_frame_name():
    assert ros2_frame_name("/camera_optical_frame") == "camera_optical_frame"
    assert ros2_frame_name("//robot/camera") == "robot/camera"
    assert ros2_frame_name("camera_optical_frame") == "camera_optical_frame"
    assert ros2_frame_name("") == ""


def _slashed(msg: Any, topic: str) -> Any:
    """A CameraInfo or TFMessage with a leading slash on every frame id."""
    if topic == "/tf_static":
        return replace(msg, transforms=[
            replace(t, header=replace(t.header, frame_id="/" + t.header.frame_id),
                    child_frame_id="/" + t.child_frame_id) for t in msg.transforms])
    return replace(msg, header=replace(msg.header, frame_id="/" + msg.header.frame_id))


@pytest.fixture(scope="module")
def demo_bag(tmp_path_factory) -> Path:
    """6 frame sets of the demo's 4 cameras at 1/4 scale, posed on /tf_static under 'world'
    (as `python -m pose3d_ros.tools.make_bag --demo single --scale 0.25 --max-frames 6`)."""
    cameras, rig_frame = make_bag.cameras_from_calibration(fetch_demo.calibration_path("single"))
    out = tmp_path_factory.mktemp("demo") / "bag"
    make_bag.write_bag(out, fetch_demo.video_paths("single"), cameras, fps=60.0, start_ns=T0,
                       compressed=True, fixed_frame=rig_frame, scale=0.25, max_frames=6,
                       crop_to_video=True)
    return out


def _rewritten(src: Path, out: Path, tf_static: bool) -> Path:
    """src with the frame ids of its CameraInfos, and with tf_static of its /tf_static,
    slashed (_slashed), as test_bag_bad_frames._copy rewrites a bag; the rest as is."""
    with bagio.BagWriter(out) as writer:
        for item in bagio.read_messages(src):
            slash = item.topic.endswith("/camera_info") or (tf_static and
                                                             item.topic == "/tf_static")
            writer.write(item.topic, item.stamp_ns,
                         _slashed(item.message, item.topic) if slash else item.message)
    return out


@pytest.mark.parametrize("tf_static", [True, False],
                         ids=["camera_info_and_tf_static", "camera_info_only"])
def test_a_ros1_bag_is_read_with_ros2_frame_names(demo_bag, tmp_path, tf_static):
    """A ROS 1 bag (slashes in both camera_info and /tf_static) gives the same cameras,
    poses and fixed frame as its ROS 2 original, under ROS 2 names; so does one whose
    camera_info alone is slashed (before: that camera had no pose, and the bag no camera)."""
    bag = _rewritten(demo_bag, tmp_path / "ros1", tf_static)
    names = {item.message.header.frame_id for item in bagio.read_messages(
        bag, ["/cam01/camera_info"])}
    assert names == {"/cam01_optical_frame"}                       # the bag is slashed
    parents = {t.header.frame_id for item in bagio.read_messages(bag, ["/tf_static"])
               for t in item.message.transforms}
    assert parents == ({"/world"} if tf_static else {"world"})
    expected, expected_root = read_bag_cameras(demo_bag)
    cameras, root = read_bag_cameras(bag)
    assert root == expected_root == "world"
    assert sorted(cameras) == sorted(expected) == ["cam01", "cam02", "cam03", "cam04"]
    for name, camera in cameras.items():
        assert camera.frame_id == f"{name}_optical_frame"
        np.testing.assert_allclose(camera.R, expected[name].R, atol=1e-12)
        np.testing.assert_allclose(camera.t, expected[name].t, atol=1e-12)
        np.testing.assert_allclose(camera.K, expected[name].K)
    tree = bag_tracks.static_tree(bag)                 # evaluate's lookups through /tf_static
    R, t = tree.lookup("world", "cam02_optical_frame")
    np.testing.assert_allclose(R, cameras["cam02"].R.T, atol=1e-12)
    np.testing.assert_allclose(t, -cameras["cam02"].R.T @ cameras["cam02"].t, atol=1e-12)


def test_a_lone_unposed_camera_of_a_ros1_bag_is_its_own_fixed_frame_by_its_ros2_name(
        tmp_path):
    """bag_tracks.bag_cameras (run --bag, evaluate): a one-camera bag without /tf_static
    gives the camera's optical frame as the fixed frame, the ROS 2 name the node publishes
    in (run.py stripped the slash itself before)."""
    bag = tmp_path / "one"
    with bagio.BagWriter(bag, storage="mcap") as writer:
        msg = bagio.camera_info_message(T0, "/camera_optical_frame", 64, 48, np.array(
            [[50.0, 0, 32], [0, 50, 24], [0, 0, 1]]), np.zeros(5))
        writer.write("/camera/camera_info", T0, msg)
    cameras, fixed = bag_tracks.bag_cameras(bag)
    assert fixed == cameras["camera"].frame_id == "camera_optical_frame"
    assert camera_model_from_info_msg(msg, "camera").frame_id == "camera_optical_frame"


def test_static_transforms_are_read_by_ros2_names():
    """transforms_from_message (the nodes' static TF tree where tf2_ros is missing, and the
    bag readers): parent and child by their ROS 2 names, the pose unchanged."""
    sent = StaticTransform("/world", "/cam01_optical_frame", np.array([1.0, 2.0, 3.0]),
                           np.array([0.0, 0.0, np.sqrt(0.5), np.sqrt(0.5)]))
    (read,) = transforms_from_message(bagio.tf_message([sent], T0))
    assert (read.parent, read.child) == ("world", "cam01_optical_frame")
    np.testing.assert_allclose(read.translation, sent.translation)
    np.testing.assert_allclose(read.rotation, sent.rotation)
