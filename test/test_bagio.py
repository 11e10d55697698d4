"""rosbag2 round trips with rosbags: what is written is what is read, stamps and frames included."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import yaml
from scipy.spatial.transform import Rotation

from pose3d_ros.core import bagio
from pose3d_ros.core.bag_cameras import read_bag_cameras
from pose3d_ros.core.bag_tracks import index_frame_sets
from pose3d_ros.core.camera import CameraModel
from pose3d_ros.core.layouts import COCO17
from pose3d_ros.core.types import METHOD_TRIANGULATION, Skeletons3D
from pose3d_ros.tools.fetch_demo import video_paths

T0 = 1_700_000_000_123_456_789


def _demo_frame() -> np.ndarray:
    capture = cv2.VideoCapture(str(video_paths("single")[0]))
    ok, frame = capture.read()
    capture.release()
    assert ok
    return cv2.resize(frame, (frame.shape[1] // 4, frame.shape[0] // 4))


def _skeletons(seed: int) -> Skeletons3D:
    rng = np.random.default_rng(seed)
    positions = rng.normal(size=(2, 17, 3))
    positions[1, 4] = np.nan
    confidence = rng.uniform(size=(2, 17)).astype(np.float32)
    confidence[1, 4] = 0.0
    return Skeletons3D(positions=positions, confidence=confidence,
                       reprojection_error=rng.uniform(0, 5, size=(2, 17)).astype(np.float32),
                       num_views=rng.integers(0, 5, size=(2, 17)).astype(np.uint8),
                       layout=COCO17, frame_id="rig", method=METHOD_TRIANGULATION,
                       ids=np.array([3, 7]))


@pytest.mark.parametrize("storage, compression", [
    ("sqlite3", "none"), ("mcap", "none"),
    # as `ros2 bag record` compresses (zstd): MCAP's chunks (its default on Jazzy), rosbag2's
    # per message and per file; untried before (a session's notes), read as the others
    ("mcap", "chunks"), ("sqlite3", "messages"), ("sqlite3", "file"), ("mcap", "file")])
def test_round_trip_of_every_written_type(tmp_path, storage, compression):
    frame = _demo_frame()
    K = np.array([[1500.0, 0, 539.5], [0, 1500, 959.5], [0, 0, 1]])
    D = np.array([0.1, -0.05, 0.001, 0.002, 0.0])
    tf = bagio.StaticTransform("rig", "cam01_optical_frame", np.array([1.0, 2.0, 3.0]),
                               np.array([0.0, 0.0, np.sin(0.25), np.cos(0.25)]))
    stamps = [T0 + i * 16_666_667 for i in range(3)]
    path = tmp_path / "bag"
    with bagio.BagWriter(path, storage=storage, compression=compression) as bag:
        bag.write("/tf_static", T0, bagio.tf_message([tf], T0))
        for i, stamp in enumerate(stamps):
            bag.write("/cam01/image_raw", stamp,
                      bagio.image_message(frame, stamp, "cam01_optical_frame"))
            bag.write("/cam01/image_raw/compressed", stamp,
                      bagio.compressed_image_message(frame, stamp, "cam01_optical_frame"))
            bag.write("/cam01/camera_info", stamp, bagio.camera_info_message(
                stamp, "cam01_optical_frame", frame.shape[1], frame.shape[0], K, D))
            bag.write("/skeletons", stamp,
                      bagio.skeleton3d_array_message(_skeletons(i), stamp, ["cam01"]))
    suffix = {"sqlite3": ".db3", "mcap": ".mcap"}[storage] + (
        ".zstd" if compression == "file" else "")
    assert list(path.glob(f"*{suffix}")), "storage file of the requested kind"
    metadata = path / "metadata.yaml"
    compressed = yaml.safe_load(metadata.read_text())[
        "rosbag2_bagfile_information"]["compression_mode"]
    assert compressed.lower() == {"none": "", "chunks": "", "messages": "message",
                                  "file": "file"}[compression]
    if compressed:                           # rosbag2 itself writes it in capitals
        metadata.write_text(metadata.read_text().replace(
            f"compression_mode: {compressed}", f"compression_mode: {compressed.upper()}"))
    if compression == "chunks":                   # the chunk records name their codec
        assert b"zstd" in next(path.glob("*.mcap")).read_bytes()
    # the tools' readers: the frame sets by header stamp (CDR read without decoding) and
    # the cameras from CameraInfo and /tf_static
    assert len(index_frame_sets(path).stamps) == 3
    assert list(read_bag_cameras(path)[0]) == ["cam01"]
    assert bagio.bag_topics(path) == {
        "/tf_static": bagio.TF_MESSAGE, "/cam01/image_raw": bagio.IMAGE,
        "/cam01/image_raw/compressed": bagio.COMPRESSED_IMAGE,
        "/cam01/camera_info": bagio.CAMERA_INFO, "/skeletons": bagio.SKELETON3D_ARRAY}

    got = list(bagio.read_bag(path))
    assert len(got) == 1 + 4 * 3
    by_topic: dict[str, list] = {}
    for topic, stamp, msg in got:
        by_topic.setdefault(topic, []).append((stamp, msg))

    (stamp, tf_msg), = by_topic["/tf_static"]
    assert stamp == T0
    (item,) = tf_msg.transforms
    assert bagio.stamp_to_ns(item.header.stamp) == T0
    assert (item.header.frame_id, item.child_frame_id) == ("rig", "cam01_optical_frame")
    t, q = item.transform.translation, item.transform.rotation
    np.testing.assert_allclose([t.x, t.y, t.z, q.x, q.y, q.z, q.w],
                               [1, 2, 3, 0, 0, np.sin(0.25), np.cos(0.25)])

    for topic in ("/cam01/image_raw", "/cam01/image_raw/compressed", "/cam01/camera_info",
                  "/skeletons"):
        assert [s for s, _ in by_topic[topic]] == stamps, topic
        for stamp, msg in by_topic[topic]:
            assert bagio.stamp_to_ns(msg.header.stamp) == stamp
    for _, msg in by_topic["/cam01/image_raw"]:
        assert msg.header.frame_id == "cam01_optical_frame" and msg.encoding == "bgr8"
        np.testing.assert_array_equal(bagio.decode_image(msg), frame)
    for _, msg in by_topic["/cam01/image_raw/compressed"]:
        decoded = bagio.decode_image(msg)
        assert decoded.shape == frame.shape and msg.format == "jpeg"
        assert np.abs(decoded.astype(int) - frame).mean() < 3.0  # JPEG at quality 90
    for _, msg in by_topic["/cam01/camera_info"]:
        np.testing.assert_array_equal(msg.k.reshape(3, 3), K)
        np.testing.assert_array_equal(msg.d, D)
        np.testing.assert_array_equal(msg.p.reshape(3, 4)[:, :3], K)
        assert (msg.width, msg.height, msg.distortion_model) == (
            frame.shape[1], frame.shape[0], "plumb_bob")
    for i, (_, msg) in enumerate(by_topic["/skeletons"]):
        want = _skeletons(i)
        back = bagio.skeletons_from_message(msg)
        assert msg.cameras == ["cam01"] and back.frame_id == "rig"
        assert back.layout == COCO17 and back.method == METHOD_TRIANGULATION
        np.testing.assert_array_equal(back.ids, want.ids)
        np.testing.assert_array_equal(back.positions, want.positions)  # NaN kept
        np.testing.assert_array_equal(back.confidence, want.confidence)
        np.testing.assert_array_equal(back.reprojection_error, want.reprojection_error)
        np.testing.assert_array_equal(back.num_views, want.num_views)
        assert list(msg.skeletons[0].layout.joint_names) == list(COCO17.joint_names)


def test_our_message_types_carry_the_generated_type_hash():
    """rosbags' hash of our registered .msg must equal the one colcon generated, or rviz2 /
    ros2 bag would treat the bag's topics as a different type."""
    from ament_index_python.packages import get_package_share_directory

    share = get_package_share_directory("pose3d_ros")
    for name in ("Skeleton3DArray", "Skeleton2DArray"):
        description = json.loads(open(f"{share}/msg/{name}.json").read())
        hashes = {h["type_name"]: h["hash_string"] for h in description["type_hashes"]}
        msgtype = f"pose3d_ros/msg/{name}"
        assert bagio.typestore().hash_rihs01(msgtype) == hashes[msgtype]


def test_bad_input_is_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="storage"):
        bagio.BagWriter(tmp_path / "x", storage="rosbag1")
    (tmp_path / "exists").mkdir()
    with pytest.raises(FileExistsError):
        bagio.BagWriter(tmp_path / "exists")
    with pytest.raises(ValueError, match="bgr8 needs uint8"):
        bagio.image_message(np.zeros((4, 4), np.uint8), 0, "f")
    with pytest.raises(FileNotFoundError):
        list(bagio.read_bag(tmp_path / "nope"))
    path = tmp_path / "bag"
    with bagio.BagWriter(path) as bag:
        bag.write("/a", 5, bagio.camera_info_message(5, "f", 4, 4, np.eye(3), np.zeros(5)))
    with pytest.raises(ValueError, match="no topic"):
        list(bagio.read_bag(path, topics=["/b"]))


def _demo_cameras() -> list:
    """Cameras for the demo videos (intrinsics/extrinsics made up here: the calibration file
    loaders belong to pose3d_ros.core.calibration)."""
    cams = []
    for k in range(4):
        rotation = Rotation.from_rotvec([0.1 * k, 0.5 + k, -0.2]).as_matrix()
        cams.append(CameraModel(f"cam0{k + 1}", f"cam0{k + 1}_optical_frame", 1080, 1920,
                                np.array([[1600.0, 0, 539.5], [0, 1600, 959.5], [0, 0, 1]]),
                                np.array([-0.05, 0.1, 0.001, 0.0007, 0.0]), "plumb_bob",
                                rotation, np.array([0.1, -0.2, 3.0 + k])))
    return cams


@pytest.mark.parametrize("compressed", [True, False])
def test_make_bag_from_the_demo_videos(tmp_path, compressed):
    from pose3d_ros.tools.make_bag import write_bag

    cameras = _demo_cameras()
    videos = video_paths("single")
    out = tmp_path / "demo_bag"
    summary = write_bag(out, videos, cameras, fps=60.0, start_ns=T0, compressed=compressed,
                        storage="mcap", scale=0.25, max_frames=3)
    assert summary.frames == 3 and summary.messages == 1 + 3 * 4 * 2
    image_topic = "image_raw/compressed" if compressed else "image_raw"
    want_stamps = [T0, T0 + 16_666_667, T0 + 33_333_333]
    seen: dict[str, list[int]] = {}
    for topic, stamp, msg in bagio.read_bag(out):
        seen.setdefault(topic, []).append(stamp)
        if topic == "/tf_static":
            assert stamp == T0
            assert [t.child_frame_id for t in msg.transforms] == [c.frame_id for c in cameras]
            for cam, item in zip(cameras, msg.transforms, strict=True):
                assert item.header.frame_id == "rig"
                q = item.transform.rotation
                t = item.transform.translation
                cam_in_rig = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
                # The optical frame's origin and axes map a rig point into camera coordinates
                # exactly as the calibration's x_cam = R x + t does.
                point = np.array([0.3, -1.0, 2.0])
                in_cam = cam_in_rig.T @ (point - [t.x, t.y, t.z])
                np.testing.assert_allclose(in_cam, cam.R @ point + cam.t,
                                           atol=1e-9)
            continue
        name = topic.split("/")[1]
        assert msg.header.frame_id == f"{name}_optical_frame"
        assert bagio.stamp_to_ns(msg.header.stamp) == stamp
        if topic.endswith("camera_info"):
            assert (msg.width, msg.height) == (270, 480)
            # pixel centres: (c + 0.5) * s - 0.5 -> (539.5 + 0.5) / 4 - 0.5 = 134.5
            np.testing.assert_allclose(msg.k.reshape(3, 3)[:2],
                                       [[400.0, 0, 134.5], [0, 400, 239.5]])
        else:
            assert bagio.decode_image(msg).shape == (480, 270, 3)
    for cam in cameras:
        assert seen[f"/{cam.name}/{image_topic}"] == want_stamps
        assert seen[f"/{cam.name}/camera_info"] == want_stamps


def test_make_bag_refuses_a_calibration_that_does_not_fit_the_video(tmp_path):
    from pose3d_ros.tools.make_bag import write_bag

    cameras = _demo_cameras()
    cameras[1].width = 1000
    with pytest.raises(ValueError, match="cam02: video frames are 1080x1920"):
        write_bag(tmp_path / "b", video_paths("single"), cameras, fps=60, start_ns=10**9,
                  max_frames=1)
    with pytest.raises(ValueError, match="4 videos but 3"):
        write_bag(tmp_path / "c", video_paths("single"), cameras[:3], fps=60, start_ns=10**9)
    with pytest.raises(ValueError, match="start_ns must be > 0"):      # its first set unread
        write_bag(tmp_path / "d", video_paths("single"), _demo_cameras(), fps=60, start_ns=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == []          # nothing half-written


def test_decoded_images_are_bgr_whatever_the_encoding():
    """Offline decoding is the nodes' (core.image_decode): 4-channel RGBA used to come back
    unswapped, which swaps red and blue for BlazePose."""
    bgr = _demo_frame()[:64, :48]
    rgba = np.dstack([bgr[..., ::-1], np.full(bgr.shape[:2], 255, np.uint8)])
    for image, encoding in ((bgr, "bgr8"), (bgr[..., ::-1], "rgb8"), (rgba, "rgba8"),
                            (rgba[..., [2, 1, 0, 3]], "bgra8")):
        msg = bagio.image_message(np.ascontiguousarray(image), T0, "f", encoding)
        np.testing.assert_array_equal(bagio.decode_image(msg), bgr, err_msg=encoding)
    mono = bagio.decode_image(bagio.image_message(np.ascontiguousarray(bgr[..., 1]), T0, "f",
                                                  "mono8"))
    assert mono.shape == bgr.shape and (mono == bgr[..., 1:2]).all()


def test_bag_cameras_are_the_cameras_the_bag_was_written_with(tmp_path):
    """make_bag writes CameraInfo and /tf_static from CameraModels; core.bag_cameras reads the
    same models back (intrinsics of the resized images, extrinsics through the TF tree)."""
    from pose3d_ros.core.bag_cameras import read_bag_cameras
    from pose3d_ros.tools.make_bag import write_bag

    cameras = _demo_cameras()
    write_bag(tmp_path / "b", video_paths("single"), cameras, fps=60.0, start_ns=T0,
              scale=0.25, max_frames=1, storage="mcap")
    back, fixed = read_bag_cameras(tmp_path / "b")
    assert fixed == "rig" and list(back) == [c.name for c in cameras]
    for cam in cameras:
        want, got = cam.scaled(0.25), back[cam.name]
        assert (got.frame_id, got.width, got.height) == (want.frame_id, 270, 480)
        np.testing.assert_allclose(got.K, want.K)
        np.testing.assert_allclose(got.dist, want.dist)
        np.testing.assert_allclose(got.R, cam.R, atol=1e-12)
        np.testing.assert_allclose(got.t, cam.t, atol=1e-12)
        points = np.array([[0.3, -1.0, 2.0], [0.0, 0.5, 1.0]])
        np.testing.assert_allclose(got.project(points), want.project(points), atol=1e-9)


def test_cameras_posed_on_tf_are_refused_with_the_tf_hint(tmp_path):
    """A review: a bag whose cameras hang on /tf_static under links posed on /tf only was
    refused as 'different roots' without saying that the tools read /tf_static only."""
    from pose3d_ros.core.bag_cameras import read_bag_cameras

    cameras = _demo_cameras()[:2]
    identity = np.array([0.0, 0.0, 0.0, 1.0])
    path = tmp_path / "bag"
    with bagio.BagWriter(path) as bag:
        bag.write("/tf_static", T0, bagio.tf_message([
            bagio.StaticTransform(f"{c.name}_link", c.frame_id, np.zeros(3), identity)
            for c in cameras], T0))
        bag.write("/tf", T0, bagio.tf_message([
            bagio.StaticTransform("world", f"{c.name}_link", np.ones(3), identity)
            for c in cameras], T0))
        for c in cameras:
            bag.write(f"/{c.name}/camera_info", T0, bagio.camera_info_message(
                T0, c.frame_id, c.width, c.height, c.K, c.dist))
    with pytest.raises(ValueError, match="different roots.*the bag has /tf: the tools read "
                       "camera poses from /tf_static only"):
        read_bag_cameras(path)


def _info_bag(folder, stamps, storage="sqlite3", compression="none"):
    """A bag of /cam01/camera_info messages at `stamps` (ns)."""
    with bagio.BagWriter(folder, storage, compression) as bag:
        for stamp in stamps:
            bag.write("/cam01/camera_info", stamp, bagio.camera_info_message(
                stamp, "cam01_optical_frame", 640, 480, np.diag([500.0, 500.0, 1.0]),
                np.zeros(5)))
    return folder


def _stamps(path):
    return [m.stamp_ns for m in bagio.read_messages(path)]


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_a_bag_named_by_one_of_its_files_is_the_whole_bag(tmp_path, storage):
    """(a review: one file of a split recording was scored as the whole bag without a word, a
    compressed bag named by its file was called corrupt)"""
    suffix = ".db3" if storage == "sqlite3" else ".mcap"
    # split: rosbag2 writes every topic into each file; metadata.yaml lists the files
    split = _info_bag(tmp_path / "split", [10**9, 2 * 10**9], storage)
    second = _info_bag(tmp_path / "second", [3 * 10**9, 4 * 10**9], storage)
    (second / f"second{suffix}").rename(split / f"split_1{suffix}")
    metadata = yaml.safe_load((split / "metadata.yaml").read_text())
    info = metadata["rosbag2_bagfile_information"]
    info["relative_file_paths"] = [f"split{suffix}", f"split_1{suffix}"]
    info["files"] = [dict(info["files"][0]), dict(info["files"][0], path=f"split_1{suffix}")]
    info["message_count"] = 4
    info["topics_with_message_count"][0]["message_count"] = 4
    (split / "metadata.yaml").write_text(yaml.safe_dump(metadata, sort_keys=False))
    whole = [10**9, 2 * 10**9, 3 * 10**9, 4 * 10**9]
    assert _stamps(split) == whole
    for name in (f"split{suffix}", f"split_1{suffix}"):
        assert bagio.bag_location(split / name) == split and _stamps(split / name) == whole
    # compressed per message and per file, named by their files
    for mode in ("messages", "file"):
        bag = _info_bag(tmp_path / mode, [10**9, 2 * 10**9], storage, mode)
        (stored,) = [p for p in bag.iterdir() if p.name != "metadata.yaml"]
        assert _stamps(stored) == _stamps(bag) == [10**9, 2 * 10**9], mode
    # a lone file (no metadata.yaml beside it) is read as itself
    lone = tmp_path / f"lone{suffix}"
    (_info_bag(tmp_path / "single", [5 * 10**9], storage) / f"single{suffix}").rename(lone)
    assert bagio.bag_location(lone) == lone and _stamps(lone) == [5 * 10**9]


def test_a_bag_folder_without_metadata_is_read_or_refused_saying_what_to_do(tmp_path):
    """(`ros2 bag record` killed before it wrote metadata.yaml: one storage file is readable
    as it is; several, or compressed ones, need `ros2 bag reindex`)"""
    cut = _info_bag(tmp_path / "cut", [10**9, 2 * 10**9])
    (cut / "metadata.yaml").unlink()
    assert bagio.bag_location(cut) == cut / "cut.db3" and _stamps(cut) == [10**9, 2 * 10**9]
    _info_bag(tmp_path / "more", [3 * 10**9])
    (tmp_path / "more" / "more.db3").rename(cut / "cut_1.db3")
    with pytest.raises(bagio.CorruptBagError, match=r"2 storage files .* `ros2 bag reindex "):
        bagio.bag_topics(cut)
    packed = _info_bag(tmp_path / "packed", [10**9], compression="file")
    (packed / "metadata.yaml").unlink()
    with pytest.raises(bagio.CorruptBagError, match="ros2 bag reindex"):
        bagio.bag_topics(packed)
    (zstd,) = list(packed.iterdir())
    zstd.rename(tmp_path / zstd.name)
    with pytest.raises(bagio.CorruptBagError, match="is compressed .* give the bag's folder"):
        bagio.bag_topics(tmp_path / zstd.name)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(bagio.CorruptBagError, match="no metadata.yaml: not a rosbag2 folder"):
        bagio.bag_topics(empty)


def test_a_file_compressed_bag_that_cannot_be_unpacked_names_the_bag_and_the_folder(
        tmp_path, monkeypatch):
    """(a review: "[Errno 28] No space left on device" alone, with TMPDIR on a full disk)"""
    import tempfile

    bag = _info_bag(tmp_path / "packed", [10**9], compression="file")
    blocked = tmp_path / "not_a_folder"          # where no temporary folder can be made
    blocked.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(blocked))
    with pytest.raises(OSError, match=r"bag .*packed: unpacking its zstd-compressed files "
                       r"into .*not_a_folder failed .* set TMPDIR"):
        bagio.bag_topics(bag)


def test_a_file_compressed_bag_is_unpacked_once_and_a_damaged_one_is_corrupt(tmp_path,
                                                                             monkeypatch):
    """(a review: every opening unpacked the whole bag again, 22 in one `evaluate` run)"""
    import tempfile

    made = []
    real_mkdtemp = tempfile.mkdtemp
    (tmp_path / "temp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))   # this test's own
    monkeypatch.setattr(tempfile, "mkdtemp",
                        lambda *a, **kw: made.append(1) or real_mkdtemp(*a, **kw))
    bag = _info_bag(tmp_path / "packed", [10**9, 2 * 10**9], compression="file")
    for _ in range(3):
        assert _stamps(bag) == [10**9, 2 * 10**9] and bagio.bag_topics(bag)
    assert len(made) == 1
    (packed,) = [p for p in bag.iterdir() if p.suffix == ".zstd"]
    data = bytearray(packed.read_bytes())
    data[len(data) // 2:] = bytes(len(data) - len(data) // 2)      # its second half zeroed
    packed.write_bytes(bytes(data))
    with pytest.raises(bagio.CorruptBagError, match="corrupt or truncated"):
        _stamps(bag)                                   # a changed bag is unpacked again
    assert len(made) == 2
    packed.write_bytes(bytes(data[:len(data) * 3 // 4]))      # cut short: EOFError inside
    with pytest.raises(bagio.CorruptBagError, match="corrupt or truncated"):
        _stamps(bag)
    assert len(made) == 3                              # and its partial copy removed:
    assert [p for p in (tmp_path / "temp").iterdir()
            if p not in bagio._UNPACKED.values()] == []
    # a listed file missing: the reader names it, as for an uncompressed bag
    packed.unlink()
    with pytest.raises(bagio.CorruptBagError, match="missing"):
        _stamps(bag)
