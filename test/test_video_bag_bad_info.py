"""A bag whose camera was never calibrated (CameraInfo K all zero, as some drivers publish)
is refused in one line: the fault of every one of its CameraInfo messages was logged before
(a review: the same line 101 times for a 100-frame bag)."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from pose3d_ros.core import bagio
from pose3d_ros.core.bag_cameras import read_bag_cameras
from pose3d_ros.core.calibration import load_rig
from pose3d_ros.core.data_paths import calibration_path, video_paths
from pose3d_ros.core.output_files import run_cli
from pose3d_ros.core.video_bag import write_bag
from pose3d_ros.tools import run

FRAMES = 5


def _with_zero_k(tmp_path, cameras: list[str], count: int = 2):
    """The demo's first `count` cameras (real images, FRAMES sets) in a bag whose CameraInfo
    K is all zero for the cameras named."""
    rig = load_rig(calibration_path("single"))
    good = write_bag(tmp_path / "good", video_paths("single")[:count], list(rig)[:count],
                     fps=60.0, start_ns=1_700_000_000_000_000_000, storage="mcap",
                     fixed_frame=rig.frame_id, scale=0.25, max_frames=FRAMES,
                     crop_to_video=True).path
    bad = tmp_path / "bad"
    with bagio.BagWriter(bad, storage="mcap") as out:
        for item in bagio.read_messages(good):
            if item.topic in {f"/{c}/camera_info" for c in cameras}:
                item.message.k = np.zeros(9)
                out.write(item.topic, item.stamp_ns, item.message)
            else:
                out.write_raw(item.topic, item.stamp_ns, item.raw, item.msgtype)
    return bad


@pytest.mark.parametrize("count", [1, 2])
def test_uncalibrated_cameras_are_refused_in_one_line(tmp_path, capsys, caplog, count):
    bag = _with_zero_k(tmp_path, ["cam01", "cam02"][:count], count)
    with caplog.at_level(logging.WARNING):
        assert run_cli(run.main, ["--bag", str(bag), "--out-dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "K is all zero" in err[0], err
    told = [r.getMessage() for r in caplog.records if "K is all zero" in r.getMessage()]
    assert not told, told                  # nothing logged besides the error line
    assert not (tmp_path / "o").exists()


def test_a_camera_left_out_for_its_camera_info_is_logged_once(tmp_path, caplog):
    bag = _with_zero_k(tmp_path, ["cam02"])
    with caplog.at_level(logging.WARNING):
        cameras, _ = read_bag_cameras(bag)
    assert sorted(cameras) == ["cam01"]
    told = [r.getMessage() for r in caplog.records if "K is all zero" in r.getMessage()]
    assert len(told) == 1 and "/cam02/camera_info" in told[0] and "left out" in told[0], told
    with pytest.raises(ValueError, match="cam01.*K is all zero.*cam02.*K is all zero"):
        read_bag_cameras(_with_zero_k(tmp_path / "both", ["cam01", "cam02"]))
