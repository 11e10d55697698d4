"""Cached 2D detections of whole videos (real demo videos, two frames) and the evaluation's
person matching."""
from __future__ import annotations

import numpy as np

from pose3d_ros.core.detection.cache import detect_video_set, stack_detections
from pose3d_ros.core.layouts import BLAZEPOSE33, COCO17
from pose3d_ros.core.types import Detections2D
from pose3d_ros.tools.eval_detection import matched_joint_distances
from pose3d_ros.tools.fetch_demo import video_paths


def test_detect_video_set_caches_per_camera(tmp_path, monkeypatch):
    paths = video_paths("multi")[:2]  # resolved before the data dir is redirected
    monkeypatch.setenv("POSE3D_DATA", str(tmp_path))
    first = detect_video_set(paths, "blazepose_multi", max_frames=2)
    files = sorted((tmp_path / "cache" / "detections").glob("*.npz"))
    assert [f.name.split("_")[0] for f in files] == ["cam01", "cam02"]
    # The second call reads the files: a value planted in one comes back.
    with np.load(files[0]) as data:
        planted = {name: data[name] for name in data.files}
    planted["keypoints"] = planted["keypoints"].copy()
    planted["keypoints"][0, 0, 0] = [12.5, 34.5]
    np.savez_compressed(files[0], **planted)
    again = detect_video_set(paths, "blazepose_multi", max_frames=2)
    np.testing.assert_array_equal(again[0].keypoints[0, 0, 0], [12.5, 34.5])
    again[0].keypoints[0, 0, 0] = first[0].keypoints[0, 0, 0]
    for a, b in zip(first, again, strict=True):
        assert a.layout is BLAZEPOSE33 and b.layout is BLAZEPOSE33
        assert a.keypoints.shape[:1] == (2,) and a.keypoints.shape[2:] == (33, 2)
        np.testing.assert_array_equal(a.keypoints, b.keypoints)
        np.testing.assert_array_equal(a.num_people, b.num_people)
        assert a.detection_rate == 1.0 and a.world is not None
        frame = b.frame(1)
        assert frame.num_people == b.num_people[1] and not np.isnan(frame.keypoints).all()
    # Different options are a different cache entry.
    detect_video_set(paths[:1], "blazepose_multi", max_frames=1)
    assert len(list((tmp_path / "cache" / "detections").glob("cam01_*.npz"))) == 2


def test_a_given_cache_folder_is_used_and_progress_is_shown(tmp_path, monkeypatch, capsys):
    """train_lifter --multi-person --cache-dir passes its folder here (it was ignored)."""
    paths = video_paths("multi")[:1]
    monkeypatch.setenv("POSE3D_DATA", str(tmp_path / "data"))
    mine = tmp_path / "mine"
    detect_video_set(paths, "blazepose_multi", max_frames=2, cache_folder=mine, progress=True)
    assert [f.name.split("_")[0] for f in mine.glob("*.npz")] == ["cam01"]
    assert not (tmp_path / "data").exists()
    assert "2D (blazepose_multi)" in capsys.readouterr().err


def test_a_camera_detected_alone_is_not_reused_for_a_set(tmp_path, monkeypatch):
    """One detector serves a set of videos (its person search is shared), so a camera's 2D in
    a set can differ from its 2D alone (the multi demo's cam03, frames 40-70): a set never
    reads the entry its camera got alone, and the other way round."""
    paths = video_paths("multi")[:2]
    monkeypatch.setenv("POSE3D_DATA", str(tmp_path))
    detect_video_set(paths[:1], "blazepose_multi", max_frames=1)
    detect_video_set(paths, "blazepose_multi", max_frames=1)
    folder = tmp_path / "cache" / "detections"
    assert len(list(folder.glob("cam01_*.npz"))) == 2
    detect_video_set(paths[:1], "blazepose_multi", max_frames=1)       # read back, not added
    detect_video_set(paths, "blazepose_multi", max_frames=1)
    assert len(list(folder.glob("*.npz"))) == 3


def _people(points: list[np.ndarray]) -> Detections2D:
    kp = np.array(points, np.float32).reshape(len(points), 17, 2)
    return Detections2D(kp, np.ones(kp.shape[:2], np.float32), np.zeros((len(kp), 4), np.float32),
                        np.ones(len(kp), np.float32), COCO17, (100, 100))


def test_matching_pairs_each_person_with_the_nearest():
    base = np.arange(34, dtype=np.float32).reshape(17, 2)
    first = stack_detections([_people([base, base + 100]), _people([])], COCO17, (100, 100))
    # Second path lists the people the other way round, shifted by 3-4-5 triangles.
    second = stack_detections([_people([base + 100 + [3, 4], base + [6, 8]]), _people([base])],
                              COCO17, (100, 100))
    dist = matched_joint_distances(first, second)
    assert dist.shape == (2, 17)
    np.testing.assert_allclose(dist[0], 10.0, atol=1e-5)
    np.testing.assert_allclose(dist[1], 5.0, atol=1e-5)


def test_matching_is_one_to_one_as_the_cores():
    """A review: each person of the first path took the nearest of the second, so with two
    people found by the first path and one by the second both were matched to that one, and
    the other person's 100 px offset counted as disagreement (and the figures depended on
    which path came first). The core's matching (metrics.match_people) pairs one to one."""
    base = np.arange(34, dtype=np.float32).reshape(17, 2)
    two = stack_detections([_people([base, base + 100])], COCO17, (100, 100))
    one = stack_detections([_people([base + [3, 4]])], COCO17, (100, 100))
    for first, second in ((two, one), (one, two)):
        dist = matched_joint_distances(first, second)
        assert dist.shape == (1, 17)
        np.testing.assert_allclose(dist, 5.0, atol=1e-5)
