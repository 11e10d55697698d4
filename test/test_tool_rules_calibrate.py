"""calibrate follows the tools' rules: checks before work, one line and exit 2 for mistakes,
a progress bar, Ctrl-C without a traceback, the rig file staged and an existing one kept."""
from __future__ import annotations

import sys

import pytest
from interrupt import interrupt_when

from pose3d_ros.core.data_paths import calibration_path, video_paths
from pose3d_ros.core.output_files import UserError, run_cli
from pose3d_ros.tools.calibrate import main


def test_an_out_of_range_reference_is_refused_before_any_detection(tmp_path, capsys,
                                                                  monkeypatch):
    out = tmp_path / "rig.yaml"
    assert run_cli(main, ["--demo", "multi", "--reference", "7", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --reference 7 is not a camera index (0..3)"], err
    videos, calibration = video_paths("single")[:2], calibration_path("single")
    # An empty data folder: a 2D detection would write its cache there.
    monkeypatch.setenv("POSE3D_DATA", str(tmp_path / "data"))
    assert run_cli(main, ["--videos", *map(str, videos), "--intrinsics", str(calibration),
                          "--reference", "7", "--frames", "7", "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --reference 7 is not a camera index (0..1)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []          # no cache, no rig


def test_mistakes_end_in_one_line_with_exit_2_and_a_traceback_only_with_debug(tmp_path,
                                                                              capsys):
    out = tmp_path / "rig.yaml"
    out.write_text("keep me")
    args = ["--demo", "single", "--out", str(out)]
    assert run_cli(main, args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0] and "--overwrite" in err[0], err
    with pytest.raises(UserError, match="already exists"):
        run_cli(main, [*args, "--debug"])
    assert out.read_text() == "keep me"
    # an output that cannot be written, and one that would replace an input
    assert run_cli(main, ["--demo", "single", "--out", str(out / "rig.yaml")]) == 2
    assert "cannot be written" in capsys.readouterr().err
    intrinsics = tmp_path / "intrinsics.yaml"
    intrinsics.write_bytes(calibration_path("single").read_bytes())
    videos = [str(v) for v in video_paths("single")[:2]]
    assert run_cli(main, ["--videos", *videos, "--intrinsics", str(intrinsics), "--out",
                          str(intrinsics), "--overwrite"]) == 2
    assert "would delete that input" in capsys.readouterr().err
    assert intrinsics.read_bytes() == calibration_path("single").read_bytes()


def test_ctrl_c_shows_no_traceback_and_keeps_the_old_rig(tmp_path):
    """Interrupted during association (after the progress bar appeared): exit 130, one line,
    the existing rig untouched and nothing half-written beside it."""
    out = tmp_path / "rig.yaml"
    out.write_text("keep me")
    code, err = interrupt_when(
        [sys.executable, "-m", "pose3d_ros.tools.calibrate", "--demo", "multi", "--out",
         str(out), "--overwrite"], "association", tmp_path / "stderr.txt")
    assert "self-calibration" in err                      # the progress bar
    assert code == 130, err
    assert "interrupted; no output was written" in err and "Traceback" not in err
    assert out.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rig.yaml", "stderr.txt"]


def test_log_lines_are_written_above_the_progress_bar_not_into_it(tmp_path):
    """With --debug the calibration logs each fit while the bar is drawn; every log line must
    start a line of its own (tqdm.write), not follow a bar's text (they interleaved before)."""
    import subprocess

    out = tmp_path / "rig.yaml"
    done = subprocess.run([sys.executable, "-m", "pose3d_ros.tools.calibrate", "--demo",
                           "single", "--out", str(out), "--debug"], capture_output=True,
                          text=True, timeout=300, check=True)
    pieces = [line.rsplit("\r", 1)[-1] for line in done.stderr.split("\n")]
    fits = [p for p in done.stderr.split("\n") if "self-calibration: start pair" in p]
    assert len(fits) == 4, done.stderr[-2000:]            # one per held-out split
    assert sum(p.startswith("self-calibration: start pair") for p in pieces) == 4, fits
    assert "step/s]self-calibration" not in done.stderr
    assert out.exists()
