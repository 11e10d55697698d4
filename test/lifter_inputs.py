"""Short real inputs for the lifter tools' tests: BlazePose on the first frames of a demo
(once per test process), recording folders that link a demo's files, and the 2D caches
train_lifter and eval_lifter read, so a tool runs on a few frames without detecting again."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from pose3d_ros.core.data_paths import calibration_path, recording_inputs, video_paths
from pose3d_ros.core.lifting.dataset import detect_video_blazepose, save_views


@lru_cache(maxsize=None)
def demo_2d(recording: str = "single", frames: int = 12) -> tuple:
    """BlazePose ViewDetections of the first `frames` frames of each camera of a demo."""
    return tuple(detect_video_blazepose(p, max_frames=frames, progress=False)
                 for p in video_paths(recording))


def recording_folder(root: Path, recording: str = "single") -> Path:
    """A recording folder of a demo's videos and calibration (symbolic links)."""
    (root / "videos").mkdir(parents=True)
    (root / "calibration").mkdir()
    for video in video_paths(recording):
        (root / "videos" / video.name).symlink_to(video)
    (root / "calibration" / "Calib.qca.txt").symlink_to(calibration_path(recording))
    return root


def cache_2d(cache: Path, recording: str, views,
             frames: int | Sequence[int | None] | None = None) -> None:
    """The 2D cache the lifter tools read for `recording`: the first `frames` frames (all:
    None; or one number per view) of views."""
    cut = list(frames) if isinstance(frames, Sequence) else [frames] * len(views)
    cache.mkdir(exist_ok=True)
    save_views(cache / f"{recording_inputs(recording)[2]}_blazepose.npz",
               [replace(v, keypoints=v.keypoints[:n], scores=v.scores[:n], world=v.world[:n])
                for v, n in zip(views, cut, strict=True)])
