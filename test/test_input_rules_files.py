"""Bad input files get one clear line naming the file and lose nothing: damaged bags, calibration
files that do not parse, unreadable or damaged videos, videos of different frame rates, bad
numbers on the command line, and demo data cut short by an interrupted fetch. Every file here
is real: written by the test, or a damaged copy of a real one."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from pose3d_ros.core import bagio, data_paths
from pose3d_ros.core import calibration as cal
from pose3d_ros.core.camera import Rig, pinhole_from_fov
from pose3d_ros.core.data_paths import calibration_path, video_paths
from pose3d_ros.core.mocap_render import RenderConfig
from pose3d_ros.core.output_files import UserError, run_cli
from pose3d_ros.core.video import synchronised_frames, video_size
from pose3d_ros.core.video_bag import cameras_from_calibration, write_bag
from pose3d_ros.tools import evaluate, make_bag, run

W, H = 160, 120


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    lines = [line for line in err if line.strip() and not line.lstrip().startswith("bag:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in "".join(err)
    return lines[0]


def _video(path, fps: float = 30.0, frames: int = 30):
    """A real mp4 (MPEG-4 part 2) of a moving disc on noise, W x H."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (W, H))
    rng = np.random.default_rng(0)
    for i in range(frames):
        image = rng.integers(0, 80, (H, W, 3), dtype=np.uint8)
        cv2.circle(image, (10 + 4 * i, 60), 10, (0, 0, 255), -1)
        writer.write(image)
    writer.release()
    return path


def _damaged_in_the_middle(src, dst):
    """A copy whose middle third of the media data is zeros (the index stays intact)."""
    data = bytearray(src.read_bytes())
    start, end = data.find(b"mdat"), data.find(b"moov")
    lo, hi = start + (end - start) // 3, start + 2 * (end - start) // 3
    data[lo:hi] = bytes(hi - lo)
    dst.write_bytes(bytes(data))
    return dst


def _rig_yaml(path, cameras: int = 1):
    cams = [pinhole_from_fov(f"cam0{k + 1}", W, H, 60.0) for k in range(cameras)]
    for k, cam in enumerate(cams):
        cam.t = np.array([0.5 * k, 0.0, 3.0])
    cal.save_rig_yaml(Rig("rig", cams), path)
    return path


# --- bags ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_bags(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bags")
    cameras, _ = cameras_from_calibration(calibration_path("single"))
    for storage in ("mcap", "sqlite3"):
        write_bag(folder / storage, video_paths("single"), cameras, fps=60.0, start_ns=10**9,
                  storage=storage, scale=0.1, max_frames=2, crop_to_video=True)
    return folder


def _damaged_bag(src, dst, edit):
    shutil.copytree(src, dst)
    edit(dst)
    return dst


def _cut(fraction):
    def edit(bag):
        data = next(f for f in bag.iterdir() if f.suffix in (".mcap", ".db3"))
        data.write_bytes(data.read_bytes()[:int(data.stat().st_size * fraction)])
    return edit


CUT = "is corrupt or truncated"


@pytest.mark.parametrize("storage, edit, told", [
    ("mcap", _cut(0.5), CUT), ("mcap", _cut(0.0), CUT), ("sqlite3", _cut(0.5), CUT),
    ("mcap", lambda bag: (bag / "metadata.yaml").write_text("{ [ :: not yaml"), CUT),
    ("mcap", lambda bag: (bag / "metadata.yaml").write_text("- a list\n- not metadata\n"), CUT),
    # (a folder without metadata.yaml is read through its one storage file since a review;
    # with several, or compressed ones, it is refused: test_bagio)
    ("sqlite3", lambda bag: ((bag / "metadata.yaml").unlink(),
                             (bag / "other.db3").write_bytes(b"")),
     "has no metadata.yaml and 2 storage files")])
def test_a_damaged_bag_is_told_in_one_line_naming_it(small_bags, tmp_path, capsys, storage,
                                                    edit, told):
    bag = _damaged_bag(small_bags / storage, tmp_path / "damaged", edit)
    with pytest.raises(bagio.CorruptBagError, match=f"bag {bag} {told}"):
        bagio.bag_topics(bag)
    with pytest.raises(bagio.CorruptBagError, match=f"bag {bag} {told}"):
        list(bagio.read_messages(bag))
    out = tmp_path / "out"
    assert run_cli(evaluate.main, ["--bag", str(bag), "--out-dir", str(out)]) == 2
    line = _one_line(capsys)
    assert f"bag {bag} {told}" in line, line
    assert not out.exists()
    # the intact bag still reads
    assert len(list(bagio.read_messages(small_bags / storage))) == 1 + 2 * 4 * 2


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_a_bag_damaged_after_its_header_is_told_in_one_line(small_bags, tmp_path, capsys,
                                                            storage):
    """Four pages a third of the way into the storage file overwritten (a disk error, a copy
    gone wrong): the bag opens, its messages do not all read. Found by a review: SQLite's
    apsw.CorruptError came out as a traceback in run, evaluate and train_lifter; the MCAP
    reader skipped the damaged chunk without a word (evaluate scored what was left, exit 0):
    fewer messages than metadata.yaml lists is now damage."""
    def scramble(bag):
        data = next(f for f in bag.iterdir() if f.suffix in (".mcap", ".db3"))
        raw = bytearray(data.read_bytes())
        start = len(raw) // 3 // 4096 * 4096
        raw[start:start + 4 * 4096] = b"\x5a" * (4 * 4096)
        data.write_bytes(bytes(raw))

    bag = _damaged_bag(small_bags / storage, tmp_path / "damaged", scramble)
    with pytest.raises(bagio.CorruptBagError, match=f"bag {bag} is corrupt or truncated"):
        list(bagio.read_messages(bag))
    out = tmp_path / "out"
    assert run_cli(evaluate.main, ["--bag", str(bag), "--out-dir", str(out)]) == 2
    line = _one_line(capsys)
    assert str(bag) in line and "corrupt or truncated" in line and not out.exists()


# --- calibration files --------------------------------------------------------------------

def test_calibration_files_that_do_not_parse_name_the_file(tmp_path, capsys):
    good = _rig_yaml(tmp_path / "rig.yaml")
    text = good.read_text()
    info = tmp_path / "info.yaml"
    cal.save_camera_info_yaml(cal.load_rig(good).cameras[0], info)
    broken = {
        "unclosed.yaml": "cameras: [ {name: cam01\n".encode(),
        "latin1.yaml": text.replace("frame_id: rig", "frame_id: r\u00e9gie").encode("latin-1"),
        "utf16.yaml": text.encode("utf-16"),
        "tab.yaml": b"cameras:\n\t- name: cam01\n",
        "utf16.toml": "[cam01]\nmatrix = 1\n".encode("utf-16"),
        "width.yaml": text.replace(f"width: {W}", "width: wide").encode(),
        "info_width.yaml": info.read_text().replace(f"image_width: {W}",
                                                    "image_width: [1]").encode(),
    }
    for name, data in broken.items():
        path = tmp_path / name
        path.write_bytes(data)
        loaders = [cal.load_rig] + ([cal.load_rig_yaml] if name.endswith(".yaml") else [])
        for load in loaders:
            with pytest.raises(ValueError, match=f"^{path}: ") as caught:
                load(path)
            assert "\n" not in str(caught.value), name
        if name == "latin1.yaml":
            with pytest.raises(ValueError, match="not UTF-8 text.*save it as UTF-8"):
                cal.load_camera_info_yaml(path)
    with pytest.raises(ValueError, match="invalid YAML at line 2"):
        cal.load_camera_info_yaml(tmp_path / "unclosed.yaml")
    with pytest.raises(ValueError, match="image_width must be a whole number"):
        cal.load_camera_info_yaml(tmp_path / "info_width.yaml")
    video = _video(tmp_path / "cam01.mp4")
    for name in ("unclosed.yaml", "utf16.yaml"):
        assert run_cli(make_bag.main, ["--videos", str(video), "--calibration",
                                       str(tmp_path / name), str(tmp_path / "bag")]) == 2
        assert str(tmp_path / name) in _one_line(capsys)
    # a folder is not a calibration file
    with pytest.raises(ValueError, match="is a folder, not a calibration file"):
        cal.load_rig(tmp_path)
    assert run_cli(make_bag.main, ["--videos", str(video), "--calibration", str(tmp_path),
                                   str(tmp_path / "bag")]) == 2
    assert f"{tmp_path} is a folder, not a file" in _one_line(capsys)
    assert not (tmp_path / "bag").exists()


# --- videos -------------------------------------------------------------------------------

def test_an_unreadable_video_is_told_in_the_check_step(tmp_path, capsys):
    truncated = tmp_path / "cam01.mp4"
    data = video_paths("single")[0].read_bytes()
    truncated.write_bytes(data[:len(data) // 2])
    assert video_size(truncated) == (0, 0)
    calibration = _rig_yaml(tmp_path / "rig.yaml")
    for extra in ([], ["--fps", "30"]):
        out = tmp_path / "out"
        assert run_cli(run.main, ["--videos", str(truncated), "--calibration", str(calibration),
                                  "--out-dir", str(out), *extra]) == 2
        assert f"{truncated} is not a readable video" in _one_line(capsys)
        assert not out.exists()
        assert run_cli(make_bag.main, ["--videos", str(truncated), "--calibration",
                                       str(calibration), str(tmp_path / "bag"), *extra]) == 2
        assert f"{truncated} is not a readable video" in _one_line(capsys)
    # FFmpeg's own "moov atom not found" is not printed above the one line (a fresh process:
    # OpenCV reads the log level when FFmpeg is first used)
    done = subprocess.run([sys.executable, "-m", "pose3d_ros.tools.make_bag", "--videos",
                           str(truncated), "--hfov", "60", str(tmp_path / "bag")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {truncated} is not a readable video (truncated, damaged, or a format "
        "OpenCV's FFmpeg cannot decode)"]


def test_a_text_file_among_the_videos_is_refused_not_drawn_as_frames(tmp_path, capsys):
    """FFmpeg's tty demuxer opens a text file as a 640x400 video of the text (codec "ansi"): a
    review's calibration file given as a video became a bag of 3 frame sets and a run of the
    node. Now it is one line, in the check step."""
    text = calibration_path("single")                          # Calib.qca.txt, XML
    assert video_size(text) == (0, 0)
    assert run_cli(make_bag.main, ["--videos", str(text), "--hfov", "60", "--max-frames", "3",
                                   str(tmp_path / "bag")]) == 2
    assert f"{text} is a text file, not a video" in _one_line(capsys)
    assert run_cli(run.main, ["--videos", str(text), "--hfov", "65", "--max-frames", "3",
                              "--out-dir", str(tmp_path / "out")]) == 2
    assert f"{text} is a text file, not a video" in _one_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_a_video_damaged_in_the_middle_is_refused_not_cut_short(tmp_path, capsys):
    intact = _video(tmp_path / "intact.mp4")
    assert sum(1 for _ in synchronised_frames([intact])) == 30
    damaged = _damaged_in_the_middle(intact, tmp_path / "cam01.mp4")
    with pytest.raises(ValueError, match=rf"{damaged}: decoding stops at frame (\d+) but the "
                       "file declares 30 frames; it is damaged") as caught:
        list(synchronised_frames([intact, damaged]))
    decoded = int(str(caught.value).split("at frame ")[1].split()[0])
    assert 0 < decoded < 27
    calibration = _rig_yaml(tmp_path / "rig.yaml")
    bag = tmp_path / "bag"
    assert run_cli(make_bag.main, ["--videos", str(damaged), "--calibration", str(calibration),
                                   str(bag)]) == 2
    assert "decoding stops at frame" in _one_line(capsys)
    assert not bag.exists() and not list(tmp_path.glob(".bag.partial-*"))
    # the frames before the damage, when asked for
    assert run_cli(make_bag.main, ["--videos", str(damaged), "--calibration", str(calibration),
                                   "--max-frames", str(decoded), str(bag)]) == 0
    assert sum(1 for m in bagio.read_messages(bag, ["/cam01/image_raw/compressed"],
                                              deserialize=False)) == decoded


def test_a_recording_for_the_lifter_checks_its_videos_as_the_other_tools_do(tmp_path):
    """Found by a review: eval_lifter and train_lifter --recording took videos of another
    size than their calibration, and one damaged in the middle (scored on its first frames),
    without a word; an empty video was told only after another camera's 2D had run."""
    from pose3d_ros.core.lifting.dataset import detect_video_blazepose
    from pose3d_ros.core.lifting.labels import check_recording

    root = tmp_path / "rec"
    (root / "videos").mkdir(parents=True)
    (root / "calibration").mkdir()
    shutil.copy(calibration_path("single"), root / "calibration" / "Calib.qca.txt")
    videos = [_video(root / "videos" / f"cam0{k + 1}.mp4") for k in range(4)]
    with pytest.raises(ValueError, match=f"cam01: video frames are {W}x{H} but the "
                                         "calibration says"):
        check_recording(str(root))
    videos[1].write_bytes(b"")
    with pytest.raises(ValueError, match=f"{videos[1]} is not a readable video"):
        check_recording(str(root))
    damaged = _damaged_in_the_middle(_video(tmp_path / "intact.mp4"), tmp_path / "cam.mp4")
    with pytest.raises(ValueError, match=f"{damaged}: decoding stops at frame") as caught:
        detect_video_blazepose(damaged, progress=False)
    # the tools that read it have no --max-frames (a review: the advice named it)
    assert "--max-frames" not in str(caught.value) and "-frames:v" in str(caught.value)
    assert len(detect_video_blazepose(damaged, max_frames=3, progress=False).keypoints) == 3
    # the same through the multi-person 2D (train_lifter/eval_lifter --multi-person read it
    # with keep=None; a review: that path still named --max-frames)
    from pose3d_ros.core.detection.cache import detect_video_set

    for keep, told in ((None, "-frames:v"), ("--max-frames {n}", "--max-frames")):
        with pytest.raises(ValueError, match="decoding stops at frame") as caught:
            detect_video_set([damaged], "blazepose_multi", cache_folder=tmp_path / "c",
                             keep=keep)
        assert told in str(caught.value), caught.value


def test_a_recording_for_the_lifter_pairs_videos_of_one_rate_by_their_names(tmp_path):
    """A review of users' videos: train_lifter --recording paired a 30 fps camera with 60 fps
    ones frame by frame into pseudo-labels of different moments without a word (the other
    tools refuse it), took only lowercase .mp4, and matched videos to cameras by sorted file
    name; and the lifter tools' 2D stopped at a container's frame count, which some files
    under-declare (an AVI whose header said 10 of its 30 frames)."""
    import struct

    from pose3d_ros.core.lifting.dataset import detect_video_blazepose
    from pose3d_ros.core.lifting.labels import check_recording

    root = tmp_path / "rec"
    (root / "videos").mkdir(parents=True)
    (root / "calibration").mkdir()
    shutil.copy(calibration_path("single"), root / "calibration" / "Calib.qca.txt")
    frame = np.full((1920, 1080, 3), 90, np.uint8)

    def video(name: str, fps: float) -> Path:
        path = root / "videos" / name
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (1080, 1920))
        for _ in range(3):
            writer.write(frame)
        writer.release()
        return path

    # named after the cameras, in upper case, listed in another order than the calibration's
    for name in ("CAM02.MP4", "cam01.mov", "Cam04.mp4"):
        video(name, 60.0)
    slow = video("cam03.mp4", 30.0)
    with pytest.raises(ValueError, match=r"different frame rates .*cam03.mp4 30 fps\); frame i "
                       r"of each is paired with frame i of the others, so re-encode them to "
                       r"one rate$"):
        check_recording(str(root))
    video(slow.name, 60.0)
    videos, _, _, cameras = check_recording(str(root))
    assert [v.name for v in videos] == ["CAM02.MP4", "Cam04.mp4", "cam01.mov", "cam03.mp4"]
    assert [c.name for c in cameras] == ["cam02", "cam04", "cam01", "cam03"]
    # a video not named after its camera: refused, not paired by the names' sort (a review)
    (root / "videos" / "Cam04.mp4").rename(root / "videos" / "d_cam04.mp4")
    with pytest.raises(ValueError, match=r"^d_cam04.mp4 named after no camera of .*name each "
                                         r"video of a recording folder after its camera"):
        check_recording(str(root))
    # an AVI whose headers declare 10 of its 30 frames: all 30 read
    avi = tmp_path / "count10.avi"
    writer = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (W, H))
    for i in range(30):
        image = np.full((H, W, 3), 40, np.uint8)
        cv2.circle(image, (5 + 4 * i, H // 2), 8, (0, 0, 255), -1)
        writer.write(image)
    writer.release()
    data = bytearray(avi.read_bytes())
    struct.pack_into("<I", data, data.find(b"avih") + 24, 10)     # dwTotalFrames
    struct.pack_into("<I", data, data.find(b"strh") + 40, 10)     # the stream's dwLength
    avi.write_bytes(bytes(data))
    assert int(cv2.VideoCapture(str(avi)).get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    assert len(detect_video_blazepose(avi, progress=False).keypoints) == 30


def test_hfov_on_a_portrait_video_says_which_side_it_is_across(tmp_path, caplog):
    """A review: a phone's 60-75 degrees is along its long side; --hfov 65 across a portrait
    video's width halved the focal length (people placed at 1.96 m instead of 3.6 m) without
    a word. The angle stays across the width (as documented); a portrait video says so and
    what the long side's angle would be across it."""
    import logging

    from pose3d_ros.core.video_bag import camera_for_fov

    portrait = _sized_video(tmp_path / "phone.mp4", 90, 160)
    with caplog.at_level(logging.WARNING):
        [camera], _ = camera_for_fov(portrait, 65.0)
    assert camera.K[0, 0] == pytest.approx(45 / np.tan(np.radians(32.5)))
    told = [r.getMessage() for r in caplog.records if "portrait video" in r.getMessage()]
    assert len(told) == 1 and "--hfov 65 is taken across its 90-px width" in told[0]
    assert told[0].endswith("give --hfov 39"), told
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        camera_for_fov(_sized_video(tmp_path / "wide.mp4", 160, 90), 65.0)
    assert not [r for r in caplog.records if "portrait" in r.getMessage()]


def test_videos_of_different_frame_rates_are_not_paired_silently(tmp_path, capsys):
    fast, slow = _video(tmp_path / "cam01.mp4", fps=60.0), _video(tmp_path / "cam02.mp4", 25.0)
    calibration = _rig_yaml(tmp_path / "rig.yaml", cameras=2)
    bag = tmp_path / "bag"
    args = ["--videos", str(fast), str(slow), "--calibration", str(calibration),
            "--max-frames", "3", "--start", "1"]
    assert run_cli(make_bag.main, [*args, str(bag)]) == 2
    line = _one_line(capsys)
    assert f"{fast} 60 fps" in line and f"{slow} 25 fps" in line and "--fps" in line
    assert not bag.exists()
    # --fps pairs them frame by frame, as asked
    assert run_cli(make_bag.main, [*args, "--fps", "30", str(bag)]) == 0
    stamps = [m.stamp_ns for m in bagio.read_messages(bag, ["/cam02/camera_info"])]
    assert stamps == [1_000_000_000, 1_033_333_333, 1_066_666_667]


def test_bad_numbers_are_told_before_any_work(tmp_path, capsys):
    video = video_paths("single")[0]
    base = ["--videos", str(video), "--calibration", str(tmp_path / "absent.yaml")]
    # the numbers' ranges are their argparse types: argparse's one error line, exit 2
    for extra, told in ((["--fps", "-3"], "argument --fps: must be a finite number > 0"),
                        (["--fps", "0"], "argument --fps: must be a finite number > 0"),
                        (["--max-frames", "0"], "argument --max-frames: must be a whole number "
                         ">= 1, got 0"),
                        (["--max-frames", "-3"], "argument --max-frames: must be a whole number "
                         ">= 1, got -3")):
        with pytest.raises(SystemExit) as exited:
            run_cli(make_bag.main, [*base, *extra, str(tmp_path / "bag")])
        err = capsys.readouterr().err           # argparse's usage, then its one error line
        assert exited.value.code == 2 and "Traceback" not in err, err
        assert told in err.strip().splitlines()[-1], err
    # a video narrower than its calibration: the crop flag is suggested, before any frame
    info = tmp_path / "cam01.yaml"
    cal.save_camera_info_yaml(cal.load_rig(calibration_path("single"))["cam01"], info)
    assert run_cli(make_bag.main, ["--videos", str(video), "--calibration", str(info),
                                   str(tmp_path / "bag")]) == 2
    err = capsys.readouterr().err
    assert "video frames are 1080x1920 but the calibration says 1088x1920; if the video is the " \
        "top-left part of the calibrated image" in err and "pass --crop-to-video" in err
    assert "bag:" not in err and not (tmp_path / "bag").exists()
    with pytest.raises(ValueError, match=r"render fps must be > 0 \(frames per second\), got 0"):
        RenderConfig(fps=0)
    with pytest.raises(ValueError, match=r"render fov_deg must be in \(0, 170\) degrees"):
        RenderConfig(fov_deg=float("nan"))


# --- demo data ----------------------------------------------------------------------------

def _wheel(path, corrupt: str | None = None):
    """A zip laid out like the pose2sim wheel, of the real demo files (stored, uncompressed);
    `corrupt`: a member whose bytes are damaged inside the zip (its CRC no longer matches)."""
    root = data_paths.default_data_dir() / "demo"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as wheel:
        for name, prefix in data_paths.RECORDINGS.items():
            for rel in data_paths.FILE_SIZES[name]:
                wheel.write(root / name / rel, prefix + rel)
    if corrupt is not None:
        data = bytearray(path.read_bytes())
        at = data.find(corrupt.encode()) + len(corrupt) + 1000
        data[at:at + 100] = bytes(100)
        path.write_bytes(bytes(data))
    return path


def test_demo_files_cut_short_are_fetched_again_and_written_whole(tmp_path):
    data_dir = tmp_path / "data"
    data_paths.extract_recordings(_wheel(tmp_path / "demo.whl"), data_dir)
    for name in data_paths.RECORDINGS:
        assert data_paths.incomplete_files(name, data_dir / "demo" / name) == []
    assert data_paths.video_paths("single", data_dir)[1].stat().st_size == 540548
    assert not list(data_dir.rglob(".*partial*"))
    # a file cut short (an interrupted fetch of the old code) counts as not fetched
    video = data_dir / "demo" / "single" / "videos" / "cam02.mp4"
    video.write_bytes(video.read_bytes()[:1000])
    assert data_paths.incomplete_files("single", data_dir / "demo" / "single") == [video]
    # a damaged member: the file it would replace is not written half
    video.unlink()
    damaged = _wheel(tmp_path / "damaged.whl", corrupt="Demo_SinglePerson/videos/cam02.mp4")
    with pytest.raises(UserError, match="damaged.whl is damaged"):
        data_paths.extract_recordings(damaged, data_dir)
    assert not video.exists() and not list(data_dir.rglob(".*partial*"))
    # a data folder that cannot be written is told before the 51 MB download
    blocking = tmp_path / "a_file"
    blocking.write_text("not a folder")
    with pytest.raises(ValueError, match="cannot be written to .*a_file is not a folder; set "
                       "POSE3D_DATA"):
        data_paths.fetch(blocking / "data")
    # and a folder that refuses new files whatever its permissions say (root on /proc)
    with pytest.raises(ValueError, match="cannot be written to /proc/pose3d_data: /proc "):
        data_paths.check_writable(Path("/proc/pose3d_data"))
    # the motion capture likewise (a review: a raw "[Errno 20] Not a directory")
    from pose3d_ros.core.mocap import fetch_mocap
    with pytest.raises(ValueError, match="the motion capture cannot be written to .*a_file is "
                       "not a folder"):
        fetch_mocap(blocking / "data")


def test_a_download_that_fails_is_one_line_from_any_tool(tmp_path, monkeypatch, capsys):
    """Found by a review: a failed download raised RuntimeError, which run_cli let through as
    a traceback from every tool that fetches the demo on first use (demo, make_bag, calibrate,
    eval_multiview). Now it is one `error:` line naming the wheel and pip's cause. Real pip,
    told to look in an empty folder and at no index (no network needed)."""
    empty = tmp_path / "no_wheels"
    empty.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(empty))
    data_dir = tmp_path / "data"
    assert run_cli(lambda argv: len(video_paths("single", data_dir)) and 0, []) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: could not download {data_paths.POSE2SIM_WHEEL}: "), err
    assert not list(data_dir.rglob("*.mp4"))


def test_a_wheel_that_is_no_zip_is_one_line(tmp_path, capsys):
    """Found by a review: a downloaded wheel cut short or damaged before its table of contents
    (no zip at all) raised BadZipFile out of zipfile.ZipFile, a traceback from every tool
    that fetches; now one `error:` line naming the file, nothing written."""
    broken = tmp_path / "pose2sim-0.10.49-py3-none-any.whl"
    broken.write_bytes(b"PK\x03\x04 cut short")
    data_dir = tmp_path / "data"
    assert run_cli(lambda argv: data_paths.extract_recordings(broken, data_dir) or 0, []) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: {broken.name} is damaged") and "fetch again" in err, err
    assert not data_dir.exists() or not any(data_dir.rglob("*"))


def _sized_video(path, width: int, height: int, frames: int = 3):
    """A real mp4 of `frames` grey frames, width x height."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (width, height))
    for _ in range(frames):
        writer.write(np.full((height, width, 3), 90, np.uint8))
    writer.release()
    return path


def test_videos_go_to_the_cameras_they_are_named_after_in_any_order(tmp_path):
    """Found by a 'your own rig' audit: with one video per camera, videos named after cameras
    were matched by position, so cam02.mp4 given first silently became cam01."""
    from pose3d_ros.core.video_bag import cameras_for_videos, video_camera_pairs

    videos = [tmp_path / f"{name}.mp4" for name in ("cam02", "cam01", "cam04", "cam03")]
    cameras, _ = cameras_for_videos(videos, calibration_path("single"))
    assert [c.name for c in cameras] == ["cam02", "cam01", "cam04", "cam03"]
    assert video_camera_pairs(videos, cameras).startswith("cam02.mp4 -> cam02, cam01.mp4 ->")
    # names that are no camera's: one per camera in the file's order, as before
    other = [tmp_path / f"{name}.mp4" for name in ("front", "left", "back", "right")]
    assert [c.name for c in cameras_for_videos(other, calibration_path("single"))[0]] == [
        "cam01", "cam02", "cam03", "cam04"]


def test_one_misspelt_video_name_does_not_pair_the_others_by_place(tmp_path):
    """A review: one video named after no camera made every video go by its place, those
    named after other cameras too (cam02.mp4 given first became cam01). Refused now, naming
    both; names that agree with their places still go by place; three named and one not, for
    a four-camera rig, say which one names no camera; a recording folder (by_name_only)
    takes names only; one folder per camera is shown by its path, and goes by the folders'
    names where they name cameras."""
    from pose3d_ros.core.video_bag import cameras_for_videos, video_camera_pairs

    rig = calibration_path("single")
    crossed = [tmp_path / f"{name}.mp4" for name in ("cam02", "cam01", "cam3", "cam04")]
    with pytest.raises(ValueError, match=r"^cam3.mp4 named after no camera of .*by their "
                                         r"places, but cam02.mp4 would be camera cam01, "
                                         r"cam01.mp4 would be camera cam02: name every"):
        cameras_for_videos(crossed, rig)
    agreeing = [tmp_path / f"{name}.mp4" for name in ("cam01", "left", "cam03", "right")]
    assert [c.name for c in cameras_for_videos(agreeing, rig)[0]] == [
        "cam01", "cam02", "cam03", "cam04"]
    with pytest.raises(ValueError, match=r"^cam5.mp4 named after no camera of"):
        cameras_for_videos([tmp_path / f"{name}.mp4" for name in ("cam01", "cam5", "cam03")],
                           rig)
    with pytest.raises(ValueError,
                       match=r"left.mp4, right.mp4 named after no camera.*recording folder"):
        cameras_for_videos(agreeing, rig, by_name_only=True)
    folders = [tmp_path / name / "video.mp4" for name in ("a", "b", "c", "d")]
    shown = video_camera_pairs(folders, cameras_for_videos(folders, rig)[0])
    assert shown.startswith(f"{folders[0]} -> cam01, {folders[1]} -> cam02"), shown
    # one folder per camera, named after it: by the folders' names
    named = [tmp_path / name / "video.mp4" for name in ("cam02", "CAM01", "cam04", "cam03")]
    assert [c.name for c in cameras_for_videos(named, rig)[0]] == [
        "cam02", "cam01", "cam04", "cam03"]


def test_a_misspelt_camera_folder_does_not_pair_the_others_by_place(tmp_path):
    """A review (session 66): with one folder per camera, one misspelt folder made every video
    go by its place without a word (cam02/video.mp4 given first became cam01), a folder
    overrode the camera its video's own name gave (cam01/cam02.mp4 became cam01), and a
    second video in one camera's folder became the next camera. A video now names a camera by
    its file or its folder, and the rules of names hold for folders; a refusal shows the
    videos by their paths where they share a file name."""
    from pose3d_ros.core.video_bag import (
        cameras_for_videos,
        cameras_from_calibration,
        refuse_videos_sharing_a_camera,
    )

    rig = calibration_path("single")
    misspelt = [tmp_path / name / "video.mp4" for name in ("cam02", "cam5", "cam03", "cam04")]
    with pytest.raises(ValueError, match=rf"^{misspelt[1]} named after no camera of .*by "
                                         rf"their places, but {misspelt[0]} would be camera "
                                         r"cam01: name every video \(or its folder\)"):
        cameras_for_videos(misspelt, rig)
    with pytest.raises(ValueError, match=r"cam02.mp4 is named after camera cam02 but lies in "
                                         r"the folder of camera cam01"):
        cameras_for_videos([tmp_path / "cam01" / "cam02.mp4", tmp_path / "cam02" / "f.mp4"],
                           rig)
    shared = [tmp_path / "cam01" / "a.mp4", tmp_path / "cam01" / "b.mp4",
              tmp_path / "x" / "c.mp4", tmp_path / "y" / "d.mp4"]
    with pytest.raises(ValueError, match=r"a.mp4 and .*b.mp4 are both named after camera cam01"):
        cameras_for_videos(shared, rig)
    with pytest.raises(ValueError, match=r"a.mp4 and .*b.mp4 are both named after camera cam01"):
        refuse_videos_sharing_a_camera(shared, cameras_from_calibration(rig)[0])  # calibrate's
    unnamed = [tmp_path / "a" / "video.mp4", tmp_path / "b" / "cam02.mp4",
               tmp_path / "c" / "video.mp4"]
    with pytest.raises(ValueError, match=rf"^{unnamed[0]}, {unnamed[2]} named after no camera"):
        cameras_for_videos(unnamed, rig)
    # a name and a folder, each naming its camera: by name, in any order
    mixed = [tmp_path / "cam03.mp4", tmp_path / "cam01" / "video.mp4"]
    assert [c.name for c in cameras_for_videos(mixed, rig)[0]] == ["cam03", "cam01"]


def test_a_resized_video_is_refused_before_any_work_not_taken_as_a_crop(tmp_path, capsys):
    """run took a half-size video as the 'top-left crop' of the calibrated image (one warning
    line, then a wrong camera outvoted by the others), and calibrate wrote a rig 5-15 degrees
    off from it without a word. A crop is now only the encoder's padding (ENCODER_PADDING_PX);
    a resized video is refused in the check step, with what to give."""
    from pose3d_ros.tools import calibrate

    half = [_sized_video(tmp_path / f"cam0{k}.mp4", 544, 960) for k in (1, 2)]
    out = tmp_path / "out"
    assert run_cli(run.main, ["--videos", str(half[0]), "--calibration",
                              str(calibration_path("single")), "--out-dir", str(out)]) == 2
    line = _one_line(capsys)
    assert "cam01: video frames are 544x960 but the calibration says 1088x1920" in line
    assert "give --scale 0.5" in line
    assert run_cli(calibrate.main, ["--videos", *map(str, half), "--intrinsics",
                                    str(calibration_path("single")), "--out",
                                    str(tmp_path / "rig.yaml")]) == 2
    line = _one_line(capsys)
    assert "544x960" in line and "resized by 0.5: give intrinsics of the videos' size" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam01.mp4", "cam02.mp4"]
    # the encoder's padding (1080 of 1088 rows) is still the top-left part
    from pose3d_ros.core.video_bag import sized_cameras

    (tmp_path / "pad").mkdir()
    padded = _sized_video(tmp_path / "pad" / "cam01.mp4", 1080, 1920)
    camera = cameras_from_calibration(calibration_path("single"))[0][0]
    assert sized_cameras([padded], [camera], crop_padding=True)[0].width == 1080
    # those 1080x1920 frames resized to 540x960 are a resize, not a crop (a review: told to
    # pass --crop-to-video, which wrote the full-size intrinsics for the half-size video)
    (tmp_path / "small").mkdir()
    small = _sized_video(tmp_path / "small" / "cam01.mp4", 540, 960)
    assert run_cli(make_bag.main, ["--videos", str(small), "--calibration",
                                   str(calibration_path("single")), str(tmp_path / "b")]) == 2
    line = _one_line(capsys)
    assert "give --scale 0.5" in line and "--crop-to-video" not in line, line


def test_videos_of_different_lengths_are_told(tmp_path, caplog):
    """Frame sets stop at the shortest video: the user is told why (it was silent)."""
    import logging

    long, short = _video(tmp_path / "a.mp4", frames=30), _video(tmp_path / "b.mp4", frames=10)
    with caplog.at_level(logging.WARNING):
        sets = list(synchronised_frames([long, short]))
    assert len(sets) == 10
    told = [r.getMessage() for r in caplog.records if "different lengths" in r.getMessage()]
    assert len(told) == 1 and "a.mp4 30, b.mp4 10" in told[0], told


# --- .npz files ---------------------------------------------------------------------------

def test_npz_files_cut_short_are_one_line_and_a_damaged_cache_is_detected_again(
        tmp_path, capsys, caplog):
    """Found by a review: an .npz cut short or empty came out of calibrate --keypoints and
    run --truth as a zipfile.BadZipFile / EOFError traceback, and a damaged detection cache
    failed every later run until the user found and deleted it."""
    import logging

    from pose3d_ros.core.detection.cache import detect_video_set
    from pose3d_ros.core.mocap_render import load_truth_joints
    from pose3d_ros.core.output_files import DamagedFileError
    from pose3d_ros.tools import calibrate

    good = tmp_path / "2d.npz"
    np.savez(good, keypoints=np.zeros((3, 2, 1, 33, 2)), scores=np.ones((3, 2, 1, 33)))
    cut, empty = tmp_path / "cut.npz", tmp_path / "empty.npz"
    cut.write_bytes(good.read_bytes()[:good.stat().st_size // 2])
    empty.touch()
    rig = _rig_yaml(tmp_path / "rig.yaml", cameras=2)
    for bad in (cut, empty):
        out = tmp_path / "out.yaml"
        assert run_cli(calibrate.main, ["--keypoints", str(bad), "--intrinsics", str(rig),
                                        "--out", str(out)]) == 2
        line = _one_line(capsys)
        assert str(bad) in line and "keypoints and scores, or one cut short" in line, line
        assert not out.exists()
        with pytest.raises(DamagedFileError, match=f"{bad} is not a render_mocap truth.npz"):
            load_truth_joints(bad)
    # a detection cache cut short: a warning, the same 2D detected again, the cache rewritten
    videos = video_paths("single")[:1]
    first = detect_video_set(videos, "blazepose_multi", max_frames=2, cache_folder=tmp_path)
    (cache,) = tmp_path.glob(f"{videos[0].stem}_blazepose_multi_*.npz")
    cache.write_bytes(cache.read_bytes()[:100])
    with caplog.at_level(logging.WARNING, logger="pose3d_ros.core.detection.cache"):
        again = detect_video_set(videos, "blazepose_multi", max_frames=2, cache_folder=tmp_path)
    assert any(str(cache) in r.getMessage() and "detecting again" in r.getMessage()
               for r in caplog.records), caplog.text
    assert np.array_equal(first[0].keypoints, again[0].keypoints, equal_nan=True)
    assert detect_video_set(videos, "blazepose_multi", max_frames=2, cache_folder=tmp_path)
