"""What a user gets for the choices made in a YAML file or a launch file, over real DDS: a
misspelt parameter name, an integer for a double, the back-end's execution providers, model
files onnxruntime cannot load, a monocular method the back-end cannot serve (found by an audit
of back-ends, devices and model files)."""
from __future__ import annotations

import logging

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import Log
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_helpers import (
    refused_at_configure,
    ros_context,
    spin_until,
    unposed_camera_node,
    with_rosout,
)
from test_detection_onnx_decoding import constant_model, yolo_pose_rows

from pose3d_ros.ros.nodes import DetectorNode

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
TOLD_IGNORED = "ignored, not parameters of this node"


def _yolo_model(tmp_path):
    """An ONNX file in the Ultralytics YOLO-pose format (planted outputs)."""
    return constant_model(tmp_path / "pose.onnx", [1, 3, 640, 640],
                          {"output0": yolo_pose_rows()[0]})


def test_a_misspelt_parameter_is_warned_with_the_closest_name():
    """rclpy ignores an override that names no declared parameter: `monocular_methd:
    detector_3d` in a YAML file left the lifter running without a word. The node now says
    which names it ignored and the parameter each most likely meant, in one WARN; an integer
    for a double parameter (`slop_s: 1`) is taken as 1.0, as `ros2 param set` takes it (it
    was refused at start-up: the process exited)."""
    with ros_context() as context:
        node = unposed_camera_node(context, "typo_node",
                                   Parameter("monocular_methd", value="detector_3d"),
                                   Parameter("sync.slopp_s", value=0.02),
                                   # a group set alone, an override rclpy never reads
                                   # (review: "did you mean 'filter.beta'?", and nothing)
                                   Parameter("filter", value=False),
                                   Parameter("triangulation", value=False),
                                   Parameter("sync.timeout_s", value=3),
                                   # and a whole double for an integer (a review: refused
                                   # at start-up, taken at run time)
                                   Parameter("qos_depth", value=2.0))
        with with_rosout(context, node) as (executor, _, logs):
            value = node.get_parameter("sync.timeout_s")
            assert value.type_ == Parameter.Type.DOUBLE and value.value == 3.0
            depth = node.get_parameter("qos_depth")
            assert depth.type_ == Parameter.Type.INTEGER and depth.value == 2
            assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, node.last_error
            assert node.config.sync.timeout_s == 3.0
            assert spin_until(executor, lambda: any(TOLD_IGNORED in m.msg for m in logs), 5)
            # which lifter weights it uses (the default method; told nowhere before, audit)
            assert spin_until(executor, lambda: any(
                m.msg.startswith("monocular method lifter: ") for m in logs), 5)
    used = [m.msg for m in logs if m.msg.startswith("monocular method lifter: ")]
    assert len(used) == 1 and used[0].endswith("lifter_t27_causal.onnx (T=27, causal)"), used
    warned = [m.msg for m in logs if m.level == Log.WARN and TOLD_IGNORED in m.msg]
    assert len(warned) == 1, warned
    assert "'monocular_methd' (did you mean 'monocular_method'?)" in warned[0]
    assert "'sync.slopp_s' (did you mean 'sync.slop_s'?)" in warned[0]
    assert "'filter' (a group: did you mean 'filter.enabled'?)" in warned[0]
    assert "'triangulation' (a group of parameters: triangulation." in warned[0]
    assert "sync.timeout_s" not in warned[0]


def test_the_node_says_where_its_detector_runs(tmp_path, caplog, monkeypatch, recwarn):
    """At configure the node logs where the 2D network runs and /diagnostics shows it
    (detector_runtime); detector_providers chooses onnxruntime's execution providers, and a
    provider asked for that does not run here is a WARN (blazepose_onnx fell back from CUDA to
    the CPU without a word, and no parameter could choose). Asked of a back-end that does not
    run on onnxruntime, it is a WARN too. The console shows that WARN once (onnxruntime's
    provider choice said it a second time through Python's logging)."""
    from pose3d_ros.core import once
    monkeypatch.setattr(once, "_SEEN", set())      # as in a fresh process
    caplog.set_level(logging.INFO)
    with ros_context() as context:
        onnx = DetectorNode(context=context, namespace="cam01", parameter_overrides=[
            Parameter("autostart", value=False), Parameter("detector", value="yolo_pose"),
            Parameter("detector_model", value=str(_yolo_model(tmp_path))),
            Parameter("detector_providers", value=["cuda", "cpu"]),
            Parameter("diagnostics_period_s", value=0.2)])
        with with_rosout(context, onnx) as (executor, probe, logs):
            reports: list[DiagnosticArray] = []
            probe.create_subscription(DiagnosticArray, "/diagnostics", reports.append,
                                      RELIABLE)
            assert onnx.trigger_configure() == TransitionCallbackReturn.SUCCESS, onnx.last_error
            assert onnx.trigger_activate() == TransitionCallbackReturn.SUCCESS
            runtime = onnx.detector.runtime

            def shown():
                return [kv.value for report in reports for status in report.status
                        for kv in status.values if kv.key == "detector_runtime"]
            assert spin_until(executor, shown, 10)
            assert spin_until(executor, lambda: any("runs on" in m.msg for m in logs), 5)
        assert shown()[0] == runtime
        assert f"detector 'yolo_pose' runs on {runtime}" in [m.msg for m in logs]
        warned = [m.msg for m in logs if m.level == Log.WARN and m.msg.startswith(
            "detector_providers ['cuda', 'cpu']")]
        if runtime == "onnxruntime CPU":       # this machine has no usable CUDA
            assert len(warned) == 1 and "CUDA is not usable here" in warned[0], warned
            again = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
                     and "not usable here" in r.getMessage()]
            assert not again, again
            # nor as a Python warning on stderr (the back-end's ProviderUnusableWarning)
            again = [str(w.message) for w in recwarn if "not usable here" in str(w.message)]
            assert not again, again
        else:                                  # a GPU machine
            assert runtime == "onnxruntime CUDA" and not warned, (runtime, warned)

        litert = unposed_camera_node(context, "litert_node",
                                     Parameter("detector_providers", value=["cuda"]))
        with with_rosout(context, litert) as (executor, _, logs):
            assert litert.trigger_configure() == TransitionCallbackReturn.SUCCESS
            assert spin_until(executor, lambda: any("onnxruntime back-ends" in m.msg
                                                    for m in logs), 5)
        assert "detector 'blazepose_multi' runs on LiteRT on the CPU" in " ".join(
            m.msg for m in logs)
        mixed = unposed_camera_node(context, "auto_and_cuda", Parameter(
            "detector_providers", value=["auto", "cuda"]))
        try:
            refused_at_configure(mixed, "give ['auto'], or providers")
        finally:
            mixed.destroy_node()


def test_model_files_and_methods_the_back_end_cannot_serve_are_refused_in_one_line(tmp_path):
    """A file that is no ONNX model (random bytes) as detector_model: refused at configure
    naming the file (onnxruntime's InvalidProtobuf text came alone, naming neither); the node
    stays unconfigured and configures once the parameter is right. monocular_method
    'detector_3d' with a back-end that gives no metric 3D: refused at configure before any
    model loads (it configured, then failed on every frame with a person)."""
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(np.random.default_rng(0).bytes(4096))
    with ros_context() as context:
        node = DetectorNode(context=context, namespace="cam01", parameter_overrides=[
            Parameter("autostart", value=False), Parameter("detector", value="yolo_pose"),
            Parameter("detector_model", value=str(junk))])
        try:
            refused_at_configure(node, f"{junk} is not an ONNX model onnxruntime can load")
            node.set_parameters([Parameter("detector_model", value=str(_yolo_model(tmp_path)))])
            assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, node.last_error
        finally:
            node.destroy_node()
        method = unposed_camera_node(
            context, "yolo_detector_3d", Parameter("detector", value="yolo_pose"),
            Parameter("detector_model", value=str(junk)),
            Parameter("monocular_method", value="detector_3d"))
        try:
            refused_at_configure(method, "monocular_method 'detector_3d' places the detector's "
                                         "metric 3D, which 'yolo_pose' does not give")
        finally:
            method.destroy_node()


def test_the_most_people_per_image_is_a_parameter():
    """The two-stage BlazePose keeps at most 10 people per image, which no parameter could
    change (crowd audit: a shop or a hallway holds more); detector_max_people sets it for the
    multi-person back-ends, 0 keeps the back-end's own."""
    with ros_context() as context:
        nodes = [DetectorNode(context=context, namespace=name, parameter_overrides=[
            Parameter("autostart", value=False), *extra])
            for name, extra in (("cam01", [Parameter("detector_max_people", value=25)]),
                                ("cam02", []))]
        try:
            for node in nodes:
                assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, \
                    node.last_error
            assert [node.detector.max_people for node in nodes] == [25, 10]
        finally:
            for node in nodes:
                node.destroy_node()


def test_a_fixed_frame_the_rig_file_overrides_is_warned_at_configure():
    """A review: fixed_frame map with the demo's rig file (frame 'world') read back 'map'
    while the 3D went out in 'world', without a word; rviz set to map showed nothing."""
    from pose3d_ros.core.data_paths import calibration_path
    from pose3d_ros.ros.nodes import FusionNode

    with ros_context() as context:
        fusion = FusionNode(context=context, parameter_overrides=[
            Parameter("camera_names", value=["cam01", "cam02"]),
            Parameter("autostart", value=False),
            Parameter("rig_file", value=str(calibration_path("single"))),
            Parameter("fixed_frame", value="map")])
        with with_rosout(context, fusion) as (executor, _, logs):
            assert fusion.trigger_configure() == TransitionCallbackReturn.SUCCESS
            assert spin_until(executor, lambda: any("fixed_frame 'map' is not used" in m.msg
                                                    for m in logs), 5)
            assert fusion.fixed_frame == "world"
    [line] = [m for m in logs if "fixed_frame 'map'" in m.msg]
    assert line.level == Log.WARN
    assert "publish map -> world on /tf_static" in line.msg, line.msg


def test_image_qos_changed_on_an_inactive_node_is_taken_at_the_next_configure():
    """A review (session 64): the qos_overrides support declared a read-only parameter per
    topic and policy at the first configure, with that configure's QoS as its value, and
    rclpy took it again at every later configure: image_qos reliable and qos_depth 7, set on
    the inactive node, left the images and camera_info best effort at depth 1-2. Policies
    that no start-up override names now follow the configuration every time; an override
    named at start-up stays in force. (Images are gated: their depth is always 1.)"""
    from rclpy.qos import ReliabilityPolicy as Reliability

    def input_qos(node) -> dict[str, tuple]:
        """The reliability and depth each input subscription was made with."""
        return {sub.topic_name: (sub.qos_profile.reliability, sub.qos_profile.depth)
                for sub in node.subscriptions
                if sub.topic_name in ("/cam01/image_raw", "/cam01/camera_info")}

    with ros_context() as context:
        node = unposed_camera_node(
            context, "qos_reconfigure", Parameter("image_qos", value="sensor_data"),
            Parameter("qos_overrides./cam01/camera_info.subscription.depth", value=4))
        try:
            for image_qos, depth in (("sensor_data", 1), ("reliable", 7)):
                node.set_parameters([Parameter("image_qos", value=image_qos),
                                     Parameter("qos_depth", value=depth)])
                assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, \
                    node.last_error
                assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
                reliability = Reliability.RELIABLE if image_qos == "reliable" else \
                    Reliability.BEST_EFFORT
                assert input_qos(node) == {"/cam01/image_raw": (reliability, 1),
                                           "/cam01/camera_info": (reliability, 4)}, image_qos
                node.trigger_deactivate()
                node.trigger_cleanup()
            assert not node.has_parameter("qos_overrides./cam01/image_raw.subscription.depth")
            assert not node.has_parameter(
                "qos_overrides./cam01/camera_info.subscription.reliability")
        finally:
            node.destroy_node()


def test_qos_overrides_set_the_inputs_and_outputs_qos_and_unused_ones_are_named():
    """A review: qos_overrides.* were exempt from the unknown-parameter WARN while no
    subscription or publisher read them (no effect, no word). The inputs' and outputs' history,
    depth and reliability now take them (ROS 2's QoSOverridingOptions); one that no topic
    takes is named once at activation."""
    from rclpy.qos import ReliabilityPolicy as Reliability

    with ros_context() as context:
        node = unposed_camera_node(
            context, "qos_node",
            Parameter("qos_overrides./cam01/image_raw.subscription.reliability",
                      value="reliable"),
            Parameter("qos_overrides./skeletons.publisher.depth", value=3),
            Parameter("qos_overrides./cam01/image_rect.subscription.depth", value=3))
        with with_rosout(context, node) as (executor, probe, logs):
            assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, node.last_error
            assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
            images = node.get_subscriptions_info_by_topic("/cam01/image_raw")
            assert [i.qos_profile.reliability for i in images] == [Reliability.RELIABLE]
            assert node.get_parameter("qos_overrides./skeletons.publisher.depth").value == 3
            assert spin_until(executor, lambda: any(
                "ignored, no topic of this node takes them" in m.msg for m in logs), 5)
    [line] = [m for m in logs if "no topic of this node takes them" in m.msg]
    assert line.level == Log.WARN
    assert "qos_overrides./cam01/image_rect.subscription.depth" in line.msg
    assert "qos_overrides./skeletons.publisher.depth" not in line.msg.split(" (")[0]
