"""Stable person ids over time, for 3D skeletons (SkeletonTracker) and for one camera's 2D
people (ImageTracker). Identity switches against reference ids are counted by
metrics.id_switches (CLEAR-MOT).

Each track keeps its last joint positions (metres) and a constant-velocity model of its centre
(mean of its visible joints). At every update, the predicted tracks and the new skeletons are
matched one-to-one by the Hungarian method (scipy.optimize.linear_sum_assignment) on the mean
3D distance over the joints both have; pairs farther than a gate are not matched. The gate of a
track grows with the time since it was last seen (`gate_growth_mps`), so a person who leaves
and comes back within `reid_window_s` gets their old id back (re-identification); tracks older
than that are forgotten. Unmatched skeletons start new tracks with fresh ids (>= 1). Given
the people's measured long-bone lengths (update's `body_lengths`), each track also learns its
body's, and a lost track found beyond the gate of a frame-to-frame match, later than its motion
prediction reaches, takes only a person whose body size agrees with its own
(`reid_size_tolerance`): in a crowd, position alone gave departed people's ids to others who
stepped in near them (20 people on 8 cameras, each leaving twice: 100 such ids in 12 scenes of
10 s, 50 with the size; benchmarks/bench_reidentification.py).

ImageTracker serves the one-camera path, whose depth is a guess that can jump by a metre from
one frame to the next: it matches people in the image, where they are measured, gating the
mean keypoint distance relative to the person's size in pixels, and confirms a track only after
`min_hits` consecutive matches, so a detection seen in one or two frames (a ghost in glare)
never gets a published id. Given the joint layout (update_labelled), it also keeps each
track's left/right labelling continuous, against the track's keypoints at its last clearly
labelled frame, predicted to now: summed over the pairs, labels exchanged at least twice as
close as the detector's exchange the whole view (the detector's usual mistake: a person seen
from behind taken as facing the camera), but for pairs whose own positions clearly keep them;
otherwise a pair whose exchanged labels lie at least twice as close as the detector's
(left_right.pair_distances) is exchanged, and a limb pair that position cannot decide (both
labellings far off, e.g. elbows that moved a lot) below an exchanged pair along the limb
(elbow below shoulder, ankle below knee, left_right.limb_levels) is exchanged too when that
changes its image bones from that pair at most half as much as keeping it. Only a frame whose
labelling is clear as a whole (no pair exchanged, or every pair, each pair's own positions
agreeing) becomes the reference of the next: a frame the detector half exchanged, continued
pair by pair, left a mixture for the rest of the run (the demo's cam02 at 60 fps: 272 pairs
opposite to the 4-camera reference after relabelling, 175 as detected; now 1). A track keeps
no pair against the detector for over half of its recent time (`relabel_window_s`: then the
whole view takes the detector's labels and the next frames continue them), a track younger
than a quarter of that window, which has no labelling of its own yet, takes the detector's
labels when they change (one born on frames the detector had the wrong way round held them
for 0.7 s), and a track back after a gap takes the detector's labels. So a detector that
takes a person seen from the front for one seen from behind for a few frames no longer turns
the person round (and back) under the 3D that follows.

"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .array_ops import (
    box_diagonal,
    finite_rows,
    masked_mean,
    mean_joint_distance,
    nanmedian_axis,
    vector_norm,
)
from .body_model import body_size_difference
from .layouts import JointLayout
from .left_right import exchange_pairs, left_right_pairs, limb_levels, pair_distances

_UNMATCHABLE = 1e6
# Image tracking: a joint farther from the track's than this many times the person's median
# joint distance, and than the gate by itself, is left out of the match's mean distance.
_WILD_JOINT_MEDIANS = 4.0
# The interval (s) for which a track's newest step gets the whole velocity_smoothing weight
# (smoothed_velocity): a camera frame at 30 fps.
VELOCITY_REFERENCE_INTERVAL_S = 1 / 30
# Left/right continuity: a pair is relabelled when exchanging it brings it under this share of
# its distance to the track's prediction, and that distance is over this share of the person's
# size in the image (joints that nearly overlap, e.g. the hips of a person seen side-on, are
# left as the detector labels them).
_RELABEL_GAIN = 0.5
_RELABEL_MIN_SHARE = 0.05
# ... and as shares of relabel_window_s: a track younger than this has no labelling of its own
# yet (it takes the detector's when they change); a clearly labelled frame older than this no
# longer tells where the limbs are (the detector's labels are taken, and continued)
_RELABEL_YOUNG_SHARE = 0.25
_RELABEL_STALE_SHARE = 0.5
# A 3D track's body size is the median of each bone's length over its last this many matches
# (about a second at 30 fps); one learned from fewer than _SIZE_MIN_MATCHES matches, or compared
# over fewer than _SIZE_MIN_BONES bones, decides no re-identification (too noisy: returning
# people of 2-6 matches or 4 bones measured 0.05-0.15 off their own size)
BODY_SIZE_SLOTS = 32
_SIZE_MIN_MATCHES = 8
_SIZE_MIN_BONES = 6


@dataclass(frozen=True)
class TrackerParams:
    """max_distance_m: gate on the mean joint distance (m) for a track seen in the last frame.
    gate_growth_mps: how much the gate widens per second a track has been unseen (m/s).
    reid_window_s: a lost track can be re-identified for this long (s), then it is forgotten.
    max_prediction_s: the constant-velocity prediction is extrapolated at most this long (s).
    velocity_smoothing: weight of the newest velocity in the track's velocity estimate (0..1],
        for an update at least VELOCITY_REFERENCE_INTERVAL_S after the previous one
        (smoothed_velocity).
    reid_size_tolerance: a lost track found farther than max_distance_m from a person and
        lost for longer than max_prediction_s takes that person only when their body sizes
        differ by at most this fraction (body_model.body_size_difference of the person's bone
        lengths and the track's median ones); None: position alone. Two people of the
        motion-capture scenes (statures 1.50-1.95 m) measured by 8 cameras differ by more in
        two pairs of three; a returning person's first frame is measured less well than their
        track (up to 0.07 off on a 3-camera ring, bench_reidentification.py).
    """

    max_distance_m: float = 0.5
    gate_growth_mps: float = 1.0
    reid_window_s: float = 2.0
    max_prediction_s: float = 0.3
    velocity_smoothing: float = 0.5
    reid_size_tolerance: float | None = 0.05

    def __post_init__(self) -> None:
        if not self.max_distance_m > 0:
            raise ValueError(f"max_distance_m must be > 0, got {self.max_distance_m}")
        if not self.gate_growth_mps >= 0:
            raise ValueError(f"gate_growth_mps must be >= 0, got {self.gate_growth_mps}")
        if not self.reid_window_s > 0:
            raise ValueError(f"reid_window_s must be > 0, got {self.reid_window_s}")
        if not self.max_prediction_s >= 0:
            raise ValueError(f"max_prediction_s must be >= 0, got {self.max_prediction_s}")
        if not 0 < self.velocity_smoothing <= 1:
            raise ValueError(f"velocity_smoothing must be in (0, 1], got "
                             f"{self.velocity_smoothing}")
        if self.reid_size_tolerance is not None and not self.reid_size_tolerance > 0:
            raise ValueError(f"reid_size_tolerance must be > 0 or None, got "
                             f"{self.reid_size_tolerance}")


@dataclass
class TrackerStats:
    """Counters since the tracker was made: tracks started, re-identified and forgotten."""

    tracks_started: int = 0
    reidentified: int = 0
    tracks_forgotten: int = 0

    def __add__(self, other: "TrackerStats") -> "TrackerStats":
        return TrackerStats(self.tracks_started + other.tracks_started,
                            self.reidentified + other.reidentified,
                            self.tracks_forgotten + other.tracks_forgotten)


class SkeletonTracker:
    """Assigns stable ids to 3D skeletons: update(positions (P, J, 3) m, stamp s) -> ids (P,)."""

    def __init__(self, params: TrackerParams | None = None) -> None:
        self.params = params or TrackerParams()
        self.reset()

    def reset(self) -> None:
        """Forget every track and the counters (ids start again at 1)."""
        self.stats = TrackerStats()
        self._next_id = 1
        self._ids = np.zeros((0,), np.int64)
        self._positions = np.zeros((0, 0, 3))   # (T, J, 3) last seen joints
        self._velocity = np.zeros((0, 3))       # (T, 3) centre velocity m/s
        self._last_seen = np.zeros((0,))        # (T,) s
        self._lengths = np.zeros((0, BODY_SIZE_SLOTS, 0))  # (T, K, B) m, last K matches' bones
        self._length_slot = np.zeros((0,), np.intp)        # (T,) the slot written next
        self._last_stamp: float | None = None

    @property
    def active_ids(self) -> np.ndarray:
        return self._ids.copy()

    def reserve_ids(self, count: int) -> np.ndarray:
        """`count` fresh ids (int64) from this tracker's counter that no track of it will
        take: people the caller tracks otherwise (a rig's one-camera sets) are published in
        the same id space as the 3D tracks, never under a track's id."""
        fresh = np.arange(self._next_id, self._next_id + count, dtype=np.int64)
        self._next_id += count
        return fresh

    def update(self, positions: np.ndarray, stamp: float,
               mirror: np.ndarray | None = None, claims: np.ndarray | None = None,
               body_lengths: np.ndarray | None = None) -> np.ndarray:
        """positions (P, J, 3) m at stamp (s) -> ids (P,). mirror: the layout's (J,) mirror
        index (left_right.mirror_index): the cost to a track is then the smaller of the mean
        joint distance and that of the left/right-mirrored skeleton, so a person whose labels
        flipped for a frame keeps their id (a review: such a flip put the cost over the gate,
        the person took a new id, and the two tracks then alternated on them). claims: (P,)
        the id of a track each person continues whatever the distance (0: none; the caller
        knows them to be one body placed another way, lone_views.handed_over_ids), taken
        when that track exists; its velocity starts again from zero. body_lengths: (P, B)
        the people's long-bone lengths (m; the pipeline: plausibility.checked_bone_pairs'),
        NaN where not measured (a one-view person's size is the lifter's guess): each track
        learns them, and a lost track far from its loss takes only a person whose size agrees
        (TrackerParams.reid_size_tolerance); None: position alone."""
        positions = np.asarray(positions, dtype=np.float64)
        if positions.ndim != 3 or positions.shape[-1] != 3:
            raise ValueError(f"positions must be (P, J, 3), got {positions.shape}")
        if not math.isfinite(stamp):
            raise ValueError(f"stamp must be finite, got {stamp}")
        if self._last_stamp is not None and stamp < self._last_stamp:
            # The clock went backwards (bag loop, simulated time reset): start over.
            self.reset()
        previous_update = self._last_stamp
        self._last_stamp = stamp
        if len(positions) == 0 and len(self._positions):
            # nobody seen says nothing of the layout (ImageTracker.update_labelled): the
            # tracks are kept, not cleared for another joint count
            positions = np.zeros((0, *self._positions.shape[1:]))
        num_people, num_joints = positions.shape[:2]
        if self._positions.shape[1] != num_joints:
            self._ids = np.zeros((0,), np.int64)
            self._positions = np.zeros((0, num_joints, 3))
            self._velocity = np.zeros((0, 3))
            self._last_seen = np.zeros((0,))
        sized = body_lengths is not None and self.params.reid_size_tolerance is not None
        lengths = (np.asarray(body_lengths, np.float64) if sized
                   else np.zeros((num_people, 0)))                            # (P, B) m
        if lengths.ndim != 2 or len(lengths) != num_people:
            raise ValueError(f"body_lengths must be ({num_people}, B), got {lengths.shape}")
        if self._lengths.shape[0] != len(self._ids) or \
                self._lengths.shape[2] != lengths.shape[1]:
            self._lengths = np.full((len(self._ids), BODY_SIZE_SLOTS, lengths.shape[1]), np.nan)
            self._length_slot = np.zeros(len(self._ids), np.intp)
        self._forget(stamp, previous_update)

        ids = np.zeros((num_people,), np.int64)
        matched_people = np.zeros((num_people,), bool)
        if len(self._ids) and num_people:
            gap = stamp - self._last_seen                                      # (T,)
            horizon = np.minimum(gap, self.params.max_prediction_s)
            predicted = self._positions + (self._velocity * horizon[:, None])[:, None, :]
            mean, count = _mean_joint_distance(predicted[:, None], positions[None])  # (T, P)
            if mirror is not None:
                mean = np.minimum(mean, _mean_joint_distance(
                    predicted[:, None], positions[None][:, :, mirror])[0])
            # (a track seen at the previous update of a slow stream may be older than the
            # re-identification window: its gate stops growing there)
            gate = self.params.max_distance_m + self.params.gate_growth_mps * np.clip(
                gap - 1e-9, 0.0, self.params.reid_window_s)
            cost = np.where((count > 0) & (mean <= gate[:, None]), mean, _UNMATCHABLE)
            if lengths.shape[1] and previous_update is not None:
                cost = self._refuse_other_bodies(cost, mean, gap, lengths, previous_update)
            claimed = np.zeros(len(self._ids), bool)
            if claims is not None:
                track, person = np.nonzero((self._ids[:, None] == claims[None])
                                           & (claims[None] > 0))
                cost[track] = _UNMATCHABLE
                cost[:, person] = _UNMATCHABLE
                cost[track, person] = 0.0
                claimed[track] = True
            rows, cols = linear_sum_assignment(cost)
            ok = cost[rows, cols] < _UNMATCHABLE
            rows, cols = rows[ok], cols[ok]
            dt = np.maximum(gap[rows], 1e-6)[:, None]
            now, before = positions[cols], self._positions[rows]
            centres = _centre(np.stack([now, before]))          # both in one batch (2, R, 3)
            new_velocity = _nan_to_zero((centres[0] - centres[1]) / dt)
            # Not matched at the previous update: the person was lost and is back.
            lost_before = (self._last_seen[rows] < previous_update
                           if previous_update is not None else np.zeros(rows.size, bool))
            restart = lost_before | claimed[rows]
            self.stats.reidentified += int(np.count_nonzero(lost_before))
            self._velocity[rows] = np.where(restart[:, None], 0.0, smoothed_velocity(
                self._velocity[rows], new_velocity, dt, self.params.velocity_smoothing))
            # Keep the previous position of joints the new skeleton misses.
            self._positions[rows] = np.where(np.isfinite(now), now, before)
            self._last_seen[rows] = stamp
            self._remember_lengths(rows, lengths[cols])
            ids[cols] = self._ids[rows]
            matched_people[cols] = True
        new = (~matched_people).nonzero()[0]
        if new.size:
            fresh_ids = self.reserve_ids(new.size)
            self.stats.tracks_started += new.size
            ids[new] = fresh_ids
            self._ids = np.concatenate([self._ids, fresh_ids])
            self._positions = np.concatenate([self._positions, positions[new]])
            self._velocity = np.concatenate([self._velocity, np.zeros((new.size, 3))])
            self._last_seen = np.concatenate([self._last_seen, np.full((new.size,), stamp)])
            self._lengths = np.concatenate([self._lengths, np.full(
                (new.size, BODY_SIZE_SLOTS, lengths.shape[1]), np.nan)])
            self._length_slot = np.concatenate([self._length_slot, np.zeros(new.size, np.intp)])
            self._remember_lengths(np.arange(len(self._ids) - new.size, len(self._ids)),
                                   lengths[new])
        return ids

    def _refuse_other_bodies(self, cost: np.ndarray, mean: np.ndarray, gap: np.ndarray,
                             lengths: np.ndarray, previous_update: float) -> np.ndarray:
        """cost (T, P) with the pairs of a lost track (not matched at previous_update) and a
        person whose body is not its own made unmatchable, where the person is farther than
        max_distance_m (mean (T, P) m) and the track lost for longer than max_prediction_s
        (gap (T,) s): within either, the track's prediction places the person as from frame
        to frame; beyond both, the grown gate alone did, and gave departed people's ids to
        others stepping in near them in a crowd. lengths (P, B) m: the people's bones."""
        p = self.params
        if p.reid_size_tolerance is None:
            return cost
        lost = np.flatnonzero((self._last_seen < previous_update) & (gap > p.max_prediction_s))
        beyond = (mean[lost] > p.max_distance_m) & (cost[lost] < _UNMATCHABLE)    # (L, P)
        lost, beyond = lost[beyond.any(1)], beyond[beyond.any(1)]
        if not lost.size:
            return cost
        rings = self._lengths[lost]                                                # (L, K, B)
        learned = nanmedian_axis(rings, axis=1)                                    # (L, B)
        learned[(~np.isnan(rings)).any(-1).sum(-1) < _SIZE_MIN_MATCHES] = np.nan
        other_body = body_size_difference(lengths[None], learned[:, None],
                                          _SIZE_MIN_BONES) > p.reid_size_tolerance  # (L, P)
        out = cost.copy()
        out[lost] = np.where(other_body & beyond, _UNMATCHABLE, cost[lost])
        return out

    def _remember_lengths(self, rows: np.ndarray, lengths: np.ndarray) -> None:
        """Record the bone lengths (M, B) m matched to the tracks `rows` (M,) in their rings;
        a person without any (no bone's two ends) is not recorded."""
        if not lengths.shape[1]:
            return
        known = ~np.isnan(lengths).all(-1)
        rows, lengths = rows[known], lengths[known]
        slots = self._length_slot[rows]
        self._lengths[rows, slots] = lengths
        self._length_slot[rows] = (slots + 1) % BODY_SIZE_SLOTS

    def _forget(self, stamp: float, previous_update: float | None) -> None:
        """Drop the tracks lost for longer than reid_window_s; a track seen at the previous
        update is kept however long ago that was (a stream slower than the window: a
        throttled camera, a slow detector)."""
        keep = stamp - self._last_seen <= self.params.reid_window_s
        if previous_update is not None:
            keep |= self._last_seen == previous_update
        if not keep.all():
            self.stats.tracks_forgotten += int((~keep).sum())
            self._ids, self._positions = self._ids[keep], self._positions[keep]
            self._velocity, self._last_seen = self._velocity[keep], self._last_seen[keep]
            self._lengths, self._length_slot = self._lengths[keep], self._length_slot[keep]


class CentreHistory:
    """The last SLOTS (stamp s, centre (D,)) observations of each track, rows in track order;
    velocity() is the least-squares slope of each track's centre over a recent span. Vectorised
    over tracks and observations."""

    SLOTS = 32

    def __init__(self, dims: int) -> None:
        self._stamps = np.zeros((0, self.SLOTS))           # (T, K) s, NaN = empty
        self._centres = np.zeros((0, self.SLOTS, dims))    # (T, K, D)
        self._next = np.zeros((0,), np.intp)               # (T,) slot to write

    def add(self, count: int) -> None:
        """Append `count` tracks without observations."""
        dims = self._centres.shape[-1]
        self._stamps = np.concatenate([self._stamps, np.full((count, self.SLOTS), np.nan)])
        self._centres = np.concatenate([self._centres, np.zeros((count, self.SLOTS, dims))])
        self._next = np.concatenate([self._next, np.zeros(count, np.intp)])

    def select(self, keep: np.ndarray) -> None:
        """Keep the tracks where `keep` (T,) is true, in order."""
        self._stamps, self._centres, self._next = (self._stamps[keep], self._centres[keep],
                                                    self._next[keep])

    def push(self, rows: np.ndarray, stamp: float, centres: np.ndarray) -> None:
        """Record centres (M, D) at `stamp` for the tracks `rows` (M,); a NaN centre (no
        visible joint) is not recorded."""
        seen = np.isfinite(centres).all(-1)
        rows, centres = np.asarray(rows)[seen], centres[seen]
        slots = self._next[rows]
        self._stamps[rows, slots] = stamp
        self._centres[rows, slots] = centres
        self._next[rows] = (slots + 1) % self.SLOTS

    def remap(self, affine: np.ndarray) -> None:
        """Move every recorded centre (D = 2, pixels) by affine (2, 3): A[:, :2] x + A[:, 2]."""
        self._centres = self._centres @ affine[:, :2].T + affine[:, 2]

    def velocity(self, window_s: float) -> np.ndarray:
        """(T, D) per second: each track's least-squares centre slope over its observations
        of the last window_s before its latest one; 0 with fewer than two distinct stamps."""
        seen = np.isfinite(self._stamps)
        latest = np.where(seen, self._stamps, -np.inf).max(-1, keepdims=True)    # (T, 1)
        with np.errstate(invalid="ignore"):
            recent = seen & (self._stamps > latest - window_s)
        stamp = np.where(np.isfinite(latest), latest, 0.0)
        weight = recent.astype(np.float64)                            # (T, K)
        count = weight.sum(-1, keepdims=True)                         # (T, 1)
        t = np.where(recent, self._stamps - stamp, 0.0)
        t_mean = (weight * t).sum(-1, keepdims=True) / np.maximum(count, 1.0)
        dt = np.where(recent, t - t_mean, 0.0)                        # (T, K)
        c = np.where(recent[..., None], self._centres, 0.0)
        c_mean = (weight[..., None] * c).sum(1, keepdims=True) / np.maximum(count, 1.0)[..., None]
        spread = (dt ** 2).sum(-1)                                    # (T,)
        covariance = (dt[..., None] * (c - c_mean) * weight[..., None]).sum(1)   # (T, D)
        usable = spread > 1e-12
        return np.where(usable[:, None], covariance / np.where(usable, spread, 1.0)[:, None],
                        0.0)


def _mean_joint_distance(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean distance over the joints both skeletons have (0 where none) and their count, of
    skeletons a, b (..., J, 3) broadcast together -> (...) each."""
    return mean_joint_distance(vector_norm(a - b), empty=0.0)


# A confirmed one-camera track matched again after a gap longer than this (s) is published
# from its second match in a row: a review found one false or partial detection inside a
# lost track's widened gate published at once under the person's id (53 of 75 ghost
# person-frames over 12 motion-capture scenes); a track missing one or two frames at 30 fps
# comes back published at once.
REID_HOLD_AFTER_S = 0.1


@dataclass(frozen=True)
class ImageTrackerParams:
    """max_distance: gate on the mean keypoint distance divided by the person's size in the
        image (diagonal of its keypoints' bounding box; the smaller of the track's and the
        detection's), for a track seen in the last frame; a joint farther than the gate by
        itself and _WILD_JOINT_MEDIANS times the median joint is left out of the mean.
    gate_growth_per_s: how much that gate widens per second a track has been unseen.
    reid_window_s: a lost confirmed track can be re-identified for this long (s).
    min_hits: consecutive matched frames before a track is confirmed (published); a tentative
        track missed once is dropped.
    velocity_smoothing: weight of the newest step in the image velocity that predicts a track
        seen at the last update (0..1], for a step of at least VELOCITY_REFERENCE_INTERVAL_S
        (smoothed_velocity).
    velocity_window_s: a track unseen for one or more updates is predicted with the
        least-squares slope of its keypoint centre over its detections in this span (s)
        before its last one (at most CentreHistory.SLOTS of them): a detector's keypoints
        shift by 10-20 px from frame to frame, 300-600 px/s of noise in one step at 30 fps,
        which over a gap of half a second put the prediction of a lost person nearer another
        (benchmarks/results_onecam.md, session 11). From frame to frame the smoothed steps
        serve better (they follow turns sooner: the left/right continuity measured worse with
        the slope).
    relabel_window_s: time constant (s) of the share of recent time in which a track has
        kept a left/right pair's labels against the detector's (update_labelled); while
        keeping them would take that share over one half, the detector's labels are taken
        for the whole view (from a clean history after 0.69 x this of continuous
        overriding), so a track that started on a confused frame does not stay wrong; a
        track younger than a quarter of this takes the detector's labels when they change,
        and a clearly labelled frame older than half of it is not continued. 0 turns the
        left/right continuity off.
    """

    max_distance: float = 0.5
    gate_growth_per_s: float = 1.0
    reid_window_s: float = 1.0
    min_hits: int = 3
    velocity_smoothing: float = 0.5
    velocity_window_s: float = 0.5
    relabel_window_s: float = 1.0

    def __post_init__(self) -> None:
        if not self.max_distance > 0:
            raise ValueError(f"max_distance must be > 0, got {self.max_distance}")
        if not self.gate_growth_per_s >= 0:
            raise ValueError(f"gate_growth_per_s must be >= 0, got {self.gate_growth_per_s}")
        if not self.reid_window_s > 0:
            raise ValueError(f"reid_window_s must be > 0, got {self.reid_window_s}")
        if self.min_hits < 1:
            raise ValueError(f"min_hits must be >= 1, got {self.min_hits}")
        if not 0 < self.velocity_smoothing <= 1:
            raise ValueError(f"velocity_smoothing must be in (0, 1], got "
                             f"{self.velocity_smoothing}")
        if not self.velocity_window_s > 0:
            raise ValueError(f"velocity_window_s must be > 0, got {self.velocity_window_s}")
        if not self.relabel_window_s >= 0:
            raise ValueError(f"relabel_window_s must be >= 0, got {self.relabel_window_s}")


@dataclass(frozen=True)
class ImageTrackUpdate:
    """One frame of ImageTracker.update_labelled: ids (P,) int64 >= 1, confirmed (P,) bool,
    swapped (P, K) bool, the left/right pairs relabelled to continue each track (apply them
    with left_right.exchange_pairs / exchange_detections); streak (P,) int64, the updates in
    a row, this one included, in which each person's track was matched (1 for a new track,
    and for a lost one re-identified now)."""

    ids: np.ndarray
    confirmed: np.ndarray
    swapped: np.ndarray
    streak: np.ndarray


class ImageTracker:
    """Ids for one camera's 2D people: update(keypoints (P, J, 2) pixels, stamp s) ->
    (ids (P,) int64 >= 1, confirmed (P,) bool). See the module docstring."""

    def __init__(self, params: ImageTrackerParams | None = None) -> None:
        self.params = params or ImageTrackerParams()
        self.reset()

    def reset(self) -> None:
        """Forget every track and the counters (ids start again at 1)."""
        self.stats = TrackerStats()
        self._next_id = 1
        self._ids = np.zeros((0,), np.int64)
        self._keypoints = np.zeros((0, 0, 2))   # (T, J, 2) last seen pixels
        self._velocity = np.zeros((0, 2))       # (T, 2) pixels/s of the keypoint centre
        self._centres = CentreHistory(2)        # recent keypoint centres per track (pixels)
        self._last_seen = np.zeros((0,))        # (T,) s
        self._hits = np.zeros((0,), np.int64)   # (T,) consecutive matches
        self._confirmed = np.zeros((0,), bool)  # (T,)
        self._override_share = np.zeros((0, 0))  # (T, K) recent share relabelled, 0..1
        # (T, J, 2) pixels and (T,) s: each track's keypoints at its last update whose
        # left/right labelling was clear as a whole (_relabel), what the next labels continue
        self._label_keypoints = np.zeros((0, 0, 2))
        self._label_seen = np.zeros((0,))
        self._born = np.zeros((0,))            # (T,) s: each track's first update
        self._layout_levels: tuple = ()        # left_right.limb_levels of the current layout
        self._layout: JointLayout | None = None    # of the last update
        self._last_stamp: float | None = None

    @property
    def active_ids(self) -> np.ndarray:
        """Ids of the confirmed tracks held now (seen lately or within the re-id window)."""
        return self._ids[self._confirmed].copy()

    def remap(self, affine: np.ndarray) -> None:
        """The image's pixels moved (the camera changed resolution, binning or region of
        interest): move every track's pixels, pixels/s and centres by affine (2, 3), x ->
        A[:, :2] x + A[:, 2], so the people keep their ids (a review: a camera switched to
        another resolution gave everyone new ids)."""
        affine = np.asarray(affine, np.float64)
        if affine.shape != (2, 3) or not np.isfinite(affine).all():
            raise ValueError(f"affine must be a finite (2, 3) matrix, got {affine.shape}")
        self._keypoints = self._keypoints @ affine[:, :2].T + affine[:, 2]
        self._label_keypoints = self._label_keypoints @ affine[:, :2].T + affine[:, 2]
        self._velocity = self._velocity @ affine[:, :2].T
        self._centres.remap(affine)

    def update(self, keypoints: np.ndarray, stamp: float) -> tuple[np.ndarray, np.ndarray]:
        """keypoints (P, J, 2) pixels, stamp (s) -> (ids (P,), confirmed (P,))."""
        update = self.update_labelled(keypoints, stamp, None)
        return update.ids, update.confirmed

    def update_labelled(self, keypoints: np.ndarray, stamp: float,
                        layout: JointLayout | None) -> ImageTrackUpdate:
        """update() that also keeps the labelling of the layout's left/right pairs
        (left_right.left_right_pairs) continuous along each track (module docstring; None:
        no relabelling); the track remembers the relabelled keypoints."""
        keypoints = np.array(keypoints, np.float64)
        if keypoints.ndim == 3 and len(keypoints) == 0 and \
                self._keypoints.shape[1] not in (0, keypoints.shape[1]):
            # nobody seen says nothing of the layout: an empty 2D message, read as COCO-17,
            # reset a BlazePose-33 camera's tracks (a review: ids restarted at 1, people
            # confirmed again after a one-frame miss)
            keypoints, layout = np.zeros((0, *self._keypoints.shape[1:])), self._layout
        self._layout = layout
        pairs = left_right_pairs(layout) if layout is not None else np.zeros((0, 2), np.intp)
        self._layout_levels = limb_levels(layout) if layout is not None else ()
        if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
            raise ValueError(f"keypoints must be (P, J, 2), got {keypoints.shape}")
        if not np.isfinite(stamp):
            raise ValueError(f"stamp must be finite, got {stamp}")
        if self._last_stamp is not None and stamp < self._last_stamp:
            self.reset()                      # clock went backwards (bag loop): start over
        self._last_stamp = stamp
        num_people, num_joints = keypoints.shape[:2]
        if self._keypoints.shape[1] != num_joints or self._override_share.shape[1] != len(pairs):
            self.reset()
            self._last_stamp = stamp
            self._keypoints = np.zeros((0, num_joints, 2))
            self._label_keypoints = np.zeros((0, num_joints, 2))
            self._override_share = np.zeros((0, len(pairs)))
        self._forget(stamp)
        p = self.params
        ids = np.zeros((num_people,), np.int64)
        matched = np.zeros((num_people,), bool)
        returned = np.zeros((num_people,), bool)    # a confirmed track back after a gap
        swapped = np.zeros((num_people, len(pairs)), bool)
        track_matched = np.zeros(len(self._ids), bool)
        if len(self._ids) and num_people:
            gap = stamp - self._last_seen
            # (T, 2) px/s: smoothed steps for tracks seen last update, else the slope over
            # the track's last velocity_window_s (ImageTrackerParams)
            lost = self._hits == 0
            velocity = self._velocity if not lost.any() else np.where(
                lost[:, None], self._centres.velocity(p.velocity_window_s), self._velocity)
            # a track seen at the previous update of a stream slower than reid_window_s (a
            # throttled camera, a slow detector) is older than the window: its prediction and
            # gate stop growing there
            horizon = np.minimum(gap, p.reid_window_s)
            predicted = self._keypoints + (velocity * horizon[:, None])[:, None, :]
            dist = vector_norm(predicted[:, None] - keypoints[None])             # (T, P, J)
            # The mean over the joints both have, but for a joint farther than the gate by
            # itself and 4 times the median joint's distance (one wrist 1000 px off for a
            # frame was stored, failed the next frames' mean and split the track), relative
            # to the smaller of the track's and the detection's size (a misfire of keypoints
            # scattered over the image, 3000 px across, was close relative to its own size:
            # it took over a confirmed track at once and was published 40-300 m away; both
            # found by a review).
            seen = np.isfinite(dist)
            size = np.minimum(box_diagonal(self._keypoints, empty=0.0)[:, None],
                              box_diagonal(keypoints, empty=0.0)[None])   # 0: no joint
            median = nanmedian_axis(np.where(seen, dist, np.nan), -1)               # (T, P)
            wild = seen & (dist > np.maximum(_WILD_JOINT_MEDIANS * median,
                                             p.max_distance * size)[..., None])
            used = seen & ~wild
            relative = mean_joint_distance(dist, used)[0] / np.maximum(size, 1.0)
            gate = p.max_distance + p.gate_growth_per_s * np.maximum(horizon - 1e-9, 0.0)
            cost = np.where(relative <= gate[:, None], relative, _UNMATCHABLE)  # NaN: none
            rows, cols = linear_sum_assignment(cost)
            ok = cost[rows, cols] < _UNMATCHABLE
            rows, cols = rows[ok], cols[ok]
            if len(pairs) and p.relabel_window_s > 0:
                # the labels continue the track's last clearly labelled keypoints, moved on
                # as its prediction moves the last ones
                since = np.minimum(stamp - self._label_seen[rows], p.reid_window_s)
                reference = self._label_keypoints[rows] + (
                    velocity[rows] * since[:, None])[:, None, :]
                swapped[cols], clear = self._relabel(keypoints[cols], reference, rows, pairs,
                                                     stamp, since)
                keypoints[cols] = exchange_pairs(keypoints[cols], pairs, swapped[cols])
                labelled, now = rows[clear], keypoints[cols[clear]]
                self._label_keypoints[labelled] = np.where(np.isfinite(now), now,
                                                           self._label_keypoints[labelled])
                self._label_seen[labelled] = stamp
            dt = np.maximum(gap[rows], 1e-6)[:, None]
            centre = _centre(keypoints[cols])
            step = _nan_to_zero((centre - _centre(self._keypoints[rows])) / dt)
            back = self._hits[rows] == 0       # a confirmed track seen again after a gap
            self.stats.reidentified += int(back.sum())
            returned[cols] = back & (gap[rows] > REID_HOLD_AFTER_S)
            self._velocity[rows] = np.where(back[:, None], 0.0, smoothed_velocity(
                self._velocity[rows], step, dt, p.velocity_smoothing))
            self._centres.push(rows, stamp, centre)
            self._keypoints[rows] = np.where(np.isfinite(keypoints[cols]), keypoints[cols],
                                             self._keypoints[rows])
            self._last_seen[rows] = stamp
            self._hits[rows] += 1
            ids[cols] = self._ids[rows]
            matched[cols] = True
            track_matched[rows] = True
        # Unmatched tracks: tentative ones are dropped, confirmed ones wait for re-id.
        self._hits[~track_matched] = 0
        keep = track_matched | self._confirmed
        if not keep.all():
            self._select(keep)
        self._confirmed |= self._hits >= p.min_hits
        new = np.flatnonzero(~matched)
        if new.size:
            fresh = np.arange(self._next_id, self._next_id + new.size, dtype=np.int64)
            self._next_id += new.size
            self.stats.tracks_started += new.size
            ids[new] = fresh
            self._ids = np.concatenate([self._ids, fresh])
            self._keypoints = np.concatenate([self._keypoints, keypoints[new]])
            self._label_keypoints = np.concatenate([self._label_keypoints, keypoints[new]])
            self._label_seen = np.concatenate([self._label_seen, np.full(new.size, stamp)])
            self._born = np.concatenate([self._born, np.full(new.size, stamp)])
            self._velocity = np.concatenate([self._velocity, np.zeros((new.size, 2))])
            self._centres.add(new.size)
            self._centres.push(np.arange(len(self._ids) - new.size, len(self._ids)), stamp,
                               _centre(keypoints[new]))
            self._last_seen = np.concatenate([self._last_seen, np.full(new.size, stamp)])
            self._hits = np.concatenate([self._hits, np.ones(new.size, np.int64)])
            self._confirmed = np.concatenate([self._confirmed, np.full(new.size,
                                                                       p.min_hits <= 1)])
            self._override_share = np.concatenate([self._override_share,
                                                  np.zeros((new.size, len(pairs)))])
        order = np.argsort(self._ids)
        rows = order[np.searchsorted(self._ids[order], ids)] if num_people else ids
        if not num_people:
            return ImageTrackUpdate(ids, np.zeros(0, bool), swapped, np.zeros(0, np.int64))
        # a track back after a gap is published from its second match in a row: one false
        # detection inside its widened gate is not (REID_HOLD_AFTER_S)
        return ImageTrackUpdate(ids, self._confirmed[rows] & ~returned, swapped,
                                self._hits[rows].copy())

    def _relabel(self, observed: np.ndarray, predicted: np.ndarray, rows: np.ndarray,
                 pairs: np.ndarray, stamp: float, reference_age: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        """(M, K) pairs of the matched people observed (M, J, 2) to exchange so that they
        continue their tracks `rows` (predicted (M, J, 2) pixels: from the tracks' last
        clearly labelled keypoints, reference_age (M,) s ago), (M,) whether this frame's
        labelling is clear as a whole (the next frames continue it), and the tracks' recent
        share of relabelled time (relabel_window_s) after this frame. A track back after a gap
        takes the detector's labels (its limbs have moved since: the prediction cannot
        tell)."""
        size = np.maximum(box_diagonal(observed, empty=0.0), 1.0)[:, None]
        straight, crossed = pair_distances(observed, predicted, pairs)
        min_error = _RELABEL_MIN_SHARE * size
        with np.errstate(invalid="ignore"):
            swap = (crossed < _RELABEL_GAIN * straight) & (straight > min_error)
            keep = (straight < _RELABEL_GAIN * crossed) | (straight <= min_error)
        # A limb pair that the positions do not decide, below a pair that was exchanged
        # (whole-body and whole-limb confusions), is exchanged with it when its image bones
        # from that pair then keep the lengths the track had; below a pair kept as detected
        # it keeps the detector's labels (a noisy joint alone starts no relabelling).
        if self._layout_levels:
            last = self._keypoints[rows]
            for children, parents in self._layout_levels:
                undecided = ~swap[:, children] & ~keep[:, children] & swap[:, parents]
                if not undecided.any():
                    continue
                parent_pos = exchange_pairs(observed, pairs, swap)   # parents as decided
                bone_s, bone_c = _limb_bone_change(parent_pos, observed, last,
                                                   pairs[parents], pairs[children])
                with np.errstate(invalid="ignore"):
                    swap[:, children] |= undecided & (bone_c < _RELABEL_GAIN * bone_s) \
                        & (bone_s > min_error)
        # Whole views: the detector exchanges a person's left and right mostly as a whole (a
        # person seen from behind taken as facing the camera). Summed over the pairs, the
        # exchanged labels fitting the track clearly better exchange every pair but those
        # whose own positions clearly keep them; otherwise the pairs' own decisions stand (a
        # limb the detector exchanged alone).
        both = np.isfinite(straight) & np.isfinite(crossed)
        straight_sum = np.where(both, straight, 0.0).sum(-1)
        crossed_sum = np.where(both, crossed, 0.0).sum(-1)
        view_swap = crossed_sum < _RELABEL_GAIN * straight_sum
        view_keep = straight_sum < _RELABEL_GAIN * crossed_sum
        clear_keep = keep & (straight > min_error)
        swap = np.where(view_swap[:, None], both & ~clear_keep, swap)
        swap &= np.isfinite(crossed) & (self._hits[rows] > 0)[:, None]   # seen last update
        # the share of recent time this track overrode the detector on each pair: over half,
        # the detector is more likely right than the track's own past (a wrong start)
        keep_share = np.exp(-np.maximum(stamp - self._last_seen[rows], 0.0)
                            / self.params.relabel_window_s)[:, None]
        share = self._override_share[rows] * keep_share
        # a pair over it takes the detector's labels, and so does the rest of its view
        # (a whole-view mistake at the track's start): the next frames continue them; so
        # does a young track, which has no labelling of its own yet (one born on frames the
        # detector had the wrong way round kept them for 0.7 s after the detector was right),
        # and one whose last clearly labelled frame is stale
        window = self.params.relabel_window_s
        young = stamp - self._born[rows] < _RELABEL_YOUNG_SHARE * window
        stale = reference_age > _RELABEL_STALE_SHARE * window
        reset = (swap & (share + (1 - keep_share) > 0.5)).any(-1) | (young & swap.any(-1))
        reset |= stale
        swap &= ~reset[:, None]
        self._override_share[rows] = share + (1 - keep_share) * swap
        # the next frames continue this one where its labels are one labelling as a whole
        # (none exchanged, or all that could be, each pair's own positions agreeing or too
        # close to tell), not a mixture; a track back after a gap starts again from the
        # detector's labels
        uniform = ~swap.any(-1) | (swap == both).all(-1)
        with np.errstate(invalid="ignore"):
            agree = np.where(view_swap[:, None], crossed <= straight, straight <= crossed) \
                | ~both | (straight <= min_error)
        clear = uniform & (view_swap | view_keep) & agree.all(-1)
        return swap, clear | reset | (self._hits[rows] == 0)

    def _select(self, keep: np.ndarray) -> None:
        self._ids, self._keypoints = self._ids[keep], self._keypoints[keep]
        self._label_keypoints, self._label_seen = self._label_keypoints[keep], \
            self._label_seen[keep]
        self._born = self._born[keep]
        self._centres.select(keep)
        self._velocity, self._last_seen = self._velocity[keep], self._last_seen[keep]
        self._hits, self._confirmed = self._hits[keep], self._confirmed[keep]
        self._override_share = self._override_share[keep]

    def _forget(self, stamp: float) -> None:
        """Drop the tracks lost for longer than reid_window_s; a track matched at the
        previous update (hits > 0) is kept however long ago that was: at a stream slower than
        the window (a camera throttled to 0.5 Hz, a detector taking 2 s a frame) no track
        lived to its min_hits, and nobody was ever published (found by a CI failure whose
        test images came ~40 s apart in stamp time)."""
        keep = (stamp - self._last_seen <= self.params.reid_window_s) | (self._hits > 0)
        if not keep.all():
            self.stats.tracks_forgotten += int((~keep).sum())
            self._select(keep)


def _limb_bone_change(parents_at: np.ndarray, observed: np.ndarray, last: np.ndarray,
                      parent_pairs: np.ndarray, child_pairs: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """How much the two image bones parent -> child (left, right) change length from the
    track's last keypoints (M, J, 2), with the child pair as observed and exchanged:
    (M, C) pixels each."""
    pl, pr = parents_at[:, parent_pairs[:, 0]], parents_at[:, parent_pairs[:, 1]]
    cl, cr = observed[:, child_pairs[:, 0]], observed[:, child_pairs[:, 1]]
    before_l = np.linalg.norm(last[:, parent_pairs[:, 0]] - last[:, child_pairs[:, 0]], axis=-1)
    before_r = np.linalg.norm(last[:, parent_pairs[:, 1]] - last[:, child_pairs[:, 1]], axis=-1)

    def change(left_child: np.ndarray, right_child: np.ndarray) -> np.ndarray:
        return (np.abs(np.linalg.norm(pl - left_child, axis=-1) - before_l)
                + np.abs(np.linalg.norm(pr - right_child, axis=-1) - before_r))

    return change(cl, cr), change(cr, cl)


def smoothed_velocity(previous: np.ndarray, step: np.ndarray, dt: np.ndarray,
                      smoothing: float) -> np.ndarray:
    """Exponential smoothing of a track's velocity with its newest step (displacement / dt):
    previous, step (R, D) per second, dt (R, 1) s. The step's weight is `smoothing` for an
    interval of at least VELOCITY_REFERENCE_INTERVAL_S and proportionally less for a shorter
    one: a displacement over a few milliseconds is mostly the position's noise divided by a
    small dt (two sets 17 ms apart read 5 m/s for a person walking at 0.5 m/s and split their
    track 0.3 s later), and the smoothing keeps about the same time constant at any rate."""
    weight = smoothing * np.minimum(dt / VELOCITY_REFERENCE_INTERVAL_S, 1.0)
    return weight * step + (1.0 - weight) * previous


def _nan_to_zero(values: np.ndarray) -> np.ndarray:
    """np.nan_to_num's result (NaN -> 0, +-inf -> the largest finite float) without its
    Python-level overhead, for the per-frame path."""
    return np.minimum(np.maximum(np.where(np.isnan(values), 0.0, values), -_FLOAT_MAX),
                      _FLOAT_MAX)


_FLOAT_MAX = float(np.finfo(np.float64).max)


def _centre(positions: np.ndarray) -> np.ndarray:
    """Mean of the visible joints: (..., J, D) -> (..., D); NaN if no joint is visible."""
    return masked_mean(positions, finite_rows(positions))
