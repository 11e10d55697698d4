"""Cross-view association with many detections per camera (a foreign detector's false
positives): the paths for large frames (the affinity block by block, the screens of _rejoin
and _merge) group exactly as the plain computations, and a frame's memory grows with the
square of its detections, not with joints times that."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from pose3d_ros.core import association, ray_affinity
from pose3d_ros.core.association import associate_normalized
from pose3d_ros.core.camera import CameraArrays, CameraModel
from pose3d_ros.core.layouts import COCO17
from pose3d_ros.core.ray_affinity import StackedDetections, stacked_affinity
from pose3d_ros.core.synthetic import observe, random_poses, random_rig

AFFINITY = {"min_score": 0.3, "min_joints": 3, "max_ray_distance_m": 0.15}


def _crowded_frame(num_cameras: int, people: int, phantoms: int, seed: int
                   ) -> tuple[CameraArrays, list[np.ndarray], list[np.ndarray]]:
    """One frame of a rig seeing `people` real people and, in each camera, `phantoms` false
    detections: partial bodies of people no other camera sees (human-shaped, so some agree
    across cameras by chance) and half-body duplicates of real detections a few pixels off.
    Returns the cameras and each camera's undistorted keypoints (P_v, J, 2) and scores."""
    rng = np.random.default_rng(seed)
    rig = random_rig(num_cameras, rng)
    poses = random_poses(1, people + phantoms * num_cameras, rng, layout=COCO17,
                         area_radius=3.0)[0]
    obs = observe(rig, poses, rng, noise_px=2.0, dropout=0.1)    # (P, V, J, 2), (P, V, J)
    normalized, scores = [], []
    for v, cam in enumerate(rig.cameras):
        phantom = people + phantoms * v + np.arange(phantoms)
        real = np.flatnonzero(np.isfinite(obs.keypoints[:people, v, :, 0]).sum(1) >= 5)
        kp = np.concatenate([obs.keypoints[real, v], obs.keypoints[phantom, v]])
        sc = np.concatenate([obs.scores[real, v], obs.scores[phantom, v]])
        part = rng.uniform(size=(len(kp), COCO17.num_joints)) < 0.3      # parts unseen
        part[:len(real)] = False
        dup = rng.choice(real, min(len(real), 3), replace=False)
        half = rng.uniform(size=(len(dup), COCO17.num_joints)) < 0.5
        kp = np.concatenate([kp, obs.keypoints[dup, v] + rng.normal(0, 6.0, (len(dup), 1, 2))])
        sc = np.concatenate([sc, 0.8 * obs.scores[dup, v]])
        part = np.concatenate([part, half])
        kp[part], sc[part] = np.nan, 0.0
        order = rng.permutation(len(kp))
        normalized.append(cam.undistort(kp[order]))
        scores.append(sc[order])
    return CameraArrays.from_cameras(rig.cameras), normalized, scores


@pytest.fixture(scope="module")
def frames():
    """Frames of 3-8 cameras with 24-40 detections in some cameras (over
    BATCH_MAX_PER_CAMERA: the affinity block by block, and over SCREEN_PAIRS pairs of groups
    and clusters: the screens)."""
    return [_crowded_frame(cameras, people, phantoms, seed) for seed, (cameras, people, phantoms)
            in enumerate([(3, 12, 20), (5, 10, 25), (8, 8, 30), (8, 14, 20), (5, 4, 35)])]


def test_the_block_affinity_equals_the_batched_one(frames, monkeypatch):
    """Over BATCH_MAX_PER_CAMERA detections in a camera, the affinity is taken block by block;
    the batch over all pairs gives the same numbers (to rounding), the same pairs without one,
    and both are symmetric."""
    for arrays, normalized, scores in frames:
        stacked = StackedDetections.of(normalized, scores)
        assert max(len(k) for k in normalized) > ray_affinity.BATCH_MAX_PER_CAMERA
        blocks, camera_of = stacked_affinity(arrays, stacked, **AFFINITY)
        monkeypatch.setattr(ray_affinity, "BATCH_MAX_PER_CAMERA", 10 ** 9)
        batch, _ = stacked_affinity(arrays, stacked, **AFFINITY)
        monkeypatch.undo()
        np.testing.assert_array_equal(np.isfinite(blocks), np.isfinite(batch))
        finite = np.isfinite(batch)
        assert finite.sum() > 100
        np.testing.assert_allclose(blocks[finite], batch[finite], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(blocks, blocks.T)
        assert np.isinf(blocks[camera_of[:, None] == camera_of[None]]).all()


def test_the_block_affinity_handles_parallel_rays(monkeypatch):
    """Two cameras of one orientation, the second 1 m behind and 0.1 m beside the first: the
    rays through their principal points are parallel (the closest points undefined: such a
    joint counts as the cap); the blocks (here of one pair) handle them as the batch does."""
    cams = [CameraModel(f"c{i}", f"c{i}_optical_frame", 640, 480,
                        np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]), np.zeros(5),
                        "plumb_bob", np.eye(3), np.array([0.1 * i, 0.0, float(i)]))
            for i in range(2)]
    arrays = CameraArrays.from_cameras(cams)
    rng = np.random.default_rng(3)
    normalized = [rng.normal(0, 0.2, (3, 17, 2)) for _ in cams]
    for k in normalized:
        k[:, :6] = 0.0                                  # along the optical axis: parallel
    scores = [np.full((3, 17), 0.9) for _ in cams]
    stacked = StackedDetections.of(normalized, scores)
    batch, _ = stacked_affinity(arrays, stacked, **AFFINITY)
    parallel = []
    closest = ray_affinity._closest_points

    def spy(*args):
        out = closest(*args)
        parallel.append(out[2] is not None)
        return out
    monkeypatch.setattr(ray_affinity, "_closest_points", spy)
    monkeypatch.setattr(ray_affinity, "BATCH_MAX_PER_CAMERA", 0)
    monkeypatch.setattr(ray_affinity, "BLOCK_PAIRS", 1)
    blocks, _ = stacked_affinity(arrays, stacked, **AFFINITY)
    assert len(parallel) == 9 and all(parallel)         # blocks of one pair, all parallel
    assert np.isfinite(batch[:3, 3:]).all() and (batch[:3, 3:] >= 6 / 17 * 0.3).all()
    np.testing.assert_allclose(blocks, batch, rtol=0, atol=1e-12)


def test_screened_rejoin_and_merge_group_as_the_plain_ones(frames, monkeypatch):
    """With many clusters and groups, _rejoin and _merge first screen out those that cannot
    join; the association (members and costs) is exactly that of the plain loops over all of
    them, with the nodes' settings and those of the pipeline before duplicate merging."""
    settings = [{}, {"merge_distance_m": None, "prefer_stronger": False},
                {"max_ray_distance_m": 0.25}]
    rejoined = merged = 0
    for arrays, normalized, scores in frames:
        for kwargs in settings:
            screened = associate_normalized(arrays, normalized, scores, **kwargs)
            monkeypatch.setattr(association, "SCREEN_PAIRS", 10 ** 12)
            plain = associate_normalized(arrays, normalized, scores, **kwargs)
            monkeypatch.undo()
            assert screened.num_people > 23               # over SCREEN_PAIRS pairs of groups
            np.testing.assert_array_equal(screened.members, plain.members)
            np.testing.assert_array_equal(screened.cost, plain.cost)
        no_rejoin = associate_normalized(arrays, normalized, scores, rejoin=False)
        no_merge = associate_normalized(arrays, normalized, scores, merge_distance_m=None)
        rejoined += not np.array_equal(no_rejoin.members, screened.members)
        merged += len(no_merge.members) > len(screened.members)
    assert rejoined and merged                        # the screens had something to keep


def test_cluster_sums_and_costs_are_the_plain_sums():
    """_cluster_pair_sums takes the segment sums of a symmetric matrix along its rows and
    gives np.add.reduceat's over both axes; _groups' costs are the means of each cluster's
    finite pairs summed in row-major order: bit for bit."""
    rng = np.random.default_rng(7)
    sizes = rng.integers(1, 9, 40)
    values = rng.uniform(0, 0.3, (sizes.sum(),) * 2)
    values = values + values.T
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    np.testing.assert_array_equal(
        association._cluster_pair_sums(values, starts),
        np.add.reduceat(np.add.reduceat(values, starts, axis=0), starts, axis=1))
    dist = np.where(rng.uniform(size=values.shape) < 0.2, np.inf, values)
    order = rng.permutation(len(dist))
    members = {int(k): order[s:s + n].tolist() for k, (s, n) in enumerate(zip(starts, sizes,
                                                                            strict=True))}
    camera_of = rng.integers(0, 8, len(dist))
    out = association._groups(members, dist, camera_of, np.arange(len(dist)), 8, 1)
    for cost, group in zip(out.cost, members.values(), strict=True):
        total, count = 0.0, 0
        for i in group:
            for j in group:
                if np.isfinite(dist[i, j]):
                    total, count = total + dist[i, j], count + 1
        assert cost == total / count if count else np.isnan(cost)


def test_box_gap_bounds_the_distance_between_points_of_two_boxes():
    """group_checks.box_gap: 0 for overlapping boxes, NaN for a box without points, never more
    than the distance between a point of one box and a point of the other."""
    from pose3d_ros.core.group_checks import box_gap
    rng = np.random.default_rng(11)
    a = rng.normal(0, 1, (500, 6, 2))
    b = rng.normal(0, 1, (500, 6, 2)) + rng.normal(0, 2, (500, 1, 2))
    gap = box_gap(a.min(1), a.max(1), b.min(1), b.max(1))
    closest = np.linalg.norm(a[:, :, None] - b[:, None], axis=-1).min((1, 2))
    assert (gap <= closest).all() and (gap == 0).any() and (gap > 0).any()
    assert box_gap(np.zeros(2), np.ones(2), np.full(2, 0.5), np.full(2, 2.0)) == 0
    assert np.isnan(box_gap(np.full(2, np.nan), np.full(2, np.nan), np.zeros(2), np.ones(2)))


def test_a_crowded_frame_needs_no_per_joint_matrices_of_all_pairs():
    """8 cameras x ~50 detections: the association's memory peak stays a few times its
    (N, N) affinity matrix (3 MB), not joints x pairs: before, per-joint (N, N) ray
    products and pair gathers peaked at ~190 MB at 8 x 64 and 750 MB at 8 x 128."""
    arrays, normalized, scores = _crowded_frame(8, 10, 40, seed=5)
    associate_normalized(arrays, normalized, scores)                      # warm caches
    tracemalloc.start()
    try:
        associate_normalized(arrays, normalized, scores)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    n = sum(len(k) for k in normalized)
    assert n > 350
    assert peak < 12 * n * n * 8, f"{peak / 1e6:.0f} MB for {n} detections"


def test_a_crowd_whose_near_pairs_all_share_a_camera_is_associated():
    """A review (tracking in crowds): 20 people walking in a grid before 5 cameras, several
    partly out of view; on the 31st set every near pair of clusters _rejoin could join shared
    a camera, and an empty array reshaped to (0, -1) raised ValueError (the node lost the set
    with an ERROR). The set is now associated and everyone placed."""
    from pose3d_ros.core.body_model import canonical_pose
    from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline
    from pose3d_ros.core.types import Detections2D

    rig = random_rig(5, np.random.default_rng(0), distortion_scale=0.0)
    grid = np.stack(np.meshgrid(np.linspace(-2.5, 2.5, 5), np.linspace(-1.5, 1.5, 4)),
                    -1).reshape(-1, 2)
    rng = np.random.default_rng(0)

    def frame(k: int) -> dict[str, Detections2D]:
        people = np.repeat(canonical_pose(COCO17)[None], len(grid), 0)
        people[..., :2] += (grid + [0.03 * k, 0.0])[:, None]
        found = {}
        for camera in rig.cameras:
            points = camera.project(people.reshape(-1, 3)).reshape(len(grid), -1, 2)
            points = points + rng.normal(0, 1.0, points.shape)
            inside = np.isfinite(points).all(-1) & (points >= 0).all(-1) & \
                (points < [camera.width, camera.height]).all(-1)
            points = np.where(inside[..., None], points, np.nan).astype(np.float32)
            corners = [np.nan_to_num(np.nanmin(points, 1)), np.nan_to_num(np.nanmax(points, 1))]
            found[camera.name] = Detections2D(
                points, np.where(inside, 0.9, 0.0).astype(np.float32),
                np.concatenate(corners, -1).astype(np.float32),
                np.full(len(grid), 0.9, np.float32), COCO17, (camera.width, camera.height))
        return found

    pipeline = Pose3DPipeline(rig.names, {c.name: c for c in rig}, frame_id=rig.frame_id,
                              params=PipelineParams())
    for k in range(31):
        result = pipeline.process_detections(frame(k), 10 + k / 30)
    assert result.skeletons.num_people >= 18, result.skeletons.num_people
