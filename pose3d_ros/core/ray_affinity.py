"""Affinity between 2D detections of different cameras: the distance between their viewing rays.

Step 1 of cross-view association (core.association): for every pair of detections of two
different cameras, the confidence-weighted mean over the joints both see of the 3D distance
between the two viewing rays (metres; the common perpendicular of two skew lines), computed for
all pairs of one frame in one batched operation. Joint pairs whose closest points lie behind a
camera count as the full cap.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

from .array_ops import cross3, finite_rows
from .camera import CameraArrays, CameraModel
from .types import Detections2D


def ray_distances(center_a: np.ndarray, rays_a: np.ndarray, center_b: np.ndarray,
                  rays_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances between viewing rays of corresponding joints, element by element.

    center_a, center_b: (..., 3) ray origins (camera centres) in the rig frame, metres;
    rays_a, rays_b: (..., J, 3) unit rays (CameraModel.pixel_rays); leading dimensions
    broadcast. Returns (dist, in_front): (..., J) metres, NaN where either ray is NaN; in_front
    tells whether the closest points of the two rays lie in front of both cameras.
    """
    baseline = (np.asarray(center_b) - np.asarray(center_a))[..., None, :]  # (..., 1, 3)
    cross = cross3(rays_a, rays_b)
    norm = np.sqrt(np.einsum("...i,...i->...", cross, cross))
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.abs(np.einsum("...i,...i->...", cross, baseline)) / norm
        # closest-point parameters s (along rays_a from a) and u (along rays_b from b)
        ab = np.einsum("...i,...i->...", rays_a, rays_b)
        a_base = np.einsum("...i,...i->...", rays_a, baseline)
        b_base = np.einsum("...i,...i->...", rays_b, baseline)
        denom = 1 - ab ** 2
        s = (a_base - ab * b_base) / denom
        u = (ab * a_base - b_base) / denom
    parallel = norm < 1e-9  # nearly parallel rays: distance from centre b to ray a
    if parallel.any():
        perp = cross3(rays_a, baseline)
        dist = np.where(parallel, np.sqrt(np.einsum("...i,...i->...", perp, perp)), dist)
    return dist, (s > 0) & (u > 0)


def affinity_matrix(cameras: Sequence[CameraModel], detections: Sequence[Detections2D], *,
                    min_score: float = 0.3, min_joints: int = 3,
                    max_ray_distance_m: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise mean ray distance between all detections of all cameras.

    Per joint the distance is clipped at 2 x max_ray_distance_m (and set to that where the
    rays meet behind a camera), so one wild joint cannot dominate the mean.
    Returns (dist, camera_of): dist (N, N) metres (inf where no affinity: same camera, fewer
    than min_joints shared joints), camera_of (N,) camera index of each detection, with the
    N detections ordered camera by camera.
    """
    normalized = [cam.undistort(np.asarray(det.keypoints, np.float64))
                  for cam, det in zip(cameras, detections, strict=True)]
    return ray_affinity(CameraArrays.from_cameras(cameras), normalized,
                     [det.scores for det in detections], min_score=min_score,
                     min_joints=min_joints, max_ray_distance_m=max_ray_distance_m)


@dataclass(frozen=True)
class StackedDetections:
    """All cameras' detections of one frame, camera by camera: xy (N, J, 2) normalised
    coordinates, score (N, J), camera_of (N,) camera index, local (N,) index within the
    camera, offset (V,) row of each camera's first detection. The arrays are not modified
    after construction: per-detection quantities several stages of a frame use (usable,
    memo) are computed once."""

    xy: np.ndarray
    score: np.ndarray
    camera_of: np.ndarray
    local: np.ndarray
    offset: np.ndarray
    _memo: dict[tuple[str, float], np.ndarray] = field(default_factory=dict, init=False,
                                                       repr=False, compare=False)

    def usable(self, min_score: float) -> np.ndarray:
        """(N, J) bool: the keypoints that are finite and scored >= min_score (computed once
        per min_score; do not modify)."""
        return self.memo("usable", min_score,
                         lambda: finite_rows(self.xy) & (self.score >= min_score))

    def memo(self, name: str, min_score: float, make: Callable[[], np.ndarray]) -> np.ndarray:
        """make()'s array, computed on the first call for (name, min_score) and kept with the
        detections (do not modify): per-detection quantities association's stages share."""
        key = (name, float(min_score))
        out = self._memo.get(key)
        if out is None:
            out = self._memo[key] = make()
        return out

    @classmethod
    def of(cls, normalized: Sequence[np.ndarray], scores: Sequence[np.ndarray]
           ) -> StackedDetections:
        """From per-camera keypoints (P_v, J, 2) and scores (P_v, J)."""
        counts = [int(k.shape[0]) for k in normalized]
        n_joints = normalized[0].shape[1] if len(normalized) else 0
        if sum(counts):
            return cls.stacked(np.concatenate(normalized), np.concatenate(scores), counts)
        return cls.stacked(np.zeros((0, n_joints, 2)), np.zeros((0, n_joints)), counts)

    @classmethod
    def stacked(cls, xy: np.ndarray, score: np.ndarray, counts: Sequence[int]
                ) -> StackedDetections:
        """From keypoints (N, J, 2) and scores (N, J) already stacked camera by camera,
        counts[v] of camera v (e.g. undistortion.undistort_stacked's)."""
        per_camera = np.asarray(counts, int)
        camera_of = np.arange(len(per_camera)).repeat(per_camera)
        offset = np.concatenate([[0], np.cumsum(per_camera)[:-1]]).astype(int)
        return cls(xy.astype(np.float64, copy=False), score.astype(np.float64, copy=False),
                   camera_of, np.arange(camera_of.size) - offset[camera_of], offset)


def ray_affinity(arrays: CameraArrays, normalized: Sequence[np.ndarray],
              scores: Sequence[np.ndarray], *, min_score: float, min_joints: int,
              max_ray_distance_m: float, stacked: StackedDetections | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """affinity_matrix() on undistorted normalised keypoints (per camera (P_v, J, 2)), for
    all pairs of detections of all cameras in one batched computation (`stacked`: the same
    keypoints already stacked, when the caller has them)."""
    return stacked_affinity(arrays, StackedDetections.of(normalized, scores)
                            if stacked is None else stacked, min_score=min_score,
                            min_joints=min_joints, max_ray_distance_m=max_ray_distance_m)


def stacked_affinity(arrays: CameraArrays, stacked: StackedDetections, *, min_score: float,
                     min_joints: int, max_ray_distance_m: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """ray_affinity() of the frame's detections stacked camera by camera: all pairs in one
    batch when no camera has more than BATCH_MAX_PER_CAMERA detections, else camera block by
    camera block (_block_affinity)."""
    camera_of = stacked.camera_of
    n = int(camera_of.size)
    if n == 0:
        return np.full((0, 0), np.inf), camera_of
    xy, score = stacked.xy, stacked.score                                # (N, J, 2), (N, J)
    rays = arrays.rays(xy, camera_of)                                    # (N, J, 3)
    weight = np.where(np.isfinite(xy[..., 0]) & (score >= min_score), score, 0.0).T  # (J, N)
    cap = 2.0 * max_ray_distance_m
    ends = stacked.offset.tolist() + [n]                 # each camera's rows: ends[v]:ends[v+1]
    if max(b - a for a, b in zip(ends[:-1], ends[1:], strict=True)) > BATCH_MAX_PER_CAMERA:
        return (_block_affinity(arrays.centers, camera_of, stacked.offset, rays, weight, cap,
                                min_joints), camera_of)
    # every pair of detections of two different cameras, first index in the lower camera
    layout = _pair_layout(np.asarray(camera_of, np.intp).tobytes(), arrays.num_cameras)
    first, second = layout[0], layout[1]
    d, front = _pair_ray_distances(arrays.centers, camera_of, rays, first, second,
                                   layout)                                       # (J, K)
    pair_mean = _mean_over_joints(d, front, weight[:, first], weight[:, second], cap,
                                  min_joints)
    mean = np.full((n, n), np.inf)
    flat = mean.reshape(-1)                              # a view: (first, second) and mirror
    flat[layout[2]] = pair_mean
    flat[layout[3]] = pair_mean
    return mean, camera_of


# Frames whose cameras hold at most this many detections each (the package's detectors cap
# people at 10-20) take all detection pairs in one batch, gathered from per-joint (N, N)
# products of the rays (_pair_ray_distances: the cheapest on a few dozen detections); more
# (a foreign detector's false positives) go in blocks of about BLOCK_PAIRS detection pairs
# (_block_affinity), with the same affinities to rounding (1e-15 m): batched, 8 cameras x
# 128 detections took 0.6-1.5 s and 750 MB per frame set (the (J, N, N) products and pair
# gathers outgrow the caches, numpy's threaded BLAS stalls on a loaded CPU), in blocks
# 0.1-0.15 s and 35 MB (benchmarks/bench_association_scaling.py).
BATCH_MAX_PER_CAMERA = 20
BLOCK_PAIRS = 4096


def _mean_over_joints(dist: np.ndarray, front: np.ndarray, weight_a: np.ndarray,
                      weight_b: np.ndarray, cap: float, min_joints: int) -> np.ndarray:
    """The affinity of detection pairs from their joints' ray distances dist and in_front
    (J, ...) and both detections' joint weights (J, ..., broadcast): the mean over axis 0
    weighted by the smaller weight, each distance clipped at cap (cap where the rays meet
    behind a camera); inf with fewer than min_joints joints weighted in both."""
    w = np.where(np.isfinite(dist), np.minimum(weight_a, weight_b), 0.0)
    d = np.where(front, np.fmin(dist, cap), cap)             # cap where dist is not finite
    with np.errstate(invalid="ignore", divide="ignore"):
        pair_mean = (w * d).sum(0) / w.sum(0)
    return np.where((w > 0).sum(0) >= min_joints, pair_mean, np.inf)


def _block_affinity(centers: np.ndarray, camera_of: np.ndarray, offset: np.ndarray,
                    rays: np.ndarray, weight: np.ndarray, cap: float, min_joints: int
                    ) -> np.ndarray:
    """stacked_affinity()'s (N, N) matrix block by block: each camera's detections (rows)
    against the detections of the cameras after it (columns; contiguous, the frame is stacked
    camera by camera), in blocks of about BLOCK_PAIRS pairs, each from per-joint matrix
    products of its own rows and columns (_pair_ray_distances' Pluecker formulation).
    centers (V, 3), camera_of (N,), offset (V,) first row of each camera, rays (N, J, 3),
    weight (J, N) the joints' weights."""
    n = camera_of.size
    by_joint = np.ascontiguousarray(rays.transpose(1, 0, 2))             # (J, N, 3)
    moments = cross3(centers[camera_of], by_joint)                       # (J, N, 3) c x d
    # (d, m) . (m, d) = d_a . m_b + m_a . d_b, the reciprocal product of two lines
    lines = np.concatenate([by_joint, moments], axis=-1)                 # (J, N, 6)
    swapped = np.concatenate([moments, by_joint], axis=-1).transpose(0, 2, 1)  # (J, 6, N)
    to_center = by_joint @ centers.T                                     # (J, N, V) d_i . c_v
    # d_i . (c_v - c_i): from detection i's camera to camera v, along its ray
    to_other = to_center - to_center[:, np.arange(n), camera_of][..., None]
    mean = np.full((n, n), np.inf)
    ends = np.append(offset, n)
    for a in range(len(offset)):
        start, stop = int(ends[a]), int(ends[a + 1])
        if start == stop or stop == n:
            continue
        rows_step = min(stop - start, math.isqrt(BLOCK_PAIRS))      # ~square blocks
        cols_step = max(1, BLOCK_PAIRS // rows_step)
        for r0 in range(start, stop, rows_step):
            rows = slice(r0, min(r0 + rows_step, stop))
            for c0 in range(stop, n, cols_step):
                cols = slice(c0, min(c0 + cols_step, n))
                cos = by_joint[:, rows] @ swapped[:, 3:, cols]               # (J, r, c)
                dist, front, parallel = _closest_points(
                    cos, lines[:, rows] @ swapped[:, :, cols],
                    np.take(to_other[:, rows], camera_of[cols], axis=2),   # d_a.(c_b - c_a)
                    to_other[:, cols, a][:, None])                         # d_b.(c_a - c_b)
                if parallel is not None:
                    j, p, q = np.nonzero(parallel)
                    perp = cross3(by_joint[j, rows.start + p],
                                  centers[camera_of[cols.start + q]] - centers[a])
                    dist[j, p, q] = np.sqrt((perp * perp).sum(-1))
                block = _mean_over_joints(dist, front, weight[:, rows, None],
                                          weight[:, None, cols], cap, min_joints)
                mean[rows, cols] = block
                mean[cols, rows] = block.T
    return mean


def _closest_points(cos: np.ndarray, reciprocal: np.ndarray, a_base: np.ndarray,
                    b_back: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Distance between two unit rays a and b (broadcast arrays) from cos = d_a . d_b, the
    reciprocal product d_a . m_b + d_b . m_a (moments m = c x d), a_base = d_a . (c_b - c_a)
    and b_back = -d_b . (c_b - c_a): returns dist (NaN where a ray is), in_front (the closest
    points lie in front of both cameras) and parallel, None or where the rays are nearly
    parallel (dist is not usable there: the caller sets the distance of centre b from ray
    a)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = 1 - cos * cos
        dist = np.abs(reciprocal) / np.sqrt(denom)
        # closest-point parameters s (along ray a from its centre) and u (along ray b) times
        # denom, which is > 0 but for nearly parallel rays: the same signs
        s = a_base + cos * b_back
        u = cos * a_base + b_back
        front = (s > 0) & (u > 0)
        parallel = denom < 1e-18
        if not parallel.any():
            return dist, front, None
        s, u, denom = s[parallel], u[parallel], denom[parallel]
        front[parallel] = (s / denom > 0) & (u / denom > 0)
    return dist, front, parallel


# A frame's layout repeats while the cameras see the same numbers of people; the entries
# grow with the square of the detections (1.2 MB at 16 cameras x 20 people: 128 of them held
# 158 MB, crowd audit), so only the last few are kept.
@lru_cache(maxsize=16)
def _pair_layout(camera_of: bytes, n_views: int) -> tuple[np.ndarray, ...]:
    """Index arrays of a frame's detection pairs that depend only on how many detections
    each camera has (camera_of (N,) intp as bytes), cached (read-only): first, second (K,)
    the pairs of two cameras (first in the lower camera); pair, mirror (K,) flat indices of
    (first, second) and (second, first) in an (N, N) matrix; a_to_b, b_to_a (K,) flat
    indices of (first, camera of second) and (second, camera of first) in an (N, V) matrix;
    own (N,) of (i, camera of i) in (N, V)."""
    cam = np.frombuffer(camera_of, np.intp)
    n = cam.size
    first, second = np.nonzero(cam[:, None] < cam[None])
    out = (first, second, first * n + second, second * n + first,
           first * n_views + cam[second], second * n_views + cam[first],
           np.arange(n) * n_views + cam)
    for index in out:
        index.flags.writeable = False
    return out


def _pair_ray_distances(centers: np.ndarray, camera_of: np.ndarray, rays: np.ndarray,
                        first: np.ndarray, second: np.ndarray,
                        layout: tuple[np.ndarray, ...] | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """ray_distances() of the detection pairs (first[k], second[k]) (K,), joint by joint, from
    per-detection quantities: centers (V, 3) camera centres, camera_of (N,) each detection's
    camera, rays (N, J, 3) unit rays. Returns (dist, in_front), both (J, K).

    No pairwise vector arithmetic: the common perpendicular of two rays is
    |d_a . m_b + d_b . m_a| / |d_a x d_b| with the moments m = c x d (Pluecker coordinates)
    and |d_a x d_b|^2 = 1 - (d_a . d_b)^2 for unit rays; the dot products of all detections'
    rays and moments are per joint (N, N) matrix products, and the closest-point parameters
    need d_a . (c_b - c_a), read from the rays' dot products with every camera centre.
    layout: _pair_layout of camera_of (the pairs' index arrays), when the caller has it."""
    n, n_joints = rays.shape[:2]
    v = centers.shape[0]
    if layout is None:
        layout = _pair_layout(np.asarray(camera_of, np.intp).tobytes(), v)
    pair, mirror, a_to_b, b_to_a, own = layout[2:]
    by_joint = rays.transpose(1, 0, 2)                                   # (J, N, 3)
    moments = cross3(centers[camera_of], by_joint)                       # (J, N, 3) c x d
    ab = (by_joint @ by_joint.transpose(0, 2, 1)).reshape(n_joints, n * n)  # d_i . d_j
    dm = (by_joint @ moments.transpose(0, 2, 1)).reshape(n_joints, n * n)   # d_i . m_j
    cos = ab[:, pair]                                                    # (J, K) d_a . d_b
    to_center = by_joint @ centers.T                                     # (J, N, V) d_i . c_v
    # d_i . (c_v - c_i): from detection i's camera to camera v, along its ray
    to_other = (to_center - to_center.reshape(n_joints, -1)[:, own][..., None]).reshape(
        n_joints, -1)
    a_base = to_other[:, a_to_b]                                         # d_a . (c_b - c_a)
    b_back = to_other[:, b_to_a]                                         # -d_b . (c_b - c_a)
    dist, front, parallel = _closest_points(cos, dm[:, pair] + dm[:, mirror], a_base, b_back)
    if parallel is not None:      # nearly parallel rays: distance from centre b to ray a
        j, k = np.nonzero(parallel)
        perp = cross3(rays[first[k], j], centers[camera_of[second[k]]]
                      - centers[camera_of[first[k]]])
        dist[j, k] = np.sqrt((perp * perp).sum(-1))
    return dist, front
