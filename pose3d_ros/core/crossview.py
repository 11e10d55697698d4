"""People across uncalibrated views, by epipolar consistency accumulated over time, for
self-calibration with several people in view.

Without extrinsics, detections cannot be matched by rays (association.py needs a calibrated
rig). What is known: intrinsics, and that the same person seen by two cameras gives
correspondences (frames x joints) obeying ONE essential matrix per camera pair, while two
different people moving independently do not. Steps:

1. Per-camera 2D tracks (tracking.ImageTracker). Tracks only propose geometry; they may mix
   people where people overlap in an image.
2. For every camera pair, the track pairs sharing the most confident joints each propose an
   essential matrix (RANSAC, OpenCV; RANSAC tolerates a track that is partly someone else).
   A proposal is scored on every frame: the detections of the two cameras are matched
   one-to-one (mutual best) on the median Sampson error of their joints, pairs below
   `max_epipolar_px` count with their number of joints. The proposal explaining the most
   joint correspondences wins. A wrong pairing can fit its own essential matrix (two people
   related by a translation look like a moved camera), but it does not explain the other
   people over time: the proposal that does is the true geometry.
3. Per frame, detections are grouped across cameras by complete linkage on those costs
   (cheapest first; groups merge only when they share no camera and every cross pair agrees).

The result is the (N, V, J, 2) input of selfcalib.self_calibrate: one sample per frame and
person seen by at least two cameras. Identities over time are not needed for calibration.
"""
from __future__ import annotations

import heapq
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import combinations
from typing import Sequence

import numpy as np

from .camera import CameraModel
from .detection.parallel import worker_count
from .tracking import ImageTracker, ImageTrackerParams

# What the errors of too little shared footage add (found by a review: eval_multiview
# --frames 1 ended in "no pair of 2D tracks ..." with no word of what to change)
MORE_FRAMES_HINT = ("; more frames in which the same people are seen by several cameras help "
                    "(a longer recording, or more --frames)")


@dataclass(frozen=True)
class CrossViewParams:
    """min_score: joints below this confidence are not used.
    track_gate: the 2D tracker's gate on the mean joint distance between frames, relative to
        the person's size in the image.
    fps: frame rate of the recording (the tracker's clock).
    min_shared_joints: fewest joint correspondences for a track pair to propose an essential
        matrix; max_proposals: the track pairs with the most correspondences propose, at most
        this many per camera pair.
    min_detection_joints: fewest shared confident joints for two detections to be compared.
    refits: how many times a proposal is refitted on everyone it matches.
    ransac_px: RANSAC threshold of the essential matrices (pixels).
    max_epipolar_px: two detections are the same person when the median Sampson error of
        their joints under the camera pair's essential matrix is below this (pixels).
    """

    min_score: float = 0.5
    track_gate: float = 0.3
    fps: float = 30.0
    min_shared_joints: int = 60
    min_detection_joints: int = 8
    max_proposals: int = 8
    refits: int = 2
    ransac_px: float = 8.0
    max_epipolar_px: float = 25.0


@dataclass(frozen=True)
class PairGeometry:
    """The winning essential matrix of cameras a, b (x_b^T E x_a = 0 in normalised
    coordinates), the median Sampson error (F, P, P) px of every detection pair under it (inf
    where they share too few joints), their shared confident joints (F, P, P), and how many
    joint correspondences it explains."""

    cameras: tuple[int, int]
    essential: np.ndarray
    costs: np.ndarray
    counts: np.ndarray
    explained: int


@dataclass(frozen=True)
class CrossViewPeople:
    """People associated across uncalibrated views.

    keypoints: (N, V, J, 2) raw pixels, one sample per frame and person seen by >= 2 cameras,
        NaN where a camera does not see them; scores: (N, V, J).
    frames: (N,) frame index of each sample.
    track_ids: (F, V, P) per-camera 2D track of every input detection, -1 where none.
    pairs: the geometry of every camera pair that shares people.
    camera_coverage: (V,) share of each camera's detections (those with enough confident
        joints to be compared) that ended up in a sample: a camera whose people the others do
        not explain is not calibrated by them.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    frames: np.ndarray
    track_ids: np.ndarray
    pairs: tuple[PairGeometry, ...]
    camera_coverage: np.ndarray


def track_people_2d(keypoints: np.ndarray, params: CrossViewParams) -> np.ndarray:
    """Per-camera 2D tracks (tracking.ImageTracker): keypoints (F, V, P, J, 2) pixels, NaN
    where absent -> track ids (F, V, P), -1 for absent detections; ids are per camera."""
    n_frames, n_views, n_people = keypoints.shape[:3]
    ids = np.full((n_frames, n_views, n_people), -1, np.int64)
    tracker_params = ImageTrackerParams(max_distance=params.track_gate, min_hits=1)
    for v in range(n_views):
        tracker = ImageTracker(tracker_params)
        for f in range(n_frames):
            present = np.flatnonzero(np.isfinite(keypoints[f, v, :, :, 0]).any(-1))
            track, _ = tracker.update(keypoints[f, v, present], f / params.fps)
            ids[f, v, present] = track
    return ids


def sampson_px(e: np.ndarray, xa: np.ndarray, xb: np.ndarray, focal: float, *,
               signed: bool = False) -> np.ndarray:
    """Sampson distance of normalised correspondences xa, xb (..., 2) under the essential
    matrix e (3, 3) (x_b^T e x_a = 0), in pixels of a camera with this focal length (1:
    normalised units); signed keeps the sign of x_b^T e x_a (a residual for least squares).
    A stack e (..., 3, 3) pairs with points (..., n, 2), the leading dimensions
    broadcasting as in a matrix product."""
    ha = np.concatenate([xa, np.ones_like(xa[..., :1])], axis=-1)
    hb = np.concatenate([xb, np.ones_like(xb[..., :1])], axis=-1)
    ea = ha @ np.swapaxes(e, -1, -2)       # epipolar lines in b
    eb = hb @ e                            # epipolar lines in a
    algebraic = np.sum(hb * ea, axis=-1)
    den = ea[..., 0] ** 2 + ea[..., 1] ** 2 + eb[..., 0] ** 2 + eb[..., 1] ** 2
    if signed:
        return algebraic / np.sqrt(np.maximum(den, 1e-18)) * focal
    return np.sqrt(algebraic ** 2 / np.maximum(den, 1e-18)) * focal


def _track_pair_correspondences(xy: np.ndarray, ok: np.ndarray, ids: np.ndarray, a: int, b: int,
                                ta: int, tb: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised correspondences (n, 2), (n, 2) of track ta in camera a and tb in camera b."""
    in_a = ids[:, a] == ta                              # (F, P)
    in_b = ids[:, b] == tb
    frames = np.flatnonzero(in_a.any(1) & in_b.any(1))
    pa = in_a[frames].argmax(1)
    pb = in_b[frames].argmax(1)
    both = ok[frames, a, pa] & ok[frames, b, pb]        # (n_frames, J)
    return xy[frames, a, pa][both], xy[frames, b, pb][both]


def _detection_costs(e: np.ndarray, xy: np.ndarray, ok: np.ndarray, a: int, b: int, focal: float,
                     min_joints: int) -> tuple[np.ndarray, np.ndarray]:
    """Median Sampson error (F, P, P) px between every detection of camera a and of camera b
    in each frame (inf where they share < min_joints confident joints), and the counts."""
    xa, xb = xy[:, a][:, :, None], xy[:, b][:, None, :]          # (F, P, 1, J, 2), (F, 1, P, ...)
    both = ok[:, a][:, :, None] & ok[:, b][:, None, :]           # (F, P, P, J)
    err = np.where(both, sampson_px(e, np.nan_to_num(xa), np.nan_to_num(xb), focal), np.nan)
    count = both.sum(-1)
    with np.errstate(all="ignore"):
        med = np.nanmedian(np.where(count[..., None] > 0, err, 0.0), axis=-1)
    return np.where(count >= min_joints, med, np.inf), count


def _matches(cost: np.ndarray, count: np.ndarray, threshold: float
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Per-frame one-to-one matches: detection pairs below `threshold` that are each other's
    cheapest (mutual best, all frames at once) -> frame, slot in a, slot in b (arrays) and
    the number of joint correspondences they hold."""
    with np.errstate(invalid="ignore"):
        mutual = ((cost == cost.min(2, keepdims=True)) & (cost == cost.min(1, keepdims=True))
                  & (cost < threshold))
    f_idx, pa, pb = np.nonzero(mutual)
    return f_idx, pa, pb, int(count[f_idx, pa, pb].sum())


def _essentials(xa: np.ndarray, xb: np.ndarray, threshold: float,
                max_points: int = 500) -> list[np.ndarray]:
    """RANSAC essential matrices (each 3x3) of normalised correspondences (n, 2), from at most
    `max_points` of them."""
    import cv2

    if len(xa) < 8:
        return []
    if len(xa) > max_points:  # evenly over time: enough for 5 unknowns, bounds the run time
        pick = np.linspace(0, len(xa) - 1, max_points).astype(int)
        xa, xb = xa[pick], xb[pick]
    # 300 iterations find a 5-point sample of inliers with 99.99 % odds when half of the
    # correspondences are inliers; proposals with fewer are wrong pairings anyway
    e, _ = cv2.findEssentialMat(xa, xb, np.eye(3), method=cv2.RANSAC, prob=0.999,
                                threshold=threshold, maxIters=300)
    return [] if e is None or e.shape[0] < 3 else list(e.reshape(-1, 3, 3))


def proposal_pairs(sizes: dict[tuple[int, int], int], max_proposals: int
                   ) -> list[tuple[tuple[int, int], ...]]:
    """The track pairs whose correspondences propose a camera pair's geometry: one track
    pair, or two disjoint ones together (the geometry must explain both people), the
    `max_proposals` with the most correspondences (sizes: {(track in a, track in b): count},
    in the order found), ties in that order, singles first. Exactly those of every
    combination, without building them all: a long recording's tracks break at every
    occlusion and every entry, and all combinations of two, built and kept, grew as the
    square of its length (4.3 GB at 6,400 frames: a review). Combinations are visited
    largest first and only while they can still be among the best."""
    pairs = list(sizes)
    rank = {pair: k for k, pair in enumerate(pairs)}
    # sort keys: (-size, 0, rank, 0) for one pair, (-size, 1, first rank, second rank) for two
    # (the order of a stable sort by size of the singles, then itertools.combinations' order)
    best = heapq.nsmallest(max_proposals, [(-sizes[pair], 0, rank[pair], 0) for pair in pairs])
    largest = sorted(pairs, key=lambda pair: -sizes[pair])
    for i, first in enumerate(largest):
        floor = -best[-1][0] if len(best) == max_proposals else 0    # the k-th best's size
        if i + 1 == len(largest) or sizes[first] + sizes[largest[i + 1]] < floor:
            break
        found: list[tuple[int, int, int, int]] = []
        for second in largest[i + 1:]:
            total = sizes[first] + sizes[second]
            if total < floor:
                break
            if first[0] != second[0] and first[1] != second[1]:
                low, high = sorted((rank[first], rank[second]))
                found.append((-total, 1, low, high))
        best = heapq.nsmallest(max_proposals, best + found)
    return [(pairs[key[2]],) if key[1] == 0 else (pairs[key[2]], pairs[key[3]])
            for key in best]


def _camera_pair_geometry(xy: np.ndarray, ok: np.ndarray, ids: np.ndarray, a: int, b: int,
                          focal: float, params: CrossViewParams) -> PairGeometry | None:
    """The essential matrix of cameras a, b that explains the most people (module docstring):
    each proposal is refitted on the correspondences of every person it matches, until the
    explained correspondences stop growing."""
    tracks_a = np.unique(ids[:, a][ids[:, a] >= 0])
    tracks_b = np.unique(ids[:, b][ids[:, b] >= 0])
    single = {}
    for ta in tracks_a:
        for tb in tracks_b:
            xa, xb = _track_pair_correspondences(xy, ok, ids, a, b, ta, tb)
            if len(xa) >= params.min_shared_joints:
                single[(ta, tb)] = (xa, xb)
    best: PairGeometry | None = None
    threshold = params.ransac_px / focal
    sizes = {pair: len(xa) for pair, (xa, _) in single.items()}
    for pairs in proposal_pairs(sizes, params.max_proposals):
        xa = np.concatenate([single[pair][0] for pair in pairs])
        xb = np.concatenate([single[pair][1] for pair in pairs])
        candidates = _essentials(xa, xb, threshold)
        current: PairGeometry | None = None
        for _ in range(params.refits + 1):
            improved: PairGeometry | None = None
            for e_k in candidates:
                cost, count = _detection_costs(e_k, xy, ok, a, b, focal,
                                               params.min_detection_joints)
                explained = _matches(cost, count, params.max_epipolar_px)[3]
                if explained > (improved.explained if improved else 0):
                    improved = PairGeometry((a, b), e_k, cost, count, explained)
            if improved is None or (current and improved.explained <= current.explained):
                break
            current = improved
            f_idx, pa, pb, _ = _matches(current.costs, current.counts, params.max_epipolar_px)
            both = ok[f_idx, a, pa] & ok[f_idx, b, pb]
            candidates = _essentials(xy[f_idx, a, pa][both], xy[f_idx, b, pb][both], threshold)
        if current is not None and (best is None or current.explained > best.explained):
            best = current
    return best


def _group_frame(costs: dict[tuple[int, int], np.ndarray], n_views: int, n_slots: int,
                 threshold: float) -> list[dict[int, int]]:
    """Complete-linkage grouping of one frame's detections across cameras: cheapest pairs
    first; two groups merge when they share no camera and every cross pair is below
    `threshold`. costs: {(a, b): (P, P)}. Returns groups as {camera: slot}."""
    groups: list[dict[int, int]] = []
    where: dict[tuple[int, int], int] = {}
    edges = sorted((c[i, j], a, i, b, j) for (a, b), c in costs.items()
                   for i, j in zip(*np.nonzero(c < threshold), strict=True))
    for _, a, i, b, j in edges:
        ga = where.setdefault((a, i), len(groups))
        if ga == len(groups):
            groups.append({a: i})
        gb = where.setdefault((b, j), len(groups))
        if gb == len(groups):
            groups.append({b: j})
        if ga == gb or set(groups[ga]) & set(groups[gb]):
            continue
        pairs = [(min(va, vb), max(va, vb), sa if va < vb else sb, sb if va < vb else sa)
                 for va, sa in groups[ga].items() for vb, sb in groups[gb].items()]
        if all((lo, hi) in costs and costs[(lo, hi)][s_lo, s_hi] < threshold
               for lo, hi, s_lo, s_hi in pairs):
            groups[ga].update(groups[gb])
            for v, s in groups[gb].items():
                where[(v, s)] = ga
            groups[gb] = {}
    return [g for g in groups if len(g) >= 2]


def associate_uncalibrated(keypoints: np.ndarray, scores: np.ndarray,
                           cameras: Sequence[CameraModel],
                           params: CrossViewParams = CrossViewParams()) -> CrossViewPeople:
    """People across views without extrinsics (module docstring).

    keypoints: (F, V, P, J, 2) raw pixels, P detection slots per camera and frame in any order,
        NaN where absent; scores: (F, V, P, J). cameras: V cameras with known intrinsics.
    Raises ValueError when no camera pair shares a person.
    """
    kp = np.asarray(keypoints, np.float64)
    sc = np.asarray(scores, np.float64)
    n_views = len(cameras)
    if kp.ndim != 5 or kp.shape[1] != n_views or kp.shape[-1] != 2 or sc.shape != kp.shape[:-1]:
        raise ValueError(f"keypoints must be (F, V={n_views}, P, J, 2) and scores (F, V, P, J); "
                         f"got {kp.shape} and {sc.shape}")
    ids = track_people_2d(kp, params)
    xy = np.stack([cam.undistort(kp[:, v]) for v, cam in enumerate(cameras)], axis=1)
    ok = np.all(np.isfinite(xy), -1) & (sc >= params.min_score)
    focal = np.array([np.sqrt(c.K[0, 0] * c.K[1, 1]) for c in cameras])
    # the camera pairs side by side, one per core (OpenCV's RANSAC and numpy release the
    # GIL; each pair's result is its own, so the same as one after another)
    camera_pairs = list(combinations(range(n_views), 2))
    with ThreadPoolExecutor(max_workers=min(worker_count(), len(camera_pairs) or 1)) as pool:
        found = list(pool.map(lambda ab: _camera_pair_geometry(
            xy, ok, ids, ab[0], ab[1], float(np.sqrt(focal[ab[0]] * focal[ab[1]])), params),
            camera_pairs))
    pairs = [geometry for geometry in found if geometry is not None and geometry.explained > 0]
    if not pairs:
        raise ValueError("no camera pair shares a person: no pair of 2D tracks has "
                         f">= {params.min_shared_joints} confident joints in common"
                         + MORE_FRAMES_HINT)
    n_frames, _, n_slots, n_joints = sc.shape
    samples_kp, samples_sc, frames = [], [], []
    grouped = np.zeros((n_frames, n_views, n_slots), bool)
    for f in range(n_frames):
        costs = {p.cameras: p.costs[f] for p in pairs}
        for group in _group_frame(costs, n_views, n_slots, params.max_epipolar_px):
            grouped[f, list(group), list(group.values())] = True
            sample_kp = np.full((n_views, n_joints, 2), np.nan)
            sample_sc = np.zeros((n_views, n_joints))
            for v, slot in group.items():
                sample_kp[v], sample_sc[v] = kp[f, v, slot], sc[f, v, slot]
            samples_kp.append(sample_kp)
            samples_sc.append(sample_sc)
            frames.append(f)
    if not frames:
        raise ValueError("no person is seen consistently by two cameras in any frame")
    comparable = ok.sum(-1) >= params.min_detection_joints                  # (F, V, P)
    coverage = (grouped & comparable).sum((0, 2)) / np.maximum(comparable.sum((0, 2)), 1)
    return CrossViewPeople(np.stack(samples_kp), np.stack(samples_sc), np.array(frames), ids,
                           tuple(pairs), coverage)
