"""The conversion tool's graph surgery, on small ONNX graphs built here (tf2onnx itself needs
TensorFlow, which stays out of the package's environment; its output is checked by the tool
against TFLite, see benchmarks/results_detection.md)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from pose3d_ros.tools.convert_blazepose_onnx import make_batch_dynamic, within


def test_make_batch_dynamic_runs_any_batch_like_single_runs(tmp_path):
    # Shaped like tf2onnx's output: fixed batch 1, Reshape targets with a literal leading 1.
    x = helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [1, 4, 4, 3])
    y = helper.make_tensor_value_info("Identity", TensorProto.FLOAT, [1, 16, 3])
    z = helper.make_tensor_value_info("Identity_1", TensorProto.FLOAT, [1, 48])
    weight = np.arange(3, dtype=np.float32)
    nodes = [helper.make_node("Mul", ["input_1", "w"], ["scaled"]),
             helper.make_node("Reshape", ["scaled", "shape_a"], ["Identity"]),
             helper.make_node("Reshape", ["scaled", "shape_b"], ["Identity_1"])]
    inits = [numpy_helper.from_array(weight, "w"),
             numpy_helper.from_array(np.array([1, -1, 3], np.int64), "shape_a"),
             numpy_helper.from_array(np.array([1, 48], np.int64), "shape_b")]
    graph = helper.make_graph(nodes, "fixed", [x], [y, z], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "m.onnx"
    onnx.save(model, path)

    make_batch_dynamic(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] == "batch"
    batch = np.random.default_rng(0).normal(size=(3, 4, 4, 3)).astype(np.float32)
    together = session.run(None, {"input_1": batch})
    for i in range(3):
        alone = session.run(None, {"input_1": batch[i:i + 1]})
        for a, b in zip(together, alone, strict=True):
            np.testing.assert_array_equal(a[i:i + 1], b)
    np.testing.assert_allclose(together[1], (batch * weight).reshape(3, 48))


def test_tolerance_is_relative_to_each_output_scale():
    record = {"outputs": {"a": {"max_abs_reference": 800.0, "max_abs_difference": 0.5,
                                "batch_vs_single_max_abs_difference": 0.0},
                          "b": {"max_abs_reference": 0.5, "max_abs_difference": 5e-4,
                                "batch_vs_single_max_abs_difference": 0.0}}}
    assert within(record, 1e-3)
    record["outputs"]["b"]["max_abs_difference"] = 2e-3  # small output: absolute 1e-3 floor
    assert not within(record, 1e-3)


def test_the_converter_refuses_bad_values_and_existing_models_before_any_work(tmp_path, capsys):
    """Found by a review (session 23): --frames 0 ended in a traceback after the converter
    environment (1.6 GB) was made, and a failed conversion overwrote the models in place.
    Now mistakes are one line before anything is made, existing models stay unless
    --overwrite, and models are moved in only when verified (staged_outputs)."""
    from pose3d_ros.core.output_files import run_cli
    from pose3d_ros.tools import convert_blazepose_onnx as tool

    venv = tmp_path / "venv"                      # never made by a refused run
    base = ["--out", str(tmp_path / "models"), "--venv", str(venv)]
    import pytest

    # the numbers' ranges are their argparse types: argparse's one error line, exit 2
    for extra, told in ((["--frames", "0"], "argument --frames: must be a whole number >= 1"),
                        (["--tolerance", "nan"], "argument --tolerance: must be a finite number"),
                        (["--opset", "7"], "argument --opset: must be an opset tf2onnx 1.17")):
        with pytest.raises(SystemExit) as exited:
            run_cli(tool.main, base + extra)
        err = capsys.readouterr().err
        assert exited.value.code == 2 and "Traceback" not in err, err
        assert told in err.strip().splitlines()[-1], err
    (tmp_path / "models").mkdir()
    old = tmp_path / "models" / "pose_landmark_full.onnx"
    old.write_bytes(b"a verified model")
    assert run_cli(tool.main, base) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert old.read_bytes() == b"a verified model" and not venv.exists()


def test_a_failed_converter_install_is_one_line_and_leaves_no_half_environment(tmp_path):
    """Found by CI (stop 51): pip ran out of disk installing TensorFlow into the converter
    environment; the tool ended in a traceback and left the half-installed environment behind.
    Now a failed install is a UserError naming the environment and the step, and an
    environment this run created is removed (one that was there is left as it was). A real
    venv and a real pip, asked for a wheel file that does not exist (no network needed)."""
    import pytest

    from pose3d_ros.core.output_files import UserError
    from pose3d_ros.tools.convert_blazepose_onnx import ensure_convert_venv

    missing = str(tmp_path / "not_there-1.0-py3-none-any.whl")
    venv = tmp_path / "convert-venv"
    with pytest.raises(UserError) as failed:
        ensure_convert_venv(venv, (missing,))
    told = str(failed.value)
    assert f"could not make the converter environment {venv}" in told, told
    assert "python -m pip install exited 1" in told and "the environment was removed" in told, told
    assert not venv.exists()

    venv.mkdir()                                  # a folder the user had: never removed
    (venv / "theirs.txt").write_text("kept")
    with pytest.raises(UserError) as failed:
        ensure_convert_venv(venv, (missing,))
    assert "left as it was" in str(failed.value)
    assert (venv / "theirs.txt").read_text() == "kept"


def test_an_interrupted_converter_install_leaves_no_half_environment(tmp_path):
    """Ctrl-C while the converter environment is being made (minutes of pip on a first run)
    removes what this run made, as a failed install does: the tool's one line, exit 130."""
    import sys

    from interrupt import interrupt_when

    venv = tmp_path / "convert-venv"
    missing = str(tmp_path / "not_there-1.0-py3-none-any.whl")
    script = ("import logging, sys; from pathlib import Path; "
              "logging.basicConfig(level=logging.INFO, format='%(message)s'); "
              "from pose3d_ros.core.output_files import run_cli; "
              "from pose3d_ros.tools.convert_blazepose_onnx import ensure_convert_venv; "
              "sys.exit(run_cli(lambda argv: ensure_convert_venv(Path(sys.argv[1]), "
              "(sys.argv[2],)) and 0, []))")
    code, err = interrupt_when([sys.executable, "-c", script, str(venv), missing],
                               "creating the converter environment", tmp_path / "err.txt",
                               delay_s=0.1)
    assert code == 130 and "interrupted; no output was written" in err, (code, err)
    assert "Traceback" not in err and not venv.exists(), err


def test_a_failed_tf2onnx_run_is_one_line_through_run_cli(tmp_path, capsys):
    """Found by a review: tf2onnx failing ended the converter in a RuntimeError traceback with
    3000 characters of its output. Now one `error:` line names the model and tf2onnx's last
    line; --debug raises with the whole output as the cause. A real subprocess: this interpreter
    has no tf2onnx, so `python -m tf2onnx.convert` fails as a broken environment would."""
    import sys

    import pytest

    from pose3d_ros.core.output_files import UserError, run_cli
    from pose3d_ros.tools.convert_blazepose_onnx import run_tf2onnx

    tflite = tmp_path / "pose_landmark_full.tflite"
    tflite.write_bytes(b"not a model")
    onnx_out = tmp_path / "out.onnx"

    def convert(argv):
        run_tf2onnx(Path(sys.executable), tflite, onnx_out, 13)
        return 0

    assert run_cli(convert, []) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("error: tf2onnx failed on pose_landmark_full.tflite: ") and \
        "tf2onnx" in err.split(": ", 2)[2], err
    with pytest.raises(UserError) as raised:
        run_cli(convert, ["--debug"])
    assert "No module named" in str(raised.value.__cause__)
    assert not onnx_out.exists()
