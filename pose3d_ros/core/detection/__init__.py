"""2D pose detection back-ends behind one interface (pure core: no ROS imports).

    detector = create_detector("blazepose")          # or "blazepose_multi", "blazepose_onnx",
    results = detector.detect([image_cam0, image_cam1])  # "yolo_pose", "rtmpose", "heatmap"

Each result is a `pose3d_ros.core.types.Detections2D` in the detector's `layout`
(BLAZEPOSE33 for BlazePose, COCO17 for the ONNX models); `convert_detections` maps it to
COCO17 or H36M17. See docs/detectors.md for every back-end's options.
"""
from __future__ import annotations

from typing import Any, Sequence

from .base import PoseDetector, convert_detections

DETECTOR_NAMES = ("blazepose", "blazepose_multi", "blazepose_onnx", "yolo_pose", "rtmpose",
                  "heatmap")
# The default back-end of the nodes and tools: the tracked two-stage BlazePose on LiteRT (every
# person, heatmap-refined landmarks; as accurate as mediapipe's own graph against the 4-view
# triangulation of the demo and cheaper on the 2-core CPU: benchmarks/results_realtime.md).
DEFAULT_DETECTOR = "blazepose_multi"


# The two-stage BlazePose back-ends (person detector, then landmarks on tracked ROIs).
TWO_STAGE_DETECTORS = ("blazepose_multi", "blazepose_onnx")


# The back-ends that give metric 3D beside the 2D (BlazePose's world landmarks,
# Detections2D.world): what monocular_method 'detector_3d' places.
METRIC_3D_DETECTORS = ("blazepose",) + TWO_STAGE_DETECTORS


def monocular_method_problem(method: str, detector: str) -> str:
    """Why monocular method `method` cannot run on back-end `detector`, in one sentence
    ("" when it can): 'detector_3d' places the detector's metric 3D, which only the BlazePose
    back-ends give (found by an audit: yolo_pose with detector_3d configured, then failed on
    every frame with a person)."""
    if method == "detector_3d" and detector not in METRIC_3D_DETECTORS:
        return (f"monocular_method 'detector_3d' places the detector's metric 3D, which "
                f"{detector!r} does not give (only {list(METRIC_3D_DETECTORS)} do): use the "
                "lifter, or a BlazePose back-end")
    return ""


# Bring-your-own ONNX back-ends: the pose model's file is the user's (option `model`); the
# top-down ones also need a YOLO person detector's file (option `person_detector`).
ONNX_MODEL_DETECTORS = ("yolo_pose", "rtmpose", "heatmap")
TOP_DOWN_DETECTORS = ("rtmpose", "heatmap")


def missing_model_files(name: str, model: str, person_detector: str) -> str:
    """What back-end `name` lacks among the model files it needs, in words ("" when nothing):
    the ONNX back-ends need `model`, the top-down ones `person_detector` too."""
    missing = [what for what, needed, given in (
        ("its ONNX pose model", name in ONNX_MODEL_DETECTORS, model),
        ("a YOLO person detector's ONNX file", name in TOP_DOWN_DETECTORS, person_detector))
        if needed and not given]
    return " and ".join(missing)


# The back-ends that run on onnxruntime (TensorRT, CUDA or CPU; the others on the CPU).
ONNXRUNTIME_DETECTORS = ("blazepose_onnx",) + ONNX_MODEL_DETECTORS


def providers_problem(name: str, providers: Sequence[str], runtime: str) -> str:
    """Why back-end `name`, running on `runtime` (its .runtime), does not run where
    `providers` (detector_providers' short names, 'auto' for the best usable) asked, in one
    sentence ("" when it does or nothing was asked)."""
    requested = [p for p in providers if p != "auto"]
    if not requested:
        return ""
    if name not in ONNXRUNTIME_DETECTORS:
        return (f"detector_providers {requested} is for the onnxruntime back-ends "
                f"{list(ONNXRUNTIME_DETECTORS)}; {name!r} runs on {runtime}")
    from .onnx_session import PROVIDER_NAMES, provider_label
    first = provider_label(PROVIDER_NAMES[requested[0]])
    if first in runtime.split():
        return ""
    return (f"detector_providers {requested}: {first} is not usable here (no GPU, or "
            "onnxruntime-gpu and its CUDA/TensorRT libraries missing; docs/detectors.md); "
            f"the detector runs on {runtime}")


def node_detector_options(name: str, *, background_search: bool, model: str = "",
                          person_detector: str = "",
                          providers: Sequence[str] = (), max_people: int = 0,
                          search_within_s: float | None = None) -> dict[str, Any]:
    """The create_detector options of back-end `name` that the nodes' parameters set:
    person_search_in_background and person_search_within_s (two-stage back-ends; None: the
    back-end's own), detector_model and
    person_detector_model (the ONNX back-ends; ValueError naming what is missing),
    detector_providers (onnxruntime back-ends: short names of onnx_session.PROVIDER_NAMES in
    preference order; empty or 'auto': the best usable), detector_max_people (the most people
    per image of the multi-person back-ends; 0: the back-end's own, 10 for the two-stage
    BlazePose, 20 for the ONNX ones; mediapipe's graph follows one person)."""
    options: dict[str, Any] = {}
    if max_people > 0 and name != "blazepose":
        options["max_people"] = max_people
    if name in ONNXRUNTIME_DETECTORS and [p for p in providers if p != "auto"]:
        from .onnx_session import PROVIDER_NAMES
        options["providers"] = [PROVIDER_NAMES[p] for p in providers]
    if name in TWO_STAGE_DETECTORS:
        if search_within_s is not None:
            options["search_within_s"] = search_within_s
        return {**options, "background_search": background_search}
    if name not in ONNX_MODEL_DETECTORS:
        return options
    if missing := missing_model_files(name, model, person_detector):
        raise ValueError(f"detector {name!r} needs {missing} (docs/detectors.md, "
                         "bring-your-own ONNX models)")
    options["model"] = model
    if name in TOP_DOWN_DETECTORS:
        options["person_detector"] = person_detector
    return options


def create_detector(name: str, **options: Any) -> PoseDetector:
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
           "DEFAULT_DETECTOR", "TWO_STAGE_DETECTORS", "ONNX_MODEL_DETECTORS",
           "TOP_DOWN_DETECTORS", "METRIC_3D_DETECTORS", "ONNXRUNTIME_DETECTORS",
           "missing_model_files", "monocular_method_problem", "node_detector_options",
           "providers_problem"]
