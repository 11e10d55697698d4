"""Calibration changes while frames flow, over real DDS: the fusion node gets camera_info
messages that switch each camera between two calibrations (A, B: other principal point,
other optical frame name) while 2D skeletons stream in and its processing thread runs. Every
3D output must be exactly what the offline core gives for ONE calibration per camera, the one
its `cameras` field names: a set processed with a calibration that changed half-way (the
race of camera_info handled on the executor thread while the worker used the cameras) would
be labelled with one and triangulated with another."""
from __future__ import annotations

import itertools
import random
import threading
import time
from dataclasses import replace

import numpy as np
from pose3d_ros.msg import Skeleton2DArray, Skeleton3DArray
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_helpers import (
    configure_and_activate,
    demo_first_frame_2d,
    executor_with,
    ros_context,
    spin_until,
)
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header

from pose3d_ros.core.calibration import load_rig
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline
from pose3d_ros.ros.conversions import (
    camera_model_to_info,
    detections_to_msg,
    seconds_to_stamp,
    skeletons3d_from_msg,
)
from pose3d_ros.ros.nodes import FusionNode
from pose3d_ros.tools.fetch_demo import calibration_path

RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
CAMERAS = ("cam01", "cam02", "cam03")   # >= 3 views: a person is confirmed at once
SETS = 120


def test_every_frame_set_is_processed_with_one_calibration_per_camera():
    rig = load_rig(calibration_path("single"))
    calibrations = {}   # (camera, "A"/"B") -> CameraModel
    for name in CAMERAS:
        a = rig[name]
        k = a.K.copy()
        k[0, 2] += 25.0
        k[1, 2] -= 15.0
        calibrations[name, "A"] = a
        calibrations[name, "B"] = replace(a, K=k, frame_id=f"{name}_optical_frame_B")
    found = demo_first_frame_2d(CAMERAS)
    # The offline core's 3D for each combination of calibrations, labelled by frame names.
    expected = {}
    for choice in itertools.product("AB", repeat=len(CAMERAS)):
        models = {n: calibrations[n, c] for n, c in zip(CAMERAS, choice, strict=True)}
        offline = Pose3DPipeline(list(CAMERAS), models, None, frame_id=rig.frame_id,
                                 params=PipelineParams(tracking=None, filtering=None))
        result = offline.process_detections(found, 0.0)
        assert result.skeletons.num_people == 1, choice
        expected[tuple(models[n].frame_id for n in CAMERAS)] = result.skeletons.positions
    outputs: list[Skeleton3DArray] = []
    with ros_context() as context:
        fusion = FusionNode(context=context, parameter_overrides=[
            Parameter("camera_names", value=list(CAMERAS)), Parameter("autostart", value=False),
            Parameter("rig_file", value=str(calibration_path("single"))),
            Parameter("sync.min_views", value=3), Parameter("sync.timeout_s", value=1.0),
            Parameter("sync.queue_size", value=100),
            Parameter("sync.complete_after_resume", value=True),
            Parameter("tracking.enabled", value=False), Parameter("filter.enabled", value=False),
            Parameter("publish_markers", value=False), Parameter("publish_tf", value=False)])
        probe = Node("race_probe", context=context)
        skeletons = {n: probe.create_publisher(Skeleton2DArray, f"{n}/skeletons_2d", RELIABLE)
                     for n in CAMERAS}
        infos = {n: probe.create_publisher(CameraInfo, f"{n}/camera_info", RELIABLE)
                 for n in CAMERAS}
        probe.create_subscription(Skeleton3DArray, "skeletons", outputs.append, RELIABLE)
        executor = executor_with(context, fusion, probe)
        try:
            configure_and_activate(fusion)
            assert fusion.sync is not None           # the sync.* parameters reach it
            assert (fusion.sync.params.min_views, fusion.sync.params.queue_size) == (3, 100)
            assert fusion.sync.params.complete_after_resume is True
            assert spin_until(executor, lambda: all(
                p.get_subscription_count() for p in (*skeletons.values(), *infos.values())), 10)

            def send_infos():
                for name in CAMERAS:
                    infos[name].publish(camera_model_to_info(calibrations[name, "A"]))

            assert spin_until(executor, lambda: all(
                c.calibrated for c in fusion.health.cameras.values()), 10, tick=send_infos)
            spinner = threading.Thread(target=executor.spin, daemon=True)
            spinner.start()
            choose = random.Random(0)
            for k in range(SETS):
                header = Header(stamp=seconds_to_stamp(100.0 + k / 30), frame_id="")
                for name in CAMERAS:
                    skeletons[name].publish(detections_to_msg(found[name], header))
                    # A calibration change for a random camera after every message.
                    changed = choose.choice(CAMERAS)
                    infos[changed].publish(camera_model_to_info(
                        calibrations[changed, choose.choice("AB")]))
                time.sleep(0.005)
            # The node always processes the newest set (older ones may be dropped as behind on
            # a loaded machine): wait for the last one.
            last = seconds_to_stamp(100.0 + (SETS - 1) / 30)
            deadline = time.monotonic() + 30
            while not any(m.header.stamp == last for m in outputs) \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            executor.shutdown()
            fusion.destroy_node()
            probe.destroy_node()
    assert any(m.header.stamp == last for m in outputs), "the newest set was not answered"
    assert len(outputs) >= 10, f"{len(outputs)} outputs of {SETS} sets"
    labels = set()
    for message in outputs:
        label = tuple(message.cameras)
        labels.add(label)
        assert label in expected, label
        np.testing.assert_allclose(skeletons3d_from_msg(message).positions, expected[label],
                                   atol=1e-6, err_msg=f"set labelled {label}")
    assert len(labels) >= 4, labels      # the calibrations did change while frames flowed
