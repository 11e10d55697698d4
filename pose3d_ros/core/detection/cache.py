"""2D detections of whole multi-camera videos, cached on disk.

    per_camera = detect_video_set(video_paths("multi"), "blazepose_multi")
    per_camera[0].keypoints  # (T, P, J, 2) pixels, NaN where no person / no joint

The videos are read in lock step (frame t of every camera goes to the detector as one batch,
so trackers and batching behave as in the live pipeline). Results are stored as one .npz per
camera under <data>/cache/detections/ (<data>: data_paths.default_data_dir(), $POSE3D_DATA
if set), keyed by the video file (path, size, mtime), the detector name and its options; a
later call with the same key loads them instead.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..data_paths import default_data_dir
from ..image_decode import jpeg_round_trip
from ..layouts import JointLayout, get_layout
from ..output_files import DamagedFileError, cache_kept, npz_file, write_atomically
from ..types import Detections2D, as_image_size
from ..video import KEEP_FIRST_FRAMES, end_of_videos, warn_unequal_lengths

log = logging.getLogger(__name__)

CACHE_VERSION = 4  # bump when every back-end's output changes (4: blazepose_multi/onnx track ROIs)
# Revisions of single back-ends, so a change of one leaves the others' cached 2D valid
# (1: the two-stage back-ends refine their landmarks with the heatmaps; 2: their periodic
# search for new people runs in the background, its people joining one frame later; 3: the
# landmark crop repeats the image edge past it, as MediaPipe's graph, instead of black; 4, and
# blazepose's 1: a landmark's score is low or 0 outside the image: visibility x presence, or
# 0 where mediapipe's solution API gives no presence).
BACKEND_REVISIONS = {"blazepose": 1, "blazepose_multi": 4, "blazepose_onnx": 4}


@dataclass
class VideoDetections:
    """Detections of one camera over T frames, people padded to P with NaN.

    keypoints: (T, P, J, 2) float32 pixels; scores: (T, P, J); boxes: (T, P, 4);
    person_scores: (T, P); world: (T, P, J, 3) metres or None; num_people: (T,) int;
    image_size: (width, height); layout: joint layout of J.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    person_scores: np.ndarray
    num_people: np.ndarray
    image_size: tuple[int, int]
    layout: JointLayout
    world: np.ndarray | None = None

    @property
    def detection_rate(self) -> float:
        """Fraction of frames with at least one person."""
        return float(np.mean(self.num_people > 0)) if len(self.num_people) else 0.0

    def frame(self, t: int) -> Detections2D:
        """Frame t as a Detections2D (padding removed)."""
        n = int(self.num_people[t])
        world = None if self.world is None else self.world[t, :n]
        return Detections2D(self.keypoints[t, :n], self.scores[t, :n], self.boxes[t, :n],
                            self.person_scores[t, :n], self.layout, self.image_size, world)


def stack_detections(frames: Sequence[Detections2D], layout: JointLayout,
                     image_size: tuple[int, int]) -> VideoDetections:
    """Pad a list of per-frame detections into arrays (people axis padded with NaN)."""
    t, j = len(frames), layout.num_joints
    p = max([d.num_people for d in frames] + [1])
    keypoints = np.full((t, p, j, 2), np.nan, np.float32)
    scores = np.full((t, p, j), np.nan, np.float32)
    boxes = np.full((t, p, 4), np.nan, np.float32)
    person_scores = np.full((t, p), np.nan, np.float32)
    has_world = any(d.world is not None for d in frames)
    world = np.full((t, p, j, 3), np.nan, np.float32) if has_world else None
    counts = np.zeros(t, np.int64)
    for i, det in enumerate(frames):
        n = det.num_people
        counts[i] = n
        keypoints[i, :n], scores[i, :n] = det.keypoints, det.scores
        boxes[i, :n], person_scores[i, :n] = det.boxes, det.person_scores
        if world is not None and det.world is not None:
            world[i, :n] = det.world
    return VideoDetections(keypoints, scores, boxes, person_scores, counts, image_size, layout,
                           world)


def cache_dir() -> Path:
    return default_data_dir() / "cache" / "detections"


def _model_identity(value: object) -> object:
    """A model file's identity (path, size, modification time), or the same of the model
    files of a folder, for an option naming one; None for any other option."""
    if not isinstance(value, (str, Path)) or not str(value):
        return None
    path = Path(value)
    files = (sorted(p for p in path.iterdir() if p.suffix in (".onnx", ".tflite", ".pt"))
             if path.is_dir() else [path] if path.is_file() else [])
    return [[str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns] for p in files] or None


def _backend_identity(detector_name: str) -> list:
    """What a back-end's 2D depends on beyond its options: the installed mediapipe (its
    models ship in the wheel) and the converted BlazePose ONNX models."""
    import importlib.metadata

    if detector_name in ("blazepose", "blazepose_multi"):
        try:
            return ["mediapipe", importlib.metadata.version("mediapipe")]
        except importlib.metadata.PackageNotFoundError:
            return []
    if detector_name == "blazepose_onnx":
        return [_model_identity(default_data_dir() / "models" / "blazepose")]
    return []


def cache_key(path: Path, detector_name: str, options: dict) -> str:
    """Hash of the video file identity, the detector and its options, and the identity of
    the model files it runs (a review: a model replaced at the same path, or a mediapipe
    upgrade, gave the old cached 2D)."""
    stat = path.stat()
    models = {k: _model_identity(v) for k, v in options.items()}
    text = json.dumps([CACHE_VERSION, str(path.resolve()), stat.st_size, int(stat.st_mtime),
                       detector_name, sorted((k, repr(v)) for k, v in options.items()),
                       sorted((k, v) for k, v in models.items() if v is not None),
                       _backend_identity(detector_name)])
    if detector_name in BACKEND_REVISIONS:
        text += f" revision {BACKEND_REVISIONS[detector_name]}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _save(target: Path, det: VideoDetections) -> None:
    """Write one camera's detections to its cache file, whole or not at all (another process
    may be writing the same file: each writes its own temporary file)."""
    arrays: dict[str, Any] = dict(
        keypoints=det.keypoints, scores=det.scores, boxes=det.boxes,
        person_scores=det.person_scores, num_people=det.num_people,
        image_size=np.array(det.image_size), layout=np.array(det.layout.name))
    if det.world is not None:
        arrays["world"] = det.world
    write_atomically(target, lambda file: np.savez_compressed(file, **arrays))


def _load(source: Path) -> VideoDetections:
    with npz_file(source, "a detection cache file") as data:
        return VideoDetections(
            data["keypoints"], data["scores"], data["boxes"], data["person_scores"],
            data["num_people"], as_image_size(data["image_size"]),
            get_layout(str(data["layout"])), data["world"] if "world" in data else None)


def detect_video_set(paths: Sequence[Path | str], detector_name: str, *,
                     max_frames: int | None = None, use_cache: bool = True,
                     jpeg_reduction: int | None = None, cache_folder: Path | None = None,
                     progress: bool = False, keep: str | None = KEEP_FIRST_FRAMES,
                     **options: Any) -> list[VideoDetections]:
    """Detections of synchronised videos (one per camera), from the cache when present.

    paths: video files in camera order. detector_name, options: as create_detector.
    max_frames: stop after this many frames (all frames by default; the shortest video
    decides). jpeg_reduction: None detects on the frames as the video decodes them; R (1, 2,
    4, 8) sends each frame through JPEG (image_decode.jpeg_round_trip, as image_transport publishes
    it) decoded at 1/R, as the node decodes compressed input, the 2D mapped back to
    full-resolution pixels. cache_folder: where the cache lives (default cache_dir()).
    progress: a progress bar over the frames (core.output_files.progress). keep: how the
    calling tool keeps a damaged video's first frames (video.end_of_videos; None: it has no
    such option). Returns one VideoDetections per camera.
    """
    import cv2

    from . import create_detector
    videos = [Path(p) for p in paths]
    for path in videos:
        if not path.is_file():
            raise FileNotFoundError(f"video {path} does not exist")
    key_options = dict(options, max_frames=max_frames)
    if jpeg_reduction is not None:
        key_options["jpeg_reduction"] = jpeg_reduction
    if len(videos) > 1:
        # one detector serves the set (its background person search is shared), and a camera's
        # 2D in a set is not always its 2D alone (multi cam03: 306 px apart in some frames)
        key_options["video_set"] = [str(p.resolve()) for p in videos]
    folder = cache_dir() if cache_folder is None else Path(cache_folder)
    targets = [folder / f"{p.stem}_{detector_name}_{cache_key(p, detector_name, key_options)}"
               f".npz" for p in videos]
    if use_cache and all(t.is_file() for t in targets):
        try:
            return [_load(t) for t in targets]
        except DamagedFileError as exc:     # (a disk error, a copy cut short): detect again
            log.warning("%s: detecting again", exc)
    from ..output_files import progress as progress_bar

    captures = [cv2.VideoCapture(str(p)) for p in videos]
    detector = create_detector(detector_name, **options)
    per_camera: list[list[Detections2D]] = [[] for _ in videos]
    sizes: list[tuple[int, int]] = [(0, 0)] * len(videos)
    total = max(min(int(c.get(cv2.CAP_PROP_FRAME_COUNT)) for c in captures), 0)  # 0: unknown
    if max_frames is not None:
        total = min(total, max_frames)
    # frames are read in sets until the shortest video ends: told (a review: calibrate cut
    # its videos to the shortest without a word)
    counts = [max(int(c.get(cv2.CAP_PROP_FRAME_COUNT)), 0) for c in captures]
    warned = warn_unequal_lengths(videos, counts, max_frames)
    bar = progress_bar(total or None, f"2D ({detector_name})") \
        if progress else None
    try:
        while max_frames is None or len(per_camera[0]) < max_frames:
            frames = [c.read() for c in captures]
            if not all(ok for ok, _ in frames):
                # a damaged video is refused, one that ends before the others told (a
                # review: calibrate cut every camera at a damaged or shorter WebM silently)
                end_of_videos(videos, [not ok for ok, _ in frames], len(per_camera[0]),
                              counts, warned, keep)
                break
            images = [image for _, image in frames]
            sizes = [(im.shape[1], im.shape[0]) for im in images]
            if jpeg_reduction is not None:
                images = [jpeg_round_trip(image, jpeg_reduction) for image in images]
            for k, det in enumerate(detector.detect(images)):
                per_camera[k].append(det.upscaled(jpeg_reduction or 1, sizes[k]))
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
        detector.close()
        for capture in captures:
            capture.release()
    results = [stack_detections(frames, detector.layout, size)
               for frames, size in zip(per_camera, sizes, strict=True)]
    if use_cache:
        for target, result in zip(targets, results, strict=True):
            cache_kept(functools.partial(_save, target, result), target, "the 2D cache")
    return results
