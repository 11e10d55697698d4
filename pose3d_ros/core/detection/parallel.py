"""Per-camera detectors run side by side on a shared thread pool.

mediapipe graphs, onnxruntime and LiteRT release the GIL while they run, so one thread per
camera keeps every core busy where a loop over the cameras would leave all but one idle
(measured on a 2-core VM: benchmarks/results_nodes.md).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import numpy as np

from ..types import Detections2D

DETECTION_POOL_PREFIX = "pose3d_detect"   # name prefix of the pool's threads
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


def detect_per_camera(detectors: Sequence[Any], images: Sequence[np.ndarray]) -> list[Detections2D]:
    """detectors[k].detect([images[k]])[0] for every k, in parallel when there are several.

    detectors: one stateful detector per image (a detector is never used by two threads at
    once: each camera's tracker sees its own frames in order). Exceptions propagate.
    """
    if len(detectors) != len(images):
        raise ValueError(f"{len(detectors)} detectors for {len(images)} images")
    if len(images) <= 1:
        return [d.detect([im])[0] for d, im in zip(detectors, images, strict=True)]
    futures = [camera_pool().submit(d.detect, [im])
               for d, im in zip(detectors, images, strict=True)]
    return [f.result()[0] for f in futures]
