"""core.onnx_proto reads what the nodes need of ONNX files without the onnx package: the same
weights onnx.numpy_helper gives, in every way a file can store them, and the probe model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from pose3d_ros.core.lifting.runtime import DEFAULT_MODEL
from pose3d_ros.core.onnx_proto import PROBE_MODEL, float_initializers, nonfinite_initializers


def _model(initializers: list[TensorProto]) -> bytes:
    """A valid model y = x + sum of nothing, holding `initializers` (unused by its one node)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y],
                              initializer=initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]
                             ).SerializeToString()


def _as_onnx_reads(model: bytes) -> dict[str, np.ndarray]:
    floats = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE)
    return {t.name: numpy_helper.to_array(t).ravel()
            for t in onnx.load_from_string(model).graph.initializer if t.data_type in floats}


def _every_storage(values: np.ndarray) -> list[TensorProto]:
    """`values` as float32, float16 and float64, each in raw_data and in the typed fields
    (float_data, int32_data holding float16 bits, double_data), plus an int64 tensor."""
    tensors = []
    for dtype, kind in ((np.float32, TensorProto.FLOAT), (np.float16, TensorProto.FLOAT16),
                        (np.float64, TensorProto.DOUBLE)):
        typed = values.astype(dtype)
        tensors.append(helper.make_tensor(f"{typed.dtype}_raw", kind, typed.shape,
                                          typed.tobytes(), raw=True))
        tensors.append(helper.make_tensor(f"{typed.dtype}_typed", kind, typed.shape,
                                          typed.ravel().tolist(), raw=False))
    tensors.append(numpy_helper.from_array(np.arange(6, dtype=np.int64), "counts"))
    return tensors


def test_weights_read_as_onnx_reads_them_in_every_storage():
    shipped = Path(DEFAULT_MODEL).read_bytes()
    ours = dict(float_initializers(shipped))
    theirs = _as_onnx_reads(shipped)
    assert len(ours) == len(theirs) >= 10
    for name, values in theirs.items():
        np.testing.assert_array_equal(ours[name], values)
        assert ours[name].dtype == values.dtype
    values = np.random.default_rng(0).normal(size=(3, 5)) * 100
    model = _model(_every_storage(values))
    ours = dict(float_initializers(model))
    theirs = _as_onnx_reads(model)
    assert sorted(ours) == sorted(theirs) and len(ours) == 6       # the int64 tensor left out
    for name, values in theirs.items():
        np.testing.assert_array_equal(ours[name], values)
        assert ours[name].dtype == values.dtype, name


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_weight_that_is_no_number_is_found_in_every_storage(bad):
    values = np.linspace(-1, 1, 12).reshape(3, 4)
    assert nonfinite_initializers(_model(_every_storage(values))) == []
    values[1, 2] = bad
    found = nonfinite_initializers(_model(_every_storage(values)))
    assert sorted(found) == sorted(_as_onnx_reads(_model(_every_storage(values))))


def test_weights_in_an_external_file_are_left_out():
    tensor = numpy_helper.from_array(np.full(4, np.nan, np.float32), "outside")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    assert list(float_initializers(_model([tensor]))) == []


@pytest.mark.parametrize("data", [b"\x08", b"\x3a\x7f\x01", b"\x0f\x00", b"\x3a\x05\x2a\x09"])
def test_bytes_that_are_not_a_model_are_a_value_error(data):
    with pytest.raises(ValueError, match="not an ONNX model"):
        list(float_initializers(data))


def test_the_probe_model_is_the_one_onnx_builds_and_it_runs():
    value = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    result = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "probe", [value],
                              [result])
    probe = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    probe.ir_version = 8
    assert PROBE_MODEL == probe.SerializeToString()
    session = ort.InferenceSession(PROBE_MODEL, providers=["CPUExecutionProvider"])
    assert session.run(None, {"x": np.array([2.5], np.float32)})[0].tolist() == [2.5]
