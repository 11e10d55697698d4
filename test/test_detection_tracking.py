"""ROI tracking of the two-stage BlazePose back-ends and per-camera parallel detection, on real
frames of the demo recordings with the weights shipped in the mediapipe wheel (#13)."""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import cv2
import numpy as np
import pytest

from pose3d_ros.core.detection import create_detector
from pose3d_ros.core.detection.parallel import detect_per_camera
from pose3d_ros.tools.fetch_demo import video_paths


@lru_cache(maxsize=None)
def frames(recording: str, count: int, cameras: tuple[int, ...]) -> tuple[tuple[np.ndarray, ...]]:
    """frames[t][k]: frame t of camera cameras[k]."""
    paths = video_paths(recording)
    captures = [cv2.VideoCapture(str(paths[c])) for c in cameras]
    out = tuple(tuple(c.read()[1] for c in captures) for _ in range(count))
    for capture in captures:
        capture.release()
    return out


def test_tracking_runs_the_person_detector_rarely_and_keeps_everyone():
    sets = frames("multi", 12, (0, 3))
    tracked = create_detector("blazepose_multi", redetect_every=5)
    stateless = create_detector("blazepose_multi", track=False)
    views, in_frame = [], []
    for images in sets:
        new, old = tracked.detect(images), stateless.detect(images)
        views.append(tracked.last_detector_views + tracked.last_background_views)
        in_frame.append(tracked.last_detector_views)
        for a, b in zip(new, old, strict=True):
            assert a.num_people == b.num_people == 2  # the two people, once each
            # Same people, each joint close to the stateless result (ROI from landmarks, not
            # from the detector: a few pixels on 1080x1920 frames).
            dist = np.linalg.norm(a.keypoints[:, None] - b.keypoints[None], axis=-1)
            per_person = np.nanmedian(dist, axis=2).min(axis=1)
            assert np.all(per_person < 25.0), per_person
    # First frame: all 3 views of both cameras; then one view per camera every 5th frame,
    # camera k's passes k frames earlier (the cameras' passes fall on different frames).
    assert views[0] == 6
    assert views[1:] == [0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0]
    assert in_frame[1:] == [0] * 11     # the periodic passes ran in the background
    assert stateless.last_detector_views == 6
    tracked.close()
    stateless.close()


def test_background_search_gives_the_in_frame_search_output():
    """While every track holds, the periodic pass finds nobody new: the 2D is the same
    whether it runs in the background or within its frame."""
    sets = frames("single", 12, (0, 1))
    background = create_detector("blazepose_multi", redetect_every=3)
    in_frame = create_detector("blazepose_multi", redetect_every=3, background_search=False)
    for images in sets:
        a, b = background.detect(images), in_frame.detect(images)
        assert in_frame.last_background_views == 0
        for x, y in zip(a, b, strict=True):
            assert x.num_people == y.num_people == 1
            np.testing.assert_array_equal(x.keypoints, y.keypoints)
    background.close()
    in_frame.close()


@pytest.mark.parametrize("background", [True, False])
def test_a_person_found_by_the_periodic_search_joins_its_frame_or_the_next(background):
    """Two people, one of them not tracked yet: the periodic pass finds them. Within the
    frame they appear at once; from the background at the camera's next frame."""
    sets = frames("multi", 6, (0,))
    detector = create_detector("blazepose_multi", redetect_every=3, tiles=False,
                               background_search=background)
    assert detector.detect(sets[0])[0].num_people == 2
    state = detector._tracks[0]
    state.rois = state.rois[:1]                     # the second person is not tracked yet
    state.since_search = 0
    counts, searched = [], []
    for images in sets[1:]:
        counts.append(detector.detect(images)[0].num_people)
        searched.append((detector.last_detector_views, detector.last_background_views))
    assert searched[:3] == ([(0, 0), (0, 0), (0, 1)] if background else
                            [(0, 0), (0, 0), (1, 0)])
    assert counts == ([1, 1, 1, 2, 2] if background else [1, 1, 2, 2, 2])
    detector.close()
    with pytest.raises(RuntimeError, match="closed"):
        detector.detect(sets[0])


def test_lost_track_starts_a_sweep_one_view_per_frame():
    (image,), = frames("single", 1, (0,))
    detector = create_detector("blazepose_multi", redetect_every=100)
    assert detector.detect([image])[0].num_people == 1
    assert detector.detect([image])[0].num_people == 1 and detector.last_detector_views == 0
    black = np.zeros_like(image)
    assert detector.detect([black])[0].num_people == 0  # track lost
    counts = []
    for _ in range(3):
        detector.detect([black])
        counts.append(detector.last_detector_views)
    assert counts == [1, 1, 1]  # whole image, then each tile: one view per frame
    assert detector.detect([image])[0].num_people == 1  # found again by the sweep


def test_tracks_are_kept_per_camera_index():
    (a, b), = frames("multi", 1, (0, 2))
    detector = create_detector("blazepose_multi")
    both = detector.detect([a, b])
    only_b = detector.detect([b], cameras=[1])  # camera 0 absent from this set
    assert detector.last_detector_views == 0  # camera 1's tracks were used
    assert only_b[0].num_people == both[1].num_people
    with pytest.raises(ValueError, match="distinct indices"):
        detector.detect([a, b], cameras=[1, 1])


def test_reset_forgets_only_the_cameras_named():
    (a, b), = frames("multi", 1, (0, 2))
    detector = create_detector("blazepose_multi", redetect_every=100)
    detector.detect([a, b])
    detector.reset([1])
    detector.detect([a, b])
    assert detector.last_detector_views == 3   # camera 1's views afresh (whole, 2 tiles)
    detector.reset()
    detector.detect([a, b])
    assert detector.last_detector_views == 6
    detector.close()


def test_parallel_per_camera_equals_one_after_another():
    sets = frames("single", 3, (0, 1, 2, 3))
    serial = [create_detector("blazepose") for _ in range(4)]
    parallel = [create_detector("blazepose") for _ in range(4)]
    shared = create_detector("blazepose")   # one instance, a tracker per camera index
    for images in sets:
        expected = [d.detect([im])[0] for d, im in zip(serial, images, strict=True)]
        got = detect_per_camera(parallel, list(images))
        from_shared = shared.detect(list(images))
        for a, b, c in zip(expected, got, from_shared, strict=True):
            assert a.num_people == b.num_people == c.num_people == 1
            np.testing.assert_array_equal(a.keypoints, b.keypoints)
            np.testing.assert_array_equal(a.keypoints, c.keypoints)
    for detector in serial + parallel + [shared]:
        detector.close()


def test_a_failed_camera_returns_only_when_every_camera_of_the_set_is_done():
    """One camera's detector raising returned at once while another camera's detection still
    ran; the next set then ran that camera's stateful detector on a second thread (a review).
    The error still reaches the caller, after the set's other calls end."""
    import time

    from pose3d_ros.core.detection.parallel import map_on_pool

    ended: list[int] = []

    def detect(camera: int) -> int:
        if camera == 0:
            raise RuntimeError("out of memory")
        time.sleep(0.2)
        ended.append(camera)
        return camera

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="out of memory"):
        map_on_pool(detect, [0, 1])
    assert ended == [1] and time.monotonic() - started >= 0.2
    assert map_on_pool(lambda a, b: a + b, [1, 2], [10, 20]) == [11, 22]


def test_pipeline_gives_a_shared_tracker_the_camera_of_each_image():
    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.pipeline import Pose3DPipeline, create_detectors
    from pose3d_ros.tools.fetch_demo import calibration_path
    rig = load_rig(calibration_path("multi"))
    detector = create_detectors("blazepose_multi", 4, per_camera=False)
    pipeline = Pose3DPipeline(rig.names, {c.name: c for c in rig}, detector,
                              frame_id=rig.frame_id)
    (first,) = frames("multi", 1, (0, 1, 2, 3))
    pipeline.process_images(dict(zip(rig.names, first, strict=True)), 0.0)
    # Cameras 1 and 3 only: their own tracks are used, so no detector view runs.
    result = pipeline.process_images({rig.names[1]: first[1], rig.names[3]: first[3]}, 1 / 30)
    assert detector.last_detector_views == 0
    assert all(result.detections[n].num_people == 2 for n in (rig.names[1], rig.names[3]))
    pipeline.close()


def test_one_pass_colour_conversion_gives_the_same_values():
    from pose3d_ros.core.detection.base import rgb_unit_float
    image = np.random.default_rng(0).integers(0, 256, (3, 32, 48, 3), dtype=np.uint8)
    expected = image[..., ::-1].astype(np.float32) / 255.0
    got = rgb_unit_float(image)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    # one image, and a view into a larger one (not contiguous): the same values too
    np.testing.assert_array_equal(rgb_unit_float(image[1]), expected[1])
    np.testing.assert_array_equal(rgb_unit_float(image[:, 4:20, 8:40]), expected[:, 4:20, 8:40])


def test_a_background_search_of_another_image_size_is_not_joined():
    """The camera's images change size (a driver restarted with another region of interest)
    while its background search of the last frame runs: the new size starts afresh, as a new
    camera, without the search's people of the old images."""
    images = frames("single", 4, (0,))
    detector = create_detector("blazepose_multi", redetect_every=2)
    for (image,) in images[:3]:
        detector.detect([image])
    assert detector.last_background_views == 1            # a search of a full-size frame
    small = np.ascontiguousarray(images[3][0][:, :1000])     # 1080 -> 1000 px wide
    fresh = create_detector("blazepose_multi")
    expected = fresh.detect([small])[0]
    got = detector.detect([small])[0]
    assert got.num_people == expected.num_people == 1
    np.testing.assert_array_equal(got.keypoints, expected.keypoints)
    detector.close()
    fresh.close()


@pytest.mark.parametrize("name", ["blazepose_multi", "blazepose"])
def test_a_region_of_interest_moved_at_the_same_size_starts_the_camera_afresh(name):
    """A camera's 600x1500 region of interest moves 400 px right, then back (a driver's
    CameraInfo roi; the images keep their size): the pipeline is told the image moved
    (set_camera image_moved, as the nodes do on such a CameraInfo) and its detector forgets the
    camera's ROIs. They were kept, in the old image's pixels: the person was lost on the first
    frame after the move and, after the move back, a skeleton 160-420 px off the person came
    out at scores 0.8-1.0 for 3 (blazepose_multi) or every (blazepose) frame (a review)."""
    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.pipeline import Pose3DPipeline, create_detectors
    from pose3d_ros.tools.fetch_demo import calibration_path
    # the camera of the region of interest's images (the pipeline refuses images of another
    # size than their calibration's)
    camera = replace(load_rig(calibration_path("multi"))[0], width=600, height=1500)
    offsets = [0] * 3 + [400] * 3 + [0] * 3
    crops = [np.ascontiguousarray(image[300:1800, x:x + 600])
             for (image,), x in zip(frames("multi", len(offsets), (0,)), offsets, strict=True)]
    detectors = create_detectors(name, 1, per_camera=name == "blazepose")
    pipeline = Pose3DPipeline([camera.name], {camera.name: camera}, detectors,
                              frame_id="rig")
    # the same detector views as the pipeline's (whole crop and tiles): after the move a tile
    # also holds the second person, half past the crop's left edge (s56: with the edge repeated
    # as in MediaPipe's graph, the landmark model gives that half body presence 0.66)
    per_frame = create_detector("blazepose_multi", track=False)
    for t, crop in enumerate(crops):
        if t and offsets[t] != offsets[t - 1]:
            pipeline.set_camera(camera, image_moved=True)
        got = pipeline.process_images({camera.name: crop}, t / 60).detections[camera.name]
        expected = per_frame.detect([crop])[0]
        assert got.num_people >= 1, t
        if name == "blazepose_multi":           # mediapipe's graph: one person per camera
            assert got.num_people == expected.num_people, t
        for person in got.keypoints:           # each where a fresh detection finds one
            offset = np.nanmedian(np.linalg.norm(expected.keypoints - person, axis=-1),
                                  axis=1).min()
            assert offset < 20.0, (t, offset)
    pipeline.close()
    per_frame.close()


def _search_views(detector, sets, stamps) -> list[int]:
    """The detector views each set ran (in the frame and in the background)."""
    views = []
    for images, stamp in zip(sets, stamps, strict=True):
        detector.detect(images, stamps=None if stamp is None else [stamp] * len(images))
        views.append(detector.last_detector_views + detector.last_background_views)
    return views


def test_a_slow_camera_is_searched_for_new_people_every_second_not_every_tenth_frame():
    """At 3 frames a second, every 10th frame is every 3.3 s (each of a wide image's three
    views every 10 s); with stamps the periodic pass also runs once search_within_s (1 s) has
    passed since the camera's last one. Above 10 Hz the frame count comes first."""
    sets = frames("single", 12, (0, 1))
    at_3_hz = [t / 3.0 for t in range(12)]
    timed = create_detector("blazepose_multi")
    assert _search_views(timed, sets, at_3_hz) == [6, 0, 0, 2, 0, 0, 2, 0, 0, 2, 0, 0]
    # without stamps, or with search_within_s 0: every 10th frame (camera 1's a frame early)
    frames_only = create_detector("blazepose_multi")
    assert _search_views(frames_only, sets, [None] * 12) == [6] + [0] * 8 + [1, 1, 0]
    untimed = create_detector("blazepose_multi", search_within_s=0.0)
    assert _search_views(untimed, sets, at_3_hz) == [6] + [0] * 8 + [1, 1, 0]
    # at 30 Hz the 10th frame comes before the second: as without stamps
    fast = create_detector("blazepose_multi")
    assert _search_views(fast, sets, [t / 30.0 for t in range(12)]) == \
        [6] + [0] * 8 + [1, 1, 0]
    for detector in (timed, frames_only, untimed, fast):
        detector.close()


def test_a_clock_that_goes_back_or_a_stamp_that_is_not_a_number_does_not_search_every_frame():
    sets = frames("single", 12, (0,))
    detector = create_detector("blazepose_multi")
    # 3 Hz, then the clock goes back 100 s (a bag looping), then a NaN stamp
    stamps = [0.0, 1 / 3, 2 / 3, -100.0, -100 + 1 / 3, -100 + 2 / 3, float("nan"),
              -99.0 + 1 / 3, -99.0 + 2 / 3, -99.0 + 1.0, -99.0 + 4 / 3, -99.0 + 5 / 3]
    views = _search_views(detector, sets, stamps)
    assert views[0] == 3 and sum(views[1:]) <= 2, views
    detector.close()
    with pytest.raises(ValueError, match="search_within_s"):
        create_detector("blazepose_multi", search_within_s=float("nan"))
    with pytest.raises(ValueError, match="2 stamps for 1 images"):
        create_detector("blazepose_multi", track=False).detect(sets[0], stamps=[0.0, 1.0])


class _DetectorWithoutStamps:
    """A back-end written for the interface before `stamps` (a user's own): the package's
    real back-end behind the older signature."""

    def __init__(self) -> None:
        self.inner = create_detector("blazepose_multi", tiles=False)
        self.name, self.layout, self.runtime = "mine", self.inner.layout, self.inner.runtime

    def detect(self, images, cameras=None):
        return self.inner.detect(images, cameras=cameras)

    def reset(self, cameras=None):
        self.inner.reset(cameras)

    def close(self):
        self.inner.close()


@pytest.mark.parametrize("shared", [True, False])
def test_the_pipeline_gives_its_detectors_the_capture_time_and_still_runs_older_ones(shared):
    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.pipeline import Pose3DPipeline, create_detectors
    from pose3d_ros.tools.fetch_demo import calibration_path
    rig = load_rig(calibration_path("single"))
    cameras = {camera.name: camera for camera in rig.cameras[:2]}
    sets = frames("single", 5, (0, 1))
    detectors = create_detectors("blazepose_multi", 2, per_camera=not shared)
    pipeline = Pose3DPipeline(list(cameras), cameras, detectors, frame_id="rig")
    searched = []
    for t, images in enumerate(sets):                 # 2 Hz: the 3rd set is 1 s later
        pipeline.process_images(dict(zip(cameras, images, strict=True)), 100.0 + t / 2.0)
        searched.append(sum(d.last_detector_views + d.last_background_views for d in (
            [detectors] if shared else detectors)))
    assert searched == [6, 0, 2, 0, 2]
    pipeline.close()
    older = Pose3DPipeline([rig.cameras[0].name], {rig.cameras[0].name: rig.cameras[0]},
                           [_DetectorWithoutStamps()] if not shared else _DetectorWithoutStamps(),
                           frame_id="rig")
    result = older.process_images({rig.cameras[0].name: sets[0][0]}, 100.0)
    assert result.detections[rig.cameras[0].name].num_people == 1
    older.close()
