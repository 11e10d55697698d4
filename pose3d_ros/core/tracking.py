"""Stable person ids over time, for 3D skeletons (SkeletonTracker) and for one camera's 2D
people (ImageTracker), and id-switch counting.

Each track keeps its last joint positions (metres) and a constant-velocity model of its centre
(mean of its visible joints). At every update, the predicted tracks and the new skeletons are
matched one-to-one by the Hungarian method (scipy.optimize.linear_sum_assignment) on the mean
3D distance over the joints both have; pairs farther than a gate are not matched. The gate of a
track grows with the time since it was last seen (`gate_growth_mps`), so a person who leaves
and comes back within `reid_window_s` gets their old id back (re-identification); tracks older
than that are forgotten. Unmatched skeletons start new tracks with fresh ids (>= 1).

ImageTracker serves the one-camera path, whose depth is a guess that can jump by a metre from
one frame to the next: it matches people in the image, where they are measured, gating the
mean keypoint distance relative to the person's size in pixels, and confirms a track only after
`min_hits` consecutive matches, so a detection seen in one or two frames (a ghost in glare)
never gets a published id. Given the layout's left/right pairs (update_labelled), it also keeps
each track's left/right labelling continuous: a pair whose exchanged labels fit the track's
predicted joints clearly better than the detector's (left_right.crossed_pairs) is exchanged,
for at most `max_relabel_s` at a stretch, so a detector that takes a person seen from the front
for one seen from behind for a few frames no longer turns the person round (and back)
under the 3D that follows.

count_id_switches() is the CLEAR-MOT IDSW count against reference identities, for evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .left_right import crossed_pairs, exchange_pairs

_UNMATCHABLE = 1e6
# Left/right continuity: a pair is relabelled when exchanging it brings it under this share of
# its distance to the track's prediction, and that distance is over this share of the person's
# size in the image (joints that nearly overlap, e.g. the hips of a person seen side-on, are
# left as the detector labels them).
_RELABEL_GAIN = 0.5
_RELABEL_MIN_SHARE = 0.05


@dataclass
class TrackerParams:
    """max_distance_m: gate on the mean joint distance (m) for a track seen in the last frame.
    gate_growth_mps: how much the gate widens per second a track has been unseen (m/s).
    reid_window_s: a lost track can be re-identified for this long (s), then it is forgotten.
    max_prediction_s: the constant-velocity prediction is extrapolated at most this long (s).
    velocity_smoothing: weight of the newest velocity in the track's velocity estimate (0..1].
    """

    max_distance_m: float = 0.5
    gate_growth_mps: float = 1.0
    reid_window_s: float = 2.0
    max_prediction_s: float = 0.3
    velocity_smoothing: float = 0.5

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


@dataclass
class TrackerStats:
    """Counters since the tracker was made: tracks started, re-identified and forgotten."""

    tracks_started: int = 0
    reidentified: int = 0
    tracks_forgotten: int = 0


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
        self._last_stamp: float | None = None

    @property
    def active_ids(self) -> np.ndarray:
        return self._ids.copy()

    def update(self, positions: np.ndarray, stamp: float) -> np.ndarray:
        positions = np.asarray(positions, dtype=np.float64)
        if positions.ndim != 3 or positions.shape[-1] != 3:
            raise ValueError(f"positions must be (P, J, 3), got {positions.shape}")
        if not np.isfinite(stamp):
            raise ValueError(f"stamp must be finite, got {stamp}")
        if self._last_stamp is not None and stamp < self._last_stamp:
            # The clock went backwards (bag loop, simulated time reset): start over.
            self.reset()
        previous_update = self._last_stamp
        self._last_stamp = stamp
        num_people, num_joints = positions.shape[:2]
        if self._positions.shape[1] != num_joints:
            self._ids = np.zeros((0,), np.int64)
            self._positions = np.zeros((0, num_joints, 3))
            self._velocity = np.zeros((0, 3))
            self._last_seen = np.zeros((0,))
        self._forget(stamp)

        ids = np.zeros((num_people,), np.int64)
        matched_people = np.zeros((num_people,), bool)
        if len(self._ids) and num_people:
            gap = stamp - self._last_seen                                      # (T,)
            horizon = np.minimum(gap, self.params.max_prediction_s)
            predicted = self._positions + (self._velocity * horizon[:, None])[:, None, :]
            dist = np.linalg.norm(predicted[:, None] - positions[None], axis=-1)  # (T, P, J)
            valid = np.isfinite(dist)
            count = valid.sum(axis=-1)
            mean = np.where(valid, dist, 0.0).sum(axis=-1) / np.maximum(count, 1)
            gate = self.params.max_distance_m + self.params.gate_growth_mps * np.maximum(
                gap - 1e-9, 0.0)
            cost = np.where((count > 0) & (mean <= gate[:, None]), mean, _UNMATCHABLE)
            rows, cols = linear_sum_assignment(cost)
            ok = cost[rows, cols] < _UNMATCHABLE
            rows, cols = rows[ok], cols[ok]
            dt = np.maximum(gap[rows], 1e-6)[:, None]
            new_velocity = (_centre(positions[cols]) - _centre(self._positions[rows])) / dt
            new_velocity = np.nan_to_num(new_velocity)
            # Not matched at the previous update: the person was lost and is back.
            lost_before = (self._last_seen[rows] < previous_update
                           if previous_update is not None else np.zeros(rows.size, bool))
            self.stats.reidentified += int(lost_before.sum())
            w = self.params.velocity_smoothing
            self._velocity[rows] = np.where(lost_before[:, None], 0.0,
                                            w * new_velocity + (1 - w) * self._velocity[rows])
            # Keep the previous position of joints the new skeleton misses.
            self._positions[rows] = np.where(np.isfinite(positions[cols]), positions[cols],
                                             self._positions[rows])
            self._last_seen[rows] = stamp
            ids[cols] = self._ids[rows]
            matched_people[cols] = True
        new = np.flatnonzero(~matched_people)
        if new.size:
            fresh_ids = np.arange(self._next_id, self._next_id + new.size, dtype=np.int64)
            self._next_id += new.size
            self.stats.tracks_started += new.size
            ids[new] = fresh_ids
            self._ids = np.concatenate([self._ids, fresh_ids])
            self._positions = np.concatenate([self._positions, positions[new]])
            self._velocity = np.concatenate([self._velocity, np.zeros((new.size, 3))])
            self._last_seen = np.concatenate([self._last_seen, np.full((new.size,), stamp)])
        return ids

    def _forget(self, stamp: float) -> None:
        keep = stamp - self._last_seen <= self.params.reid_window_s
        if not keep.all():
            self.stats.tracks_forgotten += int((~keep).sum())
            self._ids, self._positions = self._ids[keep], self._positions[keep]
            self._velocity, self._last_seen = self._velocity[keep], self._last_seen[keep]


@dataclass(frozen=True)
class ImageTrackerParams:
    """max_distance: gate on the mean keypoint distance divided by the person's size in the
        image (diagonal of its keypoints' bounding box), for a track seen in the last frame.
    gate_growth_per_s: how much that gate widens per second a track has been unseen.
    reid_window_s: a lost confirmed track can be re-identified for this long (s).
    min_hits: consecutive matched frames before a track is confirmed (published); a tentative
        track missed once is dropped.
    velocity_smoothing: weight of the newest image velocity in the track's estimate (0..1].
    max_relabel_s: longest stretch (s) over which a track keeps a left/right pair's labels
        against the detector's (update_labelled); after it the detector's labels are taken,
        so a wrong start cannot last. 0 turns the left/right continuity off.
    """

    max_distance: float = 0.5
    gate_growth_per_s: float = 1.0
    reid_window_s: float = 1.0
    min_hits: int = 3
    velocity_smoothing: float = 0.5
    max_relabel_s: float = 1.0

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
        if not self.max_relabel_s >= 0:
            raise ValueError(f"max_relabel_s must be >= 0, got {self.max_relabel_s}")


@dataclass(frozen=True)
class ImageTrackUpdate:
    """One frame of ImageTracker.update_labelled: ids (P,) int64 >= 1, confirmed (P,) bool,
    swapped (P, K) bool, the left/right pairs relabelled to continue each track (apply them
    with left_right.exchange_pairs / exchange_detections)."""

    ids: np.ndarray
    confirmed: np.ndarray
    swapped: np.ndarray


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
        self._last_seen = np.zeros((0,))        # (T,) s
        self._hits = np.zeros((0,), np.int64)   # (T,) consecutive matches
        self._confirmed = np.zeros((0,), bool)  # (T,)
        self._relabel_since = np.zeros((0, 0))  # (T, K) s since a pair is relabelled, NaN: not
        self._last_stamp: float | None = None

    def update(self, keypoints: np.ndarray, stamp: float) -> tuple[np.ndarray, np.ndarray]:
        """keypoints (P, J, 2) pixels, stamp (s) -> (ids (P,), confirmed (P,))."""
        update = self.update_labelled(keypoints, stamp, np.zeros((0, 2), np.intp))
        return update.ids, update.confirmed

    def update_labelled(self, keypoints: np.ndarray, stamp: float, pairs: np.ndarray
                        ) -> ImageTrackUpdate:
        """update() that also keeps the left/right labelling of the pairs (K, 2) (joint
        indices, left_right.left_right_pairs) continuous along each track (module
        docstring); the track remembers the relabelled keypoints."""
        keypoints = np.array(keypoints, np.float64)
        pairs = np.asarray(pairs, np.intp).reshape(-1, 2)
        if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
            raise ValueError(f"keypoints must be (P, J, 2), got {keypoints.shape}")
        if not np.isfinite(stamp):
            raise ValueError(f"stamp must be finite, got {stamp}")
        if self._last_stamp is not None and stamp < self._last_stamp:
            self.reset()                      # clock went backwards (bag loop): start over
        self._last_stamp = stamp
        num_people, num_joints = keypoints.shape[:2]
        if self._keypoints.shape[1] != num_joints or self._relabel_since.shape[1] != len(pairs):
            self.reset()
            self._last_stamp = stamp
            self._keypoints = np.zeros((0, num_joints, 2))
            self._relabel_since = np.zeros((0, len(pairs)))
        self._forget(stamp)
        p = self.params
        ids = np.zeros((num_people,), np.int64)
        matched = np.zeros((num_people,), bool)
        swapped = np.zeros((num_people, len(pairs)), bool)
        track_matched = np.zeros(len(self._ids), bool)
        if len(self._ids) and num_people:
            gap = stamp - self._last_seen
            predicted = self._keypoints + (self._velocity * gap[:, None])[:, None, :]
            dist = np.linalg.norm(predicted[:, None] - keypoints[None], axis=-1)  # (T, P, J)
            valid = np.isfinite(dist)
            count = valid.sum(-1)
            mean = np.where(valid, dist, 0.0).sum(-1) / np.maximum(count, 1)
            relative = mean / np.maximum(image_size(keypoints), 1.0)[None]
            gate = p.max_distance + p.gate_growth_per_s * np.maximum(gap - 1e-9, 0.0)
            cost = np.where((count > 0) & (relative <= gate[:, None]), relative, _UNMATCHABLE)
            rows, cols = linear_sum_assignment(cost)
            ok = cost[rows, cols] < _UNMATCHABLE
            rows, cols = rows[ok], cols[ok]
            if len(pairs) and p.max_relabel_s > 0:
                swapped[cols] = self._relabel(keypoints[cols], predicted[rows], rows, pairs,
                                              stamp)
                keypoints[cols] = exchange_pairs(keypoints[cols], pairs, swapped[cols])
            dt = np.maximum(gap[rows], 1e-6)[:, None]
            step = np.nan_to_num((_centre(keypoints[cols]) - _centre(self._keypoints[rows])) / dt)
            back = self._hits[rows] == 0       # a confirmed track seen again after a gap
            self.stats.reidentified += int(back.sum())
            w = p.velocity_smoothing
            self._velocity[rows] = np.where(back[:, None], 0.0,
                                            w * step + (1 - w) * self._velocity[rows])
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
            self._velocity = np.concatenate([self._velocity, np.zeros((new.size, 2))])
            self._last_seen = np.concatenate([self._last_seen, np.full(new.size, stamp)])
            self._hits = np.concatenate([self._hits, np.ones(new.size, np.int64)])
            self._confirmed = np.concatenate([self._confirmed, np.full(new.size,
                                                                       p.min_hits <= 1)])
            self._relabel_since = np.concatenate([self._relabel_since,
                                                  np.full((new.size, len(pairs)), np.nan)])
        order = np.argsort(self._ids)
        rows = order[np.searchsorted(self._ids[order], ids)] if num_people else ids
        confirmed = self._confirmed[rows] if num_people else np.zeros(0, bool)
        return ImageTrackUpdate(ids, confirmed, swapped)

    def _relabel(self, observed: np.ndarray, predicted: np.ndarray, rows: np.ndarray,
                 pairs: np.ndarray, stamp: float) -> np.ndarray:
        """(M, K) pairs of the matched people observed (M, J, 2) to exchange so that they
        continue their tracks `rows` (predicted (M, J, 2) pixels), none held over
        max_relabel_s; records when each relabelled stretch began. A track back after a gap
        takes the detector's labels (its limbs have moved since: the prediction cannot
        tell)."""
        size = np.maximum(image_size(observed), 1.0)[:, None]
        swap = crossed_pairs(observed, predicted, pairs, gain=_RELABEL_GAIN,
                             min_error=_RELABEL_MIN_SHARE * size)
        swap &= (self._hits[rows] > 0)[:, None]          # seen at the previous update
        since = self._relabel_since[rows]
        began = np.where(np.isnan(since), stamp, since)
        swap &= stamp - began <= self.params.max_relabel_s
        self._relabel_since[rows] = np.where(swap, began, np.nan)
        return swap

    def _select(self, keep: np.ndarray) -> None:
        self._ids, self._keypoints = self._ids[keep], self._keypoints[keep]
        self._velocity, self._last_seen = self._velocity[keep], self._last_seen[keep]
        self._hits, self._confirmed = self._hits[keep], self._confirmed[keep]
        self._relabel_since = self._relabel_since[keep]

    def _forget(self, stamp: float) -> None:
        keep = stamp - self._last_seen <= self.params.reid_window_s
        if not keep.all():
            self.stats.tracks_forgotten += int((~keep).sum())
            self._select(keep)


def image_size(keypoints: np.ndarray) -> np.ndarray:
    """(P, J, 2) pixels -> (P,) diagonal of each person's keypoint bounding box (pixels)."""
    seen = np.isfinite(keypoints).all(-1, keepdims=True)
    high = np.where(seen, keypoints, -np.inf).max(axis=1)
    low = np.where(seen, keypoints, np.inf).min(axis=1)
    extent = np.where(np.isfinite(high - low), high - low, 0.0)
    return np.hypot(extent[:, 0], extent[:, 1])


def _centre(positions: np.ndarray) -> np.ndarray:
    """Mean of the visible joints: (..., J, 3) -> (..., 3); NaN if no joint is visible."""
    valid = np.isfinite(positions).all(axis=-1)
    total = np.where(valid[..., None], positions, 0.0).sum(axis=-2)
    count = valid.sum(axis=-1)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def count_id_switches(reference_ids: list[np.ndarray], predicted_ids: list[np.ndarray]) -> int:
    """CLEAR-MOT identity switches: per frame, reference_ids[f] and predicted_ids[f] are (P_f,)
    arrays of matched pairs (same index = same person). A switch is counted each time a
    reference identity is matched to a different predicted id than at its previous match."""
    if len(reference_ids) != len(predicted_ids):
        raise ValueError(f"{len(reference_ids)} reference frames vs {len(predicted_ids)} "
                         "predicted frames")
    last: dict[int, int] = {}
    switches = 0
    for frame, (ref, pred) in enumerate(zip(reference_ids, predicted_ids, strict=True)):
        ref, pred = np.asarray(ref).ravel(), np.asarray(pred).ravel()
        if ref.shape != pred.shape:
            raise ValueError(f"frame {frame}: {ref.size} reference ids vs {pred.size} "
                             "predicted ids")
        for r, p in zip(ref.tolist(), pred.tolist(), strict=True):
            if r in last and last[r] != p:
                switches += 1
            last[r] = p
    return switches
