"""Health of a node, without ROS: counters of its inputs and outputs and the judgements its
/diagnostics shows (ros.diagnostics turns statuses() into a DiagnosticArray).

One status for the processing ("<node>: pipeline": output rate, latency from image stamp to
publication, mean time per stage, dropped frame sets by reason) and one per camera
("<node>: camera <name>": ok/stale/waiting, input rate, frames in, dropped frames by reason,
rejected input by reason with the last message; for a node with a one-camera path, the
person-frames of that camera's sets published, held back unconfirmed and refused as
implausible, and a rig's people whom that camera alone sees published). A camera is WARN
when it is stale, waits for its calibration, or had input rejected since the previous report;
the pipeline is ERROR when frame sets failed to process (or the processing failed between
them) since the previous report, and in every report once the processing thread has ended, WARN
when no output came in the last period while inputs arrive (or on clock faults).

Nodes that take camera_info beside the images also count the arrivals of both (the executor
thread's receive times, before any check): a camera whose camera_info keeps coming while most
of its images do not has its images lost on the way (large best-effort images over DDS) or
published on another topic (images_lost).

Times: `now` and receive times are monotonic seconds (time.monotonic()); durations seconds.
"""
from __future__ import annotations

import statistics
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .sync import FrameSet, FrameSynchronizer

# The levels of diagnostic_msgs/DiagnosticStatus (its byte values).
OK, WARN, ERROR = 0, 1, 2
# Person-frames of a camera's one-camera sets: published, and the core's reasons for holding
# one back (pipeline.PipelineResult.rejected) -> the camera status's keys.
PEOPLE_KEYS = {"published": "person_frames_published",
               "unconfirmed": "person_frames_held_unconfirmed",
               "implausible": "person_frames_refused_implausible",
               "unplaced": "person_frames_refused_unplaced"}
# A rig's people whom the camera alone sees (lone_view_people), published.
LONE_KEYS = {"lone": "lone_person_frames_published"}
_ALL_PEOPLE_KEYS = PEOPLE_KEYS | LONE_KEYS
ARRIVALS_KEPT = 256          # receive times kept per camera and message kind
# images_lost: judged over this many seconds, once at least LOSS_MIN_INFOS camera_info
# messages came in them, when fewer than LOSS_IMAGE_SHARE images per camera_info did.
LOSS_HORIZON_S = 3.0
LOSS_MIN_INFOS = 10
LOSS_IMAGE_SHARE = 0.5
# A mean latency (image stamp to output) over this (s) is not processing: the stamps come from
# another clock (a camera computer's clock off, a bag replayed without --clock).
STAMPS_FROM_ANOTHER_CLOCK_S = 5.0
OUTPUT_RATE_HORIZON_S = 2.0  # the output rate is measured over the last this many seconds
# An image that has waited this long (s) with no output since, or twice the recent spacing of
# the outputs when that is longer (a slow camera, a long set), is "no output" at WARN.
OUTPUT_OVERDUE_S = 2.0
# a rejection logged once is logged again, with its count since, when it goes on this long
# after its last line (a camera's fault that comes back an hour later is told again); one
# whose detail changed (another encoding refused, another size) is told at once, at most this
# often too
LOG_REPEAT_S = 60.0


@dataclass(frozen=True)
class Told:
    """NodeHealth.reject's answer: how many rejections the caller's log line reports (0: no
    line now), and whether it is the first line about them. True when a line is due."""

    count: int
    first: bool

    def __bool__(self) -> bool:
        return self.count > 0


@dataclass
class _LogLines:
    """The log lines about one (camera, reason, level): when the last was told (monotonic s),
    the rejections since, the detail it named and when the last line about a changed detail
    was told (monotonic s)."""

    told_at: float
    since: int = 0
    detail: str = ""
    changed_at: float = -float("inf")


@dataclass(frozen=True)
class HealthStatus:
    """One status of a report: name ("<node>: pipeline", "<node>: camera <name>"), level (OK,
    WARN, ERROR), message, key/values, hardware_id (the node, or "<node>/<camera>")."""

    name: str
    level: int
    message: str
    values: Mapping[str, str]
    hardware_id: str


@dataclass
class CameraHealth:
    """Counters of one camera's input as seen by the node."""

    rejected: Counter = field(default_factory=Counter)
    last_rejection: str = ""
    rejected_since_report: int = 0
    errors_since_report: int = 0      # of those, processing failures (logged at ERROR)
    last_error: str = ""              # the last of those
    calibrated: bool = False
    # what the camera's intrinsics were assumed to be (uncalibrated_hfov_deg), "" when they
    # are its calibration's
    assumed_intrinsics: str = ""
    people: Counter | None = None     # PEOPLE_KEYS reason -> person-frames; None: no 1-cam path
    # Receive times (time.monotonic(), s) of the camera's images and camera_info messages.
    image_arrivals: deque = field(default_factory=lambda: deque(maxlen=ARRIVALS_KEPT))
    info_arrivals: deque = field(default_factory=lambda: deque(maxlen=ARRIVALS_KEPT))
    first_image: float | None = None   # receive time of the camera's first image
    # why the camera's 2D does not fit the others' 3D (core.camera_agreement), "" when it does:
    # WARN on its status for as long as it lasts
    disagrees: str = ""

    def image_within(self, now: float, within_s: float) -> bool:
        """Whether an image of this camera (accepted or not) arrived in the last within_s."""
        return bool(self.image_arrivals) and now - self.image_arrivals[-1] <= within_s


class NodeHealth:
    """Thread-safe counters of a node; statuses() judges them into HealthStatus records."""

    def __init__(self, node_name: str, cameras: list[str] | tuple[str, ...], window: int = 120,
                 constants: dict[str, str] | None = None) -> None:
        self.node_name = node_name
        self.constants = dict(constants or {})   # what configure chose (detector_runtime)
        self.cameras = {name: CameraHealth() for name in cameras}
        self._real_cameras = set(cameras)   # other keys: "pipeline" (processing problems)
        self._lock = threading.Lock()
        self._timings: deque[dict[str, float]] = deque(maxlen=window)
        self._latencies: deque[float] = deque(maxlen=window)
        self._published: deque[float] = deque(maxlen=window)   # monotonic publication times
        self._waiting_since: float | None = None   # first image noted after the last output
        self.outputs = 0
        self.dropped_sets: Counter = Counter()
        self._logged: dict[tuple[str, str, str], _LogLines] = {}

    def record_output(self, timings: dict[str, float], latency_s: float, now: float) -> None:
        with self._lock:
            self._timings.append(dict(timings))
            self._latencies.append(latency_s)
            self._published.append(now)
            self._waiting_since = None
            self.outputs += 1

    def reject(self, camera: str, reason: str, message: str, kept: bool = False,
               level: str = "", now: float | None = None, detail: str = "") -> Told:
        """Count a rejected input; Told: how many rejections of this (camera, reason) at this
        log level the caller's log line should report: 1 the first time, after that 0 (no
        line) until LOG_REPEAT_S have passed since the last line, then the count since it,
        this one included. Per level: a stamp jump after a pause, told at INFO, must not silence a
        later one that is a fault, told at WARN (found by a review). Before, a fault was told
        once per process: a camera failing again an hour later said nothing in the log.
        kept: a notice about an input that was used after all (a stamp jump after a pause):
        counted, without raising the camera's status to WARN. now: monotonic s (default:
        the clock now). detail: what the problem is beyond its reason (the encoding or the
        size refused, ImageDecodeError.detail): one that differs from the last line's is told
        at once with the count since the last line, unless a changed detail was told within
        LOG_REPEAT_S (a review: a driver switched from one refused encoding to another was
        told of the second a minute later; a camera alternating between two makes at most two
        lines a minute)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            health = self.cameras.setdefault(camera, CameraHealth())
            health.rejected[reason] += 1
            health.last_rejection = message
            if not kept:
                health.rejected_since_report += 1
                if level == "error":
                    health.errors_since_report += 1
                    health.last_error = message
            lines = self._logged.get((camera, reason, level))
            if lines is None:
                self._logged[(camera, reason, level)] = _LogLines(now, detail=detail)
                return Told(1, True)
            lines.since += 1
            if detail != lines.detail and now - lines.changed_at >= LOG_REPEAT_S:
                # the new detail's line carries the count since the last line (a review: the
                # old detail's rejections since were told in no line)
                count = lines.since
                lines.told_at, lines.since, lines.detail, lines.changed_at = now, 0, detail, now
                return Told(count, False)
            if now - lines.told_at < LOG_REPEAT_S:
                return Told(0, False)
            count, lines.told_at, lines.since, lines.detail = lines.since, now, 0, detail
            return Told(count, False)

    def camera_items(self) -> list[tuple[str, CameraHealth]]:
        """(name, health) of every camera and of "pipeline", a copy taken under the lock: a
        reader on the executor thread iterates it while the worker may add the "pipeline"
        entry (iterating the dict itself raised 'dictionary changed size during iteration'
        in the diagnostics timer, which ends the node's spin: found by a review)."""
        with self._lock:
            return list(self.cameras.items())

    def camera_states(self, now: float, sync: FrameSynchronizer) -> dict[str, str]:
        """The synchroniser's camera states (FrameSynchronizer.camera_states), but "refused"
        for a camera it takes for silent or waiting whose images arrive all the same (within
        its silence limit): they are refused before the frame sets (no camera_info yet,
        stamps from the future), each told by its own rejection (a review: such a camera was
        logged "no frame ... (stale)")."""
        states = sync.camera_states(now)
        for name, state in states.items():
            health = self.cameras.get(name)
            if state in ("stale", "waiting", "paused") and health is not None and \
                    health.image_within(now, sync.silent_after_s(name)):
                states[name] = "refused"
        return states

    def note_arrival(self, camera: str, kind: Literal["image", "info"], now: float) -> None:
        """Record that an image (kind 'image') or a camera_info ('info') of `camera` was
        received at monotonic time `now` (s), whatever becomes of it."""
        with self._lock:
            health = self.cameras.setdefault(camera, CameraHealth())
            (health.image_arrivals if kind == "image" else health.info_arrivals).append(now)
            if kind == "image" and health.first_image is None:
                health.first_image = now
            if kind == "image" and self._waiting_since is None:
                self._waiting_since = now

    def images_arriving(self, now: float, within_s: float) -> bool:
        """Whether some camera's image (noted by note_arrival, accepted or not) arrived in
        the last within_s (monotonic s)."""
        with self._lock:
            return any(health.image_within(now, within_s) for health in self.cameras.values())

    def image_loss(self, camera: str, now: float) -> tuple[float, float] | None:
        """(camera_info rate, image rate) in Hz over the last LOSS_HORIZON_S seconds when the
        camera's images fall short of its camera_info (images_lost), else None."""
        with self._lock:
            health = self.cameras.get(camera)
            if health is None:
                return None
            infos = sum(now - t <= LOSS_HORIZON_S for t in health.info_arrivals)
            images = sum(now - t <= LOSS_HORIZON_S for t in health.image_arrivals)
        if infos < LOSS_MIN_INFOS or images >= LOSS_IMAGE_SHARE * infos:
            return None
        return infos / LOSS_HORIZON_S, images / LOSS_HORIZON_S

    def count_one_camera_people(self, lone: bool = False) -> None:
        """Report PEOPLE_KEYS for every camera (zeros until counted): the node has a
        one-camera path; lone: also LONE_KEYS (a rig with lone_view_people)."""
        keys = _ALL_PEOPLE_KEYS if lone else PEOPLE_KEYS
        with self._lock:
            for name in self._real_cameras:
                health = self.cameras[name]
                if health.people is None:
                    health.people = Counter(dict.fromkeys(keys, 0))

    def record_people(self, camera: str, counts: dict[str, int]) -> None:
        """Add one one-camera set's person-frames by PEOPLE_KEYS reason, or a rig's lone
        person-frames (LONE_KEYS)."""
        with self._lock:
            health = self.cameras.setdefault(camera, CameraHealth())
            if health.people is None:
                health.people = Counter(dict.fromkeys(PEOPLE_KEYS, 0))
            health.people.update({k: v for k, v in counts.items() if k in _ALL_PEOPLE_KEYS})

    def output_rate_hz(self, now: float, horizon_s: float = OUTPUT_RATE_HORIZON_S) -> float:
        """Outputs per second over the last horizon_s, or over output_overdue_s when that is
        longer (a node below 1 / horizon_s Hz has a rate too: found by a review); 0 with
        fewer than two outputs in it. The time since the last output counts once it is
        longer than the outputs' mean spacing: a node whose output stopped showed its old rate
        until the window emptied (a review: 20.00 Hz 1.9 s after the last output)."""
        horizon_s = max(horizon_s, self.output_overdue_s())
        with self._lock:
            recent = [t for t in self._published if now - t <= horizon_s]
        if len(recent) < 2:
            return 0.0
        span = recent[-1] - recent[0]
        spacing = span / (len(recent) - 1)
        return (len(recent) - 1) / max(span, now - recent[0] - spacing, 1e-9)

    def output_overdue_s(self) -> float:
        """How long an input may wait for an output before it is "no output": OUTPUT_OVERDUE_S
        or twice the median spacing of the last outputs, whichever is longer (s)."""
        with self._lock:
            published = list(self._published)[-9:]
        spacing = statistics.median(b - a for a, b in zip(published, published[1:],
                                                           strict=False)) \
            if len(published) >= 2 else 0.0
        return max(OUTPUT_OVERDUE_S, 2.0 * spacing)

    def waiting_for_output_s(self, now: float) -> float:
        """Seconds the input has waited for an output: since the first image noted after the
        last output, else since the last output (0 before any output and image)."""
        with self._lock:
            since = self._waiting_since
            if since is None and self._published:
                since = self._published[-1]
        return 0.0 if since is None else max(now - since, 0.0)

    def output_stalled_s(self, now: float, inputs_arriving: bool) -> float:
        """Seconds images have waited for an output while they arrive, once that is overdue
        (output_overdue_s); 0 when output is not overdue or no image arrives."""
        waited = self.waiting_for_output_s(now)
        return waited if inputs_arriving and waited > self.output_overdue_s() else 0.0

    def stage_means_ms(self) -> dict[str, float]:
        """Mean time (ms) of every stage over the outputs kept (a stage an output lacks
        counts 0 for it)."""
        with self._lock:
            timings = list(self._timings)
        stages = sorted({k for t in timings for k in t})
        return {s: 1000 * sum(t.get(s, 0.0) for t in timings) / len(timings) for s in stages}

    def statuses(self, now: float, sync: FrameSynchronizer | None = None,
                 inputs_arriving: bool = True, extra: dict[str, str] | None = None,
                 no_sim_clock: bool = False, worker_ended: str = "") -> list[HealthStatus]:
        """The pipeline's status, then every camera's (sync: the node's FrameSynchronizer;
        extra: more key/values for the pipeline status, e.g. tracking counters; no_sim_clock:
        use_sim_time is on and no /clock has come; worker_ended: why the node's processing
        thread ended by itself, '' while it runs: ERROR in every report). A rejection is told
        at WARN (a processing failure at ERROR) in the first report after it only: this
        resets the cameras' rejected_since_report and errors_since_report."""
        rate = self.output_rate_hz(now)
        stalled = self.output_stalled_s(now, inputs_arriving)
        with self._lock:
            latencies = list(self._latencies)
        latency_ms = 1000 * sum(latencies) / len(latencies) if latencies else float("nan")
        # the clock test goes by the median: one odd stamp (a review: an unset stamp, 0) made
        # the mean read "stamps behind this node's clock" for the next 120 outputs
        median_ms = 1000 * statistics.median(latencies) if latencies else float("nan")
        values = {**self.constants, "output_rate_hz": f"{rate:.2f}",
                  "outputs": str(self.outputs), "latency_ms_mean": f"{latency_ms:.1f}",
                  "latency_ms_median": f"{median_ms:.1f}"}
        values.update({f"stage_{k}_ms": f"{v:.2f}" for k, v in self.stage_means_ms().items()})
        drops = Counter(self.dropped_sets)
        if sync is not None:
            drops.update(sync.set_drops)
            values["sets_emitted"] = str(sync.sets_emitted)
        values.update({f"dropped_sets_{k}": str(v) for k, v in sorted(drops.items())})
        values.update(extra or {})
        with self._lock:     # processing failures since the last report (their sets were
            # answered empty, which counts as output: the rate alone hid them; a review)
            problems = self.cameras.get("pipeline")
            failed = problems.errors_since_report if problems is not None else 0
            last_failure = problems.last_error if problems is not None else ""
        level, message = OK, "running"
        if worker_ended:
            level, message = ERROR, (f"the processing thread has ended ({worker_ended}): "
                                     "nothing is processed until the node is deactivated and "
                                     "activated again")
        elif failed:
            # sets that failed (answered empty) and errors of the processing thread between
            # them, each message saying which
            level, message = ERROR, (f"{failed} processing error{'s' if failed > 1 else ''} "
                                     f"since the last report: {last_failure}")
        elif no_sim_clock:
            level, message = WARN, ("use_sim_time is true and no /clock has come: this report "
                                    "and /tf_static are stamped 0 and latency cannot be "
                                    "measured (play the bag with --clock, or set use_sim_time "
                                    "false)")
            values["latency_ms_mean"] = values["latency_ms_median"] = "n/a"   # against 0
        elif stalled:
            level, message = WARN, f"no output for {stalled:.1f} s while images arrive"
        elif not inputs_arriving and rate == 0.0:
            # images that come before their camera's camera_info are rejected before the
            # synchroniser: "no input" misled while every camera sent (a review)
            waiting = [name for name, health in self.camera_items()
                       if not health.calibrated and health.rejected["no_camera_info"]]
            message = (f"waiting for camera_info of {', '.join(waiting)} (their input is "
                       "left out until it comes)" if waiting else "no input")
        elif not self.outputs:
            message = "waiting for the first output"
        elif median_ms > 1000 * STAMPS_FROM_ANOTHER_CLOCK_S:
            level, message = WARN, (
                f"image stamps {median_ms / 1000:.1f} s behind this node's clock: a camera "
                "computer's clock is off (sync it: chrony), or a bag is replayed without "
                "--clock and use_sim_time; latency_ms_median shows that difference")
        statuses = [HealthStatus(f"{self.node_name}: pipeline", level, message, values,
                                 self.node_name)]
        states = sync.camera_states(now) if sync is not None else {}
        seen = self.camera_states(now, sync) if sync is not None else {}
        for name, health in self.camera_items():
            state = seen.get(name, "n/a")
            values = {"state": state, "calibrated": str(health.calibrated).lower()}
            if health.assumed_intrinsics:
                values["intrinsics_assumed"] = health.assumed_intrinsics
            if sync is not None and name in sync.state:
                cam = sync.state[name]
                silent = states.get(name) in ("stale", "paused")
                values.update({"input_rate_hz": f"{0.0 if silent else cam.rate_hz:.2f}",
                               "frames_in": str(cam.frames_in)})
                values.update({f"dropped_{k}": str(v) for k, v in sorted(cam.drops.items())})
            with self._lock:         # read and reset together: a rejection the worker
                # counts meanwhile is told in this report or the next, never lost (a review)
                rejected = sorted(health.rejected.items())
                people = dict(health.people) if health.people is not None else {}
                new_rejections, last_rejection = (health.rejected_since_report,
                                                  health.last_rejection)
                new_errors = health.errors_since_report
                health.rejected_since_report = health.errors_since_report = 0
            values.update({f"rejected_{k}": str(v) for k, v in rejected})
            values.update({_ALL_PEOPLE_KEYS[k]: str(v) for k, v in people.items()})
            level, message = OK, "ok"
            if state == "stale":
                never = sync is not None and name in sync.state and \
                    sync.state[name].frames_in == 0
                level, message = WARN, ("stale: no frame yet while the others send (not waited "
                                        "for)" if never else
                                        "stale: no frame within stale_after_s (or two of "
                                        "its frame intervals, when longer)")
            elif state == "paused":
                level, message = WARN, ("paused: no frame within stale_after_s (or two of its "
                                        "frame intervals, when longer; still waited for: not "
                                        "yet stale)")
            elif not health.calibrated and health.image_within(now, LOSS_HORIZON_S):
                level, message = WARN, "images arrive, no valid camera_info yet"
            elif state == "refused":
                level, message = WARN, ("images arrive and are refused before the frame "
                                        f"sets: {health.last_rejection or 'see rejected_*'}")
            elif state == "waiting":
                level, message = WARN, "waiting for the first frame"
            elif not health.calibrated:
                level, message = WARN, "waiting for a valid camera_info"
            if level == OK and health.disagrees:
                level, message = WARN, health.disagrees
            if level == OK and health.assumed_intrinsics and health.calibrated:
                message = ("ok; not calibrated: intrinsics assumed (intrinsics_assumed), "
                           "distances scale with the true focal length")
            if new_rejections:
                level, message = WARN, f"rejected input: {last_rejection}"
            if last_rejection:
                values["last_rejection"] = last_rejection
            label = f"camera {name}"
            if name not in self._real_cameras:    # "pipeline": problems while processing
                label = f"{name.lstrip('/')} problems"     # (or a topic's: "/tf_static")
                values = {k: v for k, v in values.items() if k.startswith(("rejected_", "last_"))}
                level, message = (ERROR if new_errors else WARN, f"problem: {last_rejection}") \
                    if level == WARN and message.startswith("rejected") else (OK, "no new problem")
            statuses.append(HealthStatus(f"{self.node_name}: {label}", level, message, values,
                                         f"{self.node_name}/{name.lstrip('/')}"))
        return statuses


def output_timings(stages: Mapping[str, float], publish_s: float, frame_set: FrameSet,
                   now: float, latency_s: float) -> dict[str, float]:
    """The timings (s) of one output: the pipeline's `stages` (with "total" and maybe
    "decode"), "publish" (publish_s), and the node's own:
      wait    from the set's first image in the node (frame_set.opened) to `now`, less the
              processing (total, publish, decode)
      gather  part of the wait: from the set's first image in the node to its last
      arrive  before the node: from the capture stamp to the set's first image in the node
              (latency_s, capture stamp to now on the node's clock, less the time since the
              set opened; 0 when clocks make that negative)
    now and the frames' receive times: monotonic s."""
    timings = {**stages, "publish": publish_s}
    since_opened = max(now - frame_set.opened, 0.0)
    timings["wait"] = (since_opened - timings["total"] - publish_s
                       - timings.get("decode", 0.0))
    timings["gather"] = max(f.received for f in frame_set.frames.values()) - frame_set.opened
    timings["arrive"] = max(latency_s - since_opened, 0.0)
    return timings
