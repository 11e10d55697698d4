"""eval_detection, eval_multiview and eval_lifter follow the tools' rules: an existing output
refused unless --overwrite (before any work), unwritable outputs and wrong inputs told in one
line with exit 2, tracebacks only with --debug, the output staged and moved in complete."""
from __future__ import annotations

import json

import pytest

from pose3d_ros.core.output_files import UserError, run_cli
from pose3d_ros.tools import eval_detection, eval_lifter, eval_multiview


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize("tool, flag, extra", [
    (eval_detection, "--json", ["--recordings", "single", "--detectors", "blazepose"]),
    (eval_multiview, "--json", []),
    (eval_lifter, "--markdown", ["--recording", "single"])])
def test_an_existing_or_unwritable_output_is_refused_before_any_work(tmp_path, capsys, tool,
                                                                     flag, extra, monkeypatch):
    out = tmp_path / "out.yaml"
    out.write_text("keep me")
    # An empty data folder: any work would fail to find the demo there or write its cache.
    monkeypatch.setenv("POSE3D_DATA", str(tmp_path / "data"))
    assert run_cli(tool.main, [*extra, flag, str(out)]) == 2
    assert f"{out} already exists; pass --overwrite" in _one_line(capsys)
    with pytest.raises(UserError, match="already exists"):
        run_cli(tool.main, [*extra, flag, str(out), "--debug"])
    assert run_cli(tool.main, [*extra, flag, str(out / "x.json")]) == 2
    assert "cannot be written" in _one_line(capsys)
    assert out.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]


def test_eval_lifter_tells_a_missing_recording_or_model_in_one_line(tmp_path, capsys):
    nowhere = tmp_path / "nowhere"
    assert run_cli(eval_lifter.main, ["--recording", str(nowhere)]) == 2
    assert str(nowhere) in _one_line(capsys)
    assert run_cli(eval_lifter.main, ["--recording", "single", "--model",
                                      str(tmp_path / "none.onnx")]) == 2
    assert "none.onnx does not exist" in _one_line(capsys)


def test_eval_lifter_says_when_a_model_is_scored_on_its_own_training_footage():
    """Found by an audit: the shipped lifter (trained on `single`) scored on `single` beat
    BlazePose by 30 mm with no word that the figures are not held out (the tool's own example
    did it). The metadata's trained_on is read: `single`, and `multi` (the same footage with a
    second person) unless `single`'s people are left out, are said."""
    from pose3d_ros.core.lifting.labels import trained_on_scored_footage
    from pose3d_ros.core.lifting.runtime import DEFAULT_MODEL

    assert trained_on_scored_footage(DEFAULT_MODEL, "single", ()) == "'single'"
    assert trained_on_scored_footage(DEFAULT_MODEL, "multi", ()) == "'single'"
    assert trained_on_scored_footage(DEFAULT_MODEL, "multi", ("single",)) == ""
    assert trained_on_scored_footage(DEFAULT_MODEL.with_name("absent.onnx"), "single", ()) == ""


def test_eval_detection_refuses_unknown_names_and_writes_its_report_staged(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert run_cli(eval_detection.main, ["--detectors", "nosuch", "--json", str(out)]) == 2
    assert "unknown detector 'nosuch'" in _one_line(capsys)
    assert run_cli(eval_detection.main, ["--recordings", "nosuch", "--json", str(out)]) == 2
    assert "unknown recording 'nosuch'" in _one_line(capsys)
    args = ["--recordings", "single", "--detectors", "blazepose", "--max-frames", "2",
            "--json", str(out)]
    assert run_cli(eval_detection.main, args) == 0
    report = json.loads(out.read_text())
    assert report["single"]["detection"]["blazepose"][0]["frames"] == 2
    out.write_text("old")
    assert run_cli(eval_detection.main, args) == 2
    assert out.read_text() == "old"
    assert run_cli(eval_detection.main, [*args, "--overwrite"]) == 0
    assert json.loads(out.read_text()) == report
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_eval_detection_tells_missing_onnx_models_before_any_detection(tmp_path, capsys,
                                                                       monkeypatch):
    """It ran 2D for 13 s before failing on blazepose_onnx's unconverted models (found by an
    audit of the docs' commands)."""
    monkeypatch.setenv("POSE3D_DATA", str(tmp_path / "data"))
    assert run_cli(eval_detection.main, ["--detectors", "blazepose", "blazepose_onnx"]) == 2
    err = _one_line(capsys)
    assert "BlazePose ONNX models missing" in err and "convert_blazepose_onnx" in err
    assert not (tmp_path / "data").exists()


def test_figures_files_are_strict_json():
    """Found by a review: eval_multiview --json wrote bare NaN (figures that could not be
    computed), which strict parsers (JavaScript's JSON.parse) refuse. The tools' JSON goes
    through output_files.json_text: NaN and infinities as null, NumPy values as numbers."""
    import numpy as np

    from pose3d_ros.core.output_files import json_text

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    text = json_text({"nan": float("nan"), "rows": np.array([[1.0, np.inf], [np.nan, 2.0]]),
                      "scalar": np.float32(2.5), "count": (np.int64(3), -np.inf)})
    assert json.loads(text, parse_constant=refuse) == {
        "nan": None, "rows": [[1.0, None], [None, 2.0]], "scalar": 2.5, "count": [3, None]}


def test_eval_lifter_keeps_models_of_one_file_name_apart(tmp_path, capsys):
    """A review: rows were keyed by the model's file name, so of a/m1.onnx and e/m1.onnx one
    was dropped without a word. Each is named by as many folders as tell it apart; the same
    file given twice is refused in one line. (12 frames of the 'single' demo, cached 2D.)"""
    import shutil

    from lifter_inputs import cache_2d, demo_2d

    from pose3d_ros.core.lifting.runtime import DEFAULT_MODEL

    models = []
    for folder in ("a", "e"):
        (tmp_path / folder).mkdir()
        models.append(shutil.copy(DEFAULT_MODEL, tmp_path / folder / "m1.onnx"))
    cache = tmp_path / "cache"
    cache_2d(cache, "single", demo_2d("single", 12))
    base = ["--recording", "single", "--cache-dir", str(cache)]
    assert run_cli(eval_lifter.main, [*base, "--model", str(models[0]), "--model",
                                      str(tmp_path / "e" / ".." / "a" / "m1.onnx")]) == 2
    assert "m1.onnx is given twice" in _one_line(capsys)
    assert run_cli(eval_lifter.main, [*base, "--model", str(models[0]), "--model",
                                      str(models[1])]) == 0
    means = [line.split("|")[2].strip() for line in capsys.readouterr().out.splitlines()
             if line.startswith("| mean |")]
    assert means == ["blazepose_world", "a/m1", "e/m1"], means
    assert eval_lifter.model_labels([tmp_path / "blazepose_world.onnx"]) == [
        f"{tmp_path.name}/blazepose_world"]


def test_eval_lifter_says_when_nobody_or_too_few_poses_were_triangulated(tmp_path, capsys):
    """A review: a recording with nobody triangulated read "PSS needs 1 <= k <= number of
    complete reference poses (0), got k=10". (BlazePose on 12 empty frames per camera, and 2
    frames of the 'single' demo, cached 2D.)"""
    import numpy as np
    from lifter_inputs import cache_2d, demo_2d, recording_folder

    from pose3d_ros.core.lifting.dataset import BlazePoseSequence

    empty = recording_folder(tmp_path / "empty")
    with BlazePoseSequence() as pose:
        for _ in range(12):
            pose.add(np.zeros((1080, 1920, 3), np.uint8))
        nobody = pose.result()
    cache = tmp_path / "cache"
    cache_2d(cache, str(empty), [nobody] * 4)
    assert run_cli(eval_lifter.main, ["--recording", str(empty), "--cache-dir", str(cache)]) == 2
    assert "no person was triangulated" in _one_line(capsys)
    cache_2d(cache, "single", demo_2d("single", 12), 2)
    assert run_cli(eval_lifter.main, ["--recording", "single", "--cache-dir", str(cache)]) == 2
    line = _one_line(capsys)
    assert "complete reference poses" in line and "fewer than the 10 of the PSS" in line, line
