"""--overwrite replaces a folder only when it holds nothing but what the tools write there:
a mistyped output path never deletes a user's files (found by a review: `run --out-dir o_d
--overwrite` deleted o_d/thesis.tex, nothing logged). Folders and bags here are real, written
by the tools or by the test."""
from __future__ import annotations

from pathlib import Path

import pytest

from pose3d_ros.core import bagio
from pose3d_ros.core.data_paths import video_paths
from pose3d_ros.core.output_files import (
    UserError,
    foreign_entries,
    refuse_existing,
    run_cli,
    staged_output,
)
from pose3d_ros.tools import make_bag, run


def _one_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0], err
    return err[0]


def _bag(path):
    """A real bag folder as this package writes it (rosbags)."""
    with staged_output(path) as partial, bagio.BagWriter(partial, storage="mcap") as bag:
        bag.add_topic("/chatter_tf", "tf2_msgs/msg/TFMessage")
        bag.write("/chatter_tf", 1, bagio.tf_message([], 1))
    return path


def test_a_folder_with_the_users_files_is_never_replaced(tmp_path, capsys):
    """The review's case: refused before any work, in one line naming what is there."""
    out = tmp_path / "o_d"
    (out / "other").mkdir(parents=True)
    (out / "thesis.tex").write_text("keep me")
    (out / "data").mkdir()
    (out / "data" / "x.csv").write_text("1")
    assert run_cli(run.main, ["--videos", str(video_paths("single")[0]), "--hfov", "65",
                              "--out-dir", str(out), "--overwrite"]) == 2
    line = _one_line(capsys)
    assert f"output folder {out} holds data/, thesis.tex, which pose3d_ros did not write" in \
        line and "move those away, or choose another path" in line, line
    assert (out / "thesis.tex").read_text() == "keep me" and (out / "data" / "x.csv").exists()
    # at the move-in too (a file that appeared during the run): the staged output is dropped
    with pytest.raises(UserError, match="holds data/, thesis.tex"), \
            staged_output(tmp_path / "new", overwrite=True) as partial:
        partial.mkdir()
        (tmp_path / "new").mkdir()
        (tmp_path / "new" / "thesis.tex").write_text("keep me")
        (tmp_path / "new" / "data").mkdir()
        (tmp_path / "new" / "data" / "x.csv").write_text("1")
    assert (tmp_path / "new" / "thesis.tex").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "o_d"]


def test_the_tools_own_folders_are_still_replaced(tmp_path, capsys):
    video = str(video_paths("single")[0])
    bag = tmp_path / "bag"
    args = ["--videos", video, "--hfov", "65", "--max-frames", "1", "--start", "1", str(bag)]
    assert run_cli(make_bag.main, args) == 0
    assert foreign_entries(bag) == []
    assert run_cli(make_bag.main, [*args, "--overwrite"]) == 0
    assert sum(1 for _ in bagio.read_messages(bag)) > 0
    # a user's note in the bag folder is kept
    (bag / "notes.txt").write_text("keep me")
    capsys.readouterr()                                   # the progress bars above
    assert run_cli(make_bag.main, [*args, "--overwrite"]) == 2
    assert f"bag {bag} holds notes.txt, which pose3d_ros did not write" in _one_line(capsys)
    (bag / "notes.txt").unlink()
    # a bag a recorder wrote (its ROS distribution in the metadata, not rosbags) is the user's
    metadata = bag / "metadata.yaml"
    metadata.write_text(metadata.read_text().replace("ros_distro: rosbags", "ros_distro: jazzy"))
    assert foreign_entries(bag) == ["bag.db3", "metadata.yaml"]      # make_bag: sqlite3
    # a run's report folder (as run writes it), and an empty folder
    report = tmp_path / "report"
    report.mkdir()
    for name in ("report.html", "playback.html", "evaluation.json", "overlay_cam01.webm"):
        (report / name).write_text("x")
    _bag(report / "input_bag")
    _bag(report / "output_bag")
    assert foreign_entries(report) == []
    (report / ".DS_Store").write_bytes(b"\0")      # Finder opened it: still the tool's
    (report / "output_bag" / "Thumbs.db").write_bytes(b"\0")
    assert foreign_entries(report) == []
    refuse_existing(report, True, "output folder", folder=True)
    (report / "output_bag" / "mine.txt").write_text("keep me")
    assert foreign_entries(report) == ["output_bag/mine.txt"]
    (tmp_path / "empty").mkdir()
    assert foreign_entries(tmp_path / "empty") == []
    # a rendered scene; a training's work folder (written into, checked only for the kind)
    for names in (["camera.mp4", "calibration.yaml", "truth.npz"],
                  ["checkpoint.pt", "history.json"]):
        folder = tmp_path / names[-1].split(".")[0]
        folder.mkdir()
        for name in names:
            (folder / name).write_text("x")
        assert foreign_entries(folder) == []
    # names of one kind do not make another kind's folder the tools' (a calibration alone)
    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "calibration.yaml").write_text("x")
    assert foreign_entries(tmp_path / "cal") == ["calibration.yaml"]
    refuse_existing(tmp_path / "cal", True, "work folder", folder=True, replaces=False)


def test_an_existing_folder_without_overwrite_is_refused_as_before(tmp_path, capsys):
    out = tmp_path / "o_d"
    out.mkdir()
    (out / "thesis.tex").write_text("keep me")
    with pytest.raises(UserError, match="already exists; pass --overwrite"):
        refuse_existing(out, False, "output folder", folder=True)


def test_a_failed_replacement_keeps_the_old_outputs_and_a_mount_point_is_refused(tmp_path):
    """Found by a review: --overwrite deleted the old folder before moving the new one in, so
    a failure on the way (a file that could not be deleted, a mounted volume as --out-dir)
    lost both. The old outputs are now moved aside and back on a failure, and a mount point
    is refused before any work."""
    from pose3d_ros.core.output_files import _move_in

    old_bag = _bag(tmp_path / "bag")
    old_note = tmp_path / "model.json"
    old_note.write_text("old")
    staging = tmp_path / ".stage"
    staging.mkdir()
    new_bag = _bag(staging / "bag")
    # the second move fails (its temporary is not there): the first is undone, both old
    # outputs are back, the new bag is back in its staging folder
    with pytest.raises(FileNotFoundError):
        _move_in([(new_bag, old_bag), (staging / "model.json", old_note)])
    assert old_note.read_text() == "old"
    assert sum(1 for _ in bagio.read_messages(old_bag)) == 1 and new_bag.is_dir()
    assert sorted(p.name for p in staging.iterdir()) == ["bag"]
    # both present: moved in, the old ones left in the staging folder (deleted with it)
    (staging / "model.json").write_text("new")
    _move_in([(new_bag, old_bag), (staging / "model.json", old_note)])
    assert old_note.read_text() == "new" and not new_bag.exists()
    assert sorted(p.name for p in staging.iterdir()) == [".replaced-bag", ".replaced-model.json"]
    # whole tool runs replace a bag as before (test_the_tools_own_folders_are_still_replaced);
    # a mount point (here the proc file system, which every Linux machine has mounted)
    with pytest.raises(UserError, match="is a mount point, which cannot be replaced"):
        refuse_existing(Path("/proc"), True, "output folder", folder=True)
