"""One home for writing a file whole or not at all (core.output_files.write_atomically), and
the caches that wrote theirs by hand (defects found by a review: the detection cache used one
fixed temporary name, so two writers of a file collided, and left it behind when a write
failed; lifting.dataset.save_views wrote its cache in place, so an interrupted run left a
cut-short cache that the next run loaded)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from pose3d_ros.core.detection import cache
from pose3d_ros.core.layouts import BLAZEPOSE33
from pose3d_ros.core.lifting.dataset import ViewDetections, load_views, save_views


class _Hook:
    """An array that runs `during()` when a writer turns it into one (np.savez asks each value
    for its array while the file is open): a second writer, or a failure, in mid-write."""

    def __init__(self, array: np.ndarray, during) -> None:
        self.array, self.during = array, during

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        self.during()
        return self.array


def _detections(frames: int, value: float, world=None) -> cache.VideoDetections:
    kp = np.full((frames, 1, BLAZEPOSE33.num_joints, 2), value, np.float32)
    return cache.VideoDetections(kp, np.ones(kp.shape[:-1], np.float32),
                                 np.zeros((frames, 1, 4), np.float32),
                                 np.ones((frames, 1), np.float32), np.ones(frames, np.int64),
                                 (64, 48), BLAZEPOSE33, world)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------------ the helper
def test_write_atomically_writes_bytes_or_what_a_function_writes(tmp_path):
    from pose3d_ros.core.output_files import write_atomically

    target = tmp_path / "new" / "folder" / "data.bin"       # folders made as needed
    write_atomically(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    write_atomically(target, lambda file: np.save(file, np.arange(3)))
    assert np.load(target).tolist() == [0, 1, 2]
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask     # as an ordinary new file
    assert _leftovers(target.parent) == ["data.bin"]


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_write_atomically_leaves_the_old_file_and_no_temporary_on_a_failure(tmp_path, failure):
    from pose3d_ros.core.output_files import write_atomically

    target = tmp_path / "data.bin"
    target.write_bytes(b"old")

    def fails(file) -> None:
        file.write(b"half of the new")
        raise failure

    with pytest.raises(type(failure)):
        write_atomically(target, fails)
    assert target.read_bytes() == b"old" and _leftovers(tmp_path) == ["data.bin"]


def test_two_writers_of_one_path_each_write_their_own_temporary(tmp_path):
    from pose3d_ros.core.output_files import write_atomically

    target = tmp_path / "data.bin"

    def first(file) -> None:
        file.write(b"first, ")
        write_atomically(target, b"second")          # another writer, meanwhile
        assert target.read_bytes() == b"second"
        file.write(b"whole")

    write_atomically(target, first)
    assert target.read_bytes() == b"first, whole" and _leftovers(tmp_path) == ["data.bin"]


# ------------------------------------------------------------------- detection cache
def test_a_failed_detection_cache_write_leaves_no_partial_file(tmp_path):
    """It left `<name>.partial.npz` beside the cache."""
    target = tmp_path / "cam01_blazepose_multi_0123456789abcdef.npz"
    cache._save(target, _detections(2, 1.0))
    before = target.read_bytes()

    def disk_full() -> None:
        raise OSError(28, "No space left on device")

    broken = _detections(3, 2.0, world=_Hook(np.zeros((3, 1, 33, 3), np.float32), disk_full))
    with pytest.raises(OSError, match="No space left"):
        cache._save(target, broken)
    assert target.read_bytes() == before and _leftovers(tmp_path) == [target.name]


def test_two_writers_of_one_detection_cache_file_do_not_collide(tmp_path):
    """Both wrote `<name>.partial.npz`: the second one's move took the first one's file, and
    the first failed (FileNotFoundError) after writing into the moved file."""
    target = tmp_path / "cam01_blazepose_multi_0123456789abcdef.npz"
    other = _detections(2, 7.0)
    first = _detections(3, 5.0, world=_Hook(np.zeros((3, 1, 33, 3), np.float32),
                                            lambda: cache._save(target, other)))
    cache._save(target, first)
    loaded = cache._load(target)
    assert loaded.keypoints.shape[0] == 3 and np.all(loaded.keypoints == 5.0)
    assert _leftovers(tmp_path) == [target.name]


# ----------------------------------------------------------- lifting's detection cache
def _views(frames: int, value: float) -> list[ViewDetections]:
    kp = np.full((frames, 33, 2), value, np.float32)
    return [ViewDetections(kp, np.ones((frames, 33), np.float32),
                           np.zeros((frames, 33, 3), np.float32), (64, 48))]


def test_an_interrupted_save_views_leaves_no_cut_short_cache(tmp_path):
    """It wrote the cache in place: an interrupt left a cut-short file that the next run
    (detect_recording: the file exists) loaded, or failed on."""
    cache_file = tmp_path / "single_blazepose.npz"

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        save_views(cache_file, _views(4, 1.0),
                   stamps_ns=_Hook(np.arange(4, dtype=np.int64), interrupted))
    assert _leftovers(tmp_path) == []
    save_views(cache_file, _views(4, 1.0), stamps_ns=np.arange(4, dtype=np.int64))
    with pytest.raises(KeyboardInterrupt):                 # an earlier cache stays whole
        save_views(cache_file, _views(5, 2.0),
                   stamps_ns=_Hook(np.arange(5, dtype=np.int64), interrupted))
    with np.load(cache_file) as data:
        views = load_views(data)
        assert data["stamps_ns"].tolist() == [0, 1, 2, 3]
    assert len(views) == 1 and np.all(views[0].keypoints == 1.0)
    assert _leftovers(tmp_path) == [cache_file.name]


def test_save_views_names_its_file_as_np_savez_did(tmp_path):
    """np.savez appended '.npz' to a name without it; the cache keeps that name."""
    save_views(tmp_path / "cache", _views(2, 1.0))
    assert _leftovers(tmp_path) == ["cache.npz"]


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])
def test_a_staged_output_that_fails_removes_the_folders_it_made(tmp_path, failure):
    """A review (session 66): an interrupted make_bag, run, evaluate or demo said no output
    was written but left the new folders on the way to its output (np/x/ of np/x/bag).
    Folders that existed, or that hold something, stay."""
    from pose3d_ros.core.output_files import staged_output

    (tmp_path / "kept").mkdir()
    with pytest.raises(failure), staged_output(tmp_path / "kept" / "new" / "deeper" / "bag") \
            as temporary:
        temporary.mkdir()
        (temporary / "data.mcap").write_bytes(b"half")
        raise failure()
    assert [p.name for p in tmp_path.rglob("*")] == ["kept"]
    with staged_output(tmp_path / "made" / "bag") as temporary:    # a success keeps them
        temporary.write_text("whole")
    assert (tmp_path / "made" / "bag").read_text() == "whole"


def test_a_cache_that_cannot_be_written_is_one_warning_and_the_work_goes_on(tmp_path, caplog):
    """A review (session 66): a read-only 2D cache folder ended train_lifter, calibrate,
    demo_2d and eval_detection with a bare errno after their 2D pass, and the 2D was lost.
    A cache is a speed-up: not kept, one warning per folder, and the detections are
    returned (here a file stands where the cache folder would be)."""
    import cv2

    from pose3d_ros.core.lifting.dataset import detect_recording
    from pose3d_ros.core.output_files import cache_kept

    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder would be")
    video = tmp_path / "cam01.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    for _ in range(3):
        writer.write(np.full((48, 64, 3), 128, np.uint8))
    writer.release()
    with caplog.at_level("WARNING"):
        views = detect_recording([video], blocked / "lifter" / "single.npz", progress=False)
        assert not cache_kept(lambda: save_views(blocked / "x.npz", views), blocked / "x.npz")
    assert len(views) == 1 and views[0].keypoints.shape[0] == 3
    told = [r.getMessage() for r in caplog.records if "not kept" in r.getMessage()]
    assert len(told) == 2 and "the next run computes it again" in told[0], told
    assert cache_kept(lambda: save_views(tmp_path / "ok.npz", views), tmp_path / "ok.npz")


@pytest.mark.parametrize("kind, status", [("KeyboardInterrupt", 130), ("Terminated", 143)])
def test_an_interrupt_after_whole_files_names_them_instead_of_no_output(tmp_path, capsys,
                                                                        kind, status):
    """A review: fetch_demo and fetch_mocap write file by file, and an interrupt after some of
    them said "no output was written". kept_on_interrupt names the files the block wrote
    whole, not one that was there before nor the one the interrupt cut off, in run_cli's
    line; with none written the line stays as it was."""
    from pose3d_ros.core import output_files
    from pose3d_ros.core.output_files import kept_on_interrupt, run_cli, write_atomically

    interrupt = getattr(output_files, kind, KeyboardInterrupt)
    one, before, three, cut = (tmp_path / "a" / "one.bin", tmp_path / "b" / "two.bin",
                               tmp_path / "b" / "three.bin", tmp_path / "b" / "four.bin")
    write_atomically(before, b"there before")

    def cut_off(file) -> None:
        file.write(b"half")
        raise interrupt()

    def writes_two_then_is_interrupted(argv) -> int:
        with kept_on_interrupt([one, before, three, cut], "the same command writes the rest"):
            write_atomically(one, b"1")
            write_atomically(three, b"3")
            write_atomically(cut, cut_off)
        return 0

    assert run_cli(writes_two_then_is_interrupted, []) == status
    assert capsys.readouterr().err.strip().splitlines() == [
        f"interrupted; kept the 2 whole file(s) it wrote in {tmp_path}: a/one.bin, "
        "b/three.bin; the same command writes the rest"]
    assert not cut.exists() and before.read_bytes() == b"there before"

    def interrupted_before_any(argv) -> int:
        with kept_on_interrupt([one, before, three, cut], "the same command writes the rest"):
            raise interrupt()

    assert run_cli(interrupted_before_any, []) == status
    assert capsys.readouterr().err.strip() == "interrupted; no output was written"
