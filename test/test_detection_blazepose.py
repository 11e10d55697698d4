"""BlazePose back-ends on real frames of the demo recordings, with the weights shipped in the
mediapipe wheel, plus the exact parts of the two-stage pipeline (anchors, decoding, ROI)."""
from __future__ import annotations

import os
from functools import lru_cache

import cv2
import numpy as np
import pytest

from pose3d_ros.core.detection import PoseDetector, convert_detections, create_detector
from pose3d_ros.core.detection.blazepose_multi import (
    LANDMARK_BORDERS,
    crop_to_image_affine,
    detector_views,
    distinct_rois,
    landmark_crops,
    letterbox_square,
    mediapipe_model_paths,
    refine_from_heatmap,
    roi_from_detection,
)
from pose3d_ros.core.detection.blazepose_onnx import default_model_dir
from pose3d_ros.core.detection.ssd_anchors import POSE_DETECTOR_ANCHORS, decode_pose_detector
from pose3d_ros.core.image_decode import jpeg_round_trip
from pose3d_ros.core.layouts import BLAZEPOSE33, COCO17, H36M17
from pose3d_ros.tools.fetch_demo import video_paths


@lru_cache(maxsize=None)
def first_frames(recording: str, count: int = 1) -> tuple[tuple[np.ndarray, ...], ...]:
    """The first `count` frames of each of the 4 cameras: frames[t][camera]."""
    captures = [cv2.VideoCapture(str(p)) for p in video_paths(recording)]
    frames = tuple(tuple(c.read()[1] for c in captures) for _ in range(count))
    for capture in captures:
        capture.release()
    return frames


def median_joint_distance(a, b) -> float:
    return float(np.nanmedian(np.linalg.norm(a.keypoints[0] - b.keypoints[0], axis=-1)))


def test_anchor_grid_matches_mediapipe_pose_detector():
    anchors = POSE_DETECTOR_ANCHORS
    assert anchors.shape == (2254, 2)  # 28*28*2 + 14*14*2 + 7*7*6
    np.testing.assert_allclose(anchors[:2], [[0.5 / 28, 0.5 / 28]] * 2, atol=1e-7)
    np.testing.assert_allclose(anchors[1568], [0.5 / 14, 0.5 / 14], atol=1e-7)
    np.testing.assert_allclose(anchors[-6:], [[6.5 / 7, 6.5 / 7]] * 6, atol=1e-7)


def test_detector_decoding_weighted_nms_on_planted_output():
    raw = np.zeros((2254, 12), np.float32)
    logits = np.full(2254, -10.0, np.float32)
    a, b, far = 100, 101, 2000  # a and b share a cell: one person; `far` is another person
    raw[[a, b, far], 2:4] = 40.0  # box 40 px of 224
    raw[b, 0] = 2.24  # b's centre 0.01 to the right of a's
    raw[[a, b, far], 4:6] = [[22.4, 0.0], [22.4, 0.0], [0.0, 0.0]]
    logits[[a, b, far]] = [2.0, 0.0, 1.0]  # scores 0.881, 0.5, 0.731
    people = decode_pose_detector(raw, logits, min_score=0.5)
    assert len(people.scores) == 2
    sa, sb = 1 / (1 + np.exp(-2.0)), 0.5
    weight_b = sb / (sa + sb)
    np.testing.assert_allclose(people.scores, [sa, 1 / (1 + np.exp(-1.0))], rtol=1e-6)
    centre = POSE_DETECTOR_ANCHORS[a] + [0.01 * weight_b, 0.0]
    np.testing.assert_allclose((people.boxes[0, :2] + people.boxes[0, 2:]) / 2, centre,
                               atol=1e-6)
    np.testing.assert_allclose(people.keypoints[0, 0], POSE_DETECTOR_ANCHORS[a] + [0.1, 0.0],
                               atol=1e-6)  # both keypoints were anchor + 0.1
    np.testing.assert_allclose(people.keypoints[1, 0], POSE_DETECTOR_ANCHORS[far], atol=1e-6)
    with pytest.raises(ValueError, match="expected 2254 anchors"):
        decode_pose_detector(raw[:100], logits[:100])


def test_nms_is_the_greedy_suppression_and_a_box_of_no_area_is_one_person():
    """nms and weighted_nms read one IoU matrix (vectorised in session 50): the same kept
    boxes as the textbook greedy loop on random boxes with tied scores; weighted_nms gave a
    box of no area (it overlaps nothing, not even itself) max_people times."""
    from pose3d_ros.core.detection.base import box_iou, nms
    from pose3d_ros.core.detection.ssd_anchors import NUM_DETECTOR_KEYPOINTS, weighted_nms

    def greedy(boxes, scores, threshold):
        order, keep = list(np.argsort(-scores, kind="stable")), []
        while order:
            best = order.pop(0)
            keep.append(best)
            order = [k for k in order if box_iou(boxes[[best]], boxes[[k]])[0, 0] <= threshold]
        return keep

    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(0, 12))
        corner = rng.uniform(0, 100, (n, 2))
        boxes = np.concatenate([corner, corner + rng.uniform(5, 60, (n, 2))], axis=1)
        scores = np.round(rng.uniform(0, 1, n), 1)                 # ties
        for threshold in (0.3, 0.5):
            assert nms(boxes, scores, threshold).tolist() == greedy(boxes, scores, threshold)
    flat = np.array([[0.2, 0.2, 0.2, 0.5], [0.5, 0.5, 0.7, 0.9]])   # the first of no width
    people = weighted_nms(flat, np.zeros((2, NUM_DETECTOR_KEYPOINTS, 2)), np.array([0.9, 0.8]),
                          0.3, 4)
    np.testing.assert_allclose(people.boxes, flat, atol=1e-7)


def test_roi_rotation_and_crop_geometry():
    upright = np.array([[[300.0, 800.0], [300.0, 600.0], [0, 0], [0, 0]]])
    lying = np.array([[[300.0, 800.0], [500.0, 800.0], [0, 0], [0, 0]]])  # head to the right
    roi = roi_from_detection(np.concatenate([upright, lying]))
    np.testing.assert_allclose(roi[:, :3], [[300, 800, 500], [300, 800, 500]], atol=1e-9)
    np.testing.assert_allclose(roi[:, 3], [0.0, np.pi / 2], atol=1e-9)
    affine = crop_to_image_affine(roi, 256)
    # Crop centre -> ROI centre; crop "up" (towards v = 0) -> towards the head.
    for m in affine:
        np.testing.assert_allclose(m @ [128, 128, 1], [300, 800], atol=1e-9)
    np.testing.assert_allclose(affine[0] @ [128, 0, 1], [300, 550], atol=1e-9)
    np.testing.assert_allclose(affine[1] @ [128, 0, 1], [550, 800], atol=1e-9)


def test_landmark_crop_past_the_image_edge_repeats_the_edge_as_mediapipe_does():
    """MediaPipe's ImageToTensorCalculator fills the part of a rotated ROI outside the image by
    repeating the edge (its border mode left unset: replicate), not with black."""
    image = np.arange(300 * 200 * 3, dtype=np.uint8).reshape(300, 200, 3)
    roi = np.array([[100.0, 250.0, 256.0, 0.0]])         # 1 crop px per image px, 78 px past
    crops = landmark_crops([image], crop_to_image_affine(roi, 256), np.zeros(1, np.intp))
    outside = crops[0, 180:]                             # crop rows below the image's last row
    np.testing.assert_array_equal(outside[:, 28:228],
                                  np.broadcast_to(image[-1], (len(outside), 200, 3)))
    np.testing.assert_array_equal(crops[0, :172, 28:228], image[122:294])   # inside: the image
    # black, as before session 56: the back-ends' landmark_border="zero" (the benchmarks')
    black = landmark_crops([image], crop_to_image_affine(roi, 256), np.zeros(1, np.intp),
                           LANDMARK_BORDERS["zero"])
    assert not black[0, 180:, 28:228].any()
    np.testing.assert_array_equal(black[0, :172, 28:228], image[122:294])
    assert create_detector("blazepose_multi").landmark_border == "replicate"
    with pytest.raises(ValueError, match=r"landmark_border must be one of \['replicate', "
                       r"'zero'\], got 'black'"):
        create_detector("blazepose_multi", landmark_border="black")


def test_a_person_cut_at_the_chest_keeps_the_body_size():
    """Demo cam04 with the rows below the chest removed (the person's hips 85 px below the
    cut): with black past the edge, the landmark model squeezed the whole body into the image
    (the person found in 1 of these 3 frames, shoulders 1.32x as wide as uncut, hips inside
    the image at score 0.88-0.91); with the edge repeated as in MediaPipe's graph the person
    is found in each, shoulders 0.97-1.01x, hips given score <= 0.01 (measured)."""
    frames = [f[3] for f in first_frames("single", 3)]
    detector = create_detector("blazepose_multi", track=False)
    for frame in frames:
        whole = detector.detect([frame])[0]
        cut = detector.detect([np.ascontiguousarray(frame[:753])])[0]
        assert whole.num_people == 1 and cut.num_people == 1
        width = [np.linalg.norm(d.keypoints[0, 11] - d.keypoints[0, 12]) for d in (whole, cut)]
        assert 0.9 < width[1] / width[0] < 1.1, width
        assert whole.keypoints[0, [23, 24], 1].min() > 753             # hips below the cut
        assert cut.scores[0, [23, 24]].max() < 0.5, cut.scores[0, [23, 24]]
    detector.close()


def test_letterbox_square_maps_back():
    image = np.zeros((1920, 1080, 3), np.uint8)
    square, scale, pad = letterbox_square(image, 224)
    assert square.shape == (224, 224, 3) and square.dtype == np.float32
    np.testing.assert_allclose(scale, 224 / 1920)
    np.testing.assert_allclose(pad, [(224 - round(1080 * scale)) // 2, 0])


def test_mediapipe_blazepose_finds_the_person_in_every_camera():
    detector = create_detector("blazepose")
    assert isinstance(detector, PoseDetector) and detector.layout is BLAZEPOSE33
    frames = first_frames("single")[0]
    results = detector.detect(frames)
    detector.close()
    assert [r.num_people for r in results] == [1, 1, 1, 1]
    for det, frame in zip(results, frames, strict=True):
        assert det.keypoints.shape == (1, 33, 2) and det.world.shape == (1, 33, 3)
        assert det.image_size == (frame.shape[1], frame.shape[0])
        hips = det.keypoints[0, [23, 24]]
        assert np.all((hips >= 0) & (hips < det.image_size))
        assert np.all((det.scores >= 0) & (det.scores <= 1))
        # World landmarks are hip-centred metres: a body is ~0.3-2 m across.
        assert 0.3 < np.ptp(det.world[0], axis=0).max() < 2.5


def test_model_complexity_other_than_shipped_is_refused():
    with pytest.raises(ValueError, match="model_complexity must be 1"):
        create_detector("blazepose", model_complexity=2)


def test_two_stage_litert_agrees_with_mediapipe_single_person():
    frames = first_frames("single")[0]
    reference = create_detector("blazepose", static_image_mode=True).detect(frames)
    detector = create_detector("blazepose_multi")
    results = detector.detect(frames)
    for ref, det in zip(reference, results, strict=True):
        assert det.num_people == 1
        assert median_joint_distance(ref, det) < 15.0  # pixels, on 1080x1920 frames
        assert det.world.shape == (1, 33, 3) and np.isfinite(det.world).all()


def test_half_size_jpeg_decode_gives_the_same_2d_in_full_resolution_pixels():
    # the node's compressed input at compressed_decode_min_side_px 540: every camera's person
    # from the half-size decode, mapped back, lands where the whole decode puts it (the
    # benchmark over 100 frames: 1.4-3.1 px median per camera, docs/detectors.md)
    frames = first_frames("single")[0]
    whole = create_detector("blazepose_multi", track=False).detect(
        [jpeg_round_trip(f, 1) for f in frames])
    halves = [jpeg_round_trip(f, 2) for f in frames]
    assert all(h.shape[:2] == (f.shape[0] // 2, f.shape[1] // 2)
               for h, f in zip(halves, frames, strict=True))
    half = create_detector("blazepose_multi", track=False).detect(halves)
    distances = []
    for frame, a, b in zip(frames, whole, half, strict=True):
        b = b.upscaled(2, (frame.shape[1], frame.shape[0]))
        assert a.num_people == b.num_people == 1
        assert b.image_size == (frame.shape[1], frame.shape[0])
        distances.append(median_joint_distance(a, b))      # pixels of the whole frame
        # without the mapping the half-size 2D would be ~half the coordinates: far off
        assert np.nanmedian(np.linalg.norm(a.keypoints[0] - (b.keypoints[0] - 0.5) / 2,
                                           axis=-1)) > 200.0
    assert max(distances) < 10.0 and np.median(distances) < 4.0     # measured 1.9-6.7, 2.5


def test_heatmap_refinement_is_closer_to_mediapipe_than_the_raw_landmarks():
    """mediapipe's pose graph moves the landmarks by the model's heatmaps; the two-stage
    back-ends do the same, which brings them from 8-13 px to 2-5 px of mediapipe's own output
    on these frames (same model, ROIs from the person detector in both)."""
    frames = first_frames("single")[0]
    reference = create_detector("blazepose", static_image_mode=True).detect(frames)
    refined = create_detector("blazepose_multi").detect(frames)
    raw = create_detector("blazepose_multi", refine_landmarks=False).detect(frames)
    near = [median_joint_distance(ref, det) for ref, det in zip(reference, refined, strict=True)]
    far = [median_joint_distance(ref, det) for ref, det in zip(reference, raw, strict=True)]
    assert max(near) < 6.0 and min(far) > 6.0, (near, far)


def _refine_one_by_one(points, heatmaps, crop_size, kernel=7, min_confidence=0.5):
    """The refinement written out landmark by landmark, cell by cell (the reference)."""
    out = points.copy()
    height, width = heatmaps.shape[1:3]
    half = (kernel - 1) // 2
    for n in range(points.shape[0]):
        for k in range(points.shape[1]):
            col = int(points[n, k, 0] / crop_size * width)
            row = int(points[n, k, 1] / crop_size * height)
            if not (0 <= col < width and 0 <= row < height):
                continue
            total = best = along_col = along_row = 0.0
            for r in range(max(0, row - half), min(height, row + half + 1)):
                for c in range(max(0, col - half), min(width, col + half + 1)):
                    weight = 1.0 / (1.0 + np.exp(-heatmaps[n, r, c, k]))
                    total, best = total + weight, max(best, weight)
                    along_col, along_row = along_col + c * weight, along_row + r * weight
            if best >= min_confidence and total > 0:
                out[n, k] = (along_col / total / width * crop_size,
                             along_row / total / height * crop_size)
    return out


def test_heatmap_refinement_moves_landmarks_to_the_confident_peak():
    rng = np.random.default_rng(3)
    heatmaps = np.full((2, 64, 64, 5), -8.0, np.float32)      # nothing confident
    rows, cols = np.mgrid[0:64, 0:64]
    peak = np.exp(-((cols - 20.3) ** 2 + (rows - 40.6) ** 2) / 2.0) * 16 - 8
    heatmaps[0, :, :, 0] = peak                                  # a sharp peak near (20, 41)
    heatmaps[1] = rng.normal(0, 3, (64, 64, 5))                  # noise: partly confident
    points = np.array([[[21 * 4, 40 * 4], [100, 100], [-3, 50], [255.9, 300], [0, 0]],
                       [[10, 10], [128, 128], [250, 5], [63.5, 200], [200, 63.5]]],
                      np.float32)
    refined = refine_from_heatmap(points, heatmaps, 256)
    # The peak: moved to the weighted centre of the 7x7 window, about (20.3, 40.6) cells.
    assert np.allclose(refined[0, 0] / 4, (20.3, 40.6), atol=0.1)
    # Not confident, or outside the heatmap: kept exactly.
    assert np.array_equal(refined[0, 1:], points[0, 1:])
    assert np.allclose(refined, _refine_one_by_one(points, heatmaps, 256), atol=1e-3)
    assert refine_from_heatmap(points[:0], heatmaps[:0], 256).shape == (0, 5, 2)


def test_detector_views_tile_elongated_images():
    portrait = np.zeros((1920, 1080, 3), np.uint8)
    assert detector_views(portrait, tiles=True) == [(0, 0, 1080, 1920), (0, 0, 1080, 1080),
                                                    (0, 840, 1080, 1080)]
    landscape = np.zeros((720, 1280, 3), np.uint8)
    assert detector_views(landscape, tiles=True) == [(0, 0, 1280, 720), (0, 0, 720, 720),
                                                     (560, 0, 720, 720)]
    assert detector_views(portrait, tiles=False) == [(0, 0, 1080, 1920)]
    assert detector_views(np.zeros((500, 480, 3), np.uint8), tiles=True) == [(0, 0, 480, 500)]


def test_a_camera_changing_its_image_shape_is_tracked_afresh():
    """A review: mediapipe's graph kept its region of interest as a fraction of the image, so
    the first frame after a switch to another aspect came back with a skeleton 53-655 px off
    at a score of 0.9. Each camera's graph is now made anew when its images change shape:
    the switch frame gives what a fresh detector gives. A camera index of 40 makes one graph,
    not 41."""
    sets = first_frames("single", 9)
    tracked = create_detector("blazepose")
    for images in sets[:8]:
        tracked.detect([images[0]])
    square = np.ascontiguousarray(sets[8][0][:1080])           # 1080 x 1080 of 1080 x 1920
    fresh = create_detector("blazepose")
    got, expected = tracked.detect([square])[0], fresh.detect([square])[0]
    assert got.num_people == expected.num_people == 1
    np.testing.assert_allclose(got.keypoints, expected.keypoints, atol=1.0)
    tracked.detect([square], cameras=[40])
    assert len(tracked._trackers) == 2                         # cameras 0 and 40
    for each in (tracked, fresh):
        each.close()


def test_images_of_extreme_aspect_are_looked_at_within_bounds():
    """A review: blazepose_multi's letterbox rounded a 2 x 1000 image's short side to 0 px (an
    OpenCV assertion every frame) and tiled a 3 x 1001 image 334 times (3.6 s a frame)."""
    from pose3d_ros.core.detection.blazepose_multi import MAX_DETECTOR_TILES, detector_views
    from pose3d_ros.core.detection.onnx_models import letterbox

    assert len(detector_views(np.zeros((3, 1001, 3), np.uint8), True)) == 1 + MAX_DETECTOR_TILES
    assert len(detector_views(np.zeros((1920, 1080, 3), np.uint8), True)) == 1 + 2
    found = create_detector("blazepose_multi").detect([np.full((2, 1000, 3), 128, np.uint8)])
    assert found[0].num_people == 0
    padded, scale, _ = letterbox(np.full((1, 2000, 3), 128, np.uint8), 640, 640)
    assert padded.shape == (640, 640, 3) and scale == pytest.approx(0.32)


def test_distinct_rois_merges_one_body_seen_twice():
    roi = np.array([[500, 800, 900, 0], [510, 880, 700, 0], [700, 700, 900, 0]], float)
    # 2nd: offset 80.6 <= 0.15 * 900 -> same body; 3rd: offset 223.6 > 135 -> another person
    np.testing.assert_array_equal(distinct_rois(roi, 0.15), [0, 2])


def test_one_body_seen_by_whole_frame_and_tile_is_one_person():
    capture = cv2.VideoCapture(str(video_paths("single")[1]))
    for _ in range(16):  # frame 15 of cam02: the lower tile sees this body as a second person
        ok, image = capture.read()
    capture.release()
    assert ok
    assert create_detector("blazepose_multi").detect([image])[0].num_people == 1


def test_two_stage_litert_finds_several_people():
    results = create_detector("blazepose_multi").detect(first_frames("multi")[0])
    counts = [r.num_people for r in results]
    assert counts == [2] * len(results), counts  # both people, once each, in every camera
    for det in results:  # distinct people, not one body twice
        centres = (det.boxes[:, :2] + det.boxes[:, 2:]) / 2
        assert np.linalg.norm(centres[0] - centres[1]) > 50


def test_convert_detections_to_coco_and_h36m():
    det = create_detector("blazepose_multi").detect(first_frames("single")[0][:1])[0]
    coco = convert_detections(det, "coco17")
    assert coco.layout is COCO17 and coco.keypoints.shape == (1, 17, 2)
    np.testing.assert_array_equal(coco.keypoints[0, COCO17.index("left_knee")],
                                  det.keypoints[0, BLAZEPOSE33.index("left_knee")])
    h36m = convert_detections(det, H36M17)
    pelvis = det.keypoints[0, [BLAZEPOSE33.index("left_hip"), BLAZEPOSE33.index("right_hip")]]
    np.testing.assert_allclose(h36m.keypoints[0, 0], pelvis.mean(axis=0), atol=1e-3)
    assert h36m.world.shape == (1, 17, 3)


def test_densified_detector_equals_original(tmp_path):
    from pose3d_ros.core.detection.blazepose_multi import LiteRTRunner
    from pose3d_ros.tools.convert_blazepose_onnx import densify_tflite
    original = mediapipe_model_paths()[0]
    dense = tmp_path / "dense.tflite"
    assert densify_tflite(original, dense) == 38
    square = letterbox_square(first_frames("multi")[0][0], 224)[0][None] * 2 - 1
    for a, b in zip(LiteRTRunner(original)(square), LiteRTRunner(dense)(square), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)


ONNX_READY = (default_model_dir() / "pose_landmark_full.onnx").is_file()


# Skipped only outside the whole suite: scripts/test.sh (what CI runs) converts the models first
# and sets POSE3D_ONNX_REQUIRED, so there a missing model is a failure.
ONNX_REQUIRED = bool(os.environ.get("POSE3D_ONNX_REQUIRED"))


@pytest.mark.skipif(not ONNX_READY and not ONNX_REQUIRED,
                    reason="BlazePose ONNX models not converted on this machine "
                    "(python -m pose3d_ros.tools.convert_blazepose_onnx)")
def test_onnx_path_agrees_with_litert_path():
    frames = first_frames("multi")[0]
    litert = create_detector("blazepose_multi").detect(frames)
    onnx = create_detector("blazepose_onnx").detect(frames)
    for a, b in zip(litert, onnx, strict=True):
        assert a.num_people == b.num_people
        if a.num_people:
            diff = np.linalg.norm(a.keypoints - b.keypoints, axis=-1)
            assert np.nanmax(diff) < 2.0, np.nanmax(diff)  # pixels


@pytest.mark.skipif(not ONNX_READY and not ONNX_REQUIRED,
                    reason="BlazePose ONNX models not converted on this machine "
                    "(python -m pose3d_ros.tools.convert_blazepose_onnx)")
def test_padded_batches_give_the_same_people_and_joints():
    """What a GPU runs by default (batches padded to the sizes run at start), forced on the
    CPU: the real frames' 2D as without padding, and only those sizes ever run."""
    frames = first_frames("multi", 3)
    plain = create_detector("blazepose_onnx")
    padded = create_detector("blazepose_onnx", pad_batches=True)
    landmarks = padded._landmarker.model
    assert sorted(landmarks.warm_up_ms) == [1, 2, 4, 8, 16]
    for frame_set in frames:   # three cameras of two people: 6 crops, padded to 8
        for a, b in zip(plain.detect(frame_set[:3]), padded.detect(frame_set[:3]),
                        strict=True):
            assert a.num_people == b.num_people
            np.testing.assert_allclose(a.keypoints, b.keypoints, atol=0.05)  # pixels
            np.testing.assert_allclose(a.scores, b.scores, atol=1e-3)
    assert 6 in plain._landmarker.model.batch_sizes_seen
    assert landmarks.batch_sizes_seen == {1, 2, 4, 8, 16}
    crops = np.random.default_rng(0).uniform(0, 1, (19, 256, 256, 3)).astype(np.float32)
    for a, b in zip(plain._landmarker.model.run(crops), landmarks.run(crops), strict=True):
        assert a.shape == b.shape and a.shape[0] == 19
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
