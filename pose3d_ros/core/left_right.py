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

from .array_ops import vector_norm
from .camera import CameraArrays
from .layouts import JointLayout
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


# Limb chains by joint-name suffix: a pair's parent pair (towards the torso).
_LIMB_PARENT = {"elbow": "shoulder", "wrist": "elbow", "pinky": "wrist", "index": "wrist",
                "thumb": "wrist", "knee": "hip", "ankle": "knee", "heel": "ankle",
                "foot_index": "ankle"}


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
                       metric: bool) -> np.ndarray:
    """unswap_left_right's test alone: (P, V, K) bool, the pairs to exchange. As
    crossed_pairs on the projections, with the pairs' joints gathered before they are
    projected (only the 4K distances' expected joints; no gather of projections and depths)."""
    obs, at = _four_ways(np.asarray(pairs, np.intp).tobytes())
    cam = arrays.rotate(points[:, at]).swapaxes(1, 2) + arrays.translations[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):                 # (P, V, 4K, 3)
        d = vector_norm(normalized[:, :, obs] - cam[..., :2] / cam[..., 2:3])    # (P, V, 4K)
    # in pixels (normalised distances times each view's focal length) or, metric, in metres
    # at the depth of the joint each distance is measured to
    d = d * (cam[..., 2] if metric else arrays.focal[None, :, None])
    swapped = _crossed(*_pair_sums(d, len(pairs)), 0.7, 0.5 * threshold_px)     # (P, V, K)
    if swapped.any():             # both scores >= 0 (minimum: NaN where either is NaN)
        swapped &= np.minimum(scores[:, :, pairs[:, 0]], scores[:, :, pairs[:, 1]]) >= 0
    return swapped
