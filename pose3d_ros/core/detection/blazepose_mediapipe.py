"""BlazePose through mediapipe's own single-person solution (the offline default).

mediapipe 0.10.14 ships the "full" landmark model (model_complexity=1) and the person detector
in its wheel, so this back-end works with no download. One `mediapipe.solutions.pose.Pose`
runs per camera index in video mode: it detects a person once, then tracks the landmark ROI
from frame to frame. Single person per camera by design of that solution.
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import cv2
import numpy as np

from ..array_ops import in_image
from ..layouts import BLAZEPOSE33
from ..types import Detections2D
from .base import boxes_from_keypoints, camera_indices, check_images
from .parallel import map_on_pool

# mediapipe 0.10.14 calls a protobuf API that newer protobuf releases deprecate, once per frame;
# the warning says nothing a user can act on and buries the node's own log lines.
warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated",
                        category=UserWarning)


class MediapipeBlazePose:
    """mediapipe BlazePose (33 joints), one person per camera, one tracker per camera index.

    Options:
      model_complexity: 1 (the only one shipped in the wheel; 0 and 2 download at run time).
      static_image_mode: True runs the person detector on every frame (no tracking).
      min_detection_confidence, min_tracking_confidence: mediapipe's thresholds in [0, 1].
      smooth_landmarks: mediapipe's own temporal filter (off by default: the package filters
        later, and raw per-frame 2D is what triangulation wants).
    Scores are mediapipe's per-landmark visibility, 0 for a landmark outside the image;
    person_score is the mean visibility (the solution API does not expose its pose-presence
    flag).
    """

    layout = BLAZEPOSE33
    runtime = "mediapipe on the CPU"

    def __init__(self, *, model_complexity: int = 1, static_image_mode: bool = False,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 smooth_landmarks: bool = False) -> None:
        if model_complexity != 1:
            raise ValueError("model_complexity must be 1: mediapipe 0.10.14 ships only the full "
                             f"landmark model, {model_complexity} would be downloaded at run time")
        import mediapipe as mp  # imported here: optional dependency
        self._pose_class = mp.solutions.pose.Pose
        self._options = dict(static_image_mode=static_image_mode, model_complexity=1,
                             smooth_landmarks=smooth_landmarks, enable_segmentation=False,
                             min_detection_confidence=min_detection_confidence,
                             min_tracking_confidence=min_tracking_confidence)
        # camera index -> (its mediapipe graph, the image shape it tracks in)
        self._trackers: dict[int, tuple[Any, tuple[int, ...]]] = {}
        self.name = "blazepose"

    def _tracker(self, camera: int, shape: tuple[int, ...]) -> Any:
        """The camera's graph, made anew when its images change shape: mediapipe keeps its
        region of interest as a fraction of the image, which lands elsewhere in an image of
        another aspect (a review: the first frame after a switch to 3:4 came back with a
        skeleton 53-655 px off at a score of 0.9; blazepose_multi starts such a camera
        afresh too). One graph per index used (a list grown up to index 40 made 41)."""
        held = self._trackers.get(camera)
        if held is not None and held[1] == shape:
            return held[0]
        if held is not None:
            held[0].close()
        tracker = self._pose_class(**self._options)
        self._trackers[camera] = (tracker, shape)
        return tracker

    def detect(self, images: Sequence[np.ndarray], cameras: Sequence[int] | None = None,
               stamps: Sequence[float] | None = None) -> list[Detections2D]:
        """cameras: the camera index of each image (its tracker); default 0, 1, ...
        stamps: accepted for the common interface (mediapipe's graph searches by itself).
        Several images: the cameras' graphs run side by side on the shared thread pool
        (detection/parallel.py), each tracker on one thread at a time, as per-camera
        instances would."""
        images = check_images(images, "MediapipeBlazePose.detect")
        cameras = camera_indices(cameras, len(images), "MediapipeBlazePose.detect")
        trackers = [self._tracker(k, image.shape)           # made here, not in the pool's
                    for k, image in zip(cameras, images, strict=True)]   # threads
        if len(images) <= 1:
            return [self._detect_one(t, image) for t, image in zip(trackers, images, strict=True)]
        return map_on_pool(self._detect_one, trackers, images)

    def _detect_one(self, tracker: Any, image: np.ndarray) -> Detections2D:
        height, width = image.shape[:2]
        # cvtColor: ~1 ms per 1080x1920 frame, against ~18 ms for a strided numpy copy.
        result = tracker.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        if result.pose_landmarks is None:
            return Detections2D.empty(self.layout, (width, height))
        marks = np.array([(m.x, m.y, m.visibility) for m in result.pose_landmarks.landmark],
                         dtype=np.float32)
        keypoints = (marks[None, :, :2] * np.array([width, height], np.float32))
        # the solution API gives no landmark presence (blazepose_multi's scores take it), and
        # visibility stays 0.6-0.86 for joints outside the image (a person cut at mid-thigh
        # by the bottom edge): a joint the image does not show scores 0
        scores = np.where(in_image(keypoints, (width, height)), marks[None, :, 2], 0.0)
        world = None
        if result.pose_world_landmarks is not None:
            world = np.array([(m.x, m.y, m.z) for m in result.pose_world_landmarks.landmark],
                             dtype=np.float32)[None]
        return Detections2D(keypoints=keypoints, scores=scores,
                            boxes=boxes_from_keypoints(keypoints),
                            person_scores=marks[None, :, 2].mean(axis=1), layout=self.layout,
                            image_size=(width, height), world=world)

    def reset(self, cameras: Sequence[int] | None = None) -> None:
        """Forget the people tracked in these camera indices (None: every camera), e.g. after
        a jump in time, or when a camera's pixels moved with its image keeping its size (a
        region of interest moved: the graph's ROI would land elsewhere)."""
        for camera in list(self._trackers) if cameras is None else cameras:
            held = self._trackers.pop(camera, None)
            if held is not None:
                held[0].close()

    def close(self) -> None:
        for tracker, _ in self._trackers.values():
            tracker.close()
        self._trackers = {}
