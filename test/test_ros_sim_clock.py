"""Simulated time going back (/clock of a looping replay, a simulator reset), over real DDS:
the fusion node restarts its synchroniser when its clock jumps back, before the frames of the
new pass arrive, so not one of them is dropped as a bad stamp."""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from pose3d_ros.msg import Skeleton2DArray, Skeleton3DArray
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_helpers import demo_first_frame_2d, ros_context, spin_until, with_rosout
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header

from pose3d_ros.core.calibration import load_rig
from pose3d_ros.ros.conversions import camera_model_to_info, detections_to_msg, seconds_to_stamp
from pose3d_ros.ros.nodes import FusionNode
from pose3d_ros.tools.fetch_demo import calibration_path

INFO = 20                       # rcl_interfaces/Log's level of an INFO line
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
CAMERAS = ("cam01", "cam02", "cam03")
SETS = 4


def _sim_time_fusion(context, *extra_parameters) -> FusionNode:
    """The fusion node on CAMERAS with the demo's rig, on simulated time."""
    return FusionNode(context=context, parameter_overrides=[
        Parameter("camera_names", value=list(CAMERAS)), Parameter("autostart", value=False),
        Parameter("rig_file", value=str(calibration_path("single"))),
        Parameter("use_sim_time", value=True), *extra_parameters])


@contextmanager
def _active_sim_time_fusion(context, *extra_parameters):
    """The fusion node of _sim_time_fusion configured and active beside a probe that
    publishes /clock and each camera's 2D and camera_info: yields (fusion, executor, probe,
    logs, skeleton publishers, camera_info publishers, tick), tick(s) setting /clock to s and
    waiting until the node's clock reads it (a fixed wait raced a loaded machine)."""
    fusion = _sim_time_fusion(context, *extra_parameters)
    with with_rosout(context, fusion) as (executor, probe, logs):
        clock = probe.create_publisher(Clock, "/clock", 10)
        skeletons = {n: probe.create_publisher(Skeleton2DArray, f"{n}/skeletons_2d", RELIABLE)
                     for n in CAMERAS}
        infos = {n: probe.create_publisher(CameraInfo, f"{n}/camera_info", RELIABLE)
                 for n in CAMERAS}
        assert fusion.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert fusion.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert spin_until(executor, lambda: all(
            p.get_subscription_count() for p in (*skeletons.values(), clock)), 10)

        def tick(seconds: float) -> None:
            clock.publish(Clock(clock=seconds_to_stamp(seconds)))
            assert spin_until(executor, lambda: abs(
                fusion.get_clock().now().nanoseconds - round(seconds * 1e9)) < 1000, 10)

        yield fusion, executor, probe, logs, skeletons, infos, tick


def stamps_of(messages) -> np.ndarray:
    """The header stamps (s) of messages."""
    return np.array([m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in messages])


def test_a_clock_jumping_back_restarts_the_synchroniser():
    rig = load_rig(calibration_path("single"))
    found = demo_first_frame_2d(CAMERAS)
    with ros_context() as context:
        with _active_sim_time_fusion(context, Parameter("sync.min_views", value=3)) as (
                fusion, executor, probe, logs, skeletons, infos, tick):
            outputs: list[Skeleton3DArray] = []
            probe.create_subscription(Skeleton3DArray, "skeletons", outputs.append, RELIABLE)
            assert spin_until(executor, lambda: fusion.skeletons_pub.get_subscription_count(), 10)

            def send_infos() -> None:
                for name in CAMERAS:
                    infos[name].publish(camera_model_to_info(rig[name]))

            tick(100.0)
            assert spin_until(executor, lambda: all(
                c.calibrated for c in fusion.health.cameras.values()), 10, tick=send_infos)

            def send_pass(start: float, sets: int = SETS) -> None:
                for k in range(sets):
                    stamp = start + k / 30
                    tick(stamp)
                    header = Header(stamp=seconds_to_stamp(stamp))
                    for name in CAMERAS:
                        skeletons[name].publish(detections_to_msg(found[name], header))
                    count = len(outputs)
                    assert spin_until(executor, lambda c=count: len(outputs) > c, 20)

            send_pass(100.0)
            # The replay starts over 1 s earlier: less than any "long jump back" threshold,
            # and not at the first stamp the node saw.
            tick(99.0)
            assert spin_until(executor, lambda: fusion.sync.time_resets == 1, 5)
            send_pass(99.05)
            drops = {name: dict(state.drops) for name, state in fusion.sync.state.items()}
            # a seek forward: the clock jumps 30 s with the stamps, as expected (a review
            # saw a WARN per camera: "stamp jumped forward ... (frame kept)")
            send_pass(129.05 + SETS / 30)
            # The replay loops again (a review's distributed rig): two cameras' first 2D of
            # the new pass comes before /clock goes back (their stamps restart the
            # synchroniser), each camera's 2D of the old pass's last instant after it (behind
            # a detector), then the third camera's first. The old frames were a WARN per
            # camera (stamp_future); the clock's second restart dropped the first set.
            first = Header(stamp=seconds_to_stamp(99.05))
            for name in CAMERAS[:2]:
                skeletons[name].publish(detections_to_msg(found[name], first))
            assert spin_until(executor, lambda: fusion.sync.time_resets == 2, 5)
            tick(99.0)
            old = Header(stamp=seconds_to_stamp(129.05 + 2 * SETS / 30))
            for name in CAMERAS:
                skeletons[name].publish(detections_to_msg(found[name], old))
            count = len(outputs)
            skeletons[CAMERAS[2]].publish(detections_to_msg(found[CAMERAS[2]], first))
            assert spin_until(executor, lambda: len(outputs) > count, 20)
            send_pass(99.05 + 1 / 30, SETS - 1)
            resets = fusion.sync.time_resets
            spin_until(executor, lambda: False, 0.3)        # /rosout's lines come in
            jumps = [(m.level, m.msg) for m in logs if "stamp jumped forward" in m.msg]
            old_pass = [(m.level, m.msg) for m in logs if "before_clock_jump" in m.msg or
                        "stamp_future" in m.msg]
            ignored = {n: fusion.health.cameras[n].rejected["before_clock_jump"]
                       for n in CAMERAS}
            counters = fusion._extra_diagnostics()      # what /diagnostics reports
    assert len(outputs) == 4 * SETS
    np.testing.assert_allclose(stamps_of(outputs[3 * SETS:]), 99.05 + np.arange(SETS) / 30,
                               atol=1e-6)
    assert ignored == dict.fromkeys(CAMERAS, 1), ignored
    assert resets == 2                  # the stamps' restart, not the clock's a second time
    # each restart is on /diagnostics, and the trackers' counters only grow: one person
    # (one track) per pass, 3 passes (a review: they went back to 0 at every restart)
    assert counters["restarts"] == "2" and counters["tracks_started"] == "3", counters
    assert len(old_pass) == len(CAMERAS) and all(level == INFO for level, _ in old_pass), \
        old_pass
    np.testing.assert_allclose(stamps_of(outputs[SETS:2 * SETS]), 99.05 + np.arange(SETS) / 30,
                               atol=1e-6)
    assert all("stamp_backwards" not in d and "late" not in d for d in drops.values()), drops
    assert len(jumps) == len(CAMERAS), jumps
    assert all(level == INFO and "this node's clock jumped with it" in msg
               for level, msg in jumps), jumps


def test_sim_time_without_clock_keeps_reporting_and_says_why(monkeypatch):
    """Found by an audit of a live camera: with use_sim_time true and no /clock the node
    published no /diagnostics at all (its timer ran on the simulated clock, which stood at 0)
    and nothing said why its outputs were stamped 0. The report now runs on the steady clock
    and its pipeline status, and one WARN line, name the missing /clock."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

    import pose3d_ros.ros.node_base as node_base
    monkeypatch.setattr(node_base, "SIM_CLOCK_WAIT_S", 0.5)
    with ros_context() as context:
        fusion = _sim_time_fusion(context, Parameter("diagnostics_period_s", value=0.2))
        with with_rosout(context, fusion) as (executor, probe, logs):
            reports: list[DiagnosticArray] = []
            probe.create_subscription(DiagnosticArray, "/diagnostics", reports.append, RELIABLE)
            assert fusion.trigger_configure() == TransitionCallbackReturn.SUCCESS
            assert fusion.trigger_activate() == TransitionCallbackReturn.SUCCESS

            def told() -> bool:
                # latency against a clock that reads 0 is no latency (a review: -100 s shown)
                return any(s.name == "pose3d_fusion: pipeline" and s.level == DiagnosticStatus.WARN
                           and "no /clock has come" in s.message and
                           {v.key: v.value for v in s.values}["latency_ms_median"] == "n/a"
                           for r in reports for s in r.status)

            assert spin_until(executor, told, 10), [s.message for r in reports for s in r.status]
            assert spin_until(executor, lambda: any("no /clock has come" in m.msg
                                                    for m in logs), 10)
            assert len([m for m in logs if "no /clock has come" in m.msg]) == 1


def _markers_of(sets: list) -> list:
    """The MarkerArray messages the sim-time fusion node (3 views a set) publishes for `sets`
    of (stamp s, camera -> Detections2D) sent one at a time, each answered before the next,
    the cameras calibrated first (the demo rig)."""
    from visualization_msgs.msg import MarkerArray

    from pose3d_ros.ros.rig_node import MARKERS_TOPIC

    rig = load_rig(calibration_path("single"))
    with ros_context() as context:
        with _active_sim_time_fusion(context, Parameter("sync.min_views", value=3)) as (
                fusion, executor, probe, logs, skeletons, infos, tick):
            markers: list[MarkerArray] = []
            probe.create_subscription(MarkerArray, MARKERS_TOPIC, markers.append, RELIABLE)
            assert spin_until(executor, lambda: fusion.markers_pub.get_subscription_count(), 10)
            tick(sets[0][0])
            assert spin_until(executor, lambda: all(
                c.calibrated for c in fusion.health.cameras.values()), 10,
                tick=lambda: [infos[n].publish(camera_model_to_info(rig[n])) for n in CAMERAS])
            for stamp, people in sets:
                tick(stamp)
                for name in CAMERAS:
                    skeletons[name].publish(detections_to_msg(
                        people[name], Header(stamp=seconds_to_stamp(stamp))))
                count = len(markers)
                assert spin_until(executor, lambda c=count: len(markers) > c, 20)
    return markers


def test_marker_lifetimes_follow_the_clock_rviz_expires_them_on():
    """rviz2 expires a marker on its ROS clock (simulated time with a replayed bag): the node
    measured the periods its markers' lifetimes are made of on the wall clock, so a bag played
    at rate 0.25 kept them 4x too long, and at a high rate they would blink out. Sets 1.6 s of
    simulated time apart, published within a fraction of that in wall time: the lifetime is
    3 periods of the node's clock (4.8 s), not the 0.5 s floor."""
    from pose3d_ros.ros.visualization import MARKER_PERIODS

    found = demo_first_frame_2d(CAMERAS)
    period_s = 1.6
    markers = _markers_of([(200.0 + k * period_s, found) for k in range(3)])
    lifetimes = [[m.lifetime.sec + m.lifetime.nanosec * 1e-9 for m in array.markers
                  if m.action == m.ADD] for array in markers]
    assert all(lifetimes), lifetimes
    for later in lifetimes[1:]:
        np.testing.assert_allclose(later, MARKER_PERIODS * period_s, atol=1e-6)


def test_the_markers_of_people_who_left_are_deleted_by_the_next_output():
    """A robot among many people: whoever leaves must leave rviz at the node's next output,
    not stay until their markers expire (up to 5 s) and not pile up under ids that never come
    back. Sets with the demo person, then sets in which every camera sees nobody: each output
    starts with a DELETEALL, and once the person is gone it is the only marker."""
    from visualization_msgs.msg import Marker

    from pose3d_ros.core.types import Detections2D

    found = demo_first_frame_2d(CAMERAS)
    nobody = {n: Detections2D.empty(found[n].layout, found[n].image_size) for n in CAMERAS}
    markers = _markers_of([(300.0 + k / 30, people)
                           for k, people in enumerate([found] * 3 + [nobody] * 2)])
    assert all(array.markers[0].action == Marker.DELETEALL for array in markers)
    shown = [{m.id for m in array.markers if m.action == Marker.ADD} for array in markers]
    assert shown[:3] == [{1}] * 3, shown            # the person, under their id
    assert [len(array.markers) for array in markers[3:]] == [1, 1], shown   # gone: cleared
