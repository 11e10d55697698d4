"""2D BlazePose-33 keypoints of the demo recordings (and of any synchronised videos) as arrays
(F, V, P, J), for the multi-view evaluation, the self-calibration, the triangulation benchmark
and tests.

A thin layer over the package's own 2D back-ends and their disk cache
(pose3d_ros.core.detection.cache.detect_video_set), so the offline figures are made with the
same detectors the nodes run:

* single-person recording: mediapipe BlazePose ("blazepose", tracking mode) with mediapipe's
  landmark smoothing on, the setting the multi-view figures of benchmarks/ were measured with;
* multi-person recording: the two-stage multi-person BlazePose ("blazepose_multi").

The command line is pose3d_ros.tools.demo_2d.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .data_paths import video_paths

DEMO_DETECTORS: dict[str, tuple[str, dict]] = {
    "single": ("blazepose", {"smooth_landmarks": True}),
    "multi": ("blazepose_multi", {}),
}


@dataclass(frozen=True)
class Demo2D:
    """Per-frame, per-camera 2D people of one recording.

    keypoints: (F, V, P, J, 2) float32 raw pixels, NaN where absent; scores: (F, V, P, J)
    float32 in [0, 1], 0 where absent; image_sizes: (V, 2) int (width, height); cameras: V
    names (the video file stems).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    image_sizes: np.ndarray
    cameras: tuple[str, ...]


def detect_videos(paths: list[Path], detector: str = "blazepose", *,
                  frames: int | None = None, use_cache: bool = True, **options: Any) -> Demo2D:
    """2D people of synchronised videos (one per camera) from a package back-end, cached."""
    from .detection.cache import detect_video_set

    per_cam = detect_video_set(paths, detector, max_frames=frames, use_cache=use_cache,
                               **options)
    n = min(len(d.num_people) for d in per_cam)
    p = max(1, max(int(d.num_people[:n].max(initial=0)) for d in per_cam))
    j = per_cam[0].layout.num_joints
    keypoints = np.full((n, len(per_cam), p, j, 2), np.nan, np.float32)
    scores = np.zeros((n, len(per_cam), p, j), np.float32)
    for v, d in enumerate(per_cam):
        width = min(p, d.keypoints.shape[1])
        keypoints[:, v, :width] = d.keypoints[:n, :width]
        scores[:, v, :width] = np.where(np.isfinite(d.keypoints[:n, :width, :, 0]),
                                        d.scores[:n, :width], 0.0)
    return Demo2D(keypoints, scores, np.array([d.image_size for d in per_cam]),
                  tuple(Path(path).stem for path in paths))


def load_demo_2d(name: str, frames: int | None = None, use_cache: bool = True,
                 progress: bool = False) -> Demo2D:
    """2D of a demo recording ('single' or 'multi') with its detector (see DEMO_DETECTORS);
    progress: a progress bar while the 2D is computed (the tools: 20-90 s uncached)."""
    if name not in DEMO_DETECTORS:
        raise ValueError(f"unknown demo recording {name!r}; known: {sorted(DEMO_DETECTORS)}")
    detector, options = DEMO_DETECTORS[name]
    return detect_videos(video_paths(name), detector, frames=frames, use_cache=use_cache,
                         progress=progress, **options)
