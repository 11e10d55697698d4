"""The demo's first camera alone with its cached real 2D: the one-camera tests' shared input."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def demo_camera():
    """(rig, its first camera, that camera's cached real 2D: BlazePose-33 of the 'single'
    recording, one person, 100 frames at 60 fps)."""
    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.data_paths import calibration_path, video_paths
    from pose3d_ros.core.detection.cache import detect_video_set

    rig = load_rig(calibration_path("single"))
    return rig, rig[0], detect_video_set([video_paths("single")[0]], "blazepose")[0]
