"""The one-command demo end to end on 4 frame sets: bag, real node over DDS, report."""
from __future__ import annotations

import json

import pytest

from pose3d_ros.core import bagio
from pose3d_ros.tools import demo


def test_demo_runs_the_real_node_over_dds_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert demo.main(["--max-frames", "4", "--out-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"report: {out / 'report.html'}" in printed
    summary = json.loads((out / "evaluation.json").read_text())["summary"]
    # Every frame set went through the node and came back over DDS with a person in it.
    assert summary["prediction frames"] == 4 and summary["paired frames"] == 4
    assert summary["detection rate"] == 1.0
    assert summary["MPJPE [m]"] < 0.2
    assert summary["latency end to end over DDS median [s]"] > 0
    assert summary["latency offline detect median [s]"] > 0
    topics = bagio.bag_topics(out / "output_bag")
    assert topics == {"/skeletons": bagio.SKELETON3D_ARRAY, "/tf_static": bagio.TF_MESSAGE}
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 5


def test_demo_refuses_to_clear_a_folder_that_is_not_its_own(tmp_path):
    (tmp_path / "thesis.tex").write_text("keep me")
    with pytest.raises(ValueError, match="holds more than a demo's outputs"):
        demo.prepare_out_dir(tmp_path)
    assert (tmp_path / "thesis.tex").read_text() == "keep me"
    previous = tmp_path / "previous"
    (previous / "input_bag").mkdir(parents=True)
    (previous / "report.html").write_text("old")
    demo.prepare_out_dir(previous)
    assert previous.is_dir() and not any(previous.iterdir())
