"""Multi-person BlazePose: MediaPipe's person detector, then the landmark model on every person.

Both stages follow MediaPipe's pose graphs (pose_detection_cpu, pose_detection_to_roi,
pose_landmark_by_roi):
  1. the whole image is letterboxed to 224x224, values in [-1, 1]; the detector's SSD output
     is decoded with MediaPipe's anchors and weighted NMS (ssd_anchors.py); elongated images
     are also seen as square tiles (an addition to MediaPipe, see detector_views);
  2. each person's ROI is a square centred on detector keypoint 0 (hip centre), side
     2 * |kp1 - kp0| * 1.25, rotated so that kp0 -> kp1 points up;
  3. the ROI is cropped to 256x256 (values in [0, 1]; past the image edge the edge repeats, as
     MediaPipe's ImageToTensorCalculator) and the landmark model gives 39 points
     (33 body + 2 auxiliary + 4 unused) in crop pixels, refined with the model's 64x64
     heatmaps (refine_from_heatmap), projected back through the rotation; world landmarks
     (metres, hip-centred) are rotated by the ROI rotation as MediaPipe does. A landmark's
     score is its visibility times its presence (both sigmoids of the model's logits, the
     two figures MediaPipe's Tasks API gives): visibility alone stays high for a joint
     outside the image (a person cut at mid-thigh by the image's bottom edge: knees 0.68-0.85,
     their presence 0.2-0.3; presence 0.93-1.0 for every joint in the image).
With `track` (the default), as in MediaPipe's video graph, each person's ROI in the next frame
comes from the auxiliary landmarks 33 (hip centre) and 34 (body size and rotation) by the same
rule as step 2, and the detector runs only to find people: on one view per pass, when a camera
has no track or lost one, and every `redetect_every` frames or `search_within_s` seconds of
capture time, whichever comes first. That periodic search for new
people runs in the background (`background_search`): on a thread of its own while the caller
goes on, its people joining the tracks at the next frame, so the frames it falls on cost no
more than the others. `track=False` runs the detector on every view of every frame (no
history).

The stages run through "runners" (callables from a float32 NHWC batch to the model's output
arrays, each with a leading batch axis): LiteRT here, onnxruntime in blazepose_onnx.py.
"""
from __future__ import annotations

import importlib.util
import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from ..layouts import BLAZEPOSE33
from ..types import Detections2D
from .base import (
    camera_indices,
    capture_stamps,
    check_images,
    check_limits,
    nms,
    rgb_unit_float,
    sigmoid,
)
from .ssd_anchors import PersonDetections, decode_pose_detector, weighted_nms

Runner = Callable[[np.ndarray], list[np.ndarray]]

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
NUM_MODEL_LANDMARKS = 39
NUM_TRACKED_LANDMARKS = 35  # 33 body + 2 auxiliary (hip centre, body size/rotation) for the ROI
ROI_SCALE = 1.25
DETECTOR_NMS_IOU = 0.3  # MediaPipe's pose detector NMS threshold
HEATMAP_KERNEL = 7               # MediaPipe's pose graph: window of the heatmap refinement
HEATMAP_MIN_CONFIDENCE = 0.5     # refine a landmark only where its heatmap is this confident
# MediaPipe's pose_landmark_by_roi leaves ImageToTensorCalculator's border mode unset, which
# is replicate: the part of an ROI past the image edge repeats the edge. Black there made the
# landmark model squeeze a person cut by the edge into the image (results_onecam.md, s56).
LANDMARK_BORDER = cv2.BORDER_REPLICATE
# the fills the landmark_border option names (the benchmarks compare them: bench_cutoff.py,
# compare_detector_outputs.py): MediaPipe's, and black (this back-end's before session 56)
LANDMARK_BORDERS = {"replicate": cv2.BORDER_REPLICATE, "zero": cv2.BORDER_CONSTANT}


def refine_from_heatmap(points: np.ndarray, heatmaps: np.ndarray, crop_size: int,
                        kernel: int = HEATMAP_KERNEL,
                        min_confidence: float = HEATMAP_MIN_CONFIDENCE) -> np.ndarray:
    """Landmarks moved to the confidence-weighted centre of their heatmap around them, as
    MediaPipe's pose graph does after the landmark model (RefineLandmarksFromHeatmap).

    points: (N, L, 2) crop pixels (0 .. crop_size); heatmaps: (N, H, W, C >= L) raw logits,
    channel l for landmark l. In a kernel x kernel window (clipped at the heatmap's edges)
    around the heatmap cell holding each landmark, the cell indices are averaged with
    sigmoid(logit) as weights; a landmark is moved only where the window's largest weight
    reaches min_confidence, and one whose cell lies outside the heatmap is kept. Returns the
    (N, L, 2) crop pixels."""
    n, count = points.shape[:2]
    height, width = heatmaps.shape[1:3]
    if n == 0:
        return points
    # Heatmap cell of each landmark (truncated towards zero, as a C++ float -> int cast).
    col = np.trunc(points[..., 0] / crop_size * width).astype(np.intp)
    row = np.trunc(points[..., 1] / crop_size * height).astype(np.intp)
    inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    steps = np.arange(kernel) - (kernel - 1) // 2
    cols = col[..., None] + steps                                    # (N, L, K)
    rows = row[..., None] + steps
    valid = ((cols >= 0) & (cols < width))[:, :, None, :] & \
        ((rows >= 0) & (rows < height))[:, :, :, None]               # (N, L, K rows, K cols)
    logits = heatmaps[np.arange(n)[:, None, None, None],
                      np.clip(rows, 0, height - 1)[:, :, :, None],
                      np.clip(cols, 0, width - 1)[:, :, None, :],
                      np.arange(count)[None, :, None, None]]
    weight = np.where(valid, sigmoid(logits), 0.0)
    total = weight.sum(axis=(2, 3))
    safe = np.where(total > 0, total, 1.0)
    centre_col = (weight.sum(axis=2) * cols).sum(axis=2) / safe
    centre_row = (weight.sum(axis=3) * rows).sum(axis=2) / safe
    refine = inside & (total > 0) & (weight.max(axis=(2, 3)) >= min_confidence)
    refined = np.stack([centre_col / width, centre_row / height], axis=-1) * crop_size
    return np.where(refine[..., None], refined, points).astype(points.dtype)


def distinct_rois(roi: np.ndarray, max_offset: float) -> np.ndarray:
    """Indices of ROIs (N, 4), best first, whose centre is farther than max_offset x the larger
    side from every ROI kept before it. Two views (whole image, tile) can see one body as two
    detections whose boxes barely overlap but whose body ROIs nearly coincide."""
    offset = np.linalg.norm(roi[:, None, :2] - roi[None, :, :2], axis=-1)         # (N, N)
    close = offset <= max_offset * np.maximum(roi[:, None, 2], roi[None, :, 2])
    kept: list[int] = []
    for i in range(len(roi)):
        if not close[i, kept].any():
            kept.append(i)
    return np.asarray(kept, dtype=np.intp)


# Most square tiles detector_views adds along an elongated image's long side (a 16:9 image
# takes 2, an 8:1 panorama 8).
MAX_DETECTOR_TILES = 8


def detector_views(image: np.ndarray, tiles: bool) -> list[tuple[int, int, int, int]]:
    """Regions (x0, y0, width, height) the person detector looks at: the whole image and, with
    `tiles` and an elongated image, squares of the short side spread along the long side.

    The detector sees a 224x224 letterbox: people standing a few metres from a portrait
    1080x1920 camera are then ~70 px tall and often missed; in a square tile they are 1.8x
    larger (measured on the demo: second person found far more often).
    """
    height, width = image.shape[:2]
    regions = [(0, 0, width, height)]
    short, long = min(height, width), max(height, width)
    if not tiles or long < 1.2 * short:
        return regions
    # at most MAX_DETECTOR_TILES (a review: a 3 x 1001 image made 334 tiles, 3.6 s a frame);
    # past that many the tiles leave gaps along the long side
    count = min(int(np.ceil(long / short)), MAX_DETECTOR_TILES)
    for start in np.linspace(0, long - short, count).round().astype(int):
        regions.append((0, int(start), width, short) if height > width
                       else (int(start), 0, short, height))
    return regions


def mediapipe_model_paths() -> tuple[Path, Path]:
    """(pose_detection.tflite, pose_landmark_full.tflite) inside the installed mediapipe wheel,
    found without importing mediapipe (its import, with matplotlib, took 0.9-1.2 s of every
    start of a node on this back-end, which runs on LiteRT and uses nothing else of it)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the BlazePose weights come from the mediapipe==0.10.14 wheel; "
                          "install it (pip install mediapipe==0.10.14)")
    root = Path(next(iter(spec.submodule_search_locations))) / "modules"
    paths = (root / "pose_detection" / "pose_detection.tflite",
             root / "pose_landmark" / "pose_landmark_full.tflite")
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing from the installed mediapipe wheel")
    return paths


# LiteRTRunner's stand-in for an output its caller never reads
_SKIPPED = np.empty(0, np.float32)


class LiteRTRunner:
    """A .tflite model on the LiteRT interpreter (ai-edge-litert), one item at a time."""

    def __init__(self, path: Path | str, num_threads: int | None = None,
                 skip_outputs: tuple[int, ...] = ()) -> None:
        """skip_outputs: the indices of outputs the caller never reads (an empty array in
        their place: not copied out of the interpreter)."""
        from ai_edge_litert.interpreter import Interpreter
        self._skip = frozenset(skip_outputs)
        self._interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        # Outputs ordered by name (Identity, Identity_1, ...) as the model declares them.
        self._outputs = sorted(self._interpreter.get_output_details(), key=lambda d: d["name"])
        self.input_shape = tuple(int(v) for v in self._input["shape"])

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        if len(batch) == 1:         # get_tensor's copy has the batch axis already: no stack
            return self._invoke(batch)
        results = [self._invoke(item[None]) for item in batch]
        return [_SKIPPED if k in self._skip else np.concatenate(parts)
                for k, parts in enumerate(zip(*results, strict=True))]

    def _invoke(self, item: np.ndarray) -> list[np.ndarray]:
        """The outputs of one item (1, ...) (their batch axis 1; skipped ones _SKIPPED)."""
        interpreter = self._interpreter
        interpreter.set_tensor(self._input["index"], item)
        interpreter.invoke()
        return [_SKIPPED if k in self._skip else interpreter.get_tensor(o["index"])
                for k, o in enumerate(self._outputs)]


def letterbox_square(image: np.ndarray, size: int) -> tuple[np.ndarray, float, np.ndarray]:
    """Resize into a size x size square keeping aspect ratio, zero padding centred.

    Returns (square RGB float32 in [0, 1], scale in square px per image px, pad (2,) in
    square px). image pixel = (square pixel - pad) / scale.
    """
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
    pad = np.array([(size - new_w) // 2, (size - new_h) // 2])
    square = np.zeros((size, size, 3), np.uint8)
    square[pad[1]:pad[1] + new_h, pad[0]:pad[0] + new_w] = resized
    return rgb_unit_float(square), scale, pad.astype(np.float32)


def roi_from_detection(keypoints_px: np.ndarray) -> np.ndarray:
    """Person ROIs (N, 4) [centre_x, centre_y, side, rotation] in image px / radians from the
    detector keypoints (N, 4, 2) in image pixels (MediaPipe's AlignmentPointsRects, 90 deg)."""
    centre = keypoints_px[:, 0]
    delta = keypoints_px[:, 1] - centre
    side = 2.0 * np.linalg.norm(delta, axis=1) * ROI_SCALE
    rotation = np.pi / 2 - np.arctan2(-delta[:, 1], delta[:, 0])
    rotation = rotation - 2 * np.pi * np.floor((rotation + np.pi) / (2 * np.pi))
    return np.concatenate([centre, side[:, None], rotation[:, None]], axis=1)


def crop_to_image_affine(roi: np.ndarray, size: int) -> np.ndarray:
    """2x3 affine (N, 2, 3) mapping crop pixels (size x size) to image pixels for ROIs (N, 4)."""
    cos, sin = np.cos(roi[:, 3]), np.sin(roi[:, 3])
    step = roi[:, 2] / size
    linear = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], 1) * step[:, None,
                                                                                         None]
    offset = roi[:, :2] - np.einsum("nij,j->ni", linear, np.array([size / 2, size / 2]))
    return np.concatenate([linear, offset[:, :, None]], axis=2)


def landmark_crops(images: Sequence[np.ndarray], affine: np.ndarray,
                   owner: np.ndarray, border: int = LANDMARK_BORDER) -> np.ndarray:
    """The landmark model's input crops (N, 256, 256, 3) uint8: image owner[i] warped by the
    crop -> image affine[i] (N, 2, 3), bilinear; crop pixels past the image edge filled the
    OpenCV `border` way (default: repeating the edge, LANDMARK_BORDER, as MediaPipe's graph)."""
    crops = np.empty((len(affine), LANDMARK_SIZE, LANDMARK_SIZE, 3), np.uint8)
    for i in range(len(affine)):  # warped straight into the batch: no per-crop array, no stack
        cv2.warpAffine(images[owner[i]], affine[i], (LANDMARK_SIZE, LANDMARK_SIZE),
                       dst=crops[i], flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                       borderMode=border)
    return crops


@dataclass
class CameraTracks:
    """ROI tracking state of one camera: rois (T, 4) predicted for the next frame from the
    last landmarks (centre x, y, side px, rotation rad); frames since the last person-detector
    pass; the next detector view to look at; detector passes left in the current sweep of all
    views (one per frame: at start, after a loss, while nobody is tracked); whether a track
    was lost in the last frame; the image shape the state belongs to; the periodic search
    running in the background on the last frame (its people's ROIs (N, 4), joined at the next
    frame), if any; the capture time (s) the periodic search's clock counts from (None:
    unknown, frames only)."""

    rois: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    since_search: int = 0
    next_view: int = 0
    sweep_left: int = 0
    lost: bool = False
    shape: tuple[int, ...] = ()
    pending: Future | None = None
    searched_at: float | None = None


class TwoStageBlazePose:
    """BlazePose detector + landmark model on every detected person (BLAZEPOSE33 output).

    Options:
      min_detection_score: person detector threshold (MediaPipe: 0.5).
      min_presence_score: landmark model's pose-presence threshold (MediaPipe: 0.5).
      max_people: most people per image.
      duplicate_iou: two people whose landmark boxes overlap more than this are one person
        (the detector can fire twice on one body); the higher presence score is kept.
      duplicate_centre: two detections whose body ROI centres are closer than this fraction
        of the larger ROI side are one person (0.15; on the demo, one body seen twice: 0.07-0.11,
        two people side by side: >= 0.18); a person right behind another is then lost.
      tiles: also run the person detector on square tiles of elongated images (True); the
        detections of all views are merged with MediaPipe's weighted NMS.
      track: ROI tracking per camera, as MediaPipe's own video graph (True): each person's ROI
        for the next frame comes from its auxiliary landmarks. The person detector runs on
        every view of a camera's first frame, then on ONE view per frame (whole image, then
        each tile in turn) only while the camera has nobody tracked or just lost a track (a
        sweep of all views, one per frame), or every `redetect_every` frames to look for new
        people. False: the detector runs on every view of every frame (no history).
      redetect_every: frames between two detector passes while every track holds (10).
      search_within_s: the periodic pass also runs once this many seconds of capture time
        (detect's `stamps`) have passed since the camera's last pass, when that comes before
        `redetect_every` frames: below 10 frames a second (1.0 s); a camera at 3 Hz was
        searched every 3.3 s, each of an elongated image's three views every 10 s. 0: frames
        only (also without stamps). Above 10 Hz it changes nothing (a node that keeps up
        with 8 sets a second searches every 8th instead of every 10th).
      background_search: the periodic pass (every `redetect_every` frames or
        `search_within_s`, while every track holds) runs on a thread of its own after the
        frame's landmarks, and the people it finds join the tracks at the camera's next
        frame, which waits for it if it is still running (so the output does not depend on
        timing). True (default): a live node's
        frames cost the same whether the pass falls on them or not (1 camera at 30 fps on 2
        cores: 23 ms on those frames against 10 ms, benchmarks/results_realtime.md); a new
        person appears one frame later. False: the pass runs within the frame it falls on.
        Searches after a loss, at start and while nobody is tracked always run within the
        frame.
      refine_landmarks: move the landmarks (body and auxiliary) by the landmark model's
        heatmaps, as MediaPipe's pose graph does (True; False: the raw regression output).
      landmark_border: how the landmark crop is filled past the image edge, a name of
        LANDMARK_BORDERS ("replicate", MediaPipe's and the default; "zero": black, as before
        session 56, for the benchmarks that compare the two).
    """

    layout = BLAZEPOSE33

    def __init__(self, detector: Runner, landmarker: Runner, *, name: str,
                 min_detection_score: float = 0.5, min_presence_score: float = 0.5,
                 max_people: int = 10, duplicate_iou: float = 0.5,
                 duplicate_centre: float = 0.15, tiles: bool = True, track: bool = True,
                 redetect_every: int = 10, search_within_s: float = 1.0,
                 refine_landmarks: bool = True,
                 background_search: bool = True, runtime: str = "",
                 landmark_border: str = "replicate") -> None:
        check_limits(name, max_people, min_detection_score=min_detection_score,
                     min_presence_score=min_presence_score, duplicate_iou=duplicate_iou)
        if redetect_every < 1:
            raise ValueError(f"redetect_every must be >= 1, got {redetect_every}")
        if not (math.isfinite(search_within_s) and search_within_s >= 0.0):
            raise ValueError(f"search_within_s must be a finite number of seconds >= 0 (0: "
                             f"frames only), got {search_within_s!r}")
        if landmark_border not in LANDMARK_BORDERS:
            raise ValueError(f"landmark_border must be one of {sorted(LANDMARK_BORDERS)}, got "
                             f"{landmark_border!r}")
        self.landmark_border = landmark_border
        self.name = name
        self.runtime = runtime            # where the models run, in words (for logs)
        self.duplicate_centre = duplicate_centre
        self.tiles = tiles
        self.track = track
        self.redetect_every = redetect_every
        self.search_within_s = float(search_within_s)
        self.refine_landmarks = refine_landmarks
        self.background_search = background_search and track
        self._detector = detector
        self._landmarker = landmarker
        # The person detector is called from the caller's thread and from the background
        # search's: one call at a time.
        self._detector_lock = threading.Lock()
        self._searcher: ThreadPoolExecutor | None = None
        self.min_detection_score = min_detection_score
        self.min_presence_score = min_presence_score
        self.max_people = max_people
        self.duplicate_iou = duplicate_iou
        self._tracks: dict[int, CameraTracks] = {}
        self.last_detector_views = 0  # detector views run by the last detect() (diagnostics)
        self.last_background_views = 0  # views it left to the background search

    def detect(self, images: Sequence[np.ndarray], cameras: Sequence[int] | None = None,
               stamps: Sequence[float] | None = None) -> list[Detections2D]:
        """cameras: the camera index of each image (its ROI tracks); default 0, 1, ...
        stamps: each image's capture time (s), for `search_within_s`; None: frames only.
        With background_search, an image may still be read by the background search after
        this call returns: the caller must not change it before the next call returns."""
        images = check_images(images, f"{self.name}.detect")
        cameras = camera_indices(cameras, len(images), f"{self.name}.detect")
        times = capture_stamps(stamps, len(images), f"{self.name}.detect")
        if not images:
            return []
        searched = [self._background_result(camera, image.shape)
                    for camera, image in zip(cameras, images, strict=True)]
        due = [(k, region, periodic) for k, image in enumerate(images)
               for region, periodic in self._views_to_search(cameras[k], image, times[k])]
        later = [(k, region) for k, region, periodic in due
                 if periodic and self.background_search]
        searches = [(k, region) for k, region, periodic in due
                    if not (periodic and self.background_search)]
        self.last_detector_views, self.last_background_views = len(searches), len(later)
        found = self._find_people(images, searches)
        rois, owners, tracked_counts = [], [], []
        for k, camera in enumerate(cameras):
            tracked = self._tracks[camera].rois if self.track else np.zeros((0, 4))
            tracked_counts.append(len(tracked))
            new = np.concatenate([searched[k], found[k]])
            roi = np.concatenate([tracked, new]) if len(new) else tracked
            roi = roi[distinct_rois(roi, self.duplicate_centre)][:self.max_people]
            rois.append(roi)
            owners.append(np.full(len(roi), k))
        roi = np.concatenate(rois)
        owner = np.concatenate(owners)
        landmarks = self._landmarks(images, roi, owner)
        results = []
        for k, (camera, image) in enumerate(zip(cameras, images, strict=True)):
            det, next_rois = self._collect(landmarks, owner == k, image.shape)
            if self.track:
                state = self._tracks[camera]
                state.lost = len(next_rois) < tracked_counts[k]
                state.rois = next_rois
            results.append(det)
        for k, region in later:       # after the landmarks: the search uses the idle time
            self._tracks[cameras[k]].pending = self._background().submit(
                self._find_people, [images[k]], [(0, region)])
        return results

    def _background_result(self, camera: int, shape: tuple[int, ...]) -> np.ndarray:
        """ROIs (N, 4) found by the camera's background search on its previous frame (waits
        for it if it is still running), none if no search ran or that frame had another
        shape than this one (the camera starts afresh)."""
        state = self._tracks.get(camera)
        if state is None or state.pending is None:
            return np.zeros((0, 4))
        pending, state.pending = state.pending, None
        found = pending.result()[0]
        return found if state.shape == shape else np.zeros((0, 4))

    def _background(self) -> ThreadPoolExecutor:
        """The thread of the background search (created on first use)."""
        if self._searcher is None:
            self._searcher = ThreadPoolExecutor(max_workers=1,
                                                thread_name_prefix=f"{self.name}_search")
        return self._searcher

    def _views_to_search(self, camera: int, image: np.ndarray, stamp: float | None = None
                         ) -> list[tuple[tuple[int, int, int, int], bool]]:
        """The detector views (x0, y0, width, height) to run on this camera's image now,
        each with whether it is the periodic search for new people (every track holds).
        stamp: the image's capture time (s), None if unknown."""
        views = detector_views(image, self.tiles)
        if not self.track:
            return [(view, False) for view in views]
        state = self._tracks.get(camera)
        if state is None or state.shape != image.shape:  # first frame: every view at once
            # Cameras start at different phases: their periodic passes fall on different
            # frames, and as far into the time interval as into the frame count.
            phase = camera % self.redetect_every
            self._tracks[camera] = CameraTracks(
                shape=image.shape, since_search=phase,
                searched_at=None if stamp is None
                else stamp - self.search_within_s * phase / self.redetect_every)
            return [(view, False) for view in views]
        if state.lost or (not len(state.rois) and state.sweep_left <= 0):
            state.sweep_left = len(views)  # start, loss, nobody: every view, one per frame
            state.lost = False
        periodic = state.sweep_left <= 0
        if state.sweep_left > 0:
            state.sweep_left -= 1
        elif state.since_search + 1 < self.redetect_every and not self._search_overdue(
                state, stamp):
            state.since_search += 1
            return []
        state.since_search = 0
        state.searched_at = stamp
        view = views[state.next_view % len(views)]
        state.next_view += 1
        return [(view, periodic)]

    def _search_overdue(self, state: CameraTracks, stamp: float | None) -> bool:
        """Whether search_within_s of capture time have passed since the camera's last
        pass (never without both stamps; a clock that went back waits for the frame count,
        which then restarts the time from the new stamps)."""
        return (self.search_within_s > 0.0 and stamp is not None
                and state.searched_at is not None
                and stamp - state.searched_at >= self.search_within_s)

    def _find_people(self, images: list[np.ndarray],
                     searches: list[tuple[int, tuple[int, int, int, int]]]) -> list[np.ndarray]:
        """Person detector on the (image index, region) views, one batch; per image the ROIs
        (N, 4) of the people found, best first, after weighted NMS over its views."""
        found: list[list[PersonDetections]] = [[] for _ in images]
        if searches:
            squares, placements = [], []
            for k, (x0, y0, side_x, side_y) in searches:
                square, scale, pad = letterbox_square(images[k][y0:y0 + side_y, x0:x0 + side_x],
                                                      DETECTOR_SIZE)
                squares.append(square)
                placements.append((scale, pad, np.asarray((x0, y0), np.float32)))
            with self._detector_lock:
                raw_boxes, raw_scores = self._detector(np.stack(squares) * 2.0 - 1.0)[:2]
            for v, (k, _) in enumerate(searches):
                people = decode_pose_detector(raw_boxes[v], raw_scores[v],
                                              min_score=self.min_detection_score,
                                              max_people=self.max_people)
                scale, pad, to_image = placements[v]
                found[k].append(PersonDetections(
                    ((people.boxes.reshape(-1, 2, 2) * DETECTOR_SIZE - pad) / scale
                     + to_image).reshape(-1, 4),
                    (people.keypoints * DETECTOR_SIZE - pad) / scale + to_image,
                    people.scores))
        rois = []
        for parts in found:
            if not parts:
                rois.append(np.zeros((0, 4)))
                continue
            people = weighted_nms(np.concatenate([p.boxes for p in parts]),
                                  np.concatenate([p.keypoints for p in parts]),
                                  np.concatenate([p.scores for p in parts]),
                                  DETECTOR_NMS_IOU, self.max_people)
            roi = roi_from_detection(people.keypoints)
            rois.append(roi[distinct_rois(roi, self.duplicate_centre)])
        return rois

    def _landmarks(self, images: list[np.ndarray], roi: np.ndarray,
                   owner: np.ndarray) -> tuple[np.ndarray, ...]:
        """Run the landmark model on every ROI; returns image px (N, 33, 2), landmark scores
        (N, 33) (visibility x presence), the people's presence (N,), world metres
        (N, 33, 3), the ROIs (N, 4) for the next frame from the auxiliary landmarks."""
        n = len(roi)
        if n == 0:
            return (np.zeros((0, 33, 2), np.float32), np.zeros((0, 33), np.float32),
                    np.zeros((0,), np.float32), np.zeros((0, 33, 3), np.float32),
                    np.zeros((0, 4)))
        affine = crop_to_image_affine(roi, LANDMARK_SIZE)
        batch = rgb_unit_float(landmark_crops(images, affine, owner,
                                              LANDMARK_BORDERS[self.landmark_border]))
        out = self._landmarker(batch)
        marks = out[0].reshape(n, NUM_MODEL_LANDMARKS, 5)[:, :NUM_TRACKED_LANDMARKS]
        presence = out[1].reshape(n)
        world = out[4].reshape(n, NUM_MODEL_LANDMARKS, 3)[:, :33]
        crop_xy = marks[..., :2]
        if self.refine_landmarks:
            crop_xy = refine_from_heatmap(crop_xy, out[3], LANDMARK_SIZE)
        crop_xy1 = np.concatenate([crop_xy,
                                   np.ones((n, NUM_TRACKED_LANDMARKS, 1), np.float32)], axis=2)
        keypoints = np.einsum("nij,nkj->nki", affine, crop_xy1)
        cos, sin = np.cos(roi[:, 3]), np.sin(roi[:, 3])
        wx = cos[:, None] * world[..., 0] - sin[:, None] * world[..., 1]
        wy = sin[:, None] * world[..., 0] + cos[:, None] * world[..., 1]
        world = np.stack([wx, wy, world[..., 2]], axis=-1)
        scores = sigmoid(marks[:, :33, 3]) * sigmoid(marks[:, :33, 4])  # visible x present
        return (keypoints[:, :33].astype(np.float32), scores.astype(np.float32),
                presence.astype(np.float32), world.astype(np.float32),
                roi_from_detection(keypoints[:, 33:35]))

    def _collect(self, landmarks: tuple[np.ndarray, ...], mine: np.ndarray,
                 shape: tuple[int, ...]) -> tuple[Detections2D, np.ndarray]:
        """One image's people (presence above threshold, duplicates removed) and their ROIs
        (P, 4) for the next frame."""
        keypoints, scores, presence, world, next_roi = (a[mine] for a in landmarks)
        size = (int(shape[1]), int(shape[0]))
        keep = presence >= self.min_presence_score
        keypoints, scores, presence, world, next_roi = (keypoints[keep], scores[keep],
                                                        presence[keep], world[keep],
                                                        next_roi[keep])
        if len(keypoints) == 0:
            return Detections2D.empty(self.layout, size), np.zeros((0, 4))
        boxes = np.concatenate([keypoints.min(axis=1), keypoints.max(axis=1)], axis=1)
        idx = nms(boxes, presence, self.duplicate_iou)
        return Detections2D(keypoints=keypoints[idx], scores=scores[idx],
                            boxes=boxes[idx].astype(np.float32), person_scores=presence[idx],
                            layout=self.layout, image_size=size, world=world[idx]), next_roi[idx]

    def reset(self, cameras: Sequence[int] | None = None) -> None:
        """Forget the tracks of these camera indices (None: every camera), and what their
        background searches find; their next frame is searched as a first one. For a jump in
        time, or a camera whose pixels moved with its image keeping its size (a region of
        interest moved: the tracked ROIs, in the old image's pixels, cropped the wrong place;
        a review: a skeleton 160-340 px off at scores 0.8-1.0 for 3 frames). A search still
        running is waited for: it reads the caller's image (detect)."""
        for camera in list(self._tracks) if cameras is None else cameras:
            state = self._tracks.pop(camera, None)
            if state is not None and state.pending is not None:
                wait([state.pending])

    def close(self) -> None:
        """Release both models (run after close: RuntimeError), the tracks and the
        background search's thread (after its running search)."""
        if self._searcher is not None:
            self._searcher.shutdown(wait=True)
            self._searcher = None
        self._detector = self._landmarker = _closed_runner
        self._tracks.clear()


def _closed_runner(batch: np.ndarray) -> list[np.ndarray]:
    raise RuntimeError("this detector was closed")


def create_litert_blazepose(*, num_threads: int | None = None,
                            **options: Any) -> TwoStageBlazePose:
    """Multi-person BlazePose on LiteRT with the .tflite files of the mediapipe wheel.

    num_threads: LiteRT threads per model (default: every core this process may use; LiteRT's
    own default is one)."""
    from .parallel import worker_count
    num_threads = num_threads or worker_count()
    detector_path, landmark_path = mediapipe_model_paths()
    return TwoStageBlazePose(LiteRTRunner(detector_path, num_threads),
                             # output 2, the 256x256 segmentation mask, is never read
                             LiteRTRunner(landmark_path, num_threads, skip_outputs=(2,)),
                             name="blazepose_multi", runtime=f"LiteRT on the CPU "
                             f"({num_threads} threads)", **options)
