"""Cross-view association: which 2D detections in different cameras are the same person.

1. Affinity between every pair of detections of every pair of cameras: the confidence-weighted
   mean, over the joints both detections see, of the 3D distance between the two viewing rays
   (metres; the common perpendicular of two skew lines). Joint pairs whose closest points lie
   behind a camera count as the full `max_ray_distance_m`. Vectorised over detections x joints
   per camera pair.
2. Global matching: agglomerative clustering of detections over all cameras. Candidate merges
   are taken cheapest first; two clusters merge only if they share no camera (one detection
   per camera per person) and the complete linkage (largest affinity over all detection pairs
   between them that have one) is below `max_ray_distance_m`: a newcomer must agree with
   every member, so a false detection cannot ride on one lucky match. People seen by only some
   cameras are clusters with fewer members; false detections stay singletons and are dropped
   when `min_views` > 1.
3. Optional check: each cluster is triangulated robustly (outlier threshold
   `max_reprojection_px`) and a member whose joints are mostly rejected as outlier views is
   split off.

The result is an `Association` with members (P_out, V): detection index per camera or -1.
`gather()` turns it into (P_out, V, J, 2) keypoints and (P_out, V, J) scores for triangulate().
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .camera import CameraModel
from .types import Detections2D


@dataclass
class Association:
    """members: (P_out, V) int, index of the person's detection in each camera, -1 if unseen.
    cost: (P_out,) mean ray distance in metres over the cluster's pairs (NaN for single view).
    """

    members: np.ndarray
    cost: np.ndarray

    @property
    def num_people(self) -> int:
        return int(self.members.shape[0])


def ray_distances(center_a: np.ndarray, rays_a: np.ndarray, center_b: np.ndarray,
                  rays_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances between viewing rays of corresponding joints.

    center_a, center_b: (3,) camera centres; rays_a: (Pa, J, 3), rays_b: (Pb, J, 3) unit rays
    in the rig frame (CameraModel.pixel_rays). Returns (dist, in_front): (Pa, Pb, J) metres,
    NaN where either ray is NaN; in_front tells whether the closest points of the two rays lie
    in front of both cameras.
    """
    da = rays_a[:, None]  # (Pa, 1, J, 3)
    db = rays_b[None]  # (1, Pb, J, 3)
    baseline = center_b - center_a
    cross = np.cross(da, db)
    norm = np.linalg.norm(cross, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.abs(cross @ baseline) / norm
        # closest-point parameters s (along da from ca) and u (along db from cb)
        dadb = np.sum(da * db, axis=-1)
        denom = 1 - dadb ** 2
        s = (da @ baseline - dadb * (db @ baseline)) / denom
        u = (dadb * (da @ baseline) - db @ baseline) / denom
    parallel = norm < 1e-9  # nearly parallel rays: distance from centre b to ray a
    if np.any(parallel):
        along = np.broadcast_to(da, cross.shape)
        perp = np.linalg.norm(np.cross(along, baseline), axis=-1)
        dist = np.where(parallel, perp, dist)
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
    counts = [d.num_people for d in detections]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(int)
    n = int(offsets[-1])
    dist = np.full((n, n), np.inf)
    camera_of = np.repeat(np.arange(len(cameras)), counts)
    cap = 2.0 * max_ray_distance_m
    rays = [cam.pixel_rays(np.asarray(det.keypoints, np.float64))
            for cam, det in zip(cameras, detections, strict=True)]
    weights = [np.where(np.isfinite(det.keypoints[..., 0]) & (det.scores >= min_score),
                        det.scores, 0.0) for det in detections]
    centers = [cam.center for cam in cameras]
    for a in range(len(cameras)):
        for b in range(a + 1, len(cameras)):
            if counts[a] == 0 or counts[b] == 0:
                continue
            d, front = ray_distances(centers[a], rays[a], centers[b], rays[b])
            w = np.minimum(weights[a][:, None], weights[b][None])
            w = np.where(np.isfinite(d), w, 0.0)
            d = np.where(front & np.isfinite(d), np.minimum(d, cap), cap)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = (w * d).sum(-1) / w.sum(-1)
            mean = np.where((w > 0).sum(-1) >= min_joints, mean, np.inf)
            dist[offsets[a]:offsets[a + 1], offsets[b]:offsets[b + 1]] = mean
            dist[offsets[b]:offsets[b + 1], offsets[a]:offsets[a + 1]] = mean.T
    return dist, camera_of


def associate(cameras: Sequence[CameraModel], detections: Sequence[Detections2D], *,
              max_ray_distance_m: float = 0.15, min_views: int = 2, min_score: float = 0.3,
              min_joints: int = 3, max_reprojection_px: float | None = None) -> Association:
    """Group per-camera detections into people (see module docstring).

    cameras: V cameras of one rig; detections: V Detections2D (same joint layout).
    max_ray_distance_m: the largest mean ray-to-ray distance for two detections to be one
        person (metres; 0.1-0.2 suits 2D keypoint errors of a few cm at a few metres).
    min_views: people seen by fewer cameras are dropped (1 keeps singletons).
    max_reprojection_px: if set, each group is triangulated robustly with this outlier
        threshold (pixels) and members whose confident joints are mostly rejected as outlier
        views are removed from the group.
    Returns an Association, people sorted by number of views (descending) then cost.
    """
    if len(cameras) != len(detections):
        raise ValueError(f"{len(cameras)} cameras but {len(detections)} detection sets")
    layouts = {d.layout.name for d in detections}
    if len(layouts) > 1:
        raise ValueError(f"detections use different joint layouts: {sorted(layouts)}")
    n_views = len(cameras)
    dist, camera_of = affinity_matrix(cameras, detections, min_score=min_score,
                                      min_joints=min_joints, max_ray_distance_m=max_ray_distance_m)
    n = dist.shape[0]
    local = np.concatenate([np.arange(d.num_people) for d in detections]).astype(int) \
        if n else np.zeros(0, int)
    cluster = np.arange(n)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    iu, ju = np.triu_indices(n, 1)
    cand = np.flatnonzero(dist[iu, ju] < max_ray_distance_m)
    order = cand[np.argsort(dist[iu, ju][cand], kind="stable")]
    for k in order:
        ca, cb = cluster[iu[k]], cluster[ju[k]]
        if ca == cb:
            continue
        ma, mb = members[ca], members[cb]
        if set(camera_of[ma]) & set(camera_of[mb]):
            continue
        link = dist[np.ix_(ma, mb)]
        finite = link[np.isfinite(link)]
        if finite.size == 0 or finite.max() >= max_ray_distance_m:
            continue
        members[ca] = ma + mb
        cluster[mb] = ca
        del members[cb]

    groups = [m for m in members.values() if len(m) >= min_views]
    rows, costs = [], []
    for m in groups:
        row = np.full(n_views, -1, int)
        row[camera_of[m]] = local[m]
        rows.append(row)
        if len(m) > 1:
            sub = dist[np.ix_(m, m)]
            costs.append(float(sub[np.isfinite(sub)].mean()) if np.isfinite(sub).any()
                         else np.nan)
        else:
            costs.append(np.nan)
    out = Association(np.array(rows, int).reshape(-1, n_views), np.array(costs, float))
    if max_reprojection_px is not None and out.num_people:
        out = _prune_by_reprojection(cameras, detections, out, max_reprojection_px, min_views,
                                     min_score)
    views = (out.members >= 0).sum(1)
    order = np.lexsort((np.nan_to_num(out.cost, nan=np.inf), -views))
    return Association(out.members[order], out.cost[order])


def gather(detections: Sequence[Detections2D], association: Association
           ) -> tuple[np.ndarray, np.ndarray]:
    """Associated detections as arrays for triangulate().

    Returns keypoints (P_out, V, J, 2) raw pixels (NaN where unseen) and scores (P_out, V, J)
    (0 where unseen).
    """
    n_views = len(detections)
    if association.members.shape[1:] != (n_views,):
        raise ValueError(f"association has {association.members.shape[1:]} views, "
                         f"detections {n_views}")
    j = detections[0].layout.num_joints
    p = association.num_people
    kp = np.full((p, n_views, j, 2), np.nan)
    sc = np.zeros((p, n_views, j))
    for v, det in enumerate(detections):
        idx = association.members[:, v]
        seen = idx >= 0
        kp[seen, v] = det.keypoints[idx[seen]]
        sc[seen, v] = det.scores[idx[seen]]
    return kp, sc


def _prune_by_reprojection(cameras, detections, assoc: Association, max_px: float,
                           min_views: int, min_score: float) -> Association:
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
