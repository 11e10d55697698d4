"""The 2D back-end arguments of the tools that run one (run, evaluate): --detector, and the
model files of the bring-your-own ONNX back-ends (--detector-model, --person-detector-model),
checked before any computation and turned into create_detector options."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pose3d_ros.core.detection import (
    DEFAULT_DETECTOR,
    DETECTOR_NAMES,
    ONNX_MODEL_DETECTORS,
    TOP_DOWN_DETECTORS,
    missing_model_files,
    monocular_method_problem,
)
from pose3d_ros.core.output_files import UserError


def add_detector_arguments(parser: argparse.ArgumentParser) -> None:
    """--detector, --detector-model and --person-detector-model."""
    parser.add_argument("--detector", default=DEFAULT_DETECTOR,
                        help=f"2D back-end (default {DEFAULT_DETECTOR}: every person; blazepose: "
                        "mediapipe's graph, one person per camera; blazepose_onnx; or a "
                        "bring-your-own ONNX model: yolo_pose, rtmpose, heatmap)")
    parser.add_argument("--detector-model", type=Path, default=None,
                        help="--detector yolo_pose, rtmpose or heatmap: the ONNX pose model "
                        "(formats in docs/detectors.md)")
    parser.add_argument("--person-detector-model", type=Path, default=None,
                        help="--detector rtmpose or heatmap: the ONNX person detector (an "
                        "Ultralytics YOLO detection export)")


def detector_options(args: argparse.Namespace) -> dict[str, Any]:
    """The create_detector options the arguments give (the ONNX back-ends' model files);
    UserError for an unknown back-end, a missing or superfluous model file."""
    name = args.detector
    if name not in DETECTOR_NAMES:
        raise UserError(f"unknown detector {name!r}; known: {list(DETECTOR_NAMES)}")
    if name == "blazepose_onnx":            # converted once from mediapipe's models
        from pose3d_ros.core.detection.blazepose_onnx import missing_models

        if missing := missing_models():
            raise UserError(f"--detector blazepose_onnx: {missing}")
    model, person = args.detector_model, args.person_detector_model
    if missing := missing_model_files(name, str(model or ""), str(person or "")):
        flags = "--detector-model" + (" and --person-detector-model"
                                      if name in TOP_DOWN_DETECTORS else "")
        raise UserError(f"--detector {name} needs {missing}: give {flags}")
    given = {"model": model if name in ONNX_MODEL_DETECTORS else None,
             "person_detector": person if name in TOP_DOWN_DETECTORS else None}
    for flag, (option, path) in zip(("--detector-model", "--person-detector-model"),
                                    (("model", model), ("person_detector", person)),
                                    strict=True):
        if path is not None and given[option] is None:
            raise UserError(f"{flag} is for the ONNX back-ends that use it, not for "
                            f"--detector {name}")
        if path is not None and not path.is_file():
            # (a review: a folder was told "does not exist")
            raise UserError(f"{flag} {path} " + ("is a folder, not a model file"
                                                 if path.is_dir() else "does not exist"))
    return {option: str(path) for option, path in given.items() if path is not None}


# The node parameter that carries each create_detector option of detector_options.
_NODE_PARAMETERS = {"model": "detector_model", "person_detector": "person_detector_model"}


def detector_node_parameters(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The node's parameters for the chosen back-end: detector and its model files."""
    return [("detector", args.detector), *((_NODE_PARAMETERS[option], path)
                                            for option, path in detector_options(args).items())]


def check_monocular_method(args: argparse.Namespace) -> None:
    """UserError when --monocular-method cannot run on --detector (detector_3d needs a
    BlazePose back-end's metric 3D): said before any computation, not after the node or the
    pipeline failed on the first frame with a person."""
    if problem := monocular_method_problem(args.monocular_method, args.detector):
        raise UserError(problem.replace("monocular_method", "--monocular-method"))
