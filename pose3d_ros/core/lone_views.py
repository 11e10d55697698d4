"""People whom only one camera of a rig sees.

A multi-camera set triangulates the people that two or more views agree on. A person whom one
camera alone sees (the other cameras look elsewhere, someone stands in front of them, they are
beyond the shared volume) has no second view and used to be dropped: on a robot whose cameras
face different ways that is most people. The pipeline gives such people to its monocular
method (the one-camera path, per camera) when this module says they are real and new:

  1. (triangulation) a person whose views all look at them along nearly one line (cameras
     side by side, or facing each other) has no measured joint (triangulation.depth_gain) and
     is not published as triangulated; their views count as unexplained (step 2).
  2. unexplained_detections: the detections that no published triangulated person explains,
     i.e. not a member of a published group, and not centred on the projection of a published
     person into the same camera (a partial duplicate box, a view the association missed or
     whose left and right the detector exchanged), with enough confident joints to be lifted.
  3. (the pipeline) each camera's image tracker follows its unexplained detections; a track
     matched in LoneViewParams.min_streak updates in a row is lifted and placed in 3D.
  4. kept_lone_people: a lone person whose pelvis lies near a triangulated person, or near (or
     on the viewing ray of) a more confidently seen lone person of another camera (one body
     two cameras see), is the same body and goes.

Lone people are published with num_views 1 and their monocular method per person
(Skeletons3D.person_methods), so consumers can tell them from triangulated ones.

Arrays: normalised coordinates are undistorted image coordinates of each camera (x/z, y/z);
points are metres in the rig frame; cameras are CameraArrays (x_cam = R x_rig + t).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .array_ops import box_diagonal
from .camera import CameraArrays


@dataclass(frozen=True)
class LoneViewParams:
    """When a detection that no triangulated person explains becomes a one-camera person.

    coincide_fraction: a detection whose torso centre lies within this fraction of its own
        size (the diagonal of its confident keypoints' box) of a published person's projected
        torso centre in the same camera is that person.
    min_joint_share: fewest joints, as a share of the layout's, with a score >= the
        pipeline's min_score for a detection to be lifted: one view of a fragment (a half body,
        a false detection's limbs) cannot be placed, and nothing else checks it.
    min_streak: updates in a row in which the person's image track must have been matched
        (ImageTrackUpdate.streak; a person who walks out of the other cameras' view has a long
        one already): in a rig, each camera's false detections (about 0.5 per image measured
        from the detector, core/error_model.py) now and then chain into a short track, or take
        over a lost one.
    duplicate_distance_m: a lone person whose pelvis lies closer than this (metres) to a
        triangulated person's, or to (or, both ways, to the viewing ray of) a lone person of
        another camera seen with more confident joints, is that person and is not published.
    """

    coincide_fraction: float = 0.25
    min_joint_share: float = 0.7
    min_streak: int = 6
    duplicate_distance_m: float = 0.5

    def __post_init__(self) -> None:
        if not self.coincide_fraction > 0:
            raise ValueError(f"coincide_fraction must be > 0, got {self.coincide_fraction}")
        if not 0 < self.min_joint_share <= 1:
            raise ValueError(f"min_joint_share must be in (0, 1], got {self.min_joint_share}")
        if self.min_streak < 1:
            raise ValueError(f"min_streak must be >= 1, got {self.min_streak}")
        if not self.duplicate_distance_m >= 0:
            raise ValueError(f"duplicate_distance_m must be >= 0, got "
                             f"{self.duplicate_distance_m}")


def projected_normalised(arrays: CameraArrays, points: np.ndarray) -> np.ndarray:
    """(P, J, 3) rig-frame points -> (V, P, J, 2) their normalised coordinates in every camera
    of `arrays`, NaN at or behind a camera's image plane (z <= 1 mm) and for NaN points."""
    return np.moveaxis(arrays.normalized_and_depth(points)[0], -2, 0)


def unexplained_detections(arrays: CameraArrays, xy: np.ndarray, score: np.ndarray,
                           camera_of: np.ndarray, used: np.ndarray, published: np.ndarray,
                           torso: np.ndarray, params: LoneViewParams, min_score: float
                           ) -> np.ndarray:
    """Which of a frame's detections no published triangulated person explains.

    xy (N, J, 2) normalised coordinates and score (N, J) of all cameras' detections stacked,
    camera_of (N,) their camera index in `arrays`, used (N,) bool: member of a published
    group; published (P, J, 3) those people's joints (rig frame, the detections' layout, NaN
    where missing); torso: indices of the layout's shoulders and hips. Returns (N,) bool: not
    used, enough confident joints, and whose torso centre lies off every published person's
    projected torso centre (by more than LoneViewParams.coincide_fraction of the detection's
    size). The torso centre (the mean of the confident shoulders and hips, and of the same
    joints projected) does not change when a detector exchanges left and right, and a
    partial box of a person keeps it: both are that person, not somebody new.
    """
    confident = np.isfinite(xy).all(-1) & (score >= min_score)               # (N, J)
    candidate = ~used & (confident.sum(-1) >= params.min_joint_share * xy.shape[1])
    if not candidate.any() or not len(published):
        return candidate
    rows = np.flatnonzero(candidate)
    own = np.where(confident[rows, :, None], xy[rows], np.nan)                # (C, J, 2)
    size = box_diagonal(xy[rows], confident[rows], empty=np.nan)             # (C,)
    shown = projected_normalised(arrays, published[:, torso])[camera_of[rows]]  # (C, P, T, 2)
    own_torso = np.broadcast_to(own[:, None, torso], shown.shape)
    both = np.isfinite(own_torso).all(-1) & np.isfinite(shown).all(-1)       # (C, P, T)
    count = both.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre_gap = np.linalg.norm(
            (np.where(both[..., None], own_torso - shown, 0.0)).sum(-2), axis=-1) / count
    explained = ((count >= 2) & (centre_gap < params.coincide_fraction * size[:, None])).any(-1)
    candidate[rows[explained]] = False
    return candidate


def kept_lone_people(lone_pelvis: np.ndarray, lone_camera: np.ndarray, quality: np.ndarray,
                     viewpoints: np.ndarray, triangulated_pelvis: np.ndarray,
                     params: LoneViewParams, published_before: np.ndarray | None = None
                     ) -> np.ndarray:
    """Which lone people are new bodies.

    lone_pelvis (L, 3) rig frame (NaN: unknown, kept unless something else decides),
    lone_camera (L,) the camera that sees each, quality (L,) how well it is seen (e.g. the sum
    of its 2D scores), viewpoints (L, 3) that camera's optical centre; triangulated_pelvis
    (Q, 3) of the published triangulated people. A lone person whose pelvis lies within
    duplicate_distance_m of a triangulated one is that person and goes. One camera places a
    person well sideways and poorly in depth, so two lone people of different cameras are one
    body when their pelvises are that close, or when each lies that close to the other's
    viewing ray (camera centre through pelvis: two cameras side by side see one person along
    nearly one line, at two monocular depths); the one of lower quality goes, unless the other
    was not published in the last set and it was (published_before (L,) bool: the same camera's
    image track published then): one body in an overlap of two cameras stays with the camera
    that placed it until that camera loses it; by quality alone it went back and forth between
    the two cameras' placements, which lie up to 1.5 m apart in depth, and between two ids
    (benchmarks/bench_handover.py, robot_wide). Returns (L,) bool."""
    keep = np.ones(len(lone_pelvis), bool)
    if not len(lone_pelvis):
        return keep
    limit = params.duplicate_distance_m
    direction = lone_pelvis - viewpoints
    with np.errstate(invalid="ignore", divide="ignore"):
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)      # (L, 3)

    def off_ray(points: np.ndarray) -> np.ndarray:
        """(L, K): distance of each of K points to each lone person's viewing ray."""
        rel = points[None] - viewpoints[:, None]                              # (L, K, 3)
        ahead = np.einsum("lkc,lc->lk", rel, direction) > 0
        gap = np.linalg.norm(np.cross(rel, direction[:, None]), axis=-1)
        return np.where(ahead, gap, np.inf)

    if len(triangulated_pelvis):   # (on the ray: unexplained_detections' torso test did it)
        near = np.linalg.norm(lone_pelvis[:, None] - triangulated_pelvis[None], axis=-1)
        keep &= ~(np.nan_to_num(near, nan=np.inf) < limit).any(1)
    between = np.linalg.norm(lone_pelvis[:, None] - lone_pelvis[None], axis=-1)
    crossing = off_ray(lone_pelvis)
    one_body = (np.nan_to_num(between, nan=np.inf) < limit) | \
        (np.nan_to_num(np.maximum(crossing, crossing.T), nan=np.inf) < limit)
    one_body &= lone_camera[:, None] != lone_camera[None]
    before = (np.zeros(len(keep), bool) if published_before is None
              else np.asarray(published_before, bool))
    for k in np.lexsort((-quality, ~before)):   # published before, then best seen (L small)
        if keep[k]:
            keep &= ~one_body[k]
    return keep


@dataclass(frozen=True)
class PublishedPeople:
    """A rig's people as published, kept for the hand-over (handed_over_ids): ids (Q,),
    pelvis (Q, 3) rig frame, viewpoints (Q, 3) a lone person's camera centre (NaN for a
    triangulated one), keys (Q,) a lone person's camera and image track (-1 for a
    triangulated one), stamps (Q,) s each was last published at."""

    ids: np.ndarray
    pelvis: np.ndarray
    viewpoints: np.ndarray
    keys: np.ndarray
    stamps: np.ndarray

    def take(self, rows: np.ndarray) -> "PublishedPeople":
        """These people at rows (index or bool mask)."""
        return PublishedPeople(self.ids[rows], self.pelvis[rows], self.viewpoints[rows],
                               self.keys[rows], self.stamps[rows])

    def claims(self, now: "PublishedPeople", stamp: float, window_s: float,
               params: LoneViewParams, growth_mps: float) -> np.ndarray | None:
        """handed_over_ids of the people `now` (their ids not yet known) against those of
        these published within window_s before stamp (s); None when there are none."""
        age = stamp - self.stamps
        recent = (age > 0) & (age <= window_s)
        if not recent.any():
            return None
        before = self.take(recent)
        return handed_over_ids(before.ids, before.pelvis, before.viewpoints, before.keys,
                               now.pelvis, now.viewpoints, now.keys, params, age[recent],
                               growth_mps)

    def followed_by(self, now: "PublishedPeople", stamp: float, window_s: float
                    ) -> "PublishedPeople":
        """`now` (the people of the set at stamp (s), tracked) and those of these whose id it
        did not publish, published within window_s before stamp."""
        old = ~np.isin(self.ids, now.ids) & (stamp - self.stamps <= window_s)
        kept = self.take(old)
        return PublishedPeople(*(np.concatenate([a, b]) for a, b in zip(
            (kept.ids, kept.pelvis, kept.viewpoints, kept.keys, kept.stamps),
            (now.ids, now.pelvis, now.viewpoints, now.keys, now.stamps), strict=True)))


def handed_over_ids(previous_ids: np.ndarray, previous_pelvis: np.ndarray,
                    previous_viewpoints: np.ndarray, previous_keys: np.ndarray,
                    pelvis: np.ndarray, viewpoints: np.ndarray, keys: np.ndarray,
                    params: LoneViewParams, previous_age: np.ndarray | None = None,
                    growth_mps: float = 0.0) -> np.ndarray:
    """The id of a person published shortly before whom each person of this set continues across a
    change of method (a person walking out of an overlap, triangulated -> one camera's, or into
    one), 0 for none: (P,) int64.

    previous_ids (Q,), previous_pelvis (Q, 3) rig frame, previous_viewpoints (Q, 3) the camera
    centre of a lone person (NaN for a triangulated one), previous_keys (Q,) a lone person's
    camera and image track (-1 for a triangulated one), previous_age (Q,) seconds since each was
    last published (None: all of the last set); pelvis, viewpoints, keys: the same of this set's
    people (P). Every distance limit below grows by growth_mps times the age (how far a person
    unseen that long may have gone: the 3D tracker's gate_growth_mps). One camera places a
    person right in bearing and poorly in depth, so a lone person and a triangulated one of the
    other set are one body when the triangulated pelvis lies within duplicate_distance_m of the
    lone person's viewing ray (camera centre through pelvis, ahead of the camera). Only between
    a person of the last set whom this set does not continue the same way (a lone one whose
    track is not published again, a triangulated one with no triangulated person within
    duplicate_distance_m now) and one of this set who does not continue somebody the same way;
    the most recently published first, then the nearest pairs, each person once. The 3D
    tracker's distance gate, half a metre, is below the placements' disagreement: 62 % of the
    changes from triangulated to lone gave the person a new id, 43 % the other way
    (benchmarks/bench_handover.py, robot_large)."""
    claims = np.zeros(len(pelvis), np.int64)
    if not len(previous_ids) or not len(pelvis):
        return claims
    age = np.zeros(len(previous_ids)) if previous_age is None else previous_age
    limit = (params.duplicate_distance_m + growth_mps * age)[:, None]                 # (Q, 1)
    was_lone, is_lone = previous_keys >= 0, keys >= 0
    with np.errstate(invalid="ignore"):
        tri_gap = np.linalg.norm(previous_pelvis[:, None] - pelvis[None], axis=-1)    # (Q, P)
        same_tri = ~was_lone[:, None] & ~is_lone[None] & (tri_gap < limit)
    gone = np.where(was_lone, ~np.isin(previous_keys, keys), ~same_tri.any(1))       # (Q,)
    new = np.where(is_lone, ~np.isin(keys, previous_keys), ~same_tri.any(0))         # (P,)
    # (Q, P): the distance of the triangulated pelvis of each pair to the lone one's ray
    origin = np.where(was_lone[:, None, None], previous_viewpoints[:, None],
                      viewpoints[None])
    through = np.where(was_lone[:, None, None], previous_pelvis[:, None], pelvis[None])
    other = np.where(was_lone[:, None, None], pelvis[None], previous_pelvis[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        direction = through - origin
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
        rel = other - origin
        ahead = (rel * direction).sum(-1) > 0
        off = np.linalg.norm(np.cross(rel, direction), axis=-1)
        pair = (gone[:, None] & new[None] & (was_lone[:, None] != is_lone[None]) & ahead
                & (off < limit))
    off = np.where(pair, off, np.inf)
    # the most recently published first (a person's id before an earlier loss is older),
    # then the nearest
    order = np.lexsort((off.ravel(), np.broadcast_to(age[:, None], off.shape).ravel()))
    for q, p in zip(*np.unravel_index(order, off.shape), strict=True):
        if not np.isfinite(off[q, p]):
            continue
        if claims[p] == 0 and previous_ids[q] not in claims:
            claims[p] = previous_ids[q]
    return claims
