"""Where a container's frame count is a fact and where an estimate. MP4/MOV and AVI store the
count; Matroska (and WebM) store a duration, and OpenCV's count is duration x frame rate: an
audio track longer than the video, or a variable frame rate, makes it more than the frames.
Such valid files are read whole, not refused as damaged (found by a review), while a
Matroska file cut short is still told. Every video here is a real file written by OpenCV."""
from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest
from test_input_rules_files import H, W, _damaged_in_the_middle, _video

from pose3d_ros.core import bagio
from pose3d_ros.core.output_files import run_cli
from pose3d_ros.core.video import (
    frame_count_is_exact,
    matroska_missing_bytes,
    synchronised_frames,
    video_frame_count,
)
from pose3d_ros.tools import make_bag

FRAMES = 30


def _mkv(path, frames: int = FRAMES):
    """A real Matroska file (MPEG-4 part 2 at 30 fps) of a moving disc on noise."""
    return _video(path, frames=frames)


def _longer_duration(src, dst, factor: float = 1.5):
    """A copy whose Segment duration (Info/Duration, ms) is `factor` times the video's: what
    a longer audio track gives (the muxer writes the longest track's duration there)."""
    data = bytearray(src.read_bytes())
    at = data.find(b"\x44\x89\x88")               # Duration, an 8-byte float
    assert at > 0
    (duration,) = struct.unpack(">d", data[at + 3:at + 11])
    data[at + 3:at + 11] = struct.pack(">d", duration * factor)
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="module")
def mkv(tmp_path_factory):
    return _mkv(tmp_path_factory.mktemp("mkv") / "cam01.mkv")


def test_a_matroska_file_longer_than_its_video_is_read_whole(mkv, tmp_path):
    long = _longer_duration(mkv, tmp_path / "cam01.mkv")
    assert video_frame_count(mkv) == FRAMES and video_frame_count(long) == 45   # an estimate
    assert not frame_count_is_exact(long) and matroska_missing_bytes(long) == 0
    # was: "decoding stops at frame 30 but the file declares 45 frames; it is damaged"
    sets = list(synchronised_frames([long]))
    assert len(sets) == FRAMES
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(sets, synchronised_frames([mkv]),
                                                            strict=True))
    bag = tmp_path / "bag"
    assert run_cli(make_bag.main, ["--videos", str(long), "--hfov", "60", "--start", "1",
                                   str(bag)]) == 0
    assert sum(1 for _ in bagio.read_messages(bag, ["/camera/image_raw/compressed"],
                                              deserialize=False)) == FRAMES


@pytest.mark.parametrize("keep", [0.6, 0.3])
def test_a_matroska_file_cut_short_is_still_told(mkv, tmp_path, keep):
    for src in (mkv, _longer_duration(mkv, tmp_path / "long.mkv")):
        data = src.read_bytes()
        cut = tmp_path / f"cut_{src.name}"
        cut.write_bytes(data[:int(len(data) * keep)])
        assert matroska_missing_bytes(cut) == len(data) - cut.stat().st_size
        with pytest.raises(ValueError, match=rf"{cut}: decoding stops at frame (\d+) of about "
                           r"\d+ and the file lacks the last \d+ bytes its header declares; "
                           r"it is damaged .*keep the \1 frames before the damage: "
                           r"--max-frames \1 \(calibrate: --frames \1\)"):
            list(synchronised_frames([cut]))


def test_a_matroska_file_missing_only_its_index_keeps_its_frames(mkv, tmp_path):
    """Cut after the last frame (the index at the end is lost): every frame decodes, and the
    count (from the header's duration) is reached, so nothing is refused."""
    cut = tmp_path / "cam01.mkv"
    cut.write_bytes(mkv.read_bytes()[:-100])
    assert matroska_missing_bytes(cut) == 100
    assert len(list(synchronised_frames([cut]))) == FRAMES


def test_mp4_and_avi_counts_are_facts(tmp_path):
    for name, fourcc in (("a.mp4", "mp4v"), ("a.avi", "MJPG")):
        path = tmp_path / name
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 30.0, (W, H))
        for _ in range(3):
            writer.write(np.zeros((H, W, 3), np.uint8))
        writer.release()
        assert frame_count_is_exact(path) and video_frame_count(path) == 3
    assert not frame_count_is_exact(tmp_path / "absent.mp4")


def test_an_mp4s_shown_duration_is_read_from_its_movie_header(tmp_path):
    """video.mp4_shown_seconds: an MP4 or MOV cut with `ffmpeg -ss T -c copy` holds frames
    before the cut that its edit list does not show, so fewer frames decode than it declares
    (a review's phone clip: 92 of 131, refused as damaged); the movie header's duration says
    how many are shown. Checked here on OpenCV's own files (their header duration is their
    frames / fps) and on a file cut inside its header; the edit-list case itself was checked
    by hand on the review's ffmpeg-made file (92 frames read, the bag written), since no
    library here writes edit lists."""
    from pose3d_ros.core.video import mp4_shown_seconds

    for name in ("a.mp4", "a.mov"):
        path = tmp_path / name
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (W, H))
        for _ in range(45):
            writer.write(np.zeros((H, W, 3), np.uint8))
        writer.release()
        assert mp4_shown_seconds(path) == pytest.approx(1.5, abs=1e-3)
        data = path.read_bytes()
        moov = data.find(b"moov")
        (tmp_path / "cut.mp4").write_bytes(data[:moov + 20])       # the header cut off
        assert mp4_shown_seconds(tmp_path / "cut.mp4") is None
    assert mp4_shown_seconds(tmp_path / "absent.mp4") is None


def test_a_shorter_matroska_video_is_told_and_a_damaged_one_refused_in_every_reader(
        mkv, tmp_path, caplog):
    """A review: a WebM or Matroska video (no exact frame count) shorter than the others cut
    them all to its length without a word in run, make_bag and calibrate; and calibrate's 2D
    reader used a video damaged in the middle up to the damage and wrote a rig. Both readers
    (the frame sets of run / make_bag, the 2D of calibrate) now say the first and refuse the
    second as run already did."""
    import logging

    from pose3d_ros.core.demo_2d import detect_videos

    longer = _video(tmp_path / "cam02.mp4", frames=FRAMES + 12)
    with caplog.at_level(logging.WARNING, logger="pose3d_ros.core.video"):
        assert len(list(synchronised_frames([longer, mkv]))) == FRAMES
    told = [r.getMessage() for r in caplog.records]
    assert told == [f"cam01.mkv ended after {FRAMES} frames while the other videos go on: "
                    f"only the first {FRAMES} frames of each are used together"], told
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pose3d_ros.core.video"):
        found = detect_videos([mkv, longer], "blazepose_multi", use_cache=False)
    assert found.keypoints.shape[0] == FRAMES
    assert [r.getMessage() for r in caplog.records] == told
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pose3d_ros.core.video"):   # same lengths
        assert len(list(synchronised_frames([_video(tmp_path / "cam03.mp4"), mkv]))) == FRAMES
    assert not caplog.records
    damaged = _damaged_in_the_middle(_video(tmp_path / "intact.mp4"), tmp_path / "cam04.mp4")
    with pytest.raises(ValueError, match=rf"{damaged}: decoding stops at frame \d+ but the "
                       "file declares 30 frames; it is damaged"):
        detect_videos([_video(tmp_path / "cam05.mp4"), damaged], "blazepose_multi",
                      use_cache=False)
