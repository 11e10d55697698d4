"""Convert the BlazePose weights of the installed mediapipe wheel to ONNX, and verify them.

    python -m pose3d_ros.tools.convert_blazepose_onnx [--out DIR] [--venv DIR] [--discard-venv]
        [--overwrite]

Steps (all reproducible from the installed mediapipe==0.10.14 wheel, nothing downloaded but
the converter's own packages):
  1. The person detector pose_detection.tflite stores 38 weight tensors sparse, expanded at
     run time by TFLite DENSIFY operators, which tf2onnx rejects. The tool runs the model once
     in the LiteRT interpreter (no delegate, all tensors kept), takes each DENSIFY output,
     writes it into the flatbuffer as an ordinary constant, rewires the model and drops the
     DENSIFY operators (TFLite's own kernel does the densifying, so no sparse format is
     re-implemented here). The rewritten model is checked against the original.
  2. tf2onnx converts both models (opset 17). tf2onnx needs TensorFlow, which must not enter
     the package's environment: it runs in a separate virtual environment (--venv, default
     <data>/convert-venv, <data> being data_paths.default_data_dir()), created with
     tensorflow-cpu and tf2onnx if absent and kept for later conversions (1.6 GB), unless
     --discard-venv removes it at the end.
  3. The batch axis of both ONNX graphs is made dynamic (so cameras x people run as one batch).
  4. Both ONNX models are run on real crops of the demo recording (letterboxed whole frames for
     the detector, person ROIs for the landmark model) and compared with the LiteRT interpreter
     on the original .tflite files; batched runs are compared with single runs. Results go to
     verification.json beside the models; the tool fails if a difference exceeds --tolerance.
Output: DIR/pose_detection.onnx, DIR/pose_landmark_full.onnx, DIR/verification.json
(default DIR: <data>/models/blazepose), moved in together only when verified; existing
ones are replaced only with --overwrite.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pose3d_ros.core.data_paths import DATA_DIR_RULE
from pose3d_ros.core.detection.blazepose_onnx import (
    DETECTOR_ONNX,
    LANDMARK_ONNX,
    default_model_dir,
)
from pose3d_ros.core.output_files import (
    UserError,
    add_common_arguments,
    int_at_least,
    int_in,
    positive_float,
    refuse_existing,
    run_cli,
    staged_outputs,
)

log = logging.getLogger(__name__)

CONVERTER_PACKAGES = ("tensorflow-cpu==2.21.0", "tf2onnx==1.17.0")
RECORD = "verification.json"


def data_dir() -> Path:
    from pose3d_ros.core.data_paths import default_data_dir
    return default_data_dir()


def ensure_convert_venv(venv: Path, packages: tuple[str, ...] = CONVERTER_PACKAGES
                        ) -> tuple[Path, dict]:
    """Python of a virtual environment with `packages` (tensorflow-cpu and tf2onnx), created
    if absent. A failed install raises UserError; a failed or interrupted one removes the
    environment if this call created it (a half-installed TensorFlow is about 1 GB that
    nothing can use).

    The info dict says where it is and whether this call created it ("created")."""
    python = venv / "bin" / "python"
    info: dict = {"venv": str(venv), "created": False}
    check = [str(python), "-c", "import tf2onnx, tensorflow"]
    if python.is_file() and subprocess.run(check, capture_output=True).returncode == 0:
        return python, info
    log.info("creating the converter environment %s (%s)", venv, ", ".join(packages))
    start = time.perf_counter()
    existed = venv.exists()
    # --no-cache-dir: the wheels (TensorFlow's alone is several hundred MB) would otherwise
    # stay in pip's cache beside the installed copy, for a conversion run once
    # (found by CI: a run ran out of disk while installing them); --no-compile: the
    # conversion imports a small part of TensorFlow, compiled on first use (setup_env.sh)
    steps = ([sys.executable, "-m", "venv", str(venv)],
             [str(python), "-m", "pip", "install", "--quiet", "--no-cache-dir", "--no-compile",
              *packages])
    try:
        for step in steps:
            finished = subprocess.run(step)
            if finished.returncode != 0:
                what = "left as it was (remove it to start afresh)" if existed else "removed"
                raise UserError(f"could not make the converter environment {venv} "
                                f"({', '.join(packages)}): {Path(step[0]).name} "
                                f"{' '.join(step[1:4])} exited {finished.returncode} (its "
                                f"message is above); the environment was {what}")
    except BaseException:                 # a failed step, Ctrl-C, SIGTERM (run_cli's)
        if not existed:
            shutil.rmtree(venv, ignore_errors=True)
        raise
    info.update(created=not existed, seconds=round(time.perf_counter() - start, 1))
    return python, info


@contextlib.contextmanager
def converter_environment(venv: Path, discard: bool) -> Iterator[tuple[Path, dict]]:
    """ensure_convert_venv for the length of a `with`; with `discard`, the environment is
    removed at the end (success or not) if this run created it, never one that was there."""
    python, info = ensure_convert_venv(venv)
    try:
        yield python, info
    finally:
        if discard and info["created"]:
            shutil.rmtree(venv, ignore_errors=True)
            log.info("removed the converter environment %s (--discard-venv)", venv)


def densify_tflite(source: Path, target: Path) -> int:
    """Write `source` to `target` with every DENSIFY operator replaced by its dense constant.

    Returns the number of operators removed.
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(source.read_bytes(), 0))
    densify_codes = {i for i, code in enumerate(model.operatorCodes)
                     if max(code.builtinCode, code.deprecatedBuiltinCode)
                     == schema.BuiltinOperator.DENSIFY}
    interpreter = Interpreter(
        model_path=str(source), experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    interpreter.invoke()
    removed = 0
    for graph in model.subgraphs:
        kept = []
        for op in graph.operators:
            if op.opcodeIndex not in densify_codes:
                kept.append(op)
                continue
            sparse, dense = op.inputs[0], op.outputs[0]
            values = interpreter.get_tensor(dense)
            buffer = schema.BufferT()
            buffer.data = np.frombuffer(values.tobytes(), np.uint8)
            model.buffers.append(buffer)
            graph.tensors[dense].buffer = len(model.buffers) - 1
            # The sparse original is now unused; strip it so no converter has to parse it.
            graph.tensors[sparse].sparsity = None
            graph.tensors[sparse].buffer = 0
            removed += 1
        graph.operators = kept
    builder = flatbuffers.Builder(1 << 22)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    target.write_bytes(bytes(builder.Output()))
    return removed


def run_tf2onnx(python: Path, tflite: Path, output: Path, opset: int) -> float:
    """Convert with tf2onnx in the converter environment; returns seconds taken. UserError
    naming tf2onnx's last line when it fails (its whole output is the cause, which --debug's
    traceback shows)."""
    start = time.perf_counter()
    result = subprocess.run([str(python), "-m", "tf2onnx.convert", "--tflite", str(tflite),
                             "--output", str(output), "--opset", str(opset)],
                            capture_output=True, text=True)
    if result.returncode != 0 or not output.is_file():
        said = result.stderr.strip().splitlines()
        last = said[-1] if said else f"exit status {result.returncode}, nothing printed"
        # its whole output rides as the cause, which --debug's traceback prints
        raise UserError(f"tf2onnx failed on {tflite.name}: {last} (--debug shows all it "
                        "printed)") from RuntimeError(f"tf2onnx printed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def make_batch_dynamic(path: Path) -> None:
    """Turn the converted graph's fixed batch of 1 into a named dynamic axis "batch".

    tf2onnx writes Reshape targets with a literal leading 1; they become 0 (copy the input's
    batch). Stored intermediate shapes are dropped so onnxruntime infers them again.
    """
    import onnx
    from onnx import numpy_helper
    model = onnx.load(str(path))
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Reshape" and node.input[1] in initializers:
            init = initializers[node.input[1]]
            shape = numpy_helper.to_array(init).copy()
            if shape.size > 1 and shape[0] == 1:
                shape[0] = 0
                init.CopyFrom(numpy_helper.from_array(shape.astype(np.int64), init.name))
    for value in list(graph.input) + list(graph.output):
        dim = value.type.tensor_type.shape.dim[0]
        dim.Clear()
        dim.dim_param = "batch"
    del graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def verification_inputs(frames_per_camera: int) -> tuple[np.ndarray, np.ndarray]:
    """Real model inputs from the multi-person demo recording: detector squares (N, 224, 224, 3)
    in [-1, 1] and landmark crops (M, 256, 256, 3) in [0, 1] of the people the TFLite detector
    finds (the same preprocessing as the detector back-end)."""
    import cv2

    from ..core.data_paths import video_paths
    from ..core.detection.blazepose_multi import (
        LANDMARK_SIZE,
        LiteRTRunner,
        crop_to_image_affine,
        letterbox_square,
        mediapipe_model_paths,
        roi_from_detection,
    )
    from ..core.detection.ssd_anchors import decode_pose_detector

    detector = LiteRTRunner(mediapipe_model_paths()[0])
    squares, crops = [], []
    for path in video_paths("multi"):
        capture = cv2.VideoCapture(str(path))
        for _ in range(frames_per_camera):
            ok, image = capture.read()
            if not ok:
                break
            square, scale, pad = letterbox_square(image, 224)
            squares.append(square * 2.0 - 1.0)
            raw_boxes, raw_scores = detector(squares[-1][None])
            people = decode_pose_detector(raw_boxes[0], raw_scores[0])
            roi = roi_from_detection((people.keypoints * 224 - pad) / scale)
            for affine in crop_to_image_affine(roi, LANDMARK_SIZE):
                crop = cv2.warpAffine(image, affine, (LANDMARK_SIZE, LANDMARK_SIZE),
                                      flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
                crops.append(crop[:, :, ::-1].astype(np.float32) / 255.0)
        capture.release()
    return np.stack(squares).astype(np.float32), np.stack(crops).astype(np.float32)


def compare(tflite: Path, onnx_path: Path, inputs: np.ndarray) -> dict:
    """Largest absolute differences per output between LiteRT (one item at a time) and
    onnxruntime (whole batch, and first item alone)."""
    import onnxruntime as ort

    from ..core.detection.blazepose_multi import LiteRTRunner
    reference = LiteRTRunner(tflite)(inputs)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = sorted(o.name for o in session.get_outputs())
    name_in = session.get_inputs()[0].name
    batched = session.run(names, {name_in: inputs})
    single = session.run(names, {name_in: inputs[:1]})
    outputs = {}
    for name, ref, got, one in zip(names, reference, batched, single, strict=True):
        outputs[name] = {
            "shape": list(ref.shape[1:]),
            "max_abs_reference": float(np.abs(ref).max()),
            "max_abs_difference": float(np.abs(ref - got.reshape(ref.shape)).max()),
            "batch_vs_single_max_abs_difference": float(
                np.abs(got[:1].reshape(one.shape) - one).max()),
        }
    return {"items": int(len(inputs)), "outputs": outputs}


def densified_difference(original: Path, dense: Path, inputs: np.ndarray) -> float:
    """Largest |output difference| of the densified .tflite against the original (LiteRT)."""
    from ..core.detection.blazepose_multi import LiteRTRunner
    reference, rewritten = LiteRTRunner(original)(inputs), LiteRTRunner(dense)(inputs)
    return float(max(np.abs(a - b).max() for a, b in zip(reference, rewritten, strict=True)))


def within(result: dict, tolerance: float) -> bool:
    """Each output's difference within tolerance x its largest reference magnitude (>= 1)."""
    return all(o["max_abs_difference"] <= tolerance * max(1.0, o["max_abs_reference"]) and
               o["batch_vs_single_max_abs_difference"] <= tolerance * max(1.0,
                                                                           o["max_abs_reference"])
               for o in result["outputs"].values())


def check_arguments(args: argparse.Namespace, out: Path) -> None:
    """What needs no computation, before the converter environment (1.6 GB) is made."""
    for path in (out / DETECTOR_ONNX, out / LANDMARK_ONNX, out / RECORD):
        refuse_existing(path, args.overwrite, folder=False)


def convert_and_verify(args: argparse.Namespace, out: Path, tflite_models: tuple[Path, Path],
                       python: Path, venv_info: dict) -> list[Path]:
    """Convert the (detector, landmark) `tflite_models` with the converter environment's
    `python`, verify them and move them into `out` with verification.json; returns the three
    paths written."""
    import mediapipe

    detector_tflite, landmark_tflite = tflite_models
    record: dict = {"date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "machine": platform.platform(), "mediapipe": mediapipe.__version__,
                    "converter": venv_info, "opset": args.opset, "models": {}}
    version = subprocess.run([str(python), "-c", "import tensorflow, tf2onnx; print("
                              "tensorflow.__version__, tf2onnx.__version__)"],
                             capture_output=True, text=True).stdout.split()
    record["converter"]["tensorflow"], record["converter"]["tf2onnx"] = version[:2]
    targets = [out / DETECTOR_ONNX, out / LANDMARK_ONNX, out / RECORD]
    # written beside the destination and moved in together only when verified: a failed
    # conversion or verification, or an interrupt, leaves the models there as they were
    # (found by a review: a failed run left unverified files the back-end would load)
    with tempfile.TemporaryDirectory() as tmp, \
            staged_outputs(targets, args.overwrite) as (detector_onnx, landmark_onnx, record_path):
        dense = Path(tmp) / "pose_detection_dense.tflite"
        removed = densify_tflite(detector_tflite, dense)
        squares, crops = verification_inputs(args.frames)
        dense_difference = densified_difference(detector_tflite, dense, squares)
        jobs = [("pose_detection", detector_tflite, dense, detector_onnx, out / DETECTOR_ONNX,
                 squares),
                ("pose_landmark_full", landmark_tflite, landmark_tflite, landmark_onnx,
                 out / LANDMARK_ONNX, crops)]
        ok = True
        for name, original, source, target, final, inputs in jobs:
            seconds = run_tf2onnx(python, source, target, args.opset)
            make_batch_dynamic(target)
            result = compare(original, target, inputs)
            result.update(source=str(original), onnx=str(final),
                          bytes=target.stat().st_size, convert_seconds=round(seconds, 1))
            if name == "pose_detection":
                result["densify_operators_removed"] = removed
                result["densified_tflite_max_abs_difference"] = dense_difference
            result["passed"] = within(result, args.tolerance)
            ok &= result["passed"]
            record["models"][name] = result
            log.info("%s: %s", name, json.dumps(result["outputs"]))
        record["tolerance"] = args.tolerance
        record["passed"] = ok
        if not ok:
            worst = max((o["max_abs_difference"], f"{model} {output}")
                        for model, result in record["models"].items()
                        for output, o in result["outputs"].items())
            raise UserError(f"verification failed: the ONNX models differ from TFLite by up "
                            f"to {worst[0]:.3g} ({worst[1]}), over --tolerance "
                            f"{args.tolerance:g}; nothing was written to {out}")
        record_path.write_text(json.dumps(record, indent=2))
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default <data>/models/blazepose; <data>: "
                             f"{DATA_DIR_RULE})")
    parser.add_argument("--venv", type=Path, default=None,
                        help="converter environment with tensorflow-cpu and tf2onnx "
                             "(default <data>/convert-venv, created if absent, then kept for "
                             "later conversions)")
    parser.add_argument("--discard-venv", action="store_true",
                        help="remove the converter environment at the end if this run created "
                             "it (frees about 1.6 GB; a later conversion makes it again)")
    parser.add_argument("--opset", type=int_in(13, 21, what="an opset tf2onnx 1.17 writes, 13-21 "
                                               "(the package's models use 17)"),
                        default=17, help="ONNX opset of the models")
    parser.add_argument("--frames", type=int_at_least(1), default=2,
                        help="demo frames per camera used for verification")
    parser.add_argument("--tolerance", type=positive_float, default=1e-3,
                        help="largest allowed |ONNX - TFLite| relative to the output's scale")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = args.out or default_model_dir()
    check_arguments(args, out)

    from ..core.detection.blazepose_multi import mediapipe_model_paths
    tflite_models = mediapipe_model_paths()    # a missing wheel is told before the 1.6 GB
    venv = args.venv or data_dir() / "convert-venv"
    with converter_environment(venv, args.discard_venv) as (python, venv_info):
        targets = convert_and_verify(args, out, tflite_models, python, venv_info)
    log.info("wrote %s, %s and %s (verification passed)", *targets)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
