"""Decoding of the bring-your-own ONNX pose models, on ONNX graphs built here whose outputs are
known exactly (planted YOLO rows, SimCC vectors and heatmap peaks): letterbox and crop undo,
NMS, thresholds and the checks of declared input/output shapes all run through onnxruntime."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from pose3d_ros.core.detection import create_detector
from pose3d_ros.core.detection.onnx_models import select_providers
from pose3d_ros.core.detection.onnx_session import (
    PROBE_MODEL,
    OnnxModel,
    padded_batch_sizes,
    provider_options,
)
from pose3d_ros.core.layouts import COCO17

IMAGE_H, IMAGE_W = 1920, 1080  # portrait, like the demo cameras
# Ultralytics letterbox of 1080x1920 into 640x640: scale 1/3, 140 px grey bars left and right.
SCALE, PAD_X = 1.0 / 3.0, 140.0
J = 17


def constant_model(path: Path, input_shape: list, outputs: dict[str, np.ndarray],
                   half: bool = False) -> Path:
    """An ONNX model whose outputs are the given constants (batch axis broadcast to the input's
    batch): out = constant + 0 * mean(input). input_shape may hold "B" for a dynamic batch.
    half: float16 input and outputs (as an fp16 export has)."""
    io_type = TensorProto.FLOAT16 if half else TensorProto.FLOAT
    image = helper.make_tensor_value_info("images", io_type, input_shape)
    nodes = [helper.make_node("Cast", ["images"], ["images32"], to=TensorProto.FLOAT),
             helper.make_node("ReduceMean", ["images32"], ["mean"], axes=[1, 2, 3], keepdims=1),
             helper.make_node("Mul", ["mean", "zero"], ["zeros"])]
    inits = [numpy_helper.from_array(np.zeros((), np.float32), "zero")]
    graph_outputs = []
    for name, value in outputs.items():
        value = value.astype(np.float32)
        inits.append(numpy_helper.from_array(value, f"{name}_const"))
        inits.append(numpy_helper.from_array(
            np.array([-1] + [1] * (value.ndim - 1), np.int64), f"{name}_shape"))
        nodes.append(helper.make_node("Reshape", ["zeros", f"{name}_shape"], [f"{name}_z"]))
        nodes.append(helper.make_node("Add", [f"{name}_const", f"{name}_z"], [f"{name}_32"]))
        nodes.append(helper.make_node("Cast", [f"{name}_32"], [name], to=io_type))
        dims = ["B" if input_shape[0] == "B" else input_shape[0]] + list(value.shape[1:])
        graph_outputs.append(helper.make_tensor_value_info(name, io_type, dims))
    graph = helper.make_graph(nodes, "planted", [image], graph_outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def yolo_pose_rows() -> tuple[np.ndarray, np.ndarray]:
    """(1, 56, 6) planted YOLO-pose output and the expected kept people's keypoints in input px."""
    rows = np.zeros((6, 56), np.float32)
    joints = np.arange(J, dtype=np.float32)
    person_a = np.stack([250 + 5 * joints, 150 + 20 * joints, np.full(J, 0.8)], axis=1)
    person_a[3, 2] = 0.1
    person_b = np.stack([420 + 3 * joints, 120 + 25 * joints, np.full(J, 0.6)], axis=1)
    rows[0] = [300, 320, 100, 400, 0.9, *person_a.ravel()]
    rows[1] = [450, 300, 80, 420, 0.7, *person_b.ravel()]
    rows[2] = [305, 322, 100, 400, 0.6, *(person_a + [4, 4, 0]).ravel()]  # duplicate of A
    rows[3] = [150, 500, 60, 100, 0.2, *person_b.ravel()]  # below the score threshold
    return rows.T[None], np.stack([person_a, person_b])


def to_image(xy: np.ndarray) -> np.ndarray:
    return (xy - [PAD_X, 0.0]) / SCALE


def test_yolo_pose_decoding_letterbox_nms_and_thresholds(tmp_path):
    output, expected = yolo_pose_rows()
    model = constant_model(tmp_path / "pose.onnx", [1, 3, 640, 640], {"output0": output})
    detector = create_detector("yolo_pose", model=model, score_threshold=0.25,
                               iou_threshold=0.5, min_keypoint_score=0.5)
    images = [np.zeros((IMAGE_H, IMAGE_W, 3), np.uint8), np.full((IMAGE_H, IMAGE_W, 3), 90,
                                                                  np.uint8)]
    results = detector.detect(images)  # fixed batch 1: the two cameras run one by one
    assert len(results) == 2
    for det in results:
        assert det.layout is COCO17 and det.image_size == (IMAGE_W, IMAGE_H)
        assert det.num_people == 2  # duplicate suppressed, low score dropped
        np.testing.assert_allclose(det.person_scores, [0.9, 0.7], atol=1e-6)
        want = to_image(expected[..., :2])
        want[0, 3] = np.nan  # joint score 0.1 < min_keypoint_score
        np.testing.assert_allclose(det.keypoints, want, atol=1e-3)
        np.testing.assert_allclose(det.scores, expected[..., 2], atol=1e-6)
        np.testing.assert_allclose(det.boxes[0], [(250 - PAD_X) * 3, 120 * 3,
                                                  (350 - PAD_X) * 3, 520 * 3], atol=1e-3)


def person_detector_model(path: Path) -> tuple[Path, np.ndarray]:
    """YOLO detection output (1, 84, 5): a person, a car (class 2) and a weak person; returns
    the model and the expected person box in image pixels."""
    rows = np.zeros((5, 84), np.float32)
    rows[0, :4] = [320, 300, 120, 360]
    rows[0, 4] = 0.9
    rows[1, :4] = [200, 200, 100, 100]
    rows[1, 4 + 2] = 0.95
    rows[1, 4] = 0.01
    rows[2, :4] = [500, 500, 50, 50]
    rows[2, 4] = 0.1
    box = np.array([to_image(np.array([260.0, 120.0])), to_image(np.array([380.0, 480.0]))])
    return constant_model(path, [1, 3, 640, 640], {"output0": rows.T[None]}), box.ravel()


def crop_to_image(box: np.ndarray, crop_xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """mmpose's top-down geometry written out: box padded 1.25, aspect made width/height."""
    centre = (box[:2] + box[2:]) / 2
    bw, bh = (box[2:] - box[:2]) * 1.25
    w = max(bw, bh * width / height)
    h = w * height / width
    return centre - [w / 2, h / 2] + crop_xy * [w / width, h / height]


def test_rtmpose_simcc_decoding_and_crop_undo(tmp_path):
    person_model, box = person_detector_model(tmp_path / "det.onnx")
    peak_x = np.arange(J) * 20 + 10  # SimCC bins, split ratio 2
    peak_y = np.arange(J) * 25 + 30
    simcc_x = np.full((1, J, 384), 0.05, np.float32)
    simcc_y = np.full((1, J, 512), 0.05, np.float32)
    simcc_x[0, np.arange(J), peak_x] = 0.9
    simcc_y[0, np.arange(J), peak_y] = 0.7
    pose_model = constant_model(tmp_path / "rtm.onnx", ["B", 3, 256, 192],
                                {"simcc_x": simcc_x, "simcc_y": simcc_y})
    detector = create_detector("rtmpose", model=pose_model, person_detector=person_model)
    images = [np.zeros((IMAGE_H, IMAGE_W, 3), np.uint8)] * 3
    results = detector.detect(images)
    want = crop_to_image(box, np.stack([peak_x / 2, peak_y / 2], axis=1), 192, 256)
    for det in results:
        assert det.num_people == 1  # car and weak person ignored
        np.testing.assert_allclose(det.boxes[0], box, atol=1e-3)
        np.testing.assert_allclose(det.person_scores, [0.9], atol=1e-6)
        np.testing.assert_allclose(det.keypoints[0], want, atol=1e-3)
        np.testing.assert_allclose(det.scores[0], 0.7, atol=1e-6)  # min of the two maxima


def test_heatmap_decoding_quarter_offset_and_crop_undo(tmp_path):
    person_model, box = person_detector_model(tmp_path / "det.onnx")
    heatmaps = np.zeros((1, J, 64, 48), np.float32)
    px = np.arange(J) * 2 + 5
    py = np.arange(J) * 3 + 4
    heatmaps[0, np.arange(J), py, px] = 0.8
    heatmaps[0, np.arange(J), py, px + 1] = 0.5  # right neighbour higher: +0.25 in x
    heatmaps[0, np.arange(J), py - 1, px] = 0.3  # equal above and below: no offset in y
    heatmaps[0, np.arange(J), py + 1, px] = 0.3
    pose_model = constant_model(tmp_path / "hm.onnx", ["B", 3, 256, 192],
                                {"heatmaps": heatmaps})
    detector = create_detector("heatmap", model=pose_model, person_detector=person_model)
    det = detector.detect([np.zeros((IMAGE_H, IMAGE_W, 3), np.uint8)])[0]
    want = crop_to_image(box, np.stack([(px + 0.25) * 4, py * 4.0], axis=1), 192, 256)
    np.testing.assert_allclose(det.keypoints[0], want, atol=1e-3)
    np.testing.assert_allclose(det.scores[0], 0.8, atol=1e-6)


def test_float16_model_is_fed_and_read_as_such(tmp_path):
    output, expected = yolo_pose_rows()
    model = constant_model(tmp_path / "pose16.onnx", [1, 3, 640, 640], {"output0": output},
                           half=True)
    detector = create_detector("yolo_pose", model=model, iou_threshold=0.5)
    assert detector.model.input_dtype == np.float16
    det = detector.detect([np.zeros((IMAGE_H, IMAGE_W, 3), np.uint8)])[0]
    assert det.keypoints.dtype == np.float32 and det.num_people == 2
    # float16 rounding of the planted values (<= 0.25 px at 500 px), scaled by 3 to the image
    np.testing.assert_allclose(det.keypoints, to_image(expected[..., :2]), atol=1.0)


def test_no_person_gives_empty_detections(tmp_path):
    rows = np.zeros((1, 56, 3), np.float32)
    model = constant_model(tmp_path / "pose.onnx", [1, 3, 640, 640], {"output0": rows})
    det = create_detector("yolo_pose", model=model).detect([np.zeros((100, 80, 3), np.uint8)])[0]
    assert det.num_people == 0 and det.keypoints.shape == (0, J, 2)


def test_mismatched_models_raise_clear_errors(tmp_path):
    wrong_rows = constant_model(tmp_path / "a.onnx", [1, 3, 640, 640],
                                {"output0": np.zeros((1, 50, 8), np.float32)})
    with pytest.raises(ValueError, match=r"expected output \(B, 56, N\).*\(1, 50, 8\)"):
        create_detector("yolo_pose", model=wrong_rows)
    gray = constant_model(tmp_path / "b.onnx", [1, 1, 640, 640],
                          {"output0": np.zeros((1, 56, 8), np.float32)})
    with pytest.raises(ValueError, match=r"expected input .*got \(1, 1, 640, 640\)"):
        create_detector("yolo_pose", model=gray)
    person_model, _ = person_detector_model(tmp_path / "det.onnx")
    uneven = constant_model(tmp_path / "c.onnx", ["B", 3, 256, 192],
                            {"simcc_x": np.zeros((1, J, 384), np.float32),
                             "simcc_y": np.zeros((1, J, 256), np.float32)})
    with pytest.raises(ValueError, match=r"rtmpose: expected outputs simcc_x"):
        create_detector("rtmpose", model=uneven, person_detector=person_model)
    few_joints = constant_model(tmp_path / "d.onnx", ["B", 3, 256, 192],
                                {"heatmaps": np.zeros((1, 16, 64, 48), np.float32)})
    with pytest.raises(ValueError, match=r"heatmap: expected output \(B, 17, h, w\)"):
        create_detector("heatmap", model=few_joints, person_detector=person_model)
    with pytest.raises(FileNotFoundError):
        create_detector("yolo_pose", model=tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match="unknown detector"):
        create_detector("openpose")


def test_bad_images_are_rejected(tmp_path):
    output, _ = yolo_pose_rows()
    detector = create_detector("yolo_pose", model=constant_model(
        tmp_path / "pose.onnx", [1, 3, 640, 640], {"output0": output}))
    with pytest.raises(ValueError, match=r"image 1 must be BGR uint8"):
        detector.detect([np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10), np.uint8)])
    with pytest.raises(ValueError, match="sequence of images"):
        detector.detect(np.zeros((10, 10, 3), np.uint8))


def test_providers_fall_back_to_cpu():
    """The nodes' short names work in Python too, and a name that is neither theirs nor
    onnxruntime's is refused (a review: providers=['cuda'] ran on the CPU, told at INFO).
    A provider asked for that does not start here is a warning a Python caller sees (it was
    an INFO line, which logging's defaults do not show)."""
    from pose3d_ros.core.detection.onnx_session import ProviderUnusableWarning, usable_providers
    providers = select_providers()
    assert providers[-1] == "CPUExecutionProvider"
    assert select_providers(["cpu"]) == ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in usable_providers():
        assert select_providers(["cuda"])[0] == "CUDAExecutionProvider"
    else:
        with pytest.warns(ProviderUnusableWarning, match="not usable here .* running on "
                                                         r"\['CPUExecutionProvider'\]"):
            assert select_providers(["cuda"]) == ["CPUExecutionProvider"]
    with pytest.raises(ValueError, match=r"\['NoSuchExecutionProvider'\] are no onnxruntime "
                                         "provider names"):
        select_providers(["NoSuchExecutionProvider"])


def test_end_to_end_exports_limits_and_crowds_are_handled(tmp_path):
    """A review of the ONNX back-ends:
    - an end-to-end person detector export ((1, 300, 6): boxes with NMS inside) passed the
      output check and made people of a coordinate as score: refused at load, naming the
      export to make;
    - max_people 0 failed as a numpy reshape (yolo_pose) or found nobody (blazepose_multi):
      refused in one line, as thresholds outside [0, 1] are;
    - NMS built an N x N overlap matrix of every candidate (8,400: 11-15 s, 2.3 GB): it looks
      at the NMS_MAX_CANDIDATES best only."""
    from pose3d_ros.core.detection.base import NMS_MAX_CANDIDATES, nms

    end_to_end = constant_model(tmp_path / "e2e.onnx", [1, 3, 640, 640],
                                {"output0": np.zeros((1, 300, 6), np.float32)})
    person_model, _ = person_detector_model(tmp_path / "det.onnx")
    rtm = constant_model(tmp_path / "rtm.onnx", ["B", 3, 256, 192],
                         {"simcc_x": np.zeros((1, J, 384), np.float32),
                          "simcc_y": np.zeros((1, J, 512), np.float32)})
    with pytest.raises(ValueError, match=r"holds its boxes along the second axis.*nms=False"):
        create_detector("rtmpose", model=rtm, person_detector=end_to_end)
    with pytest.raises(ValueError, match=r"max_people must be a whole number >= 1, got 0"):
        create_detector("rtmpose", model=rtm, person_detector=person_model, max_people=0)
    with pytest.raises(ValueError, match=r"yolo_pose: score_threshold must be in \[0, 1\]"):
        create_detector("yolo_pose", model=end_to_end, score_threshold=2.0)
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 600, (8400, 2))
    boxes = np.concatenate([corners, corners + 20], axis=1)
    scores = rng.uniform(0, 1, 8400)
    kept = nms(boxes, scores, 0.65)
    assert kept.size <= NMS_MAX_CANDIDATES
    assert set(kept.tolist()) <= set(np.argsort(-scores)[:NMS_MAX_CANDIDATES].tolist())
    assert kept[0] == int(np.argmax(scores))


def test_each_gpu_provider_gets_its_options(tmp_path):
    path = constant_model(tmp_path / "m.onnx", ["B", 3, 8, 8], {"out": np.zeros((1, 2))})
    chosen = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    trt, cuda, cpu = provider_options(chosen, path, fp16=False, trt_max_batch=4,
                                      cudnn_conv_algo_search="HEURISTIC")
    assert cuda == {"cudnn_conv_algo_search": "HEURISTIC"} and cpu == {}
    assert trt["trt_fp16_enable"] is False and trt["trt_engine_cache_path"] == str(tmp_path)
    assert trt["trt_profile_max_shapes"] == "images:4x3x8x8"
    assert provider_options(["CPUExecutionProvider"], path, fp16=True, trt_max_batch=16,
                            cudnn_conv_algo_search="EXHAUSTIVE") == [{}]


def test_a_truncated_model_for_tensorrt_is_refused_naming_the_file(tmp_path, monkeypatch):
    """Found by a review: where TensorRT starts, the model file is parsed for its batch
    profile before the session, and a truncated one (a copy cut short) ended in protobuf's
    DecodeError, naming neither the model nor its file; it is the one line a file
    onnxruntime cannot load gets elsewhere. (TensorRT's choice is made here as on a machine
    where it starts: the session then fails on the file, whichever provider is asked.)"""
    from pose3d_ros.core.detection import onnx_session
    whole = constant_model(tmp_path / "m.onnx", ["B", 3, 8, 8], {"out": np.zeros((1, 2))})
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(whole.read_bytes()[:len(whole.read_bytes()) // 2])
    monkeypatch.setattr(onnx_session, "select_providers", lambda requested: [
        "TensorrtExecutionProvider", "CPUExecutionProvider"])
    with pytest.raises(ValueError, match=r"blazepose landmarks: .*cut.onnx is not an ONNX "
                       "model onnxruntime can load"):
        OnnxModel(cut, role="blazepose landmarks")


def test_unknown_cudnn_search_is_refused_before_any_session(tmp_path):
    path = constant_model(tmp_path / "m.onnx", ["B", 3, 8, 8], {"out": np.zeros((1, 2))})
    model = OnnxModel(path, role="test model", cudnn_conv_algo_search="HEURISTIC")
    assert model.run(np.zeros((2, 3, 8, 8), np.float32))[0].shape == (2, 2)
    model.run(np.zeros((5, 3, 8, 8), np.float32))
    assert model.batch_sizes_seen == {2, 5}
    with pytest.raises(ValueError, match="test model: cudnn_conv_algo_search must be one of"):
        OnnxModel(path, role="test model", cudnn_conv_algo_search="exhaustive")


def test_padded_batch_sizes_are_powers_of_two_up_to_the_largest():
    assert padded_batch_sizes(16) == (1, 2, 4, 8, 16)
    assert padded_batch_sizes(12) == (1, 2, 4, 8, 12)
    assert padded_batch_sizes(1) == (1,)
    with pytest.raises(ValueError, match="at least 1"):
        padded_batch_sizes(0)


def test_a_padded_model_runs_only_its_sizes_from_the_start_and_returns_each_item(tmp_path):
    """On a GPU a batch size met for the first time picks its kernels while frames wait
    (0.4-2.4 s on CUDA): padded, a model only ever runs the sizes it ran when it started."""
    path = constant_model(tmp_path / "m.onnx", ["B", 3, 8, 8], {"out": np.ones((1, 2))})
    padded = OnnxModel(path, role="test model", pad_batches=True, trt_max_batch=8)
    assert padded.padded_sizes == (1, 2, 4, 8)
    assert sorted(padded.warm_up_ms) == [1, 2, 4, 8] and padded.batch_sizes_seen == {1, 2, 4, 8}
    for count in (1, 3, 5, 8, 19):
        out = padded.run(np.ones((count, 3, 8, 8), np.float32))[0]
        assert out.shape == (count, 2) and np.all(out == 1.0)
    assert padded.batch_sizes_seen == {1, 2, 4, 8}   # 19 = 8 + 8 + 3 -> 4
    assert padded.run(np.zeros((0, 3, 8, 8), np.float32))[0].shape == (0, 2)
    # on the CPU the default runs each batch as it is (a first call costs nothing there)
    plain = OnnxModel(path, role="test model")
    assert plain.padded_sizes == () and plain.warm_up_ms == {} and not plain.batch_sizes_seen
    plain.run(np.ones((3, 3, 8, 8), np.float32))
    assert plain.batch_sizes_seen == {3}
    # a fixed batch is never padded; a free image size is padded but cannot be run ahead
    fixed = constant_model(tmp_path / "f.onnx", [1, 3, 8, 8], {"out": np.ones((1, 2))})
    assert OnnxModel(fixed, role="fixed", pad_batches=True).padded_sizes == ()
    free = constant_model(tmp_path / "v.onnx", ["B", 3, "H", "W"], {"out": np.ones((1, 2))})
    model = OnnxModel(free, role="free size", pad_batches=True)
    assert model.padded_sizes == (1, 2, 4, 8, 16) and model.warm_up_ms == {}
    assert model.run(np.ones((3, 3, 5, 7), np.float32))[0].shape == (3, 2)
    assert model.batch_sizes_seen == {4}


def test_the_gpu_benchmark_takes_the_nodes_provider_names_and_says_when_none_is_usable():
    """Found by a review: benchmarks/bench_gpu.py, meant for a lent GPU machine, took
    `--providers cuda` (the nodes' name) as a provider 'not usable on this machine' even on
    a GPU, and on a machine without one printed such rows, timed the CPU anyway and ended
    with 0. Now the short names are taken and no usable provider is one line and exit 2."""
    import subprocess
    import sys

    from pose3d_ros.core.detection.onnx_session import usable_providers
    if "CUDAExecutionProvider" in usable_providers():
        pytest.skip("CUDA is usable here")
    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_gpu.py"
    done = subprocess.run([sys.executable, str(bench), "--providers", "cuda"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    told = done.stderr.strip().splitlines()
    assert len(told) == 1 and told[0].startswith(
        "bench_gpu.py: none of ['CUDAExecutionProvider'] is usable on this machine"), told
    assert not done.stdout, done.stdout


def test_the_gpu_benchmark_without_the_onnx_models_says_how_to_make_them(tmp_path):
    """A review: without the converted models bench_gpu.py printed a table row 'not run' and
    ended with 0, as if it had measured. Now one line naming the missing files and the
    command that makes them, nothing on stdout, exit 2."""
    import os
    import subprocess
    import sys

    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_gpu.py"
    done = subprocess.run([sys.executable, str(bench), "--providers", "cpu"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "POSE3D_DATA": str(tmp_path)})
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    told = done.stderr.strip().splitlines()
    assert len(told) == 1 and told[0].startswith("bench_gpu.py: BlazePose ONNX models "
                                                 "missing:"), told
    assert "pose_landmark_full.onnx" in told[0] and \
        "python -m pose3d_ros.tools.convert_blazepose_onnx --out" in told[0], told
    assert not done.stdout, done.stdout


def test_the_provider_probe_is_the_model_onnx_builds_and_it_runs():
    """usable_providers' probe model is held as bytes (building it imported onnx, about a
    second of each node's start): they must stay what onnx.helper makes, and run."""
    import onnxruntime as ort

    value = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    result = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "probe", [value],
                              [result])
    probe = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    probe.ir_version = 8
    assert PROBE_MODEL == probe.SerializeToString()
    session = ort.InferenceSession(PROBE_MODEL, providers=["CPUExecutionProvider"])
    assert session.run(None, {"x": np.array([2.5], np.float32)})[0].tolist() == [2.5]


def test_the_detection_cache_knows_a_model_replaced_at_the_same_path(tmp_path):
    """A review: detect_video_set's cache was keyed by the video and the options' text, so
    a model re-exported at the same path, or a mediapipe upgrade, gave the old 2D. The key
    holds the model files' identity (and mediapipe's version) now."""
    import os

    from pose3d_ros.core.detection.cache import cache_key

    video = tmp_path / "v.mp4"
    video.write_bytes(b"not read")
    model = tmp_path / "pose.onnx"
    model.write_bytes(b"model A")
    first = cache_key(video, "yolo_pose", {"model": str(model)})
    assert cache_key(video, "yolo_pose", {"model": str(model)}) == first
    model.write_bytes(b"model B, longer")
    os.utime(model, ns=(1_800_000_000 * 10**9, 1_800_000_000 * 10**9))
    assert cache_key(video, "yolo_pose", {"model": str(model)}) != first
    assert cache_key(video, "blazepose", {}) == cache_key(video, "blazepose", {})


def test_providers_probed_from_several_threads_at_once_leave_the_process_as_it_was():
    """A review (session 64): four nodes configured at once each ran the provider probe,
    which swaps sys.stdout / sys.stderr and onnxruntime's process-wide log level: in 6 of 10
    runs the process's stdout and stderr stayed StringIO buffers for good, and onnxruntime's
    probe errors reached the console; the nodes' 'ignore ProviderUnusableWarning' filter
    (catch_warnings, the whole process's) stayed installed in 2 of 5. In a fresh process
    here: eight threads probe and select at once, the warning silenced in half of them."""
    code = """
import sys, threading, warnings
from pose3d_ros.core.detection.onnx_session import (
    provider_warnings_silenced, select_providers, usable_providers)
start = threading.Barrier(8)
def work(k):
    start.wait()
    if k % 2:
        with provider_warnings_silenced():
            select_providers(["cuda"])
    else:
        usable_providers()
threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print("streams", sys.stdout is sys.__stdout__ and sys.stderr is sys.__stderr__)
print("filters", [f for f in warnings.filters if "Provider" in str(f[2])])
with warnings.catch_warnings(record=True) as told:
    warnings.simplefilter("always")
    select_providers(["cuda"])
print("usable", sorted(usable_providers()), "told", len(told))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "streams True" and lines[1] == "filters []", done.stdout
    if "CUDAExecutionProvider" not in lines[2]:       # CUDA does not start here
        assert lines[2].endswith("told 1"), done.stdout
        assert "onnxruntime" not in done.stderr, done.stderr   # the probe's log silenced
