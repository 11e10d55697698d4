"""Multi-person BlazePose on onnxruntime (TensorRT -> CUDA -> CPU), batched.

The same two-stage pipeline as blazepose_multi.py, with the ONNX models that
`python -m pose3d_ros.tools.convert_blazepose_onnx` makes from the mediapipe wheel (both
stages converted, the detector after densifying its sparse weights). The detector runs once on
all cameras, the landmark model once on all people of all cameras.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..data_paths import default_data_dir
from .blazepose_multi import TwoStageBlazePose
from .onnx_session import OnnxModel

DETECTOR_ONNX = "pose_detection.onnx"
LANDMARK_ONNX = "pose_landmark_full.onnx"


def default_model_dir() -> Path:
    return default_data_dir() / "models" / "blazepose"


class _SortedOutputs:
    """OnnxModel runner returning outputs in name order (Identity, Identity_1, ...), the same
    order as the LiteRT runner, whatever order the graph lists them in."""

    def __init__(self, model: OnnxModel, expected_input: tuple[int, int, int]) -> None:
        shape = model.input_shape
        if len(shape) != 4 or tuple(shape[1:]) != expected_input:
            raise ValueError(f"{model.role}: expected input (B, {expected_input[0]}, "
                             f"{expected_input[1]}, {expected_input[2]}) NHWC, got {shape}")
        self.model = model
        self._order = np.argsort(model.output_names)

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        outputs = self.model.run(batch)
        return [outputs[i] for i in self._order]


def missing_models(model_dir: Path | str | None = None) -> str:
    """What the back-end lacks of its converted models, as one line saying how to make them
    ("" when both files are there); model_dir as create_onnx_blazepose."""
    folder = Path(model_dir) if model_dir else default_model_dir()
    missing = [str(folder / name) for name in (DETECTOR_ONNX, LANDMARK_ONNX)
               if not (folder / name).is_file()]
    if not missing:
        return ""
    return (f"BlazePose ONNX models missing: {missing}; make them with `python -m "
            f"pose3d_ros.tools.convert_blazepose_onnx --out {folder}`")


def create_onnx_blazepose(*, model_dir: Path | str | None = None,
                          providers: Sequence[str] | None = None, fp16: bool = True,
                          intra_op_threads: int | None = None,
                          cudnn_conv_algo_search: str = "EXHAUSTIVE",
                          pad_batches: bool | None = None,
                          **options: Any) -> TwoStageBlazePose:
    """BlazePose two-stage on onnxruntime.

    model_dir: folder with pose_detection.onnx and pose_landmark_full.onnx (default
      $POSE3D_DATA/models/blazepose, written by the conversion tool).
    providers, fp16, intra_op_threads, cudnn_conv_algo_search, pad_batches: as OnnxModel.
      Other options: as TwoStageBlazePose.
    """
    folder = Path(model_dir) if model_dir else default_model_dir()
    paths = [folder / DETECTOR_ONNX, folder / LANDMARK_ONNX]
    if missing := missing_models(folder):
        raise FileNotFoundError(missing)
    detector = OnnxModel(paths[0], role="blazepose detector", providers=providers, fp16=fp16,
                         intra_op_threads=intra_op_threads,
                         cudnn_conv_algo_search=cudnn_conv_algo_search,
                         pad_batches=pad_batches)
    landmarker = OnnxModel(paths[1], role="blazepose landmarks", providers=providers,
                           fp16=fp16, intra_op_threads=intra_op_threads,
                           cudnn_conv_algo_search=cudnn_conv_algo_search,
                           pad_batches=pad_batches)
    return TwoStageBlazePose(_SortedOutputs(detector, (224, 224, 3)),
                             _SortedOutputs(landmarker, (256, 256, 3)),
                             name="blazepose_onnx", runtime=landmarker.runtime, **options)
