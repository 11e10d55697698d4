"""2D pose detection back-ends behind one interface (pure core: no ROS imports).

    detector = create_detector("blazepose")          # or "blazepose_multi", "blazepose_onnx",
    results = detector.detect([image_cam0, image_cam1])  # "yolo_pose", "rtmpose", "heatmap"

Each result is a `pose3d_ros.core.types.Detections2D` in the detector's `layout`
(BLAZEPOSE33 for BlazePose, COCO17 for the ONNX models); `convert_detections` maps it to
COCO17 or H36M17. See docs/detectors.md for every back-end's options.
"""
from __future__ import annotations

from typing import Any

from .base import PoseDetector, convert_detections

DETECTOR_NAMES = ("blazepose", "blazepose_multi", "blazepose_onnx", "yolo_pose", "rtmpose",
                  "heatmap")
# The default back-end of the nodes and tools: the tracked two-stage BlazePose on LiteRT (every
# person, heatmap-refined landmarks; as accurate as mediapipe's own graph against the 4-view
# triangulation of the demo and cheaper on the 2-core CPU: benchmarks/results_realtime.md).
DEFAULT_DETECTOR = "blazepose_multi"


# The two-stage BlazePose back-ends (person detector, then landmarks on tracked ROIs).
TWO_STAGE_DETECTORS = ("blazepose_multi", "blazepose_onnx")


def node_detector_options(name: str, *, background_search: bool) -> dict[str, Any]:
    """The create_detector options of back-end `name` that the nodes' parameters set
    (person_search_in_background: two-stage back-ends only); other back-ends get none."""
    return {"background_search": background_search} if name in TWO_STAGE_DETECTORS else {}


def create_detector(name: str, **options) -> PoseDetector:
    """A detector back-end by name; options are the keyword arguments of its class."""
    if name == "blazepose":
        from .blazepose_mediapipe import MediapipeBlazePose
        return MediapipeBlazePose(**options)
    if name == "blazepose_multi":
        from .blazepose_multi import create_litert_blazepose
        return create_litert_blazepose(**options)
    if name == "blazepose_onnx":
        from .blazepose_onnx import create_onnx_blazepose
        return create_onnx_blazepose(**options)
    if name == "yolo_pose":
        from .onnx_models import YoloPoseDetector
        return YoloPoseDetector(**options)
    if name == "rtmpose":
        from .onnx_models import RTMPoseDetector
        return RTMPoseDetector(**options)
    if name == "heatmap":
        from .onnx_models import HeatmapPoseDetector
        return HeatmapPoseDetector(**options)
    raise ValueError(f"unknown detector {name!r}; known: {list(DETECTOR_NAMES)}")


__all__ = ["PoseDetector", "create_detector", "convert_detections", "DETECTOR_NAMES",
           "DEFAULT_DETECTOR", "TWO_STAGE_DETECTORS", "node_detector_options"]
