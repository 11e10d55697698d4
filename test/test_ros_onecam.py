"""One camera over real DDS, the case of issue #12: every image gets exactly one
Skeleton3DArray (empty when nobody is there), with detector_3d and no false error."""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
from pose3d_ros.msg import Skeleton3DArray
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_helpers import configure_and_activate, executor_with, ros_context, spin_until
from sensor_msgs.msg import CameraInfo, Image

from pose3d_ros.core.calibration import load_rig
from pose3d_ros.core.data_paths import calibration_path, video_paths
from pose3d_ros.ros.conversions import camera_model_to_info, image_to_msg

RELIABLE = QoSProfile(depth=20, reliability=ReliabilityPolicy.RELIABLE)


def test_frames_with_nobody_are_answered_with_an_empty_array_and_no_error():
    from pose3d_ros.ros.nodes import Pose3DNode

    full = load_rig(calibration_path("single"))["cam01"]
    camera = replace(full, K=full.K * np.array([[0.5], [0.5], [1.0]]), width=full.width // 2,
                     height=full.height // 2)
    capture = cv2.VideoCapture(str(video_paths("single")[0]))
    person = [cv2.resize(capture.read()[1], (camera.width, camera.height),
                         interpolation=cv2.INTER_AREA) for _ in range(4)]
    nobody = np.full_like(person[0], 40)
    images = [nobody, person[0], person[1], person[2], nobody, person[3]]
    outputs: list[Skeleton3DArray] = []
    with ros_context() as context:
        node = Pose3DNode("pose3d_onecam", context=context, parameter_overrides=[
            Parameter("camera_names", value=["cam01"]), Parameter("autostart", value=False),
            Parameter("extrinsics_source", value="none"), Parameter("image_qos", value="reliable"),
            Parameter("monocular_method", value="detector_3d")])
        probe = Node("probe_onecam", context=context)
        executor = executor_with(context, node, probe)
        try:
            configure_and_activate(node)
            image_pub = probe.create_publisher(Image, "cam01/image_raw", RELIABLE)
            info_pub = probe.create_publisher(CameraInfo, "cam01/camera_info", RELIABLE)
            probe.create_subscription(Skeleton3DArray, "skeletons", outputs.append, RELIABLE)
            assert spin_until(executor, lambda: node.health.cameras["cam01"].calibrated, 10,
                              tick=lambda: info_pub.publish(camera_model_to_info(camera)))
            for k, image in enumerate(images):       # lock-step: one image, one answer
                image_pub.publish(image_to_msg(image, 70.0 + k / 30, camera.frame_id))
                assert spin_until(executor, lambda k=k: len(outputs) > k, 30), node.last_error
            spin_until(executor, lambda: False, 0.5)    # nothing more comes
            rejected = dict(node.health.cameras.get("pipeline").rejected) \
                if "pipeline" in node.health.cameras else {}
        finally:
            executor.shutdown()
            node.destroy_node()
            probe.destroy_node()
    assert len(outputs) == len(images)                  # exactly one answer per image
    people = [len(m.skeletons) for m in outputs]
    # nobody: an empty array, not silence; the person is published from the third hit
    # (track confirmation) and again right after a frame without them (re-identified)
    assert people == [0, 0, 0, 1, 0, 1], people
    ids = {s.id for m in outputs for s in m.skeletons}
    assert len(ids) == 1
    assert rejected == {}, rejected                      # no false detector_3d error
