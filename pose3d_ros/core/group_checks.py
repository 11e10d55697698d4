"""Checks on the groups that cross-view association formed, before they are triangulated:
which detection of a camera a group should hold, whether a group is another one's shadow,
whether a group's absence from some cameras is explained. All batched over the frame's
stacked detections (core.ray_affinity.StackedDetections); association.associate_normalized
runs them.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

from .array_ops import (
    box_diagonal,
    finite_rows,
    masked_extent,
    masked_mean,
    mean_joint_distance,
    row_counts,
    vector_norm,
)
from .camera import CameraArrays
from .ray_affinity import StackedDetections

# Two detections of one camera coincide (one is the detector's second box of the other's
# person) when their mean keypoint distance is below COINCIDE_RELATIVE x the larger keypoint
# box, or below COINCIDE_FLOOR_PX pixels whatever the size: a detector's keypoint noise has a
# floor in pixels, so the two boxes of a small, far person differ by more than a tenth of its
# size (measured on the in-house benchmark's 640x480 ring cameras: 12-20 %). Distinct people
# are not this close in every camera they share, nor in two of them while 3D apart.
COINCIDE_RELATIVE = 0.1
COINCIDE_FLOOR_PX = 10.0
# count_unexplained: a detection's keypoint box, grown by this share of its size, explains an
# absence (an occluder); an image's bounds less this share are where a body should be seen
ABSENCE_BOX_GROWTH = 0.2
IMAGE_MARGIN = 0.05


def coincide_floor(arrays: CameraArrays) -> np.ndarray:
    """(V,) COINCIDE_FLOOR_PX in each camera's normalised image units (pixels / focal)."""
    return COINCIDE_FLOOR_PX / np.asarray(arrays.focal, np.float64).reshape(-1)


def coincidence_limit(size_a: np.ndarray, size_b: np.ndarray, floor: np.ndarray | None,
                      max_relative: float = COINCIDE_RELATIVE) -> np.ndarray:
    """The mean keypoint distance under which two detections of one camera coincide:
    max_relative x the larger of their keypoint boxes (sizes, broadcast), or the camera's
    floor (coincide_floor, broadcast; None: no floor) if that is larger. Normalised units."""
    limit = max_relative * np.fmax(size_a, size_b)
    return limit if floor is None else np.fmax(limit, floor)


def stronger_duplicates(stacked: StackedDetections, min_joints: int, min_score: float,
                        max_relative: float = COINCIDE_RELATIVE, rows: np.ndarray | None = None,
                        cols: np.ndarray | None = None, strength: np.ndarray | None = None,
                        floor: np.ndarray | None = None) -> np.ndarray:
    """(R, C) bool: [i, j] when detection cols[j] of the same camera as rows[i] is stronger
    (summed joint scores, ties to the first) and rows[i] coincides with it (mean keypoint
    distance over >= min_joints common joints below max_relative x the larger keypoint box,
    or below that camera's floor (V,) in normalised units, coincide_floor) and sees no joint
    it does not: rows[i] may be a detector's second, partial box of cols[j]'s person. rows,
    cols: indices into the frame's stacked detections (default: all, (N, N)); strength:
    detection_strength(stacked, min_score) when the caller has it."""
    every = np.arange(stacked.camera_of.size)
    rows = every if rows is None else np.asarray(rows, np.intp)
    cols = every if cols is None else np.asarray(cols, np.intp)
    xy, camera_of = stacked.xy, stacked.camera_of
    out = np.zeros((rows.size, cols.size), bool)
    # only detections of one camera can be duplicates: the pairs (K,) of rows and columns
    at_row, at_col = np.nonzero(camera_of[rows][:, None] == camera_of[cols][None])
    if not at_row.size:
        return out
    r, c = rows[at_row], cols[at_col]
    seen = stacked.usable(min_score)                                               # (N, J)
    size = stacked.memo("size", min_score,
                        lambda: box_diagonal(xy, seen, empty=np.nan))              # (N,)
    strength = detection_strength(stacked, min_score) if strength is None else strength
    mean, count = mean_joint_distance(vector_norm(xy[r] - xy[c]), seen[r] & seen[c])  # (K,)
    subset = count == seen[r].sum(-1)                    # row's joints all seen by the column
    limit = coincidence_limit(size[r], size[c],
                              None if floor is None else floor[camera_of[r]], max_relative)
    close = (count >= min_joints) & subset & (mean < limit)
    stronger = (strength[c] > strength[r]) | ((strength[c] == strength[r]) & (c < r))
    out[at_row, at_col] = close & stronger
    return out


def replace_by_stronger(members: np.ndarray, stacked: StackedDetections, min_joints: int,
                        min_score: float, floor: np.ndarray | None = None,
                        among: np.ndarray | None = None) -> np.ndarray:
    """members (P, V) with each member that has a stronger duplicate in no group
    (stronger_duplicates, with the cameras' coincidence floor (V,) when given) replaced by
    the strongest such detection; among (stacked rows): only these may replace (None: any
    detection in no group)."""
    seen = members >= 0
    member = (stacked.offset[None, :members.shape[1]] + members)[seen]   # stacked rows (M,)
    free = np.ones(stacked.camera_of.size, bool)
    free[member] = False
    if among is not None:
        chosen = np.zeros_like(free)
        chosen[among] = True
        free &= chosen
    free = free.nonzero()[0]
    if not free.size:
        return members
    strength = detection_strength(stacked, min_score)
    # a duplicate is at least as strong as the member it replaces, in the same camera: most
    # frames no free detection is, and the coincidence test is not needed
    camera_of = stacked.camera_of
    if not ((camera_of[member][:, None] == camera_of[free][None])
            & (strength[free][None] >= strength[member][:, None])).any():
        return members
    candidate = stronger_duplicates(stacked, min_joints, min_score, rows=member,
                                    cols=free, strength=strength, floor=floor)    # (M, F)
    if not candidate.any():
        return members
    best = np.where(candidate, strength[free], -np.inf).argmax(-1)                # (M,)
    swap = candidate.any(-1)
    # one detection replaces at most one member (the first to claim it)
    claimed = np.flatnonzero(swap)
    _, first = np.unique(best[claimed], return_index=True)
    take = np.zeros(swap.size, bool)
    take[claimed[first]] = True
    member_rows, member_cols = np.nonzero(seen)
    out = members.copy()
    out[member_rows[take], member_cols[take]] = stacked.local[free[best[take]]]
    return out


def detection_strength(stacked: StackedDetections, min_score: float) -> np.ndarray:
    """(N,) each detection's summed score over its usable joints (finite keypoint, score >=
    min_score): which of two coinciding detections is the stronger."""
    return stacked.memo("strength", min_score, lambda: np.where(
        stacked.usable(min_score), stacked.score, 0.0).sum(-1))


def unexplained_absences(arrays: CameraArrays, normalized: Sequence[np.ndarray],
                         members: np.ndarray, points: np.ndarray) -> np.ndarray:
    """For each group (P,): the cameras that do not see it although its body centre projects
    inside their image (arrays.bounds, 5 % margin), in front of them, and outside every
    detection of theirs (each detection's keypoint box grown by 20 %; an occluder's box
    explains an absence). Two false detections that agree by chance in two cameras make a
    body no other camera shows; a real person hidden in some views is behind someone there.
    points: (P, J, 3) the groups' joints (NaN missing), metres."""
    if arrays.bounds is None:
        raise ValueError("unexplained_absences needs the cameras' image bounds "
                         "(CameraArrays.from_cameras sets them)")
    return count_unexplained(arrays, StackedDetections.of(normalized, [np.zeros(np.shape(k)[:2])
                                                         for k in normalized]), members, points)


def count_unexplained(arrays: CameraArrays, stacked: StackedDetections, members: np.ndarray,
                 points: np.ndarray) -> np.ndarray:
    """unexplained_absences() on the frame's stacked detections (members (P, V))."""
    assert arrays.bounds is not None
    valid = finite_rows(points)
    n_valid = row_counts(valid)
    centre = masked_mean(points, valid, 0.0)                  # 0: no joint (n_valid 0)
    cam = arrays.to_cameras(centre)                        # (P, V, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        xy = cam[..., :2] / cam[..., 2:3]
    low, high = inner_bounds(arrays)
    inside = ((cam[..., 2] > 0.1) & (xy > low).all(-1) & (xy < high).all(-1)
              & (n_valid > 0)[:, None])
    absent = inside & (members < 0)
    camera_of = stacked.camera_of
    if not absent.any():          # every camera that should see a group does (~half the
        return np.zeros(len(members), int)      # frames): no detection box to test
    covered = np.zeros(inside.shape, bool)
    if camera_of.size:
        kp = stacked.xy                                                        # (N, J, 2)
        box_low, box_high = masked_extent(kp, np.isfinite(kp), axis=1)       # (N, 2)
        grow = ABSENCE_BOX_GROWTH * (box_high - box_low)
        at = xy[:, camera_of]                                                  # (P, N, 2)
        contains = ((at >= box_low - grow) & (at <= box_high + grow)).all(-1)
        covered = contains.astype(float) @ (camera_of[:, None] == np.arange(len(stacked.offset)))
        covered = covered > 0
    return (absent & ~covered).sum(1)


@lru_cache(maxsize=16)
def inner_bounds(arrays: CameraArrays) -> tuple[np.ndarray, np.ndarray]:
    """(V, 2) low and high corners of each camera's image bounds less a 5 % margin (normalised
    coordinates), once per rig; a side without end (a fisheye of more than 180 degrees has no
    ray at its edges) keeps no margin (inf - inf: NaN bounds turned the camera's check off)."""
    assert arrays.bounds is not None
    low, high = arrays.bounds[:, :2], arrays.bounds[:, 2:]
    margin = IMAGE_MARGIN * (high - low)
    margin = np.where(np.isfinite(margin), margin, 0.0)
    return low + margin, high - margin


def box_gap(low_a: np.ndarray, high_a: np.ndarray, low_b: np.ndarray, high_b: np.ndarray
            ) -> np.ndarray:
    """Euclidean distance between axis-aligned boxes, e.g. array_ops.masked_extent()'s
    (corners (..., D), broadcast; 0 where they overlap, NaN where a corner is): a lower bound
    of the distance between any point of one and any point of the other, so of any mean of
    such distances."""
    apart = np.maximum(np.maximum(low_b - high_a, low_a - high_b), 0.0)
    return vector_norm(apart)
