"""The generated messages: built by colcon, and round-tripped through real rclpy over real DDS."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from pose3d_ros.msg import JointLayout, Skeleton2D, Skeleton2DArray, Skeleton3D, Skeleton3DArray
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_helpers import ros_context, spin_until

from pose3d_ros.core import types
from pose3d_ros.core.layouts import BLAZEPOSE33, COCO17, H36M17


def _layout_msg(layout) -> JointLayout:
    return JointLayout(name=layout.name, joint_names=list(layout.joint_names),
                       bones=layout.bones_array.ravel().astype(np.uint16).tolist())


def _roundtrip(msg_type, message, topic: str):
    """Publish `message` from one node and return what a second node receives."""
    with ros_context() as context:
        talker = rclpy_node("talker", context)
        listener = rclpy_node("listener", context)
        received = []
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        listener.create_subscription(msg_type, topic, received.append, qos)
        publisher = talker.create_publisher(msg_type, topic, qos)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(talker)
        executor.add_node(listener)
        ok = spin_until(executor, lambda: bool(received), 10.0,
                        tick=lambda: publisher.publish(message))
        executor.shutdown()
        talker.destroy_node()
        listener.destroy_node()
    assert ok, f"no {msg_type.__name__} arrived over DDS within 10 s"
    return received[0]


def rclpy_node(name: str, context):
    from rclpy.node import Node
    return Node(name, context=context)


def test_skeleton3d_array_roundtrip_over_dds():
    rng = np.random.default_rng(0)
    message = Skeleton3DArray()
    message.header.frame_id = "map"
    message.header.stamp.sec = 1_700_000_000
    message.header.stamp.nanosec = 123_456_789
    message.cameras = ["cam01_optical_frame", "cam02_optical_frame"]
    people = []
    for person_id, layout in ((1, H36M17), (7, BLAZEPOSE33)):
        positions = rng.normal(size=(layout.num_joints, 3))
        positions[3] = np.nan  # a missing joint must stay missing
        skeleton = Skeleton3D(id=person_id, method=Skeleton3D.METHOD_TRIANGULATION,
                              layout=_layout_msg(layout))
        skeleton.positions = positions.ravel()
        skeleton.confidence = rng.uniform(size=layout.num_joints).astype(np.float32)
        skeleton.reprojection_error = rng.uniform(size=layout.num_joints).astype(np.float32)
        skeleton.num_views = rng.integers(0, 5, size=layout.num_joints).astype(np.uint8)
        skeleton.body_pose.position.x = 1.5
        skeleton.body_pose.orientation.w = 1.0
        people.append((skeleton, positions))
    message.skeletons = [p[0] for p in people]

    got = _roundtrip(Skeleton3DArray, message, "skeletons_3d")

    assert got.header.frame_id == "map"
    assert (got.header.stamp.sec, got.header.stamp.nanosec) == (1_700_000_000, 123_456_789)
    assert list(got.cameras) == message.cameras
    assert [s.id for s in got.skeletons] == [1, 7]
    for sent, (skeleton, positions) in zip(got.skeletons, people, strict=True):
        layout = {"h36m17": H36M17, "blazepose33": BLAZEPOSE33}[sent.layout.name]
        assert list(sent.layout.joint_names) == list(layout.joint_names)
        bones = np.asarray(sent.layout.bones).reshape(-1, 2)
        np.testing.assert_array_equal(bones, layout.bones_array)
        received = np.asarray(sent.positions).reshape(-1, 3)
        np.testing.assert_array_equal(np.isnan(received), np.isnan(positions))
        np.testing.assert_allclose(received[~np.isnan(received)], positions[~np.isnan(positions)])
        np.testing.assert_array_equal(np.asarray(sent.num_views), np.asarray(skeleton.num_views))
        assert sent.method == Skeleton3D.METHOD_TRIANGULATION
        assert math.isclose(sent.body_pose.position.x, 1.5)


def test_skeleton2d_array_roundtrip_over_dds():
    message = Skeleton2DArray(image_width=1080, image_height=1920)
    message.header.frame_id = "cam01_optical_frame"
    u = np.linspace(10, 1000, COCO17.num_joints, dtype=np.float32)
    u[0] = np.nan
    skeleton = Skeleton2D(id=0, score=0.9, layout=_layout_msg(COCO17))
    skeleton.bbox = np.array([1.0, 2.0, 300.0, 900.0], dtype=np.float32)
    skeleton.u = u
    skeleton.v = u + 5
    skeleton.confidence = np.full(COCO17.num_joints, 0.5, dtype=np.float32)
    message.skeletons = [skeleton]

    got = _roundtrip(Skeleton2DArray, message, "skeletons_2d")

    assert (got.image_width, got.image_height) == (1080, 1920)
    assert got.header.frame_id == "cam01_optical_frame"
    (person,) = got.skeletons
    assert person.layout.name == "coco17"
    np.testing.assert_array_equal(np.isnan(np.asarray(person.u)), np.isnan(u))
    np.testing.assert_allclose(np.asarray(person.v)[1:], u[1:] + 5)
    np.testing.assert_allclose(np.asarray(person.bbox), [1.0, 2.0, 300.0, 900.0])
    assert person.score == pytest.approx(0.9)


def test_empty_array_is_a_valid_message():
    """'Nobody there' is published as an empty array, distinct from silence."""
    got = _roundtrip(Skeleton3DArray, Skeleton3DArray(), "empty_skeletons")
    assert list(got.skeletons) == []


def test_core_method_constants_match_the_message():
    assert types.METHOD_UNKNOWN == Skeleton3D.METHOD_UNKNOWN
    assert types.METHOD_TRIANGULATION == Skeleton3D.METHOD_TRIANGULATION
    assert types.METHOD_LIFTER == Skeleton3D.METHOD_LIFTER
    assert types.METHOD_DETECTOR_3D == Skeleton3D.METHOD_DETECTOR_3D


def test_tf_message_type_matches_real_ros():
    """TFMessage, where we build it ourselves, must carry the type hash of Jazzy's tf2_msgs,
    or real ROS 2 nodes would not match our /tf publisher."""
    import json
    from pathlib import Path

    from ament_index_python.packages import get_package_share_directory
    from tf2_msgs.msg import TFMessage

    assert TFMessage.get_fields_and_field_types() == {
        "transforms": "sequence<geometry_msgs/TransformStamped>"}
    share = Path(get_package_share_directory("tf2_msgs")) / "msg"
    description = json.loads((share / "TFMessage.json").read_text())
    hashes = {h["type_name"]: h["hash_string"] for h in description["type_hashes"]}
    # Golden value from the type description of ros2/geometry2 tf2_msgs on Jazzy.
    assert hashes["tf2_msgs/msg/TFMessage"] == (
        "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087")


def test_2d_from_another_process_is_made_safe_and_what_changed_is_said():
    """A detector computer's 2D with a keypoint at 1e30 or half NaN, and confidences of 5 or
    -1 (an audit of the distributed path: used without a word): such keypoints become missing,
    confidences are clipped to the message's [0, 1], and the change is said; clean 2D, with
    NaN for joints not found, passes untouched. A joint not found that keeps a confidence (a
    detector's visibility) gets 0 without a word (a review: it reached the 3D confidence)."""
    from pose3d_ros.core.messages import sanitized_detections, sanitized_set

    keypoints = np.full((1, 17, 2), 100.0, np.float32)
    keypoints[0, 1] = np.nan                         # a joint not found: normal
    clean_scores = np.full((1, 17), 0.5, np.float32)
    clean_scores[0, 1] = 0.0
    clean = types.Detections2D(keypoints, clean_scores, np.zeros((1, 4), np.float32),
                               np.ones(1, np.float32), COCO17, (640, 480))
    same, told = sanitized_detections(clean)
    assert same is clean and told == ""
    scored, told = sanitized_detections(dataclasses.replace(
        clean, scores=np.full((1, 17), 0.5, np.float32)))
    assert told == "" and scored.scores[0, 1] == 0 and (np.delete(scored.scores, 1) == 0.5).all()
    odd = keypoints.copy()
    odd[0, 2] = [1e30, 5.0]
    odd[0, 3] = [np.nan, 7.0]
    scores = np.full((1, 17), 0.5, np.float32)
    scores[0, 4], scores[0, 5] = 5.0, -1.0
    fixed, told = sanitized_detections(types.Detections2D(
        odd, scores, np.zeros((1, 4), np.float32), np.ones(1, np.float32), COCO17, (640, 480)))
    assert np.isnan(fixed.keypoints[0, [1, 2, 3]]).all() and (fixed.scores[0, [2, 3]] == 0).all()
    assert fixed.scores[0, 4] == 1.0 and fixed.scores[0, 5] == 0.0
    assert "2 keypoints not finite" in told and "2 confidences outside [0, 1]" in told
    # a frame set's cameras tested at once (sanitized_set): clean ones come back as they are,
    # a set with anything to change as sanitized_detections changes each camera
    nobody = dataclasses.replace(clean, keypoints=keypoints[:0], scores=clean_scores[:0],
                                 boxes=np.zeros((0, 4), np.float32),
                                 person_scores=np.ones(0, np.float32))
    tidy = {"a": clean, "b": nobody, "c": clean}
    assert all(out is tidy[name] for name, out in sanitized_set(tidy, ["a", "b"]).items())
    messy = {"a": clean, "b": dataclasses.replace(clean, keypoints=odd, scores=scores), "c": nobody}
    mended = sanitized_set(messy, ["c", "b", "a"])
    assert list(mended) == ["c", "b", "a"] and mended["a"] is clean and mended["c"] is nobody
    assert np.array_equal(mended["b"].keypoints, fixed.keypoints, equal_nan=True)
    assert np.array_equal(mended["b"].scores, fixed.scores)
