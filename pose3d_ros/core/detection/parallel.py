"""Per-camera detectors run side by side on a shared thread pool.

mediapipe graphs, onnxruntime and LiteRT release the GIL while they run, so one thread per
camera keeps every core busy where a loop over the cameras would leave all but one idle
(measured on a 2-core VM: benchmarks/results_nodes.md).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from ..types import Detections2D
from .base import detect_images

DETECTION_POOL_PREFIX = "pose3d_detect"   # name prefix of the pool's threads
_Result = TypeVar("_Result")
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def worker_count() -> int:
    """Threads of the shared pool: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def camera_pool() -> ThreadPoolExecutor:
    """The process-wide pool that runs per-camera detection (created on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=worker_count(),
                                       thread_name_prefix=DETECTION_POOL_PREFIX)
        return _pool


def map_on_pool(function: Callable[..., _Result], *arguments: Sequence[Any]) -> list[_Result]:
    """[function(*args) for args in zip(*arguments)], each call on the shared pool; returns
    when EVERY call has ended, then raises the first call's exception if any did. (Returning
    at the first exception, as Executor.map does, let the caller's next set start the same
    stateful detectors while the other calls of the failed set still ran in them: two threads
    in one camera's tracker, found by a review.)"""
    futures = [camera_pool().submit(function, *args) for args in zip(*arguments, strict=True)]
    wait(futures)
    return [future.result() for future in futures]


def detect_per_camera(detectors: Sequence[Any], images: Sequence[np.ndarray],
                      stamps: Sequence[float] | None = None) -> list[Detections2D]:
    """detectors[k].detect([images[k]], stamps=[stamps[k]])[0] for every k, in parallel when
    there are several (stamps: capture times in s, left out for a detector that takes none).

    detectors: one stateful detector per image (a detector is never used by two threads at
    once: each camera's tracker sees its own frames in order). Exceptions propagate.
    """
    if len(detectors) != len(images):
        raise ValueError(f"{len(detectors)} detectors for {len(images)} images")
    if stamps is not None and len(stamps) != len(images):
        raise ValueError(f"{len(stamps)} stamps for {len(images)} images")
    each = [None] * len(images) if stamps is None else [[stamp] for stamp in stamps]

    def one(detector: Any, image: np.ndarray, stamp: list[float] | None) -> Detections2D:
        return detect_images(detector, [image], stamps=stamp)[0]

    if len(images) <= 1:
        return [one(*args) for args in zip(detectors, images, each, strict=True)]
    return map_on_pool(one, detectors, images, each)
