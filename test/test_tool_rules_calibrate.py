"""calibrate follows the tools' rules: checks before work, one line and exit 2 for mistakes,
a progress bar, Ctrl-C without a traceback, the rig file staged and an existing one kept."""
from __future__ import annotations

import os
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
    # a folder of videos (a review: told "needs at least 2 cameras; got 1 video")
    assert run_cli(main, ["--videos", str(tmp_path), "--intrinsics",
                          str(calibration_path("single")), "--out",
                          str(tmp_path / "folder.yaml")]) == 2
    assert f"--videos {tmp_path} is a folder: give the videos in it" in capsys.readouterr().err
    # intrinsics the demo would ignore (a review: it ran with its own without a word)
    with pytest.raises(SystemExit) as exited:
        main(["--demo", "single", "--intrinsics", str(calibration_path("multi")),
              "--out", str(tmp_path / "demo.yaml")])
    assert exited.value.code == 2
    assert "--demo uses its recording's own intrinsics" in capsys.readouterr().err
    intrinsics = tmp_path / "intrinsics.yaml"
    intrinsics.write_bytes(calibration_path("single").read_bytes())
    videos = [str(v) for v in video_paths("single")[:2]]
    assert run_cli(main, ["--videos", *videos, "--intrinsics", str(intrinsics), "--out",
                          str(intrinsics), "--overwrite"]) == 2
    assert "would delete that input" in capsys.readouterr().err
    assert intrinsics.read_bytes() == calibration_path("single").read_bytes()


def test_an_output_where_no_file_can_be_made_is_refused_before_any_work(capsys):
    """A review, as root: /proc passes the permission check (os.access) but refuses new
    files, so calibrate --out /proc/rig.yaml ran the whole calibration and then said
    "[Errno 2] No such file or directory: '/proc/.rig.yaml.partial-<pid>'". Now one line naming
    the path, before any detection (no progress bar), exit 2, and nothing left there."""
    for out in ("/proc/pose3d_rig.yaml", "/proc/pose3d_rigs/rig.yaml", "/proc/self/rig.yaml"):
        assert run_cli(main, ["--demo", "multi", "--out", out]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: rig file {out} cannot be "
                                                   "written: /proc"), err
    assert not [p for p in os.listdir("/proc") if "pose3d" in p or "partial" in p]


def test_ctrl_c_shows_no_traceback_and_keeps_the_old_rig(tmp_path):
    """Interrupted during association (after the progress bar appeared): exit 130, one line,
    the existing rig untouched and nothing half-written beside it."""
    out = tmp_path / "rig.yaml"
    out.write_text("keep me")
    code, err = interrupt_when(
        [sys.executable, "-m", "pose3d_ros.tools.calibrate", "--demo", "multi", "--out",
         str(out), "--overwrite"], "people across the views", tmp_path / "stderr.txt")
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


# ---------------------------------------------------------------- found by a review (session 26)
@pytest.mark.parametrize("frame_id", ["", "/rig", "my rig", "cam01_optical_frame"])
def test_a_frame_id_tf2_refuses_or_a_cameras_own_is_refused_before_any_work(
        tmp_path, capsys, frame_id):
    """`--frame-id cam01_optical_frame` wrote a rig `run` took for cameras without poses;
    '', '/rig' and 'my rig' were written as given."""
    assert run_cli(main, ["--demo", "multi", "--frame-id", frame_id,
                          "--out", str(tmp_path / "rig.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--frame-id" in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_a_frame_of_the_robots_camera_is_a_rig_frame():
    """The rig frame is the reference camera's optical frame: the robot's name for it is fine
    (a review: every name ending in _optical_frame was refused); only the rig's own cameras'
    frames are not."""
    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.tools.calibrate import check_frame_id

    cameras = list(load_rig(calibration_path("multi")).cameras)
    for name in ("head_camera_optical_frame", "base_link", "robot1/rig"):
        check_frame_id(name, cameras)
    with pytest.raises(UserError, match="is a camera's optical frame"):
        check_frame_id(cameras[1].frame_id, cameras)


def test_a_z_up_frame_name_is_warned_and_a_rig_says_each_cameras_figures(tmp_path, capsys,
                                                                        caplog):
    """A review of the tool's output: --frame-id base_link (a robot's z-up frame) was taken
    without a word although the rig's frame is the reference camera's optical frame, and a
    rig that passed its checks said nothing per camera (which is doubtful, how far each is
    from the reference: what a tape measure checks)."""
    import logging

    out = tmp_path / "rig.yaml"
    with caplog.at_level(logging.WARNING):
        assert run_cli(main, ["--demo", "single", "--frames", "60", "--frame-id",
                              "base_link", "--out", str(out)]) == 0
    assert "--frame-id base_link: the rig file's frame is the reference camera's optical " \
        "frame" in caplog.text
    shown = capsys.readouterr().out
    line = next(x for x in shown.splitlines() if x.strip().startswith("per camera"))
    assert "held-out px against the others, limit 30" in line and "distance from cam01" in line
    for name in ("cam01", "cam02", "cam03", "cam04"):
        assert f"{name} " in line and " px, focal x" in line
    assert "cam01 " in line and ", 0.00 m" in line              # the reference


def test_a_camera_the_others_cannot_check_is_named_first():
    """A review: a video of another recording had too few people in common with the others
    for its held-out check (NaN), and the refusal named the three good cameras only."""
    import numpy as np

    from pose3d_ros.core.selfcalib_checks import CheckLimits, SolutionChecks

    checks = SolutionChecks(in_front_share=1.0, camera_in_front_share=np.ones(4),
                            limb_length_cv=0.1, heldout_px=10.0, heldout_detections=500,
                            camera_names=("cam01", "cam02", "cam03", "cam04"),
                            camera_heldout_px=np.array([369.0, np.nan, 72.0, 53.0]))
    failures = checks.failures(CheckLimits())
    assert any("could not be checked against the others" in f and "cam02" in f
               for f in failures), failures
    passing = SolutionChecks(in_front_share=1.0, camera_in_front_share=np.ones(3),
                             limb_length_cv=0.1, heldout_px=10.0, heldout_detections=500,
                             camera_names=("cam01", "cam02", "cam03"),
                             camera_heldout_px=np.array([9.0, np.nan, 12.0]))
    assert passing.failures(CheckLimits()) == []
    assert "per camera against the others (not cam02: too few people in common)" in \
        passing.checked()


def _clip(path, frames: int):
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    for _ in range(frames):
        writer.write(np.full((48, 64, 3), 128, np.uint8))
    writer.release()
    return path


def test_per_video_intrinsics_follow_the_videos_names(tmp_path, capsys):
    """One camera_info YAML per video was paired by order only: given in another order than
    the videos, two cameras took each other's names (and TF frames), 171-175 deg off. Videos
    named after the files' cameras now take those, in any order; a video named after another
    file's camera is refused; the cameras' frames are their optical frames (REP-103)."""
    from pose3d_ros.core.calibration import save_camera_info_yaml
    from pose3d_ros.core.camera import pinhole_from_fov
    from pose3d_ros.tools.calibrate import video_intrinsics

    videos = [_clip(tmp_path / "front.avi", 3), _clip(tmp_path / "back.avi", 3)]
    files = []
    for name in ("back", "front"):                        # not the videos' order
        files.append(tmp_path / f"{name}.yaml")
        save_camera_info_yaml(pinhole_from_fov(name, 64, 48, 60.0 if name == "front"
                                               else 70.0), files[-1])
    cameras = video_intrinsics(videos, files)
    assert [c.name for c in cameras] == ["front", "back"]
    assert [c.frame_id for c in cameras] == ["front_optical_frame", "back_optical_frame"]
    crossed = [_clip(tmp_path / "back2.avi", 3), videos[1]]     # back.avi takes front.yaml
    with pytest.raises(ValueError, match="back.avi is named after camera 'back'"):
        video_intrinsics(crossed, files)


def test_videos_of_different_lengths_are_told(tmp_path, caplog):
    """2D of videos of different lengths was cut to the shortest without a word."""
    import logging

    from pose3d_ros.core.demo_2d import detect_videos

    videos = [_clip(tmp_path / "a.avi", 10), _clip(tmp_path / "b.avi", 4)]
    with caplog.at_level(logging.WARNING, logger="pose3d_ros.core.video"):
        found = detect_videos(videos, "blazepose_multi", use_cache=False)
    assert found.keypoints.shape[0] == 4
    assert "different lengths (a.avi 10, b.avi 4 frames): only the first 4" in caplog.text


def test_intrinsics_files_that_share_a_camera_name_name_their_cameras_after_the_videos(
        tmp_path):
    """camera_calibration writes camera_name 'narrow_stereo' unless told otherwise: one such
    YAML per video was refused as a rig of duplicate names only after the whole 2D detection
    (a review). The cameras are named after their videos now, before any work; when the
    videos' names cannot name them either, the files are named in the refusal."""
    from dataclasses import replace

    from pose3d_ros.core.calibration import save_camera_info_yaml
    from pose3d_ros.core.camera import pinhole_from_fov
    from pose3d_ros.tools.calibrate import video_intrinsics

    files = []
    for k in range(2):
        files.append(tmp_path / f"ost{k}.yaml")
        save_camera_info_yaml(replace(pinhole_from_fov("narrow_stereo", 64, 48, 60.0 + k),
                                      name="narrow_stereo"), files[-1])
    videos = [_clip(tmp_path / "left.avi", 3), _clip(tmp_path / "right.avi", 3)]
    cameras = video_intrinsics(videos, files)
    assert [(c.name, c.frame_id) for c in cameras] == [("left", "left_optical_frame"),
                                                       ("right", "right_optical_frame")]
    assert cameras[1].K[0, 0] != cameras[0].K[0, 0]              # each file's own intrinsics
    (tmp_path / "b").mkdir()
    unnamable = [_clip(tmp_path / "b" / "1st.avi", 3), _clip(tmp_path / "b" / "2nd.avi", 3)]
    with pytest.raises(ValueError, match="all name camera 'narrow_stereo'.*give each file its "
                                         "own camera_name"):
        video_intrinsics(unnamable, files)


# ---------------------------------------------------------------- found by a review (session 54)
def test_the_keypoints_intrinsics_are_checked_before_any_work_as_the_videos_are(tmp_path,
                                                                                capsys):
    """With --keypoints the intrinsics were read only after the progress bar began: the
    refusal of a camera's own optical frame as --frame-id (made for --videos and --demo) did
    not apply, and a rig with frame 'cam01_optical_frame' was written; per-view YAMLs that
    share a camera_name were refused as 'duplicate camera names' without saying what to do."""
    from dataclasses import replace

    import numpy as np

    from pose3d_ros.core.calibration import save_camera_info_yaml
    from pose3d_ros.core.camera import pinhole_from_fov

    keypoints = tmp_path / "2d.npz"
    np.savez(keypoints, keypoints=np.full((3, 2, 1, 33, 2), np.nan),
             scores=np.zeros((3, 2, 1, 33)))
    files, shared = [], []
    for name in ("cam01", "cam02"):
        camera = pinhole_from_fov(name, 64, 48, 60.0)
        files.append(tmp_path / f"{name}.yaml")
        save_camera_info_yaml(camera, files[-1])
        shared.append(tmp_path / f"ost_{name}.yaml")
        save_camera_info_yaml(replace(camera, name="narrow_stereo"), shared[-1])
    out = tmp_path / "rig.yaml"
    dashed = []                 # names the rig's nodes cannot subscribe with (a review)
    for name in ("left-cam", "right-cam"):
        dashed.append(tmp_path / f"{name}.yaml")
        save_camera_info_yaml(replace(pinhole_from_fov("x", 64, 48, 60.0), name=name,
                                      frame_id=""), dashed[-1])
    for intrinsics, frame_id, said in (
            (files, "cam01_optical_frame", "--frame-id 'cam01_optical_frame' is a camera's"),
            (shared, "rig", "all name camera 'narrow_stereo' (camera_name); give each file"),
            (dashed, "rig", "--intrinsics: camera name 'left-cam' cannot name ROS topics")):
        assert run_cli(main, ["--keypoints", str(keypoints), "--intrinsics", *map(str, intrinsics),
                              "--frame-id", frame_id, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and said in err[0], err      # one line, no progress bar before
    assert not out.exists()


def test_the_help_shows_its_examples_as_they_are_typed(capsys):
    """The first example's line continuation was eaten by the docstring (a backslash and a
    newline in a Python string): --help showed 'c.mp4       --intrinsics' on one line."""
    with pytest.raises(SystemExit):
        main(["--help"])
    shown = capsys.readouterr().out
    assert "--videos a.mp4 b.mp4 c.mp4 \\\n      --intrinsics a.yaml" in shown, shown[-600:]
    # --keypoints carry no frame rate: the help says what is assumed (it did not)
    assert "with --keypoints 30" in " ".join(shown.split()), shown


def test_two_videos_named_after_one_camera_are_refused(tmp_path):
    """a/front.avi and b/front.avi with per-video intrinsics front.yaml, back.yaml both took
    camera 'front' (back.yaml unused, found only after the 2D); with one calibration file
    the second took 'back' by order, though named after 'front' (a review)."""
    from pose3d_ros.core.calibration import save_camera_info_yaml, save_rig_yaml
    from pose3d_ros.core.camera import Rig, pinhole_from_fov
    from pose3d_ros.tools.calibrate import video_intrinsics

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    videos = [_clip(tmp_path / "a" / "front.avi", 3), _clip(tmp_path / "b" / "FRONT.avi", 3)]
    cameras = [pinhole_from_fov(name, 64, 48, 60.0) for name in ("front", "back")]
    files = []
    for camera in cameras:
        files.append(tmp_path / f"{camera.name}.yaml")
        save_camera_info_yaml(camera, files[-1])
    rig = tmp_path / "rig.yaml"
    save_rig_yaml(Rig("rig", cameras), rig)
    for intrinsics in (files, [rig]):
        with pytest.raises(ValueError, match="FRONT.avi are both named after camera front: "
                                             "each camera needs its own video"):
            video_intrinsics(videos, intrinsics)


def test_a_video_of_another_recording_is_not_told_as_one_out_of_step(tmp_path, capsys):
    """A review: cam03's video of the other demo recording (a man alone, not the couple)
    read as '6 frames behind' (92 px at its best shift, three times the per-camera limit),
    and the advice to skip the check (--cameras-in-step) wrote its rig without a word."""
    multi, single = video_paths("multi"), video_paths("single")
    assert run_cli(main, ["--videos", str(multi[0]), str(multi[1]), str(single[2]),
                          str(multi[3]), "--intrinsics", str(calibration_path("multi")),
                          "--frames", "60", "--out", str(tmp_path / "rig.yaml")]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "agrees with the other cameras' at no shift in time" in line, line
    assert "cam03 may be a video of another recording" in line, line
    assert "--cameras-in-step" not in line and not (tmp_path / "rig.yaml").exists()


def test_a_measured_baseline_sets_the_scale_and_says_the_peoples_height(tmp_path, capsys):
    """--baseline A B METRES (a review's open item: calibrate had no way to take a tape
    measure's distance): the written rig has the two cameras that far apart, its scale is
    measured (no scale_from_person_height_m), and the people's height it implies is printed;
    mistakes end in one line before any work."""
    import numpy as np

    from pose3d_ros.core.calibration import load_rig

    out = tmp_path / "rig.yaml"
    for given, said in ((["cam01", "cam09", "3"], "--baseline cam01 cam09 3: no camera "
                         "'cam09' (the cameras are cam01, cam02, cam03, cam04)"),
                        (["cam01", "cam01", "3"], "--baseline cam01 cam01 3: camera 'cam01' "
                         "named twice; give two cameras"),
                        (["cam01", "cam02", "-3"], "--baseline cam01 cam02 -3: the distance "
                         "must be a number of metres > 0"),
                        (["cam01", "cam02", "3m"], "--baseline cam01 cam02 3m: the distance "
                         "must be a number of metres > 0")):
        assert run_cli(main, ["--demo", "single", "--baseline", *given, "--out",
                              str(out)]) == 2
        assert capsys.readouterr().err.strip().splitlines() == [f"error: {said}"]
    assert not out.exists()
    shipped = load_rig(calibration_path("single"))
    measured = round(float(np.linalg.norm(shipped.camera("cam01").center
                                          - shipped.camera("cam02").center)), 3)
    assert run_cli(main, ["--demo", "single", "--frames", "60", "--baseline", "cam01", "cam02",
                          str(measured), "--out", str(out)]) == 0
    rig = load_rig(out)
    assert rig.scale_from_person_height_m is None
    apart = float(np.linalg.norm(rig.camera("cam01").center - rig.camera("cam02").center))
    assert apart == pytest.approx(measured, abs=1e-6)
    shown = capsys.readouterr().out
    line = next(x for x in shown.splitlines() if "metric scale" in x)
    assert f"cam01 and cam02 {measured:.3f} m apart" in line and "they are 1." in line, line
    ratios = [x for x in shown.splitlines() if "baseline ratio" in x]
    assert "baseline ratio 1.000" in ratios[0]            # cam02 against the shipped rig
    # centimetres typed (a review: people 102 m tall written, status 0): refused, no file
    assert run_cli(main, ["--demo", "single", "--frames", "60", "--baseline", "cam01", "cam02",
                          "285", "--out", str(tmp_path / "cm.yaml")]) == 2
    said = [x for x in capsys.readouterr().err.splitlines() if x.startswith("error:")]
    assert len(said) == 1 and said[0].startswith("error: --baseline cam01 cam02 285: at that "
                                                 "distance the people would be "), said
    assert "centimetres? divide by 100" in said[0] and not (tmp_path / "cm.yaml").exists()
