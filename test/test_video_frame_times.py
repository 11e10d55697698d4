"""Videos whose frames are not at i / fps: a phone's variable frame rate, or two cameras whose
rates differ by less than frame_rate's tolerance and drift apart. A review found both stamped
at i / fps without a word (a variable-rate phone clip 0.6 s off; 59.94 beside 60 fps drifting
60 ms a minute). One video is now stamped with its frames' own times; several are refused
once a frame is half a period off, since a frame set pairs frame i of each."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from pose3d_ros.core.camera import pinhole_from_fov
from pose3d_ros.core.video import timed_frames
from pose3d_ros.core.video_bag import write_bag

W, H = 64, 48


def _video(path: Path, fps: float, frames: int) -> Path:
    """A flat-grey video of `frames` frames at `fps` (OpenCV's MJPG writer: constant rate)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
    for k in range(frames):
        writer.write(np.full((H, W, 3), 40 + k % 100, np.uint8))
    writer.release()
    return path


def test_timed_frames_give_each_frames_time_in_its_video(tmp_path):
    a, b = _video(tmp_path / "a.avi", 30.0, 6), _video(tmp_path / "b.avi", 25.0, 6)
    times = np.array([t for _, t in timed_frames([a, b])])
    np.testing.assert_allclose(times, np.stack([np.arange(6) / 30, np.arange(6) / 25], 1),
                               atol=1e-6)


def test_one_video_off_its_rate_is_stamped_with_its_own_frame_times(tmp_path, caplog):
    """The rate write_bag is given (29 fps) is not the video's (30): from the frame half a
    period off on, the stamps are the frames' own times, and that is told once."""
    video = _video(tmp_path / "clip.avi", 30.0, 40)
    camera = pinhole_from_fov("camera", W, H, 60.0)
    with caplog.at_level(logging.INFO, logger="pose3d_ros.core.video_bag"):
        summary = write_bag(tmp_path / "bag", [video], [camera], fps=29.0, start_ns=10**18,
                            storage="mcap", fixed_frame=camera.frame_id, own_times=True)
    told = [r.getMessage() for r in caplog.records if "own times" in r.getMessage()]
    assert len(told) == 1 and "clip.avi" in told[0], told
    assert summary.frames == 40
    assert summary.end_ns - summary.start_ns == pytest.approx(39 / 30 * 1e9, abs=2e6)
    # the user's rate (--fps) is used as given
    summary = write_bag(tmp_path / "given", [video], [camera], fps=29.0, start_ns=10**18,
                        storage="mcap", fixed_frame=camera.frame_id, own_times=False)
    assert summary.end_ns - summary.start_ns == round(39 / 29 * 1e9)


def test_two_videos_that_drift_apart_are_refused_once_half_a_frame_off(tmp_path):
    """30 and 29.9 fps pass frame_rate's 1 % check; frame i of each is 0.11 ms further apart
    each frame, half a 30 fps frame after 150 frames: refused there, with what to do."""
    from pose3d_ros.core.video_bag import frame_rate

    a, b = _video(tmp_path / "a.avi", 30.0, 200), _video(tmp_path / "b.avi", 29.9, 200)
    cameras = [pinhole_from_fov(name, W, H, 60.0) for name in ("a", "b")]
    fps = frame_rate([a, b], max_frames=100)      # its own check of the times: see below
    with pytest.raises(ValueError, match=r"b\.avi: frame 15\d is"):
        frame_rate([a, b])
    short = write_bag(tmp_path / "short", [a, b], cameras, fps=fps, start_ns=10**18,
                      storage="mcap", max_frames=100, own_times=True)
    assert short.frames == 100                    # 0.37 of a frame apart at most: paired
    with pytest.raises(ValueError, match=r"b\.avi: frame 15\d is .* not .*--fps"):
        write_bag(tmp_path / "long", [a, b], cameras, fps=fps, start_ns=10**18,
                  storage="mcap", own_times=True)
    paired = write_bag(tmp_path / "asked", [a, b], cameras, fps=fps, start_ns=10**18,
                       storage="mcap", own_times=False)              # --fps: as asked
    assert paired.frames == 200


def _mpeg1(path: Path, frames: int = 20) -> Path:
    """An MPEG-1 program stream (OpenCV's PIM1 writer) at 30 fps: its last frame, flushed out
    of the decoder, is read back at time 0 (a review saw the same with B-frames in AVI and
    MPEG-2 files, and a raw .h264 stream at time 0 for every frame)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"PIM1"), 30.0, (176, 144))
    for k in range(frames):
        writer.write(np.full((144, 176, 3), (10 * k) % 255, np.uint8))
    writer.release()
    return path


def test_frame_times_that_do_not_advance_are_no_frame_times(tmp_path, caplog):
    """Stamped at i / fps from such a frame on (told once per video), never 1 ns apart nor
    refused as a variable frame rate (the first version did both)."""
    a, b = _mpeg1(tmp_path / "a.mpg"), _mpeg1(tmp_path / "b.mpg")
    times = np.array([t[0] for _, t in timed_frames([a])])
    assert times[-1] <= times[-2]                       # the file is what this test needs
    cameras = [pinhole_from_fov(name, 176, 144, 60.0) for name in ("a", "b")]
    with caplog.at_level(logging.INFO, logger="pose3d_ros.core.video_bag"):
        one = write_bag(tmp_path / "one", [a], cameras[:1], fps=30.0, start_ns=10**18,
                        storage="mcap", fixed_frame=cameras[0].frame_id, own_times=True)
        two = write_bag(tmp_path / "two", [a, b], cameras, fps=30.0, start_ns=10**18,
                        storage="mcap", own_times=True)
    assert one.frames == two.frames == 20
    assert one.end_ns - one.start_ns == two.end_ns - two.start_ns == round(19 / 30 * 1e9)
    told = [r.getMessage() for r in caplog.records if "no usable frame times" in r.getMessage()]
    assert len(told) == 3, told                       # a in each bag, b once


def test_the_times_read_from_packets_are_the_decoded_frames_times(tmp_path):
    """frame_rate's check of the frame times reads them from the packets without decoding
    (video.packet_times; decoding every frame once more cost 1.6-1.7 s on the demo's four
    videos): the same times as the frames decoded, in MP4 (B-frames possible) and AVI; a
    stream whose packets carry no usable times (MPEG-1 here) is decoded as before."""
    from pose3d_ros.core.video import first_frame_off_rate, packet_times

    for name, fourcc, fps in (("a.avi", "MJPG", 30.0), ("b.mp4", "mp4v", 29.97)):
        path = tmp_path / name
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (W, H))
        for k in range(25):
            writer.write(np.full((H, W, 3), (37 * k) % 255, np.uint8))
        writer.release()
        decoded = np.array([t[0] for _, t in timed_frames([path])])
        packets = packet_times(path)
        assert packets is not None and len(packets) == len(decoded) == 25
        np.testing.assert_allclose(packets - packets[0], decoded, atol=1e-6)
        first = packet_times(path, 10)        # the first 10 only (a review: read them all)
        assert first is not None and len(first) == 10
        np.testing.assert_allclose(first - first[0], decoded[:10], atol=1e-6)
    mpeg = _mpeg1(tmp_path / "c.mpg")
    assert packet_times(mpeg) is None
    assert first_frame_off_rate([mpeg, mpeg], 30.0) is None     # decoded: as before
    # the packet path finds the same first frame off the rate as decoding did (the drift
    # test above: frame 15x of b.avi)
    a, b = _video(tmp_path / "d.avi", 30.0, 200), _video(tmp_path / "e.avi", 29.9, 200)
    video, index, _ = first_frame_off_rate([a, b], 30.0)
    assert video == b and 150 <= index < 160


def test_a_hard_link_is_the_same_video(tmp_path):
    import os

    from pose3d_ros.core.video_bag import refuse_repeated_videos

    video = _video(tmp_path / "a.avi", 30.0, 2)
    os.link(video, tmp_path / "b.avi")
    with pytest.raises(ValueError, match="given more than once"):
        refuse_repeated_videos([video, tmp_path / "b.avi"])
    refuse_repeated_videos([video, _video(tmp_path / "c.avi", 30.0, 2)])


def test_the_output_bag_keeps_only_the_nodes_upright_frames_of_what_came_on_tf_static(
        tmp_path):
    """run_on_bag.recorded_tf_static: a robot on the same domain publishing /tf_static beside
    an offline run had its frames recorded into the run's output bag (a review)."""
    from pose3d_ros.core.static_tf import UPRIGHT_SUFFIX, StaticTransform
    from pose3d_ros.ros.run_on_bag import recorded_tf_static

    video = _video(tmp_path / "a.avi", 30.0, 2)
    camera = pinhole_from_fov("camera", W, H, 60.0)
    bag = write_bag(tmp_path / "bag", [video], [camera], fps=30.0, start_ns=10**18,
                    storage="mcap", fixed_frame=camera.frame_id).path
    frame = camera.frame_id
    still = np.array([0.0, 0.0, 0.0, 1.0])                 # the identity quaternion
    upright = StaticTransform(frame, frame + UPRIGHT_SUFFIX, np.zeros(3), still)
    foreign = [StaticTransform("map", "base_link", np.ones(3), still),
               StaticTransform("world", frame, np.ones(3), still)]
    kept = recorded_tf_static(bag, [*foreign, upright])
    assert [(t.parent, t.child) for t in kept] == [(frame, frame + UPRIGHT_SUFFIX)]


def test_run_make_bag_and_calibrate_refuse_videos_that_drift_apart_before_any_work(
        tmp_path, capsys):
    """The tools read the frames' times first (frame_rate), so two videos whose frame i are
    not one moment are told in one line before any bag is written or any 2D detected;
    calibrate paired them by index without a word before."""
    from pose3d_ros.core.calibration import save_camera_info_yaml, save_rig_yaml
    from pose3d_ros.core.camera import Rig
    from pose3d_ros.core.output_files import run_cli
    from pose3d_ros.tools import calibrate, make_bag, run

    a, b = _video(tmp_path / "a.avi", 30.0, 200), _video(tmp_path / "b.avi", 29.9, 200)
    cameras = [pinhole_from_fov(name, W, H, 60.0) for name in ("a", "b")]
    rig = tmp_path / "rig.yaml"
    save_rig_yaml(Rig("rig", [cameras[0], cameras[1].with_pose(np.eye(3),
                                                                np.array([-1.0, 0.0, 0.0]))]), rig)
    intrinsics = []
    for camera in cameras:
        intrinsics.append(tmp_path / f"{camera.name}.yaml")
        save_camera_info_yaml(camera, intrinsics[-1])
    for main, argv in (
            (run.main, ["--videos", str(a), str(b), "--calibration", str(rig), "--out-dir",
                        str(tmp_path / "out")]),
            (make_bag.main, ["--videos", str(a), str(b), "--calibration", str(rig),
                             str(tmp_path / "bag")]),
            (calibrate.main, ["--videos", str(a), str(b), "--intrinsics", *map(str, intrinsics),
                              "--out", str(tmp_path / "solved.yaml")])):
        assert run_cli(main, argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "b.avi: frame 15" in err[0] and "--fps" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.avi", "a.yaml", "b.avi", "b.yaml",
                                                          "rig.yaml"]


def test_videos_of_different_lengths_are_told_only_when_frames_are_cut(tmp_path, caplog):
    """A review saw make_bag warn 'only the first 8 frames are used' with --max-frames 5."""
    a, b = _video(tmp_path / "a.avi", 30.0, 12), _video(tmp_path / "b.avi", 30.0, 6)
    with caplog.at_level(logging.WARNING, logger="pose3d_ros.core.video"):
        assert len(list(timed_frames([a, b], 5))) == 5
        assert "different lengths" not in caplog.text
        assert len(list(timed_frames([a, b], 10))) == 6
    assert "different lengths (a.avi 12, b.avi 6 frames)" in caplog.text
