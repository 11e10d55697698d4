"""The floor of BlazePose on these cores: the landmark model only, on ROIs tracked from the
previous frame, crops of all cameras batched, every core used (#13).

Measured with the package's own two-stage back-ends with the person detector pushed out of
the way (`redetect_every` larger than the run; the first call, which detects, is not timed):
what remains per call is the crops (cv2.warpAffine), the landmark model on the batch, and the
projection of the landmarks back to the image, plus well under a millisecond of bookkeeping.
The faster of LiteRT (XNNPACK, threads = cores) and onnxruntime (CPU, intra-op threads =
cores) is the floor.
"""
from __future__ import annotations

import statistics
import time
from typing import Sequence

import numpy as np

from pose3d_ros.core.detection import create_detector

FLOOR_BACKENDS = ("blazepose_multi", "blazepose_onnx")
FLOOR_OPTIONS = {"redetect_every": 10 ** 9}  # the person detector never runs after frame 0


def floor_detector(backend: str):
    """A two-stage back-end that, after its first call (a full search), runs the landmark
    model only: the person detector never runs again while a track holds."""
    return create_detector(backend, **FLOOR_OPTIONS)


def landmark_only_ms(backend: str, sets: Sequence[Sequence[np.ndarray]]) -> list[float]:
    """Milliseconds per call of the floor configuration of `backend` on frame sets 1.. with
    ROIs tracked from set 0, counting only calls that ran no detector view."""
    detector = floor_detector(backend)
    try:
        detector.detect(sets[0])
        times = []
        for images in sets[1:]:
            start = time.perf_counter()
            detector.detect(images)
            if detector.last_detector_views == 0:
                times.append((time.perf_counter() - start) * 1000)
        return times
    finally:
        detector.close()


def floor_ms(sets: Sequence[Sequence[np.ndarray]]) -> tuple[float, str]:
    """(median ms per frame set, back-end) of the faster floor back-end available here."""
    best = (float("inf"), "none")
    for backend in FLOOR_BACKENDS:
        try:
            times = landmark_only_ms(backend, sets)
        except (FileNotFoundError, ImportError):
            continue
        if times and statistics.median(times) < best[0]:
            best = (statistics.median(times), backend)
    return best
