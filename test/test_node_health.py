"""core.node_health without ROS or DDS: the output rate, the images_lost judgement, the
statuses /diagnostics shows (ros.diagnostics only builds their messages: test_ros_outputs)
and the timings of one output (wait, gather, arrive)."""
from __future__ import annotations

import pytest

from pose3d_ros.core.node_health import (
    LOG_REPEAT_S,
    LOSS_HORIZON_S,
    OK,
    WARN,
    NodeHealth,
    output_timings,
)
from pose3d_ros.core.sync import Frame, FrameSet, FrameSynchronizer


def test_output_rate_counts_the_last_two_seconds():
    health = NodeHealth("node", ("cam01",))
    assert health.output_rate_hz(10.0) == 0.0                  # nothing published
    health.record_output({"total": 0.01}, 0.05, 10.0)
    assert health.output_rate_hz(10.0) == 0.0                  # one output: no rate
    for k in range(1, 5):
        health.record_output({"total": 0.01}, 0.05, 10.0 + k * 0.1)
    assert health.output_rate_hz(10.4) == pytest.approx(10.0)
    assert health.output_rate_hz(10.48) == pytest.approx(10.0)  # within one spacing
    # the output stopped at 10.4: the time since counts beyond one spacing (a review: the
    # old rate stayed until the window emptied)
    assert health.output_rate_hz(10.9) == pytest.approx(4 / 0.8)
    assert health.output_rate_hz(12.15) == pytest.approx(2 / 1.85)  # 10.2 .. 10.4 still in
    assert health.output_rate_hz(12.35) == 0.0                 # only 10.4 left in 2 s
    assert health.output_rate_hz(13.0, horizon_s=5.0) == pytest.approx(4 / 2.9)


def _arrivals(health: NodeHealth, camera: str, infos: int, images: int, end: float) -> None:
    """`infos` camera_info and `images` images of `camera` spread evenly over the
    LOSS_HORIZON_S before `end`."""
    for kind, count in (("info", infos), ("image", images)):
        for k in range(count):
            health.note_arrival(camera, kind, end - k * LOSS_HORIZON_S / count)


def test_images_lost_when_fewer_than_half_the_camera_infos_come():
    health = NodeHealth("node", ("cam01", "cam02", "cam03"))
    _arrivals(health, "cam01", infos=30, images=6, end=100.0)      # 10 Hz info, 2 Hz images
    assert health.image_loss("cam01", 100.0) == pytest.approx((10.0, 2.0))
    _arrivals(health, "cam02", infos=30, images=15, end=100.0)     # half: not lost
    assert health.image_loss("cam02", 100.0) is None
    _arrivals(health, "cam03", infos=9, images=0, end=100.0)       # too few camera_infos
    assert health.image_loss("cam03", 100.0) is None
    assert health.image_loss("cam01", 100.0 + 2 * LOSS_HORIZON_S) is None   # all old now
    assert health.image_loss("unknown", 100.0) is None


def test_statuses_judge_the_pipeline_without_ros():
    health = NodeHealth("node", ("cam01",))
    # 2D before its camera_info is refused before the synchroniser: not "no input" (a review
    # of the fusion node fed 2D without camera_info)
    health.reject("cam01", "no_camera_info", "2D skeletons before any valid camera_info")
    pipeline = health.statuses(10.0, inputs_arriving=False)[0]
    assert (pipeline.level, pipeline.message) == (
        OK, "waiting for camera_info of cam01 (their input is left out until it comes)")
    health.cameras["cam01"].calibrated = True
    pipeline = health.statuses(10.0, inputs_arriving=False)[0]
    assert (pipeline.level, pipeline.message) == (OK, "no input")
    health.note_arrival("cam01", "image", 8.0)        # an image waits 2 s: OK until then
    pipeline = health.statuses(9.9, inputs_arriving=True)[0]
    assert (pipeline.level, pipeline.message) == (OK, "waiting for the first output")
    pipeline = health.statuses(10.0 + 1e-6, inputs_arriving=True)[0]
    assert (pipeline.level, pipeline.message) == (WARN, "no output for 2.0 s while images "
                                                        "arrive")
    for k in range(5):
        health.record_output({"detect": 0.02, "total": 0.03}, 0.05, 10.0 + k * 0.1)
    pipeline, camera = health.statuses(10.5)
    assert (pipeline.level, pipeline.message, pipeline.hardware_id) == (OK, "running", "node")
    assert pipeline.values["output_rate_hz"] == "10.00"
    assert pipeline.values["stage_detect_ms"] == "20.00"
    assert (camera.name, camera.level, camera.hardware_id) == ("node: camera cam01", OK,
                                                               "node/cam01")
    assert health.statuses(10.5, no_sim_clock=True)[0].level == WARN


def test_a_rejection_is_warned_in_one_report_and_counted_in_all():
    sync = FrameSynchronizer(("cam01",), min_views=1, stale_after_s=1.0)
    health = NodeHealth("node", ("cam01",))
    health.cameras["cam01"].calibrated = True
    sync.add("cam01", 1.0, None, 10.0)
    health.reject("cam01", "truncated", "camera 'cam01': data holds 5 bytes")
    camera = health.statuses(10.2, sync)[1]
    assert camera.level == WARN and camera.message.startswith("rejected input: camera 'cam01'")
    camera = health.statuses(10.4, sync)[1]
    assert camera.level == OK and camera.values["rejected_truncated"] == "1"


def test_a_rejection_that_goes_on_or_comes_back_is_logged_again_with_its_count():
    """Each (camera, reason, level) is logged the first time, then at most once every
    LOG_REPEAT_S while it goes on, with the count since the last line (before: once per
    process, so a camera failing again an hour later said nothing in the log). Every
    rejection is counted on /diagnostics either way; other cameras, reasons and levels
    have their own lines."""
    health = NodeHealth("node", ("cam01", "cam02"))
    t = 100.0

    def told(camera="cam01", level="", at=t):
        said = health.reject(camera, "truncated", "short", level=level, now=at)
        return (said.count, said.first) if said else 0

    assert told() == (1, True)
    assert [told(at=t + k) for k in range(1, 6)] == [0] * 5
    assert told("cam02", at=t + 6) == (1, True)                             # its own line
    assert told(level="info", at=t + 6) == (1, True)
    # still going on a minute after its line: told again, with the 6 since (this one too)
    assert told(at=t + LOG_REPEAT_S) == (6, False)
    assert told(at=t + LOG_REPEAT_S + 1) == 0
    # an hour later, once more: told again (2 since the last line), and a lone recurrence
    # after that is a repeat too, not a first line
    assert told(at=t + 3600.0) == (2, False)
    assert told(at=t + 7200.0) == (1, False)
    assert health.cameras["cam01"].rejected["truncated"] == 11

def test_a_rejection_whose_detail_changes_is_told_at_once_without_a_flood():
    """A review (session 67): a driver switched from one refused encoding (16UC1) to another
    (32FC1) was told of the second only at the next minute's line. A changed detail (the
    encoding, format or size refused: ImageDecodeError.detail) is told at once, with the
    count since the last line; a camera alternating between two at 30 fps is told at most
    twice a minute."""
    health = NodeHealth("node", ("cam01",))
    t = 100.0

    def told(detail, at):
        said = health.reject("cam01", "unsupported_encoding", f"encoding {detail!r}", now=at,
                             detail=detail)
        return (said.count, said.first) if said else 0

    assert [told("16UC1", t + k / 30) for k in range(3)] == [(1, True), 0, 0]
    # the new encoding's line counts the rejections since the last line: 16UC1's two and it
    assert [told("32FC1", t + (3 + k) / 30) for k in range(3)] == [(3, False), 0, 0]
    assert told("32FC1", t + LOG_REPEAT_S + 1) == (3, False)     # going on: as before
    start = t + 200.0
    lines = [k for k in range(30 * 180)
             if told(("16UC1", "32FC1")[k % 2], start + k / 30)]
    assert 3 <= len(lines) <= 2 * 3 + 1, lines


def test_a_problem_counted_while_a_report_is_made_is_told_in_the_next_one():
    """The worker's first processing problem adds the "pipeline" entry; landing while the
    executor's report went over the cameras, it raised 'dictionary changed size during
    iteration' out of the diagnostics timer (a review). Made to land there: cam01's health
    counts it when the report asks whether its images arrive."""
    from pose3d_ros.core.node_health import CameraHealth

    health = NodeHealth("node", ("cam01",))

    class ProblemMeanwhile(CameraHealth):
        def image_within(self, now: float, within_s: float) -> bool:
            if "pipeline" not in health.cameras:
                health.reject("pipeline", "ValueError", "processing the set at 1.0 s failed")
            return super().image_within(now, within_s)

    health.cameras["cam01"] = ProblemMeanwhile()
    assert [s.name for s in health.statuses(10.0)] == ["node: pipeline", "node: camera cam01"]
    told = health.statuses(10.5)[2]
    assert (told.name, told.level) == ("node: pipeline problems", WARN), told
    assert told.message == "problem: processing the set at 1.0 s failed"


def test_images_without_camera_info_are_warned():
    health = NodeHealth("node", ("cam01",))
    health.note_arrival("cam01", "image", 10.0)
    camera = health.statuses(10.5)[1]
    assert (camera.level, camera.message) == (WARN, "images arrive, no valid camera_info yet")
    camera = health.statuses(10.0 + 2 * LOSS_HORIZON_S)[1]        # images stopped
    assert (camera.level, camera.message) == (WARN, "waiting for a valid camera_info")


def _frame_set(opened: float, received: list[float]) -> FrameSet:
    frames = {f"cam{i}": Frame(f"cam{i}", 1.0, t, None) for i, t in enumerate(received)}
    return FrameSet(1.0, frames, (), opened)


def test_output_timings_split_the_time_since_the_set_opened():
    stages = {"decode": 0.02, "detect": 0.05, "total": 0.10}
    timings = output_timings(stages, 0.01, _frame_set(10.0, [10.0, 10.03]), now=10.2,
                             latency_s=0.5)
    assert timings["detect"] == 0.05 and timings["publish"] == 0.01
    assert timings["wait"] == pytest.approx(0.2 - 0.10 - 0.01 - 0.02)
    assert timings["gather"] == pytest.approx(0.03)
    assert timings["arrive"] == pytest.approx(0.5 - 0.2)
    assert "wait" not in stages                                   # the stages are not changed
    # a latency shorter than the time in the node (stamps from another clock): arrive 0;
    # a monotonic now before the set opened: nothing waited (the processing counts negative)
    odd = output_timings({"total": 0.1}, 0.0, _frame_set(10.0, [10.0]), now=9.9, latency_s=0.0)
    assert odd["arrive"] == 0.0 and odd["wait"] == pytest.approx(-0.1) and odd["gather"] == 0.0


def test_a_node_slower_than_one_output_per_two_seconds_is_running_not_silent():
    """Found by a review: a camera at 0.6 Hz whose every set was answered was reported at WARN
    "no output in the last 2 s" with output_rate_hz 0.00 in most reports (the rate counted
    only outputs within 2 s, and a rate of 0 with images arriving was "no output"). The rate
    now comes from the last outputs, and "no output" means an image waited past twice the
    outputs' spacing (at least 2 s) with no output since."""
    health = NodeHealth("node", ("cam01",))
    health.cameras["cam01"].calibrated = True
    reports = []
    for k in range(9):
        t = 100.0 + 1.6 * k
        health.note_arrival("cam01", "image", t)
        health.record_output({"total": 0.005}, 0.01, t + 0.01)
        for step in (0.3, 0.8, 1.3):                   # diagnostics between the images
            reports.append(health.statuses(t + step, inputs_arriving=True)[0])
    late = reports[3:]
    assert all(r.level == OK and r.message == "running" for r in late), \
        [(r.message, r.values["output_rate_hz"]) for r in late]
    assert all(abs(float(r.values["output_rate_hz"]) - 1 / 1.6) < 0.01 for r in late)
    # the camera stops being answered: an image waits past twice the spacing (3.2 s)
    t = 100.0 + 1.6 * 9
    health.note_arrival("cam01", "image", t)
    assert health.statuses(t + 3.0, inputs_arriving=True)[0].level == OK
    pipeline = health.statuses(t + 3.3, inputs_arriving=True)[0]
    assert pipeline.level == WARN and pipeline.message.startswith("no output for 3.3 s")
    assert health.output_rate_hz(t + 3.3) == 0.0


def test_a_topics_problems_are_named_without_a_doubled_slash():
    """A bad /tf_static was reported as "node: /tf_static problems" with hardware id
    "node//tf_static" (a review from a consumer's side)."""
    health = NodeHealth("node", ("cam01",))
    health.reject("/tf_static", "extrinsics_tf", "/tf_static: a NaN rotation")
    told = health.statuses(10.0)[-1]
    assert (told.name, told.hardware_id) == ("node: tf_static problems", "node/tf_static")


def test_a_camera_that_disagrees_with_the_rig_reads_warn_while_it_does():
    """A review: a camera told apart by camera_agreement (its pose off) kept level OK on
    /diagnostics, the fault only a counter. Its status is WARN with the reason while it
    lasts."""
    health = NodeHealth("node", ("cam01", "cam02"))
    health.cameras["cam01"].calibrated = health.cameras["cam02"].calibrated = True
    health.cameras["cam01"].disagrees = "camera 'cam01' disagrees with the others"
    by_name = {s.name: s for s in health.statuses(10.0)}
    assert by_name["node: camera cam01"].level == WARN
    assert by_name["node: camera cam01"].message == "camera 'cam01' disagrees with the others"
    health.cameras["cam01"].disagrees = ""
    cleared = {s.name: s for s in health.statuses(11.0)}["node: camera cam01"]
    assert "disagrees" not in cleared.message
