"""The one-command demo end to end on 4 frame sets: bag, real node over DDS, report."""
from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest
from interrupt import interrupt_when

from pose3d_ros.core import bagio
from pose3d_ros.core.output_files import UserError, run_cli
from pose3d_ros.tools import demo


def test_demo_runs_the_real_node_over_dds_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert demo.main(["--max-frames", "4", "--out-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"report:        {out / 'report.html'}" in printed
    assert f"output bag:    {out / 'output_bag'}" in printed
    # the figures that need no reference are printed too (an audit: only in the report)
    assert "frames without output" in printed and "bone-length CV median" in printed
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


def test_demo_replaces_only_its_own_default_folder(tmp_path, monkeypatch):
    """reports/demo/<recording> is the demo's own: replaced on each run while it holds only
    a demo's outputs; anything else there, or any existing folder the user names, needs
    --overwrite."""
    monkeypatch.chdir(tmp_path)
    previous = tmp_path / "reports" / "demo" / "single"
    (previous / "input_bag").mkdir(parents=True)
    (previous / "report.html").write_text("old")
    assert demo.check_out_dir(None, "single", False) == (previous, True)
    (previous / "thesis.tex").write_text("keep me")
    for overwrite in (False, True):    # never deleted, --overwrite or not
        with pytest.raises(UserError, match="holds thesis.tex, which pose3d_ros did not write"):
            demo.check_out_dir(None, "single", overwrite)
    with pytest.raises(UserError, match="already exists; pass --overwrite"):
        demo.check_out_dir(previous, "single", False)
    assert demo.check_out_dir(Path("new"), "single", False) == (tmp_path / "new", False)
    assert (previous / "thesis.tex").read_text() == "keep me"
    (previous / "thesis.tex").unlink()
    assert demo.check_out_dir(None, "single", False) == (previous, True)


def test_demo_mistakes_are_told_in_one_line_before_any_work(tmp_path, capsys):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "report.html").write_text("old")
    assert run_cli(demo.main, ["--out-dir", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0] and "--overwrite" in err[0], err
    assert run_cli(demo.main, ["--out-dir", str(out), "--overwrite", "--detector",
                               "nosuch"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown detector 'nosuch'" in err[0], err
    with pytest.raises(UserError, match="unknown detector"):
        run_cli(demo.main, ["--out-dir", str(out), "--detector", "nosuch", "--debug"])
    assert [p.name for p in out.iterdir()] == ["report.html"]
    assert (out / "report.html").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


@pytest.mark.parametrize("signal_number, status", [(signal.SIGINT, 130),
                                                    (signal.SIGTERM, 143)])
def test_ctrl_c_keeps_the_previous_outputs_and_writes_nothing(tmp_path, signal_number, status):
    """Interrupted while the bag is written, by Ctrl-C or by SIGTERM (kill, timeout: it left
    the staging folder behind before): exit 130 / 143, one line, the previous report
    untouched and no partial bag or staging folder left."""
    out = tmp_path / "demo"
    out.mkdir()
    (out / "report.html").write_text("old")
    code, err = interrupt_when([sys.executable, "-m", "pose3d_ros.tools.demo", "--out-dir",
                                str(out), "--overwrite"], "bag:", tmp_path / "stderr.txt",
                               signal_number=signal_number)
    assert code == status, err
    assert "interrupted; no output was written" in err and "Traceback" not in err
    assert [p.name for p in out.iterdir()] == ["report.html"]
    assert (out / "report.html").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "stderr.txt"]
