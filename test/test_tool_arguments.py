"""The offline tools refuse impossible arguments before any work, in one line naming the
option and with exit 2, and a run that produced nothing useful does not end 0 (defects found
by a review of the tools' arguments: each test failed before its fix)."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from interrupt import interrupt_when

from pose3d_ros.core.output_files import UserError, run_cli
from pose3d_ros.tools import (
    calibrate,
    demo,
    demo_2d,
    eval_detection,
    eval_lifter,
    fetch_demo,
    fetch_mocap,
    make_bag,
    measure_error_model,
    render_mocap,
    run,
    train_lifter,
)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def _refused(capsys, main, argv: list[str], *told: str) -> None:
    """main(argv) through run_cli ends 2 with one line that says all of `told`, and raises
    the UserError itself with --debug."""
    assert run_cli(main, argv) == 2, argv
    line = _one_line(capsys)
    assert all(t in line for t in told), (argv, line)
    with pytest.raises(UserError):
        run_cli(main, [*argv, "--debug"])
    capsys.readouterr()


ARGPARSE_HINT = " (--help lists the options)"


def _refused_by_argparse(capsys, main, argv: list[str], option: str) -> str:
    """main(argv) ends in argparse's error, exit 2 and ONE line `error: argument <option>:
    ... (--help lists the options)` (a review: after a usage block of 7-30 lines), before any
    work; returns that line without the hint."""
    with pytest.raises(SystemExit) as exited:
        run_cli(main, argv)
    assert exited.value.code == 2, argv
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: argument {option}: "), (argv, lines)
    assert lines[0].endswith(ARGPARSE_HINT), lines
    return lines[0].removesuffix(ARGPARSE_HINT)


def test_a_bag_folder_taken_for_one_of_the_videos_is_told(tmp_path, capsys):
    """(a review: `make_bag --videos a.mp4 b.mp4 out` said only "the following arguments are
    required: out")"""
    from pose3d_ros.core.data_paths import video_paths

    videos = [str(v) for v in video_paths("single")[:2]]
    with pytest.raises(SystemExit) as exited:
        run_cli(make_bag.main, ["--videos", *videos, str(tmp_path / "bag")])
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "the bag folder to create is missing" in lines[0], lines
    assert f"{tmp_path / 'bag'}, the last of --videos, does not exist" in lines[0]
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------- train_lifter
@pytest.mark.parametrize("extra, told", [
    (["--batch-size", "1"], "--batch-size"), (["--batch-size", "0"], "--batch-size"),
    (["--threads", "0"], "--threads"), (["--threads", "-2"], "--threads"),
    (["--clean-share", "nan"], "--clean-share"), (["--clean-share", "1.5"], "--clean-share"),
    (["--clean-share", "-0.1"], "--clean-share"),
    (["--synthetic-share", "nan"], "--synthetic-share")])
def test_train_lifter_refuses_impossible_numbers_before_any_work(tmp_path, capsys, extra,
                                                                 told):
    """--batch-size 1 trained nothing (every batch of one is skipped) and wrote a model with
    mean error 0, --batch-size 0 failed after the training started, --threads 0 was a
    traceback and --clean-share nan was taken."""
    out = tmp_path / "lifter.onnx"
    _refused_by_argparse(capsys, train_lifter.main, [
        "--mocap", "--mocap-clips", "walk", "--epochs", "1", "--mocap-per-epoch", "64",
        "--no-progress", "--out", str(out), *extra], told)
    assert list(tmp_path.iterdir()) == []


def _synthetic_labels(frames: int):
    from test_lifter_model import _synthetic_labels as labels  # noqa: PLC0415 - test helper

    return labels(np.random.default_rng(0), frames=frames)


def _small_config(**changes):
    from pose3d_ros.core.lifting.model import LifterConfig
    from pose3d_ros.core.lifting.training import TrainConfig

    settings = {"epochs": 1, "virtual_per_epoch": 128, "batch_size": 64, "seed": 3, **changes}
    return TrainConfig(model=LifterConfig(window=27, causal=True, channels=16), **settings)


def test_a_training_epoch_without_a_batch_fails_instead_of_reporting_no_error(tmp_path):
    """An epoch that ran no batch averaged its error over max(batches, 1): 0 m, which passed
    the divergence check; a model trained on nothing was written."""
    from pose3d_ros.core.lifting.training import train

    with pytest.raises(ValueError, match="batch size must be at least 2"):
        train([_synthetic_labels(40)], _small_config(batch_size=1), tmp_path / "one",
              progress=False)
    # one usable sample in all (one frame, seen by one camera): no batch of two
    labels = _synthetic_labels(1)
    keypoints = labels.keypoints.copy()
    keypoints[1] = np.nan
    with pytest.raises(ValueError, match="epoch 1 trained on nothing: 1 usable sample"):
        train([dataclasses.replace(labels, keypoints=keypoints)],
              _small_config(virtual_per_epoch=0, batch_size=2), tmp_path / "few",
              progress=False)
    assert not (tmp_path / "few" / "checkpoint.pt").exists()


def test_a_training_without_progress_bars_logs_each_epoch_and_a_divergence_says_true(
        tmp_path, caplog):
    """A review: --no-progress printed no epoch at all, and a loss that was not a number in
    the first epoch named a checkpoint no epoch had written."""
    import logging

    from pose3d_ros.core.lifting.training import train

    with caplog.at_level(logging.INFO, logger="pose3d_ros.core.lifting.training"):
        train([_synthetic_labels(40)], _small_config(epochs=2), tmp_path / "ok", progress=False)
    epochs = [r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch ")]
    assert len(epochs) == 2 and epochs[1].startswith("epoch 2/2: MPJPE ")
    assert " mm, reprojection " in epochs[1] and " px " in epochs[1]
    labels = _synthetic_labels(40)
    keypoints = labels.keypoints.copy()
    keypoints[:, :5] = 1e30                                  # 2D no network survives
    with pytest.raises(ValueError, match="no epoch finished, so no checkpoint"):
        train([dataclasses.replace(labels, keypoints=keypoints)], _small_config(),
              tmp_path / "bad", progress=False)
    assert not (tmp_path / "bad" / "checkpoint.pt").exists()


def test_resume_names_the_options_that_differ_before_any_work(tmp_path, capsys, caplog):
    """A review: --resume with another --epochs was told after the labels and the motion
    capture were loaded, as "another configuration" without naming the option, and --resume
    without a checkpoint trained from scratch without a word."""
    import logging

    from pose3d_ros.core.lifting.training import config_differences

    base = ["--mocap", "--mocap-clips", "walk", "--mocap-per-epoch", "64", "--no-progress"]
    out = tmp_path / "m.onnx"
    with caplog.at_level(logging.WARNING):
        assert run_cli(train_lifter.main, [*base, "--epochs", "1", "--resume", "--out",
                                           str(out)]) == 0
    assert any("holds no checkpoint; training from the first epoch" in r.getMessage()
               for r in caplog.records)
    capsys.readouterr()
    _refused(capsys, train_lifter.main, [*base, "--epochs", "2", "--lr", "0.001", "--resume",
                                         "--overwrite", "--out", str(out)],
             "was trained with other values of --epochs, --lr; give the options it was "
             "started with")
    # other data: another clip and perfect 2D (a review: the resume went on without a word,
    # and the model's metadata named only the second run's clip)
    _refused(capsys, train_lifter.main, ["--mocap", "--mocap-clips", "run", "--perfect-2d",
                                         "--mocap-per-epoch", "64", "--no-progress",
                                         "--epochs", "1", "--resume", "--overwrite", "--out",
                                         str(out)],
             "was trained with other values of --mocap/--mocap-clips, --perfect-2d; give the "
             "options it was started with")
    # a misspelt clip and a file as --cache-dir: refused before any work
    _refused(capsys, train_lifter.main, ["--mocap", "--mocap-clips", "wlak", "--out",
                                         str(tmp_path / "n.onnx")],
             "--mocap-clips: unknown clip(s) wlak; the clips are ")
    (tmp_path / "afile").write_text("")
    _refused(capsys, train_lifter.main, ["--recording", "single", "--cache-dir",
                                         str(tmp_path / "afile"), "--out",
                                         str(tmp_path / "n.onnx")],
             f"--cache-dir {tmp_path / 'afile'} is a file; give a folder")
    assert config_differences({"a": 1, "m": {"w": 27, "c": True}},
                              {"a": 1, "m": {"w": 81, "c": True}, "new": 0}) == ["m.w", "new"]


def test_history_json_is_always_of_the_checkpoints_epoch(tmp_path):
    """history.json was written only at the end (and not atomically): after an interrupted
    run it was the previous run's while checkpoint.pt was the new one. Interrupted (a real
    SIGINT) after a few epochs, both hold the same epochs."""
    import torch

    from pose3d_ros.core.lifting.training import train

    work = tmp_path / "work"
    work.mkdir()
    (work / "history.json").write_text(json.dumps([{"epoch": e} for e in range(1, 9)]))
    checkpoint = work / "checkpoint.pt"
    stop = threading.Event()

    def interrupt_after_two_epochs() -> None:
        while not stop.is_set():
            if checkpoint.is_file() and torch.load(checkpoint, weights_only=True)["epoch"] >= 2:
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.02)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    watcher = threading.Thread(target=interrupt_after_two_epochs)
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            train([_synthetic_labels(40)], _small_config(epochs=500), work, progress=False)
    finally:
        stop.set()
        watcher.join()
        signal.signal(signal.SIGINT, previous)
    epochs = [h["epoch"] for h in json.loads((work / "history.json").read_text())]
    saved = torch.load(checkpoint, weights_only=True)
    assert epochs == [h["epoch"] for h in saved["history"]] == list(range(1, saved["epoch"] + 1))
    assert 2 <= saved["epoch"] < 500
    assert sorted(p.name for p in work.iterdir()) == ["checkpoint.pt", "history.json"]


# --------------------------------------------------------------------------------- demo
@pytest.mark.parametrize("extra, told", [
    (["--timeout", "0"], "--timeout"), (["--timeout", "nan"], "--timeout"),
    (["--rate", "nan"], "--rate"), (["--rate", "-1"], "--rate"), (["--rate", "inf"], "--rate")])
def test_demo_refuses_a_timeout_or_rate_it_cannot_run_with_before_any_work(tmp_path, capsys,
                                                                          extra, told):
    """--timeout 0 and --rate nan ran, scored nothing and ended 0; --rate -1 was refused only
    after the bag was written. (--rate 0 is lock-step, the default.)"""
    _refused_by_argparse(capsys, demo.main, ["--out-dir", str(tmp_path / "demo"), *extra], told)
    assert list(tmp_path.iterdir()) == []


def test_a_demo_run_that_receives_no_skeletons_fails_and_keeps_the_previous_outputs(tmp_path):
    """Nothing arrives within a 1 ms --timeout: it wrote a report of nan and ended 0; now one
    error line, exit 2, and the previous outputs stay."""
    out = tmp_path / "demo"
    out.mkdir()
    (out / "report.html").write_text("old")
    result = subprocess.run([sys.executable, "-m", "pose3d_ros.tools.demo", "--max-frames",
                             "1", "--timeout", "0.001", "--out-dir", str(out), "--overwrite"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    last = result.stderr.replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("error: the node published no skeletons") and "--timeout" in last
    assert "Traceback" not in result.stderr
    assert [p.name for p in out.iterdir()] == ["report.html"]
    assert (out / "report.html").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


# ------------------------------------------------------------ render_mocap, measure_error
@pytest.mark.parametrize("extra, told", [(["--width", "321"], "--width"),
                                         (["--height", "241"], "--height")])
def test_render_mocap_refuses_odd_video_sizes(tmp_path, capsys, extra, told):
    """The mp4 writer dropped the odd pixel: a 320x240 video beside a 321x241 calibration,
    which make_bag then refused."""
    _refused(capsys, render_mocap.main, ["--out-dir", str(tmp_path / "r"), "--seconds", "0.1",
                                         *extra], told, "even")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["nan", "inf", "-5", "0"])
def test_measure_error_model_refuses_a_threshold_that_is_no_pixel_distance(tmp_path, capsys,
                                                                          value):
    """--threshold-px nan wrote another model and ended 0; -5 ended with a misleading error."""
    _refused_by_argparse(capsys, measure_error_model.main, [
        "--out", str(tmp_path / "model.json"), "--threshold-px", value], "--threshold-px")
    assert list(tmp_path.iterdir()) == []


def test_measure_error_model_refuses_all_cameras_for_the_multi_recording_at_once(tmp_path,
                                                                               capsys):
    """A review: --recording multi --all-cameras ran 15 s of 2D, then ended in words that
    named no option."""
    with pytest.raises(SystemExit) as exited:
        run_cli(measure_error_model.main, ["--recording", "multi", "--all-cameras", "--out",
                                           str(tmp_path / "model.json")])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --all-cameras applies to --recording single (the multi-person measurement is "
        "leave-one-camera-out only) (--help lists the options)"]
    assert list(tmp_path.iterdir()) == []


def test_demo_2d_tells_a_data_folder_it_cannot_use_in_one_line(tmp_path, capsys,
                                                                 monkeypatch):
    """demo_2d ended every failure in a traceback (an audit: it alone did not run through
    run_cli and had no --debug); the traceback is there with --debug."""
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("")
    monkeypatch.setenv("POSE3D_DATA", str(not_a_folder))
    assert run_cli(demo_2d.main, ["single"]) == 2
    assert "not a folder" in _one_line(capsys)
    with pytest.raises(ValueError, match="not a folder"):
        run_cli(demo_2d.main, ["single", "--debug"])
    _refused_by_argparse(capsys, demo_2d.main, ["singel"], "names")
    # no name: both recordings (a review: a list default beside choices refused itself)
    assert run_cli(demo_2d.main, []) == 2 and "not a folder" in _one_line(capsys)


# ------------------------------------------------------------------------------ make_bag
@pytest.mark.parametrize("extra, told", [
    (["--start=1e11"], "--start"), (["--start=-5"], "--start"), (["--start", "nan"], "--start"),
    (["--start", "inf"], "--start"), (["--scale", "0.0001"], "--scale"),
    (["--scale", "0.01"], "each side must keep at least 16 pixels")])
def test_make_bag_refuses_stamps_beyond_a_ros_time_and_vanishing_images(tmp_path, capsys,
                                                                        extra, told):
    """--start=1e11 was a struct.error traceback, --start=-5 refused only after the writing
    began, --start nan unclear; --scale 0.0001 a cv2.error traceback."""
    argv = ["--demo", "single", "--max-frames", "1", str(tmp_path / "bag"), *extra]
    if extra[0].startswith("--start"):               # its range: the option's argparse type
        line = _refused_by_argparse(capsys, make_bag.main, argv, told)
        assert "seconds since the epoch above 0" in line
    else:
        _refused(capsys, make_bag.main, argv, told)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("frame, told", [
    ("cam01_optical_frame", "is a camera's optical frame"), ("/world", "starts with '/'"),
    ("", "is empty"), ("a b", "holds white space")])
def test_make_bag_refuses_a_fixed_frame_the_rig_cannot_have(tmp_path, capsys, frame, told):
    """A review: these wrote bags that looked complete, and `run --bag` then failed at the
    node's configure with another message (the rule calibrate --frame-id applies:
    camera.rig_frame_problem)."""
    _refused(capsys, make_bag.main, ["--demo", "single", "--max-frames", "1", "--fixed-frame",
                                     frame, str(tmp_path / "bag")], told)
    assert list(tmp_path.iterdir()) == []


def test_make_bag_docstring_names_its_own_options():
    assert "--compressed" not in make_bag.__doc__ and "--raw" in make_bag.__doc__


# ----------------------------------------------------------------- fetch_demo, fetch_mocap
def _no_index_env(tmp_path: Path, index: str | None) -> dict[str, str]:
    """pip without its configuration (no local index or wheel folder): no index at all, or
    the one at `index`; temporary folders under tmp_path/tmp."""
    (tmp_path / "tmp").mkdir()
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"), PIP_CONFIG_FILE=os.devnull,
               PIP_FIND_LINKS="", PIP_RETRIES="0", PIP_DEFAULT_TIMEOUT="60")
    if index is None:
        env["PIP_NO_INDEX"] = "1"
    else:
        env["PIP_INDEX_URL"] = index
    return env


def test_fetch_demo_says_the_index_may_be_unreachable(tmp_path):
    """pip's 'No matching distribution found' read as a missing version."""
    result = subprocess.run([sys.executable, "-m", "pose3d_ros.tools.fetch_demo", "--data-dir",
                             str(tmp_path / "data")], capture_output=True, text=True,
                            env=_no_index_env(tmp_path, None), timeout=120)
    assert result.returncode == 2       # run_cli's, as every tool's
    last = result.stderr.strip().splitlines()[-1]
    assert "No matching distribution" in last and "index may be unreachable" in last, last
    assert "PIP_INDEX_URL" in last
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize("signal_number, status", [(signal.SIGINT, 130),
                                                    (signal.SIGTERM, 143)])
def test_fetch_demo_interrupted_during_the_download_leaves_no_temporary_folder(
        tmp_path, monkeypatch, signal_number, status):
    """Ctrl-C was a KeyboardInterrupt traceback, SIGTERM left the download folder behind.
    The package index is a local socket that takes the connection and never answers: pip
    waits on it until interrupted."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        index = f"http://127.0.0.1:{silent.getsockname()[1]}/simple"
        for key, value in _no_index_env(tmp_path, index).items():
            monkeypatch.setenv(key, value)
        code, err = interrupt_when([sys.executable, "-m", "pose3d_ros.tools.fetch_demo",
                                    "--data-dir", str(tmp_path / "data")], "downloading",
                                   tmp_path / "stderr.txt", signal_number=signal_number,
                                   delay_s=0.2)
    assert code == status, err
    assert "interrupted" in err and "Traceback" not in err
    # the tool's download folder (tempfile's tmp*) is gone, and pip's own (pip-*): pip is
    # ended by SIGINT, which it cleans up after (a review: SIGTERM killed it, leaving them)
    assert [p.name for p in (tmp_path / "tmp").iterdir()] == []
    assert not (tmp_path / "data").exists()


def _demo_wheel(folder: Path) -> Path:
    """A wheel named as the pinned pose2sim one holding the real demo recordings' files (as
    this machine has them) at the members the fetch reads, and the metadata pip checks."""
    import zipfile

    from pose3d_ros.core.data_paths import FILE_SIZES, POSE2SIM_WHEEL, RECORDINGS, recording_dir

    version = POSE2SIM_WHEEL.split("==")[1]
    wheel = folder / f"pose2sim-{version}-py3-none-any.whl"
    info = f"pose2sim-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, prefix in RECORDINGS.items():
            for rel in FILE_SIZES[name]:
                archive.write(recording_dir(name) / rel, prefix + rel)
        archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: pose2sim\n"
                                             f"Version: {version}\n")
        archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
                                          "Tag: py3-none-any\n")
        archive.writestr(f"{info}/RECORD", "")
    return wheel


def test_fetch_demo_interrupted_after_the_recordings_names_the_files_it_kept(tmp_path,
                                                                             monkeypatch):
    """A review: Ctrl-C while fetch_demo downloaded the one-camera video, after it had written
    the ten files of the demo recordings, said "no output was written". The package index
    is a local one that serves a pose2sim wheel of the real recordings and never answers for
    sports2d; the line names the files kept, which are whole."""
    import hashlib
    import http.server

    from pose3d_ros.core.data_paths import FILE_SIZES, RECORDINGS, incomplete_files

    wheel = _demo_wheel(tmp_path)
    served = wheel.read_bytes()
    page = (f'<html><body><a href="/files/{wheel.name}#sha256='
            f'{hashlib.sha256(served).hexdigest()}">{wheel.name}</a></body></html>').encode()
    finished = threading.Event()

    class Index(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = {"/simple/pose2sim/": page, f"/files/{wheel.name}": served}.get(self.path)
            if body is None:                    # sports2d: never answered
                finished.wait(120)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if body is page
                             else "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Index)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    data = tmp_path / "data"
    try:
        for key, value in _no_index_env(tmp_path, f"http://127.0.0.1:{server.server_port}"
                                                  "/simple").items():
            monkeypatch.setenv(key, value)
        code, err = interrupt_when([sys.executable, "-m", "pose3d_ros.tools.fetch_demo",
                                    "--data-dir", str(data)], "downloading sports2d",
                                   tmp_path / "stderr.txt", delay_s=0.2)
    finally:
        finished.set()
        server.shutdown()
        server.server_close()
    assert not any(incomplete_files(name, data / "demo" / name) for name in RECORDINGS)
    assert not (data / "videos").exists()
    names = ", ".join(f"{name}/{rel}" for name in RECORDINGS for rel in FILE_SIZES[name])
    assert code == 130, err
    assert err.strip().splitlines()[-1] == (
        f"interrupted; kept the 10 whole file(s) it wrote in {data / 'demo'}: {names}; the "
        "same command fetches the rest"), err


@pytest.mark.parametrize("signal_number, status", [(signal.SIGINT, 130),
                                                    (signal.SIGTERM, 143)])
def test_fetch_mocap_ends_an_interrupt_in_one_line(tmp_path, signal_number, status):
    """fetch_mocap ran without run_cli: a traceback on Ctrl-C, nothing cleaned up on SIGTERM.
    It is held reading a clip file that is a pipe (written to, never finished) and then
    interrupted."""
    mocap_dir = tmp_path / "data" / "mocap"
    mocap_dir.mkdir(parents=True)
    from pose3d_ros.core.mocap import CLIP_NAMES

    pipe = mocap_dir / f"{CLIP_NAMES[0]}.npz"  # the first clip fetch_mocap looks at
    os.mkfifo(pipe)
    process = subprocess.Popen([sys.executable, "-m", "pose3d_ros.tools.fetch_mocap",
                                "--data-dir", str(tmp_path / "data")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    writer = None
    try:
        deadline = time.monotonic() + 60
        while writer is None:                  # until the tool opened the pipe to read it
            assert time.monotonic() < deadline and process.poll() is None
            try:
                writer = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.05)
        time.sleep(0.2)                        # it now waits for the clip's first bytes
        process.send_signal(signal_number)
        _, err = process.communicate(timeout=60)
    finally:
        if writer is not None:
            os.close(writer)
        if process.poll() is None:
            process.kill()
    code = process.returncode if process.returncode >= 0 else 128 - process.returncode
    assert code == status, err
    assert err.strip().splitlines() == ["interrupted; no output was written"], err


def test_fetch_tools_run_through_run_cli_from_their_console_scripts():
    """The console scripts (setup.cfg) call main: it is the run_cli-wrapped command line."""
    import inspect

    for tool in (fetch_demo, fetch_mocap):
        assert "run_cli(fetch_main, argv)" in inspect.getsource(tool.main)


# --------------------------------------------------------------------------- eval_lifter
def test_eval_lifter_reads_trained_on_from_the_onnx_file_without_its_json(tmp_path):
    """The warning that a model is scored on its own training footage needed the .json; the
    ONNX file holds the same metadata."""
    from pose3d_ros.core.lifting.labels import trained_on_scored_footage
    from pose3d_ros.core.lifting.runtime import DEFAULT_MODEL

    alone = tmp_path / "lifter.onnx"
    shutil.copyfile(DEFAULT_MODEL, alone)
    assert trained_on_scored_footage(alone, "single", ()) == "'single'"
    assert trained_on_scored_footage(alone, "multi", ("single",)) == ""
    (tmp_path / "text.onnx").write_text("not a model")
    assert trained_on_scored_footage(tmp_path / "text.onnx", "single", ()) == ""


def test_eval_lifter_checks_numbers_models_and_cache_before_any_work(tmp_path, capsys):
    """--height -1, --prior-weight nan, a text file as --model, a model whose .json lacks
    keys and a --cache-dir that is a file were told after about 20 s of 2D."""
    from pose3d_ros.core.lifting.runtime import DEFAULT_MODEL

    cache = tmp_path / "cache"
    text = tmp_path / "text.onnx"
    text.write_text("not a model")
    lacking = tmp_path / "lacking.onnx"
    shutil.copyfile(DEFAULT_MODEL, lacking)
    lacking.with_suffix(".json").write_text(json.dumps({"window": 27}))
    a_file = tmp_path / "file"
    a_file.write_text("")
    base = ["--recording", "single", "--cache-dir", str(cache)]
    for extra, told in ((["--height", "-1"], ["--height"]),
                        (["--prior-weight", "nan"], ["--prior-weight"]),
                        (["--height", "0", "--prior-weight", "0.5"], ["--height 0 has none"]),
                        (["--model", str(text)], ["--model", "not an ONNX model"]),
                        (["--model", str(lacking)],
                         ["--model", "lacks 'layout', 'causal', 'normalisation'"]),
                        (["--cache-dir", str(a_file)], ["--cache-dir", "is a file"])):
        started = time.monotonic()
        _refused(capsys, eval_lifter.main, [*base, *extra], *told)
        assert time.monotonic() - started < 10
    assert not cache.exists()


# ----------------------------------------------------------------------------- calibrate
@pytest.mark.parametrize("extra, told", [
    (["--frames", "-5"], "--frames"), (["--frames", "0"], "--frames"),
    (["--min-score", "2"], "--min-score"), (["--min-score", "nan"], "--min-score"),
    (["--fps", "-5"], "--fps"), (["--fps", "0"], "--fps")])
def test_calibrate_refuses_frames_scores_and_rates_it_cannot_use(tmp_path, capsys, extra,
                                                                 told):
    """--frames -5 dropped the last 5 frames, --frames 0 and --min-score 2 ran and failed
    with a misleading message, --fps -5 and 0 were taken."""
    _refused_by_argparse(capsys, calibrate.main, ["--demo", "single", "--out",
                                                  str(tmp_path / "rig.yaml"), *extra], told)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- help texts
def _option_help(tool, option: str, capsys) -> str:
    """The --help text of `option` of a tool (empty when it has none)."""
    with pytest.raises(SystemExit):
        tool.main(["--help"])
    entries: list[list[str]] = []
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("  -"):                    # an option: names, then its help
            entries.append([line])
        elif entries and entries[-1] and line.startswith("   "):
            entries[-1].append(line)                  # its help, continued
        else:
            entries.append([])
    for entry in entries:
        names, _, help_text = entry[0].strip().partition("  ") if entry else ("", "", "")
        if option in names.replace(",", " ").split():
            return " ".join([help_text, *entry[1:]]).strip()
    raise AssertionError(f"{option} not in the help of {tool.__name__}")


@pytest.mark.parametrize("tool, option, says", [
    (calibrate, "--min-score", "0..1"), (eval_lifter, "--cache-dir", "folder"),
    (eval_detection, "--recordings", "single"), (eval_detection, "--max-frames", "frames"),
    (measure_error_model, "--recording", "multi"), (train_lifter, "--architecture", "tcn"),
    (train_lifter, "--channels", "channels"), (train_lifter, "--epochs", "epochs"),
    (train_lifter, "--batch-size", "samples"), (train_lifter, "--lr", "learning rate"),
    (train_lifter, "--reprojection-weight", "pixels"), (train_lifter, "--seed", "seed"),
    (train_lifter, "--no-progress", "progress"), (render_mocap, "--out-dir", "folder"),
    (render_mocap, "--seconds", "(s)"), (render_mocap, "--fps", "(Hz)"),
    (render_mocap, "--width", "pixels"), (render_mocap, "--height", "pixels"),
    (make_bag, "--storage", "mcap"), (make_bag, "--max-frames", "frame sets"),
    (demo, "--recording", "single"), (demo, "--detector", "blazepose")])
def test_every_option_says_what_it_is(capsys, tool, option, says):
    assert says in _option_help(tool, option, capsys)


# ------------------------------------------------------------ numbers: the argparse types
def test_the_numeric_types_take_what_float_and_int_take_and_refuse_the_rest():
    """One home for the tools' range checks (core.output_files): a valid value parses as
    float() or int() parsed it; NaN, infinity, text and values out of range are refused with
    a message that says what the option must be and what it got."""
    import argparse

    from pose3d_ros.core.output_files import (
        float_in,
        int_at_least,
        int_in,
        non_negative_float,
        positive_float,
    )

    assert positive_float("1e-3") == 1e-3 and type(positive_float("2")) is float
    assert non_negative_float("0") == 0.0 and non_negative_float(" 2.5 ") == 2.5
    assert float_in(0, 1)("0") == 0.0 and float_in(0, 1)("1") == 1.0
    assert float_in(0, 10, below_high=True)("9.5") == 9.5
    assert int_at_least(1)(" 7 ") == 7 and type(int_at_least(1)("7")) is int
    assert int_in(13, 21)("13") == 13 and int_in(13, 21)("21") == 21
    refused = [(positive_float, v) for v in ("nan", "inf", "-inf", "1e400", "0", "-1", "abc")]
    refused += [(non_negative_float, v) for v in ("nan", "inf", "-1e-9", "")]
    refused += [(float_in(0, 1), v) for v in ("nan", "inf", "1.01", "-0.1")]
    refused += [(float_in(0, 10, below_high=True), "10")]
    refused += [(int_at_least(1), v) for v in ("0", "-3", "1.5", "nan", "inf")]
    refused += [(int_in(13, 21), v) for v in ("12", "22")]
    for parse, value in refused:
        with pytest.raises(argparse.ArgumentTypeError, match=f"^must be .*, got {value}$"):
            parse(value)
    with pytest.raises(argparse.ArgumentTypeError, match="must be a finite number > 0, got inf"):
        positive_float("inf")
    with pytest.raises(argparse.ArgumentTypeError, match="must be a whole number >= 1, got 1.5"):
        int_at_least(1)("1.5")
    with pytest.raises(argparse.ArgumentTypeError, match="must be a share, got 2"):
        float_in(0, 1, what="a share")("2")
    from pose3d_ros.core.output_files import standing_height
    assert standing_height("1.70") == 1.7 and standing_height("2.3") == 2.3
    with pytest.raises(argparse.ArgumentTypeError, match=r"must be a standing height in "
                       r"metres from 1 to 2\.3 \(centimetres\? divide by 100\), got 175$"):
        standing_height("175")


_POSITIVE, _NON_NEGATIVE, _UNIT = ("inf", "nan", "0", "-1"), ("inf", "nan", "-1"), \
    ("inf", "nan", "1.5", "-0.1")
# a standing height (m): a review found calibrate --height 30 wrote a rig 18x too large, and
# 175 (centimetres) was refused after the work as cameras 707 m apart
_HEIGHT = ("inf", "nan", "0", "-1", "0.05", "30", "175")


def _numeric_cases():
    """(tool, option, refused value) of every numeric option with a range of the offline
    tools (those whose values the core checks itself, eval_lifter's, are in their own tests;
    render_mocap's sizes and length, a review found 224 GiB asked for and a writer
    traceback, are argparse's too)."""
    from pose3d_ros.tools import (
        convert_blazepose_onnx,
        demo_2d,
        eval_multiview,
        evaluate,
        run,
    )

    table = [
        (run, "--scale", _POSITIVE), (run, "--fps", _POSITIVE), (run, "--timeout", _POSITIVE),
        (run, "--max-frames", ("0", "-1")), (run, "--floor-height", ("nan", "11")),
        (evaluate, "--max-match-distance", _POSITIVE),
        (evaluate, "--tolerance", _NON_NEGATIVE), (evaluate, "--max-frames", ("0",)),
        (demo, "--scale", _POSITIVE), (demo, "--timeout", _POSITIVE),
        (demo, "--rate", _NON_NEGATIVE), (demo, "--max-frames", ("0",)),
        (make_bag, "--scale", _POSITIVE), (make_bag, "--fps", _POSITIVE),
        (make_bag, "--max-frames", ("0",)), (make_bag, "--start", ("inf", "nan", "-1", "0", "3e9")),
        (calibrate, "--height", _HEIGHT), (calibrate, "--fps", _POSITIVE),
        (calibrate, "--frames", ("0",)), (calibrate, "--min-score", _UNIT),
        (convert_blazepose_onnx, "--tolerance", _POSITIVE),
        (convert_blazepose_onnx, "--frames", ("0",)),
        (convert_blazepose_onnx, "--opset", ("12", "22")),
        (eval_multiview, "--frames", ("0",)), (eval_detection, "--max-frames", ("0",)),
        (demo_2d, "--frames", ("0",)), (measure_error_model, "--threshold-px", _POSITIVE),
        (train_lifter, "--lr", _POSITIVE), (train_lifter, "--person-height", _HEIGHT),
        (train_lifter, "--seed", ("-1", "4294967295", "1.5")),
        (train_lifter, "--sync-slop", _NON_NEGATIVE),
        (train_lifter, "--reprojection-weight", _NON_NEGATIVE),
        (train_lifter, "--bone-weight", _NON_NEGATIVE),
        (train_lifter, "--limb-angle", _NON_NEGATIVE),
        (train_lifter, "--bone-scale", _NON_NEGATIVE),
        (train_lifter, "--arm-mix", _UNIT), (train_lifter, "--leg-mix", _UNIT),
        (train_lifter, "--tilt", _UNIT), (train_lifter, "--clean-share", _UNIT),
        (train_lifter, "--synthetic-share", _UNIT), (train_lifter, "--epochs", ("0",)),
        (train_lifter, "--batch-size", ("1",)), (train_lifter, "--threads", ("0",)),
        (render_mocap, "--seconds", ("0", "nan", "1e9")),
        (render_mocap, "--fps", ("0", "inf", "1000")),
        (render_mocap, "--width", ("8", "100000")), (render_mocap, "--height", ("100000",))]
    return [(tool, option, value) for tool, option, values in table for value in values]


@pytest.mark.parametrize("tool, option, value", _numeric_cases(),
                         ids=lambda x: x.__name__.rsplit(".", 1)[-1] if hasattr(x, "__name__")
                         else str(x))
def test_every_tool_refuses_nan_infinity_and_out_of_range_numbers_in_one_line(
        tmp_path, capsys, tool, option, value):
    """A review found ~47 hand-written range checks that disagreed: run and demo took --scale
    inf (an OverflowError traceback), calibrate --height inf, train_lifter --lr nan and
    --bone-weight nan trained and ended 0, evaluate --tolerance inf was a traceback after the
    pipeline ran. Each is now argparse's one line naming the option, exit 2, before any
    work."""
    line = _refused_by_argparse(capsys, tool.main, [f"{option}={value}"], option)
    assert line.endswith(f"got {value}"), line
    assert list(tmp_path.iterdir()) == []


def test_valid_numbers_parse_as_before():
    """The types change nothing for a valid value, nor the defaults."""
    from pose3d_ros.tools import evaluate, run

    args = run.parse_args(["--bag", "b", "--out-dir", "o", "--scale", "0.5", "--fps", "25",
                           "--timeout", "1e1", "--max-frames", "3"])
    assert (args.scale, args.fps, args.timeout, args.max_frames) == (0.5, 25.0, 10.0, 3)
    args = run.parse_args(["--bag", "b", "--out-dir", "o"])
    assert (args.scale, args.fps, args.timeout, args.max_frames) == (1.0, None, 30.0, None)
    args = evaluate.parse_args(["--bag", "b", "--tolerance", "0"])
    assert (args.tolerance, args.max_match_distance, args.max_frames) == (0.0, 0.5, None)
    args = train_lifter.build_parser().parse_args(["--out", "o", "--clean-share", "1",
                                                   "--batch-size", "2", "--bone-weight", "0"])
    assert (args.clean_share, args.batch_size, args.bone_weight, args.lr) == (1.0, 2, 0.0, 2e-3)


def test_run_with_an_infinite_scale_ends_in_one_line_not_a_traceback(tmp_path):
    """The review's command: `run --videos cam01.mp4 --hfov 60 --out-dir X --scale inf` ended
    in an OverflowError traceback (core/camera.py, CameraModel.scaled)."""
    from pose3d_ros.core.data_paths import video_paths

    result = subprocess.run(
        [sys.executable, "-m", "pose3d_ros.tools.run", "--videos", str(video_paths("single")[0]),
         "--hfov", "60", "--out-dir", str(tmp_path / "X"), "--scale", "inf"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == ["error: argument --scale: must be a finite number > 0, got inf"
                     + ARGPARSE_HINT], lines
    assert list(tmp_path.iterdir()) == []


def test_calibrate_refuses_unreadable_2d_files_a_folder_and_a_rig_it_cannot_write(tmp_path,
                                                                                   capsys):
    """A review's finds: an empty --keypoints file and a lone .npy array were tracebacks
    (EOFError, TypeError), a file of other bytes told to load it "unsafely" with pickles; a
    folder given as a file was "does not exist"; --out rig.toml wrote YAML under a name no
    tool then read."""
    from pose3d_ros.core.calibration import save_camera_info_yaml
    from pose3d_ros.core.camera import pinhole_from_fov

    intrinsics = tmp_path / "a.yaml"
    save_camera_info_yaml(pinhole_from_fov("a", 64, 48, 60.0), intrinsics)
    (tmp_path / "empty.npz").write_bytes(b"")
    np.save(tmp_path / "one.npy", np.zeros(3))
    (tmp_path / "bytes.npz").write_bytes(bytes(range(256)) * 4)
    out = ["--out", str(tmp_path / "rig.yaml")]
    base = ["--intrinsics", str(intrinsics)]
    for name, told in (("empty.npz", "is not an .npz of the arrays keypoints and scores"),
                       ("one.npy", "one NumPy array, not an .npz of named arrays"),
                       ("bytes.npz", "is not an .npz of the arrays keypoints and scores, "
                        "or one cut short (not a zip of NumPy arrays)")):
        _refused(capsys, calibrate.main, ["--keypoints", str(tmp_path / name), *base, *out],
                 name, told)
    _refused(capsys, calibrate.main, ["--keypoints", str(tmp_path), *base, *out],
             "is a folder, not a file")
    _refused(capsys, calibrate.main, ["--keypoints", str(tmp_path / "one.npy"), *base,
                                      "--out", str(tmp_path / "rig.toml")],
             "rig.toml", "give a name ending in .yaml")
    assert not (tmp_path / "rig.yaml").exists() and not (tmp_path / "rig.toml").exists()


# ------------------------------------------------------------- calibrate: the frame rate
def _video(path: Path, fps: float, frames: int = 4) -> Path:
    """A short flat-grey 64x48 video at `fps` (OpenCV's MJPG writer)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for _ in range(frames):
        writer.write(np.full((48, 64, 3), 128, np.uint8))
    writer.release()
    return path


def test_calibrate_refuses_videos_of_different_frame_rates_before_any_detection(tmp_path,
                                                                               capsys):
    """calibrate read the rate of the first video only, with a helper of its own (30 fps when
    unreadable), so a 25 fps video was paired frame by frame with a 30 fps one; it now uses
    core.video_bag.frame_rate, as run and make_bag do: refused before the 2D, in one line
    naming both rates (--fps pairs them anyway)."""
    from pose3d_ros.core.calibration import save_camera_info_yaml
    from pose3d_ros.core.camera import pinhole_from_fov

    videos = [_video(tmp_path / "a.avi", 30.0), _video(tmp_path / "b.avi", 25.0)]
    intrinsics = []
    for name in ("a", "b"):
        intrinsics.append(tmp_path / f"{name}.yaml")
        save_camera_info_yaml(pinhole_from_fov(name, 64, 48, 60.0), intrinsics[-1])
    started = time.monotonic()
    _refused(capsys, calibrate.main, ["--videos", *map(str, videos), "--intrinsics",
                                      *map(str, intrinsics), "--out", str(tmp_path / "rig.yaml")],
             "different frame rates", "30 fps", "25 fps", "--fps")
    assert time.monotonic() - started < 20
    assert not (tmp_path / "rig.yaml").exists()


# ------------------------------------------------- run, make_bag, calibrate: one file twice
def test_one_video_given_for_two_cameras_is_refused_by_every_tool(tmp_path, capsys):
    """A review gave the same demo video for all four cameras: run triangulated four 'people'
    out of one image and its report scored 1.0 against a reference made of the same images.
    The same file named twice (also through a link) is refused before any work, in one line."""
    from pose3d_ros.core.calibration import save_camera_info_yaml
    from pose3d_ros.core.camera import pinhole_from_fov
    from pose3d_ros.tools.fetch_demo import calibration_path, video_paths

    videos = [str(v) for v in video_paths("multi")]
    link = tmp_path / "same.mp4"
    link.symlink_to(videos[0])
    calibration = str(calibration_path("multi"))
    for given in ([videos[0], videos[0], videos[2], videos[3]],
                  [videos[0], videos[1], videos[2], str(link)]):
        _refused(capsys, run.main, ["--videos", *given, "--calibration", calibration,
                                    "--out-dir", str(tmp_path / "out")],
                 "given more than once", "its own video")
        _refused(capsys, make_bag.main, ["--videos", *given, "--calibration", calibration,
                                         str(tmp_path / "bag")], "given more than once")
    intrinsics = []
    for name in ("a", "b"):
        intrinsics.append(tmp_path / f"{name}.yaml")
        save_camera_info_yaml(pinhole_from_fov(name, 64, 48, 60.0), intrinsics[-1])
    clip = _video(tmp_path / "a.avi", 30.0)
    _refused(capsys, calibrate.main, ["--videos", str(clip), str(clip), "--intrinsics",
                                      *map(str, intrinsics), "--out", str(tmp_path / "rig.yaml")],
             "given more than once")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.avi", "a.yaml", "b.yaml",
                                                            "same.mp4"]


def test_calibrate_with_fewer_intrinsics_than_videos_says_to_give_one_per_video(tmp_path,
                                                                                 capsys):
    """(a review: told to "name each video after its camera to run some of them", which
    cannot calibrate: every video needs its camera's intrinsics)"""
    from pose3d_ros.core.calibration import save_camera_info_yaml
    from pose3d_ros.core.camera import pinhole_from_fov

    one = tmp_path / "a.yaml"
    save_camera_info_yaml(pinhole_from_fov("a", 64, 48, 60.0), one)
    clips = [_video(tmp_path / f"{name}.avi", 30.0) for name in ("a", "b")]
    _refused(capsys, calibrate.main, ["--videos", *map(str, clips), "--intrinsics", str(one),
                                      "--out", str(tmp_path / "rig.yaml")],
             "2 videos but --intrinsics", "has 1 camera(s) (a)",
             "one camera_info YAML per video")
    assert not (tmp_path / "rig.yaml").exists()


def test_blazepose_onnx_without_its_models_is_told_the_conversion_command(tmp_path,
                                                                         monkeypatch):
    """The tools' check of the converted models is the back-end's own (missing_models): the
    same files and the same command, with the folder to write them to (the tools had their own
    copy of the check, whose command lacked --out)."""
    import argparse

    from pose3d_ros.tools.detector_arguments import add_detector_arguments, detector_options

    monkeypatch.setenv("POSE3D_DATA", str(tmp_path))
    parser = argparse.ArgumentParser()
    add_detector_arguments(parser)
    with pytest.raises(UserError) as error:
        detector_options(parser.parse_args(["--detector", "blazepose_onnx"]))
    folder = tmp_path / "models" / "blazepose"
    assert (f"python -m pose3d_ros.tools.convert_blazepose_onnx --out {folder}"
            in str(error.value)), error.value
    assert "\n" not in str(error.value)


def test_eval_lifter_means_say_what_they_average():
    """A review: with --multi-person the rows hold different frame counts (97, 90, 41 ...),
    and the "mean" row averaged the rows and their frame counts as if the cameras shared
    their frames. The row mean stays (each row once; "frames" is the total) and a frame-
    weighted "frame mean" comes beside it when the counts differ."""
    rows = [{"camera": "cam01/p1", "method": "lifter", "frames": 90, "MPJPE mm": 50.0},
            {"camera": "cam03/p1", "method": "lifter", "frames": 30, "MPJPE mm": 90.0}]
    mean, frame_mean = eval_lifter.summarise(rows)
    assert mean == {"camera": "mean", "method": "lifter", "frames": 120.0, "MPJPE mm": 70.0}
    assert frame_mean == {"camera": "frame mean", "method": "lifter", "frames": 120.0,
                          "MPJPE mm": 60.0}
    same = [dict(row, frames=90) for row in rows]
    assert [r["camera"] for r in eval_lifter.summarise(same)] == ["mean"]


def test_the_people_of_a_recording_have_one_number_in_the_logs_and_the_rows(caplog):
    """A review: eval_lifter --multi-person logged the tracker's ids ("person 1", "person 2"),
    then "person 0 ... not scored" (a list index), and named the rows p0 after renumbering.
    Each person now keeps the tracker's id everywhere (PseudoLabels.person)."""
    import logging

    from pose3d_ros.core.lifting.dataset import PseudoLabels
    from pose3d_ros.core.lifting.labels import drop_overlapping

    def person(track_id, offset_m: float) -> PseudoLabels:
        points = np.zeros((4, 17, 3)) + offset_m
        return PseudoLabels([], np.zeros((1, 4, 17, 2)), np.zeros((1, 4, 17)), points,
                            np.zeros((1, 4, 17, 3)), np.zeros((1, 4, 17, 3)),
                            np.ones((1, 4), bool), np.zeros((4, 17)), person=track_id)

    held_out = person(None, 0.0)
    with caplog.at_level(logging.WARNING):
        kept = drop_overlapping([person(1, 3.0), person(2, 0.0)], held_out, "single",
                                purpose="scored")
    assert [k.person for k in kept] == [1]
    assert any(r.getMessage().startswith("person 2: same motion as the held-out recording "
                                         "single") for r in caplog.records), caplog.text


@pytest.mark.parametrize("debug", [False, True])
def test_an_interrupt_before_a_tool_handles_it_is_one_line(debug):
    """A review (session 64): Ctrl-C during a tool's imports (`python -m
    pose3d_ros.tools.run`, a second or two of scipy, OpenCV, onnxruntime) came before run_cli
    and printed a traceback. A tool process (the package imported as runpy imports it for
    `-m`, sys.argv[0] "-m") tells it in run_cli's line, the traceback only with --debug, and
    still ends by SIGINT. Raised here where the imports would be, without a race on time."""
    argv = ["-m", "--debug"] if debug else ["-m"]
    code = (f"import sys; sys.argv = {argv!r}; "
            "sys.orig_argv = [sys.executable, '-m', 'pose3d_ros.tools.run', *sys.argv[1:]]; "
            "import pose3d_ros.tools; raise KeyboardInterrupt")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert done.returncode == -signal.SIGINT, done
    if debug:
        assert "Traceback" in done.stderr and "KeyboardInterrupt" in done.stderr
    else:
        assert done.stderr.strip().splitlines() == ["interrupted; no output was written"]


@pytest.mark.parametrize("signal_number, status", [(signal.SIGINT, 130),
                                                    (signal.SIGTERM, 143)])
def test_an_interrupt_a_library_turns_into_an_error_is_still_an_interrupt(
        signal_number, status, capsys):
    """A review (session 66): Ctrl-C while `run`'s node configured, inside the import of a
    compiled module, came out as ImportError('initialization failed'): 'error: pose3d_node
    did not configure: initialization failed', exit status 2. Once the signal has reached
    the tool (run_cli), the error after it is the interrupt's; the node's ERROR line is quiet
    too (Pose3DNode._shutting_down reads output_files.interrupted)."""
    from pose3d_ros.core.output_files import interrupted, run_cli

    def configuring(argv):
        try:
            os.kill(os.getpid(), signal_number)
            time.sleep(5)
        except KeyboardInterrupt:
            assert interrupted()
            raise ImportError("initialization failed") from None
        return 0

    assert run_cli(configuring, []) == status
    assert capsys.readouterr().err.strip() == "interrupted; no output was written"
    assert not interrupted()                 # told once; the next run starts afresh
    assert run_cli(lambda argv: (_ for _ in ()).throw(ImportError("no module x")), []) == 2
    assert capsys.readouterr().err.strip() == "error: no module x"


def test_another_program_run_with_dash_m_keeps_its_own_interrupt_traceback():
    """A review (session 64): `python -m otherpkg` whose package imports a tool's module got
    the tools' hook, and its Ctrl-C after writing its output said 'no output was written'."""
    code = ("import sys; sys.argv = ['-m']; "
            "sys.orig_argv = [sys.executable, '-m', 'otherpkg']; "
            "import pose3d_ros.tools.detector_arguments; raise KeyboardInterrupt")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert "Traceback" in done.stderr and "no output was written" not in done.stderr, done
