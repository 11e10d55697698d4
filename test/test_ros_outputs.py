"""The ROS outputs built from core records: Skeleton3DArray/Skeleton2DArray conversions, body
frames, rviz2 markers, TF messages, diagnostics and CameraInfo checks (real message classes)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticStatus
from pose3d_ros.msg import Skeleton3D
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header
from visualization_msgs.msg import Marker

from pose3d_ros.core.body_frame import body_frames
from pose3d_ros.core.camera import CameraInfoError
from pose3d_ros.core.layouts import BLAZEPOSE33, COCO17
from pose3d_ros.core.sync import FrameSynchronizer
from pose3d_ros.core.types import METHOD_LIFTER, METHOD_TRIANGULATION, Detections2D, Skeletons3D
from pose3d_ros.ros.conversions import (
    camera_model_from_info,
    detections_from_msg,
    detections_to_msg,
    seconds_to_stamp,
    skeletons3d_from_msg,
    skeletons3d_to_msg,
    stamp_to_seconds,
)
from pose3d_ros.ros.diagnostics import NodeHealth
from pose3d_ros.ros.tf import people_transforms, rig_transforms
from pose3d_ros.ros.visualization import skeleton_markers


def _standing_person(offset, facing_x=True):
    """COCO-17 joints of a person standing at `offset`, facing +x (left = +y), metres."""
    pos = np.zeros((17, 3))
    z = {"hip": 1.0, "shoulder": 1.5, "knee": 0.5, "ankle": 0.05, "elbow": 1.2, "wrist": 0.95}
    for side, y in (("left", 0.15), ("right", -0.15)):
        for part, height in z.items():
            pos[COCO17.index(f"{side}_{part}")] = (0.0, y, height)
        pos[COCO17.index(f"{side}_eye")] = (0.08, y / 3, 1.7)
        pos[COCO17.index(f"{side}_ear")] = (0.0, y * 0.6, 1.68)
    pos[COCO17.index("nose")] = (0.12, 0.0, 1.65)
    return pos + offset


def _skeletons():
    positions = np.stack([_standing_person([1.0, 2.0, 0.0]), _standing_person([-1.0, 0.0, 0.0])])
    positions[1, 3] = np.nan
    return Skeletons3D(positions=positions, confidence=np.full((2, 17), 0.9, np.float32),
                       reprojection_error=np.full((2, 17), 1.5, np.float32),
                       num_views=np.full((2, 17), 3, np.uint8), layout=COCO17,
                       frame_id="world", method=METHOD_TRIANGULATION, ids=np.array([4, 9]))


def test_stamps_round_trip_to_the_nanosecond():
    stamp = seconds_to_stamp(1_700_000_123.456789012)
    assert stamp.sec == 1_700_000_123 and abs(stamp.nanosec - 456_789_012) < 300
    assert stamp_to_seconds(stamp) == pytest.approx(1_700_000_123.456789012, abs=1e-6)


def test_skeletons3d_message_round_trip_with_body_pose():
    skeletons = _skeletons()
    msg = skeletons3d_to_msg(skeletons, seconds_to_stamp(12.5), ["cam01_optical_frame"])
    assert msg.header.frame_id == "world" and msg.cameras == ["cam01_optical_frame"]
    first = msg.skeletons[0]
    assert first.id == 4 and first.method == Skeleton3D.METHOD_TRIANGULATION
    assert first.layout.name == "coco17" and len(first.positions) == 51
    # Pelvis origin, facing +x: identity orientation.
    assert (first.body_pose.position.x, first.body_pose.position.y,
            first.body_pose.position.z) == pytest.approx((1.0, 2.0, 1.0))
    q = first.body_pose.orientation
    assert abs(q.w) == pytest.approx(1.0, abs=1e-9)
    back = skeletons3d_from_msg(msg)
    np.testing.assert_array_equal(back.positions, skeletons.positions)  # NaN stays NaN
    np.testing.assert_array_equal(back.ids, skeletons.ids)
    assert back.layout is COCO17 and back.frame_id == "world"


def test_body_frame_follows_the_torso():
    person = _standing_person([0, 0, 0])
    turned = person @ np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]]).T  # 90 deg about z
    frames = body_frames(np.stack([turned]), COCO17)
    np.testing.assert_allclose(frames.rotations[0][:, 0], [0, 1, 0], atol=1e-9)  # x faces +y
    np.testing.assert_allclose(frames.origins[0], [0, 0, 1.0], atol=1e-9)
    # the quaternion (x, y, z, w) of 90 deg about z
    np.testing.assert_allclose(np.abs(frames.quaternions[0]), [0, 0, np.sqrt(0.5), np.sqrt(0.5)],
                               atol=1e-9)
    no_hips = person.copy()
    no_hips[COCO17.index("left_hip")] = np.nan
    frames = body_frames(no_hips[None], COCO17)
    origins, rotations = frames.origins, frames.rotations
    np.testing.assert_array_equal(rotations[0], np.eye(3))
    assert np.isfinite(origins[0]).all()


def test_detections_message_round_trip_and_layout_check():
    rng = np.random.default_rng(0)
    found = Detections2D(keypoints=rng.uniform(0, 500, (2, 33, 2)).astype(np.float32),
                         scores=rng.uniform(0, 1, (2, 33)).astype(np.float32),
                         boxes=np.array([[1, 2, 3, 4], [5, 6, 7, 8]], np.float32),
                         person_scores=np.array([0.9, 0.8], np.float32), layout=BLAZEPOSE33,
                         image_size=(640, 480))
    found.keypoints[1, 5] = np.nan
    msg = detections_to_msg(found, Header(frame_id="cam01_optical_frame"))
    assert (msg.image_width, msg.image_height) == (640, 480)
    back = detections_from_msg(msg)
    np.testing.assert_array_equal(back.keypoints, found.keypoints)
    np.testing.assert_array_equal(back.scores, found.scores)
    assert back.layout is BLAZEPOSE33
    msg.skeletons[1].u = msg.skeletons[1].u[:10]
    with pytest.raises(ValueError, match="expected blazepose33"):
        detections_from_msg(msg)


def test_markers_show_joints_bones_and_ids_without_missing_joints():
    markers = skeleton_markers(_skeletons(), seconds_to_stamp(1.0)).markers
    assert markers[0].action == Marker.DELETEALL
    by_ns = {(m.ns, m.id): m for m in markers[1:]}
    assert set(by_ns) == {(ns, i) for ns in ("joints", "bones", "ids") for i in (4, 9)}
    assert len(by_ns["joints", 4].points) == 17 and len(by_ns["joints", 9].points) == 16
    bones_touching_3 = sum(3 in b for b in COCO17.bones)
    assert len(by_ns["bones", 9].points) == 2 * (len(COCO17.bones) - bones_touching_3)
    assert by_ns["ids", 4].text == "id 4" and by_ns["ids", 4].header.frame_id == "world"
    assert by_ns["joints", 4].color != by_ns["joints", 9].color
    # each id in the colour the report and the playback give it (a review: rviz2's markers
    # had colours of their own)
    from pose3d_ros.core.playback import id_colour
    for person in (4, 9):
        c = by_ns["joints", person].color
        assert f"#{round(c.r * 255):02x}{round(c.g * 255):02x}{round(c.b * 255):02x}" == \
            id_colour(person)
    # a rig's person placed from one camera's view (lone views) is told apart
    mixed = replace(_skeletons(), person_methods=np.array([METHOD_TRIANGULATION, METHOD_LIFTER],
                                                          np.uint8))
    by_ns = {(m.ns, m.id): m for m in skeleton_markers(mixed, seconds_to_stamp(1.0)).markers[1:]}
    assert by_ns["ids", 4].text == "id 4" and by_ns["ids", 9].text == "id 9 (one view)"
    assert by_ns["joints", 4].color.a == 1.0 and by_ns["bones", 9].color.a == 0.5
    # a rig's set that one camera alone made (sync.min_views 1): all its people are one view
    # (a review: drawn as triangulated ones); a one-camera node's people are drawn plainly
    alone = replace(_skeletons(), method=METHOD_LIFTER)
    for rig, text, alpha in ((True, "id 9 (one view)", 0.5), (False, "id 9", 1.0)):
        by_ns = {(m.ns, m.id): m for m in skeleton_markers(
            alone, seconds_to_stamp(1.0), rig=rig).markers[1:]}
        assert by_ns["ids", 9].text == text and by_ns["joints", 4].color.a == alpha


def test_markers_last_a_few_output_periods_so_a_slow_node_does_not_blink():
    """A fixed 0.5 s lifetime made people vanish between the outputs of a node slower than
    2 Hz (a throttled camera, a slow machine: a review from a consumer's side); each message
    deletes the ones before, so a longer life leaves nothing stale while the node runs."""
    from pose3d_ros.ros.visualization import marker_lifetime_s

    assert marker_lifetime_s(None, 10.0) == 0.5                  # the first: no period yet
    assert marker_lifetime_s(10.0, 10.033) == 0.5                # 30 Hz
    assert marker_lifetime_s(10.0, 11.0) == pytest.approx(3.0)   # 1 Hz: three periods
    assert marker_lifetime_s(10.0, 100.0) == 5.0                 # after a stall: bounded
    markers = skeleton_markers(_skeletons(), seconds_to_stamp(1.0), lifetime_s=2.5).markers
    assert {(m.lifetime.sec, m.lifetime.nanosec) for m in markers[1:]} == {(2, 500_000_000)}


def test_the_id_label_stands_above_the_head_in_a_camera_optical_frame():
    """One camera publishes in its optical frame (x right, y down, z depth): the label went
    0.25 m deeper than the farthest joint (behind the person, at the feet); it now stands
    above the head along the body's up axis, in world output as before. Without a shoulder
    (no body frame: identity, whose z is the depth in an optical frame) it went 0.33 m behind
    the head (a review); it takes the person's own head-over-legs direction then."""
    world = _standing_person([0.0, 0.0, 0.0])             # facing +x, z up
    # the camera 3 m in front, looking back at the person: optical x = -world y,
    # optical y = -world z (down), optical z = 3 - world x (depth)
    optical = np.stack([-world[:, 1], 1.0 - world[:, 2], 3.0 - world[:, 0]], -1)
    no_shoulder = optical.copy()
    no_shoulder[COCO17.index("right_shoulder")] = np.nan
    assert not body_frames(no_shoulder[None], COCO17).known[0]
    for positions, frame_id, up in ((optical, "camera_optical_frame", np.array([0, -1, 0])),
                                    (no_shoulder, "camera_optical_frame", np.array([0, -1, 0])),
                                    (world, "world", np.array([0, 0, 1]))):
        people = Skeletons3D(positions=positions[None], confidence=np.ones((1, 17), np.float32),
                             reprojection_error=np.zeros((1, 17), np.float32),
                             num_views=np.ones((1, 17), np.uint8), layout=COCO17,
                             frame_id=frame_id, method=METHOD_LIFTER, ids=np.array([1]))
        label = next(m for m in skeleton_markers(people, seconds_to_stamp(1.0)).markers
                     if m.ns == "ids")
        at = np.array([label.pose.position.x, label.pose.position.y, label.pose.position.z])
        head = positions[COCO17.index("left_eye")]
        np.testing.assert_allclose((at - head) @ up, 0.25, atol=0.03)    # above the eyes
        assert np.linalg.norm((at - head) - ((at - head) @ up) * up) < 0.15   # not beside


def test_tf_has_a_body_frame_per_person_and_optional_joint_frames():
    skeletons = _skeletons()
    tf = people_transforms(skeletons, seconds_to_stamp(2.0))
    assert [t.child_frame_id for t in tf.transforms] == ["body_4", "body_9"]
    assert tf.transforms[0].header.frame_id == "world"
    tf = people_transforms(skeletons, seconds_to_stamp(2.0), per_joint=True)
    children = [t.child_frame_id for t in tf.transforms]
    assert "body_4_left_wrist" in children and "body_9_left_ear" not in children  # NaN joint
    wrist = next(t for t in tf.transforms if t.child_frame_id == "body_4_left_wrist")
    assert wrist.header.frame_id == "body_4"
    assert (wrist.transform.translation.y, wrist.transform.translation.z) == pytest.approx(
        (0.15, -0.05))
    # tf_prefix: a node's own frames, so two nodes on one TF tree do not both own body_4
    tf = people_transforms(skeletons, seconds_to_stamp(2.0), per_joint=True, prefix="front/")
    children = {t.child_frame_id: t.header.frame_id for t in tf.transforms}
    assert children["front/body_4"] == "world"
    assert children["front/body_4_left_wrist"] == "front/body_4"


def test_rig_static_transforms_put_cameras_where_they_are():
    from pose3d_ros.core.camera import CameraModel
    R = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])   # optical z along rig +y
    centre = np.array([0.5, -3.0, 1.2])
    camera = CameraModel("cam01", "cam01_optical_frame", 640, 480, np.eye(3) * 500,
                         np.zeros(5), R=R, t=-R @ centre)
    tf = rig_transforms([camera], "world", seconds_to_stamp(0.0)).transforms[0]
    assert (tf.header.frame_id, tf.child_frame_id) == ("world", "cam01_optical_frame")
    translation = tf.transform.translation
    assert (translation.x, translation.y, translation.z) == pytest.approx(tuple(centre))


def _camera_info(**changes):
    info = CameraInfo(width=640, height=480, distortion_model="plumb_bob",
                      d=[0.1, -0.05, 0.0, 0.0, 0.0],
                      k=[500.0, 0, 320, 0, 500, 240, 0, 0, 1])
    info.header.frame_id = "cam01_optical_frame"
    for key, value in changes.items():
        setattr(info, key, value)
    return info


def test_camera_info_becomes_a_camera_model_or_a_clear_rejection():
    model = camera_model_from_info(_camera_info(), "cam01")
    assert model.name == "cam01" and model.frame_id == "cam01_optical_frame"
    assert model.K[0, 0] == 500.0
    for changes, reason in (({"k": [0.0] * 9}, "camera_info_zero"),
                            ({"k": [np.nan] + [0.0] * 8}, "camera_info_nan"),
                            ({"d": [np.nan] * 5}, "camera_info_nan"),
                            ({"width": 0}, "camera_info_size"),
                            ({"k": [-5.0, 0, 320, 0, 500, 240, 0, 0, 1]}, "camera_info_invalid")):
        with pytest.raises(CameraInfoError) as err:
            camera_model_from_info(_camera_info(**changes), "cam01")
        assert err.value.reason == reason and "cam01" in str(err.value)


def test_diagnostics_report_rates_stages_drops_and_rejections():
    sync = FrameSynchronizer(("cam01", "cam02"), min_views=1, stale_after_s=1.0)
    health = NodeHealth("pose3d_node", ("cam01", "cam02"))
    for camera in health.cameras.values():
        camera.calibrated = True
    sync.add("cam01", 1.0, None, 10.0)
    sync.add("cam02", 1.0, None, 10.0)
    sync.add("cam01", 1.0, None, 10.01)                  # duplicate stamp
    for k in range(5):
        health.record_output({"detect": 0.020, "triangulate": 0.002}, 0.05, 10.0 + k * 0.1)
    assert health.reject("cam02", "truncated", "camera 'cam02': data holds 5 bytes")
    assert not health.reject("cam02", "truncated", "again")   # logged once
    report = health.report(seconds_to_stamp(0.0), 10.5, sync)
    pipeline, cam01, cam02 = report.status
    values = {kv.key: kv.value for kv in pipeline.values}
    assert pipeline.level == DiagnosticStatus.OK and float(values["output_rate_hz"]) == 10.0
    assert values["stage_detect_ms"] == "20.00" and values["latency_ms_mean"] == "50.0"
    cam01_values = {kv.key: kv.value for kv in cam01.values}
    assert cam01_values["dropped_duplicate_stamp"] == "1" and cam01_values["state"] == "ok"
    assert cam02.level == DiagnosticStatus.WARN and "rejected input" in cam02.message
    assert {kv.key: kv.value for kv in cam02.values}["rejected_truncated"] == "2"
    later = health.report(seconds_to_stamp(0.0), 13.0, sync).status
    assert later[0].level == DiagnosticStatus.WARN and "no output" in later[0].message
    assert "rejected" not in later[2].message   # its rejection was reported already
    assert "paused" in later[2].message          # and nothing came for 3 s


def test_stamps_from_another_clock_are_told_on_the_pipeline_status():
    """Found by an audit looping a bag on wall time: latency_ms_mean rose to 100 s and
    beyond and nothing said that it measured a clock difference, not the node."""
    health = NodeHealth("pose3d_node", ("cam01",))
    health.cameras["cam01"].calibrated = True
    for k in range(5):
        health.record_output({"detect": 0.02}, 100.0, 10.0 + k * 0.1)    # stamps 100 s old
    status = health.report(seconds_to_stamp(0.0), 10.5).status[0]
    assert status.level == DiagnosticStatus.WARN
    assert "image stamps 100.0 s behind this node's clock" in status.message
    fresh = NodeHealth("pose3d_node", ("cam01",))
    for k in range(5):
        fresh.record_output({"detect": 0.02}, 0.4, 10.0 + k * 0.1)        # a slow node
    assert fresh.report(seconds_to_stamp(0.0), 10.5).status[0].level == DiagnosticStatus.OK
    # one odd stamp among good ones (a review: an unset stamp's output, 1.8e9 s "old") is
    # no clock difference: the test goes by the median, the mean is still reported
    for k in range(5):
        fresh.record_output({"detect": 0.02}, 1.8e9 if k == 2 else 0.05, 11.0 + k * 0.1)
    status = fresh.report(seconds_to_stamp(0.0), 11.5).status[0]
    values = {kv.key: kv.value for kv in status.values}
    assert status.level == DiagnosticStatus.OK, status.message
    assert float(values["latency_ms_mean"]) > 1e8 and float(values["latency_ms_median"]) < 500


def test_images_without_camera_info_are_told_as_such():
    """Found by an audit of a live camera: a camera_info published once and latched before
    the node started never arrives (the node subscribes to it like to the images); while
    images came, the camera's status read "waiting for the first frame"."""
    from pose3d_ros.core.sync import FrameSynchronizer
    sync = FrameSynchronizer(("camera",))
    health = NodeHealth("pose3d_node", ("camera",))
    for k in range(5):
        health.note_arrival("camera", "image", 10.0 + k * 0.1)     # refused: no camera_info
    _, camera = health.report(seconds_to_stamp(0.0), 10.5, sync).status
    assert camera.level == DiagnosticStatus.WARN
    assert camera.message.startswith("images arrive, no valid camera_info yet")
    assert "waiting for the first frame" in health.report(
        seconds_to_stamp(0.0), 20.0, sync).status[1].message          # images stopped


def test_images_refused_before_the_synchroniser_count_as_input():
    """Found by an audit of a live camera: with stamps 2.5 s in the future every frame was
    refused before the synchroniser, and the pipeline read OK "no input" while 12 fps
    arrived. The node also asks NodeHealth whether images arrive, refused or not."""
    health = NodeHealth("pose3d_node", ("camera",))
    assert not health.images_arriving(10.0, 1.0)
    health.note_arrival("camera", "image", 9.5)
    assert health.images_arriving(10.0, 1.0) and not health.images_arriving(11.0, 1.0)
    status = health.report(seconds_to_stamp(0.0), 10.0, inputs_arriving=True).status[0]
    assert status.message == "waiting for the first output"          # not "no input"
    status = health.report(seconds_to_stamp(0.0), 11.6, inputs_arriving=True).status[0]
    assert status.level == DiagnosticStatus.WARN
    assert status.message == "no output for 2.1 s while images arrive"


def test_a_notice_about_a_kept_frame_is_counted_without_a_warning_status():
    """Found by an audit of the distributed mode: a stamp jump after a pause (frame kept) was
    logged at INFO but turned the camera's status WARN "rejected input" for a period."""
    health = NodeHealth("pose3d_node", ("cam01",))
    health.cameras["cam01"].calibrated = True
    assert health.reject("cam01", "stamp_jump", "camera 'cam01': stamp jumped forward by 7.6 s "
                         "(frame kept)", kept=True)
    _, camera = health.report(seconds_to_stamp(0.0), 10.0).status
    assert camera.level == DiagnosticStatus.OK
    assert {kv.key: kv.value for kv in camera.values}["rejected_stamp_jump"] == "1"
    health.reject("cam01", "stamp_backwards", "camera 'cam01': stamp went back")
    assert health.report(seconds_to_stamp(0.0), 10.1).status[1].level == DiagnosticStatus.WARN


def test_a_camera_that_never_sent_says_so_when_it_goes_stale():
    """Found by the distributed audit: a detector started late showed "waiting for the first
    frame", then "stale: no frame within stale_after_s (...)" once the others ran."""
    from pose3d_ros.core.sync import FrameSynchronizer
    sync = FrameSynchronizer(("cam01", "cam02"), min_views=1, stale_after_s=1.0)
    health = NodeHealth("pose3d_fusion", ("cam01", "cam02"))
    for k in range(30):
        sync.add("cam01", 1.0 + k * 0.1, None, 10.0 + k * 0.1)
    cam02 = health.report(seconds_to_stamp(0.0), 13.0, sync).status[2]
    assert cam02.level == DiagnosticStatus.WARN
    assert cam02.message.startswith("stale: no frame yet while the others send")


def test_an_idle_node_is_not_warned_and_a_silent_rig_reads_paused():
    """Found by an audit with the real node: before any input the pipeline was WARN "no
    output in the last 2 s", and cameras silent for seconds stayed OK at their last rate."""
    sync = FrameSynchronizer(("cam01", "cam02"), min_views=2, stale_after_s=1.0)
    health = NodeHealth("pose3d_node", ("cam01", "cam02"))
    for camera in health.cameras.values():
        camera.calibrated = True

    def report(now):
        statuses = health.report(seconds_to_stamp(0.0), now, sync,
                                 inputs_arriving=sync.receiving(now)).status
        return statuses[0], statuses[1:], [{kv.key: kv.value for kv in s.values}
                                           for s in statuses[1:]]

    pipeline, cameras, _ = report(5.0)                         # nothing received yet
    assert (pipeline.level, pipeline.message) == (DiagnosticStatus.OK, "no input")
    assert all("waiting" in c.message for c in cameras)
    for k in range(11):                                         # 10 Hz for one second
        for name in ("cam01", "cam02"):
            sync.add(name, 100.0 + k / 10, None, 10.0 + k / 10)
        assert sync.pop_latest() is not None
        health.record_output({"triangulate": 0.002}, 0.01, 10.0 + k / 10)
    pipeline, cameras, values = report(11.05)
    assert pipeline.level == DiagnosticStatus.OK and pipeline.message == "running"
    assert [v["state"] for v in values] == ["ok", "ok"]
    assert all(float(v["input_rate_hz"]) == pytest.approx(10.0) for v in values)
    assert [c.hardware_id for c in cameras] == ["pose3d_node/cam01", "pose3d_node/cam02"]
    pipeline, cameras, values = report(14.0)                   # the whole rig silent for 3 s
    assert (pipeline.level, pipeline.message) == (DiagnosticStatus.OK, "no input")
    assert [v["state"] for v in values] == ["paused", "paused"]
    assert all(c.level == DiagnosticStatus.WARN and "paused" in c.message for c in cameras)
    assert [v["input_rate_hz"] for v in values] == ["0.00", "0.00"]


def test_a_camera_that_stops_in_a_rig_left_below_min_views_reads_stale_not_paused():
    """A review (a two-camera fusion node over DDS, one detector stopped): a camera silent
    while the others go on read "paused ... still waited for: not yet stale", the state of a
    whole rig's pause, for as long as it stayed away, and no WARN line named it: only an
    emitted set counted as one it missed, and with fewer cameras left than sync.min_views
    every set leaves too short and none is emitted. Now it reads stale; a whole rig's pause
    still reads paused (test_an_idle_node_is_not_warned_and_a_silent_rig_reads_paused)."""
    sync = FrameSynchronizer(("cam01", "cam02"), min_views=2, stale_after_s=1.0, timeout_s=0.1)
    health = NodeHealth("pose3d_fusion", ("cam01", "cam02"))
    for camera in health.cameras.values():
        camera.calibrated = True
    for k in range(10):                                         # both at 10 Hz for 1 s
        for name in ("cam01", "cam02"):
            sync.add(name, 100.0 + k / 10, None, 10.0 + k / 10)
        assert sync.pop_latest() is not None
    for k in range(10, 40):                                     # cam02 stops, cam01 goes on
        sync.add("cam01", 100.0 + k / 10, None, 10.0 + k / 10)
        sync.poll(10.0 + k / 10 + 0.05)                       # past timeout_s: sets leave
        assert sync.pop_latest() is None                        # too short to process
    now = 10.0 + 39 / 10 + 0.05
    assert sync.camera_states(now) == {"cam01": "ok", "cam02": "stale"}
    statuses = health.report(seconds_to_stamp(0.0), now, sync,
                             inputs_arriving=sync.receiving(now)).status
    cam02 = next(s for s in statuses if s.name == "pose3d_fusion: camera cam02")
    assert cam02.level == DiagnosticStatus.WARN and cam02.message.startswith("stale"), \
        cam02.message
    sync.add("cam02", 100.0 + 40 / 10, None, 10.0 + 40 / 10)   # back: ok with its next frame
    assert sync.camera_states(10.0 + 40 / 10)["cam02"] == "ok"
    # a pause of the whole rig after an instant that cam01 alone delivered (its set left
    # short): both paused, not cam02 stale (a paused bag)
    short = sync.set_drops["too_few_views"]
    sync.add("cam01", 100.0 + 41 / 10, None, 10.0 + 41 / 10)
    sync.poll(10.0 + 41 / 10 + 0.2)
    assert sync.set_drops["too_few_views"] > short
    assert sync.camera_states(20.0) == {"cam01": "paused", "cam02": "paused"}


def test_processing_problems_have_their_own_status():
    health = NodeHealth("pose3d_node", ("cam01",))
    health.reject("pipeline", "no_3d", "only camera cam01 in the set and no monocular lifter")
    first = {s.name: s for s in health.report(seconds_to_stamp(0.0), 1.0).status}
    problems = first["pose3d_node: pipeline problems"]
    assert problems.level == DiagnosticStatus.WARN and "no monocular lifter" in problems.message
    assert {kv.key: kv.value for kv in problems.values}["rejected_no_3d"] == "1"
    later = {s.name: s for s in health.report(seconds_to_stamp(0.0), 2.0).status}
    assert later["pose3d_node: pipeline problems"].level == DiagnosticStatus.OK
    # A review: sets whose processing failed (logged at ERROR) were a WARN problem and the
    # pipeline stayed OK "running", their empty answers counting as output. Now both ERROR
    # in the report after them, and OK again once they stop.
    for k in range(20):
        health.record_output({"total": 0.01}, 0.05, 2.0 + k / 10)
        health.reject("pipeline", "RuntimeError", "processing the set at 1.0 s failed: boom",
                      level="error")
    health.reject("pipeline", "no_3d", "only camera cam01 in the set")   # not the error
    failing = {s.name: s for s in health.report(seconds_to_stamp(0.0), 4.0).status}
    pipeline = failing["pose3d_node: pipeline"]
    assert pipeline.level == DiagnosticStatus.ERROR, pipeline
    assert pipeline.message.startswith("20 processing errors since the last report")
    assert "boom" in pipeline.message
    assert failing["pose3d_node: pipeline problems"].level == DiagnosticStatus.ERROR
    recovered = {s.name: s for s in health.report(seconds_to_stamp(0.0), 5.0).status}
    assert recovered["pose3d_node: pipeline"].level == DiagnosticStatus.OK
    assert recovered["pose3d_node: pipeline problems"].level == DiagnosticStatus.OK


def test_a_reason_is_logged_once_per_level():
    """Found by a review (session 23): a stamp jump after a pause (expected, INFO) used up the
    one log line of its (camera, reason), so a later jump on a live stream, a fault shown as
    WARN on /diagnostics, was never logged."""
    health = NodeHealth("pose3d_node", ("cam01",))
    assert health.reject("cam01", "stamp_jump", "after a pause", kept=True, level="info")
    assert not health.reject("cam01", "stamp_jump", "after a pause", kept=True, level="info")
    assert health.reject("cam01", "stamp_jump", "on a live stream", level="warn")
    assert not health.reject("cam01", "stamp_jump", "on a live stream", level="warn")
    assert health.cameras["cam01"].rejected["stamp_jump"] == 4
    health.note_arrival("cam01", "image", 12.0)
    health.note_arrival("cam01", "image", 12.1)
    assert health.cameras["cam01"].first_image == 12.0
