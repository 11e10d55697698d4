"""Camera extrinsics from TF over real DDS (extrinsics_source 'tf', without tf2_ros): the
fusion node takes each camera's pose from the latched /tf_static, reports cameras whose
transform is missing, and gives the 3D the rig file gives. Plus the static transform tree."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from pose3d_ros.msg import Skeleton2DArray, Skeleton3DArray
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_helpers import configure_and_activate, executor_with, ros_context, spin_until
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from pose3d_ros.core.calibration import load_rig
from pose3d_ros.core.camera import Rig
from pose3d_ros.core.layouts import BLAZEPOSE33
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline
from pose3d_ros.core.static_tf import StaticTransform, TransformTree
from pose3d_ros.core.types import Detections2D
from pose3d_ros.ros.conversions import (
    RCLPY,
    camera_model_to_info,
    detections_to_msg,
    seconds_to_stamp,
    skeletons3d_from_msg,
)
from pose3d_ros.ros.nodes import FusionNode
from pose3d_ros.ros.tf import rig_transforms
from pose3d_ros.tools.demo_2d import load_demo_2d
from pose3d_ros.tools.fetch_demo import calibration_path

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
FRAMES = 3


def _quat_z(angle: float) -> np.ndarray:
    return np.array([0.0, 0.0, np.sin(angle / 2), np.cos(angle / 2)])


def test_tree_chains_and_inverts_transforms():
    # world -> base (1 m along x, turned 90 deg about z) -> camera (0.5 m up)
    tree = TransformTree([
        StaticTransform("world", "base", np.array([1.0, 0, 0]), _quat_z(np.pi / 2)),
        StaticTransform("base", "camera", np.array([0, 0, 0.5]), _quat_z(0.0))])
    R, t = tree.lookup("world", "camera")              # p_world = R p_camera + t
    np.testing.assert_allclose(R @ [1.0, 0, 0] + t, [1.0, 1.0, 0.5], atol=1e-12)
    R_inv, t_inv = tree.lookup("camera", "world")
    np.testing.assert_allclose(R_inv @ (R @ [0.3, -0.2, 2.0] + t) + t_inv, [0.3, -0.2, 2.0],
                               atol=1e-12)
    with pytest.raises(LookupError, match="'elsewhere' is not in"):
        tree.lookup("elsewhere", "camera")
    tree.add([StaticTransform("map", "odom", np.zeros(3), _quat_z(0.0))])
    with pytest.raises(LookupError, match="not connected"):
        tree.lookup("odom", "camera")
    with pytest.raises(ValueError, match="NaN"):
        tree.add([StaticTransform("a", "b", np.array([np.nan, 0, 0]), _quat_z(0.0))])


def test_tree_interpolates_tf_at_a_stamp_and_refuses_to_extrapolate():
    """/tf samples of a robot driving 1 m/s along x and turning 90 deg/s in odom, a camera
    fixed on it: a lookup between two samples is their interpolation (linear along, turned
    about z in between), outside them ExtrapolationError (as tf2), None the newest."""
    from pose3d_ros.core.static_tf import ExtrapolationError

    tree = TransformTree([StaticTransform("base", "camera", np.array([0, 0, 0.5]),
                                          _quat_z(0.0))])
    stamps = [10.0, 11.0, 12.0]
    tree.add_timed([StaticTransform("odom", "base", np.array([s - 10.0, 0, 0]),
                                    _quat_z(np.pi / 2 * (s - 10.0))) for s in stamps], stamps)
    assert not tree.is_static("camera", "odom") and tree.is_static("camera", "base")
    R, t = tree.lookup("odom", "camera", 10.5)          # p_odom = R p_camera + t
    np.testing.assert_allclose(t, [0.5, 0, 0.5], atol=1e-12)
    np.testing.assert_allclose(R @ [1.0, 0, 0], [np.cos(np.pi / 4), np.sin(np.pi / 4), 0],
                               atol=1e-12)
    R, t = tree.lookup("odom", "camera")                # the newest: 2 m along, turned 180
    np.testing.assert_allclose(R @ [1.0, 0, 0] + t, [1.0, 0, 0.5], atol=1e-12)
    np.testing.assert_allclose(tree.lookup("odom", "camera", 11.0)[1], [1.0, 0, 0.5])
    for late in (12.5, 9.5):
        with pytest.raises(ExtrapolationError, match=rf"'odom' -> 'base' at {late:.3f} s: /tf "
                                                      r"holds it for 10\.000\.\.12\.000 s"):
            tree.lookup("camera", "odom", late)
    # a sample out of order takes its place in time; the history keeps history_s (10 s)
    tree.add_timed([StaticTransform("odom", "base", np.array([7.0, 0, 0]), _quat_z(0.0))],
                   [11.5])
    np.testing.assert_allclose(tree.lookup("odom", "base", 11.25)[1], [4.0, 0, 0])
    tree.add_timed([StaticTransform("odom", "base", np.zeros(3), _quat_z(0.0))], [21.2])
    with pytest.raises(ExtrapolationError, match=r"11\.500\.\.21\.200 s"):
        tree.lookup("odom", "base", 10.5)
    # the interpolated rotation is scipy's Slerp (the tree's own, on plain floats)
    from scipy.spatial.transform import Rotation, Slerp

    from pose3d_ros.core.static_tf import quaternion_matrix, slerp
    rng = np.random.default_rng(2)
    for _ in range(100):
        a, b = Rotation.random(2, random_state=int(rng.integers(1 << 30))).as_quat()
        b = b if rng.uniform() < 0.5 else -b                       # either sign of one turn
        weight = float(rng.uniform())
        expected = Slerp([0, 1], Rotation.from_quat([a, b]))([weight]).as_matrix()[0]
        np.testing.assert_allclose(quaternion_matrix(slerp(tuple(a), tuple(b), weight)),
                                   expected, atol=1e-9)
    # time going back more than the history (a replay looped): the child starts again
    tree.add_timed([StaticTransform("odom", "base", np.array([3.0, 0, 0]), _quat_z(0.0))],
                   [5.0])
    np.testing.assert_allclose(tree.lookup("odom", "base", 5.0)[1], [3.0, 0, 0])
    # through the nearest common ancestor, as tf2: base -> camera is static whatever odom
    # does (a review: a walk to the root asked /tf for odom at every stamp)
    assert tree.is_static("camera", "base")
    np.testing.assert_allclose(tree.lookup("base", "camera", 99.0)[1], [0, 0, 0.5])
    # a child not heard of for history_s is dropped; a transform to itself is ignored (tf2:
    # TF_SELF_TRANSFORM), a NaN one refused by name, the others of the message kept
    with pytest.raises(ValueError, match="'odom' -> 'lidar' holds NaN"):
        tree.add_timed([StaticTransform("odom", "odom", np.zeros(3), _quat_z(0.0)),
                        StaticTransform("odom", "lidar", np.array([np.nan, 0, 0]),
                                        _quat_z(0.0)),
                        StaticTransform("odom", "arm", np.zeros(3), _quat_z(0.0)),
                        StaticTransform("map", "odom", np.zeros(3), _quat_z(0.0))], [5.5] * 4)
    assert "arm" in tree.frames and "lidar" not in tree.frames and tree.lookup("map", "base")
    tree.add_timed([StaticTransform("map", "odom", np.zeros(3), _quat_z(0.0))], [17.0])
    assert "arm" not in tree.frames                # and odom -> base, 12 s old:
    with pytest.raises(LookupError, match="not connected"):
        tree.lookup("odom", "camera")
    # the same child static again: no history, any stamp
    tree.add([StaticTransform("odom", "base", np.zeros(3), _quat_z(0.0))])
    assert tree.is_static("camera", "odom")
    np.testing.assert_allclose(tree.lookup("odom", "camera", 99.0)[1], [0, 0, 0.5])
    # a cycle is a lookup error (a review: it ended the node's processing thread)
    tree.add([StaticTransform("camera", "odom", np.zeros(3), _quat_z(0.0))])
    with pytest.raises(LookupError, match="cycle"):
        tree.lookup("odom", "camera", 1.0)


def _renamed_rig_and_2d(prefix: str, cameras: int | None = None
                        ) -> tuple[Rig, list[dict[str, Detections2D]]]:
    """The single demo's rig (its first `cameras`) with frame names of the test's own
    (/tf_static is global and latched: nodes of other tests in the same DDS domain may still
    hold the demo rig's transforms there), and its first FRAMES frames of one person's 2D."""
    rig = load_rig(calibration_path("single"))
    rig = Rig(f"{prefix}_rig", [dataclasses.replace(c, frame_id=f"{prefix}_{c.frame_id}")
                                for c in rig.cameras[:cameras]])
    demo = load_demo_2d("single", frames=FRAMES)
    found = [{name: Detections2D(
        demo.keypoints[k, v, :1], demo.scores[k, v, :1], np.zeros((1, 4), np.float32),
        np.ones(1, np.float32), BLAZEPOSE33, tuple(int(x) for x in demo.image_sizes[v]))
        for v, name in enumerate(rig.names)} for k in range(FRAMES)]
    return rig, found


def _tf_fusion(context, name: str, namespace: str, rig: Rig, fixed_frame: str, **extra):
    """A fusion node of `rig`'s cameras taking their poses from TF (tracking and filtering
    off: its 3D compares with the offline core's), a probe node, their executor, and the
    probe's camera_info and skeletons_2d publishers per camera."""
    fusion = FusionNode(name, context=context, namespace=namespace, parameter_overrides=[
        Parameter(k, value=v) for k, v in {
            "camera_names": rig.names, "autostart": False, "extrinsics_source": "tf",
            "rig_file": "", "fixed_frame": fixed_frame, "sync.min_views": 2,
            "sync.timeout_s": 1.5, "tracking.enabled": False, "filter.enabled": False,
            **extra}.items()])
    probe = Node(f"{name}_probe", context=context, namespace=namespace)
    executor = executor_with(context, fusion, probe)
    configure_and_activate(fusion)
    infos = {c: probe.create_publisher(CameraInfo, f"{c}/camera_info", RELIABLE)
             for c in rig.names}
    skeletons = {c: probe.create_publisher(Skeleton2DArray, f"{c}/skeletons_2d", RELIABLE)
                 for c in rig.names}
    return fusion, probe, executor, infos, skeletons


def _send_sets(executor, fusion, skeletons, rig: Rig, found, stamps, outputs: list) -> None:
    """Each set's 2D (found[k], at stamps[k]) to the fusion node, waiting for its answer."""
    for k, stamp in enumerate(stamps):
        for camera in rig.cameras:
            header = Header(stamp=seconds_to_stamp(stamp), frame_id=camera.frame_id)
            skeletons[camera.name].publish(detections_to_msg(found[k][camera.name], header))
        assert spin_until(executor, lambda k=k: len(outputs) > k, 20), fusion.last_error


def test_a_clock_jumping_back_forgets_the_tf_history_of_the_old_time_line():
    """A review: a simulator reset less than 10 s back (the robot from x = 0-6 m over stamps
    100-106 to x = 20 m at 100) was looked up halfway between the two runs (x = 10.3 at
    100.55) and at the old run's poses later on, since the node's own /tf history (without
    tf2_ros) started again only after a jump back of more than history_s. The node now
    forgets it when its clock (/clock, simulated time) goes back, as tf2_ros's buffer does;
    static transforms stay."""
    from rosgraph_msgs.msg import Clock

    from pose3d_ros.core.static_tf import ExtrapolationError

    rig, _ = _renamed_rig_and_2d("tf_reset")
    odom, base = "tf_reset_odom", rig.frame_id
    with ros_context() as context:
        fusion, probe, executor, _, _ = _tf_fusion(
            context, "fusion_tf_reset", "/tf_reset_test", rig, odom, use_sim_time=True)
        try:
            clock = probe.create_publisher(Clock, "/clock", 10)
            assert spin_until(executor, lambda: clock.get_subscription_count() > 0, 10)

            def tick(seconds: float) -> None:
                clock.publish(Clock(clock=seconds_to_stamp(seconds)))
                assert spin_until(executor, lambda: abs(
                    fusion.get_clock().now().nanoseconds - round(seconds * 1e9)) < 1000, 10)

            def drive(stamps, x0: float) -> None:
                with fusion._tf_lock:
                    fusion.tf_tree.add_timed([StaticTransform(
                        odom, base, np.array([x0 + s - 100.0, 0, 0]), _quat_z(0.0))
                        for s in stamps], stamps)

            fusion.tf_tree.add([StaticTransform(base, "tf_reset_mast", np.array([0, 0, 1.0]),
                                                _quat_z(0.0))])
            tick(106.0)
            drive([100.0 + k for k in range(7)], 0.0)
            np.testing.assert_allclose(fusion.tf_tree.lookup(odom, base, 103.0)[1], [3, 0, 0])
            tick(100.0)                                    # the simulator starts again
            drive([100.0], 20.0)
            np.testing.assert_allclose(fusion.tf_tree.lookup(odom, base, 100.0)[1], [20, 0, 0])
            for later in (100.55, 103.0):           # the new run has not got there yet
                with pytest.raises(ExtrapolationError):
                    fusion.tf_tree.lookup(odom, base, later)
            np.testing.assert_allclose(fusion.tf_tree.lookup(base, "tf_reset_mast")[1],
                                       [0, 0, 1.0])
        finally:
            executor.shutdown()
            fusion.destroy_node()
            probe.destroy_node()


def test_fusion_node_takes_camera_poses_from_tf_static():
    rig, found = _renamed_rig_and_2d("tf_test")
    names = rig.names
    with ros_context() as context:
        fusion, probe, executor, infos, skeletons = _tf_fusion(
            context, "fusion_tf_under_test", "/tf_extrinsics_test", rig, rig.frame_id,
            diagnostics_period_s=0.3)
        try:
            outputs, diagnostics = [], []
            probe.create_subscription(Skeleton3DArray, "skeletons", outputs.append, RELIABLE)
            probe.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append,
                                      RELIABLE)
            assert spin_until(executor, lambda: all(
                p.get_subscription_count() for p in infos.values()), 10)

            def send_infos():
                for camera in rig.cameras:
                    infos[camera.name].publish(camera_model_to_info(camera))

            # No transform yet: camera_info is taken but the camera stays uncalibrated, and
            # the missing transform is reported on /diagnostics.
            def reported() -> bool:
                return any(kv.key == "rejected_extrinsics_tf"
                           for report in diagnostics for status in report.status
                           if status.name == f"{fusion.diagnostics_name}: camera cam01"
                           for kv in status.values)

            assert spin_until(executor, reported, 10, tick=send_infos)
            assert not any(c.calibrated for c in fusion.health.cameras.values())

            # The rig on /tf_static (latched, as a static transform broadcaster sends it),
            # from a node other than the one under test.
            tf_static = probe.create_publisher(TFMessage, "/tf_static", LATCHED)
            tf_static.publish(rig_transforms(list(rig.cameras), rig.frame_id,
                                             seconds_to_stamp(1.0)))
            assert spin_until(executor, lambda: all(
                c.calibrated for c in fusion.health.cameras.values()), 10, tick=send_infos)
            for camera in rig.cameras:
                posed = fusion.pipeline.camera(camera.name)
                np.testing.assert_allclose(posed.R, camera.R, atol=1e-9)
                np.testing.assert_allclose(posed.t, camera.t, atol=1e-9)

            _send_sets(executor, fusion, skeletons, rig, found,
                       [300.0 + k / 60 for k in range(FRAMES)], outputs)
        finally:
            executor.shutdown()
            fusion.destroy_node()
            probe.destroy_node()

    offline = Pose3DPipeline(names, {c.name: c for c in rig.cameras}, frame_id=rig.frame_id,
                             params=PipelineParams(tracking=None, filtering=None))
    for k, message in enumerate(outputs[:FRAMES]):
        expected = offline.process_detections(found[k], 300.0 + k / 60).skeletons
        got = skeletons3d_from_msg(message)
        assert message.header.frame_id == rig.frame_id
        assert got.num_people == expected.num_people == 1
        np.testing.assert_allclose(got.positions, expected.positions, atol=1e-6)


def _robot_pose(stamp: float) -> tuple[np.ndarray, np.ndarray]:
    """(R, t): the pose in odom of a robot that drives 2 m/s along x and turns 60 deg/s
    about z from stamp 300 s on (p_odom = R p_base + t)."""
    from scipy.spatial.transform import Rotation

    dt = stamp - 300.0
    return Rotation.from_rotvec([0, 0, np.pi / 3 * dt]).as_matrix(), np.array([2.0 * dt, 0, 0])


def test_a_camera_pose_republished_on_tf_static_is_taken():
    """A review of the nodes' threads: a camera re-posed on /tf_static (a recalibration, a
    mount moved) while the node ran was never used without tf2_ros: its static chain was
    looked up once. The tree's static_version now has the node look it up again."""
    import dataclasses

    from pose3d_ros.ros.tf import rig_transforms

    rig, found = _renamed_rig_and_2d("repose")
    with ros_context() as context:
        fusion, probe, executor, infos, skeletons = _tf_fusion(context, "fusion_repose",
                                                               "/repose", rig, rig.frame_id)
        outputs: list = []
        probe.create_subscription(Skeleton3DArray, "skeletons", outputs.append, RELIABLE)
        try:
            assert spin_until(executor, lambda: all(p.get_subscription_count()
                                                    for p in infos.values()), 10)
            tf_static = probe.create_publisher(TFMessage, "/tf_static", LATCHED)
            tf_static.publish(rig_transforms(list(rig.cameras), rig.frame_id,
                                             seconds_to_stamp(1.0)))
            assert spin_until(executor, lambda: all(
                c.calibrated for c in fusion.health.cameras.values()), 10, tick=lambda: [
                infos[c.name].publish(camera_model_to_info(c)) for c in rig.cameras])
            _send_sets(executor, fusion, skeletons, rig, found, [300.0], outputs)
            first = rig.cameras[0]
            np.testing.assert_allclose(fusion.pipeline.camera(first.name).t, first.t,
                                       atol=1e-9)
            moved = [dataclasses.replace(c, t=c.t + np.array([0.5, 0.0, 0.0]))
                     if c.name == first.name else c for c in rig.cameras]
            tf_static.publish(rig_transforms(moved, rig.frame_id, seconds_to_stamp(2.0)))
            version = fusion.tf_tree.static_version
            assert spin_until(executor, lambda: fusion.tf_tree.static_version > version, 10)
            for camera in rig.cameras:
                skeletons[camera.name].publish(detections_to_msg(found[1][camera.name], Header(
                    stamp=seconds_to_stamp(300.1), frame_id=camera.frame_id)))
            assert spin_until(executor, lambda: len(outputs) > 1, 20), fusion.last_error
            np.testing.assert_allclose(fusion.pipeline.camera(first.name).t, moved[0].t,
                                       atol=1e-9)
        finally:
            executor.shutdown()
            fusion.destroy_node()
            probe.destroy_node()


def test_cameras_on_a_moving_robot_are_posed_at_each_images_stamp():
    """A review: with extrinsics_source 'tf' the pose looked up at the first camera_info was
    kept, so on a robot moving in odom people were placed as if it had never moved. Here the
    rig hangs from the robot's base (/tf_static) and the base drives and turns in odom (/tf,
    100 samples a second, published before the images): each set's 3D is the rig's 3D
    carried by the robot's pose at its stamp, interpolated between /tf samples. A set whose
    stamp /tf does not reach yet takes the newest pose and is counted as
    extrinsics_tf_late."""
    rig, found = _renamed_rig_and_2d("tf_moving")
    names, base, odom = rig.names, rig.frame_id, "tf_moving_odom"
    stamps = [300.0 + k * 0.105 for k in range(FRAMES)]       # between /tf samples
    with ros_context() as context:
        fusion, probe, executor, infos, skeletons = _tf_fusion(
            context, "fusion_moving_under_test", "/tf_moving_test", rig, odom, publish_tf=False)
        try:
            tf = probe.create_publisher(TFMessage, "/tf", QoSProfile(depth=100))
            outputs: list = []
            probe.create_subscription(Skeleton3DArray, "skeletons", outputs.append, RELIABLE)
            probe.create_publisher(TFMessage, "/tf_static", LATCHED).publish(
                rig_transforms(list(rig.cameras), base, seconds_to_stamp(1.0)))
            assert spin_until(executor, lambda: tf.get_subscription_count() > 0, 10)
            from geometry_msgs.msg import TransformStamped
            from scipy.spatial.transform import Rotation

            driven: list[float] = []

            def drive(start: float, stop: float) -> None:
                for stamp in np.arange(start, stop, 0.01):
                    driven.append(float(stamp))
                    R, t = _robot_pose(float(stamp))
                    item = TransformStamped()
                    item.header = Header(stamp=seconds_to_stamp(float(stamp)), frame_id=odom)
                    item.child_frame_id = base
                    item.transform.translation.x, item.transform.translation.y, \
                        item.transform.translation.z = (float(v) for v in t)
                    q = Rotation.from_matrix(R).as_quat()
                    (item.transform.rotation.x, item.transform.rotation.y,
                     item.transform.rotation.z, item.transform.rotation.w) = map(float, q)
                    tf.publish(TFMessage(transforms=[item]))

            drive(299.9, stamps[-1] - 0.05)     # the last set's stamp: not reached yet

            def tf_came() -> bool:   # the node has every /tf sample (they come while it spins)
                try:
                    return bool(fusion.tf_tree.lookup(odom, base, driven[-1]))
                except LookupError:
                    return False

            assert spin_until(executor, tf_came, 10)
            assert spin_until(executor, lambda: all(
                c.calibrated for c in fusion.health.cameras.values()), 10,
                tick=lambda: [infos[c.name].publish(camera_model_to_info(c))
                              for c in rig.cameras])
            _send_sets(executor, fusion, skeletons, rig, found, stamps, outputs)
            late = {c: fusion.health.cameras[c].rejected["extrinsics_tf_late"] for c in names}
        finally:
            executor.shutdown()
            fusion.destroy_node()
            probe.destroy_node()

    offline = Pose3DPipeline(names, {c.name: c for c in rig.cameras}, frame_id=base,
                             params=PipelineParams(tracking=None, filtering=None))
    newest = _robot_pose(driven[-1])
    for k, message in enumerate(outputs[:FRAMES]):
        in_base = offline.process_detections(found[k], stamps[k]).skeletons.positions
        R, t = _robot_pose(stamps[k]) if k < FRAMES - 1 else newest
        got = skeletons3d_from_msg(message)
        assert message.header.frame_id == odom and got.num_people == 1
        np.testing.assert_allclose(got.positions, in_base @ R.T + t, atol=1e-5)
    assert late == {c: 1 for c in names}, late      # the last set only


def test_a_self_calibrated_rig_gets_an_upright_frame_for_rviz(tmp_path):
    """A self-calibrated rig's frame is its reference camera's optical frame (z the view, y
    down), which rviz2's grid shows lying on its side (docs audit). The fusion node broadcasts
    <frame>_upright for such a rig, as for one camera, and the launch files' rviz2 takes it;
    a rig in a frame of its own (the Qualisys world) gets none."""
    from scipy.spatial.transform import Rotation

    from pose3d_ros.core.calibration import rig_frame_is_optical, save_rig_yaml
    from pose3d_ros.ros.launch_args import output_frame

    rig = load_rig(calibration_path("single"))
    first = rig.cameras[0]
    # the rig re-expressed in cam01's optical frame, as calibrate writes it
    cameras = [dataclasses.replace(c, R=c.R @ first.R.T, t=c.t - c.R @ first.R.T @ first.t)
               for c in rig.cameras]
    selfcal = tmp_path / "selfcal.yaml"
    save_rig_yaml(Rig("rig", cameras, 1.7), selfcal)
    assert rig_frame_is_optical(load_rig(selfcal)) and not rig_frame_is_optical(rig)
    assert output_frame("", rig_file=str(selfcal)) == "rig_upright"
    assert output_frame("", rig_file=str(calibration_path("single"))) == "world"
    static: list[TFMessage] = []
    with ros_context() as context:
        fusion = FusionNode(context=context, parameter_overrides=[
            Parameter("camera_names", value=[c.name for c in cameras]),
            Parameter("autostart", value=False), Parameter("rig_file", value=str(selfcal))])
        probe = Node("upright_probe", context=context)
        probe.create_subscription(TFMessage, "/tf_static", static.append, LATCHED)
        executor = executor_with(context, fusion, probe)
        try:
            configure_and_activate(fusion)

            def upright():
                return [t for m in static for t in m.transforms
                        if t.child_frame_id == "rig_upright"]
            assert spin_until(executor, upright, 10)
        finally:
            executor.shutdown()
            fusion.destroy_node()
            probe.destroy_node()
    transform = upright()[0]
    assert transform.header.frame_id == "rig"
    q = transform.transform.rotation
    rotation = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
    np.testing.assert_allclose(rotation[:, 2], [0, -1, 0], atol=1e-12)   # z up: -y optical


def test_camera_info_latched_before_the_node_and_before_tf_is_taken_when_the_pose_comes():
    """A camera_info published once and kept (transient local), before the fusion node
    started and before the cameras' transforms exist: the node subscribes to it when it sees
    such a publisher, keeps the message while the pose is missing, and takes it once /tf_static
    gives the pose (before, such a camera_info never arrived: the node subscribed volatile)."""
    rig, found = _renamed_rig_and_2d("tf_latched", cameras=2)
    names = rig.names
    with ros_context() as context:
        namespace = "/tf_latched_info_test"
        probe = Node("latched_info_probe", context=context, namespace=namespace)
        infos = {c.name: probe.create_publisher(CameraInfo, f"{c.name}/camera_info", LATCHED)
                 for c in rig.cameras}
        for camera in rig.cameras:                       # once, before the node exists
            infos[camera.name].publish(camera_model_to_info(camera))
        fusion = FusionNode("fusion_latched_info", context=context, namespace=namespace,
                            parameter_overrides=[Parameter(k, value=v) for k, v in {
                                "camera_names": names, "autostart": False,
                                "extrinsics_source": "tf", "rig_file": "",
                                "fixed_frame": rig.frame_id, "sync.min_views": 2,
                                "diagnostics_period_s": 0.2, "tracking.enabled": False,
                                "filter.enabled": False}.items()])
        executor = executor_with(context, fusion, probe)
        try:
            configure_and_activate(fusion)
            outputs: list[Skeleton3DArray] = []
            probe.create_subscription(Skeleton3DArray, "skeletons", outputs.append, RELIABLE)
            skeletons = {c: probe.create_publisher(Skeleton2DArray, f"{c}/skeletons_2d",
                                                   RELIABLE) for c in names}
            spin_until(executor, lambda: False, 1.0)     # the latched messages come, no pose
            assert not any(c.calibrated for c in fusion.health.cameras.values())
            tf_static = probe.create_publisher(TFMessage, "/tf_static", LATCHED)
            tf_static.publish(rig_transforms(list(rig.cameras), rig.frame_id,
                                             seconds_to_stamp(1.0)))
            assert spin_until(executor, lambda: all(
                c.calibrated for c in fusion.health.cameras.values()), 10)
            for camera in rig.cameras:
                np.testing.assert_allclose(fusion.pipeline.camera(camera.name).t, camera.t,
                                           atol=1e-9)

            for k in range(FRAMES):
                for camera in rig.cameras:
                    header = Header(stamp=seconds_to_stamp(400.0 + k / 60),
                                    frame_id=camera.frame_id)
                    skeletons[camera.name].publish(detections_to_msg(found[k][camera.name],
                                                                     header))
                assert spin_until(executor, lambda k=k: len(outputs) > k, 20), \
                    fusion.last_error
            assert any(o.skeletons for o in outputs)
        finally:
            executor.shutdown()
            fusion.destroy_node()
            probe.destroy_node()


def test_a_transform_late_at_start_up_is_told_at_info_and_at_warn_only_if_it_stays_missing(
        monkeypatch):
    """Found by a review: with extrinsics from TF, a camera_info that came a few milliseconds
    before /tf_static logged a WARN at every start. While the node starts (CAMERA_INFO_WAIT_S
    after activation) a missing transform is told at INFO; still missing after that, once at
    WARN; counted on /diagnostics throughout."""
    from rcl_interfaces.msg import Log
    from ros_helpers import with_rosout

    import pose3d_ros.ros.node_base as node_base

    monkeypatch.setattr(node_base, "CAMERA_INFO_WAIT_S", 1.0)
    rig, _ = _renamed_rig_and_2d("tf_late", cameras=2)
    with ros_context() as context:
        fusion = FusionNode("fusion_tf_late", context=context, namespace="/tf_late_test",
                            parameter_overrides=[Parameter(k, value=v) for k, v in {
                                "camera_names": rig.names, "autostart": False,
                                "extrinsics_source": "tf", "rig_file": "",
                                "fixed_frame": rig.frame_id}.items()])
        with with_rosout(context, fusion) as (executor, probe, logs):
            configure_and_activate(fusion)
            infos = {c.name: probe.create_publisher(CameraInfo, f"/tf_late_test/{c.name}/"
                                                    "camera_info", RELIABLE)
                     for c in rig.cameras}

            def send() -> None:
                for camera in rig.cameras:
                    infos[camera.name].publish(camera_model_to_info(camera))

            def told(level: int) -> list:
                return [m for m in logs if "[extrinsics_tf]" in m.msg and m.level == level]
            assert spin_until(executor, lambda: len(told(Log.INFO)) == 2, 10, tick=send)
            assert told(Log.WARN) == []
            spin_until(executor, lambda: False, 1.5, tick=send)   # past the start-up
            assert len(told(Log.WARN)) == 2 and all("still" in m.msg for m in told(Log.WARN))
            assert fusion.health.cameras["cam01"].rejected["extrinsics_tf"] > 2
            tf_static = probe.create_publisher(TFMessage, "/tf_static", LATCHED)
            tf_static.publish(rig_transforms(list(rig.cameras), rig.frame_id,
                                             seconds_to_stamp(1.0)))
            assert spin_until(executor, lambda: all(
                c.calibrated for c in fusion.health.cameras.values()), 10, tick=send)
            assert len(told(Log.INFO)) == 2 and len(told(Log.WARN)) == 2


def test_another_parent_of_a_rig_camera_on_tf_static_is_told(tmp_path):
    """Found by a review from a consumer's side: with a rig file (publish_rig_tf, the
    default) the node gives each camera's optical frame the rig's frame as parent on
    /tf_static; a camera driver publishing camera_link -> the same optical frame gave it a
    second parent without a word (tf2 keeps one: lookups and rviz2 flip between the trees).
    Told once at WARN and counted on /diagnostics (`tf_two_parents`) for that camera only;
    the rig's own transforms (the same parent) are not."""
    from pose3d_ros.core.calibration import save_rig_yaml

    rig, _ = _renamed_rig_and_2d("parents_test", cameras=2)
    path = tmp_path / "rig.yaml"
    save_rig_yaml(rig, path)
    names = rig.names
    with ros_context() as context:
        namespace = "/tf_parents_test"
        fusion = FusionNode("fusion_parents_under_test", context=context, namespace=namespace,
                            parameter_overrides=[Parameter(k, value=v) for k, v in {
                                "camera_names": names, "autostart": False,
                                "rig_file": str(path), "diagnostics_period_s": 0.3}.items()])
        probe = Node("tf_parents_probe", context=context, namespace=namespace)
        executor = executor_with(context, fusion, probe)
        try:
            configure_and_activate(fusion)
            diagnostics: list = []
            probe.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append,
                                      RELIABLE)
            driver = probe.create_publisher(TFMessage, "/tf_static", LATCHED)
            driver_link = StaticTransform("parents_test_camera_link", rig.cameras[0].frame_id,
                                          np.zeros(3), _quat_z(0.0))
            driver.publish(RCLPY.tf_message([driver_link], 1_000_000_000))

            def counted(camera: str) -> bool:
                return any(kv.key == "rejected_tf_two_parents"
                           for report in diagnostics for status in report.status
                           if status.name == f"{fusion.diagnostics_name}: camera {camera}"
                           for kv in status.values)

            assert spin_until(executor, lambda: counted(names[0]), 10)
            assert not counted(names[1])
            assert fusion.health.cameras[names[0]].rejected["tf_two_parents"] >= 1
            assert "tf_two_parents" not in fusion.health.cameras[names[1]].rejected
        finally:
            executor.shutdown()
            fusion.destroy_node()
            probe.destroy_node()
