"""Multi-camera frame synchroniser: groups frames whose stamps lie within `slop` seconds.

Why our own: message_filters cannot be installed here (no wheel for pip-installed ROS 2), and
its ApproximateTimeSynchronizer only ever emits COMPLETE sets, so a rig whose camera stops would
stop producing 3D altogether. This synchroniser emits partial sets and keeps going.

Rules (all times in seconds; `stamp` = capture time from the image header, `now` = the
receiver's monotonic clock):
  * A frame joins an open set whose frames (but this camera's) would all lie within `slop`
    of it and of each other: one without a frame of this camera first, then the one whose
    mean stamp is nearest. If that set already has a frame of this camera (a camera running
    faster than the others), the frame nearer the other cameras' frames of the set is kept
    and the other is dropped ("superseded"). (A set anchored at its first frame let a fast
    camera's frames open sets at every phase and split the frames of one instant over two
    of them: with a camera at 10x the rate, an audit saw a third of the sets emitted
    without a camera and the others' latency p95 at 41 ms.)
  * A set is finished as soon as no live camera can still contribute (each live camera is
    either in the set or has already sent a later frame than its lowest stamp + `slop`), or
    when it has been open for `timeout_s`. A finished set with >= `min_views` cameras is
    emitted; otherwise it is dropped ("too_few_views"). A camera that made
    MISSED_SETS_NOT_WAITED sets wait their timeout since its last frame, sets it was overdue
    for (stamped more than OVERDUE_PERIODS of its own frame interval after its last frame:
    it stopped, or holds its frames back to send them in a burst; a camera at a lower rate
    than the others is not overdue between its frames), is not waited for until its next
    frame: the later sets leave with the other cameras' frames, not timeout_s later (but a
    set that cannot reach `min_views` without it still waits).
    (Before, each set of the first stale_after_s waited timeout_s: 30 sets at 30 fps, an
    audit measured 157 ms.)
    A camera whose frame comes after its set left without waiting for it (the camera was not
    live yet, or not waited for) is "lagging": not waited for until stale_after_s after its
    last such frame; but STEADY_LATE_FRAMES of them in a row that came within timeout_s of
    their sets' opening, about a capture interval apart (not a burst), make it waited for
    again. (A camera slower than the others that joined after them was never in a set
    again: each of its frames came after a set nobody had waited for it; a review's
    simulation: 6 of 720 sets with a camera 60-90 ms slower.)
    A camera's frame that comes after a set which waited for it left without it (timed
    out, or given up on: below), within slop_s of that set's stamps, is dropped ("late"),
    not made a set of its own: that would give the instant a second, one-camera output.
  * A set also stops waiting for a camera whose frame is later than its frames have been: lost
    on the way (a lossy link, a best-effort sample dropped) or never sent (a camera that just
    stopped). Each frame in an emitted set of two or more leaves its arrival lag (its received -
    the set's first frame's received, or input_resumed() if later); once ARRIVAL_LAGS_NEEDED are
    known, a set gives the camera up LOSS_LAG_FACTOR x the longest of its last ARRIVAL_LAGS_KEPT
    lags + LOSS_LAG_MARGIN_S after it opened (or after input_resumed(), when a consumer held the
    frames back); before that, once the rig has ARRIVAL_LAGS_NEEDED lags of all its cameras, by
    the longest of those (the first sets of a camera, or of the node: a frame lost there held
    its set timeout_s; not when a consumer holds frames back), if the camera is due a frame by
    the set (_due: a set between two frames of a slower camera waits as above) and the set has
    min_views without it. Sets given up on count toward MISSED_SETS_NOT_WAITED like timed-out
    ones. The frame, should it come, is dropped ("given_up") and its lag kept, so the wait
    lengthens; the camera is not then "lagging". (Found by a simulation of lossy links: at 20 %
    loss a set without the camera waited for its next frame, a frame period, and 27 of 300 sets
    were dropped as "behind" when two left at once.)
    SyncParams.give_up_late False waits as before (a lock-step replay, where every frame comes).
  * A consumer that holds frames back while busy (input_resumed) gets, when it resumes, each
    camera's newest held frame; these may straddle two instants (one camera's frame of the
    next capture came just before the hold ended). With SyncParams.complete_after_resume (off
    by default: about 8 % fewer sets a second live, more views each; results_nodes.md,
    session 35), until a set leaves, a set that would
    leave without such a camera, while a newer set is filling, is dropped ("behind"): its
    frame of the set was replaced in the hold, the set would be one frame period older and
    short of views, and the newer set completes within the cameras' lag spread. The camera
    counts only if its newest frame is the one handed over and lies past the set, it was
    due a frame by the set (a 15 Hz camera beside 30 Hz ones takes every other instant), it
    was in the last set beside one of the set's cameras (a camera out of step with the
    others never is) and the cameras run at one rate (_one_rate: beside a 25 Hz camera the
    newer set was often that camera's alone; received intervals of 1-3 periods count as one
    rate). (Found by a simulation of the gated node, benchmarks/sim_sync_gate.py: 5-6 % of
    its four-camera sets left with 1-3 views, about 37 ms old; two reviews found the first
    versions stalled a rig with a camera out of step for good, and dropped whole sets
    beside a 15 Hz camera.)
  * A camera that sent nothing for `stale_after_s`, or SILENT_PERIODS of its own typical
    frame interval when that is longer (counting from the first frame of any camera if it
    never sent one) and missed a set that was emitted without it is "stale": it
    no longer holds sets back, is reported by camera_states(), and comes back to "ok" with
    its next frame. (A pause of the whole rig therefore makes no camera stale. camera_states
    also reports stale, still waited for, one whose others' frames leave too short for
    min_views well after its last frame: such a rig emits no set.) Until then a
    camera that has sent nothing since the synchroniser started is given up on like one in
    its first sets (the rig's lags, below; where no consumer holds frames back): it held
    every set of the first second for timeout_s. A set short of min_views waits for the
    cameras not live too, until each of its own cameras has sent a later frame (it would
    be dropped, publishing nothing sooner; a camera starting late completes it).
  * Robust to bad stamps: a stamp equal to the camera's previous one is dropped
    ("duplicate_stamp"); one that goes backwards is dropped ("stamp_backwards") unless the
    stream restarted (a bag loop, a simulated clock reset), which resets the synchroniser
    ("time_reset"). A restart is a jump back to within RESTART_NEAR_START_S of the first
    stamp of the current stream (a replay starting over, its first frames possibly lost on
    the way), or a jump back that is confirmed: by the camera's next frame continuing
    forward from the new stamp, or by another camera jumping back too (the confirmed frame
    is then kept). One frame far back alone is a bad stamp, however far (a review: one
    glitch 5 s back restarted every track of a one-camera node; a jump back of more than
    3 s was a restart at once before). A frame older
    than the last emitted set is dropped ("late"); forward jumps are accepted (the sets left
    behind finish by the liveness rule or their timeout).
  * A camera whose stamps are on another clock than the others' can meet no other camera's
    frame in a set. Each frame's offset is measured timeout_s after it came: its delay
    (received - stamp) minus the delay on which the other cameras' frames that arrived
    nearest to it (before or after, within timeout_s) agree, when most of the cameras with
    such a frame, itself counted, agree within timeout_s / 2 (at least two others). When
    each of its last CLOCK_OFFSET_MIN_FRAMES offsets lies more than `timeout_s` on the same
    side, all within `timeout_s` of each other, its frames are dropped ("clock_offset") and
    it is not waited for, so that it neither holds the sets back nor, running ahead, makes
    the others' frames "late"; they join again once its clock agrees. Until that is found,
    a set of one camera's frame that finished without most of the live cameras (at least
    two, none of them already found) that deliver frames stamped more than `timeout_s`
    before it is dropped ("ahead"): emitted, it would make their frames late.
    (Found by an audit: a detector whose clock came back 0.5 s ahead had its frames left
    out while its status read ok; with min_views 1, every other camera's frames were
    "late". Measuring against the frames that arrive nearest, not those just before, keeps
    a fast replay of a low-rate bag whole; the bound on the spread, a backlog taken one
    camera after another and a jittery link: all found by a review of the first version.)
  * A camera that delivers late (its frame came after the set of its stamp had left: bursts,
    a congested link) is "lagging" for the next `stale_after_s`: sets are not held back
    waiting for it, so it cannot raise the latency of the others; its frames still join the
    sets that are open when they arrive.
  * Bounded memory, never growing latency: at most `max_open_sets` open sets (the oldest is
    dropped, "queue_full") and at most `ready_queue_size` finished sets waiting; pop_latest()
    returns the NEWEST finished set and drops the older ones ("behind").
Every drop is counted per camera and reason. No timer is needed between frames:
next_deadline() says when poll() can next finish a set, so a caller can sleep until then.
Input rates are measured from the capture stamps over a window of frames, so frames delivered
in bursts (a busy executor, a network hiccup) do not inflate them; a camera's capture rate
comes from its shortest stamp intervals, so frames lost on the way do not lower it, and its
typical rate from the median interval, which a few stamps close together do not raise;
cameras_far_above() needs both to call a camera fast.
"""
from __future__ import annotations

import statistics
from bisect import bisect_left, bisect_right
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

RATE_WINDOW_FRAMES = 30   # frames over which a camera's input rate is measured
# A jump back to within this of the stream's first stamp (s) is a restart at once: a replay
# starting over, whose first frames of the pass may have been lost on the way.
RESTART_NEAR_START_S = 0.25
# A camera whose frames are this far from the others' (more than slop_s) in this share of
# its recent frames, with at least CLOCK_OFFSET_MIN_FRAMES of them, stamps on another clock;
# so does one whose last CLOCK_OFFSET_MIN_FRAMES frames arrived more than timeout_s sooner or
# later, against their stamps, than the others'.
CLOCK_OFFSET_SHARE = 0.8
CLOCK_OFFSET_MIN_FRAMES = 10
# A camera that made this many sets wait their timeout_s since its last frame is no longer
# waited for until its next frame comes.
MISSED_SETS_NOT_WAITED = 2
# ... counting only the sets it is overdue for: stamped more than this many of its typical
# frame intervals after its last frame.
OVERDUE_PERIODS = 1.5
# A set is not held back for a camera whose next frame is not due by then: expected one
# shortest capture interval after its last, less this share of it for jitter
# (FrameSynchronizer._not_due).
NOT_DUE_JITTER = 0.1
# ... for a camera capturing this many times slower than the others (median) or more
# (FrameSynchronizer._slower_cameras)
SLOWER_FACTOR = 1.5
# The rule for sets a consumer's hold made short (module docstring) applies while the cameras
# run at one rate: each one's capture interval within this fraction of 1, 2 or 3 times the
# shortest (a consumer that holds frames back receives every 2nd or 3rd frame of some).
ONE_RATE_TOLERANCE = 0.1
ONE_RATE_MULTIPLES = 3
# ... and that interval is measured over the camera's stamps of this last span (s) when three
# or more of its intervals lie there (CameraSyncState.recent_rate_hz).
RECENT_RATE_WINDOW_S = 1.5
# A camera slower than 1 / stale_after_s (a topic throttled to 0.5 Hz) is silent, paused or
# stale, only after this many of its own typical frame intervals without a frame
# (FrameSynchronizer.silent_after_s).
SILENT_PERIODS = 2.0
# A set is not held back for a camera whose frame is later than it has ever been: lost on the
# way (a lossy link, a dropped DDS sample) or not sent (a camera that just stopped). Its frames'
# arrival lags (received - the set's first frame received, s) over its last ARRIVAL_LAGS_KEPT
# frames in sets, ARRIVAL_LAGS_NEEDED or more, say how long a set waits for it: LOSS_LAG_FACTOR
# x the longest, plus LOSS_LAG_MARGIN_S (CameraSyncState.gives_up_after_s).
ARRIVAL_LAGS_KEPT = 300
ARRIVAL_LAGS_NEEDED = 20
LOSS_LAG_FACTOR = 1.5
LOSS_LAG_MARGIN_S = 0.005
# A camera not waited for because its frames came after their sets left ("lagging") is waited
# for again after this many frames in a row that came after their set left but within
# timeout_s of its opening, one capture interval or so apart (a camera slower than the others
# that joined after them: each of its frames came after a set nobody had held for it, and it
# was never in a set again; not a burst's frames, which come together)
STEADY_LATE_FRAMES = 3
# Sets that left without a camera they waited for (given up on, or timed out) that are
# remembered, to know that camera's frame of the same instant when it comes after all.
LEFT_WITHOUT_KEPT = 32
# Frames' arrivals kept per camera to measure their offsets (covers 2 timeout_s at 300 fps
# with timeout_s 3 s).
ARRIVALS_KEPT = 2000


@dataclass(frozen=True)
class SyncParams:
    """Synchroniser settings (s = seconds): slop_s, largest stamp difference within a set;
    min_views, fewest cameras a set needs; timeout_s, longest a set waits for missing cameras;
    stale_after_s, silence after which a camera is no longer waited for; queue_size, finished
    sets kept while the consumer is busy; max_open_sets, sets being filled at once;
    give_up_late, stop waiting for a camera whose frame is later than its frames have been
    (module docstring; False: wait for it, e.g. a lock-step replay, where every frame comes);
    complete_after_resume, drop a set that a consumer's hold made short for the newer set
    (module docstring; off by default: the short set leaves at once, about 8 % more sets a
    second live with fewer views each, benchmarks/results_nodes.md session 35)."""

    slop_s: float = 0.010
    min_views: int = 1
    timeout_s: float = 0.100
    stale_after_s: float = 1.0
    queue_size: int = 2
    max_open_sets: int = 16
    give_up_late: bool = True
    complete_after_resume: bool = False


@dataclass(frozen=True)
class Frame:
    """One camera frame: stamp (s, capture time), received (s, monotonic), payload (anything)."""

    camera: str
    stamp: float
    received: float
    payload: Any


@dataclass(frozen=True)
class FrameSet:
    """Frames of several cameras taken at (nearly) the same time.

    stamp: mean capture stamp of the frames (s). frames: camera -> Frame, in rig order.
    missing: cameras of the rig without a frame in this set.
    """

    stamp: float
    frames: dict[str, Frame]
    missing: tuple[str, ...]
    opened: float


def mean_stamp_ns(stamps: Sequence[int]) -> int:
    """The stamp of a frame set (int ns): the mean of its frames' header stamps (int ns),
    exact in integers and rounded half up (a tie, e.g. two stamps whose sum is odd, goes to
    the later nanosecond).
    The node publishes a set's 3D under this stamp (ros.conversions.mean_stamp) and the
    offline readers (core.bag_tracks.index_frame_sets) stamp a bag's sets with it, so both
    give one instant the same stamp, bit for bit; one stamp comes back unchanged. (Float
    seconds, as FrameSet.stamp, lose up to a few hundred ns at today's epoch.)"""
    if not stamps:
        raise ValueError("mean_stamp_ns needs at least one stamp")
    total = sum(int(s) for s in stamps)
    return (total + len(stamps) // 2) // len(stamps)


@dataclass
class CameraSyncState:
    """What the synchroniser knows about one camera."""

    frames_in: int = 0
    last_stamp: float | None = None
    last_received: float | None = None
    drops: Counter = field(default_factory=Counter)
    first_stamp: float | None = None        # first stamp of the current stream
    lagging_until: float = -float("inf")    # delivered after its set left: not waited for
    rewound_to: float | None = None         # a jump back waiting for confirmation
    recent_stamps: deque = field(default_factory=lambda: deque(maxlen=RATE_WINDOW_FRAMES))
    # intervals (s) between its recent stamps, set by note_rates at each new frame (0:
    # unknown): the 10th percentile, the median, and the 10th percentile of the last
    # RECENT_RATE_WINDOW_S
    capture_interval_s: float = 0.0
    typical_interval_s: float = 0.0
    recent_interval_s: float = 0.0
    # (received, stamp) of its recent frames, in arrival order, and those whose offset to
    # the other cameras is not measured yet (it needs the frames around them: timeout_s)
    # (kept for 2 timeout_s: what measuring a frame timeout_s old needs; at most
    # ARRIVALS_KEPT)
    arrivals: deque = field(default_factory=lambda: deque(maxlen=ARRIVALS_KEPT))
    unmeasured: deque = field(default_factory=lambda: deque(maxlen=ARRIVALS_KEPT))
    # its recent frames' delay (received - stamp) minus the delay on which the other cameras'
    # frames that arrived nearest to each agree (s): their clocks' difference, plus transport
    recent_offsets: deque = field(default_factory=lambda: deque(maxlen=CLOCK_OFFSET_MIN_FRAMES))
    clock_offset_run: int = 0               # frames in a row dropped as "clock_offset"
    missed_sets: int = 0                    # sets timed out waiting for it since its last frame
    # how long after its set's first frame each of its recent frames came (s; module docstring)
    arrival_lags: deque = field(default_factory=lambda: deque(maxlen=ARRIVAL_LAGS_KEPT))
    longest_lag_s: float = 0.0              # the longest of arrival_lags (s)
    gives_up_after_s: float = float("inf")  # a set waits this long for it (s; inf: unknown)
    steady_late: int = 0                    # frames in a row late but waitable (STEADY_LATE_FRAMES)
    waited_after: float = -float("inf")     # the sets up to this stamp left before it was
    #                                         waited for again (its frames of them are late)

    @property
    def rate_hz(self) -> float:
        """Input rate (Hz) of the frames received, from the capture stamps of the last frames
        (0 until two)."""
        if len(self.recent_stamps) < 2:
            return 0.0
        span = self.recent_stamps[-1] - self.recent_stamps[0]
        return (len(self.recent_stamps) - 1) / span if span > 0 else 0.0

    @property
    def capture_rate_hz(self) -> float:
        """The rate the camera captures at (Hz): from the shortest intervals between
        consecutive stamps (10th percentile), so frames lost on the way (which lengthen
        intervals) do not lower it; 0 until 3 intervals are known."""
        return _per_second(self.capture_interval_s)

    @property
    def typical_rate_hz(self) -> float:
        """The rate (Hz) from the median interval between consecutive stamps: frames lost on
        the way lower it, but a few stamps close together (a driver catching up, frames
        left in DDS but for the newest) do not raise it; 0 until 3 intervals are known."""
        return _per_second(self.typical_interval_s)

    @property
    def recent_rate_hz(self) -> float:
        """capture_rate_hz over the stamps within RECENT_RATE_WINDOW_S of the newest when
        three or more intervals lie there (a camera whose rate drops mid-run, e.g. a driver
        lowering its frame rate in dim light, is learned within that time instead of over
        RATE_WINDOW_FRAMES of its new frames: 5.4 s at 5 Hz), else capture_rate_hz."""
        return _per_second(self.recent_interval_s)

    def note_arrival_lag(self, lag_s: float) -> None:
        """Keep how long after its set's first frame one of its frames came (s) and set
        gives_up_after_s: LOSS_LAG_FACTOR x the longest of the kept lags plus
        LOSS_LAG_MARGIN_S, once ARRIVAL_LAGS_NEEDED are known."""
        lag_s = max(lag_s, 0.0)
        lags = self.arrival_lags
        leaving = lags[0] if len(lags) == lags.maxlen else 0.0
        lags.append(lag_s)
        if lag_s >= self.longest_lag_s:
            self.longest_lag_s = lag_s
        elif leaving >= self.longest_lag_s:       # the longest left the window: look again
            self.longest_lag_s = max(lags)
        if len(lags) >= ARRIVAL_LAGS_NEEDED:
            self.gives_up_after_s = LOSS_LAG_FACTOR * self.longest_lag_s + LOSS_LAG_MARGIN_S

    def note_rates(self) -> None:
        """Set the three intervals from the recent stamps, in one pass over them (add()
        calls it at each new frame: the rates are read on every set)."""
        stamps = list(self.recent_stamps)                   # increasing (add() keeps them so)
        intervals = [b - a for a, b in zip(stamps[:-1], stamps[1:], strict=True)]
        ordered = sorted(intervals)
        if len(ordered) < 3:
            self.capture_interval_s = self.typical_interval_s = self.recent_interval_s = 0.0
            return
        self.capture_interval_s = ordered[int(len(ordered) * 0.1 + 1e-9)]
        self.typical_interval_s = ordered[int(len(ordered) * 0.5 + 1e-9)]
        newest = stamps[-1]
        first = next(i for i, t in enumerate(stamps) if newest - t <= RECENT_RATE_WINDOW_S)
        recent = sorted(intervals[first:]) if len(intervals) - first >= 3 else ordered
        self.recent_interval_s = recent[int(len(recent) * 0.1 + 1e-9)]


def _per_second(interval_s: float) -> float:
    """1 / interval_s (Hz); 0 for an unknown interval (0)."""
    return 1.0 / interval_s if interval_s > 0.0 else 0.0


def next_frame_earliest(last_stamp: float | None, interval_s: float) -> float | None:
    """The earliest stamp (s) of a camera's frame after one at `last_stamp`: `interval_s` (one
    of its capture intervals), less NOT_DUE_JITTER of it, later; None while either is
    unknown."""
    if last_stamp is None or interval_s <= 0.0:
        return None
    return last_stamp + (1.0 - NOT_DUE_JITTER) * interval_s


def cameras_far_above(states: dict[str, CameraSyncState], factor: float
                      ) -> dict[str, tuple[float, float]]:
    """Cameras of `states` whose rate is more than `factor` x the median of the others':
    by the capture rate (frames lost on the way do not lower a camera's) and by the typical
    rate (a few stamps close together do not raise it) both, so neither losses nor bursts
    make a camera look fast. camera -> (its capture rate, the others' median capture rate),
    Hz; cameras without a rate yet are left out."""
    rates = {name: (state.capture_rate_hz, state.typical_rate_hz)
             for name, state in states.items()}
    far = {}
    for name, (capture, typical) in rates.items():
        others = [r for other, r in rates.items() if other != name and r[0] > 0 and r[1] > 0]
        if not others or not capture > 0:
            continue
        others_capture = statistics.median(r[0] for r in others)
        others_typical = statistics.median(r[1] for r in others)
        if capture > factor * others_capture and typical > factor * others_typical:
            far[name] = (capture, others_capture)
    return far


def cameras_off_the_others(states: dict[str, CameraSyncState], slop_s: float
                           ) -> dict[str, float]:
    """Cameras of `states` that stamp their frames on another clock: in at least
    CLOCK_OFFSET_SHARE of its recent frames (CLOCK_OFFSET_MIN_FRAMES or more, within the
    others' recent span) the nearest frame of any other camera is more than slop_s away, so
    its frames join no set. camera -> its median offset to that nearest frame (s, signed; a
    clock off by more than half a frame period reads as the wrapped remainder). Cameras at
    another rate (a 30 fps camera beside 10 fps ones) or free-running at random phase do not
    reach the share; free-running cameras whose phases put one more than slop_s from every
    other do (its frames join no set either). Frames farther from every other camera's than
    the others' typical frame interval fell in a gap of the others' streams (a camera that
    stopped for a while), not beside them, and are left out (a review: a two-camera rig's
    camera back after 5 s was told "+0 ms from the other, beyond sync.slop_s": the other's
    frames of the outage had no neighbour)."""
    recent = {name: np.asarray(state.recent_stamps, float) for name, state in states.items()}
    off = {}
    for name, stamps in recent.items():
        others = np.sort(np.concatenate([s for other, s in recent.items() if other != name]
                                        or [np.zeros(0)]))
        if others.size < 2:
            continue
        stamps = stamps[(stamps >= others[0]) & (stamps <= others[-1])]
        right = np.clip(np.searchsorted(others, stamps), 1, others.size - 1)
        left_gap, right_gap = stamps - others[right - 1], stamps - others[right]
        offset = np.where(np.abs(left_gap) <= np.abs(right_gap), left_gap, right_gap)
        # (0: not known yet, nothing left out)
        spacing = max((state.typical_interval_s for other, state in states.items()
                       if other != name), default=0.0)
        if spacing > 0.0:
            offset = offset[np.abs(offset) <= max(spacing, slop_s)]
        if offset.size < CLOCK_OFFSET_MIN_FRAMES:
            continue
        if np.mean(np.abs(offset) > slop_s) >= CLOCK_OFFSET_SHARE:
            off[name] = float(np.median(offset))
    return off


@dataclass
class _OpenSet:
    """A set being filled: reference, the mean stamp of its frames (s); opened, when its
    first frame came (monotonic s)."""

    reference: float
    opened: float
    frames: dict[str, Frame]

    def bounds_without(self, camera: str | None) -> tuple[float, float]:
        """The lowest and highest stamp (s) of the set's frames but `camera`'s (its own
        if it is the only one)."""
        stamps = [f.stamp for name, f in self.frames.items() if name != camera] or \
            [f.stamp for f in self.frames.values()]
        return min(stamps), max(stamps)

    def centre_without(self, camera: str | None) -> float:
        """The mean stamp (s) of the set's frames but `camera`'s (the reference if no
        other camera has one)."""
        stamps = [f.stamp for name, f in self.frames.items() if name != camera]
        return sum(stamps) / len(stamps) if stamps else self.reference


@dataclass(frozen=True)
class _LeftWithout:
    """A set that left without cameras it waited for: its lowest and highest stamp (s), when
    it opened (monotonic s), the cameras given up on (their frames later than they have ever
    been: module docstring) and those it timed out waiting for."""

    low: float
    high: float
    opened: float
    given_up: frozenset[str]
    timed_out: frozenset[str]


class FrameSynchronizer:
    """Groups frames of `cameras` into FrameSets (see the module docstring for the rules)."""

    def __init__(self, cameras: list[str] | tuple[str, ...], params: SyncParams | None = None,
                 **overrides: Any) -> None:
        """params: the settings (SyncParams() when None); overrides: SyncParams fields to
        change, e.g. FrameSynchronizer(cams, slop_s=0.004, ready_queue_size=3)."""
        if "ready_queue_size" in overrides:
            overrides["queue_size"] = overrides.pop("ready_queue_size")
        params = replace(params or SyncParams(), **overrides)
        if not cameras:
            raise ValueError("FrameSynchronizer needs at least one camera")
        if len(set(cameras)) != len(cameras):
            raise ValueError(f"duplicate camera names in {list(cameras)}")
        if not 1 <= params.min_views <= len(cameras):
            raise ValueError(f"min_views={params.min_views} must be in [1, {len(cameras)}] "
                             f"(the number of cameras)")
        for name in ("slop_s", "timeout_s", "stale_after_s"):
            if not getattr(params, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(params, name)}")
        if params.max_open_sets < 1 or params.queue_size < 1:
            raise ValueError("max_open_sets and ready_queue_size must be >= 1")
        self.params = params
        self.cameras = tuple(cameras)
        self.slop_s = params.slop_s
        self.min_views = params.min_views
        self.timeout_s = params.timeout_s
        self.stale_after_s = params.stale_after_s
        self.max_open_sets = params.max_open_sets
        self._open: list[_OpenSet] = []
        self._ready: deque[FrameSet] = deque()
        self.ready_queue_size = params.queue_size
        self.state = {name: CameraSyncState() for name in self.cameras}
        self.set_drops: Counter = Counter()  # whole sets: too_few_views, queue_full, behind, ...
        self.sets_emitted = 0
        self.time_resets = 0
        self._last_emitted_stamp = -float("inf")
        # the newest set that left with too few views to be emitted (camera_states)
        self._last_short_stamp = -float("inf")
        self._started: float | None = None
        self._slower: set[str] = set()         # _slower_cameras, as of the latest frame
        self._left_without: deque[_LeftWithout] = deque(maxlen=LEFT_WITHOUT_KEPT)
        # the last sets emitted: (lowest stamp, highest stamp, opened), s
        self._emitted: deque[tuple[float, float, float]] = deque(maxlen=LEFT_WITHOUT_KEPT)
        self._input_since = -float("inf")      # input_resumed
        self._resumed = False                   # input_resumed (the rule on), until a set leaves
        self._since_resume: Counter[str] = Counter()    # frames per camera since input_resumed
        self._before_handover: dict[str, float | None] = {}    # their last stamp before it
        self._last_set_cameras: frozenset[str] = frozenset()    # of the last set emitted
        self._deadline: float | None = None    # next_deadline, as of the latest _finish

    # -- input ---------------------------------------------------------------------------
    def add(self, camera: str, stamp: float, payload: Any, now: float) -> str | None:
        """Offer one frame. Returns None if accepted, else the drop reason (also counted)."""
        if camera not in self.state:
            raise ValueError(f"unknown camera {camera!r}; known: {list(self.cameras)}")
        cam = self.state[camera]
        if self._started is None:
            self._started = now
        previous_received = cam.last_received
        if cam.last_received is not None and now - cam.last_received > self.stale_after_s:
            cam.recent_offsets.clear()          # after a silence, measured anew
        self._measure_offsets(now)
        cam.arrivals.append((now, stamp))
        cam.unmeasured.append((now, stamp))
        cam.last_received = now
        cam.missed_sets = 0
        cam.frames_in += 1
        if self._resumed:                       # (complete_after_resume's bookkeeping)
            self._since_resume[camera] += 1
            if self._since_resume[camera] == 1:     # its first frame since input_resumed
                self._before_handover[camera] = cam.last_stamp
        if not cam.recent_stamps or stamp > cam.recent_stamps[-1]:
            cam.recent_stamps.append(stamp)     # every frame received, in capture order
            cam.note_rates()
            self._slower = self._slower_cameras()
        if cam.last_stamp is not None:
            if stamp == cam.last_stamp:
                return self._drop(camera, "duplicate_stamp")
            if stamp < cam.last_stamp:
                # Confirmed when it continues forward from where it jumped back to.
                confirmed = cam.rewound_to is not None and cam.rewound_to < stamp
                if not (confirmed or self._is_restart(camera, stamp)):
                    cam.rewound_to = stamp
                    return self._drop(camera, "stamp_backwards")
                self._reset_time(camera, stamp)
            else:
                cam.rewound_to = None                  # a single bad stamp: back on track
        if self._on_another_clock(camera):     # (not waited for while so: _finish; not
            cam.last_stamp = stamp              # "lagging", which late frames would renew)
            cam.clock_offset_run += 1
            return self._drop(camera, "clock_offset")
        cam.clock_offset_run = 0
        left = self._set_left_without(camera, stamp)
        if left is not None:     # its set is gone: not a set of its own (the same instant twice)
            cam.last_stamp = stamp
            if camera in left.timed_out:
                return self._drop(camera, "late")
            cam.note_arrival_lag(now - max(left.opened, self._input_since))  # later than ever:
            # learned, not "lagging"
            return self._drop(camera, "given_up")
        if stamp < self._last_emitted_stamp - self.slop_s:
            cam.last_stamp = stamp
            if stamp <= cam.waited_after + self.slop_s:   # its set left before it was waited
                return self._drop(camera, "late")          # for again: nothing to learn
            lag = self._waitable_lag(camera, stamp, now, previous_received)
            cam.steady_late = cam.steady_late + 1 if lag is not None else 0
            if lag is not None:
                cam.note_arrival_lag(lag)
            if cam.steady_late >= STEADY_LATE_FRAMES:     # waited for again (STEADY_LATE_FRAMES)
                cam.lagging_until = -float("inf")
                cam.steady_late = 0
                cam.waited_after = self._last_emitted_stamp
            else:
                cam.lagging_until = now + self.stale_after_s
            return self._drop(camera, "late")
        if (previous_received is None
                or now - previous_received > self.silent_after_s(camera)) \
                and self._of_an_emitted_set(stamp):
            # back after a silence (or its first frame) with a frame of the instant that just
            # left without it, not waited for: a set of its own would give that instant a
            # second output (a review: after a two-camera rig's camera came back, a second,
            # empty message of the same stamp, the person gone from it)
            cam.last_stamp = stamp
            return self._drop(camera, "given_up")
        cam.steady_late = 0
        cam.last_stamp = stamp
        if cam.first_stamp is None:
            cam.first_stamp = stamp
        frame = Frame(camera, stamp, now, payload)
        target = self._matching_set(camera, stamp)
        if target is None:
            self._open.append(_OpenSet(stamp, now, {camera: frame}))
            self._open.sort(key=lambda s: s.reference)
            while len(self._open) > self.max_open_sets:
                dropped = self._open.pop(0)
                self.set_drops["queue_full"] += 1
                for name in dropped.frames:
                    self.state[name].drops["queue_full"] += 1
        else:
            held = target.frames.get(camera)
            if held is not None:
                self.state[camera].drops["superseded"] += 1
                centre = target.centre_without(camera)
                if abs(stamp - centre) < abs(held.stamp - centre):
                    held = None
            if held is None:
                target.frames[camera] = frame
                target.reference = target.centre_without(None)
                self._open.sort(key=lambda s: s.reference)
        self._finish(now)
        return None

    def poll(self, now: float) -> None:
        """Finish sets whose time is up (call at next_deadline(), or after add())."""
        self._finish(now)

    def next_deadline(self) -> float | None:
        """The monotonic time (s) at which poll() can next finish a set: an open set times out,
        or stops waiting for the cameras it misses (module docstring); None: no open set."""
        return self._deadline if self._open else None

    def input_resumed(self, now: float) -> None:
        """Tell that frames could not arrive until `now` (monotonic s), e.g. a consumer that
        leaves them in DDS while it is busy: a set does not give a camera up (module
        docstring) for the time its frames were held back."""
        self._input_since = now
        if self.params.complete_after_resume:      # else nothing to count for
            self._resumed = True
            self._since_resume.clear()

    # -- output --------------------------------------------------------------------------
    def pop_latest(self) -> FrameSet | None:
        """The newest finished set, or None; older finished sets are dropped ("behind")."""
        if not self._ready:
            return None
        latest = self._ready.pop()
        self.set_drops["behind"] += len(self._ready)
        self._ready.clear()
        return latest

    def pending(self) -> int:
        return len(self._ready)

    def live_cameras(self, now: float) -> tuple[str, ...]:
        return tuple(name for name in self.cameras if self._is_live(name, now))

    def silent_after_s(self, camera: str) -> float:
        """How long `camera` may send nothing before it is silent (s): stale_after_s, or
        SILENT_PERIODS of its own typical frame interval when that is longer. (Found by an
        audit: a camera throttled to 0.5 Hz read "paused" at WARN between every two frames,
        and each of its frames was counted as a stamp jump.)"""
        return max(self.stale_after_s, SILENT_PERIODS * self.state[camera].typical_interval_s)

    def camera_states(self, now: float) -> dict[str, str]:
        """camera -> "waiting" (nothing yet), "ok", "stale" (silent, silent_after_s, while
        the others go on) or "paused" (silent like the whole rig: still waited for, see
        _is_live). A silent camera is stale too, though still waited for, when a set of the
        others' frames stamped silent_after_s or more after its last frame left too short to
        be emitted: a rig left with fewer cameras than min_views emits none (a review: such a
        camera read "paused" for as long as it was away); a set left short just before a
        pause of the whole rig is not that late."""
        states = {}
        for name in self.cameras:
            cam = self.state[name]
            if not self._is_live(name, now):
                states[name] = "stale"
            elif cam.last_received is None:
                states[name] = "waiting"
            elif now - cam.last_received <= self.silent_after_s(name):
                states[name] = "ok"
            else:
                last = cam.last_stamp if cam.last_stamp is not None else -float("inf")
                states[name] = "stale" if self._last_short_stamp > \
                    last + self.silent_after_s(name) else "paused"
        return states

    def receiving(self, now: float) -> bool:
        """True while some camera is not silent (silent_after_s; monotonic s)."""
        return any(cam.last_received is not None
                   and now - cam.last_received <= self.silent_after_s(name)
                   for name, cam in self.state.items())

    def cameras_on_another_clock(self) -> dict[str, float]:
        """Cameras whose last CLOCK_OFFSET_MIN_FRAMES frames or more were all dropped as
        "clock_offset" (module docstring): camera -> how far its stamps run ahead of the
        other cameras' (s, median of those frames; negative: behind, or its frames delayed
        on the way by that much)."""
        return {name: -statistics.median(cam.recent_offsets)
                for name, cam in self.state.items()
                if cam.clock_offset_run >= CLOCK_OFFSET_MIN_FRAMES}

    def pair_stamp_difference(self, first: str, second: str) -> float | None:
        """How much later `second` stamps its frames than `first` stamps frames that arrive
        at the same moment (s): the difference of their median (received - stamp) over the
        frames kept (the last 2 timeout_s). With two cameras this is all there is to go by:
        a clock off, or one camera's frames slower on the way, cannot be told apart, nor
        which camera is off (cameras_on_another_clock needs two others that agree). None
        until both have frames kept."""
        kept = [self.state[name].arrivals for name in (first, second)]
        if not all(kept):
            return None
        delays = [statistics.median(r - s for r, s in arrivals) for arrivals in kept]
        return delays[0] - delays[1]

    # -- internals -----------------------------------------------------------------------
    def _drop(self, camera: str, reason: str) -> str:
        self.state[camera].drops[reason] += 1
        return reason

    def _is_restart(self, camera: str, stamp: float) -> bool:
        """Whether a jump back of `camera` to `stamp`, not yet confirmed by its next frame,
        is a restart of the stream (see the module docstring) rather than one bad stamp."""
        cam = self.state[camera]
        if cam.first_stamp is not None and \
                abs(stamp - cam.first_stamp) <= RESTART_NEAR_START_S:
            return True
        return any(other.rewound_to is not None for name, other in self.state.items()
                   if name != camera)

    def restart(self) -> None:
        """Start over on a new time line (the caller saw its clock go back, e.g. /clock of a
        looping replay): open sets and stamp history are forgotten, counters kept."""
        self.time_resets += 1
        self._forget_time()

    def _reset_time(self, camera: str, stamp: float) -> None:
        """The clock went back (a bag loop, a simulated clock reset): forget what was built
        on the old clock."""
        self.state[camera].drops["time_reset"] += 1
        self.time_resets += 1
        self._forget_time()

    def discard_pending(self, reason: str) -> int:
        """Drop every open and finished set (counted in set_drops[reason]): the node stopped
        (deactivate), and a set kept from before went out at the next activate, with its old
        stamp, though no new input had come (a review). How many were dropped."""
        dropped = len(self._open) + len(self._ready)
        if dropped:
            self.set_drops[reason] += dropped
        self._open.clear()
        self._ready.clear()
        return dropped

    def _forget_time(self) -> None:
        # the finished sets of the old time line too: they went out after the new one began
        # (a review: a replay's loop published a set of the pass before)
        self.set_drops["time_reset"] += len(self._ready)
        self._ready.clear()
        self._open.clear()
        self._resumed = False
        self._left_without.clear()
        self._emitted.clear()
        self._last_emitted_stamp = self._last_short_stamp = -float("inf")
        for cam in self.state.values():
            cam.last_stamp = cam.first_stamp = cam.rewound_to = None
            cam.waited_after = -float("inf")
            cam.steady_late = 0
            cam.clock_offset_run = 0
            cam.recent_stamps.clear()
            cam.recent_offsets.clear()
            cam.arrivals.clear()
            cam.unmeasured.clear()

    def _on_another_clock(self, camera: str) -> bool:
        """Whether each of `camera`'s last CLOCK_OFFSET_MIN_FRAMES measured frames arrived,
        against their stamps, more than timeout_s sooner, or each more than timeout_s later,
        than the other cameras' frames that arrived nearest to them, all by about the same
        (within timeout_s of each other) (module docstring): its frames can meet none of
        theirs. (Each, not their median: after a burst, frames held back for longer than
        timeout_s are most of the last ten, and the frames that follow them on time must not
        be dropped; about the same: a backlog taken one camera after another, or a delay
        that jitters by more than timeout_s, is not another clock.)"""
        offsets = self.state[camera].recent_offsets
        if len(offsets) < CLOCK_OFFSET_MIN_FRAMES or max(offsets) - min(offsets) > self.timeout_s:
            return False
        return min(offsets) > self.timeout_s or max(offsets) < -self.timeout_s

    def _ahead_of_the_others(self, frames: dict[str, Frame], stamp: float, now: float
                             ) -> bool:
        """Whether a set of one camera's frame at `stamp` runs ahead of most of the live
        cameras not in it (at least two, none of them already found on another clock):
        frames of theirs came within timeout_s, stamped more than timeout_s before it. Its
        camera is then on another clock (not yet found by the arrival of its frames: module
        docstring); emitted (min_views 1), the set would make the others' frames late. (Sets
        of two or more cameras are left alone: a review found the sets of an on-time pair
        dropped when most cameras delivered in batches.)"""
        others = [self.state[name] for name in self.cameras
                  if name not in frames and self._is_live(name, now)]
        behind = [state for state in others
                  if state.last_received is not None and state.clock_offset_run == 0
                  and now - state.last_received <= self.timeout_s
                  and state.last_stamp is not None
                  and state.last_stamp < stamp - self.timeout_s]
        return len(frames) == 1 and len(behind) >= 2 and 2 * len(behind) > len(others)

    def _measure_offsets(self, now: float) -> None:
        """Measure the offset (module docstring) of every frame that arrived at least
        timeout_s ago and is not measured yet: its delay (received - stamp) against the
        delays of the other cameras' frames that arrived nearest to it (within timeout_s,
        before or after: a replay's frames of one instant come together, whatever the pace
        of their stamps), when most of the cameras that have such a frame, itself counted,
        agree within timeout_s / 2 (at least two others)."""
        for cam in self.state.values():
            while cam.arrivals and cam.arrivals[0][0] < now - 2 * self.timeout_s:
                cam.arrivals.popleft()          # no frame left to measure needs it
        for name, cam in self.state.items():
            while cam.unmeasured and cam.unmeasured[0][0] <= now - self.timeout_s:
                received, stamp = cam.unmeasured.popleft()
                agreed = self._agreed_delay(name, received)
                if agreed is not None:
                    cam.recent_offsets.append(received - stamp - agreed)

    def _agreed_delay(self, camera: str, received: float) -> float | None:
        """The delay (s) on which the other cameras' frames that arrived nearest to
        `received` (within timeout_s) agree: the median of the largest group, within
        timeout_s / 2 of one of its members, of at least two that is more than half of the
        cameras with such a frame, `camera` counted; None without one."""
        delays = []
        for name, state in self.state.items():
            if name == camera:
                continue
            gap, delay = self.timeout_s, None
            for arrived, stamp in state.arrivals:      # kept for 2 timeout_s: a few frames
                if abs(arrived - received) <= gap:
                    gap, delay = abs(arrived - received), arrived - stamp
            if delay is not None:
                delays.append(delay)
        delays.sort()
        half = 0.5 * self.timeout_s
        best = (0, 0)                                   # the largest group: delays[i:j]
        for centre in delays:
            i, j = bisect_left(delays, centre - half), bisect_right(delays, centre + half)
            if j - i > best[1] - best[0]:
                best = (i, j)
        group = delays[best[0]:best[1]]
        if len(group) < 2 or 2 * len(group) <= len(delays) + 1:
            return None
        return statistics.median(group)

    def _is_live(self, name: str, now: float) -> bool:
        """False once the camera is stale: silent (silent_after_s, counting from the first
        frame of any camera if it never sent one) AND a set has been emitted without it since
        its last frame. The second condition keeps a pause of the whole rig (a paused bag, a
        slow producer) from turning every camera stale; it does not hold for a camera that
        has sent nothing since the start, which is not part of such a pause (a review: a
        lock-step replay of a bag whose camera starts later held its first set timeout_s,
        10 s, where silent_after_s, 2 s, tells that the camera is not there)."""
        cam = self.state[name]
        if cam.last_received is None:
            return now < self._never_sent_silent_at(name)
        if now - cam.last_received <= self.silent_after_s(name):
            return True
        last = cam.last_stamp if cam.last_stamp is not None else -float("inf")
        return not self._last_emitted_stamp > last + self.slop_s

    def _never_sent_silent_at(self, name: str) -> float:
        """When a camera that has sent nothing since the start turns stale (monotonic s,
        _is_live); inf for one that has sent frames (it turns stale only after a set has
        left without it)."""
        if self.state[name].last_received is not None or self._started is None:
            return float("inf")
        return self._started + self.silent_after_s(name)

    def _matching_set(self, camera: str, stamp: float) -> _OpenSet | None:
        """The open set a frame of `camera` at `stamp` joins: of those whose frames (but this
        camera's) would all lie within slop_s of it and of each other, one still without
        this camera's frame first, then the one whose mean stamp is nearest."""
        candidates = []
        for k, open_set in enumerate(self._open):
            low, high = open_set.bounds_without(camera)
            if high - self.slop_s <= stamp <= low + self.slop_s:
                candidates.append((camera in open_set.frames,
                                   abs(stamp - open_set.centre_without(camera)), k))
        return self._open[min(candidates)[2]] if candidates else None

    def _finish(self, now: float) -> None:
        on_this_clock = [name for name in self.cameras if not self._on_another_clock(name)]
        live = [name for name in on_this_clock
                if self._is_live(name, now) and now >= self.state[name].lagging_until]
        waited_for = [name for name in live
                      if self.state[name].missed_sets < MISSED_SETS_NOT_WAITED]
        still_open, deadlines = [], []
        for open_set in self._open:
            limit = open_set.bounds_without(None)[0] + self.slop_s   # the latest that joins
            # a set that cannot reach min_views without them still waits for all (found
            # by a review: two of three cameras delivering in batches lost their sets);
            # until its own cameras have sent later frames, for those not live too
            # (_short_set_waits_for_all)
            enough = len(open_set.frames) >= self.min_views
            if enough:
                candidates = waited_for
            elif self._short_set_waits_for_all(open_set, limit):
                candidates = on_this_clock
            else:
                candidates = live
            waiting = [name for name in candidates if name not in open_set.frames
                       and (self.state[name].last_stamp or -float("inf")) <= limit
                       and not (name in self._slower
                                and self._not_due(name, open_set.reference))]
            # when each camera it waits for is given up on (inf: never)
            give_up = {name: max(open_set.opened, self._input_since)
                       + self._gives_up_after_s(name)
                       if enough and self.params.give_up_late
                       and (self._due(name, open_set.reference)
                            or not self.state[name].frames_in) else float("inf")
                       for name in waiting}
            missing = [name for name in waiting if now < give_up[name]]
            timed_out = now - open_set.opened >= self.timeout_s
            if not missing and not timed_out and self._superseded_after_resume(
                    open_set, candidates, limit):
                self.set_drops["behind"] += 1
            elif not missing or timed_out:
                for name in waiting:        # (those given up on, and those timed out)
                    if self._overdue(name, open_set.reference):
                        self.state[name].missed_sets += 1
                self._emit(open_set, now, given_up=[n for n in waiting if n not in missing],
                           timed_out=missing)
            else:
                still_open.append(open_set)
                # a camera that never sent a frame stops being waited for once silent
                # (_is_live); one that did, only after a set has left without it; one not
                # live that a short set waits for, at timeout_s or when the set's cameras
                # send later frames (add)
                stops = [min(give_up[name], self._never_sent_silent_at(name))
                         if name in live else open_set.opened + self.timeout_s
                         for name in missing]
                deadline = min(open_set.opened + self.timeout_s, max(stops))
                deadlines.append(deadline)
        self._open = still_open
        self._deadline = min(deadlines, default=None)

    def _short_set_waits_for_all(self, open_set: _OpenSet, limit: float) -> bool:
        """Whether `open_set`, short of min_views, waits for every camera (but those on
        another clock), live or not: while one of its cameras has sent no frame past `limit`
        (its latest joining stamp, s). Left without the cameras not live, it is dropped
        ("too_few_views") and nothing is published earlier; a camera that starts late or
        comes back from a silence completes it with its first frame (found over DDS: a
        two-camera fusion node whose second camera's first 2D came 1.2 s after the first
        camera's first dropped the first set the two had in common, 33 ms before its
        frame came: a lock-step test waited for its answer for good, 1 run in 3). Bounded:
        its cameras' next frames, or timeout_s, end the wait."""
        lasts = (self.state[name].last_stamp for name in open_set.frames)
        return any(last is None or last <= limit for last in lasts)

    def _superseded_after_resume(self, open_set: _OpenSet, candidates: Sequence[str],
                                 limit: float) -> bool:
        """Whether `open_set`, about to leave, was made short by the consumer's hold (module
        docstring): input resumed and no set left since, the cameras at one rate, a newer set
        is open, and one of `candidates` it lacks has as its newest frame the one handed
        over, stamped past `limit` (the set's latest joining stamp, s), was due a frame by
        then and was in the last set beside one of the set's cameras."""
        if not self._resumed or open_set is self._open[-1] \
                or not self._last_set_cameras.intersection(open_set.frames) \
                or not self._one_rate():
            return False
        return any(name not in open_set.frames and self._since_resume[name] == 1
                   and name in self._last_set_cameras
                   and (self.state[name].last_stamp or -float("inf")) > limit
                   and self._due_before_handover(name, limit) for name in candidates)

    def _due_before_handover(self, camera: str, limit: float) -> bool:
        """Whether `camera` was due a frame by `limit` (s) counting from its last frame before
        the hand-over (its shortest capture interval, less NOT_DUE_JITTER of it): a frame of
        the set's instant was captured and replaced in the hold, not never taken (a 15 Hz
        camera beside 30 Hz ones captures every other instant; found by a review)."""
        earliest = next_frame_earliest(self._before_handover.get(camera),
                                       self.state[camera].capture_interval_s)
        return earliest is not None and earliest <= limit

    def _one_rate(self) -> bool:
        """Whether every camera's capture interval (CameraSyncState.capture_interval_s, of the
        frames received) lies within ONE_RATE_TOLERANCE of 1 to ONE_RATE_MULTIPLES times the
        shortest: cameras at one capture rate, some received every 2nd or 3rd frame."""
        intervals = [cam.capture_interval_s for cam in self.state.values()]
        shortest = min(intervals)
        if shortest <= 0.0:
            return False
        ratios = [interval / shortest for interval in intervals]
        return all(round(r) <= ONE_RATE_MULTIPLES and abs(r - round(r)) <= ONE_RATE_TOLERANCE
                   for r in ratios)

    def _slower_cameras(self) -> set[str]:
        """Cameras whose recent capture rate is below 1 / SLOWER_FACTOR of the median of the
        others' (CameraSyncState.recent_rate_hz; cameras without a rate yet left out): only these
        are judged by _not_due, so cameras at one rate with jittery stamps (a paced sender under
        load, a webcam's software stamps) are always waited for."""
        rates = {name: cam.recent_rate_hz for name, cam in self.state.items()}
        slower = set()
        for name, rate in rates.items():
            others = [r for other, r in rates.items() if other != name and r > 0.0]
            if rate > 0.0 and others and SLOWER_FACTOR * rate < statistics.median(others):
                slower.add(name)
        return slower

    def _not_due(self, camera: str, stamp: float) -> bool:
        """Whether `camera` (one of the _slower_cameras) cannot have a frame for a set at
        `stamp`: its next frame, a capture interval (its shortest of late:
        CameraSyncState.recent_interval_s, less NOT_DUE_JITTER of it) after its last, lies more
        than slop_s after the set (a camera whose last frame is of the set's own instant is
        left to the other rules). (Found by an audit: beside 30 Hz cameras, a 10 Hz one made
        the two sets between its frames wait for its next frame, and a 5 Hz one or slower,
        timeout_s: the others' sets left 33-100 ms late, together, and all but the newest were
        dropped as "behind".)"""
        cam = self.state[camera]
        earliest = next_frame_earliest(cam.last_stamp, cam.recent_interval_s)
        return earliest is not None and cam.last_stamp is not None and \
            cam.last_stamp < stamp - self.slop_s and stamp + self.slop_s < earliest

    def _gives_up_after_s(self, camera: str) -> float:
        """How long a set waits for `camera`'s frame (s, from when it opened or input
        resumed): its own CameraSyncState.gives_up_after_s once ARRIVAL_LAGS_NEEDED of its
        lags are known; before that the rig's, LOSS_LAG_FACTOR x the longest lag of any
        camera + LOSS_LAG_MARGIN_S, once the rig has ARRIVAL_LAGS_NEEDED lags (four cameras:
        from their sixth set), so a frame lost in a camera's first sets does not hold the
        others' set for timeout_s; inf while neither is known. (A camera slower than the
        others is given up on in its first sets and the frame dropped as "given_up"; its lag
        is learned and lengthens the rig's wait too. A camera that has sent nothing yet is
        given up on so too, due or not.) Not for a consumer that holds frames
        back (input_resumed): its lags count from the resume, so they are short whatever the
        camera's delay, and a slower camera's frame given up on and handed over at the
        resume taught nothing: the camera was shut out for good (a review's simulation)."""
        own = self.state[camera]
        if len(own.arrival_lags) >= ARRIVAL_LAGS_NEEDED or self._input_since > -float("inf"):
            return own.gives_up_after_s
        states = self.state.values()
        if sum(len(state.arrival_lags) for state in states) < ARRIVAL_LAGS_NEEDED:
            return float("inf")
        return LOSS_LAG_FACTOR * max(state.longest_lag_s for state in states) \
            + LOSS_LAG_MARGIN_S

    def _due(self, camera: str, stamp: float) -> bool:
        """Whether `camera`'s next frame is due by a set at `stamp` (s): a shortest capture
        interval after its last, less NOT_DUE_JITTER of it, lies within slop_s after the set
        at the latest (never while its rate is not known). Only a due camera is given up on:
        a set between two of its frames (opened by a faster camera) waits for its next frame
        as before."""
        cam = self.state[camera]
        earliest = next_frame_earliest(cam.last_stamp, cam.capture_interval_s)
        return earliest is not None and earliest <= stamp + self.slop_s

    def _overdue(self, camera: str, stamp: float) -> bool:
        """Whether `camera` should have sent a frame stamped by `stamp`: its last stamp lies
        more than OVERDUE_PERIODS of its typical frame interval before (a camera at a lower
        rate than the others is not overdue for the sets between its frames; one whose rate
        is not known yet is never)."""
        cam = self.state[camera]
        rate = cam.typical_rate_hz
        return cam.last_stamp is not None and rate > 0.0 and \
            stamp - cam.last_stamp > OVERDUE_PERIODS / rate

    def _waitable_lag(self, camera: str, stamp: float, now: float,
                      previous_received: float | None) -> float | None:
        """For a frame of `camera` at `stamp` that came (at `now`) after its set left: how
        long after the set opened (or input resumed) it came (s), when that is under
        timeout_s (a set that waited for it would have had it) and it came about a capture
        interval after the camera's frame before (`previous_received`: not a burst); else
        None."""
        interval = self.state[camera].capture_interval_s
        if previous_received is None or not interval > 0.0 \
                or now - previous_received < 0.5 * interval:
            return None
        for low, high, opened in self._emitted:
            if high - self.slop_s <= stamp <= low + self.slop_s:     # could have joined it
                lag = now - max(opened, self._input_since)
                return lag if lag < self.timeout_s else None
        return None

    def _of_an_emitted_set(self, stamp: float) -> bool:
        """Whether a frame at `stamp` could have joined a set already emitted: within slop_s
        of each of its frames, as _matching_set asks of an open set (the newest first: an
        older set's frames are earlier). (Within slop_s of any of its frames dropped a
        returning camera's first frame of the next instant: a review, at 60 fps.)"""
        for low, high, _ in reversed(self._emitted):
            if high - self.slop_s <= stamp <= low + self.slop_s:
                return True
            if high + self.slop_s < stamp:
                return False
        return False

    def _set_left_without(self, camera: str, stamp: float) -> _LeftWithout | None:
        """The set that left without `camera`'s frame at `stamp` while waiting for it (given
        up on or timed out; None: none): one the frame could have joined (within slop_s of
        each of its frames: _of_an_emitted_set; within slop_s of any dropped a camera's frame
        of the next instant after one lost on the way, a review)."""
        for left in self._left_without:
            if (camera in left.given_up or camera in left.timed_out) and \
                    left.high - self.slop_s <= stamp <= left.low + self.slop_s:
                return left
        return None

    def _emit(self, open_set: _OpenSet, now: float, given_up: Sequence[str] = (),
              timed_out: Sequence[str] = ()) -> None:
        """Emit a finished set (or drop it: too few views, ahead of the others, late);
        given_up: the cameras it left without because their frames were later than ever;
        timed_out: those it waited timeout_s for. Their frames of its instant, should they
        come, are dropped (add)."""
        frames = {name: open_set.frames[name] for name in self.cameras if name in open_set.frames}
        if len(frames) < self.min_views:
            self.set_drops["too_few_views"] += 1
            self._last_short_stamp = max(self._last_short_stamp, sum(
                f.stamp for f in frames.values()) / max(len(frames), 1))
            for name in frames:
                self.state[name].drops["too_few_views"] += 1
            return
        stamp = sum(f.stamp for f in frames.values()) / len(frames)
        if self._ahead_of_the_others(frames, stamp, now):
            self.set_drops["ahead"] += 1
            for name in frames:
                self.state[name].drops["clock_offset"] += 1
            return
        if stamp < self._last_emitted_stamp:
            self.set_drops["late"] += 1
            return
        self._last_emitted_stamp = stamp
        if len(frames) >= 2:     # (lags from when frames could come: input_resumed)
            start = max(open_set.opened, self._input_since)
            for name, frame in frames.items():
                self.state[name].note_arrival_lag(frame.received - start)
        low, high = open_set.bounds_without(None)
        self._emitted.append((low, high, open_set.opened))
        if given_up or timed_out:
            self._left_without.append(_LeftWithout(low, high, open_set.opened,
                                                   frozenset(given_up), frozenset(timed_out)))
        missing = tuple(name for name in self.cameras if name not in frames)
        self._ready.append(FrameSet(stamp, frames, missing, open_set.opened))
        self._resumed = False
        self._last_set_cameras = frozenset(frames)
        self.sets_emitted += 1
        while len(self._ready) > self.ready_queue_size:
            self._ready.popleft()
            self.set_drops["behind"] += 1
