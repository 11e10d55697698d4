"""Bad frames in a bag read by the offline tools (core.bag_tracks, tools.evaluate): a corrupt
JPEG, a truncated raw image, an encoding the nodes refuse, an image of another size than its
CameraInfo. Each is skipped as the node skips it (its set goes on with the other cameras, a set
left with no image is dropped), counted, logged once per topic and reason with the topic and
the stamp, and listed in the report's notes. Real bags (make_bag's writer, JPEG data)."""
from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pose3d_ros.core import bag_tracks, bagio
from pose3d_ros.tools import evaluate, fetch_demo, make_bag

T0 = 1_700_000_000_000_000_000
FPS = 60.0
FRAMES = 6
CAMERAS = ("cam01", "cam02", "cam03", "cam04")
CORRUPT_JPEG = np.frombuffer(b"\xff\xd8garbage" * 50, np.uint8)   # a JPEG start, then junk


def _stamp(frame: int) -> int:
    """Header stamp (ns) of frame set `frame` of the demo bags (write_bag's)."""
    return T0 + int(round(frame * 1e9 / FPS))


def _demo_bag(out: Path, compressed: bool) -> Path:
    """FRAMES frame sets of the demo's 4 cameras at 1/4 scale (about 270x480), JPEG or
    bgr8."""
    cameras, rig_frame = make_bag.cameras_from_calibration(fetch_demo.calibration_path("single"))
    make_bag.write_bag(out, fetch_demo.video_paths("single"), cameras, fps=FPS, start_ns=T0,
                       compressed=compressed, fixed_frame=rig_frame, scale=0.25,
                       max_frames=FRAMES, crop_to_video=True)
    return out


def _copy(src: Path, out: Path, change: Callable[[str, int, Any], Any]) -> Path:
    """src rewritten message by message: change(topic, header stamp ns or 0, message) gives
    the message to write instead."""
    with bagio.BagWriter(out) as writer:
        for item in bagio.read_messages(src):
            header = getattr(item.message, "header", None)
            stamp = bagio.stamp_to_ns(header.stamp) if header is not None else 0
            writer.write(item.topic, item.stamp_ns, change(item.topic, stamp, item.message))
    return out


@pytest.fixture(scope="module")
def jpeg_bag(tmp_path_factory) -> Path:
    return _demo_bag(tmp_path_factory.mktemp("jpeg") / "bag", compressed=True)


@pytest.fixture(scope="module")
def corrupt_bag(jpeg_bag, tmp_path_factory) -> Path:
    """cam01's JPEG of set 1 corrupt, and every camera's JPEG of set 3."""
    def change(topic: str, stamp: int, msg: Any) -> Any:
        bad = stamp == _stamp(3) or (stamp == _stamp(1) and topic.startswith("/cam01/"))
        return replace(msg, data=CORRUPT_JPEG) if bad and topic.endswith("/compressed") else msg
    return _copy(jpeg_bag, tmp_path_factory.mktemp("corrupt") / "bag", change)


@pytest.fixture(scope="module")
def resized_bag(jpeg_bag, tmp_path_factory) -> Path:
    """cam02's CameraInfo for twice its images' resolution (no binning: another camera
    mode's calibration), so its intrinsics do not fit the images."""
    def change(topic: str, stamp: int, msg: Any) -> Any:
        if topic != "/cam02/camera_info":
            return msg
        k, p = np.asarray(msg.k).copy(), np.asarray(msg.p).copy()
        k[[0, 2, 4, 5]] *= 2
        p[[0, 2, 5, 6]] *= 2
        return replace(msg, width=msg.width * 2, height=msg.height * 2, k=k, p=p)
    return _copy(jpeg_bag, tmp_path_factory.mktemp("resized") / "bag", change)


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and "skipped image" in r.getMessage()]


def test_a_corrupt_jpeg_skips_that_camera_of_its_set_and_is_told_once(corrupt_bag, caplog):
    """Set 1 goes on with 3 cameras; set 3, whose every image is corrupt, is dropped; one
    warning per topic naming the stamp, even when the bag is read twice (pipeline, then
    reference), and the count is of images, not of reads."""
    caplog.set_level(logging.WARNING)
    models, _ = bag_tracks.bag_cameras(corrupt_bag)
    for _ in range(2):
        sets = list(bag_tracks.frame_sets(corrupt_bag, models=models))
    stamps = [stamp for stamp, _ in sets]
    np.testing.assert_array_equal(
        stamps, [s for k, s in enumerate(bag_tracks.frame_set_stamps(corrupt_bag)) if k != 3])
    assert [sorted(images) for _, images in sets] == [
        list(CAMERAS), ["cam02", "cam03", "cam04"], *[list(CAMERAS)] * 3]
    assert all(image.shape == (models[c].height, models[c].width, 3)
               for _, images in sets for c, image in images.items())
    skipped = bag_tracks.skipped_images(corrupt_bag)
    assert skipped.counts() == {(f"/{c}/image_raw/compressed", "corrupt_compressed"):
                                (2 if c == "cam01" else 1) for c in CAMERAS}
    told = _warnings(caplog)
    assert len(told) == 4, told
    first = next(line for line in told if "/cam01/" in line)
    assert "/cam01/image_raw/compressed image stamped 1700000000.016666667 s" in first
    assert "[corrupt_compressed]" in first and "\n" not in first
    notes = skipped.notes()
    assert len(notes) == 4 and notes[0].startswith(
        "2 image(s) of /cam01/image_raw/compressed skipped [corrupt_compressed]")
    assert "stamped 1700000000.016666667 s" in notes[0]


def test_truncated_and_unsupported_raw_images_are_skipped_and_counted(tmp_path, caplog):
    """Raw images: cam02's of set 2 truncated, cam03's of set 4 in a depth encoding."""
    caplog.set_level(logging.WARNING)
    raw = _demo_bag(tmp_path / "raw", compressed=False)

    def change(topic: str, stamp: int, msg: Any) -> Any:
        if topic == "/cam02/image_raw" and stamp == _stamp(2):
            return replace(msg, data=np.asarray(msg.data)[: len(msg.data) // 2].copy())
        if topic == "/cam03/image_raw" and stamp == _stamp(4):
            return replace(msg, encoding="32FC1")
        return msg
    bag = _copy(raw, tmp_path / "bad", change)
    models, _ = bag_tracks.bag_cameras(bag)
    sets = dict(bag_tracks.frame_sets(bag, models=models))
    assert len(sets) == FRAMES
    assert [sorted(images) for images in sets.values()] == [
        list(CAMERAS), list(CAMERAS), ["cam01", "cam03", "cam04"], list(CAMERAS),
        ["cam01", "cam02", "cam04"], list(CAMERAS)]
    assert bag_tracks.skipped_images(bag).counts() == {
        ("/cam02/image_raw", "truncated"): 1, ("/cam03/image_raw", "unsupported_encoding"): 1}
    told = _warnings(caplog)
    assert len(told) == 2
    assert any("/cam02/image_raw image stamped 1700000000.033333333 s" in t for t in told)
    assert any("/cam03/image_raw image stamped 1700000000.066666667 s" in t for t in told)


def test_images_of_another_size_than_their_camera_info_are_skipped(resized_bag, caplog):
    """Every cam02 image is refused (image_decode.check_image_size, as the node refuses it),
    told once; the sets go on with the other 3 cameras."""
    caplog.set_level(logging.WARNING)
    models, _ = bag_tracks.bag_cameras(resized_bag)
    assert (models["cam02"].width, models["cam02"].height) == (540, 960)
    sets = list(bag_tracks.frame_sets(resized_bag, models=models))
    assert len(sets) == FRAMES
    assert all(sorted(images) == ["cam01", "cam03", "cam04"] for _, images in sets)
    assert bag_tracks.skipped_images(resized_bag).counts() == {
        ("/cam02/image_raw/compressed", "size_mismatch_calibration"): FRAMES}
    told = _warnings(caplog)
    assert len(told) == 1
    assert "/cam02/image_raw/compressed image stamped 1700000000.000000000 s" in told[0]
    assert "image is 270x480 but its calibration is for 540x960" in told[0]


def test_evaluate_goes_on_past_a_corrupt_frame_and_notes_it(corrupt_bag, tmp_path, caplog):
    """The tool ends with its outputs (before: it aborted on the first corrupt JPEG), the skipped
    images in evaluation.json's notes and a frame set whose every image was corrupt counted
    as a frame without output."""
    caplog.set_level(logging.INFO)
    bag = shutil.copytree(corrupt_bag, tmp_path / "bag")    # a bag no other test read
    out = tmp_path / "eval"
    # --max-frames 5: the sets read are 0, 1, 2, 4, 5 (3 dropped); the report's overlay
    # snapshot is set 2's, which has no bad image (core.overlay decodes on its own)
    assert evaluate.main(["--bag", str(bag), "--out-dir", str(out), "--max-frames", "5"]) == 0
    payload = json.loads((out / "evaluation.json").read_text())
    notes = [n for n in payload["notes"] if "skipped [corrupt_compressed]" in n]
    assert len(notes) == 4
    assert any(n.startswith("2 image(s) of /cam01/image_raw/compressed") and
               "stamped 1700000000.016666667 s" in n for n in notes)
    assert payload["summary"]["frames without output"] == 1       # set 3
    assert len(_warnings(caplog)) == 4


def test_evaluate_refuses_the_images_of_a_camera_whose_camera_info_is_another_size(
        resized_bag, tmp_path, caplog):
    """Intrinsics for another resolution are not used: the camera's images are skipped and
    noted, and its figures are not reported (before: measured with the wrong intrinsics)."""
    bag = shutil.copytree(resized_bag, tmp_path / "bag")    # a bag no other test read
    out = tmp_path / "eval"
    assert evaluate.main(["--bag", str(bag), "--out-dir", str(out), "--max-frames", "3"]) == 0
    payload = json.loads((out / "evaluation.json").read_text())
    notes = [n for n in payload["notes"] if "skipped [size_mismatch_calibration]" in n]
    assert len(notes) == 1 and notes[0].startswith("3 image(s) of /cam02/image_raw/compressed")
    assert "cam02" not in payload["per_camera"]
    assert set(payload["per_camera"]) == {"cam01", "cam03", "cam04"}
    assert len(_warnings(caplog)) == 1


def test_overlays_leave_out_an_image_that_cannot_be_used(corrupt_bag):
    """The overlay snapshots and video (core.overlay) read the bag's images on their own: a
    corrupt one in the overlay camera aborted `run` (its default camera) and `evaluate
    --overlay-video` after the 3D was done. It is left out, as frame_sets leaves it out."""
    from pose3d_ros.core.overlay import overlay_images

    stamps = bag_tracks.frame_set_stamps(corrupt_bag)
    people = [np.zeros((0, 17, 3))] * len(stamps)
    shown = [label for label, _ in overlay_images(
        corrupt_bag, stamps, np.arange(len(stamps)) / FPS, people, None,
        np.zeros((0, 2), np.intp), range(len(stamps)), camera_names=["cam01"])]
    assert shown == [f"cam01 t={k / FPS:.2f} s" for k in (0, 2, 4, 5)], shown
