"""One conversion layer: what a node publishes (rclpy classes) and what the offline writer puts in
a bag (rosbags classes) are the same fields on the wire, body orientation included."""
from __future__ import annotations

import numpy as np
import pytest
from rclpy.serialization import serialize_message

from pose3d_ros.core import bagio
from pose3d_ros.core.body_frame import body_frames, body_transforms
from pose3d_ros.core.camera import CameraModel
from pose3d_ros.core.layouts import BLAZEPOSE33, COCO17
from pose3d_ros.core.messages import skeletons3d_from_message
from pose3d_ros.core.static_tf import camera_transforms
from pose3d_ros.core.types import METHOD_TRIANGULATION, Detections2D, Skeletons3D
from pose3d_ros.ros.conversions import RCLPY, skeletons3d_to_msg
from pose3d_ros.tools.fetch_demo import video_paths

STAMP_NS = 1_700_000_000_123_456_789


def _skeletons() -> Skeletons3D:
    """Two people standing, the second turned and missing a joint, a third with no joint."""
    rng = np.random.default_rng(3)
    positions = rng.normal(scale=0.2, size=(3, 17, 3))
    for name, torso in (("left_hip", [0, 0.15, 0.9]), ("right_hip", [0, -0.15, 0.9]),
                        ("left_shoulder", [0, 0.2, 1.4]), ("right_shoulder", [0, -0.2, 1.4])):
        positions[:2, COCO17.index(name)] = torso  # facing +x
    positions[1] = positions[1] @ np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]]).T + [2, 1, 0]
    positions[1, 4] = np.nan
    positions[2] = np.nan
    return Skeletons3D(positions=positions,
                       confidence=rng.uniform(size=(3, 17)).astype(np.float32),
                       reprojection_error=rng.uniform(0, 5, (3, 17)).astype(np.float32),
                       num_views=rng.integers(0, 5, (3, 17)).astype(np.uint8), layout=COCO17,
                       frame_id="rig", method=METHOD_TRIANGULATION, ids=np.array([3, 7, 11]))


def _same_bytes(rclpy_msg, rosbags_msg) -> None:
    """Field for field equal, bit for bit (NaN included): the node's CDR bytes read by rosbags
    and written again equal the offline message's bytes. (The node's own bytes differ only in
    CDR alignment padding, which Fast-CDR leaves uninitialised and rosbags zeroes.)"""
    store = bagio.typestore()
    msgtype = rosbags_msg.__msgtype__
    wire = serialize_message(rclpy_msg)
    offline = bytes(store.serialize_cdr(rosbags_msg, msgtype))
    assert len(wire) == len(offline), msgtype
    assert bytes(store.serialize_cdr(store.deserialize_cdr(wire, msgtype), msgtype)) == offline, \
        msgtype


def test_skeletons_from_the_node_and_from_the_offline_writer_are_the_same_bytes():
    skeletons = _skeletons()
    node_msg = skeletons3d_to_msg(skeletons, RCLPY.time(STAMP_NS), ["cam01", "cam02"])
    bag_msg = bagio.skeleton3d_array_message(skeletons, STAMP_NS, ["cam01", "cam02"])
    _same_bytes(node_msg, bag_msg)
    # the body orientation is the estimated one, not identity, in both
    frames = body_frames(skeletons.positions, skeletons.layout)
    for msg in (node_msg, bag_msg):
        q = msg.skeletons[1].body_pose.orientation
        np.testing.assert_allclose([q.x, q.y, q.z, q.w], frames.quaternions[1])
        np.testing.assert_allclose(np.abs([q.x, q.y, q.z, q.w]), [0, 0, 0.5 ** 0.5, 0.5 ** 0.5],
                                   atol=1e-9)  # turned by 90 degrees about z
        p = msg.skeletons[2].body_pose.position
        assert (p.x, p.y, p.z) == (0.0, 0.0, 0.0)  # nobody visible: origin 0, not NaN
    # and both read back to the same record
    for msg in (node_msg, bag_msg):
        back = skeletons3d_from_message(msg)
        np.testing.assert_array_equal(back.positions, skeletons.positions)
        np.testing.assert_array_equal(back.num_views, skeletons.num_views)
        np.testing.assert_array_equal(back.ids, skeletons.ids)


def test_detections_images_camera_info_and_tf_are_the_same_bytes():
    import cv2

    capture = cv2.VideoCapture(str(video_paths("single")[0]))
    ok, frame = capture.read()
    capture.release()
    assert ok
    frame = np.ascontiguousarray(frame[::8, ::8])
    rng = np.random.default_rng(0)
    found = Detections2D(keypoints=rng.uniform(0, 100, (2, 33, 2)).astype(np.float32),
                         scores=rng.uniform(size=(2, 33)).astype(np.float32),
                         boxes=np.array([[1, 2, 30, 40], [5, 6, 70, 80]], np.float32),
                         person_scores=np.array([0.9, 0.8], np.float32), layout=BLAZEPOSE33,
                         image_size=frame.shape[1::-1])
    camera = CameraModel("cam01", "cam01_optical_frame", frame.shape[1], frame.shape[0],
                         np.array([[200.0, 0, 67.5], [0, 200, 120], [0, 0, 1]]),
                         np.array([0.1, -0.05, 0.001, 0.002, 0.0]), "plumb_bob",
                         np.array([[0.0, -1, 0], [0, 0, -1], [1, 0, 0]]), np.array([0.1, 1.2, 3]))
    skeletons = _skeletons()
    transforms = camera_transforms([camera], "rig") + body_transforms(skeletons, per_joint=True)
    for build in (lambda f: f.skeleton2d_array(found, STAMP_NS, "cam01_optical_frame"),
                  lambda f: f.image(frame, STAMP_NS, "cam01_optical_frame"),
                  lambda f: f.image(frame[..., 0], STAMP_NS, "cam01_optical_frame", "mono8"),
                  lambda f: f.compressed_image(frame, STAMP_NS, "cam01_optical_frame"),
                  lambda f: f.camera_info(camera, STAMP_NS),
                  lambda f: f.tf_message(transforms, STAMP_NS)):
        _same_bytes(build(RCLPY), build(bagio.ROSBAGS))


def test_bad_records_are_refused_the_same_way_by_both():
    for factory in (RCLPY, bagio.ROSBAGS):
        with pytest.raises(ValueError, match="bgr8 needs uint8"):
            factory.image(np.zeros((4, 4), np.float32), 0, "f")
        with pytest.raises(ValueError, match=">= 0 ns"):
            factory.header(-1, "f")


def test_each_message_has_a_layout_of_its_own():
    """A review: every message a process built shared one joint_names list (and, written
    offline, one bones array) per layout, which the libraries keep as given; a user renaming
    a joint in one message before republishing renamed it in every later message."""
    for factory in (RCLPY, bagio.ROSBAGS):
        first, second = factory.joint_layout(COCO17), factory.joint_layout(COCO17)
        first.joint_names[0] = "renamed"
        first.bones[0] = 99
        third = factory.joint_layout(COCO17)
        for later in (second, third):
            assert list(later.joint_names) == list(COCO17.joint_names)
            assert list(later.bones) == COCO17.bones_array.ravel().tolist()


def test_tf_read_back_gives_the_camera_pose_it_was_made_from():
    """camera_transforms -> TFMessage (either library) -> transform_from_stamped -> (R, t):
    the optical frame's pose in the rig, the inverse of the camera's x_cam = R x_rig + t."""
    from scipy.spatial.transform import Rotation

    from pose3d_ros.core.static_tf import transforms_from_message

    R = Rotation.from_rotvec([0.3, -1.2, 0.4]).as_matrix()
    camera = CameraModel("cam01", "cam01_optical_frame", 640, 480,
                         np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]), np.zeros(5),
                         "plumb_bob", R, np.array([0.2, -0.1, 2.5]))
    for factory in (RCLPY, bagio.ROSBAGS):
        (back,) = transforms_from_message(
            factory.tf_message(camera_transforms([camera], "rig"), STAMP_NS))
        assert (back.parent, back.child) == ("rig", "cam01_optical_frame")
        rotation, translation = back.matrix()   # p_rig = rotation p_cam + translation
        np.testing.assert_allclose(rotation, R.T, atol=1e-12)
        np.testing.assert_allclose(translation, -R.T @ camera.t, atol=1e-12)


def test_sequence_fields_of_any_shape_and_stride():
    """rclpy's array.array sequences and rosbags' numpy ones hold the same flat values, for
    empty, strided and multi-dimensional input."""
    from pose3d_ros.core.messages import array_sequence, numpy_sequence

    grid = np.arange(12, dtype=np.float32).reshape(3, 4)
    for values in (np.zeros(0, np.uint8), np.zeros((0, 3)), grid[:, 1], grid,
                   np.arange(5, dtype=np.uint16)[::-2]):
        flat = np.ascontiguousarray(values).reshape(-1)
        from_rclpy, from_rosbags = array_sequence(values), numpy_sequence(values)
        assert from_rosbags.dtype == values.dtype
        np.testing.assert_array_equal(np.frombuffer(from_rclpy, values.dtype), flat)
        np.testing.assert_array_equal(from_rosbags, flat)


def test_people_made_by_different_methods_keep_their_method_on_the_wire():
    """A rig publishes triangulated people beside people one camera alone sees (lone views):
    each person's method is its own in the node's message and in the bag's, and reads back."""
    from dataclasses import replace

    from pose3d_ros.core.types import METHOD_LIFTER

    mixed = replace(_skeletons(), person_methods=np.array(
        [METHOD_TRIANGULATION, METHOD_LIFTER, METHOD_TRIANGULATION], np.uint8))
    node_msg = skeletons3d_to_msg(mixed, RCLPY.time(STAMP_NS), ["cam01", "cam02"])
    bag_msg = bagio.skeleton3d_array_message(mixed, STAMP_NS, ["cam01", "cam02"])
    _same_bytes(node_msg, bag_msg)
    for msg in (node_msg, bag_msg):
        assert [p.method for p in msg.skeletons] == [1, 2, 1]
        np.testing.assert_array_equal(skeletons3d_from_message(msg).methods(), [1, 2, 1])
    # one method for all: no per-person array needed, and none comes back
    back = skeletons3d_from_message(skeletons3d_to_msg(_skeletons(), RCLPY.time(STAMP_NS), []))
    assert back.person_methods is None and back.method == METHOD_TRIANGULATION
