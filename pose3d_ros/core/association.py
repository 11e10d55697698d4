"""Cross-view association: which 2D detections in different cameras are the same person.

1. Affinity between every pair of detections of every pair of cameras: the confidence-weighted
   mean, over the joints both detections see, of the 3D distance between the two viewing rays
   (metres; the common perpendicular of two skew lines). Joint pairs whose closest points lie
   behind a camera count as the full `max_ray_distance_m`. Vectorised over detections x joints
   per camera pair (core.ray_affinity).
2. Global matching: agglomerative clustering of detections over all cameras. Candidate merges
   are taken cheapest first; two clusters merge only if they share no camera (one detection
   per camera per person) and the complete linkage (largest affinity over all detection pairs
   between them that have one) is below `max_ray_distance_m`: a newcomer must agree with
   every member, so a false detection cannot ride on one lucky match. People seen by only some
   cameras are clusters with fewer members; false detections stay singletons and are dropped
   when `min_views` > 1. With the people of a moment before (`previous`, the pipeline's
   last rig set), each camera's detections are first claimed by the people whose
   projections they fit (_claims: within CLAIM_DISTANCE_M, strongest detection first, one
   per person and camera); one person's claimed detections are joined first, two people's
   are never joined, and a weaker partial second box of a claimed detection joins only
   another known person near it (who may stand behind the first in that view).
   Two views always meet somewhere: in a crowd seen by few cameras the frame alone joins
   two people's views into one who is not there.
3. Duplicates: each cluster is triangulated (weighted DLT, all at once) and clusters whose 3D
   bodies coincide (mean distance over common joints < `merge_distance_m`) are merged, keeping
   per camera the stronger detection: one person split over two clusters by complete linkage
   (views that agree pairwise only in part), or a detector's second, partial box of a real
   person matched across cameras, would otherwise be a second person at the same place.
   Then a cluster of three or more views takes, in a camera it lacks, the detection of a
   smaller cluster that its body projects onto, left and right either way (the rest of a
   person split off with a duplicate box or a view whose left and right are exchanged); a
   cluster left with fewer than `min_views` is dropped.
4. Optional check: each cluster is triangulated robustly (outlier threshold
   `max_reprojection_px`) and a member whose joints are mostly rejected as outlier views is
   split off.

The result is an `Association` with members (P_out, V): detection index per camera or -1.
`gather()` turns it into (P_out, V, J, 2) keypoints and (P_out, V, J) scores for triangulate().
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .array_ops import (
    box_diagonal,
    corner_diagonal,
    finite_rows,
    masked_extent,
    mean_joint_distance,
    vector_norm,
)
from .camera import CameraArrays, CameraModel
from .group_checks import (  # noqa: F401  (public here too)
    COINCIDE_RELATIVE,
    box_gap,
    coincide_floor,
    coincidence_limit,
    count_unexplained,
    detection_strength,
    replace_by_stronger,
    stronger_duplicates,
    unexplained_absences,
)
from .ray_affinity import (  # noqa: F401  (ray_distances, affinity_matrix: public here too)
    StackedDetections,
    affinity_matrix,
    ray_affinity,
    ray_distances,
    stacked_affinity,
)
from .triangulation import dlt, rig_quadrics
from .types import Detections2D

MERGE_DISTANCE_M = 0.3
# With more pairs of clusters than this (a foreign detector's false detections: hundreds of
# clusters), _rejoin and _merge first screen out those whose exact tests cannot pass:
# _rejoin's costs K^2 per join, _merge's J x V per pair of groups.
SCREEN_PAIRS = 256
# the screens' margin over the rounding of the exact tests (relative)
SCREEN_MARGIN = 1 + 1e-9


@dataclass(frozen=True)
class Association:
    """members: (P_out, V) int, index of the person's detection in each camera, -1 if unseen.
    cost: (P_out,) mean ray distance in metres over the cluster's pairs (NaN for single view).
    """

    members: np.ndarray
    cost: np.ndarray

    @property
    def num_people(self) -> int:
        return int(self.members.shape[0])


def associate(cameras: Sequence[CameraModel], detections: Sequence[Detections2D], *,
              max_ray_distance_m: float = 0.15, min_views: int = 2, min_score: float = 0.3,
              min_joints: int = 3, max_reprojection_px: float | None = None,
              merge_distance_m: float | None = None) -> Association:
    """Group per-camera detections into people (see module docstring).

    cameras: V cameras of one rig; detections: V Detections2D (same joint layout).
    max_ray_distance_m: the largest mean ray-to-ray distance for two detections to be one
        person (metres; 0.1-0.2 suits 2D keypoint errors of a few cm at a few metres).
    min_views: people seen by fewer cameras are dropped (1 keeps singletons).
    max_reprojection_px: if set, each group is triangulated robustly with this outlier
        threshold (pixels) and members whose confident joints are mostly rejected as outlier
        views are removed from the group.
    merge_distance_m: groups whose 3D bodies are closer than this (mean joint distance, m)
        are one person (merge_duplicates); None (the default here) keeps them apart, the
        nodes' entry point associate_normalized() merges at MERGE_DISTANCE_M.
    Returns an Association, people sorted by number of views (descending) then cost.
    """
    if len(cameras) != len(detections):
        raise ValueError(f"{len(cameras)} cameras but {len(detections)} detection sets")
    layouts = {d.layout.name for d in detections}
    if len(layouts) > 1:
        raise ValueError(f"detections use different joint layouts: {sorted(layouts)}")
    normalized = [cam.undistort(np.asarray(det.keypoints, np.float64))
                  for cam, det in zip(cameras, detections, strict=True)]
    out = associate_normalized(CameraArrays.from_cameras(cameras), normalized,
                               [det.scores for det in detections],
                               max_ray_distance_m=max_ray_distance_m, min_views=min_views,
                               min_score=min_score, min_joints=min_joints,
                               merge_distance_m=merge_distance_m)
    if max_reprojection_px is not None and out.num_people:
        out = _sorted(_prune_by_reprojection(cameras, detections, out, max_reprojection_px,
                                             min_views, min_score))
    return out


def associate_normalized(arrays: CameraArrays, normalized: Sequence[np.ndarray],
                         scores: Sequence[np.ndarray], *, max_ray_distance_m: float = 0.15,
                         min_views: int = 2, min_score: float = 0.3,
                         min_joints: int = 3,
                         merge_distance_m: float | None = MERGE_DISTANCE_M,
                         visibility_check: bool = True, rejoin: bool = True,
                         prefer_stronger: bool = True, adopt_views: bool = True,
                         mirror: np.ndarray | None = None,
                         previous: np.ndarray | None = None) -> Association:
    """associate() for keypoints already undistorted, with the cameras stacked.

    The nodes' hot path: they undistort each camera's keypoints once and share them with
    triangulation. normalized: per camera (P_v, J, 2) undistorted normalised image
    coordinates (x/z, y/z in the optical frame), NaN for unseen joints; scores: per camera
    (P_v, J). Other arguments and the result as associate() (without the reprojection check),
    except that clusters whose AVERAGE linkage is below max_ray_distance_m are joined after the
    complete-linkage pass (rejoin: one person's views that disagree pairwise through 2D noise
    or a wrong joint, and views complete linkage left alone), duplicates are merged by default
    (merge_distance_m, None to keep them), and,
    when the cameras know their image bounds, a group is dropped when at least as many cameras
    should see it and show nobody there as cameras see it (visibility_check;
    unexplained_absences: two lone views of different people whose rays meet make a body that
    the other cameras of a 4-camera rig should show).
    prefer_stronger: a group's member is replaced by a stronger detection of the same camera
    that coincides with it and is in no group (stronger_duplicates: a detector's second,
    partial box can win the cross-view match and leave the person's real detection alone),
    before the duplicate merge and again after it when it merged or dropped a group (the real
    detection may have been in the group dropped). adopt_views (with the duplicate merge): a
    group of three or more views takes, in a camera it lacks, a smaller group's detection that
    its body projects onto (_adopt_views; mirror (J,): left_right.mirror_index of the layout,
    each left/right pair then matched either way). previous: (Q, J, 3) metres, the people a
    moment before (e.g. the last frame's triangulation), in any order, whose detections are
    joined first (_claims; associate_stacked).
    """
    if not arrays.num_cameras == len(normalized) == len(scores):
        raise ValueError(f"{arrays.num_cameras} cameras, {len(normalized)} keypoint sets and "
                         f"{len(scores)} score sets")
    return associate_stacked(arrays, StackedDetections.of(normalized, scores),
                             max_ray_distance_m=max_ray_distance_m, min_views=min_views,
                             min_score=min_score, min_joints=min_joints,
                             merge_distance_m=merge_distance_m,
                             visibility_check=visibility_check, rejoin=rejoin,
                             prefer_stronger=prefer_stronger, adopt_views=adopt_views,
                             mirror=mirror, previous=previous)


def associate_stacked(arrays: CameraArrays, stacked: StackedDetections, *,
                      max_ray_distance_m: float = 0.15, min_views: int = 2,
                      min_score: float = 0.3, min_joints: int = 3,
                      merge_distance_m: float | None = MERGE_DISTANCE_M,
                      visibility_check: bool = True, rejoin: bool = True,
                      prefer_stronger: bool = True, adopt_views: bool = True,
                      mirror: np.ndarray | None = None,
                      previous: np.ndarray | None = None) -> Association:
    """associate_normalized() of the frame's detections already stacked camera by camera
    (StackedDetections, e.g. from undistortion.undistort_stacked), one per camera of arrays.
    previous: (Q, J, 3) metres, the people a moment before (e.g. the last frame's), in any
    order: each camera's detections are claimed by the people whose projections they fit
    (_claims); detections claimed by one person are joined first, and detections claimed by
    two different people are never joined."""
    if len(stacked.offset) != arrays.num_cameras:
        raise ValueError(f"{arrays.num_cameras} cameras, detections of {len(stacked.offset)}"
                         " cameras")
    if previous is not None and (previous.ndim != 3
                                 or previous.shape[1:] != (stacked.xy.shape[1], 3)):
        raise ValueError(f"previous must be (Q, {stacked.xy.shape[1]}, 3), got "
                         f"{previous.shape}")
    n_views = arrays.num_cameras
    dist, camera_of = stacked_affinity(arrays, stacked, min_score=min_score,
                                       min_joints=min_joints,
                                       max_ray_distance_m=max_ray_distance_m)
    n = dist.shape[0]
    local = stacked.local
    # Agglomerative clustering, cheapest candidate pair first. `link` holds the complete
    # linkage between clusters (rows/columns of each cluster's first detection): the largest
    # finite distance over their detection pairs, -inf where no pair has one.
    link = np.where(np.isfinite(dist), dist, -np.inf)
    cameras_in = [1 << int(c) for c in camera_of]      # bit mask of each cluster's cameras
    cluster = list(range(n))
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    # detection pairs i < j in row-major order (detections are ordered camera by camera and
    # pairs within one camera have no affinity) under the threshold x SCREEN_MARGIN (_rejoin);
    # the candidates, cheapest first, are those under the threshold
    iu, ju = np.nonzero((dist < max_ray_distance_m * SCREEN_MARGIN)
                        & (camera_of[:, None] < camera_of[None]))
    value = dist[iu, ju]
    under = value < max_ray_distance_m
    claim = None
    if previous is not None and len(previous) and n:
        claim, copy_of, near_person = _claims(arrays, stacked, previous, min_score,
                                              min_joints, mirror)
        ci, cj, ki, kj = claim[iu], claim[ju], copy_of[iu], copy_of[ju]
        # two known people's detections are never joined, one known person's are joined
        # first (cheapest first among them); a weaker partial copy of a known person's
        # detection joins only the detections of another known person whose projection it
        # is near (who may stand behind the first in that view)
        copy_i = (ki < 0) | ((cj >= 0) & (cj != ki) & near_person[iu, np.maximum(cj, 0)])
        copy_j = (kj < 0) | ((ci >= 0) & (ci != kj) & near_person[ju, np.maximum(ci, 0)])
        under &= ((ci < 0) | (cj < 0) | (ci == cj)) & copy_i & copy_j
        first = (ci >= 0) & (ci == cj)
        order = np.lexsort((value[under], ~first[under]))
    else:
        order = np.argsort(value[under], kind="stable")
    candidates = list(zip(iu[under][order].tolist(), ju[under][order].tolist(), strict=True))
    for i, j in candidates:
        ca, cb = cluster[i], cluster[j]
        if ca == cb or cameras_in[ca] & cameras_in[cb]:
            continue                      # already together, or one camera twice
        if not -np.inf < link[ca, cb] < max_ray_distance_m:
            continue                      # a member disagrees (complete linkage)
        merged = np.maximum(link[ca], link[cb])
        link[ca], link[:, ca] = merged, merged
        cameras_in[ca] |= cameras_in[cb]
        for m in members[cb]:
            cluster[m] = ca
        members[ca] += members.pop(cb)
    near = (iu, ju)
    if claim is not None and (copy_of >= 0).any():
        alone = [i for i in np.flatnonzero(copy_of >= 0).tolist() if members.get(i) == [i]]
        for i in alone:
            del members[i]                    # a copy that joined nothing stays out
        if alone:
            out_of = np.zeros(n, bool)
            out_of[alone] = True
            keep = ~out_of[iu] & ~out_of[ju]
            near = (iu[keep], ju[keep])
    if rejoin and len(members) > 1 and _may_rejoin(cluster, cameras_in, candidates):
        _rejoin(dist, members, cameras_in, max_ray_distance_m, near,
                None if claim is None else {key: int(claim[group].max())
                                            for key, group in members.items()})

    out = _groups(members, dist, camera_of, local, n_views, min_views)
    floor = coincide_floor(arrays)
    if prefer_stronger and out.num_people:
        out = Association(replace_by_stronger(out.members, stacked, min_joints, min_score,
                                              floor), out.cost)
    check_views = visibility_check and arrays.bounds is not None
    if out.num_people and (merge_distance_m is not None or check_views):
        xy, weight = _gather_stacked(stacked, out.members, min_score)
        points = _dlt_points(arrays, xy, weight)                              # (P, J, 3)
        if merge_distance_m is not None and out.num_people > 1:
            grouped = out.members
            out, kept = _merge(out, points, xy, weight, merge_distance_m, min_joints, floor)
            points = points[kept]
            if prefer_stronger and kept.size < len(xy):
                # a group merged away or dropped as a duplicate frees its detections: the
                # person's real one may be among them, beside its partial duplicate in a
                # group that stays
                out, points = _prefer_freed(out, points, grouped, stacked, arrays, min_joints,
                                            min_score, floor)
            if adopt_views and out.num_people > 1:
                out, points = _adopt_views(out, points, stacked, arrays, min_views,
                                           min_joints, min_score, floor, mirror)
        if check_views:
            unexplained = count_unexplained(arrays, stacked, out.members, points)
            keep = unexplained < (out.members >= 0).sum(1)
            out = Association(out.members[keep], out.cost[keep])
    return _sorted(out)


# _claims: a detection is claimed by a person of a moment before whose projection it fits
# within this mean joint distance (metres at each joint's depth; a joint of the person's that
# the detection lacks counts as this distance). 0.05 m claimed too little (in-house demo
# rig x 4 people 76.7 % against 78.9), 0.15-0.2 m gave the same rows within 0.3 with misses
# on the 8-camera x 2 row (benchmarks/results_multiview.md 6z8)
CLAIM_DISTANCE_M = 0.1
# ... the mean over the person's joints but the worst this share of them: a whole box with a
# few joints the detector got wrong (0.3-0.9 m) was outside the gate while its partial second
# box claimed the person, and the whole box, free, made a second person (in-house 8 cameras
# x 2 people, seed 3, frame 57; results_multiview.md 6z9)
CLAIM_TRIM = 0.15
# a weaker partial copy of a claimed detection joins only the detections of another known
# person whose projection it lies within this many CLAIM_DISTANCE_M of (the person behind
# the first in that view): 2 kept the real `multi` recording's man behind the woman in
# cam03 (frame 78), 1.2 and 1.5 did not (results_multiview.md 6z8)
COPY_NEAR = 2.0


def _claims(arrays: CameraArrays, stacked: StackedDetections, previous: np.ndarray,
            min_score: float, min_joints: int, mirror: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N,) each stacked detection's claim, the index of the person in `previous` (Q, J, 3) who
    claims it or -1, and (N,) copy_of, for an unclaimed detection that is a weaker, partial copy
    of a claimed one (group_checks.stronger_duplicates: a detector's second box) the person who
    claimed that one, else -1, and (N, Q) whether each detection is within COPY_NEAR x
    CLAIM_DISTANCE_M of each person's projection. Per camera, the detections within
    CLAIM_DISTANCE_M of a previous person's projection (the mean over the person's joints but
    the worst CLAIM_TRIM of them, metres at each joint's depth, the labels as given or mirrored,
    mirror (J,) each joint's left/right partner; a joint the detection does not see with
    min_score counts as CLAIM_DISTANCE_M; at least min_joints seen) are matched to them one to
    one, the strongest detections first (scipy's linear_sum_assignment on the summed scores,
    then the distance), so that a partial second box does not claim the person before the whole
    one. All cameras in one batch: one assignment over (detection, person in its camera)
    pairs."""
    n, n_people = stacked.xy.shape[0], len(previous)
    claim = np.full(n, -1, np.intp)
    strength = detection_strength(stacked, min_score)                          # (N,)
    # each previous person in each detection's camera: (N, Q, J, 2) and (N, Q, J)
    normalized, depth = arrays.normalized_and_depth(previous)
    # the labels as given and, with mirror, mirrored: L = 1 or 2 label sets in one batch
    n_joints = stacked.xy.shape[1]
    labels = _label_sets(n_joints, None if mirror is None
                         else np.asarray(mirror, np.intp).tobytes())
    at = normalized[:, :, stacked.camera_of].transpose(2, 0, 1, 3)[:, :, labels]
    depth = depth[:, :, stacked.camera_of].transpose(2, 0, 1)[:, :, labels]   # (N, Q, L, J)
    mine = np.isfinite(at[..., 0])                                           # (N, Q, L, J)
    seen = stacked.usable(min_score)                                          # (N, J)
    gap = vector_norm(stacked.xy[:, None, None] - at) * depth
    use = seen[:, None, None] & mine & np.isfinite(gap)
    count, total_known = use.sum(-1), mine.sum(-1)                            # (N, Q, L)
    # per joint of the person's: its distance, CLAIM_DISTANCE_M where the detection lacks
    # it; the worst CLAIM_TRIM of them left out of the mean
    joint_cost = np.where(use, gap, np.where(mine, CLAIM_DISTANCE_M, np.inf))
    kept = total_known - (CLAIM_TRIM * total_known).astype(np.intp)
    ordered = np.sort(joint_cost, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(np.arange(n_joints) < kept[..., None], ordered, 0.0).sum(-1) / kept
    per_labels = np.where(count >= min_joints, mean, np.inf)                  # (N, Q, L)
    cost = np.full((n, n_people), np.inf)
    for k in range(labels.shape[0]):            # the smaller, in the order the sets are
        cost = np.fmin(cost, per_labels[..., k])
    copy_of = np.full(n, -1, np.intp)
    near_person = cost <= COPY_NEAR * CLAIM_DISTANCE_M
    within = cost <= CLAIM_DISTANCE_M
    if not within.any():
        return claim, copy_of, near_person
    # one column per (camera, person) with a detection within the gate: a detection can take
    # its own camera's columns only (the matrix holds only the detections and columns within
    # the gate of something: in a crowd of false detections it stays the size of the people
    # seen); the strongest detections first, the nearest among equally strong ones
    rows, people = np.nonzero(within)
    columns = stacked.camera_of[rows] * n_people + people
    # np.unique(..., return_inverse=True) of both, by presence masks (rows ascend already)
    row_ids, row_at = _present_at(rows, n)
    column_ids, column_at = _present_at(columns, arrays.num_cameras * n_people)
    order = np.full((row_ids.size, column_ids.size), 1e6)
    order[row_at, column_at] = -strength[rows] + 1e-3 * cost[rows, people] / CLAIM_DISTANCE_M
    d, column = linear_sum_assignment(order)
    ok = order[d, column] < 1e6
    claim[row_ids[d[ok]]] = column_ids[column[ok]] % n_people
    free, held = np.flatnonzero(claim == -1), np.flatnonzero(claim >= 0)
    if free.size and held.size:
        copies = stronger_duplicates(stacked, min_joints, min_score, rows=free, cols=held,
                                     strength=strength, floor=coincide_floor(arrays))
        copied = copies.any(1)
        copy_of[free[copied]] = claim[held[copies[copied].argmax(1)]]
    return claim, copy_of, near_person


@lru_cache(maxsize=16)
def _label_sets(n_joints: int, mirror: bytes | None) -> np.ndarray:
    """(L, J) joint orders _claims compares a detection with: the labels as given, and with
    mirror ((J,) intp as bytes, each joint's left/right partner) mirrored (cached: do not
    modify)."""
    given = np.arange(n_joints)
    return (given[None] if mirror is None
            else np.stack([given, np.frombuffer(mirror, np.intp)]))


def _present_at(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_inverse=True) of non-negative ints below size: the sorted
    distinct values and each value's position among them, by a presence mask (no sort)."""
    present = np.zeros(size, bool)
    present[values] = True
    ids = np.flatnonzero(present)
    position = np.empty(size, np.intp)
    position[ids] = np.arange(ids.size)
    return ids, position[values]


def _prefer_freed(association: Association, points: np.ndarray, grouped: np.ndarray,
                  stacked: StackedDetections, arrays: CameraArrays, min_joints: int,
                  min_score: float, floor: np.ndarray) -> tuple[Association, np.ndarray]:
    """replace_by_stronger() again after the duplicate merge, among the detections it freed
    (members before it, grouped (P0, V)), with the groups' 3D points (P, J, 3)
    retriangulated where a member changed."""
    offset = stacked.offset[None, :grouped.shape[1]]
    freed = np.setdiff1d((offset + grouped)[grouped >= 0],
                         (offset + association.members)[association.members >= 0])
    if not freed.size:
        return association, points
    members = replace_by_stronger(association.members, stacked, min_joints, min_score, floor,
                                  among=freed)
    changed = (members != association.members).any(1)
    if not changed.any():
        return association, points
    points = points.copy()
    points[changed] = _dlt_points(arrays, *_gather_stacked(stacked, members[changed], min_score))
    return Association(members, association.cost), points


def _dlt_points(arrays: CameraArrays, xy: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The groups' weighted DLT points (P, J, 3) from _gather_stacked's keypoints and
    weights."""
    return dlt(arrays.projections, xy, weight, rig_quadrics(arrays))


def _adopt_views(association: Association, points: np.ndarray, stacked: StackedDetections,
                 arrays: CameraArrays, min_views: int, min_joints: int, min_score: float,
                 floor: np.ndarray, mirror: np.ndarray | None
                 ) -> tuple[Association, np.ndarray]:
    """A group of three or more views takes, in a camera it lacks, the detection of a group with
    fewer views that its 3D body (points (P, J, 3)) projects onto: mean distance over >=
    min_joints of the detection's joints within the coincidence limit
    (group_checks.coincidence_limit, the detection's keypoint box and the camera's floor),
    each joint against the nearer of itself and its mirror image (mirror (J,), left_right.
    mirror_index; None: itself only) since a detector exchanges left and right. A person
    split by complete linkage leaves such a group beside the full one: a view of the
    person's with a detector's duplicate box of another view, or with a view whose left and
    right are swapped (the in-house benchmark's ghosts "duplicate of a matched person"). A
    group left with fewer than min_views is dropped. Returns the association and its groups'
    points, retriangulated where a member changed."""
    members = association.members
    views = (members >= 0).sum(1)                                                # (P,)
    # candidates: (taker g, giver h, camera c) with g lacking c, h holding c, fewer views
    g, h, c = np.nonzero((views[:, None, None] >= 3) & (views[None, :, None] < views[:, None, None])
                         & (members[:, None, :] < 0) & (members[None, :, :] >= 0))
    if not g.size:
        return association, points
    det = stacked.offset[c] + members[h, c]                                      # (K,)
    # screen (exact, SCREEN_MARGIN over rounding): the detection's keypoint box against the
    # taker's projected body box; a mean of distances is at least their gap (box_gap). Most
    # candidates of a crowd of false detections go here, before any per-joint work
    rows, row_of = np.unique(det, return_inverse=True)          # each detection once (R,)
    seen_rows = finite_rows(stacked.xy[rows]) & (stacked.score[rows] >= min_score)  # (R, J)
    low_rows, high_rows = masked_extent(stacked.xy[rows], seen_rows[..., None], 1)  # (R, 2)
    det_low, det_high = low_rows[row_of], high_rows[row_of]                      # (K, 2)
    takers, taker_of = np.unique(g, return_inverse=True)
    body = arrays.to_cameras(points[takers])                   # (T, J, V, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        flat = np.where(body[..., 2:3] > 0, body[..., :2] / body[..., 2:3], np.nan)
    flat_seen = finite_rows(flat)[..., None]
    body_low, body_high = masked_extent(flat, flat_seen, axis=1)                 # (T, V, 2)
    gap = box_gap(det_low, det_high, body_low[taker_of, c], body_high[taker_of, c])
    size = corner_diagonal(det_low, det_high, empty=np.nan)
    near = ~(gap > SCREEN_MARGIN * coincidence_limit(size, np.zeros(len(det)), floor[c]))
    if not near.any():
        return association, points
    g, h, c, det = g[near], h[near], c[near], det[near]
    kp = stacked.xy[det]                                                         # (K, J, 2)
    seen = seen_rows[row_of[near]]
    projected = flat[taker_of[near], :, c]                 # the screen's projections (K, J, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        distance = vector_norm(kp - projected)                                   # (K, J)
        if mirror is not None:     # each left/right pair may be exchanged in the detection
            distance = np.fmin(distance, vector_norm(kp - projected[:, mirror]))
    mean, count = mean_joint_distance(distance, seen & np.isfinite(distance))
    limit = coincidence_limit(size[near], np.zeros(len(det)), floor[c])
    fits = (count >= min_joints) & (mean < limit)
    if not fits.any():
        return association, points
    out = members.copy()
    for k in np.argsort(np.where(fits, mean, np.inf))[:int(fits.sum())]:   # best fit first
        # each camera of a group takes one detection, each detection goes once
        if out[g[k], c[k]] < 0 and out[h[k], c[k]] == members[h[k], c[k]] >= 0:
            out[g[k], c[k]], out[h[k], c[k]] = members[h[k], c[k]], -1
    changed = (out != members).any(1)
    keep = (out >= 0).sum(1) >= min_views
    points = points.copy()
    redo = changed & keep
    points[redo] = _dlt_points(arrays, *_gather_stacked(stacked, out[redo], min_score))
    return Association(out[keep], association.cost[keep]), points[keep]


def _groups(members: dict[int, list[int]], dist: np.ndarray, camera_of: np.ndarray,
            local: np.ndarray, n_views: int, min_views: int) -> Association:
    """The clusters with >= min_views members as an Association: members (P, V) and cost
    (P,), the mean finite affinity over the cluster's detection pairs (NaN for none)."""
    groups = [g for g in members.values() if len(g) >= min_views]
    rows = np.full((len(groups), n_views), -1, int)
    if not groups:
        return Association(rows, np.zeros(0))
    sizes = np.array([len(g) for g in groups])
    flat = np.concatenate(groups)
    group_of = np.arange(len(groups)).repeat(sizes)
    rows[group_of, camera_of[flat]] = local[flat]
    # each cluster's detection pairs in the row-major order of its members (the order the
    # mean was taken in before), cluster by cluster: sum(sizes^2) pairs, not len(flat)^2
    n_pairs = sizes * sizes
    pair_group = np.arange(len(groups)).repeat(n_pairs)
    at = np.arange(pair_group.size) - (np.cumsum(n_pairs) - n_pairs).repeat(n_pairs)
    size, start = sizes[pair_group], (np.cumsum(sizes) - sizes)[pair_group]   # start in flat
    row, column = start + at // size, start + at % size
    values = dist[flat[row], flat[column]]
    finite = np.isfinite(values)
    pair_group = pair_group[finite]
    count = np.bincount(pair_group, minlength=len(groups))
    # summed in the pairs' order (as np.add.at would), without add.at's per-call cost
    total = np.bincount(pair_group, weights=values[finite], minlength=len(groups))
    with np.errstate(invalid="ignore", divide="ignore"):
        costs = np.where(count > 0, total / count, np.nan)
    return Association(rows, costs)


def _may_rejoin(cluster: list[int], cameras_in: list[int],
                candidates: list[tuple[int, int]]) -> bool:
    """Whether _rejoin can join anything (most frames it cannot): two clusters join when the
    mean affinity over their detection pairs is below the threshold, so one of those pairs
    must be a candidate pair (affinity below it), and they share no camera. cluster: each
    detection's cluster key; cameras_in: camera bit masks by key; candidates: the
    detection pairs (i, j) under the threshold."""
    return any(cluster[i] != cluster[j] and not cameras_in[cluster[i]] & cameras_in[cluster[j]]
               for i, j in candidates)


def _cluster_pair_sums(grouped: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(M, M) symmetric values of detection pairs, the detections ordered group by group
    (group k's first at starts[k]) -> (K, K) their sums over the pairs of each two of the K
    groups: over the rows of the first group, then the columns of the second
    (np.add.reduceat along axis 0, then 1). By segment sums, not by the matrix products of
    one-hot memberships: a BLAS call on these small matrices took 26 ms per frame instead of
    0.8 with the library's threads competing for a loaded 2-core CPU (the crowd audit, 16
    cameras x 20 people). The sums over rows are taken as those over the columns (the same
    numbers: the matrix is symmetric), along memory (4x faster at 2000 detections)."""
    over_rows = np.add.reduceat(grouped, starts, axis=1).T                # (K, M)
    return np.add.reduceat(np.ascontiguousarray(over_rows), starts, axis=1)


def _rejoin(dist: np.ndarray, members: dict[int, list[int]], cameras_in: list[int],
            max_ray_distance_m: float, near: tuple[np.ndarray, np.ndarray],
            claimed: dict[int, int] | None = None) -> None:
    """In place: join clusters (and single detections) whose average linkage (mean affinity
    over their detection pairs, metres) is below max_ray_distance_m and that share no camera,
    cheapest first. dist (N, N) detection affinities (symmetric); members: cluster ->
    detection indices; cameras_in: camera bit mask of each cluster (by its key); near: the
    detection pairs (i, j) (each once) whose affinity is below max_ray_distance_m x
    SCREEN_MARGIN. Of many clusters (a foreign detector's false detections: hundreds, each
    join costs K^2) only those that can join are looked at (_joinable). claimed: the person
    of a moment before whose detections each cluster holds (by its key; -1: none,
    _claims): two clusters of two such people are not joined."""
    keys = list(members)
    if len(keys) * (len(keys) - 1) // 2 > SCREEN_PAIRS:
        keys = _joinable(dist, members, cameras_in, max_ray_distance_m, near)
        if len(keys) < 2:
            return
    order = np.concatenate([members[key] for key in keys])
    grouped = dist.take(order, 0).take(order, 1)              # (M, M) group by group
    finite = np.isfinite(grouped)
    sizes = np.array([len(members[key]) for key in keys])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    total = _cluster_pair_sums(np.where(finite, grouped, 0.0), starts)      # (K, K)
    count = _cluster_pair_sums(finite.astype(np.int32), starts).astype(float)  # exact
    masks = np.array([cameras_in[key] for key in keys], np.int64)
    owner = np.array([-1 if claimed is None else claimed[key] for key in keys])
    alive = np.ones(len(keys), bool)
    while True:
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, total / count, np.inf)
        blocked = ((masks[:, None] & masks[None]) != 0) | ~(alive[:, None] & alive[None])
        blocked |= (owner[:, None] >= 0) & (owner[None] >= 0) & (owner[:, None] != owner[None])
        mean[blocked] = np.inf
        a, b = divmod(int(mean.argmin()), mean.shape[1])
        if not mean[a, b] < max_ray_distance_m:
            return
        total[a] += total[b]
        total[:, a] += total[:, b]
        count[a] += count[b]
        count[:, a] += count[:, b]
        masks[a] |= masks[b]
        owner[a] = max(owner[a], owner[b])
        alive[b] = False
        members[keys[a]] += members.pop(keys[b])


def _joinable(dist: np.ndarray, members: dict[int, list[int]], cameras_in: list[int],
              max_ray_distance_m: float, near: tuple[np.ndarray, np.ndarray]) -> list[int]:
    """The keys of the clusters _rejoin can join (arguments as its): those with a partner
    sharing no camera whose mean affinity with them is below max_ray_distance_m, with
    SCREEN_MARGIN over rounding. A joined cluster's mean with another is a weighted mean of
    its parts' means with it: the others join nothing, and their means, above the threshold,
    decide no join's order. A partner has a detection pair under the threshold (near), so
    only those pairs of clusters are looked at."""
    keys = list(members)
    sizes = np.array([len(g) for g in members.values()])
    flat = np.concatenate(list(members.values()))
    cluster_of = np.empty(dist.shape[0], np.intp)             # position in keys, by detection
    cluster_of[flat] = np.arange(len(keys)).repeat(sizes)
    masks = np.array([cameras_in[key] for key in keys], np.int64)
    i, j = cluster_of[near[0]], cluster_of[near[1]]
    link = (masks[i] & masks[j]) == 0                 # other clusters, no camera in common
    pair = np.unique(np.minimum(i, j)[link] * len(keys) + np.maximum(i, j)[link])
    if not pair.size:     # every near pair shares a camera (a review: reshape(0, -1) raised)
        return []
    i, j = np.divmod(pair, len(keys))
    # their mean affinities, from the clusters' members padded to the largest cluster
    padded = np.full((len(keys), sizes.max()), -1)
    padded[cluster_of[flat], np.arange(flat.size) - (np.cumsum(sizes) - sizes)[
        cluster_of[flat]]] = flat
    rows, columns = padded[i][:, :, None], padded[j][:, None, :]
    value = dist[rows, columns]                                            # (L, S, S)
    finite = ((rows >= 0) & (columns >= 0) & np.isfinite(value)).reshape(len(pair), -1)
    total = np.where(finite, value.reshape(len(pair), -1), 0.0).sum(1)
    joinable = total < max_ray_distance_m * SCREEN_MARGIN * finite.sum(1)   # mean under it
    active = np.zeros(len(keys), bool)
    active[i[joinable]] = True
    active[j[joinable]] = True
    return [key for key, keep in zip(keys, active.tolist(), strict=True) if keep]


def merge_duplicates(arrays: CameraArrays, normalized: Sequence[np.ndarray],
                     scores: Sequence[np.ndarray], association: Association, *,
                     merge_distance_m: float = MERGE_DISTANCE_M, min_score: float = 0.3,
                     min_joints: int = 3) -> Association:
    """Merge groups whose 3D bodies coincide: one person split over two groups (each from a
    subset of the views that complete linkage would not join), or a duplicate detection of a
    real person (a detector's second, partial box) matched across cameras.

    Each group is triangulated (weighted DLT, all groups in one batch); two groups whose mean
    distance over their common joints (at least `min_joints`) is below `merge_distance_m`
    (metres) are one body: they are merged, closest pair first; where both hold a detection
    in the same camera, the one with the larger total score stays and the other is dropped.
    Two groups holding coinciding detections in every camera they share, or in two or more
    (_same_detections), whose 3D bodies are apart are a duplicate and its original: the
    weaker group is dropped whole (its other members, e.g. a false detection it was matched
    with, join nothing).
    """
    xy, weight = _gather_stacked(StackedDetections.of(normalized, scores), association.members,
                                 min_score)
    points = _dlt_points(arrays, xy, weight)                              # (P, J, 3)
    return _merge(association, points, xy, weight, merge_distance_m, min_joints,
                  coincide_floor(arrays))[0]


def _merge(association: Association, points: np.ndarray, xy: np.ndarray, weight: np.ndarray,
           merge_distance_m: float, min_joints: int, floor: np.ndarray
           ) -> tuple[Association, np.ndarray]:
    """merge_duplicates() on the groups' 3D points (P, J, 3), members' keypoints (P, J, V, 2)
    and weights (P, J, V), the cameras' coincidence floor (V,) (group_checks.coincide_floor);
    also returns the indices (P_out,) of the groups kept."""
    members = association.members
    first, second = _group_pairs(len(members))                # each pair of groups once
    coincide = None
    if first.size > SCREEN_PAIRS:       # many groups: the exact tests on the screened pairs
        near, coincide = _may_merge(points, xy, weight, first, second, merge_distance_m,
                                    min_joints, floor)
        keep = near | coincide
        first, second, coincide = first[keep], second[keep], coincide[keep]
    mean, n_common = mean_joint_distance(vector_norm(points[first] - points[second]))  # (K,)
    mean = np.where(n_common >= min_joints, mean, np.inf)
    one_body = mean < merge_distance_m
    if coincide is None:
        same = _same_detections(xy, weight, min_joints, first, second, floor)
    else:
        same = np.zeros(first.size, bool)
        same[coincide] = _same_detections(xy, weight, min_joints, first[coincide],
                                          second[coincide], floor)
    duplicate = same & ~one_body
    pick = one_body | duplicate
    if not pick.any():
        return association, np.arange(len(members))
    first, second, mean, duplicate = first[pick], second[pick], mean[pick], duplicate[pick]
    rows, strength = members.copy(), weight.sum(1)                         # (P, V)
    owner = np.arange(len(rows))
    cost = association.cost.copy()
    order = np.lexsort((mean, duplicate))                                 # 3D merges first
    for a0, b0, is_duplicate in zip(first[order], second[order], duplicate[order],
                                    strict=True):
        a, b = owner[a0], owner[b0]
        if a == b:
            continue
        if is_duplicate:
            # the same detections in the shared cameras, bodies apart in 3D (a duplicate
            # seen from ill-conditioned views): the weaker group goes, nothing of it joins
            if strength[b].sum() > strength[a].sum():
                a, b = b, a
        else:
            take = (rows[b] >= 0) & ((rows[a] < 0) | (strength[b] > strength[a]))
            rows[a] = np.where(take, rows[b], rows[a])
            strength[a] = np.where(take, strength[b], strength[a])
            cost[a] = np.fmin(cost[a], cost[b])
        rows[b] = -1
        owner[owner == b] = a
    keep = np.flatnonzero((rows >= 0).sum(1) > 0)
    return Association(rows[keep], cost[keep]), keep


def _may_merge(points: np.ndarray, xy: np.ndarray, weight: np.ndarray, first: np.ndarray,
               second: np.ndarray, merge_distance_m: float, min_joints: int,
               floor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the pairs of groups (first[k], second[k]), (K,) bool each: near, False where
    _merge cannot join them (their 3D joints' boxes are further apart than merge_distance_m:
    group_checks.box_gap, a mean distance over joints is at least the gap), and coincide,
    False where _same_detections is False (_may_coincide). Both with SCREEN_MARGIN over the
    rounding of the exact tests, which decide the rest. Arguments as _merge's."""
    valid = finite_rows(points)                                            # (P, J)
    low, high = masked_extent(points, valid[..., None], axis=1)            # (P, 3)
    gap = box_gap(low[first], high[first], low[second], high[second])      # (K,)
    near = ~(gap > SCREEN_MARGIN * merge_distance_m)      # NaN (no joint): kept
    n_groups = len(points)
    return near, _may_coincide(xy, weight, min_joints, floor)[
        first * n_groups + second]


_BITS_SET = np.array([bin(byte).count("1") for byte in range(256)])   # by byte value


def _may_coincide(xy: np.ndarray, weight: np.ndarray, min_joints: int, floor: np.ndarray,
                  max_relative: float = COINCIDE_RELATIVE) -> np.ndarray:
    """(P * P,) bool at a * P + b (a < b): groups a and b whose detections coincide (with
    SCREEN_MARGIN on the limit) in every camera where they share >= min_joints joints, at
    least one, or in two or more of those cameras: _same_detections camera by camera, over
    the pairs of one camera's members, not every pair of groups in every camera. Bit counts
    of the joints seen give the joints shared, box gaps (group_checks.box_gap) the pairs
    whose mean keypoint distance needs computing. xy (P, J, V, 2), weight (P, J, V) as
    _gather_stacked gives them, floor (V,) the cameras' coincidence floor."""
    n_groups, _, n_views = weight.shape
    seen = weight > 0
    low, high = masked_extent(xy, seen[..., None], axis=1)                 # (P, V, 2)
    size = corner_diagonal(low, high, empty=np.nan)                        # (P, V)
    bits = np.packbits(seen, axis=1)                                       # (P, J / 8, V)
    shared, close = [], []
    for v in range(n_views):
        groups = np.flatnonzero(seen[:, :, v].sum(1) >= max(min_joints, 1))
        i, j = np.triu_indices(len(groups), 1)
        a, b = groups[i], groups[j]                                        # a < b
        count = _BITS_SET[bits[a, :, v] & bits[b, :, v]].sum(-1)
        keep = count >= min_joints
        a, b, count = a[keep], b[keep], count[keep]
        shared.append(a * n_groups + b)
        limit = SCREEN_MARGIN * coincidence_limit(size[a, v], size[b, v], floor[v],
                                                  max_relative)
        look = box_gap(low[a, v], high[a, v], low[b, v], high[b, v]) < limit
        a, b, count, limit = a[look], b[look], count[look], limit[look]
        both = seen[a, :, v] & seen[b, :, v]                                # (L, J)
        mean = mean_joint_distance(vector_norm(xy[a, :, v] - xy[b, :, v]), both)[0]
        close.append((a * n_groups + b)[mean < limit])
    n_shared = np.bincount(np.concatenate(shared), minlength=n_groups * n_groups)
    n_close = np.bincount(np.concatenate(close), minlength=n_groups * n_groups)
    return ((n_close >= 1) & (n_close == n_shared)) | (n_close >= 2)


def _group_pairs(n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """np.triu_indices(n_groups, 1): each pair of groups once (cached up to 64 groups, the
    frames of the package's detectors; do not modify)."""
    return _small_group_pairs(n_groups) if n_groups <= 64 else np.triu_indices(n_groups, 1)


@lru_cache(maxsize=32)
def _small_group_pairs(n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """np.triu_indices(n_groups, 1), cached."""
    return np.triu_indices(n_groups, 1)


def _same_detections(xy: np.ndarray, weight: np.ndarray, min_joints: int, a: np.ndarray,
                     b: np.ndarray, floor: np.ndarray,
                     max_relative: float = COINCIDE_RELATIVE) -> np.ndarray:
    """(K,) bool for the pairs of groups (a[k], b[k]): the two hold, in every camera where both
    have a detection (at least one), or in two or more of them (a detector's duplicate boxes
    agree across views; two people cannot coincide in two views and be apart in 3D, short of
    cameras on one line: in-house, a third duplicate box further off its person's detection
    kept a group of three duplicates), detections that coincide in the image (mean keypoint
    distance over >= min_joints common joints below max_relative x the larger keypoint box or
    below the camera's floor (V,), normalised units: group_checks.coincide_floor): a
    detector's duplicate box and the real one. xy (P, J, V, 2), weight (P, J, V) as
    _gather_stacked gives them."""
    seen = weight > 0
    size = box_diagonal(np.swapaxes(xy, 1, 2), np.swapaxes(seen, 1, 2),
                        empty=np.nan)                          # (P, V), NaN unseen
    both = seen[a] & seen[b]                                               # (K, J, V)
    dist = vector_norm(xy[a] - xy[b])                                      # (K, J, V)
    # joints last as views (summed in memory order over J: the numbers of .sum(1))
    mean, count = mean_joint_distance(np.swapaxes(dist, 1, 2), np.swapaxes(both, 1, 2))
    close = mean < coincidence_limit(size[a], size[b], floor, max_relative)   # (K, V)
    shared = count >= min_joints
    same = (shared & close).sum(-1)
    return (((same >= 1) & (same == shared.sum(-1))) | (same >= 2)) & (a != b)


def _gather_stacked(stacked: StackedDetections, members: np.ndarray, min_score: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Members' normalised keypoints (P, J, V, 2) and DLT weights (P, J, V) (score where the
    keypoint is finite and the score >= min_score, else 0), all cameras in one gather from
    the frame's stacked detections."""
    n_joints = stacked.xy.shape[1]
    seen = members >= 0                                                    # (P, V)
    row = np.where(seen, stacked.offset[None, :members.shape[1]] + members, 0)
    if not stacked.camera_of.size:
        return (np.zeros(members.shape[:1] + (n_joints, members.shape[1], 2)),
                np.zeros(members.shape[:1] + (n_joints, members.shape[1])))
    k = stacked.xy[row]                                                    # (P, V, J, 2)
    s = stacked.score[row]                                                 # (P, V, J)
    ok = finite_rows(k) & (s >= min_score) & seen[..., None]
    xy = np.where(ok[..., None], k, 0.0).transpose(0, 2, 1, 3)
    weight = np.where(ok, s, 0.0).transpose(0, 2, 1)
    return np.ascontiguousarray(xy), np.ascontiguousarray(weight)


def _sorted(association: Association) -> Association:
    """People by number of views (descending), then cost (ascending, NaN last)."""
    views = (association.members >= 0).sum(1)
    order = np.lexsort((np.where(np.isnan(association.cost), np.inf, association.cost), -views))
    return Association(association.members[order], association.cost[order])


def gather(detections: Sequence[Detections2D], association: Association, *,
           normalised: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Associated detections as arrays for triangulate() (or, with normalised=True, their
    Detections2D.normalised coordinates for triangulate_normalized()).

    Returns keypoints (P_out, V, J, 2) raw pixels or normalised coordinates (NaN where
    unseen) and scores (P_out, V, J) (0 where unseen).
    """
    n_views = len(detections)
    if association.members.shape[1:] != (n_views,):
        raise ValueError(f"association has {association.members.shape[1:]} views, "
                         f"detections {n_views}")
    j = detections[0].layout.num_joints
    points: list[np.ndarray] = []
    for v, det in enumerate(detections):
        view = det.normalised if normalised else det.keypoints
        if view is None:
            raise ValueError(f"view {v} carries no normalised coordinates")
        points.append(view)
    if not association.num_people:
        return np.full((0, n_views, j, 2), np.nan), np.zeros((0, n_views, j))
    # every camera's detections stacked once, the members gathered in one indexing
    return gather_stacked(StackedDetections.of(points, [det.scores for det in detections]),
                          association)


def gather_stacked(stacked: StackedDetections, association: Association
                   ) -> tuple[np.ndarray, np.ndarray]:
    """gather() from the frame's detections stacked camera by camera (the keypoints they
    hold, e.g. normalised): keypoints (P, V, J, 2) NaN where unseen, scores (P, V, J) 0 there."""
    n_views, j = len(stacked.offset), stacked.xy.shape[1]
    if association.members.shape[1:] != (n_views,):
        raise ValueError(f"association has {association.members.shape[1:]} views, "
                         f"detections {n_views}")
    if not association.num_people:
        return np.full((0, n_views, j, 2), np.nan), np.zeros((0, n_views, j))
    seen = association.members >= 0                                       # (P, V)
    rows = np.where(seen, stacked.offset + association.members, 0)
    kp = stacked.xy[rows]                                                 # (P, V, J, 2)
    sc = stacked.score[rows]                                              # (P, V, J)
    kp[~seen] = np.nan
    sc[~seen] = 0.0
    return kp, sc


def _prune_by_reprojection(cameras: Sequence[CameraModel], detections: Sequence[Detections2D],
                           assoc: Association, max_px: float, min_views: int,
                           min_score: float) -> Association:
    """Triangulate each group robustly (outlier threshold max_px) and drop the members whose
    confident joints were mostly rejected as outlier views."""
    from .triangulation import triangulate

    kp, sc = gather(detections, assoc)
    res = triangulate(cameras, kp, sc, min_score=min_score, outlier_threshold_px=max_px)
    confident = np.isfinite(kp[..., 0]) & (sc >= min_score)  # (P, V, J)
    kept = (res.used & confident).sum(-1)
    seen = confident.sum(-1)
    members = assoc.members.copy()
    members[(members >= 0) & (kept < 0.5 * seen)] = -1
    keep = (members >= 0).sum(1) >= min_views
    return Association(members[keep], assoc.cost[keep])
