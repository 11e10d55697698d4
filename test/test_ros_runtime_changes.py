"""What a user's `ros2 param set` and a lifecycle manager's `change_state` do to a running node,
through the nodes' real services over DDS (found by an audit that called them as the ros2 CLI
and lifecycle managers do): an invalid transition id is answered, not fatal; an accepted
change says when it takes effect and what the next configure will refuse; a topic name that
is not one is told at configure; a failing activate leaves the node inactive and says why."""
from __future__ import annotations

import pytest
from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.msg import Log, ParameterType, ParameterValue
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.srv import DescribeParameters, SetParameters
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rigs import in_camera_frame
from ros_helpers import (
    configure_and_activate,
    refused_at_configure,
    ros_context,
    spin_until,
    unposed_camera_node,
    wind_down,
    with_rosout,
)

from pose3d_ros.core.data_paths import calibration_path


def _fusion_with_a_slow_set(context, name: str, namespace: str | None = None,
                            wait_s: float = 10.0, events: list | None = None):
    """A fusion node of the single demo's cam01 / cam02 whose set processing waits on an event
    (up to wait_s) and then publishes the set's empty answer: (node, started, finish), the
    events set when a set starts and to let it end; events: a list that gets 'set ends'."""
    import threading

    from pose3d_ros.ros.nodes import FusionNode

    extra = {} if namespace is None else {"namespace": namespace}
    node = FusionNode(name, context=context, **extra, parameter_overrides=[
        Parameter("camera_names", value=["cam01", "cam02"]),
        Parameter("rig_file", value=str(calibration_path("single"))),
        Parameter("autostart", value=False)])
    started, finish = threading.Event(), threading.Event()

    def slow_set(frame_set) -> None:           # a set that takes as long as the test says
        started.set()
        finish.wait(wait_s)
        if events is not None:
            events.append("set ends")
        node._answer_failed_set(frame_set)     # its answer, published if it can be

    node._process = slow_set
    return node, started, finish


def _answers(probe, topic: str) -> list:
    """A list that receives the Skeleton3DArray messages on topic (reliable, depth 10)."""
    from pose3d_ros.msg import Skeleton3DArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    answers: list = []
    probe.create_subscription(Skeleton3DArray, topic, answers.append,
                              QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    return answers


def _offer_set(node, stamp: float) -> None:
    """Both cameras' frames of one set at stamp (s), offered as the subscriptions would."""
    from std_msgs.msg import Header

    from pose3d_ros.ros.conversions import seconds_to_stamp

    for camera in ("cam01", "cam02"):
        node.offer(camera, stamp, (None, Header(stamp=seconds_to_stamp(stamp))))


def _call(executor, client, request, timeout_s: float = 10.0):
    assert client.wait_for_service(timeout_sec=10.0)
    future = client.call_async(request)
    assert spin_until(executor, future.done, timeout_s), "no answer"
    return future.result()


def _double(name: str, value: float) -> ParameterMsg:
    return ParameterMsg(name=name, value=ParameterValue(type=ParameterType.PARAMETER_DOUBLE,
                                                        double_value=value))


def _integer(name: str, value: int) -> ParameterMsg:
    return ParameterMsg(name=name, value=ParameterValue(type=ParameterType.PARAMETER_INTEGER,
                                                        integer_value=value))


def _bool(name: str, value: bool) -> ParameterMsg:
    return ParameterMsg(name=name, value=ParameterValue(type=ParameterType.PARAMETER_BOOL,
                                                        bool_value=value))


def test_services_answer_invalid_transitions_and_tell_when_changes_take_effect():
    from pose3d_ros.ros.nodes import Pose3DNode

    with ros_context() as context:
        node = Pose3DNode("pose3d_runtime", context=context, parameter_overrides=[
            Parameter("camera_names", value=["cam01", "cam02"]),
            Parameter("rig_file", value=str(calibration_path("single"))),
            Parameter("autostart", value=False)])
        with with_rosout(context, node) as (executor, probe, logs):
            change = probe.create_client(ChangeState, "/pose3d_runtime/change_state")
            state = probe.create_client(GetState, "/pose3d_runtime/get_state")
            set_parameters = probe.create_client(SetParameters, "/pose3d_runtime/set_parameters")
            describe = probe.create_client(DescribeParameters,
                                           "/pose3d_runtime/describe_parameters")
            configure_and_activate(node)
            # configure (id 1) sent by id to an active node: answered false, the node lives on
            answer = _call(executor, change, ChangeState.Request(
                transition=Transition(id=Transition.TRANSITION_CONFIGURE)))
            assert answer.success is False
            assert _call(executor, state, GetState.Request()).current_state.id == \
                State.PRIMARY_STATE_ACTIVE
            assert spin_until(executor, lambda: any(
                "transition id 1 is not valid in state 'active'" in m.msg for m in logs), 10)
            # a valid change while active: accepted, and the node's log says when it takes
            # effect (rclpy 7.1 drops the reason of an accepted change, so the CLI cannot)
            result = _call(executor, set_parameters, SetParameters.Request(
                parameters=[_double("diagnostics_period_s", 0.2)])).results[0]
            assert result.successful
            assert spin_until(executor, lambda: any(
                m.level == Log.INFO and "diagnostics_period_s takes effect at the next "
                "configure" in m.msg for m in logs), 10)
            # one that breaks a rule between parameters: accepted (changes come one at a
            # time), a WARN says what the next configure will refuse
            result = _call(executor, set_parameters, SetParameters.Request(
                parameters=[_integer("sync.min_views", 5)])).results[0]
            assert result.successful
            assert spin_until(executor, lambda: any(
                m.level == Log.WARN and "will refuse" in m.msg
                and "exceeds the 2 camera(s)" in m.msg for m in logs), 10)
            # an integer for a double parameter (what `ros2 param set ... 1` sends): taken
            assert _call(executor, set_parameters, SetParameters.Request(
                parameters=[_integer("sync.slop_s", 1)])).results[0].successful
            assert node.get_parameter("sync.slop_s").value == 1.0
            # and a whole double for an integer one (rclpy's refusal named no parameter)
            assert _call(executor, set_parameters, SetParameters.Request(
                parameters=[_double("sync.min_views", 4.0)])).results[0].successful
            assert node.get_parameter("sync.min_views").value == 4
            assert not _call(executor, set_parameters, SetParameters.Request(
                parameters=[_double("sync.min_views", 2.5)])).results[0].successful
            # out of range: refused, the old value kept; autostart is read at start-up only
            result = _call(executor, set_parameters, SetParameters.Request(
                parameters=[_double("sync.slop_s", 3.0)])).results[0]
            assert not result.successful and "sync.slop_s out of range" in result.reason
            assert not _call(executor, set_parameters, SetParameters.Request(
                parameters=[_bool("autostart", True)])).results[0].successful
            # the refused interval of the body height is part of its description
            described = _call(executor, describe, DescribeParameters.Request(
                names=["monocular_body_height_m"])).descriptors[0]
            assert "not in (0.0, 0.5)" in described.additional_constraints
            # by label, as ros2 lifecycle set sends it: the transitions work
            for label in ("deactivate", "cleanup"):
                assert _call(executor, change, ChangeState.Request(
                    transition=Transition(label=label))).success
            # the rule broken above: the configure refuses, the node stays unconfigured
            assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
            assert "exceeds the 2 camera(s)" in node.last_error


def test_a_topic_name_that_is_not_one_is_told_at_configure():
    """The all-in-one node builds <camera>/<image_topic>, the fusion node
    <camera>/<skeletons_2d_topic>, the detector <image_topic> in its namespace: each is
    checked at configure, expanded as rcl expands it (a review: '/image_raw' made
    'cam01//image_raw', which rclpy's check passed and activate refused; the detector's and
    the fusion node's topics were not checked at all, so the node went active-failed and an
    autostarted process spun on doing nothing). Also refused there: triangulation.min_views
    above the number of cameras (nobody was ever triangulated) and an empty camera_names
    (rclpy's "not initialized")."""
    from pose3d_ros.ros.nodes import DetectorNode, FusionNode

    with ros_context() as context:
        for value, topic in (("image raw", "cam01/image raw"), ("/image_raw",
                                                               "cam01//image_raw")):
            node = unposed_camera_node(context, "pose3d_topics",
                                       Parameter("image_topic", value=value))
            try:
                refused_at_configure(
                    node, f"'image_topic' gives the topic {topic!r}, not a valid ROS topic")
            finally:
                node.destroy_node()
        for parameter, value, message in (
                ("skeletons_2d_topic", "", "'skeletons_2d_topic' gives the topic 'a/', not"),

                ("triangulation.min_views", 3, "'triangulation.min_views' = 3 exceeds the 2 "
                                               "cameras"),
                ("camera_names", "[]", "'camera_names' = [] must list at least one")):
            given = ([Parameter(parameter, value=value)] if parameter != "camera_names"
                     else [])              # as a YAML file or the command line gives []
            fusion = FusionNode("pose3d_fusion_topics", context=context, parameter_overrides=[
                Parameter("autostart", value=False), Parameter("extrinsics_source", value="tf"),
                *given] + ([Parameter("camera_names", value=["a", "b"])] if given else []),
                cli_args=[] if given else ["--ros-args", "-p", "camera_names:=[]"])
            try:
                refused_at_configure(fusion, message)
            finally:
                fusion.destroy_node()
        # a rig file that is not there, named as the others are (a review: "...: calibration
        # file not found" alone)
        fusion = FusionNode("pose3d_fusion_no_rig", context=context, parameter_overrides=[
            Parameter("autostart", value=False), Parameter("camera_names", value=["a", "b"]),
            Parameter("rig_file", value="/nowhere/rig.yaml")])
        try:
            refused_at_configure(fusion, "rig_file: /nowhere/rig.yaml: calibration file not "
                                         "found")
        finally:
            fusion.destroy_node()
        detector = DetectorNode("pose3d_detector_topics", namespace="cam01", context=context,
                                parameter_overrides=[Parameter("autostart", value=False),
                                                     Parameter("image_topic", value="image raw")])
        try:
            refused_at_configure(detector, "'image_topic' gives the topic 'image raw', not a "
                                           "valid ROS topic name")
            # put right, it activates
            detector.set_parameters([Parameter("image_topic", value="image_raw")])
            assert detector.trigger_configure() == TransitionCallbackReturn.SUCCESS
            assert detector.trigger_activate() == TransitionCallbackReturn.SUCCESS
            assert len(detector.get_publishers_info_by_topic("/cam01/skeletons_2d")) == 1
        finally:
            wind_down(detector)
            detector.destroy_node()


def test_a_set_that_outlives_deactivate_holds_activate_and_cleanup_until_it_ends(monkeypatch):
    """Found by a review driving the lifecycle from outside: a set still processed after
    deactivate's wait (a first TensorRT build, an overloaded board) kept running beside the
    next activation's thread and published its stale answer through the re-enabled
    publisher, or met the models cleanup had closed. activate and cleanup now wait for it,
    and are refused (the node stays inactive) while it runs."""


    from pose3d_ros.ros import node_base

    monkeypatch.setattr(node_base, "WORKER_STOP_WAIT_S", 0.3)
    with ros_context() as context:
        node, started, finish = _fusion_with_a_slow_set(context, "fusion_late_set",
                                                        "/late_set")
        with with_rosout(context, node) as (executor, probe, logs):
            answers = _answers(probe, "/late_set/skeletons")
            configure_and_activate(node)
            _offer_set(node, 100.0)
            assert started.wait(5.0)
            try:
                assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
                assert node.trigger_activate() == TransitionCallbackReturn.FAILURE
                assert node.trigger_cleanup() == TransitionCallbackReturn.FAILURE
                assert spin_until(executor, lambda: any(
                    "activate refused: the processing thread of the last activation" in m.msg
                    for m in logs), 10)
            finally:
                finish.set()
            assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
            spin_until(executor, lambda: bool(answers), 1.0)
            assert answers == []                   # the stale set's answer never went out
            wind_down(node)


@pytest.mark.parametrize("end", ["shutdown", "destroy_node"])
def test_shutdown_and_destroy_leave_the_models_to_a_set_still_being_processed(monkeypatch, end):
    """A review: shutdown (after a second wait) and destroy_node closed the models while a set
    that outlived the stop's wait (a first TensorRT build, an overloaded board) still ran in
    them: it met a closed detector. activate and cleanup wait for such a set; these two now
    leave the models to it, and it closes them when it ends, without an error line."""


    from pose3d_ros.ros import node_base

    monkeypatch.setattr(node_base, "WORKER_STOP_WAIT_S", 0.2)
    events: list[str] = []
    with ros_context() as context:
        node, started, finish = _fusion_with_a_slow_set(context, f"fusion_late_{end}",
                                                        events=events)
        node._close_models = lambda: events.append("models closed")
        configure_and_activate(node)
        worker = node._worker
        _offer_set(node, 100.0)                  # (its late answer is not an error)
        assert started.wait(5.0)
        try:
            if end == "shutdown":
                assert node.trigger_shutdown() == TransitionCallbackReturn.SUCCESS
            else:
                node.destroy_node()
            assert events == []                   # not under the running set
        finally:
            finish.set()
        worker.join(5.0)
        assert events == ["set ends", "models closed"], events
        assert "pipeline" not in node.health.cameras or not dict(
            node.health.cameras["pipeline"].rejected), node.health.cameras["pipeline"].rejected
        if end == "shutdown":
            node.destroy_node()


def test_sets_buffered_at_deactivate_are_not_published_after_the_next_activate():
    """A review of the nodes' threads: sets finished or still open in the synchroniser when
    the node was deactivated were kept, and the next activate published one with its old
    stamp though no new input had come. They are dropped now, counted as 'deactivated'."""
    import time


    with ros_context() as context:
        node, started, finish = _fusion_with_a_slow_set(context, "fusion_kept_sets",
                                                        "/kept_sets", wait_s=0.6)
        with with_rosout(context, node) as (executor, probe, logs):
            answers = _answers(probe, "/kept_sets/skeletons")
            configure_and_activate(node)
            _offer_set(node, 100.0)
            assert started.wait(5.0)            # the first set is being processed ...
            _offer_set(node, 100.0 + 1 / 30)    # ... while the next one waits, finished
            assert node.sync.pending() == 1
            assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
            assert node.sync.pending() == 0
            assert node.sync.set_drops["deactivated"] >= 1, node.sync.set_drops
            spin_until(executor, lambda: False, 0.5)
            before = len(answers)
            assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
            activated = time.monotonic()
            spin_until(executor, lambda: False, 1.0)       # no new input
            assert len(answers) == before, (before, len(answers), activated)
            wind_down(node)


def test_only_changes_of_the_nodes_own_parameters_are_told_to_wait_for_a_configure():
    """A review driving the parameters from outside: use_sim_time (applied by rclpy at once)
    was told to take effect at the next configure, a `ros2 param load` of the node's own
    dump logged a line per parameter (53) though nothing changed, and after cleanup a change
    was still told to wait for "deactivate, cleanup, configure"."""
    from diagnostic_msgs.msg import DiagnosticArray
    from rcl_interfaces.msg import Log

    from pose3d_ros.ros.nodes import FusionNode

    with ros_context() as context:
        node = FusionNode("fusion_param_tells", context=context, parameter_overrides=[
            Parameter("camera_names", value=["cam01", "cam02"]),
            Parameter("rig_file", value=str(calibration_path("single"))),
            Parameter("autostart", value=False)])
        with with_rosout(context, node) as (executor, probe, logs):
            configure_and_activate(node)

            def told(name: str) -> list:
                return [m for m in logs if m.name == "fusion_param_tells"
                        and "parameter change" in m.msg and name in m.msg]

            period = node.get_parameter("diagnostics_period_s").value
            node.set_parameters([Parameter("diagnostics_period_s", value=period),   # the same
                                 Parameter("use_sim_time", value=True)])
            node.set_parameters([Parameter("use_sim_time", value=False)])
            node.set_parameters([Parameter("sync.slop_s", value=0.02)])           # a change
            assert spin_until(executor, lambda: bool(told("sync.slop_s")), 10)
            assert told("diagnostics_period_s") == [] and told("use_sim_time") == []
            assert Log.INFO == told("sync.slop_s")[0].level
            # and on /diagnostics, where rqt's users look (its value is not in force yet)
            reports: list = []
            probe.create_subscription(DiagnosticArray, "/diagnostics", reports.append, 10)

            def pending() -> set[str]:
                return {kv.value for report in reports for status in report.status
                        if status.name == "fusion_param_tells: pipeline"
                        for kv in status.values
                        if kv.key == "parameters_changed_since_configure"}

            assert spin_until(executor, lambda: pending() == {"sync.slop_s"}, 10), pending()
            # set back to the configured value, it waits for nothing (a review: still listed)
            configured = node.config.sync.slop_s
            node.set_parameters([Parameter("sync.slop_s", value=configured)])
            assert spin_until(executor, lambda: any(
                "back to the value the node was configured with" in m.msg
                for m in told("sync.slop_s")), 10)
            reports.clear()
            assert spin_until(executor, lambda: bool(reports) and pending() == {""}, 10), \
                pending()
            assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
            assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
            node.set_parameters([Parameter("sync.slop_s", value=0.03)])   # read at configure
            spin_until(executor, lambda: len(told("sync.slop_s")) > 2, 1.0)
            assert len(told("sync.slop_s")) == 2                 # the two above, nothing new


def test_a_failed_configure_is_reported_on_diagnostics():
    """Found by a review: a configure that failed left nothing on /diagnostics (the node's
    lifecycle publishers are silent while it is not active), so a monitor saw a silent node.
    One ERROR status now says why, and a later configure that works reports as before."""
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.lifecycle import TransitionCallbackReturn

    from pose3d_ros.ros.nodes import FusionNode

    with ros_context() as context:
        node = FusionNode("fusion_configure_fails", context=context, parameter_overrides=[
            Parameter("autostart", value=False), Parameter("camera_names", value=["a", "b"]),
            Parameter("rig_file", value="/nowhere/rig.yaml")])
        with with_rosout(context, node) as (executor, probe, logs):
            reports: list = []
            probe.create_subscription(DiagnosticArray, "/diagnostics", reports.append, 10)
            assert spin_until(executor, lambda: probe.count_publishers("/diagnostics") > 0
                              and node.count_subscribers("/diagnostics") > 0, 10)
            spin_until(executor, lambda: False, 0.3)        # both ends matched
            assert node.trigger_configure() == TransitionCallbackReturn.FAILURE

            def failed() -> list:
                return [s for r in reports for s in r.status
                        if s.name == "fusion_configure_fails: pipeline"
                        and s.level == b"\x02" and s.message.startswith("configure failed: ")]

            assert spin_until(executor, lambda: bool(failed()), 10), reports
            assert "/nowhere/rig.yaml" in failed()[0].message
            node.set_parameters([Parameter("rig_file", value=str(calibration_path("single"))),
                                 Parameter("camera_names", value=["cam01", "cam02"])])
            configure_and_activate(node)
            wind_down(node)


def test_a_wrong_rig_file_is_told_before_any_model_is_loaded(tmp_path, monkeypatch):
    """The all-in-one node loaded its 2D back-end (seconds on a robot's CPU) and only then
    read the rig file: a rig lacking a camera was told after the model load. It is read
    first now; no detector is made for a configure the rig file refuses."""
    from pose3d_ros.core.calibration import load_rig, save_rig_yaml
    from pose3d_ros.core.camera import Rig
    from pose3d_ros.ros import node_base
    from pose3d_ros.ros.nodes import Pose3DNode

    made = []
    real = node_base.create_detectors    # what the nodes' _create_detectors calls
    monkeypatch.setattr(node_base, "create_detectors",
                        lambda *args, **kwargs: made.append(args) or real(*args, **kwargs))
    one = tmp_path / "one_camera_rig.yaml"
    save_rig_yaml(Rig("rig", load_rig(calibration_path("single")).cameras[:1]), one)
    with ros_context() as context:
        node = Pose3DNode(context=context, parameter_overrides=[
            Parameter("camera_names", value=["cam01", "cam02"]),
            Parameter("autostart", value=False), Parameter("rig_file", value=str(one))])
        try:
            refused_at_configure(node, "has no camera ['cam02']")
            assert made == []
        finally:
            node.destroy_node()


def test_floor_contact_in_a_self_calibrated_rigs_frame_is_refused_at_configure(tmp_path):
    """monocular_floor with a rig file in a camera's optical frame (what the calibrate tool
    writes): no floor is level there, and its scales were taken without a word (session 59).
    Refused at configure, naming the file (a rig in a floor frame passes:
    test_config_rules.py)."""
    from pose3d_ros.core.calibration import load_rig, save_rig_yaml
    from pose3d_ros.core.camera import Rig
    from pose3d_ros.ros.nodes import Pose3DNode

    cameras = load_rig(calibration_path("single")).cameras[:2]
    reference = cameras[0]
    optical = tmp_path / "self_calibrated.yaml"
    save_rig_yaml(Rig("rig", in_camera_frame(cameras, reference)), optical)
    with ros_context() as context:
        node = Pose3DNode(context=context, parameter_overrides=[
            Parameter("camera_names", value=["cam01", "cam02"]),
            Parameter("autostart", value=False), Parameter("monocular_floor", value=True),
            Parameter("rig_file", value=str(optical))])
        try:
            refused_at_configure(node, "monocular_floor needs a frame whose z points up with "
                                 f"the floor in it, and the frame of '{optical}' ('rig') is a "
                                 "camera's optical frame")
        finally:
            node.destroy_node()


def test_ctrl_c_while_the_node_configures_at_start_is_a_quiet_stop(capfd):
    """Found by a review pressing Ctrl-C while `ros2 run` loaded the models (1-2 s here, minutes
    for a first TensorRT build): rclpy's signal handler shut the context down under configure,
    whose next publisher failed, and the node said 'configure failed: RCLError ... context is
    invalid' at ERROR for the stop that was asked for (1 of 1 over DDS with the real executable,
    Ctrl-C 1.5 s after its start). The executable's own path: run_node, the context shut down
    inside configure as the handler does."""
    import signal

    import rclpy

    from pose3d_ros.ros.nodes import FusionNode, run_node

    class StoppedWhileConfiguring(FusionNode):
        def _configure(self, config) -> None:
            rclpy.shutdown(context=self.context)      # what rclpy's SIGINT handler does
            super()._configure(config)

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        status = run_node(StoppedWhileConfiguring, [
            "pose3d_fusion", "--ros-args", "-p", "camera_names:=[cam01,cam02]",
            "-p", f"rig_file:={calibration_path('single')}"])
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    output = capfd.readouterr().err
    assert status == 0, output
    assert "[ERROR]" not in output and "configure failed" not in output, output


def test_ctrl_c_during_a_set_longer_than_the_stop_wait_is_no_error(monkeypatch, capfd):
    """Found by a review: Ctrl-C while a set outlived the stop's wait (a first TensorRT build)
    logged an ERROR that activate and cleanup would wait for it, at a stop that was asked for
    (over DDS with the real executable and the wait shortened: 1 of 3 Ctrl-C). The context is
    shut down as rclpy's handler does; the stop then says it at INFO."""
    import threading

    import rclpy
    from rclpy.context import Context
    from std_msgs.msg import Header

    from pose3d_ros.ros import node_base
    from pose3d_ros.ros.conversions import seconds_to_stamp
    from pose3d_ros.ros.nodes import FusionNode

    monkeypatch.setattr(node_base, "WORKER_STOP_WAIT_S", 0.2)
    context = Context()
    rclpy.init(context=context)
    node = FusionNode("fusion_ctrl_c_set", context=context, parameter_overrides=[
        Parameter("camera_names", value=["cam01", "cam02"]),
        Parameter("rig_file", value=str(calibration_path("single"))),
        Parameter("autostart", value=False)])
    started, finish = threading.Event(), threading.Event()

    def slow_set(frame_set) -> None:
        started.set()
        finish.wait(10.0)
        node._answer_failed_set(frame_set)        # fails: the context is gone

    node._process = slow_set
    try:
        configure_and_activate(node)
        for camera in ("cam01", "cam02"):
            node.offer(camera, 100.0, (None, Header(stamp=seconds_to_stamp(100.0))))
        assert started.wait(5.0)
        capfd.readouterr()
        rclpy.shutdown(context=context)           # Ctrl-C: rclpy's signal handler
        node._stop()                               # run_node's release
        late = node._late_worker
        output = capfd.readouterr().err
    finally:
        finish.set()
        node.destroy_node()
        if context.ok():
            rclpy.shutdown(context=context)
    assert late is not None
    late.join(5.0)
    assert not late.is_alive()
    assert "[ERROR]" not in output and "stopping with a frame set" in output, output
