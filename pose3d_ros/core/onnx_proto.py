"""What the nodes read or need of ONNX files without the `onnx` package, whose import (through
ml_dtypes) took 0.9-1.9 s of every node's start on the 2-core VM: the floating-point weights
of a model (protobuf wire format, onnx.proto's field numbers) and a one-node probe model.
The tools that build or edit models still use `onnx`.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

# onnx.TensorProto.DataType of floating-point weights -> their little-endian numpy type
FLOAT_TYPES: dict[int, np.dtype[Any]] = {
    1: np.dtype("<f4"), 10: np.dtype("<f2"), 11: np.dtype("<f8")}
# onnx.proto field numbers read here
_MODEL_GRAPH = 7                    # ModelProto.graph
_GRAPH_INITIALIZER = 5              # GraphProto.initializer (TensorProto)
_TENSOR_DATA_TYPE, _TENSOR_FLOAT_DATA, _TENSOR_INT32_DATA = 2, 4, 5
_TENSOR_NAME, _TENSOR_RAW_DATA, _TENSOR_DOUBLE_DATA, _TENSOR_DATA_LOCATION = 8, 9, 10, 14

# The model onnx_session.usable_providers starts on each execution provider: y = Identity(x),
# x and y float[1], opset 17, IR version 8; the bytes onnx.helper.make_model gives
# (test_onnx_proto checks that they still are).
PROBE_MODEL = (b'\x08\x08:;\n\x10\n\x01x\x12\x01y"\x08Identity\x12\x05probeZ\x0f\n\x01x\x12\n'
               b'\n\x08\x08\x01\x12\x04\n\x02\x08\x01b\x0f\n\x01y\x12\n\n\x08\x08\x01\x12\x04'
               b'\n\x02\x08\x01B\x04\n\x00\x10\x11')


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it) of the protobuf varint at buf[pos]."""
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("not an ONNX model (a protobuf number runs past its end)")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of each field of one protobuf message: an int for a varint, the
    bytes for the others (fixed 32/64-bit, length-delimited)."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        wire = key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos)
        else:
            if wire == 2:
                size, pos = _varint(buf, pos)
            elif wire in (1, 5):
                size = 8 if wire == 1 else 4
            else:
                raise ValueError(f"not an ONNX model (protobuf wire type {wire})")
            if pos + size > end:
                raise ValueError("not an ONNX model (a protobuf field runs past its end)")
            value, pos = buf[pos:pos + size], pos + size
        yield key >> 3, value


def _packed_varints(buf: bytes) -> list[int]:
    values, pos = [], 0
    while pos < len(buf):
        value, pos = _varint(buf, pos)
        values.append(value)
    return values


def _tensor_values(tensor: bytes) -> tuple[str, np.ndarray] | None:
    """(name, values (flat)) of a serialized TensorProto of a floating-point type whose data
    is in the file; None for other types and for external data."""
    name, data_type, external = "", 0, False
    raw: bytes | None = None
    floats: list[bytes] = []       # float_data / double_data: packed runs or single values
    halves: list[int] = []         # float16 in int32_data: the 16 bits of each
    for field, value in _fields(tensor):
        if field == _TENSOR_DATA_TYPE and isinstance(value, int):
            data_type = value
        elif field == _TENSOR_NAME and isinstance(value, bytes):
            name = value.decode("utf-8", "replace")
        elif field == _TENSOR_RAW_DATA and isinstance(value, bytes):
            raw = value
        elif field in (_TENSOR_FLOAT_DATA, _TENSOR_DOUBLE_DATA) and isinstance(value, bytes):
            floats.append(value)
        elif field == _TENSOR_INT32_DATA:
            halves += [value] if isinstance(value, int) else _packed_varints(value)
        elif field == _TENSOR_DATA_LOCATION and value == 1:      # EXTERNAL
            external = True
    dtype = FLOAT_TYPES.get(data_type)
    if dtype is None or external:
        return None
    if raw is not None:
        return name, np.frombuffer(raw, dtype)
    if dtype == FLOAT_TYPES[10]:
        return name, np.array(halves, np.uint16).view(dtype)
    return name, np.frombuffer(b"".join(floats), dtype)


def float_initializers(model: bytes) -> Iterator[tuple[str, np.ndarray]]:
    """(name, values (flat, in the file's type)) of each floating-point initializer (float32,
    float16, float64) of the main graph of a serialized ONNX model (the file's bytes), as
    onnx.numpy_helper.to_array gives them; tensors held in external files are left out.
    ValueError when the bytes are not protobuf."""
    for field, graph in _fields(model):
        if field != _MODEL_GRAPH or not isinstance(graph, bytes):
            continue
        for graph_field, tensor in _fields(graph):
            if graph_field == _GRAPH_INITIALIZER and isinstance(tensor, bytes) and \
                    (found := _tensor_values(tensor)) is not None:
                yield found


def nonfinite_initializers(model: bytes) -> list[str]:
    """The names of the floating-point initializers of a serialized ONNX model that hold a
    value that is not a finite number (NaN, inf)."""
    return [name for name, values in float_initializers(model)
            if not np.isfinite(values).all()]
