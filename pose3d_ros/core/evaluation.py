"""Scoring 3D skeleton tracks, with or without a reference.

With a reference (motion capture, or multi-view triangulation trusted as one): frames pair by
stamp, people match per frame (Hungarian on mean joint distance; for a tracked prediction
CLEAR-MOT's matching, a reference person keeping the track of the frame before while it stays
within the gate), each reference identity is followed over time, and evaluate_tracks computes
the metrics of pose3d_ros.core.metrics (MPJPE, PA-MPJPE, N-MPJPE, PSS, PCK3D, AUC,
velocity/acceleration error, jitter, detection rate, false positives, id switches as
CLEAR-MOT's IDSW, latency).

Without one, stability() reports what can be judged from the output alone: people per frame,
an id timeline, frames without output, root-depth trace and its frame-to-frame jitter, and
bone-length stability (coefficient of variation per person and bone).

For one camera, whose depth is a guess, people are matched where they are measured: the
prediction and the reference are projected into that camera and matched on their mean
keypoint distance relative to the person's size in the image (evaluate_tracks with `camera`,
image_identities). A person found at the wrong depth is then found (detection rate) and
badly placed (MPJPE, root distance error), not a false positive beside a missed person.
image_identities() adds ghosts (predicted tracks that match nobody) and id splits (each
reference person's distinct predicted ids).

Tracks are in one frame (SkeletonTrack.frame_id); bring them into a common frame with
in_frame() before comparing (bag_tracks.read_track does so from the bag's /tf_static).
"""
from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from . import metrics
from .array_ops import box_diagonal, mean_joint_distance
from .body_model import bone_lengths, length_cv
from .camera import CameraModel
from .layouts import JointLayout, convert_joints, root_positions
from .messages import seconds_to_ns
from .types import METHOD_UNKNOWN, ONE_VIEW_METHODS, Skeletons3D


@dataclass
class SkeletonTrack:
    """Skeletons over time.

    stamps_ns: (T,) int64 header stamps (capture time), strictly increasing.
    frames: T Skeletons3D, all in one layout and in the frame `frame_id`.
    log_ns: (T,) int64 times the messages were logged/received, when known.
    """

    stamps_ns: np.ndarray
    frames: list[Skeletons3D]
    log_ns: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.stamps_ns = np.asarray(self.stamps_ns, dtype=np.int64)
        if len(self.stamps_ns) != len(self.frames):
            raise ValueError(f"{len(self.stamps_ns)} stamps for {len(self.frames)} frames")
        if len(self.frames) > 1 and not (np.diff(self.stamps_ns) > 0).all():
            raise ValueError("skeleton track stamps must strictly increase")
        layouts = {f.layout.name for f in self.frames if f.num_people}
        if len(layouts) > 1:
            raise ValueError(f"a track must use one joint layout, got {sorted(layouts)}")
        frames = {f.frame_id for f in self.frames if f.num_people}
        if len(frames) > 1:
            raise ValueError(f"a track must be in one frame, got {sorted(frames)}; bring it "
                             "into one with in_frame()")

    def until(self, last_stamp_ns: int) -> SkeletonTrack:
        """The frames stamped at or before `last_stamp_ns` (ns)."""
        keep = int(np.searchsorted(self.stamps_ns, last_stamp_ns, side="right"))
        return SkeletonTrack(self.stamps_ns[:keep], self.frames[:keep],
                             None if self.log_ns is None else self.log_ns[:keep])

    @property
    def frame_id(self) -> str:
        """The frame the positions are in ("" for a track without people)."""
        return next((f.frame_id for f in self.frames if f.num_people), "")

    @property
    def layout(self) -> JointLayout | None:
        for frame in self.frames:
            if frame.num_people:
                return frame.layout
        return None


def latency_summary(latency_s: dict[str, np.ndarray]) -> dict[str, float]:
    """'latency <stage> median [s]' and '... p95 [s]' of each stage's samples (seconds)."""
    out: dict[str, float] = {}
    for stage, samples in latency_s.items():
        samples = np.asarray(samples, dtype=np.float64)
        samples = samples[np.isfinite(samples)]
        if len(samples):
            out[f"latency {stage} median [s]"] = round(float(np.median(samples)), 6)
            out[f"latency {stage} p95 [s]"] = round(float(np.percentile(samples, 95)), 6)
    return out


def truth_track(joints: np.ndarray, stamps_ns: np.ndarray, layout: JointLayout, frame_id: str,
                present: np.ndarray | None = None) -> SkeletonTrack:
    """Known 3D people (F, P, J, 3) metres in `frame_id` (motion capture, a rendered scene's
    truth.npz) as a track at stamps_ns (F,): person p has id p + 1, present (F, P) says who is
    there (default: whoever has a finite joint)."""
    joints = np.asarray(joints, np.float64)
    if present is None:
        present = np.isfinite(joints).all(-1).any(-1)
    frames = []
    for here, people in zip(present, joints, strict=True):
        chosen = people[here]
        shape = chosen.shape[:2]
        frames.append(Skeletons3D(chosen, np.ones(shape, np.float32), np.zeros(shape, np.float32),
                                  np.ones(shape, np.uint8), layout, frame_id, METHOD_UNKNOWN,
                                  np.flatnonzero(here) + 1))
    return SkeletonTrack(stamps_ns, frames)



def link_identities(frames: Sequence[np.ndarray], max_distance: float) -> list[np.ndarray]:
    """Identities (>= 1) for people over time, frames[t] of shape (P_t, J, 3) metres: each
    person continues the identity of the person it matches best in the previous frame
    (Hungarian on mean joint distance, at most max_distance metres), or starts a new one."""
    identities: list[np.ndarray] = []
    previous = np.zeros((0, 0, 3))
    previous_ids = np.zeros(0, np.int64)
    next_id = 1
    for people in frames:
        ids = np.zeros(len(people), np.int64)
        if len(previous) and len(people):
            pairs = metrics.match_people([people], [previous], max_distance=max_distance).pairs[0]
            ids[pairs[:, 0]] = previous_ids[pairs[:, 1]]
        for k in np.flatnonzero(ids == 0):
            ids[k] = next_id
            next_id += 1
        identities.append(ids)
        if len(people):
            previous, previous_ids = people, ids
    return identities


def is_untracked(frames_ids: Sequence[np.ndarray]) -> bool:
    """Whether a track's ids (one array per frame) number people per frame rather than follow
    them: with tracking off the pipeline numbers each frame's people 0, 1, ...
    (pipeline.untracked_ids); trackers' ids start at 1."""
    return any((np.asarray(ids) == 0).any() for ids in frames_ids)


# Identities of an untracked track are linked frame to frame within this distance (m), as the
# evaluation matches predictions to the reference.
LINK_DISTANCE_M = 0.5


# Stamps of one instant: a node stamps its outputs from float seconds (sub-microsecond
# rounding), so stamps within this (ns) are the same frame set.
STAMP_MATCH_NS = 1_000_000

# One camera: a prediction matches a reference person in the image when their mean keypoint
# distance is at most this share of the reference person's size there (its keypoints' box
# diagonal).
IMAGE_MATCH_DISTANCE = 0.5

# Reference identities share a column of the evaluation's arrays only this many frames apart
# or more: the acceleration of a column (three frames) never joins two of them.
IDENTITY_GAP_FRAMES = 3


def pair_frames(pred_ns: np.ndarray, ref_ns: np.ndarray, tolerance_ns: int) -> np.ndarray:
    """For each reference stamp (T_ref,), the index of the nearest prediction stamp within
    tolerance_ns, or -1. Both stamp arrays sorted."""
    pred_ns = np.asarray(pred_ns, dtype=np.int64)
    ref_ns = np.asarray(ref_ns, dtype=np.int64)
    if len(pred_ns) == 0:
        return np.full(len(ref_ns), -1, np.intp)
    right = np.clip(np.searchsorted(pred_ns, ref_ns), 0, len(pred_ns) - 1)
    left = np.clip(right - 1, 0, len(pred_ns) - 1)
    pick = np.where(np.abs(pred_ns[left] - ref_ns) <= np.abs(pred_ns[right] - ref_ns), left,
                    right)
    return np.where(np.abs(pred_ns[pick] - ref_ns) <= tolerance_ns, pick, -1)


def _common_layout(pred: JointLayout | None, ref: JointLayout | None) -> JointLayout:
    """The layout both can be expressed in: the prediction's if the reference converts to it."""
    if pred is None or ref is None:
        raise ValueError("a track holds no skeleton (nobody in any frame): no layout to compare")
    for target, source in ((pred, ref), (ref, pred)):
        try:
            convert_joints(np.zeros((source.num_joints, 3)), source, target)
            convert_joints(np.zeros((target.num_joints, 3)), target, target)
            return target
        except ValueError:
            continue
    raise ValueError(f"layouts {pred.name} and {ref.name} cannot be compared")


def _in_layout(frame: Skeletons3D, layout: JointLayout) -> np.ndarray:
    if frame.layout.name == layout.name:
        return np.asarray(frame.positions, dtype=np.float64)
    return convert_joints(frame.positions, frame.layout, layout)


@dataclass(frozen=True)
class Evaluation:
    """Scores and the series behind the plots.

    summary: headline numbers (JSON-able). time_s: (T,) reference frame times from the first.
    ref, pred: (T, C, J, 3) metres, a column per reference identity, identities that never
    meet sharing one (identity_columns), prediction NaN where unmatched. per_frame: label ->
    (T,) metres. per_joint: label -> (J,) metres.
    pred_all: per reference frame, every person of the paired prediction frame (P_t, J, 3) in
    `layout`, false positives included (what the overlays draw); pred_all_ids: their ids.
    """

    summary: dict[str, object]
    layout: JointLayout
    time_s: np.ndarray
    ref: np.ndarray
    pred: np.ndarray
    per_frame: dict[str, np.ndarray]
    per_joint: dict[str, np.ndarray]
    latency_s: dict[str, np.ndarray] = field(default_factory=dict)
    pred_all: list[np.ndarray] = field(default_factory=list)
    pred_all_ids: list[np.ndarray] = field(default_factory=list)


def evaluate_tracks(pred: SkeletonTrack, ref: SkeletonTrack, *, max_match_distance: float = 0.5,
                    tolerance_s: float = 0.004, pss_k: int = 10,
                    latency_s: dict[str, np.ndarray] | None = None,
                    camera: CameraModel | None = None) -> Evaluation:
    """Score a predicted track against a reference track (see the module docstring).

    max_match_distance: metres, mean joint distance above which a person is not matched.
    camera: the one camera of a one-camera run (both tracks in its rig frame): people are
    matched in its image instead (IMAGE_MATCH_DISTANCE of the person's size there), only the
    reference people in its view are expected, and the summary adds the matched people's
    root distance error from the camera (their monocular depth) and root-aligned MPJPE.
    tolerance_s: largest stamp difference for a prediction frame to count for a reference frame.
    pss_k: number of pose clusters for PSS, built from the reference itself (at most one per
    ten complete reference poses; with a short reference PSS is a coarse structure check):
    "PSS (own clusters)", k in "PSS clusters", not the paper's PSS@50 / PSS@100 of a Human3.6M
    vocabulary.
    latency_s: stage -> samples in seconds, shown as they are; if None and the prediction has
    log times, end-to-end latency = log time - stamp.
    """
    if len(ref.frames) == 0:
        raise ValueError("the reference track is empty")
    ref_layout = ref.layout
    if ref_layout is None:
        raise ValueError("the reference track holds no skeleton")
    layout = _common_layout(pred.layout or ref_layout, ref_layout)
    pair = pair_frames(pred.stamps_ns, ref.stamps_ns, seconds_to_ns(tolerance_s))

    # An untracked reference (e.g. triangulation without tracking) is followed from frame to
    # frame so that temporal metrics and id switches compare like with like.
    identities = _reference_identities(ref, layout, max_match_distance)
    all_ids = np.concatenate(identities + [np.zeros(0, np.int64)])
    ref_ids = np.unique(all_ids)
    index_of = [np.searchsorted(ref_ids, i) for i in identities]     # (P_t,) into ref_ids
    column_of, C = identity_columns(index_of)
    T, U, J = len(ref.frames), len(ref_ids), layout.num_joints
    ref_arr = np.full((T, C, J, 3), np.nan)
    pred_arr = np.full((T, C, J, 3), np.nan)
    pred_id = np.full((T, C), -1, np.int64)
    identity = np.full((T, C), -1, np.int64)          # the reference identity of each cell
    expected = np.zeros(T, np.int64)
    detected = np.zeros(T, np.int64)
    false_pos = np.zeros(T, np.int64)
    reproj = []
    pred_all: list[np.ndarray] = []
    pred_all_ids: list[np.ndarray] = []
    # CLEAR-MOT's matching for a tracked prediction: a reference identity keeps the track it
    # was matched to in the frame before while it stays within the gate (metrics.match_people)
    tracked = not is_untracked([f.ids for f in pred.frames])
    previous: dict[int, int] = {}                     # reference identity -> track id at t-1
    for t, ref_frame in enumerate(ref.frames):
        r = _in_layout(ref_frame, layout)
        cols = column_of[index_of[t]]
        ref_arr[t, cols] = r
        identity[t, cols] = index_of[t]
        # one camera: only the reference people in its view can be found
        in_view = np.ones(len(r), bool) if camera is None else \
            _inside(camera.project(r), camera)
        expected[t] = int(in_view.sum())
        if pair[t] < 0:
            pred_all.append(np.zeros((0, J, 3)))
            pred_all_ids.append(np.zeros(0, np.int64))
            previous = {}
            continue
        pred_frame = pred.frames[pair[t]]
        p = _in_layout(pred_frame, layout) if pred_frame.num_people else np.zeros((0, J, 3))
        track_ids = np.asarray(pred_frame.ids, np.int64)
        pred_all.append(p)
        pred_all_ids.append(track_ids)
        keep = metrics.continued_pairs(previous, index_of[t], track_ids) if tracked else None
        if camera is None:
            pairs = metrics.match_frame(p, r, max_distance=max_match_distance, keep=keep)[0]
        else:       # a person at the edge of the view that was found counts as expected
            pairs = _image_pairs(p, r, camera, IMAGE_MATCH_DISTANCE, keep)
            expected[t] += int((~in_view[pairs[:, 1]]).sum())
        previous = dict(zip(index_of[t][pairs[:, 1]].tolist(),
                            track_ids[pairs[:, 0]].tolist(), strict=True))
        pred_arr[t, cols[pairs[:, 1]]] = p[pairs[:, 0]]
        pred_id[t, cols[pairs[:, 1]]] = pred_frame.ids[pairs[:, 0]]
        detected[t] = len(pairs)
        false_pos[t] = pred_frame.num_people - len(pairs)
        if pred_frame.num_people:
            reproj.append(np.asarray(pred_frame.reprojection_error, dtype=np.float64).ravel())

    time_s = (ref.stamps_ns - ref.stamps_ns[0]) / 1e9
    flat_p, flat_r = pred_arr.reshape(-1, J, 3), ref_arr.reshape(-1, J, 3)
    # the person-frames in (frame, identity) order, as a column per identity had them: the
    # pose vocabulary of PSS is clustered from them in that order
    cell_t, cell_c = np.nonzero(identity >= 0)
    in_order = np.argsort(cell_t * U + identity[cell_t, cell_c], kind="stable")
    ordered_p, ordered_r = (pred_arr[cell_t, cell_c][in_order],
                            ref_arr[cell_t, cell_c][in_order])
    err = metrics.mpjpe(flat_p, flat_r)
    pa = metrics.p_mpjpe(flat_p, flat_r)
    # N-MPJPE as Rhodin et al. define it: root-relative poses, the scale alone (centring on the
    # joints' mean also fitted a translation; a review)
    nm = metrics.n_mpjpe(flat_p - root_positions(flat_p, layout)[:, None],
                         flat_r - root_positions(flat_r, layout)[:, None])
    vel = metrics.velocity_error(pred_arr, ref_arr, stamps=time_s) if T > 1 else None
    acc = metrics.acceleration_error(pred_arr, ref_arr, stamps=time_s) if T > 2 else None
    jit = metrics.jitter(pred_arr, stamps=time_s) if T > 2 else None
    complete = ~np.isnan(ordered_r).any(axis=(1, 2))
    # About ten reference poses per cluster at least: a vocabulary with more clusters than the
    # reference can support splits near-identical poses and makes PSS noise. PSS scores
    # root-relative poses, as Kocabas et al. (a review: centring on the joints' mean aligned a
    # misplaced root away)
    # two clusters at least: with one, every prediction is "in the same cluster" and PSS
    # reads 1 (a review: a scrambled, upside-down pose scored 1 on 15 frames): n/a below
    clusters = min(pss_k, int(complete.sum()) // 10)
    pss = metrics.pss(ordered_p - root_positions(ordered_p, layout)[:, None],
                      ordered_r - root_positions(ordered_r, layout)[:, None],
                      k=clusters) if clusters >= 2 else None
    rate = metrics.detection_rate(detected, expected)
    matched = pred_id >= 0
    # an untracked prediction numbers each frame's people anew: its "switches" would count
    # the numbering, not the package's tracking (an audit saw 106 for two people)
    switches: float | int = float("nan") if not tracked else \
        metrics.id_switches([identity[t][matched[t]] for t in range(T)],
                            [pred_id[t][matched[t]] for t in range(T)])
    reproj_px = np.concatenate(reproj) if reproj else np.zeros(0)
    reproj_px = reproj_px[np.isfinite(reproj_px)]

    if latency_s is None and pred.log_ns is not None and len(pred.log_ns):
        latency = (pred.log_ns - pred.stamps_ns) / 1e9
        latency_s = {"end to end": latency} if (latency > 0).any() else {}
    latency_s = latency_s or {}

    def m(value: float) -> float:
        return round(float(value), 6)

    summary: dict[str, object] = {
        "reference frames": T, "prediction frames": len(pred.frames),
        "paired frames": int((pair >= 0).sum()), "layout": layout.name,
        "MPJPE [m]": m(err.mean), "PA-MPJPE [m]": m(pa.mean), "N-MPJPE [m]": m(nm.mean),
        "PCK3D@150mm": m(metrics.pck3d(flat_p, flat_r)), "AUC 0-150mm": m(metrics.auc(
            flat_p, flat_r)),
        "PSS (own clusters)": m(pss.score) if pss else float("nan"),
        "PSS clusters": len(pss.centres) if pss else 0,
        "velocity error [m/s]": m(vel.mean) if vel else float("nan"),
        "acceleration error [m/s^2]": m(acc.mean) if acc else float("nan"),
        "jitter (prediction) [m/s^2]": m(jit.mean) if jit else float("nan"),
        "reprojection error (pipeline) [px]": m(float(np.mean(reproj_px))) if len(reproj_px)
        else float("nan"),
        "detection rate": m(rate.rate), "people expected": rate.expected,
        "people detected": rate.detected, "false positives": int(false_pos.sum()),
        "id switches": switches, "joints scored": err.num_valid,
        "joints unestimated (matched people)": int(
            (matched[..., None] & np.isfinite(ref_arr).all(-1)
             & ~np.isfinite(pred_arr).all(-1)).sum()),
        "reference person-frames unmatched": int(rate.expected - rate.detected),
    }
    if camera is not None:
        both = matched.reshape(-1)
        distance, shape = _root_errors(flat_p[both], flat_r[both], layout, camera.center)
        distance, shape = distance[np.isfinite(distance)], shape[np.isfinite(shape)]
        summary.update({
            "matching": f"in the image of camera {camera.name!r} (one camera: depth is a guess)",
            "reference person-frames outside the view": int(
                sum(f.num_people for f in ref.frames) - expected.sum()),
            "root distance error median [m]": m(np.median(distance)) if len(distance)
            else float("nan"),
            "root-aligned MPJPE [m]": m(shape.mean()) if len(shape) else float("nan")})
    summary.update(latency_summary(latency_s))
    per_frame = {"MPJPE": metrics.JointErrors(err.errors.reshape(T, C * J)).per_frame,
                 "PA-MPJPE": metrics.JointErrors(pa.errors.reshape(T, C * J)).per_frame}
    per_joint = {"MPJPE": err.per_joint, "PA-MPJPE": pa.per_joint}
    return Evaluation(summary, layout, time_s, ref_arr, pred_arr, per_frame, per_joint,
                      {k: np.asarray(v, dtype=np.float64) for k, v in latency_s.items()},
                      pred_all, pred_all_ids)


def identity_columns(index_of: Sequence[np.ndarray], gap: int = IDENTITY_GAP_FRAMES
                     ) -> tuple[np.ndarray, int]:
    """A column for each identity (index_of[t]: (P_t,) identity indices 0..U-1 in frame t):
    identities whose frames never come within `gap` frames of each other share one, so the
    temporal differences of a column never join two identities (they meet NaN frames). Returns
    the column of each identity (U,) and the number of columns. (A column per identity grew as
    frames x identities: a long recording's reference identities break at every occlusion,
    gigabytes: a review.)"""
    frames = np.repeat(np.arange(len(index_of)), [len(i) for i in index_of])
    ids = np.concatenate([np.asarray(i, np.int64) for i in index_of] + [np.zeros(0, np.int64)])
    count = int(ids.max()) + 1 if len(ids) else 0
    first = np.full(count, np.iinfo(np.int64).max)
    last = np.full(count, -1)
    np.minimum.at(first, ids, frames)
    np.maximum.at(last, ids, frames)
    column = np.zeros(count, np.intp)
    free: list[tuple[int, int]] = []          # heap of (first frame a column is free, column)
    columns = 0
    for u in sorted(range(count), key=lambda k: (first[k], k)):
        if free and free[0][0] <= first[u]:
            _, column[u] = heapq.heappop(free)
        else:
            column[u], columns = columns, columns + 1
        heapq.heappush(free, (int(last[u]) + gap + 1, int(column[u])))
    return column, columns


def in_frame(track: SkeletonTrack, frame_id: str, R: np.ndarray, t: np.ndarray
             ) -> SkeletonTrack:
    """The track with every position mapped by p' = R p + t into `frame_id` (R (3, 3), t (3,)
    as TransformTree.lookup(frame_id, track.frame_id) gives them)."""
    R, t = np.asarray(R, np.float64), np.asarray(t, np.float64)
    frames = [replace(f, positions=f.positions @ R.T + t, frame_id=frame_id)
              for f in track.frames]
    return SkeletonTrack(track.stamps_ns, frames, track.log_ns)


def identity_rows(track: SkeletonTrack
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The person-frames of a tracked track as rows: ids (U,) sorted, and per row (N,) its
    frame index and its id's index into ids, and its positions (N, J, 3), in frame order.
    (Rows, not a (T, U, J, 3) array: over a long recording whose ids break at every
    occlusion that array grew as frames x ids, gigabytes: a review.)"""
    layout = track.layout
    J = layout.num_joints if layout else 0
    frame_ids = [np.asarray(f.ids, np.int64) for f in track.frames]
    ids = np.unique(np.concatenate(frame_ids + [np.zeros(0, np.int64)]))
    frame_index = np.repeat(np.arange(len(track.frames)), [len(i) for i in frame_ids])
    id_index = np.searchsorted(ids, np.concatenate(frame_ids + [np.zeros(0, np.int64)]))
    positions = np.concatenate([np.asarray(f.positions, np.float64).reshape(len(i), J, 3)
                                for f, i in zip(track.frames, frame_ids, strict=True)]
                               + [np.zeros((0, J, 3))])
    return ids, frame_index, id_index, positions


@dataclass(frozen=True)
class Stability:
    """No-reference figures of a track (see stability()).

    people_per_frame: (T,); ids: (U,); present: (T, U) bool id timeline; root_depth: (T, U)
    metres from the viewpoint (depth_from: which), NaN where absent; depth_steps: pooled
    |frame-to-frame change| of each id's root depth (m); bone_cv: (U, B) std/mean of each
    id's bone lengths over its frames (NaN with fewer than min_frames), its bones named by
    bone_names (B,) ("<joint>-<joint>");
    frames_without_output: input stamps with no output message; one_view_person_frames:
    people placed from one camera's view (a monocular method: a one-camera set, or a rig's
    lone people), the rest were triangulated.
    """

    people_per_frame: np.ndarray
    ids: np.ndarray
    present: np.ndarray
    root_depth: np.ndarray
    depth_steps: np.ndarray
    bone_cv: np.ndarray
    frames_without_output: int
    input_frames: int
    one_view_person_frames: int = 0
    depth_from: str = "the origin of the output frame"
    identities: str = "the output's tracking ids"
    bone_names: tuple[str, ...] = ()

    def bone_cv_table(self) -> list[tuple[str, float, float, int]]:
        """Per bone: (name, median CV over the people measured, the largest CV, the id that
        has it), bones no one was measured on left out; worst first."""
        rows = []
        for name, cv in zip(self.bone_names, self.bone_cv.T, strict=True):
            measured = np.isfinite(cv)
            if measured.any():
                worst = int(np.nanargmax(cv))
                rows.append((name, float(np.median(cv[measured])), float(cv[worst]),
                             int(self.ids[worst])))
        return sorted(rows, key=lambda row: -row[2])

    def summary(self) -> dict[str, object]:
        steps, cv = self.depth_steps, self.bone_cv[np.isfinite(self.bone_cv)]
        # input frame sets without an output had nobody published
        people = np.concatenate([self.people_per_frame,
                                 np.zeros(self.frames_without_output, np.int64)])
        return {
            "identities": self.identities,
            "input frames": self.input_frames,
            "frames without output": self.frames_without_output,
            "people per frame (median)": float(np.median(people)) if len(people)
            else float("nan"),
            "person-frames": int(self.present.sum()), "distinct ids": int(len(self.ids)),
            "person-frames from one view": self.one_view_person_frames,
            "root-depth jitter p95 [m/frame]": float(np.percentile(steps, 95))
            if len(steps) else float("nan"),
            "root-depth jitter max [m/frame]": float(steps.max()) if len(steps) else float("nan"),
            "bone-length CV median": float(np.median(cv)) if len(cv) else float("nan"),
        }


def stability(track: SkeletonTrack, *, input_stamps_ns: np.ndarray | None = None,
              viewpoint: np.ndarray | None = None, viewpoint_name: str = "",
              tolerance_ns: int = STAMP_MATCH_NS, min_frames: int = 10) -> Stability:
    """No-reference stability of a track.

    input_stamps_ns: stamps of the input frame sets (frames without output are those with no
    output message within tolerance_ns; default: the track's own stamps); root-depth steps
    are per input frame (a change over an output that answered every 8th set is divided by
    8). viewpoint: (3,) camera centre in the track's frame for root depth (default the origin:
    the camera's own optical frame), named viewpoint_name (e.g. the camera's name) in the
    report. An untracked track (ids numbering each frame's people) is followed by linking
    its people frame to frame (link_identities), and says so (Stability.identities).
    """
    layout = track.layout
    stamps = np.sort(track.stamps_ns if input_stamps_ns is None
                     else np.asarray(input_stamps_ns))
    answered = pair_frames(track.stamps_ns, stamps, tolerance_ns) >= 0
    if len(track.stamps_ns) and len(stamps) and not answered.any():
        # found by a review: another run's output beside this input reported "60 of 60
        # frames without output" next to 65 person-frames
        raise ValueError(f"none of the {len(track.stamps_ns)} output messages has the stamp "
                         f"of one of the {len(stamps)} input frame sets (within "
                         f"{tolerance_ns / 1e6:g} ms): the output is of another run or "
                         "recording")
    people = np.array([f.num_people for f in track.frames], np.int64)
    identities = "the output's tracking ids"
    if layout is not None and is_untracked([f.ids for f in track.frames]):
        linked = link_identities([f.positions for f in track.frames], LINK_DISTANCE_M)
        track = SkeletonTrack(track.stamps_ns, [replace(f, ids=i) for f, i in zip(
            track.frames, linked, strict=True)], track.log_ns)
        identities = (f"linked by position (the output has no tracking ids: people within "
                      f"{LINK_DISTANCE_M} m frame to frame are taken as one)")
    # each output's input frame: steps between outputs are divided by the frames between them
    position_in_input = pair_frames(stamps, track.stamps_ns, tolerance_ns)
    if len(position_in_input) > 1 and (position_in_input >= 0).all() and \
            (np.diff(position_in_input) > 0).all():
        frames_apart = np.diff(position_in_input).astype(np.float64)
    else:
        frames_apart = np.ones(max(len(track.frames) - 1, 0))
    ids, frame_index, id_index, positions = identity_rows(track)
    if layout is None or not len(ids):
        empty = np.zeros((len(track.frames), 0))
        return Stability(people, ids, empty.astype(bool), empty, np.zeros(0),
                         np.zeros((0, 0)), int((~answered).sum()), len(stamps),
                         identities=identities)
    T, U = len(track.frames), len(ids)
    present = np.zeros((T, U), bool)
    present[frame_index, id_index] = np.isfinite(positions).all(-1).any(-1)
    view = np.zeros(3) if viewpoint is None else np.asarray(viewpoint, np.float64)
    depth = np.full((T, U), np.nan)
    depth[frame_index, id_index] = np.linalg.norm(root_positions(positions, layout) - view,
                                                  axis=-1)
    steps = np.abs(np.diff(depth, axis=0)) / frames_apart[:, None]
    steps = steps[np.isfinite(steps)]
    bones = bone_lengths(positions, layout)                 # (N, B)
    by_id = np.argsort(id_index, kind="stable")          # each id's rows in frame order
    starts = np.searchsorted(id_index[by_id], np.arange(U + 1))
    cv = np.full((U, bones.shape[1]), np.nan)
    for u in range(U):                                   # per person: their own frames
        cv[u] = length_cv(bones[by_id[starts[u]:starts[u + 1]]], min_frames)
    one_view = sum(int(np.isin(f.methods(), ONE_VIEW_METHODS).sum()) for f in track.frames)
    names = tuple(f"{layout.joint_names[i]}-{layout.joint_names[j]}" for i, j in layout.bones)
    return Stability(people, ids, present, depth, steps, cv, int((~answered).sum()), len(stamps),
                     one_view, f"camera {viewpoint_name!r}" if viewpoint_name else
                     "the origin of the output frame", identities, names)


@dataclass(frozen=True)
class ImageIdentities:
    """One camera's view of identities against a reference (see image_identities()).

    ids_per_person: reference identity -> distinct predicted ids matched to it.
    ghost_person_frames: person-frames of predicted tracks that match a reference person in
        fewer than half of their frames (a track of nobody real).
    unmatched_person_frames: all predicted person-frames matching no reference person (ghosts,
        and real people in frames where the reference lost them).
    missed_person_frames: reference people visible in the camera matched by no prediction.
    root_relative_mpjpe_m: mean joint distance (m) of the matched people after moving each
        prediction's root (pelvis, layout.root) onto the reference's: the body's shape and
        labels, not its monocular depth; NaN when nothing matched.
    root_distance_error_m: median over the matched person-frames of |predicted - reference
        root distance from the camera centre| (m): the monocular depth; NaN when nothing
        matched.
    """

    ids_per_person: dict[int, int]
    ghost_person_frames: int
    unmatched_person_frames: int
    missed_person_frames: int
    root_relative_mpjpe_m: float = float("nan")
    root_distance_error_m: float = float("nan")


def image_identities(pred: SkeletonTrack, ref: SkeletonTrack, camera: CameraModel, *,
                     max_distance: float = IMAGE_MATCH_DISTANCE,
                     tolerance_ns: int = 4_000_000) -> ImageIdentities:
    """Match prediction and reference in `camera`'s image (both tracks in the camera's rig
    frame, the one camera.R, t map from). max_distance: mean keypoint distance over the
    reference person's size in the image (diagonal of its keypoints' box). The reference's
    identities are followed by link_identities when it is untracked."""
    if ref.layout is None:
        raise ValueError("the reference track holds no skeleton")
    layout = _common_layout(pred.layout or ref.layout, ref.layout)
    ref_ids = _reference_identities(ref, layout, 0.5)
    pair = pair_frames(pred.stamps_ns, ref.stamps_ns, tolerance_ns)
    seen: dict[int, set[int]] = {}
    frames_of: dict[int, int] = {}      # predicted id -> frames published
    matched_of: dict[int, int] = {}     # predicted id -> frames matched to a reference person
    unmatched = missed = 0
    shape_errors: list[np.ndarray] = []   # per matched person: mean root-relative distance
    distance_errors: list[np.ndarray] = []  # per matched person: root distance error (m)
    for t, ref_frame in enumerate(ref.frames):
        ref3d = _in_layout(ref_frame, layout)
        visible = _inside(camera.project(ref3d), camera)
        if pair[t] < 0:
            missed += int(visible.sum())
            continue
        frame = pred.frames[pair[t]]
        for track in np.asarray(frame.ids).tolist():
            frames_of[track] = frames_of.get(track, 0) + 1
        pred3d = _in_layout(frame, layout)
        rows, cols = _image_pairs(pred3d, ref3d, camera, max_distance).T
        for i, k in zip(rows, cols, strict=True):
            seen.setdefault(int(ref_ids[t][k]), set()).add(int(frame.ids[i]))
            matched_of[int(frame.ids[i])] = matched_of.get(int(frame.ids[i]), 0) + 1
        distance, shape = _root_errors(pred3d[rows], ref3d[cols], layout, camera.center)
        distance_errors.append(distance)
        shape_errors.append(shape)
        unmatched += frame.num_people - len(rows)
        hit = np.zeros(len(ref3d), bool)
        hit[cols] = True
        missed += int((visible & ~hit).sum())
    ghosts = sum(n for track, n in frames_of.items() if 2 * matched_of.get(track, 0) < n)
    shape = np.concatenate(shape_errors + [np.zeros(0)])
    shape = shape[np.isfinite(shape)]
    distance = np.concatenate(distance_errors + [np.zeros(0)])
    distance = distance[np.isfinite(distance)]
    return ImageIdentities({k: len(v) for k, v in sorted(seen.items())}, ghosts, unmatched,
                           missed, float(shape.mean()) if shape.size else float("nan"),
                           float(np.median(distance)) if distance.size else float("nan"))


def _image_pairs(pred: np.ndarray, ref: np.ndarray, camera: CameraModel, max_distance: float,
                 keep: np.ndarray | None = None) -> np.ndarray:
    """People pred (P, J, 3) and ref (Q, J, 3) metres in `camera`'s rig frame matched in its
    image: Hungarian on their mean keypoint distance over the reference person's size there
    (diagonal of its keypoints' box), at most max_distance; keep: pairs taken first where
    they qualify (metrics.match_frame). Returns pairs (K, 2) int (pred index, ref index)."""
    if not len(pred) or not len(ref):
        return np.zeros((0, 2), np.intp)
    r = camera.project(ref)
    return metrics.match_frame(camera.project(pred), r, max_distance=max_distance,
                               ref_scale=np.maximum(box_diagonal(r, empty=0.0), 1.0),
                               keep=keep)[0]


def _root_errors(pred: np.ndarray, ref: np.ndarray, layout: JointLayout, center: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Matched people pred, ref (N, J, 3) metres -> per person (N,): |predicted - reference
    root distance from `center` (3,)| (a monocular depth's error), and the mean joint distance
    after moving the prediction's root onto the reference's (the body's shape and labels);
    NaN where the roots, or all joints, are unknown."""
    root_a, root_b = root_positions(pred, layout), root_positions(ref, layout)
    distance = np.abs(np.linalg.norm(root_a - center, axis=-1)
                      - np.linalg.norm(root_b - center, axis=-1))
    gap = np.linalg.norm((pred - root_a[:, None]) - (ref - root_b[:, None]), axis=-1)
    return distance, mean_joint_distance(gap)[0]


def _inside(uv: np.ndarray, camera: CameraModel) -> np.ndarray:
    """(P, J, 2) pixels -> (P,) True where most keypoints fall inside the image."""
    inside = ((uv[..., 0] >= 0) & (uv[..., 0] < camera.width) & (uv[..., 1] >= 0)
              & (uv[..., 1] < camera.height))
    return inside.mean(-1) > 0.5 if uv.shape[0] else np.zeros(0, bool)


def _reference_identities(ref: SkeletonTrack, layout: JointLayout, max_distance: float
                          ) -> list[np.ndarray]:
    identities = [np.asarray(f.ids, np.int64) for f in ref.frames]
    if is_untracked(identities):
        identities = link_identities([_in_layout(f, layout) for f in ref.frames], max_distance)
    return identities
