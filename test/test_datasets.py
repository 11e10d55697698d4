"""Public-format loaders (core/datasets) on files the tests write in those formats, and the
evaluation end to end: Campus/Shelf (4D-association release; actorsGT + VoxelPose calibration),
CMU Panoptic, OpenPose and COCO 2D files."""
from __future__ import annotations

import dataclasses
import json
import logging

import numpy as np
import pytest
from dataset_files import (
    PANOPTIC_TO_Z_UP,
    campus14_truth,
    make_show,
    panoptic_show,
    write_4da,
    write_coco,
    write_openpose,
    write_panoptic,
    write_voxelpose,
)

from pose3d_ros.core.datasets import (
    attach_detections,
    evaluate_sequence,
    load_campus_shelf,
    load_panoptic,
)
from pose3d_ros.core.datasets.bottom_up import group_people
from pose3d_ros.core.datasets.campus_shelf import load_4da_calibration, load_4da_ground_truth
from pose3d_ros.core.datasets.detection_files import (
    read_coco_keypoints,
    read_openpose_directory,
    read_openpose_file,
)
from pose3d_ros.core.datasets.panoptic import load_panoptic_calibration
from pose3d_ros.core.layouts import BODY25, COCO17, COCO18, PANOPTIC19, convert_joints
from pose3d_ros.core.pipeline import PipelineParams
from pose3d_ros.tools import eval_dataset


@pytest.fixture(scope="module")
def show():
    return make_show()


def _same_rig(a, b, atol=1e-9):
    assert a.names == b.names
    for x, y in zip(a, b, strict=True):
        assert (x.width, x.height) == (y.width, y.height)
        for field in ("K", "R", "t", "dist"):
            np.testing.assert_allclose(getattr(x, field), getattr(y, field), atol=atol,
                                       rtol=0, err_msg=f"{x.name} {field}")


def test_shelf_4da_release_round_trip_and_pcp(show, tmp_path):
    write_4da(tmp_path / "Shelf", show)
    _same_rig(load_4da_calibration(tmp_path / "Shelf" / "calibration.json"), show.rig)
    truth = load_4da_ground_truth(tmp_path / "Shelf" / "gt.txt")
    np.testing.assert_array_equal(truth.actor_ids, show.ids)
    np.testing.assert_allclose(truth.points[..., :14, :], campus14_truth(show), atol=1e-6)
    sequence = load_campus_shelf(tmp_path / "Shelf", "shelf")
    # the bottom-up candidates are grouped back into the people that made them
    people = sequence.detections[0]["cam01"]
    assert people.layout is BODY25 and people.num_people == show.pixels.shape[2]
    got = np.sort(people.keypoints[:, BODY25.index("nose"), 0])
    np.testing.assert_allclose(got, np.sort(show.pixels[0, 0, :, 0, 0]), atol=1e-3)
    result = evaluate_sequence(sequence, PipelineParams(tracking=None, filtering=None))
    assert result.score.pcp >= 0.97, result.to_dict()
    assert result.score.misses == 0 and result.score.ghosts == 0
    assert result.score.mpjpe_m < 0.02
    # untracked ids number each frame's people: not identities to match on or count (they
    # read 10 switches here before)
    assert result.score.id_switches == 0


def test_each_data_set_scores_the_head_by_its_own_rule(show, tmp_path):
    write_4da(tmp_path / "Shelf", show)
    write_voxelpose(tmp_path / "VoxelShelf", show, "shelf", 0)
    write_voxelpose(tmp_path / "Campus", show, "campus", 0)
    assert load_campus_shelf(tmp_path / "Shelf", "shelf").ground_truth.head_rule == "nose_ears"
    frames = np.arange(len(show.joints))
    assert load_campus_shelf(tmp_path / "VoxelShelf", "shelf",
                             frames=frames).ground_truth.head_rule == "nose_ears"
    campus = load_campus_shelf(tmp_path / "Campus", "campus", frames=frames)
    assert campus.ground_truth.head_rule == "nose"
    shelf = load_campus_shelf(tmp_path / "Shelf", "shelf")
    assert shelf.select(shelf.frames[:3]).ground_truth.head_rule == "nose_ears"
    sequence = load_campus_shelf(tmp_path / "Shelf", "shelf")
    assert evaluate_sequence(sequence, head_rule="ears").head_rule == "ears"
    with pytest.raises(ValueError, match="head rule must be one of"):
        evaluate_sequence(sequence, head_rule="eyes")


def test_shelf_voxelpose_layout_with_openpose_and_coco_files(tmp_path):
    show = make_show(image_size=(1032, 776), seed=5)      # the Shelf cameras' size
    first = 300
    frames = np.arange(first, first + len(show.joints))
    write_voxelpose(tmp_path / "Shelf", show, "shelf", first)
    sequence = load_campus_shelf(tmp_path / "Shelf", "shelf", frames=frames)
    _same_rig(sequence.rig, show.rig)
    np.testing.assert_allclose(sequence.ground_truth.points, campus14_truth(show), atol=1e-9)
    for fmt, paths in (("openpose", write_openpose(tmp_path / "op", show, frames)),
                       ("coco", write_coco(tmp_path / "coco", show, frames))):
        scored = evaluate_sequence(attach_detections(sequence, fmt, paths))
        assert scored.score.pcp >= 0.97 and scored.score.misses == 0, (fmt, scored.to_dict())


def test_panoptic_round_trip_and_evaluation(show, tmp_path):
    seq_dir = tmp_path / "160422_ultimatum1"
    frames = np.arange(1000, 1000 + len(show.joints))
    turned = panoptic_show(show)
    write_panoptic(seq_dir, turned, frames)
    rig = load_panoptic_calibration(next(seq_dir.glob("calibration_*.json")))
    _same_rig(rig, turned.rig)
    sequence = load_panoptic(seq_dir)
    assert sequence.name == "160422_ultimatum1" and sequence.ground_truth.up == (0, -1, 0)
    np.testing.assert_array_equal(sequence.frames, frames)
    expected = convert_joints(turned.joints, COCO17, PANOPTIC19)
    np.testing.assert_allclose(sequence.ground_truth.points, expected, atol=1e-9)
    # the y-down world back to z-up is the show's own
    np.testing.assert_allclose(sequence.ground_truth.points @ PANOPTIC_TO_Z_UP.T,
                               convert_joints(show.joints, COCO17, PANOPTIC19), atol=1e-9)
    dataset = write_coco(tmp_path / "coco", turned, frames, results=False)
    scored = evaluate_sequence(attach_detections(sequence, "coco", dataset))
    assert scored.score.pcp >= 0.97 and scored.score.misses == 0, scored.to_dict()


def test_grouping_keeps_people_apart_and_drops_fragments():
    # two people, joints 0-1-2 chained; a lone candidate of joint 2 stays out
    cand = [np.array([[10.0, 50.0], [10.0, 50.0], [0.9, 0.9]]),
            np.array([[11.0, 51.0], [20.0, 60.0], [0.9, 0.8]]),
            np.array([[12.0, 52.0, 90.0], [30.0, 70.0, 90.0], [0.9, 0.9, 0.9]])]
    pairs = np.array([(0, 1), (1, 2)])
    aff = [np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([[0.7, 0.1, 0.0], [0.1, 0.9, 0.0]])]
    people = group_people(cand, aff, pairs, min_joints=2)
    assert people.shape == (2, 3, 3)
    np.testing.assert_allclose(np.sort(people[:, :, 0], axis=0),
                               [[10.0, 11.0, 12.0], [50.0, 51.0, 52.0]])


def test_openpose_coco18_file(tmp_path):
    kp = np.zeros((18, 3))
    kp[COCO18.index("nose")] = (100, 50, 0.8)
    kp[COCO18.index("left_hip")] = (120, 150, 0.7)
    path = tmp_path / "v_000000000007_keypoints.json"
    path.write_text(json.dumps({"people": [{"pose_keypoints_2d": kp.reshape(-1).tolist()}]}))
    found = read_openpose_file(path, (640, 480))
    assert found.layout is COCO18 and found.num_people == 1
    assert np.isnan(found.keypoints[0, COCO18.index("neck")]).all()
    np.testing.assert_allclose(found.keypoints[0, COCO18.index("left_hip")], (120, 150))


def test_scores_outside_zero_one_are_clipped_and_told_once_per_source(tmp_path, caplog):
    """A file's keypoint scores of 2 (COCO visibility flags written as scores) weighted its
    joints twice, without a word (a review): clipped to 1, one WARNING per OpenPose directory
    or COCO file, none for scores within [0, 1]."""
    folder = tmp_path / "cam01"
    folder.mkdir()
    kp = np.zeros((18, 3))
    kp[COCO18.index("nose")] = (100, 50, 2.0)
    kp[COCO18.index("left_hip")] = (120, 150, 0.7)
    for frame in range(3):
        (folder / f"v_{frame:012d}_keypoints.json").write_text(
            json.dumps({"people": [{"pose_keypoints_2d": kp.reshape(-1).tolist()}]}))
    coco = tmp_path / "cam02.json"
    flags = np.zeros((17, 3))
    flags[:, :2], flags[:, 2] = (200, 100), 2
    coco.write_text(json.dumps([{"image_id": 4, "keypoints": flags.reshape(-1).tolist(),
                                 "score": 0.9}]))
    with caplog.at_level(logging.WARNING, logger="pose3d_ros.core.datasets.detection_files"):
        found = read_openpose_directory(folder, (640, 480))
        assert (read_coco_keypoints(coco, (640, 480))[4].scores == 1).all()
    assert {f: d.scores[0, COCO18.index("nose")] for f, d in found.items()} == \
        {0: 1.0, 1: 1.0, 2: 1.0}
    assert found[0].scores[0, COCO18.index("left_hip")] == pytest.approx(0.7)
    told = [r.getMessage() for r in caplog.records if "outside [0, 1]" in r.getMessage()]
    assert len(told) == 2 and str(folder) in told[0] and str(coco) in told[1], told
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pose3d_ros.core.datasets.detection_files"):
        kp[COCO18.index("nose"), 2] = 0.9
        fine = tmp_path / "v_000000000009_keypoints.json"
        fine.write_text(json.dumps({"people": [{"pose_keypoints_2d": kp.reshape(-1).tolist()}]}))
        read_openpose_file(fine, (640, 480))
    assert not caplog.records


@pytest.mark.parametrize("case, message", [
    ("missing_gt", "gt.txt: file not found"),
    ("short_gt", "gt.txt: truncated"),
    ("nan_calibration", "calibration.json: camera 'cam01' K contains NaN"),
    ("bad_rotation", "calibration.json: camera 'cam02': R is not a proper rotation"),
    ("wrong_rt", "calibration.json: camera 'cam01' RT has 11 values"),
    ("detection_type", "cam01.txt: unknown skeleton type"),
    ("detection_short", "cam02.txt: truncated"),
    # a review: scored on the other cameras without a word
    ("camera_missing", r"calibration.json: no camera for the 2D files \['cam03.txt'\]"),
])
def test_bad_shelf_files_name_the_file(show, tmp_path, case, message):
    root = tmp_path / "Shelf"
    write_4da(root, show)
    cal = json.loads((root / "calibration.json").read_text())
    if case == "missing_gt":
        (root / "gt.txt").unlink()
    elif case == "short_gt":
        text = (root / "gt.txt").read_text().split()
        (root / "gt.txt").write_text(" ".join(text[:-7]))
    elif case == "nan_calibration":
        cal["cam01"]["K"][0] = float("nan")
    elif case == "bad_rotation":
        cal["cam02"]["RT"][0] = 3.0
    elif case == "wrong_rt":
        cal["cam01"]["RT"] = cal["cam01"]["RT"][:11]
    elif case == "detection_type":
        path = root / "detection" / "cam01.txt"
        path.write_text("9" + path.read_text()[1:])
    elif case == "detection_short":
        path = root / "detection" / "cam02.txt"
        path.write_text(" ".join(path.read_text().split()[:-5]))
    elif case == "camera_missing":
        del cal["cam03"]
    (root / "calibration.json").write_text(json.dumps(cal))
    with pytest.raises(ValueError, match=message):
        load_campus_shelf(root, "shelf")


def test_bad_detection_files_name_the_file(show, tmp_path):
    frames = np.arange(len(show.joints))
    write_panoptic(tmp_path / "seq", panoptic_show(show), frames)
    sequence = load_panoptic(tmp_path / "seq")
    files = write_coco(tmp_path / "coco", show, frames)
    with pytest.raises(ValueError, match="3 detection paths for 4 cameras"):
        attach_detections(sequence, "coco", files[:3])
    doc = json.loads(files[1].read_text())
    doc[0]["keypoints"] = doc[0]["keypoints"][:50]
    files[1].write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=f"{files[1]}: entry 0 keypoints has 50 values"):
        attach_detections(sequence, "coco", files)
    dirs = write_openpose(tmp_path / "op", show, frames)
    broken = sorted(dirs[2].glob("*.json"))[3]
    broken.write_text("{not json")
    with pytest.raises(ValueError, match=f"{broken}: not valid JSON"):
        attach_detections(sequence, "openpose", dirs)
    gt = sorted((tmp_path / "seq" / "hdPose3d_stage1_coco19").glob("*.json"))[2]
    body = json.loads(gt.read_text())
    body["bodies"][0]["joints19"] = body["bodies"][0]["joints19"][:70]
    gt.write_text(json.dumps(body))
    with pytest.raises(ValueError, match=f"{gt}: body 0 joints19 has 70 values"):
        load_panoptic(tmp_path / "seq")


def test_tool_writes_json_refuses_overwrite_and_reports_mistakes(show, tmp_path, capsys):
    write_4da(tmp_path / "Shelf", show)
    out = tmp_path / "result"
    argv = ["--format", "shelf", str(tmp_path / "Shelf"), "--out", str(out)]
    assert eval_dataset.main(argv) == 0
    summary = json.loads((out / "evaluation.json").read_text())
    assert summary["pcp"] >= 0.97 and summary["misses"] == 0
    assert set(summary["pcp_per_actor"]) == {"0", "2"}
    assert summary["head_rule"] == "nose_ears"           # Shelf's scorer, VoxelPose's rule
    assert summary["pcp_actors_0_2"] is None             # the show's actors are 0 and 2
    # the same predictions, the head derived from the nose alone against the files' blended
    # head ends: the head ends move (MPJPE counts them), no other limb does
    assert eval_dataset.main(argv[:-1] + [str(tmp_path / "nose"), "--head", "nose"]) == 0
    nose = json.loads((tmp_path / "nose" / "evaluation.json").read_text())
    assert nose["head_rule"] == "nose"
    moved = {k for k, v in nose["pcp_per_limb"].items() if v != summary["pcp_per_limb"][k]}
    assert moved <= {"head", "torso"} and nose["mpjpe_mm"] > summary["mpjpe_mm"]
    assert eval_dataset.main(argv[:-1] + [str(tmp_path / "part"), "--frames", "3:8",
                                          "--actors", "2"]) == 0
    part = json.loads((tmp_path / "part" / "evaluation.json").read_text())
    assert part["frames"] == 5 and set(part["pcp_per_actor"]) == {"2"}
    assert part["head_rule"] == "nose_ears"              # kept through the frame selection
    assert part["gt_person_frames"] == 5
    assert part["ghosts"] == 0     # actor 0's person-frames are not scored, nor ghosts
    assert eval_dataset.run_cli(eval_dataset.main, argv) == 2
    assert "already exists" in capsys.readouterr().err
    before = (out / "evaluation.json").read_text()
    assert eval_dataset.run_cli(eval_dataset.main, argv[:-1] + [str(tmp_path / "x"),
                                                                "--detections", "yolo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "yolo" in err and "Traceback" not in err
    assert (out / "evaluation.json").read_text() == before and not (tmp_path / "x").exists()
    assert eval_dataset.run_cli(eval_dataset.main, ["--format", "campus", str(tmp_path),
                                                    "--out", str(tmp_path / "y")]) == 2
    assert "calibration_campus.json" in capsys.readouterr().err
    # flags that were dropped without a word (a review): refused; no switches without ids
    for extra, told in ((["--filtering", "--no-tracking"], "--filtering smooths tracked"),
                        (["--cameras", "0,1"], "--cameras chooses Panoptic cameras")):
        assert eval_dataset.run_cli(eval_dataset.main, argv[:-1] + [str(tmp_path / "z"),
                                                                    *extra]) == 2
        assert told in capsys.readouterr().err
    assert eval_dataset.main(argv[:-1] + [str(tmp_path / "frames"), "--no-tracking"]) == 0
    assert "id_switches            n/a (ids per frame)" in capsys.readouterr().out
    per_frame = json.loads((tmp_path / "frames" / "evaluation.json").read_text())
    assert per_frame["id_switches"] is None and per_frame["tracking"] is False


def test_file_layouts_convert_to_and_from_the_package_layouts():
    rng = np.random.default_rng(0)
    coco = rng.normal(size=(3, 2, 17, 3))
    for layout in (BODY25, COCO18, PANOPTIC19):      # every COCO-17 joint, by name
        assert set(COCO17.joint_names) <= set(layout.joint_names)
    for layout in (COCO18, PANOPTIC19):               # derivable both ways: a round trip
        there = convert_joints(coco, COCO17, layout)
        np.testing.assert_allclose(convert_joints(there, layout, COCO17), coco)
    neck = convert_joints(coco, COCO17, COCO18)[..., COCO18.index("neck"), :]
    np.testing.assert_allclose(neck, coco[..., 5:7, :].mean(-2))      # between the shoulders
    body = np.full((1, 25, 2), np.nan)
    body[0, :19] = rng.normal(size=(19, 2))
    got = convert_joints(body, BODY25, COCO17)
    np.testing.assert_allclose(got[0, COCO17.index("right_ankle")],
                               body[0, BODY25.index("right_ankle")])
    with pytest.raises(ValueError, match="cannot derive joint 'left_big_toe'"):
        convert_joints(coco, COCO17, BODY25)


def _write_one_actor(folder, show, cells) -> None:
    """A VoxelPose-layout Shelf folder whose actorsGT.mat holds one actor with these
    per-frame cells (arrays of any shape, as a malformed file may have)."""
    from scipy.io import savemat

    write_voxelpose(folder, show, "shelf", 0)
    actors = np.empty((1, 1), dtype=object)
    frames = np.empty((len(cells), 1), dtype=object)
    for k, cell in enumerate(cells):
        frames[k, 0] = cell
    actors[0, 0] = frames
    savemat(str(folder / "actorsGT.mat"), {"actor3D": actors})


def test_more_bad_files_name_the_file_and_fault(show, tmp_path):

    turned = panoptic_show(show)
    write_panoptic(tmp_path / "seq", turned, np.arange(len(show.joints)))
    cal_path = next((tmp_path / "seq").glob("calibration_*.json"))
    cal = json.loads(cal_path.read_text())
    cal["cameras"][1]["R"][0][0] = float("nan")
    cal_path.write_text(json.dumps(cal))
    with pytest.raises(ValueError, match=f"{cal_path}: camera '00_04' R contains NaN"):
        load_panoptic(tmp_path / "seq")
    with pytest.raises(ValueError, match="cameras \\['99_99'\\] not found"):
        load_panoptic_calibration(cal_path, ["99_99"])
    # actorsGT with a 13-joint entry
    _write_one_actor(tmp_path / "Shelf", show, [np.zeros((14, 3)), np.zeros((13, 3))])
    with pytest.raises(ValueError, match=r"actorsGT.mat: actor 0 frame 1 has shape \(13, 3\)"):
        load_campus_shelf(tmp_path / "Shelf", "shelf", frames=[0, 1])
    with pytest.raises(ValueError, match="actorsGT.mat: has 2 frames"):
        load_campus_shelf(tmp_path / "Shelf", "shelf")          # the protocol's 300-600
    # an OpenPose person with 20 joints
    bad = tmp_path / "cam_000000000001_keypoints.json"
    bad.write_text(json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 60}]}))
    with pytest.raises(ValueError, match="have \\[20\\] joints; expected 25"):
        read_openpose_file(bad, (640, 480))


def test_shifted_frame_numbers_are_told_and_the_offset_pairs_them(tmp_path, caplog):
    """OpenPose run on Shelf's images (img_000300...) beside the 4D-association release (frames
    numbered from 0) paired every frame's 2D with the ground truth of frame - 300, silently:
    PCP 16 % on the real release (review of session 23). Files holding none of the frames are
    refused naming both ranges; the offset pairs them; 2D of other frames or of another
    camera that overlaps in numbers shows in the 2D's agreement with the ground truth, which
    the tool warns about (a second review: a guess from the numbers alone refused sparse files
    and proposed wrong offsets)."""
    show = make_show(image_size=(1032, 776), seed=5)
    write_4da(tmp_path / "Shelf", show)
    sequence = load_campus_shelf(tmp_path / "Shelf", "shelf")
    shifted = write_openpose(tmp_path / "op", show, sequence.frames + 300)
    with pytest.raises(ValueError, match=r"no detections for any of the sequence's frames "
                                         r"0\.\.11 .*it holds frames 300\.\.311.*"
                                         r"--detections-frame-offset"):
        attach_detections(sequence, "openpose", shifted)
    scored = evaluate_sequence(attach_detections(sequence, "openpose", shifted,
                                                 frame_offset=300))
    assert scored.score.pcp >= 0.97 and scored.score.misses == 0, scored.to_dict()
    assert min(scored.two_d_agreement.values()) > 0.9, scored.two_d_agreement
    # sparse files (a COCO results list leaves out images without people) still pass
    sparse = write_coco(tmp_path / "coco", show, sequence.frames)
    for path in sparse:
        doc = json.loads(path.read_text())
        path.write_text(json.dumps([d for d in doc if d["image_id"] % 3 == 0]))
    kept = attach_detections(sequence, "coco", sparse)
    for frame, seen in zip(sequence.frames, kept.detections, strict=True):
        people = [seen[name].num_people if name in seen else 0 for name in sequence.rig.names]
        assert (min(people) > 0) if frame % 3 == 0 else (max(people) == 0), (frame, people)
    # two cameras' files exchanged: every number matches, the 2D does not
    swapped = write_coco(tmp_path / "coco2", show, sequence.frames)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    out = tmp_path / "result"
    with caplog.at_level(logging.WARNING):
        assert eval_dataset.main(["--format", "shelf", str(tmp_path / "Shelf"), "--out",
                                  str(out), "--detections", "coco", *map(str, swapped)]) == 0
    agreement = json.loads((out / "evaluation.json").read_text())["2d_agreement_per_camera"]
    names = list(agreement)
    assert agreement[names[0]] < 0.6 and agreement[names[1]] < 0.6, agreement
    assert min(agreement[n] for n in names[2:]) > 0.9, agreement
    assert f"camera {names[0]}: only" in caplog.text and "--detections-frame-offset" in caplog.text


def test_older_openpose_and_named_coco_image_ids(tmp_path):
    kp = np.zeros((25, 3))
    kp[BODY25.index("nose")] = (100, 50, 0.8)
    path = tmp_path / "v_000000000007_keypoints.json"     # OpenPose <= 1.2: 'pose_keypoints'
    path.write_text(json.dumps({"people": [{"pose_keypoints": kp.reshape(-1).tolist()}]}))
    found = read_openpose_file(path, (640, 480))
    assert found.layout is BODY25 and found.num_people == 1
    np.testing.assert_allclose(found.keypoints[0, BODY25.index("nose")], (100, 50))
    entry = {"keypoints": [0.0] * 51, "score": 0.9}
    for image_id in ("img_000300", "0_300", -4, True):
        coco = tmp_path / "coco.json"
        coco.write_text(json.dumps([entry | {"image_id": image_id}]))
        with pytest.raises(ValueError, match=rf"{coco}: entry 0: image_id .* is not a frame"):
            read_coco_keypoints(coco, (640, 480))
    coco.write_text(json.dumps([entry | {"image_id": "300"}]))
    assert set(read_coco_keypoints(coco, (640, 480))) == {300}


def test_malformed_fields_found_by_a_review_are_told_in_one_line(show, tmp_path):
    """Each was mis-read without a word or ended in a traceback: a COCO data set of several
    cameras' images (merged into every camera: 8 people per view, 60 ghosts), an actorsGT
    cell 3 x 14 instead of 14 x 3 (read scrambled: PCP 0), a COCO score null and a Panoptic id
    null (TypeError), Panoptic 'bodies' not a list (read as nobody annotated), an image
    file_name without a frame number (the error named the image, not the file)."""

    entry = {"keypoints": [100.0, 50.0, 0.9] * 17, "category_id": 1}
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "Camera0/img_000300.png"},
                   {"id": 2, "file_name": "Camera1/img_000300.png"}],
        "annotations": [entry | {"image_id": 1}, entry | {"image_id": 2}]}))
    with pytest.raises(ValueError, match=rf"{coco}: images 1 and 2 are both frame 300"):
        read_coco_keypoints(coco, (640, 480))
    coco.write_text(json.dumps({"images": [{"id": 1, "file_name": "frame.png"}],
                                "annotations": [entry | {"image_id": 1}]}))
    with pytest.raises(ValueError, match=rf"{coco}: image 0: frame.png: no frame number"):
        read_coco_keypoints(coco, (640, 480))
    coco.write_text(json.dumps([entry | {"image_id": 300, "score": None},
                                entry | {"image_id": 301, "score": 0.5}]))
    found = read_coco_keypoints(coco, (640, 480))             # null: no score, as absent
    assert found[300].num_people == found[301].num_people == 1
    coco.write_text(json.dumps([entry | {"image_id": 300, "score": "high"}]))
    with pytest.raises(ValueError, match=rf"{coco}: entry 0: score 'high' is not a number"):
        read_coco_keypoints(coco, (640, 480))
    # actorsGT with a transposed cell
    _write_one_actor(tmp_path / "Shelf", show, [np.zeros((14, 3)), np.zeros((3, 14))])
    with pytest.raises(ValueError, match=r"actorsGT.mat: actor 0 frame 1 has shape \(3, 14\)"):
        load_campus_shelf(tmp_path / "Shelf", "shelf", frames=[0, 1])
    # a shape with -1 reads any nesting (a 3 x 3 rotation read as Rodrigues-or-matrix: a
    # review saw the first version refuse it)
    from pose3d_ros.core.datasets.records import floats
    assert floats(np.eye(3).tolist(), (-1,), "R", coco).shape == (9,)
    assert floats([[0.0] * 75], (-1, 3), "keypoints", coco).shape == (25, 3)
    # Panoptic: an id null, 'bodies' not a list
    turned = panoptic_show(show)
    write_panoptic(tmp_path / "seq", turned, np.arange(len(show.joints)))
    scene = sorted((tmp_path / "seq").rglob("body3DScene_*.json"))[0]
    doc = json.loads(scene.read_text())
    doc["bodies"][0]["id"] = None
    scene.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=rf"{scene}: body 0: id None is not an integer"):
        load_panoptic(tmp_path / "seq")
    scene.write_text(json.dumps({"bodies": {"id": 0}}))
    with pytest.raises(ValueError, match=rf"{scene}: 'bodies' must be a list"):
        load_panoptic(tmp_path / "seq")


def test_nothing_matched_writes_valid_json(show, tmp_path):
    """A run where nobody is matched has no MPJPE: JSON null, not NaN (strict parsers reject
    NaN; the review of session 23 found `"mpjpe_mm": NaN`)."""
    write_4da(tmp_path / "Shelf", show)
    directories = write_openpose(tmp_path / "op", show, np.arange(len(show.joints)))
    for path in (p for d in directories for p in d.glob("*.json")):
        path.write_text(json.dumps({"people": []}))
    out = tmp_path / "result"
    assert eval_dataset.main(["--format", "shelf", str(tmp_path / "Shelf"), "--out", str(out),
                              "--detections", "openpose", *map(str, directories)]) == 0
    text = (out / "evaluation.json").read_text()
    summary = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert summary["mpjpe_mm"] is None and summary["misses"] == summary["gt_person_frames"]


def test_a_panoptic_frame_range_across_a_gap_in_the_annotation(show, tmp_path):
    """Panoptic leaves out frames nobody was reconstructed in; a --frames range across such a
    gap failed on the first missing file (found by a review, session 23)."""
    frames = np.arange(len(show.joints))
    write_panoptic(tmp_path / "seq", panoptic_show(show), frames)
    (tmp_path / "seq" / "hdPose3d_stage1_coco19" / "body3DScene_00000004.json").unlink()
    sequence = load_panoptic(tmp_path / "seq", frames=np.arange(2, 8))
    assert sequence.frames.tolist() == [2, 3, 5, 6, 7]
    with pytest.raises(ValueError, match="none of the frames 100..104"):
        load_panoptic(tmp_path / "seq", frames=np.arange(100, 105))


def test_the_published_figure_is_the_mean_over_actors_0_to_2():
    from pose3d_ros.core.datasets.campus_shelf import published_pcp
    from pose3d_ros.core.multiperson_metrics import score_multiperson
    rng = np.random.default_rng(2)
    people = rng.normal(size=(4, 14, 3)) * 0.1 + np.arange(4)[:, None, None] * 2.0
    wrong = people.copy()
    wrong[1, :6] += 1.0                                   # actor 1's legs wrong: 6 of 10 limbs
    score = score_multiperson([wrong], [people], gt_ids=[np.array([0, 1, 2, 3])])
    assert score.pcp_per_actor[1] < 1.0
    assert published_pcp(score) == pytest.approx(np.mean(score.pcp_per_actor[:3]))
    alone = score_multiperson([people[:2]], [people[:2]], gt_ids=[np.array([0, 1])])
    assert published_pcp(alone) is None                   # actor 2 never scored


def test_review_of_the_dataset_tools_frames_heads_and_faceless_people(show, tmp_path, caplog):
    """What a review of the data-set tools found (session 37), each on the files the tests
    write: (1) frames whose 2D files are missing were scored as misses without a word (the
    agreement check samples every 5th frame); (2) --head on Panoptic derived the predictions'
    head by the rule but the ground truth's by the nose rule (head PCP 0.5 on exact 2D with
    'ears'); (3) a prediction without any scored joint cost exactly the gate and was matched
    to a real person (no ghost, no miss); (5) a sequence with nobody annotated said "actors []
    not in the ground truth"."""
    from pose3d_ros.core.metrics import match_frame
    from pose3d_ros.core.multiperson_metrics import PCP_LIMB_NAMES

    frames = np.arange(1000, 1000 + len(show.joints))
    turned = panoptic_show(show)
    write_panoptic(tmp_path / "seq", turned, frames)
    sequence = load_panoptic(tmp_path / "seq")
    dirs = write_openpose(tmp_path / "op", turned, frames)
    for frame in (1006, 1007, 1008, 1011):                        # a partial OpenPose run
        next(dirs[1].glob(f"*{frame:012d}_keypoints.json")).unlink()
    with caplog.at_level(logging.WARNING, logger="pose3d_ros.core.datasets.detection_files"):
        attach_detections(sequence, "openpose", dirs)
    told = [r.getMessage() for r in caplog.records]
    assert len(told) == 1 and "4 of the sequence's 12 frames have no 2D" in told[0]
    assert f"camera {turned.rig.names[1]}" in told[0] and "1006..1008, 1011" in told[0]
    # (2) each head rule scores exact 2D as exact, the ground truth's head by the same rule
    whole = attach_detections(sequence, "openpose", write_openpose(tmp_path / "all", turned,
                                                                   frames))
    for rule in ("nose", "ears", "nose_ears"):
        scored = evaluate_sequence(whole, head_rule=rule).score
        head = scored.pcp_per_limb[PCP_LIMB_NAMES.index("head")]
        assert head == 1.0 and scored.pcp == 1.0, (rule, scored.pcp_per_limb)
    # (3) no common joint: never a pair, also with a price for missing joints
    person = np.zeros((1, 14, 3))
    faceless = np.full((1, 14, 3), np.nan)
    pairs, _ = match_frame(faceless, person, max_distance=0.5, missing_cost=0.5)
    assert pairs.shape == (0, 2)
    pairs, _ = match_frame(person + 0.1, person, max_distance=0.5, missing_cost=0.5)
    assert pairs.tolist() == [[0, 0]]
    # (5) nobody annotated
    nobody = dataclasses.replace(whole, ground_truth=dataclasses.replace(
        whole.ground_truth, points=np.full_like(whole.ground_truth.points, np.nan)))
    with pytest.raises(ValueError, match="nobody is annotated in its frames 1000..1011"):
        evaluate_sequence(nobody)


def test_review_of_the_dataset_tools_files_that_were_tracebacks(show, tmp_path, capsys):
    """(4) of the same review: an actorsGT.mat saved as MATLAB v7.3 (HDF5) or not a MAT file,
    COCO image ids that are lists, and a stray params.json in an OpenPose folder were
    tracebacks or named no folder; (6) the console printed every missing figure as
    "n/a (ids per frame)"."""
    from pose3d_ros.core.datasets.campus_shelf import load_actors_gt
    from pose3d_ros.core.datasets.detection_files import read_openpose_directory

    hdf5 = tmp_path / "actorsGT.mat"
    hdf5.write_bytes(b"MATLAB 7.3 MAT-file".ljust(116) + bytes(8) + b"\x00\x02IM"
                     + b"\x89HDF\r\n\x1a\n" + bytes(512))      # the v7.3 header, then HDF5
    with pytest.raises(ValueError, match="v7.3 .HDF5. file, which scipy cannot read"):
        load_actors_gt(hdf5)
    hdf5.write_bytes(b"not a MAT file at all" * 10)
    with pytest.raises(ValueError, match="not an actorsGT file"):
        load_actors_gt(hdf5)
    listed = tmp_path / "coco.json"
    listed.write_text(json.dumps({"images": [{"id": [1], "file_name": "img_000001.jpg"}],
                                  "annotations": []}))
    with pytest.raises(ValueError, match=r"image 0: id \[1\] is not an integer or a string"):
        read_coco_keypoints(listed, (640, 480))
    listed.write_text(json.dumps([{"image_id": [3], "keypoints": [0] * 51}]))
    with pytest.raises(ValueError, match=r"entry 0: image_id \[3\] is not an integer"):
        read_coco_keypoints(listed, (640, 480))
    dirs = write_openpose(tmp_path / "op", show, np.arange(len(show.joints)))
    (dirs[0] / "params.json").write_text("{}")
    with pytest.raises(ValueError, match=f"{dirs[0]}/params.json: no frame number"):
        read_openpose_directory(dirs[0], (640, 480))
    write_4da(tmp_path / "Shelf", show)
    assert eval_dataset.main(["--format", "shelf", str(tmp_path / "Shelf"), "--actors", "0",
                              "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "ids per frame" not in printed and "n/a" in printed


def test_review_of_the_loaders_against_real_files_variations(show, tmp_path):
    """A review of the loaders against what real files hold: a UTF-8 byte-order mark (JSON
    and gt.txt from Windows tools) was refused; COCO ids written 300.0 (pandas, numpy) were
    'not a number'; one entry without 'score' dropped every person's score in its frame;
    '"images": null' was a traceback; a Panoptic VGA camera named in the camera list was
    taken (its 2D then paired with HD frame numbers); a body id given twice in a frame
    replaced the first body."""
    kp = np.zeros((17, 3))
    kp[:, :2], kp[:, 2] = np.arange(34).reshape(17, 2) + 10, 0.8
    coco = tmp_path / "coco.json"
    coco.write_bytes(b"\xef\xbb\xbf" + json.dumps([
        {"image_id": 300.0, "keypoints": kp.reshape(-1).tolist(), "score": 0.9},
        {"image_id": 300, "keypoints": (kp + [50, 0, 0]).reshape(-1).tolist()}]).encode())
    found = read_coco_keypoints(coco, (640, 480))[300]
    np.testing.assert_allclose(np.sort(found.person_scores), [0.8, 0.9], rtol=1e-6)
    coco.write_text(json.dumps({"images": None, "annotations": []}))
    with pytest.raises(ValueError, match=rf"{coco}: 'images' must be a list"):
        read_coco_keypoints(coco, (640, 480))
    write_4da(tmp_path / "Shelf", show)
    truth = tmp_path / "Shelf" / "gt.txt"
    truth.write_bytes(b"\xef\xbb\xbf" + truth.read_bytes())
    assert load_campus_shelf(tmp_path / "Shelf", "shelf").ground_truth is not None
    seq_dir = tmp_path / "160422_ultimatum1"
    frames = np.arange(1000, 1000 + len(show.joints))
    write_panoptic(seq_dir, panoptic_show(show), frames)
    calibration = next(seq_dir.glob("calibration_*.json"))
    doc = json.loads(calibration.read_text())
    doc["cameras"].append(dict(doc["cameras"][0], name="01_01", type="vga"))
    calibration.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"cameras \['01_01 \(vga\)'\] are not hd cameras"):
        load_panoptic_calibration(calibration, ["01_01", doc["cameras"][1]["name"]])
    scene = sorted(seq_dir.rglob("body3DScene_*.json"))[0]
    bodies = json.loads(scene.read_text())
    bodies["bodies"].append(bodies["bodies"][0])
    scene.write_text(json.dumps(bodies))
    with pytest.raises(ValueError, match=r"body \d+: id \d+ is given twice"):
        load_panoptic(seq_dir)


def test_review_of_2d_files_that_do_not_fit_the_sequence(tmp_path, caplog):
    """A review of the 2D file loaders: a COCO results list run over part of the sequence
    scored the rest as misses without a word; 2D lying wholly outside the cameras' images (of
    another image size) was scored without a word; an empty results list (a camera that saw
    nobody) was told as a numbering to fix; a directory given as a COCO file read "file not
    found", a file given as an OpenPose directory "directory not found"."""
    show = make_show(image_size=(1032, 776), seed=5)
    write_4da(tmp_path / "Shelf", show)
    sequence = load_campus_shelf(tmp_path / "Shelf", "shelf")
    part = write_coco(tmp_path / "part", show, sequence.frames)
    for path in part:                                   # frames 0..7 of 0..11 run
        path.write_text(json.dumps([d for d in json.loads(path.read_text())
                                    if d["image_id"] < 8]))
    with caplog.at_level(logging.WARNING):
        attach_detections(sequence, "coco", part)
    assert "4 of the sequence's 12 frames lie outside the frames this results list names " \
        "(0..7; camera" in caplog.text and "frames 8..11" in caplog.text, caplog.text
    caplog.clear()
    empty = write_coco(tmp_path / "empty", show, sequence.frames)
    empty[0].write_text("[]")
    with caplog.at_level(logging.WARNING):
        scored = evaluate_sequence(attach_detections(sequence, "coco", empty))
    assert "no people in it at all" in caplog.text and scored.score.misses == 0
    caplog.clear()
    far = write_coco(tmp_path / "far", show, sequence.frames)
    doc = json.loads(far[1].read_text())
    for entry in doc:                                   # 2D of a 1920-wide image, shifted
        entry["keypoints"] = [v + 1100 if k % 3 == 0 else v
                              for k, v in enumerate(entry["keypoints"])]
    far[1].write_text(json.dumps(doc))
    with caplog.at_level(logging.WARNING):
        attach_detections(sequence, "coco", far)
    assert f"of camera {sequence.rig.names[1]}'s 2D keypoints lie outside its 1032x776 " \
        "image" in caplog.text, caplog.text
    with pytest.raises(ValueError, match="a directory; COCO keypoints are one JSON file per "
                                         "camera"):
        attach_detections(sequence, "coco", [tmp_path / "part"] * len(sequence.rig))
    with pytest.raises(ValueError, match="a file; OpenPose 2D is one directory of .json files"):
        attach_detections(sequence, "openpose", part)


def test_review_of_the_dataset_tools_session_61(show, tmp_path, capsys, caplog):
    """A review of the dataset tools (session 61):
    - a ground truth that projects into no camera (millimetres, another sequence's
      calibration) scored PCP 0 without a word: one WARN names it;
    - evaluation.json did not say which frames, actors, offset or gate were scored;
    - an actor given twice in a frame of gt.txt overwrote the first, an image id given twice
      in a COCO data set merged two frames' people, an --actors id not in the ground truth
      was dropped and the rest scored as if asked, --detections-frame-offset without
      --detections was ignored: each is one line now;
    - gt.txt saved as UTF-16 was "not a file of numbers"."""
    write_4da(tmp_path / "Shelf", show)
    argv = ["--format", "shelf", str(tmp_path / "Shelf")]
    assert eval_dataset.main(argv + ["--frames", "3:8", "--actors", "0,2", "--out",
                                     str(tmp_path / "o1")]) == 0
    summary = json.loads((tmp_path / "o1" / "evaluation.json").read_text())
    assert summary["frame_range"] == [3, 8] and summary["actors_requested"] == [0, 2]
    assert summary["detections_frame_offset"] == 0 and summary["max_ray_distance_m"] > 0
    for extra, told in ((["--actors", "0,9"], "actors [9] not in the ground truth (ids [0, 2])"),
                        (["--detections-frame-offset", "300"],
                         "--detections-frame-offset numbers the files of --detections")):
        assert eval_dataset.run_cli(eval_dataset.main, argv + extra + [
            "--out", str(tmp_path / "no")]) == 2
        assert told in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
    # the ground truth in millimetres: nobody in any camera's view
    from pose3d_ros.core.datasets import writers

    gt = tmp_path / "Shelf" / "gt.txt"
    mm = tmp_path / "mm"
    write_4da(mm, show)
    truth = load_4da_ground_truth(mm / "gt.txt")
    writers.save_4da_ground_truth(mm / "gt.txt", truth.points * 1000.0, truth.actor_ids)
    with caplog.at_level(logging.WARNING):
        assert eval_dataset.main(["--format", "shelf", str(mm), "--out",
                                  str(tmp_path / "o2")]) == 0
    assert any("no annotated person projects into any camera's image" in r.getMessage()
               for r in caplog.records), caplog.text
    # an actor twice in one frame
    twice = tmp_path / "twice"
    write_4da(twice, show)
    people = load_4da_ground_truth(twice / "gt.txt")
    writers.save_4da_ground_truth(twice / "gt.txt", people.points[:, [0, 0]],
                                  np.array([people.actor_ids[0]] * 2))
    with pytest.raises(ValueError, match="frame 0: actor 0 is given twice"):
        load_4da_ground_truth(twice / "gt.txt")
    # UTF-16, as Windows' "Unicode" saves it
    (twice / "gt.txt").write_text(gt.read_text(), encoding="utf-16")
    assert load_4da_ground_truth(twice / "gt.txt").actor_ids.tolist() == [0, 2]
    # a COCO data set whose image ids restart (two exports merged)
    [first, *_] = write_coco(tmp_path / "coco", show, np.arange(12), results=False)
    data = json.loads(first.read_text())
    data["images"][4]["id"] = data["images"][0]["id"]
    first.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="image 4: id .* is also the id of frame 0's image"):
        read_coco_keypoints(first, (show.rig[0].width, show.rig[0].height))
