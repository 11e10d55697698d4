"""What the report's views show (core.bag_report, core.report, core.playback, core.overlay) on
a real bag (the demo's cam01 through make_bag): one colour per person id in every figure,
every input frame set shown (one without output: nobody, a gap), a reference shorter than
the run told, a run without 2D told without pointing at an absent section, and an overlay
video that browsers play (VP8 in WebM)."""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from pose3d_ros.core import bag_tracks
from pose3d_ros.core.bag_report import write_bag_report
from pose3d_ros.core.body_model import canonical_pose
from pose3d_ros.core.evaluation import SkeletonTrack, stability, truth_track
from pose3d_ros.core.layouts import H36M17
from pose3d_ros.core.playback import id_colour, playback_html
from pose3d_ros.core.report import Snapshot, plot_snapshots, plot_stability
from pose3d_ros.tools import fetch_demo, make_bag

T0 = 1_700_000_000_000_000_000
FRAMES = 30
GAP = slice(10, 20)          # the input sets that get no output


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> tuple[Path, np.ndarray, np.ndarray, str, np.ndarray]:
    """The demo's cam01 as a 30-set bag (1/4 scale), its set stamps, two people standing
    4 m in front of the camera (F, 2, J, 3) in its rig frame, that frame, the camera's
    centre."""
    cameras, rig_frame = make_bag.cameras_from_calibration(fetch_demo.calibration_path("single"))
    bag = tmp_path_factory.mktemp("views") / "bag"
    make_bag.write_bag(bag, fetch_demo.video_paths("single")[:1], cameras[:1], fps=30.0,
                       start_ns=T0, storage="mcap", fixed_frame=rig_frame, scale=0.25,
                       max_frames=FRAMES)
    camera = bag_tracks.bag_cameras(bag)[0]["cam01"]
    body = canonical_pose(H36M17) - canonical_pose(H36M17)[0]          # pelvis at 0
    people = []
    for side in (-0.6, 0.6):
        pelvis = camera.R.T @ (np.array([side, 0.0, 4.0]) - camera.t)
        people.append(body + pelvis)
    walk = np.linspace(0, 0.3, FRAMES)[:, None, None, None] * [1.0, 0.0, 0.0]
    joints = np.stack(people)[None] + walk                                 # (F, 2, J, 3)
    return bag, bag_tracks.frame_set_stamps(bag), joints, rig_frame, camera.center


def _gapped(stamps: np.ndarray, joints: np.ndarray, frame: str) -> SkeletonTrack:
    keep = np.ones(len(stamps), bool)
    keep[GAP] = False
    return truth_track(joints[keep], stamps[keep], H36M17, frame)


def _png(b64: str) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_COLOR)


def _has(image: np.ndarray, colour: str, tolerance: int = 25) -> int:
    """Pixels of `image` (BGR) within `tolerance` of the "#rrggbb" colour."""
    rgb = np.array([int(colour[k:k + 2], 16) for k in (1, 3, 5)])
    return int((np.abs(image[..., ::-1].astype(int) - rgb).max(-1) <= tolerance).sum())


def test_a_person_has_one_colour_in_every_figure_whatever_the_order_of_the_list(scene):
    """A review saw the woman (id 2) blue in the playback, orange in the stability plot and
    blue or orange in the snapshots, by her place in each frame's list."""
    bag, stamps, joints, frame, centre = scene
    two = truth_track(joints, stamps, H36M17, frame)                   # ids 1 and 2
    # id 3 alone: its colour is its id's, not the first of a list's
    snap = _png(plot_snapshots([Snapshot("t", joints[0, :1], None, H36M17.bones_array,
                                         np.array([3]))]))
    assert _has(snap, id_colour(3)) > 50 and _has(snap, id_colour(1)) == 0
    # the same two people listed in the other order keep their colours
    order = [_png(plot_snapshots([Snapshot("t", joints[0][k], None, H36M17.bones_array,
                                           np.array([1, 2])[k])]))
             for k in ([0, 1], [1, 0])]
    counts = [(_has(image, id_colour(1)), _has(image, id_colour(2))) for image in order]
    assert min(counts[0]) > 50 and counts[0] == pytest.approx(counts[1], rel=0.05), counts
    steady = stability(two, viewpoint=centre, viewpoint_name="cam01")
    plot = _png(plot_stability((stamps - stamps[0]) / 1e9, steady))
    assert _has(plot, id_colour(1)) > 50 and _has(plot, id_colour(2)) > 50
    page = playback_html((stamps - stamps[0]) / 1e9, list(joints), [np.array([2, 1])] * FRAMES,
                         H36M17)
    for track in (1, 2):
        assert re.search(r'"line":\{"color":"%s"[^}]*\},"mode":"lines","name":"id %d"'
                         % (id_colour(track), track), page), track


def test_sets_without_output_show_nobody_and_the_video_keeps_the_input_length(scene,
                                                                               tmp_path):
    """A review: with sets 31-50 of 100 unanswered, the people plot stayed at 1 and the
    root-depth line crossed the gap, and the overlay video had 80 frames, its person jumping
    at the cut; it now has every input set, in a video browsers play (VP8 in WebM)."""
    bag, stamps, joints, frame, centre = scene
    out = tmp_path / "out"
    _, steady = write_bag_report(out, bag, _gapped(stamps, joints, frame), None, title="t",
                                 overlay_camera="cam01", viewpoint=centre,
                                 viewpoint_name="cam01", input_stamps_ns=stamps)
    assert steady.frames_without_output == 10
    shown = json.loads((out / "evaluation.json").read_text())["stability"]
    people = np.array(shown["people_per_frame"])
    assert len(people) == len(shown["time_s"]) == FRAMES
    assert (people[GAP] == 0).all() and (np.delete(people, np.r_[GAP]) == 2).all()
    depth = np.array(shown["root_depth_m"], dtype=float)                # (U, S), NaN: gap
    assert np.isnan(depth[:, GAP]).all() and np.isfinite(np.delete(depth, np.r_[GAP], 1)).all()
    assert shown["time_s"][GAP.start] == pytest.approx(GAP.start / 30.0, abs=1e-3)
    video = out / "overlay_cam01.webm"
    assert video.exists() and not (out / "overlay_cam01.mp4").exists()
    capture = cv2.VideoCapture(str(video))
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode()
    count, fps = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while (item := capture.read())[0]:
        frames.append(item[1])
    capture.release()
    assert fourcc == "VP80" and fps == pytest.approx(30.0) and count == len(frames) == FRAMES
    magenta = [int(((f[..., 0] > 150) & (f[..., 1] < 110) & (f[..., 2] > 150)).sum())
               for f in frames]
    assert all(magenta[t] > 100 for t in range(FRAMES) if not GAP.start <= t < GAP.stop)
    assert all(magenta[t] < 20 for t in range(GAP.start, GAP.stop)), magenta
    # the playback has every input set too (nobody in the gap)
    page = (out / "playback.html").read_text()
    assert page.count('"name":"%d"' % (FRAMES - 1)) and "frames shown" not in page


def test_a_reference_shorter_than_the_run_is_told(scene, tmp_path):
    """A review: a 40-row truth cut a 90-frame run's overlay video and playback at 1.33 s
    without a note."""
    bag, stamps, joints, frame, centre = scene
    out = tmp_path / "out"
    pred = truth_track(joints, stamps, H36M17, frame)
    ref = truth_track(joints[:12], stamps[:12], H36M17, frame)
    write_bag_report(out, bag, pred, ref, title="t", viewpoint=centre, viewpoint_name="cam01",
                     input_stamps_ns=stamps)
    notes = json.loads((out / "evaluation.json").read_text())["notes"]
    assert any("the reference covers 12 of the 30 input frame sets (0.00-0.37 s)" in note
               and "overlay video and the 3D playback are of those frames only" in note
               for note in notes), notes
    # a reference of every set: no such note
    whole = tmp_path / "whole"
    write_bag_report(whole, bag, pred, pred, title="t", input_stamps_ns=stamps)
    assert not any("covers" in n
                   for n in json.loads((whole / "evaluation.json").read_text())["notes"])


def test_nobody_published_without_2d_points_at_no_absent_section(scene, tmp_path):
    """A review: a run whose images the node all rejected, and evaluate --pred-topic (no
    detector), said the 2D people were "under Per camera", a section they do not have."""
    bag, stamps, joints, frame, _ = scene
    nobody = truth_track(joints, stamps, H36M17, frame, present=np.zeros((FRAMES, 2), bool))
    assert not any(f.num_people for f in nobody.frames)
    for per_camera, section in (({}, False), ({"cam01": {"2D people (detector, all frames)":
                                                           0.0}}, True)):
        out = tmp_path / str(section)
        write_bag_report(out, bag, nobody, None, title="t", per_camera=per_camera,
                         input_stamps_ns=stamps)
        report = (out / "report.html").read_text()
        notes = json.loads((out / "evaluation.json").read_text())["notes"]
        assert notes[0].startswith("nobody was published in any frame set")
        assert ("Per camera" in notes[0]) == section == ("<h2>Per camera</h2>" in report)
        if not section:
            assert "no camera's 2D came with the prediction" in notes[0]


def test_the_report_names_the_bone_that_varies_and_whose_it_is(scene, tmp_path):
    """Bone-length stability was one median over people and bones (an audit of #12): a
    person's forearm that changes length by +-20 % is now the report's worst bone, with its
    id, in report.html and in evaluation.json (a CV per bone and id)."""
    bag, stamps, joints, frame, centre = scene
    elbow, wrist = H36M17.index("left_elbow"), H36M17.index("left_wrist")
    varied = joints.copy()
    scale = 1.0 + 0.2 * np.sin(np.linspace(0, 6 * np.pi, FRAMES))[:, None]        # (F, 1)
    varied[:, 1, wrist] = varied[:, 1, elbow] + scale * (varied[:, 1, wrist] -
                                                         varied[:, 1, elbow])
    out = tmp_path / "out"
    _, steady = write_bag_report(out, bag, truth_track(varied, stamps, H36M17, frame), None,
                                 title="t", viewpoint=centre, viewpoint_name="cam01",
                                 input_stamps_ns=stamps)
    name, median, largest, track = steady.bone_cv_table()[0]
    assert (name, track) == ("left_elbow-left_wrist", 2) and 0.1 < largest < 0.2
    assert median == pytest.approx(largest / 2, rel=1e-6)       # the other person's: 0
    shown = json.loads((out / "evaluation.json").read_text())["stability"]
    assert shown["bone_cv"]["left_elbow-left_wrist"] == [pytest.approx(0, abs=1e-9),
                                                         pytest.approx(largest)]
    assert all(max(cv) < 1e-9 for bone, cv in shown["bone_cv"].items()
               if bone != "left_elbow-left_wrist")
    page = (out / "report.html").read_text()
    assert "Bone-length CV per bone" in page and "<th>left_elbow-left_wrist</th>" in page
