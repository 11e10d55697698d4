"""Left/right label confusions of 2D detectors: the one home of finding and undoing them.

A 2D detector sometimes exchanges the labels of a left/right joint pair (left knee called
right knee and the reverse), one limb at a time or the whole body at once when it takes a
person seen from the front for one seen from behind (or the reverse). Whoever has an
expectation of where each joint should be can tell: the multi-view path
(unswap_left_right here: the consensus 3D projected into each view), the one-camera
path (tracking.ImageTracker: where the track's joints were a frame ago) and the error model
(error_model.detect_swaps: the reference 2D).
They share the test (crossed_pairs) and the exchange (exchange_pairs) here.

  left_right_pairs(layout)             (K, 2) joint indices of the layout's left_*/right_* pairs
  mirror_index(layout)                 (J,) each joint's mirror image (left <-> right), for
      mirroring whole bodies (augmentation, mirrored motion capture, mirror-tolerant matching)
  crossed_pairs(observed, expected, ...)  (..., K) bool: exchanging the pair fits `expected`
  exchange_pairs(values, pairs, swapped)  values with the flagged pairs' labels exchanged
  exchange_detections(detections, pairs, swapped)   the same on every per-joint array of a
      Detections2D (keypoints, scores, normalised, the detector's own metric 3D)
  unswap_left_right(arrays, normalized, scores, points, ...)   the multi-view test and
      exchange against each person's consensus 3D (swapped_against_3d: the test alone)
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np

from .array_ops import cross3, row_counts, small_sum, vector_norm
from .camera import CameraArrays
from .layouts import BLAZEPOSE33, TORSO_JOINTS, JointLayout, convertible
from .plausibility import bone_ratios, median_scale, reference_body
from .types import Detections2D


@lru_cache(maxsize=16)
def left_right_pairs(layout: JointLayout) -> np.ndarray:
    """(K, 2) joint indices (left, right) of the layout's left_* / right_* pairs (a layout
    constant: do not modify the returned array)."""
    names = layout.joint_names
    return np.array([(i, names.index("right_" + n[5:])) for i, n in enumerate(names)
                     if n.startswith("left_") and "right_" + n[5:] in names],
                    np.intp).reshape(-1, 2)


@lru_cache(maxsize=16)
def joint_sides(layout: JointLayout) -> np.ndarray:
    """(J,) -1 for the layout's left_* joints of a left/right pair, +1 for the right_*, 0 for
    the others (a layout constant: do not modify the returned array)."""
    sides = np.zeros(layout.num_joints, np.int8)
    pairs = left_right_pairs(layout)
    sides[pairs[:, 0]], sides[pairs[:, 1]] = -1, 1
    sides.flags.writeable = False
    return sides


@lru_cache(maxsize=16)
def mirror_index(layout: JointLayout) -> np.ndarray:
    """(J,) index of each joint's mirror image: left_* <-> right_*, the others themselves (a
    layout constant: do not modify the returned array)."""
    index = np.arange(layout.num_joints)
    pairs = left_right_pairs(layout)
    index[pairs[:, 0]], index[pairs[:, 1]] = pairs[:, 1], pairs[:, 0]
    return index


def crossed_pairs(observed: np.ndarray, expected: np.ndarray, pairs: np.ndarray, *,
                  gain: float, min_error: np.ndarray | float,
                  scale: np.ndarray | None = None) -> np.ndarray:
    """Which left/right pairs of `observed` are labelled the wrong way round.

    observed, expected: (..., J, D) positions in one unit (pixels, normalised coordinates,
    metres), NaN where unknown; pairs (K, 2). A pair counts as exchanged where exchanging its
    two labels brings the pair's summed distance to `expected` below `gain` times the straight
    distance (0 < gain < 1: a clear improvement, not noise) and the straight distance is over
    `min_error` (same unit; broadcast against (..., K)). Pairs with an unknown joint: False.
    scale: (..., J) factors (broadcastable) applied to each distance at its expected joint,
    e.g. a focal length (normalised -> pixels) or the joint's depth (normalised -> metres).
    Returns (..., K) bool.
    """
    return _crossed(*pair_distances(observed, expected, pairs, scale), gain, min_error)


def _crossed(straight: np.ndarray, crossed: np.ndarray, gain: float,
             min_error: np.ndarray | float) -> np.ndarray:
    """crossed_pairs' test on the pairs' straight and crossed distances (..., K)."""
    with np.errstate(invalid="ignore"):
        return (crossed < gain * straight) & (straight > min_error) & np.isfinite(crossed)


def pair_distances(observed: np.ndarray, expected: np.ndarray, pairs: np.ndarray,
                   scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(..., J, D) both -> straight, crossed (..., K): each pair's summed distance to
    `expected` as labelled and with its two labels exchanged (NaN where a joint is unknown);
    scale (..., J): factors applied to each distance at its expected joint (None: 1)."""
    k = len(pairs)
    obs, at = _four_ways(np.asarray(pairs, np.intp).tobytes())
    d = vector_norm(observed[..., obs, :] - expected[..., at, :])               # (..., 4K)
    if scale is not None:
        scale = np.asarray(scale)
        # one factor for all joints (e.g. a focal length per view): no gather needed
        d = d * (scale if scale.shape[-1:] == (1,)
                 else np.broadcast_to(scale, expected.shape[:-1])[..., at])
    return _pair_sums(d, k)


@lru_cache(maxsize=16)
def _chain_members(chains: bytes) -> np.ndarray:
    """(K, C) float64 one-hot: pair k is in chain c (the C distinct values of chains (K,),
    intp as bytes, pair_chains') - with it, the exchanged pairs (..., K) bool of each chain
    count in one matrix product."""
    values = np.frombuffer(chains, np.intp)
    return (values[:, None] == np.unique(values)[None]).astype(np.float64)


def _pair_sums(d: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The four distances (..., 4K) of K pairs in _four_ways' order -> straight, crossed
    (..., K) sums."""
    return d[..., :k] + d[..., k:2 * k], d[..., 2 * k:3 * k] + d[..., 3 * k:]


@lru_cache(maxsize=16)
def _four_ways(pairs: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(observed, expected) joint indices (4K,) of the four distances of every pair of
    (K, 2) intp pairs (as bytes), in one batch: a-a, b-b (straight), a-b, b-a (crossed)."""
    a, b = np.frombuffer(pairs, np.intp).reshape(-1, 2).T
    return np.concatenate([a, b, a, b]), np.concatenate([a, b, b, a])


# crossed_limbs_3d: a clear improvement (the misfit with the labels exchanged below this share
# of the misfit as labelled), of a misfit over this many expected bone lengths, to a fit
# within this share of one; which pair is wrong: a torso pair's handedness below
# TORSO_EXCHANGED (exchanged) or above TORSO_AS_LABELLED (its child exchanged), further out the
# parent where its handedness is HANDEDNESS_MARGIN below its child's, the child where its own
# is not CHILD_NOT_BETTER above its parent's
LIMB_GAIN = 0.5
LIMB_MIN_MISFIT = 1.0
LIMB_MAX_FIT = 0.6
TORSO_EXCHANGED = -0.5
TORSO_AS_LABELLED = 0.3
HANDEDNESS_MARGIN = 1.0
CHILD_NOT_BETTER = 0.5
# in a view whose exchanged pairs span two chains (swapped_against_3d), a pair keeps its
# labels only where they fit this many times better than exchanged (in-house,
# benchmarks/results_multiview.md 6z4: 1.5 and 3 measured, and exchanging every pair)
WHOLE_VIEW_KEEP = 3.0

# Limb chains by joint-name suffix: a pair's parent pair (towards the torso).
_LIMB_PARENT = {"elbow": "shoulder", "wrist": "elbow", "pinky": "wrist", "index": "wrist",
                "thumb": "wrist", "knee": "hip", "ankle": "knee", "heel": "ankle",
                "foot_index": "ankle"}


@lru_cache(maxsize=16)
def pair_chains(layout: JointLayout) -> np.ndarray:
    """(K,) for each left/right pair of the layout the index of the pair its limb hangs from
    at the top (_LIMB_PARENT followed up: wrists -> shoulders, ankles -> hips); the pairs on
    no limb (eyes, ears, mouth) are one chain, the head's (cached: do not modify)."""
    pairs = left_right_pairs(layout)
    names = [layout.joint_names[a][len("left_"):] for a in pairs[:, 0]]
    out = []
    for name in names:
        while _LIMB_PARENT.get(name) in names:
            name = _LIMB_PARENT[name]
        out.append(names.index(name))
    chains = np.array(out, np.intp)
    limbs = [names.index(n) for n in ("shoulder", "hip") if n in names]
    face = ~np.isin(chains, limbs)            # eyes, ears, mouth: one chain, the head
    if face.any():
        chains[face] = np.flatnonzero(face)[0]
    return chains


@lru_cache(maxsize=16)
def limb_levels(layout: JointLayout) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The layout's left/right pairs that hang from another pair along a limb (elbows from
    shoulders, knees from hips, ...), by depth: per level (children (C,), parents (C,)),
    indices into left_right_pairs(layout); parents always in an earlier level or a root."""
    pairs = left_right_pairs(layout)
    names = [layout.joint_names[a][len("left_"):] for a in pairs[:, 0]]
    parent = {k: names.index(_LIMB_PARENT[n]) for k, n in enumerate(names)
              if _LIMB_PARENT.get(n) in names}
    depth = {}
    for k in range(len(names)):
        d, j = 0, k
        while j in parent:
            d, j = d + 1, parent[j]
        depth[k] = d
    return tuple((np.array([k for k in parent if depth[k] == d], np.intp),
                  np.array([parent[k] for k in parent if depth[k] == d], np.intp))
                 for d in range(1, max(depth.values(), default=0) + 1))


@lru_cache(maxsize=16)
def torso_pairs(layout: JointLayout) -> np.ndarray:
    """(T,) indices into left_right_pairs(layout) of the pairs the limbs hang from at the top
    (limb_levels' first parents: shoulders, hips); empty for a layout without limbs."""
    levels = limb_levels(layout)
    return np.unique(levels[0][1]) if levels else np.zeros(0, np.intp)


@lru_cache(maxsize=16)
def _limb_bones(layout: JointLayout) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]:
    """Per limb_levels level: the joints at both ends (4C,) of each child pair's bones to its
    parent pair as labelled (left, right) and crossed (left child to right parent, right
    child to left parent), and (C,) their canonical length (m, plausibility.reference_body;
    a bone and its mirror are the same length)."""
    ref = reference_body(layout)
    pairs = left_right_pairs(layout)
    length = {frozenset(bone): float(n) for bone, n in zip(ref.bones.tolist(), ref.lengths,
                                                           strict=True)}
    out = []
    for children, parents in limb_levels(layout):
        (lc, rc), (lp, rp) = pairs[children].T, pairs[parents].T
        canonical = np.array([length.get(frozenset((int(c), int(p))), np.nan)
                              for c, p in zip(lc, lp, strict=True)])
        out.append((np.concatenate([lc, rc, lc, rc]), np.concatenate([lp, rp, rp, lp]),
                    canonical))
    return tuple(out)


def body_left(points: np.ndarray, layout: JointLayout) -> np.ndarray:
    """(P, 3) unit vector to each body's own left: up (mid-hips to mid-shoulders) x forward
    (mid-shoulders to the nose, across up); NaN where a joint is unknown or the layout lacks
    shoulders, hips or nose. It needs no left/right label: both pairs enter as midpoints."""
    names = layout.joint_names
    needed = (*TORSO_JOINTS, "nose")
    if not all(n in names for n in needed):
        return np.full((points.shape[0], 3), np.nan)
    ls, rs, lh, rh, nose = (points[:, names.index(n)] for n in needed)
    shoulders = 0.5 * (ls + rs)
    up = shoulders - 0.5 * (lh + rh)
    with np.errstate(invalid="ignore", divide="ignore"):
        up = up / vector_norm(up)[:, None]
        forward = nose - shoulders
        left = cross3(up, forward - small_sum(forward * up)[:, None] * up)
        return left / vector_norm(left)[:, None]


def handedness(points: np.ndarray, left: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """(P, R) cosine between each left/right pair's direction (right joint to left joint) and
    the body's left (body_left, (P, 3)): about +1 for a pair labelled as the body is, -1 for
    one exchanged, NaN where unknown. points (P, J, 3), pairs (R, 2). Motion capture never
    gives the shoulders or hips below -0.5 (in-house benchmark, every rig and crowd)."""
    across = points[:, pairs[:, 0]] - points[:, pairs[:, 1]]                     # (P, R, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (across * left[:, None]).sum(-1) / vector_norm(across)


def crossed_limbs_3d(points: np.ndarray, layout: JointLayout,
                     body_scale: np.ndarray | None = None, *,
                     contested: np.ndarray | None = None) -> np.ndarray:
    """(P, K) bool: the left/right pairs of 3D bodies to exchange so that every limb hangs
    from its own side.

    A child pair (elbows, wrists, knees, ...) is crossed with its parent pair (shoulders,
    elbows, hips, ...) where the misfit of its two bones to their expected lengths
    (|length - expected|, summed) with one pair's labels exchanged is below LIMB_GAIN times
    the misfit as labelled, that misfit is over LIMB_MIN_MISFIT expected bone lengths, and
    the exchanged bones fit within LIMB_MAX_FIT of it. Lengths, not distances: folded arms
    (each wrist at the other elbow) keep their labels, their bones have their lengths.
    Which of the two pairs is wrong, the handedness against the body's left says
    (body_left): at the torso (shoulders, hips) the torso pair under TORSO_EXCHANGED, the
    child over TORSO_AS_LABELLED, neither between (or without a face); further out the
    parent where its handedness is HANDEDNESS_MARGIN below the child's, the child where its
    own is not CHILD_NOT_BETTER above the parent's, else neither. Levels are decided
    outwards (limb_levels), each against its parents as decided so far, so a whole limb hung
    from the wrong side is exchanged joint by joint (a level that exchanges its parent pair
    does not judge that pair again against the grandparents). Before the levels, a torso
    pair whose handedness is under TORSO_EXCHANGED is exchanged whatever its bones: with its
    whole limbs the wrong way round too (two of four views confusing a side alike), no bone
    misfits (in-house, results_multiview.md 6z3: 5 cameras x 4 people PCP 95.3 -> 96.5).
    Layouts the canonical body cannot be brought to (BODY-25, Campus-14, Shelf-15): nothing is
    exchanged.

    points (P, J, 3) metres; body_scale (P,) the body's size over the canonical body (None:
    the median of its bones' ratios); contested (P, K) bool: only these pairs may be
    exchanged (triangulate_people: the pairs its views disagreed about).
    Found on the in-house benchmark: where most views of a wrist pair are confused alike (two
    of them nearly on one ray), the per-view test against the consensus exchanged the two
    right views instead (both wrists 0.5-0.9 m off); a pair of shoulders or knees
    triangulated the wrong way round hangs correct limbs from the wrong side."""
    pairs = left_right_pairs(layout)
    swapped = np.zeros((points.shape[0], len(pairs)), bool)
    allowed = np.ones_like(swapped) if contested is None else np.asarray(contested, bool)
    levels = limb_levels(layout)
    if not levels or not allowed.any() or not convertible(BLAZEPOSE33, layout):
        return swapped
    fixed = np.array(points, np.float64, copy=True)
    scale = median_scale(bone_ratios(fixed, layout)) if body_scale is None else body_scale
    left: np.ndarray | None = None           # body_left, once a level needs it
    # a torso pair the wrong way round with its limbs (most views of the shoulders, elbows
    # and wrists confused alike) leaves no bone misfit: its handedness alone decides
    torso = torso_pairs(layout)                               # shoulders, hips (pair indices)
    if allowed[:, torso].any():
        left = body_left(fixed, layout)
        with np.errstate(invalid="ignore"):
            mirrored = (handedness(fixed, left, pairs[torso]) < TORSO_EXCHANGED) \
                & allowed[:, torso]
        if mirrored.any():
            _exchange(fixed, swapped, pairs, mirrored, torso)
    for depth, ((children, parents), (ends, starts, canonical)) in enumerate(
            zip(levels, _limb_bones(layout), strict=True)):
        if not (allowed[:, children].any() or allowed[:, parents].any()):
            continue
        expected = scale[:, None] * canonical                                     # (P, C)
        cross = _crossed_bones(fixed, ends, starts, expected)
        if not cross.any():
            continue
        left = body_left(fixed, layout) if left is None else left
        sides = (fixed, left, pairs[parents], pairs[children], depth == 0)
        parent_wrong, child_wrong = _which_is_wrong(*sides)
        to_parents = cross & parent_wrong & allowed[:, parents]
        if to_parents.any():     # then the level again, against its parents as now decided
            _exchange(fixed, swapped, pairs, to_parents, parents)
            cross = _crossed_bones(fixed, ends, starts, expected)
            parent_wrong, child_wrong = _which_is_wrong(*sides)
        _exchange(fixed, swapped, pairs, cross & child_wrong & ~parent_wrong
                  & allowed[:, children], children)
    return swapped


def _crossed_bones(points: np.ndarray, ends: np.ndarray, starts: np.ndarray,
                   expected: np.ndarray) -> np.ndarray:
    """(P, C) crossed_limbs_3d's test of one level: points (P, J, 3); ends, starts (4C,)
    the bones as labelled (left, right) and crossed (left child to right parent, right child
    to left parent), _limb_bones; expected (P, C) their lengths (m)."""
    n = expected.shape[1]
    with np.errstate(invalid="ignore"):
        misfit = np.abs(vector_norm(points[:, ends] - points[:, starts]).reshape(
            len(points), 4, n) - expected[:, None])                             # (P, 4, C)
        straight = misfit[:, 0] + misfit[:, 1]
        crossed = misfit[:, 2] + misfit[:, 3]
        return ((crossed < LIMB_GAIN * straight) & (straight > LIMB_MIN_MISFIT * expected)
                & (crossed < LIMB_MAX_FIT * expected))


def _which_is_wrong(points: np.ndarray, left: np.ndarray, parents: np.ndarray,
                    children: np.ndarray, torso: bool) -> tuple[np.ndarray, np.ndarray]:
    """(P, C) each, for crossed child / parent pairs (C, 2) of the bodies points (P, J, 3)
    whose left is left (P, 3): the parent pair is the exchanged one; the child is. Neither
    without the evidence (a body without a face: NaN), and below the torso the child only
    where its handedness is not clearly the better one (legs apart front to back have little
    handedness either way: a review found correct ankles exchanged under mislabelled
    knees, and every child of a faceless body exchanged)."""
    with np.errstate(invalid="ignore"):
        hand_p = handedness(points, left, parents)
        if torso:
            return hand_p < TORSO_EXCHANGED, hand_p > TORSO_AS_LABELLED
        hand_c = handedness(points, left, children)
        parent = hand_p < hand_c - HANDEDNESS_MARGIN
        return parent, ~parent & (hand_c < hand_p + CHILD_NOT_BETTER)


def _exchange(points: np.ndarray, swapped: np.ndarray, pairs: np.ndarray, chosen: np.ndarray,
              which: np.ndarray) -> None:
    """In place: for the people chosen (P, C), the pairs which (C,) (indices into pairs) of
    points (P, J, 3) exchanged and toggled in swapped (P, K); a pair named by several
    columns (a parent of several children) once."""
    pair_ids, column_of = np.unique(which, return_inverse=True)
    per_pair = np.zeros((chosen.shape[0], pair_ids.size), bool)
    for column, at in enumerate(column_of.tolist()):     # a level's few columns
        per_pair[:, at] |= chosen[:, column]
    person, at = np.nonzero(per_pair)
    k = pair_ids[at]
    swapped[person, k] ^= True
    a, b = pairs[k, 0], pairs[k, 1]
    points[person, a], points[person, b] = points[person, b], points[person, a]


def exchange_pairs(values: np.ndarray, pairs: np.ndarray, swapped: np.ndarray) -> np.ndarray:
    """values (..., J, ...) per joint on axis swapped.ndim - 1, e.g. keypoints (P, J, 2) or
    scores (P, J) with swapped (P, K): a copy with both joints of each flagged pair exchanged."""
    values, swapped = np.asarray(values), np.asarray(swapped, bool)
    lead = values.shape[:swapped.ndim - 1]
    if swapped.shape[:-1] != lead:
        swapped = np.broadcast_to(swapped, lead + swapped.shape[-1:])
    out = np.array(values, copy=True)
    if not swapped.any():
        return out
    found = np.nonzero(swapped)
    rows, k = tuple(found[:-1]), found[-1]       # indices into the leading axes, pair
    at_a, at_b = rows + (pairs[k, 0],), rows + (pairs[k, 1],)
    out[at_a], out[at_b] = values[at_b], values[at_a]
    return out


def exchange_detections(detections: Detections2D, pairs: np.ndarray, swapped: np.ndarray
                        ) -> Detections2D:
    """detections with the flagged pairs (swapped (P, K) bool) exchanged in every per-joint
    array: keypoints, scores, normalised and the detector's own metric 3D (world). The 3D is
    relabelled, not mirrored in depth: on the demo's whole-body confusions BlazePose's world
    landmarks with the labels exchanged lie 133 mm (root-relative mean) from the 4-camera
    reference, mirrored in depth as well 231 mm (benchmarks/results_onecam.md)."""
    swapped = np.asarray(swapped, bool)
    if not swapped.any():
        return detections

    def exchanged(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else exchange_pairs(values, pairs, swapped)

    return replace(detections, keypoints=exchange_pairs(detections.keypoints, pairs, swapped),
                   scores=exchange_pairs(detections.scores, pairs, swapped),
                   world=exchanged(detections.world),
                   normalised=exchanged(detections.normalised))


def unswap_left_right(arrays: CameraArrays, normalized: np.ndarray, scores: np.ndarray,
                      points: np.ndarray, pairs: np.ndarray, threshold_px: float, *,
                      metric: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Undo 2D detections' left/right confusions against a consensus 3D.

    normalized (P, V, J, 2), scores (P, V, J): each person's views; points (P, J, 3) their
    robust triangulation (metres); pairs (K, 2) left/right joint indices. In a view where both
    joints of a pair are seen and exchanging their labels cuts the pair's summed
    reprojection error (above threshold_px / 2 pixels) by 30 %, the two are exchanged
    (keypoints and scores). Returns the corrected normalized, scores, and swapped (P, V, K).
    metric: errors and threshold_px in metres at the joints' depth (triangulation._errors_px)
    instead.
    """
    swapped = swapped_against_3d(arrays, normalized, scores, points, pairs, threshold_px, metric)
    return (exchange_pairs(normalized, pairs, swapped), exchange_pairs(scores, pairs, swapped),
            swapped)


def swapped_against_3d(arrays: CameraArrays, normalized: np.ndarray, scores: np.ndarray,
                       points: np.ndarray, pairs: np.ndarray, threshold_px: float,
                       metric: bool, chains: np.ndarray | None = None) -> np.ndarray:
    """unswap_left_right's test alone: (P, V, K) bool, the pairs to exchange. As
    crossed_pairs on the projections, with the pairs' joints gathered before they are
    projected (only the 4K distances' expected joints; no gather of projections and depths).
    chains (K,): pair_chains of the layout; with them, a view whose exchanged pairs span two
    chains (the whole person the wrong way round) has its other pairs exchanged too, but
    those whose labels fit WHOLE_VIEW_KEEP times better as they are."""
    obs, at = _four_ways(np.asarray(pairs, np.intp).tobytes())
    cam = arrays.rotate(points[:, at]).swapaxes(1, 2) + arrays.translations[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):                 # (P, V, 4K, 3)
        d = vector_norm(normalized[:, :, obs] - cam[..., :2] / cam[..., 2:3])    # (P, V, 4K)
    # in pixels (normalised distances times each view's focal length) or, metric, in metres
    # at the depth of the joint each distance is measured to
    d = d * (cam[..., 2] if metric else arrays.focal[None, :, None])
    straight, crossed = _pair_sums(d, len(pairs))
    swapped = _crossed(straight, crossed, 0.7, 0.5 * threshold_px)                # (P, V, K)
    if chains is not None and swapped.any():
        # a view exchanged in two chains (arm and leg, or face) shows the whole person the
        # wrong way round: the real detector's exchanges come whole far more often than by
        # limb (error_model: of 55 person-views with one, 29 had 5-6 of the 6 pairs), and a
        # pair seen nearly edge-on cannot show it (the shoulders of a person side-on). Its
        # other pairs follow unless their labels fit WHOLE_VIEW_KEEP times better as they are
        # (two limbs confused alone, the rest of the body clearly right)
        in_chain = _chain_members(np.asarray(chains, np.intp).tobytes())          # (K, C)
        whole = row_counts(swapped @ in_chain > 0) >= 2                           # (P, V)
        if whole.any():
            with np.errstate(invalid="ignore"):
                swapped |= whole[..., None] & (crossed < WHOLE_VIEW_KEEP * straight)
    if swapped.any():             # both scores >= 0 (minimum: NaN where either is NaN)
        swapped &= np.minimum(scores[:, :, pairs[:, 0]], scores[:, :, pairs[:, 1]]) >= 0
    return swapped
