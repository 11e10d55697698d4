"""Bags recorded from camera drivers, not written by the package: cameras that stamp one
instant a few milliseconds apart, a recorder that logs images late and interleaved, driver
topic names (/camera1/color/image_raw), a depth topic and a second transport beside the
images, images stamped 0. Found by an audit that recorded such bags from the demo videos:
every image became its own frame set (evaluate failed, `run --bag` waited 20 s per set), a
depth topic stopped evaluate, driver names stopped `run --bag` with a traceback."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from pose3d_ros.core import bagio
from pose3d_ros.core.bag_tracks import bag_cameras, frame_sets, index_frame_sets
from pose3d_ros.core.data_paths import calibration_path, video_paths
from pose3d_ros.core.output_files import run_cli
from pose3d_ros.core.video_bag import cameras_from_calibration, write_bag
from pose3d_ros.tools import evaluate, run

T0 = 1_700_000_000_000_000_000
PERIOD_NS = 33_333_333                     # 30 fps
JITTER_NS = {"cam01": 0, "cam03": 3_000_000}   # cam03 stamps each instant 3 ms later


def _demo_bag(tmp_path, frames: int = 4):
    """cam01 and cam03 of the single demo at quarter size, as the package writes them."""
    cameras = {c.name: c for c in cameras_from_calibration(calibration_path("single"))[0]}
    videos = video_paths("single")
    bag = tmp_path / "package_bag"
    write_bag(bag, [videos[0], videos[2]], [cameras["cam01"], cameras["cam03"]], fps=30.0,
              start_ns=T0, scale=0.25, max_frames=frames, compressed=False)
    return bag


def _as_recorded(source, target, *, names: str = "{camera}/image_raw", zero_last: bool = False,
                 depth: bool = False, compressed_too: bool = False):
    """The package's bag rewritten as a recorder writes a driver's topics: each camera's
    header stamps shifted by JITTER_NS, logged 20-50 ms after their stamps (the cameras'
    images of one instant interleaved with the next instant's), topics named by `names`
    with their camera_info beside them, and optionally the last frame stamped 0, a depth
    image per camera, a JPEG copy of cam01."""
    messages = list(bagio.read_bag(source))
    frames = sorted({bagio.stamp_to_ns(m.header.stamp) for t, _, m in messages
                     if t.endswith("image_raw")})
    infos: dict[str, object] = {}
    with bagio.BagWriter(target, storage="mcap") as bag:
        rows = []
        for topic, log_ns, msg in messages:
            if topic == "/tf_static":
                rows.append((topic, log_ns, msg))
                continue
            camera = topic.strip("/").split("/")[0]
            stamp = bagio.stamp_to_ns(msg.header.stamp)
            frame = frames.index(stamp) if stamp in frames else 0
            stamp += JITTER_NS[camera]
            late = 20_000_000 + (30_000_000 if (camera == "cam01") == (frame % 2 == 0) else 0)
            folder = "/" + names.format(camera=camera).rsplit("/", 1)[0]
            if topic.endswith("camera_info"):
                infos[camera] = msg
                msg.header = bagio.header(stamp, msg.header.frame_id)
                rows.append((f"{folder}/camera_info", stamp + late, msg))
                continue
            image = bagio.decode_image(msg)
            last = zero_last and frame == len(frames) - 1
            header_ns = 0 if last else stamp
            rows.append(("/" + names.format(camera=camera), stamp + late,
                         bagio.image_message(image[..., ::-1].copy(), header_ns,
                                             msg.header.frame_id, encoding="rgb8")))
            if depth:
                depth_info = copy.deepcopy(infos[camera])     # another lens: K halved
                depth_info.k = depth_info.k * 0.5
                depth_info.header = bagio.header(stamp, f"{camera}_depth_optical_frame")
                rows.append((f"/{camera}/depth/camera_info", stamp + late - 1, depth_info))
                height, width = image.shape[:2]
                depth_image = np.full((height, width), 1500, np.uint16)   # millimetres
                rows.append((f"/{camera}/depth/image_rect_raw", stamp + late + 1,
                             bagio.msg_class("sensor_msgs/msg/Image")(
                                 header=bagio.header(stamp, msg.header.frame_id),
                                 height=height, width=width, encoding="16UC1", is_bigendian=0,
                                 step=2 * width,
                                 data=np.frombuffer(depth_image.tobytes(), np.uint8))))
            if compressed_too and camera == "cam01":
                rows.append((f"/{camera}/image_raw/compressed", stamp + late + 2,
                             bagio.compressed_image_message(image, stamp,
                                                            msg.header.frame_id)))
        for topic, log_ns, msg in sorted(rows, key=lambda row: row[1]):
            bag.write(topic, log_ns, msg)
    return target


def test_images_of_one_instant_form_one_set_whatever_the_order_they_were_logged(tmp_path):
    source = _demo_bag(tmp_path)
    bag = _as_recorded(source, tmp_path / "recorded", zero_last=True, depth=True,
                       compressed_too=True)
    index = index_frame_sets(bag)
    # one topic per camera: the raw image, not the depth image or the JPEG copy
    assert index.topics == {"/cam01/image_raw": bagio.IMAGE, "/cam03/image_raw": bagio.IMAGE}
    assert index.left_out == {"zero_stamp": 2}                  # the last frame's two images
    expected = [T0 + k * PERIOD_NS + 1_500_000 for k in range(3)]   # the mean of each set
    assert index.stamps.tolist() == pytest.approx(expected, abs=1)
    # the cameras' own CameraInfo, not the depth camera's beside it
    assert {n: c.K.tolist() for n, c in bag_cameras(bag)[0].items()} == {
        n: c.K.tolist() for n, c in bag_cameras(source)[0].items()}
    sets = list(frame_sets(bag))
    assert [stamp for stamp, _ in sets] == index.stamps.tolist()
    assert all(sorted(images) == ["cam01", "cam03"] for _, images in sets)
    # the same pixels as the package's own bag, frame for frame (rgb8 decoded to BGR)
    for (_, mine), (_, theirs) in zip(sets, frame_sets(source), strict=False):
        assert np.array_equal(mine["cam01"], theirs["cam01"])
    # a bag whose images are all stamped 0 is refused in one line
    stamped_zero = tmp_path / "zero"
    with bagio.BagWriter(stamped_zero, storage="mcap") as out:
        out.write("/cam01/image_raw", T0, bagio.image_message(
            np.zeros((8, 8, 3), np.uint8), 0, "cam01_optical_frame"))
    with pytest.raises(ValueError, match="all 1 are stamped 0"):
        index_frame_sets(stamped_zero)


def test_train_lifter_reads_a_driver_recording_as_the_tools_do(tmp_path):
    """train_lifter --bag takes the tools' cameras (cam01, cam03: the node's names, not
    'cam01/color'; the raw images, not the depth or JPEG copies) and their frame sets, set
    stamps and pixels (found by a code review: it named a camera after its whole namespace,
    read only */image_raw topics and put the images stamped 0 at their log time, one more
    frame)."""
    from pose3d_ros.core.bag_tracks import FRAME_SET_SLOP_NS
    from pose3d_ros.core.lifting.bag_dataset import read_bag_recording

    source = _demo_bag(tmp_path)
    bag = _as_recorded(source, tmp_path / "recorded", names="{camera}/color/image_raw",
                       zero_last=True, depth=True, compressed_too=True)
    index = index_frame_sets(bag)
    rec = read_bag_recording(bag, slop_s=FRAME_SET_SLOP_NS / 1e9, progress=False)
    assert [c.name for c in rec.cameras] == ["cam01", "cam03"]
    np.testing.assert_array_equal(rec.stamps_ns, index.stamps)     # 3: the 4th is stamped 0
    assert rec.num_frames == 3
    package = read_bag_recording(source, progress=False)
    for mine, theirs in zip(rec.views, package.views, strict=True):
        np.testing.assert_array_equal(mine.keypoints, theirs.keypoints[:3])


def test_camera_poses_only_on_tf_are_refused_saying_where_they_are(tmp_path):
    """A rig's poses on /tf (a driver's TransformBroadcaster) instead of /tf_static: refused
    in one line that says the tools read /tf_static only (it said only 'no camera with both
    CameraInfo and /tf_static' before)."""
    source = _demo_bag(tmp_path, frames=1)
    moved = tmp_path / "on_tf"
    with bagio.BagWriter(moved, storage="mcap") as bag:
        for topic, log_ns, msg in bagio.read_bag(source):
            bag.write("/tf" if topic == "/tf_static" else topic, log_ns, msg)
    with pytest.raises(ValueError, match="the bag has /tf: the tools read camera poses from "
                                         "/tf_static only"):
        bag_cameras(moved)


def test_evaluate_and_run_take_a_driver_recording(tmp_path, capsys):
    source = _demo_bag(tmp_path)
    bag = _as_recorded(source, tmp_path / "recorded", names="{camera}/color/image_raw",
                       depth=True)
    assert run_cli(evaluate.main, ["--bag", str(bag), "--out-dir", str(tmp_path / "ev")]) == 0
    scored = json.loads((tmp_path / "ev" / "evaluation.json").read_text())["summary"]
    assert scored["input frames"] == 4
    out = tmp_path / "run"
    assert run_cli(run.main, ["--bag", str(bag), "--out-dir", str(out), "--timeout",
                              "20"]) == 0, capsys.readouterr().err
    summary = json.loads((out / "evaluation.json").read_text())["summary"]
    assert summary["input frames"] == 4 and summary["frames without output"] == 0
    assert summary["paired frames"] == 4 and summary["MPJPE [m]"] < 0.05


def test_one_unposed_camera_beside_its_depth_camera_info_is_the_lone_camera(tmp_path):
    """A RealSense-style single camera (color and depth CameraInfo, no pose): the color
    camera is the bag's lone camera (the depth CameraInfo made two and the bag was refused)."""
    source = _demo_bag(tmp_path, frames=1)
    single = tmp_path / "single"
    with bagio.BagWriter(single, storage="mcap") as bag:
        for topic, log_ns, msg in bagio.read_bag(source):
            if topic.startswith("/cam01/"):
                bag.write(topic, log_ns, msg)
                if topic.endswith("camera_info"):
                    depth = copy.deepcopy(msg)
                    depth.k = depth.k * 0.5
                    bag.write("/cam01/depth/camera_info", log_ns - 1, depth)
    cameras, frame = bag_cameras(single)
    assert list(cameras) == ["cam01"] and frame == cameras["cam01"].frame_id
    assert cameras["cam01"].K.tolist() == bag_cameras(source)[0]["cam01"].K.tolist()


def test_evaluate_tells_a_model_file_onnxruntime_cannot_load_in_one_line(tmp_path, capsys):
    """Found by an audit: a --detector-model of random bytes ended evaluate in onnxruntime's
    InvalidProtobuf traceback (its exceptions are no ValueError); now one line naming the
    file, exit 2, nothing written. --monocular-method detector_3d with a back-end that gives
    no metric 3D is told before any work."""
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(np.random.default_rng(0).bytes(4096))
    bag = _demo_bag(tmp_path, frames=1)
    out = tmp_path / "ev"
    base = ["--bag", str(bag), "--out-dir", str(out), "--detector", "yolo_pose",
            "--detector-model", str(junk)]
    assert run_cli(evaluate.main, base) == 2
    # besides the progress bar, drawn and cleared with carriage returns on the same line
    err = [line for line in capsys.readouterr().err.splitlines()
           if line.strip() and not line.startswith("pipeline:")]
    assert len(err) == 1 and f"{junk} is not an ONNX model onnxruntime can load" in err[0], err
    assert not out.exists()
    assert run_cli(evaluate.main, base + ["--monocular-method", "detector_3d"]) == 2
    assert "'yolo_pose' does not give" in capsys.readouterr().err
