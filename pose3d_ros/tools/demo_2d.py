"""2D BlazePose-33 keypoints of the demo recordings, computed once and cached as .npz.

Until the package's own 2D back-end (pose3d_ros/core/detection) is available, this runs
mediapipe 0.10.14's BlazePose solution (`model_complexity=1`, the weights shipped in the wheel,
offline) on every frame of every camera:

* single-person recording: tracking mode (`static_image_mode=False`), one person per image;
* multi-person recording: mediapipe's solution finds one person per call and the wheel ships no
  PoseLandmarker `.task` model (so `num_poses` is unavailable). Several people are found by
  iterative masking: detect a person in static-image mode, paint their (enlarged) box grey,
  detect again, up to `max_people` per image. Detection order is arbitrary, which is exactly
  what cross-view association has to cope with.

Cache: $POSE3D_DATA/cache/demo2d_<name>_mediapipe.npz with
  keypoints (F, V, P, 33, 2) float32 raw pixels (NaN where absent),
  scores (F, V, P, 33) float32 landmark visibility in [0, 1] (0 where absent),
  image_sizes (V, 2) int (width, height), cameras (V,) names.

Usage: python -m pose3d_ros.tools.demo_2d [single|multi ...] [--frames N]
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose3d_ros.core.layouts import BLAZEPOSE33
from pose3d_ros.tools.fetch_demo import CAMERAS, default_data_dir, video_paths

log = logging.getLogger(__name__)

MAX_PEOPLE = {"single": 1, "multi": 3}


@dataclass
class Demo2D:
    """Per-frame, per-camera 2D people of one demo recording (see module docstring)."""

    keypoints: np.ndarray  # (F, V, P, J, 2) float32 raw pixels
    scores: np.ndarray  # (F, V, P, J) float32
    image_sizes: np.ndarray  # (V, 2) int
    cameras: tuple[str, ...]


def cache_path(name: str, data_dir: Path | None = None) -> Path:
    return (data_dir or default_data_dir()) / "cache" / f"demo2d_{name}_mediapipe.npz"


def _landmarks_to_array(result, width: int, height: int) -> tuple[np.ndarray, np.ndarray] | None:
    if result.pose_landmarks is None:
        return None
    lms = result.pose_landmarks.landmark
    xy = np.array([[lm.x * width, lm.y * height] for lm in lms], np.float32)
    vis = np.array([lm.visibility for lm in lms], np.float32)
    return xy, vis


def detect_video(path: Path, max_people: int, frames: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Run BlazePose on one video. Returns keypoints (F, P, 33, 2), scores (F, P, 33), (w, h)."""
    import cv2
    import mediapipe as mp

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"cannot open video {path}")
    width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    n_frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    if frames is not None:
        n_frames = min(n_frames, frames)
    j = BLAZEPOSE33.num_joints
    keypoints = np.full((n_frames, max_people, j, 2), np.nan, np.float32)
    scores = np.zeros((n_frames, max_people, j), np.float32)
    static = max_people > 1
    with mp.solutions.pose.Pose(static_image_mode=static, model_complexity=1,
                                min_detection_confidence=0.5) as pose:
        for f in range(n_frames):
            ok, bgr = cap.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            for p in range(max_people):
                found = _landmarks_to_array(pose.process(rgb), width, height)
                if found is None:
                    break
                keypoints[f, p], scores[f, p] = found
                if p + 1 < max_people:
                    _mask_person(rgb, found[0])
    cap.release()
    return keypoints, scores, (width, height)


def _mask_person(rgb: np.ndarray, xy: np.ndarray) -> None:
    """Paint the box around a person's landmarks (enlarged by 15 %) grey, in place."""
    h, w = rgb.shape[:2]
    lo, hi = np.nanmin(xy, axis=0), np.nanmax(xy, axis=0)
    pad = 0.15 * (hi - lo) + 10
    u0, v0 = np.clip(lo - pad, 0, [w, h]).astype(int)
    u1, v1 = np.clip(hi + pad, 0, [w, h]).astype(int)
    rgb[v0:v1, u0:u1] = 127


def load_demo_2d(name: str, frames: int | None = None, data_dir: Path | None = None,
                 use_cache: bool = True) -> Demo2D:
    """2D keypoints of a demo recording; read from the cache, else computed (and cached when
    all frames were computed). `frames` limits the number of leading frames returned."""
    path = cache_path(name, data_dir)
    if use_cache and path.is_file():
        with np.load(path) as z:
            out = Demo2D(z["keypoints"], z["scores"], z["image_sizes"],
                         tuple(str(c) for c in z["cameras"]))
    else:
        per_cam = [detect_video(p, MAX_PEOPLE[name], frames) for p in video_paths(name, data_dir)]
        n = min(k.shape[0] for k, _, _ in per_cam)
        out = Demo2D(np.stack([k[:n] for k, _, _ in per_cam], axis=1),
                     np.stack([s[:n] for _, s, _ in per_cam], axis=1),
                     np.array([sz for _, _, sz in per_cam]), CAMERAS)
        if frames is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(path, keypoints=out.keypoints, scores=out.scores,
                                image_sizes=out.image_sizes, cameras=np.array(out.cameras))
    if frames is not None:
        out = Demo2D(out.keypoints[:frames], out.scores[:frames], out.image_sizes, out.cameras)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=["single", "multi"])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--recompute", action="store_true", help="ignore an existing cache")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in args.names:
        d = load_demo_2d(name, data_dir=args.data_dir, use_cache=not args.recompute)
        seen = np.isfinite(d.keypoints[..., 0, 0]).sum(axis=(0, 2))
        print(f"{name}: {d.keypoints.shape} people-detections per camera {seen.tolist()} "
              f"-> {cache_path(name, args.data_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
