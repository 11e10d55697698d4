"""Left/right label confusions: the shared test and exchange (core/left_right.py), the image
tracker keeping a track's labelling continuous, and the one-camera chain on the demo camera
whose 2D detector takes the person for turned round (single, cam02, frames 41-73)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from pose3d_ros.core.evaluation import SkeletonTrack, stability
from pose3d_ros.core.layouts import COCO17, H36M17, convert_joints
from pose3d_ros.core.left_right import (
    body_left,
    crossed_limbs_3d,
    crossed_pairs,
    exchange_detections,
    exchange_pairs,
    handedness,
    left_right_pairs,
)
from pose3d_ros.core.monocular import create_monocular_method
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline
from pose3d_ros.core.tracking import ImageTracker, ImageTrackerParams
from pose3d_ros.core.types import Detections2D

FPS = 30.0


def test_pairs_are_the_layouts_left_right_joints():
    pairs = left_right_pairs(H36M17)
    names = H36M17.joint_names
    assert len(pairs) == 6
    for left, right in pairs:
        assert names[left].startswith("left_") and names[right] == "right_" + names[left][5:]
    assert len(left_right_pairs(COCO17)) == 8          # eyes, ears and the six limb joints


def test_crossed_pairs_needs_a_clear_gain_and_exchange_swaps_every_per_joint_array():
    pairs = left_right_pairs(H36M17)
    rng = np.random.default_rng(3)
    expected = rng.uniform(0, 500, (2, 17, 2))
    observed = expected + rng.normal(0, 2, expected.shape)
    knees = np.flatnonzero([H36M17.joint_names[a] == "left_knee" for a, _ in pairs])[0]
    swapped = np.zeros((2, len(pairs)), bool)
    swapped[1, knees] = True
    observed = exchange_pairs(observed, pairs, swapped)           # person 1's knees mixed up
    found = crossed_pairs(observed, expected, pairs, gain=0.5, min_error=10.0)
    assert found.tolist() == swapped.tolist()
    # noise alone is never a swap, and a swap inside min_error is left alone
    assert not crossed_pairs(expected + 1.0, expected, pairs, gain=0.5, min_error=1.0).any()
    assert not crossed_pairs(observed, expected, pairs, gain=0.5, min_error=1e4).any()
    # unknown joints decide nothing
    observed[1, pairs[knees, 0]] = np.nan
    assert not crossed_pairs(observed, expected, pairs, gain=0.5, min_error=10.0)[1].any()

    scores = np.tile(np.linspace(0.1, 0.9, 17, dtype=np.float32), (2, 1))
    world = rng.normal(0, 0.3, (2, 17, 3)).astype(np.float32)
    found = Detections2D(expected.astype(np.float32), scores, np.zeros((2, 4), np.float32),
                         np.ones(2, np.float32), H36M17, (640, 480), world)
    found = found.with_normalised(expected / 500.0)
    out = exchange_detections(found, pairs, swapped)
    a, b = pairs[knees]
    for name in ("keypoints", "scores", "world", "normalised"):
        before, after = getattr(found, name), getattr(out, name)
        np.testing.assert_array_equal(after[1, a], before[1, b])
        np.testing.assert_array_equal(after[1, b], before[1, a])
        np.testing.assert_array_equal(after[0], before[0])
    assert exchange_detections(found, pairs, np.zeros_like(swapped)) is found


def _walker(k: int) -> np.ndarray:
    """(17, 2) pixels: a person facing the camera, limbs apart, moving 6 px right a frame."""
    from test_onecam import _standing_h36m  # the same standing body as the plausibility test
    return _standing_h36m()[:, :2] * 400 + [300 + 6 * k, 200]


def _arms_raised(body: np.ndarray) -> np.ndarray:
    """(17, 2) pixels, y down: both arms turned 90 degrees about the shoulders, outwards."""
    out = body.copy()
    for side, turn in (("left", np.array([[0, 1], [-1, 0]])),
                       ("right", np.array([[0, -1], [1, 0]]))):
        shoulder = body[H36M17.index(f"{side}_shoulder")]
        for joint in ("elbow", "wrist"):
            j = H36M17.index(f"{side}_{joint}")
            out[j] = shoulder + turn @ (body[j] - shoulder)
    return out


def test_tracker_keeps_the_labels_through_a_short_confusion_and_yields_to_a_long_one():
    pairs = left_right_pairs(H36M17)
    flip = np.ones((1, len(pairs)), bool)
    tracker = ImageTracker(ImageTrackerParams(relabel_window_s=0.5))
    swaps = []
    for k in range(40):
        person = _walker(k)[None]
        confused = 10 <= k < 16 or k >= 20          # 0.2 s, then for good
        seen = exchange_pairs(person, pairs, flip) if confused else person
        update = tracker.update_labelled(seen, k / FPS, H36M17)
        assert update.ids.tolist() == [1]
        swaps.append(bool(update.swapped.all()))
        assert update.swapped.all() or not update.swapped.any()
    # the short confusion is undone; the long one for a while, until the track would have
    # overridden the detector for over half its recent time: then the detector's labels win
    relabelled = [k for k in range(40) if swaps[k]]
    assert relabelled[:6] == list(range(10, 16)), relabelled
    held = relabelled[6:]
    assert held == list(range(20, 20 + len(held))) and 3 <= len(held) <= 12, relabelled
    # arms raised sideways in one frame while the detector mixes the whole body up: the elbows
    # and wrists moved too far for their positions to tell, their image bones from the
    # (clearly exchanged) shoulders do
    raised = ImageTracker()
    for k in range(11):
        person = _walker(k)
        if k == 10:
            person = _arms_raised(person)
        seen = exchange_pairs(person[None], pairs, flip) if k == 10 else person[None]
        update = raised.update_labelled(seen, k / FPS, H36M17)
    assert update.swapped.all(), update.swapped
    # a track back after a gap takes the detector's labels: its limbs have moved meanwhile
    back = ImageTracker()
    for k in range(13):
        people = np.zeros((0, 17, 2)) if k == 10 else _walker(k)[None]
        seen = exchange_pairs(people, pairs, flip) if k >= 11 else people
        update = back.update_labelled(seen, k / FPS, H36M17)
        assert not update.swapped.any() and (k == 10 or update.ids.tolist() == [1])
    # relabelling off: the detector's labels as they come
    off = ImageTracker(ImageTrackerParams(relabel_window_s=0.0))
    for k in range(12):
        seen = exchange_pairs(_walker(k)[None], pairs, flip) if k == 11 else _walker(k)[None]
        assert not off.update_labelled(seen, k / FPS, H36M17).swapped.any()


def test_a_track_born_on_exchanged_frames_takes_the_detectors_labels_when_they_change():
    """A track born while the detector has the person the wrong way round has no labelling of
    its own: when the detector's labels change within its first quarter of the window they
    are taken, not undone (the motion-capture scene's seed 2: held for 0.7 s after the
    detector was right, benchmarks/results_onecam.md session 58). An older track keeps its
    labels through the same change."""
    pairs = left_right_pairs(H36M17)
    flip = np.ones((1, len(pairs)), bool)
    for born_wrong, swaps_expected in ((True, False), (False, True)):
        tracker = ImageTracker()                           # relabel_window_s 1 s
        for k in range(20):
            person = _walker(k)[None]
            exchanged = k < 3 if born_wrong else 12 <= k < 15
            seen = exchange_pairs(person, pairs, flip) if exchanged else person
            update = tracker.update_labelled(seen, k / FPS, H36M17)
            if born_wrong and k >= 3:
                assert not update.swapped.any(), k        # the detector's, right again
            if not born_wrong and exchanged:
                assert update.swapped.all() == swaps_expected, k   # 0.4 s old: undone


@lru_cache(maxsize=2)
def _demo_recording(name: str, detector: str, per_video: bool):
    """A recording's cached 2D (per camera; per_video: each video's own cache, as
    test_onecam's) and its 4-camera triangulation (60 fps)."""
    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.data_paths import calibration_path, video_paths
    from pose3d_ros.core.detection.cache import detect_video_set

    rig = load_rig(calibration_path(name))
    videos = video_paths(name)
    per_camera = ([detect_video_set([v], detector)[0] for v in videos] if per_video
                  else detect_video_set(videos, detector))
    reference = Pose3DPipeline(rig.names, {c.name: c for c in rig}, frame_id=rig.frame_id,
                               params=PipelineParams(output_layout="h36m17", filtering=None))
    frames = range(min(len(d.num_people) for d in per_camera))
    truth = [reference.process_detections({c.name: per_camera[k].frame(t)
                                           for k, c in enumerate(rig)}, 10 + t / 60).skeletons
             for t in frames]
    return rig, per_camera, truth


def _single_demo():
    """The single recording's cached BlazePose 2D and its 4-camera triangulation (60 fps)."""
    return _demo_recording("single", "blazepose", False)


def _opposite_pairs(rig, per_camera, truth, camera_index: int, stride: int,
                    min_score: float | None = None) -> dict[str, int]:
    """One camera's people through an image tracker at 60 / stride fps: the H36M-17 left/right
    pairs labelled opposite to the 4-camera reference (the nearest reference person's
    projection), as detected and as the tracker relabels them. min_score: the tracker sees
    only joints of that score or more (as the pipeline gives them), else every joint."""
    from pose3d_ros.core.error_model import detect_swaps, person_scale

    camera, detections = rig[camera_index], per_camera[camera_index]
    pairs = left_right_pairs(detections.layout)
    tracker = ImageTracker()
    wrong = {"detector": 0, "tracked": 0}
    for t in range(0, len(truth), stride):
        found = detections.frame(t)
        seen = found.keypoints if min_score is None else np.where(
            (found.scores >= min_score)[..., None], found.keypoints, np.nan)
        update = tracker.update_labelled(seen, 10 + t / 60, detections.layout)
        if not truth[t].num_people or not found.num_people:
            continue
        expected = camera.project(truth[t].positions)                      # (R, 17, 2)
        relabelled = exchange_pairs(found.keypoints, pairs, update.swapped)
        for raw, fixed in zip(found.keypoints, relabelled, strict=True):
            as_found = convert_joints(raw[None].astype(np.float64), detections.layout, H36M17)
            nearest = int(np.argmin(np.nanmean(np.linalg.norm(expected - as_found, axis=-1),
                                               axis=-1)))
            reference = expected[nearest][None]
            for label, keypoints in (("detector", raw), ("tracked", fixed)):
                person = convert_joints(keypoints[None].astype(np.float64), detections.layout,
                                        H36M17)
                wrong[label] += int(detect_swaps(reference, person,
                                                 person_scale(reference)).sum())
    return wrong


def test_cam02_whole_body_confusion_is_undone_and_its_bones_stay_steady():
    """cam02 of the single recording alone at 30 fps: BlazePose takes the person, who faces
    the camera, for one seen from behind in frames 41-59 (every pair exchanged against the
    4-camera reference, its own 3D turned round too) and mixes limbs up to frame 73; before
    the image tracker kept the labels continuous, the published bones shrank and grew through
    each exchange (One Euro filtering across it): bone-length CV 11.4 % (detector_3d) and
    10.0 % (lifter)."""
    rig, per_camera, truth = _single_demo()
    wrong = _opposite_pairs(rig, per_camera, truth, 1, 2)
    # measured 2026-11-30: 70 pairs against 2 (of 50 frames x 6 pairs); 2026-12-07 78 / 3
    assert wrong["detector"] >= 50 and wrong["tracked"] <= 6, wrong
    # the same at 60 fps (100 frames): 184 against 32 before labels continued whole views
    # from clearly labelled frames only (session 58), 3 since
    wrong = _opposite_pairs(rig, per_camera, truth, 1, 1)
    assert wrong["detector"] >= 150 and wrong["tracked"] <= 10, wrong

    camera, detections = rig["cam02"], per_camera[1]
    T = len(truth)
    for method in ("detector_3d", "lifter"):
        pipeline = Pose3DPipeline([camera.name], {camera.name: camera}, frame_id=rig.frame_id,
                                  lifter=create_monocular_method(method),
                                  params=PipelineParams(output_layout="h36m17"))
        results = [pipeline.process_detections({camera.name: detections.frame(t)},
                                               10 + t / 60) for t in range(0, T, 2)]
        track = SkeletonTrack(np.round((10 + np.arange(0, T, 2) / 60) * 1e9).astype(np.int64),
                              [r.skeletons for r in results])
        steady = stability(track, viewpoint=camera.center).summary()
        # measured 2026-11-30: 3.1 % (detector_3d), 1.8 % (lifter); target 8 %
        assert steady["bone-length CV median"] <= 0.08, (method, steady)


def test_a_half_exchanged_frame_does_not_leave_the_track_half_exchanged():
    """The default back-end's 2D of the two-person recording, cam02 alone at 60 fps, as the
    pipeline gives it to its image tracker (joints of score >= 0.3): the man, seen from
    behind, taken as facing the camera in runs of frames, with frames between in which only
    some pairs are exchanged. Continued pair by pair, such a frame's mixture was carried on
    for the rest of the run (52 pairs opposite to the 4-camera reference after relabelling;
    single's cam02 with this back-end: 272 after against 175 as detected); a frame's labels
    are now continued only from frames whose labelling was clear as a whole (10)."""
    from pose3d_ros.core.detection import DEFAULT_DETECTOR

    rig, per_camera, truth = _demo_recording("multi", DEFAULT_DETECTOR, True)
    wrong = _opposite_pairs(rig, per_camera, truth, 1, 1, min_score=0.3)
    assert wrong["detector"] >= 100 and wrong["tracked"] <= 20, wrong


def _bodies(count: int = 6) -> np.ndarray:
    """(count, 17, 3) H36M-17 people (the canonical body) with the left arm raised forward and
    bent up, the right arm hanging, turned and placed at random; their own bone lengths."""
    from scipy.spatial.transform import Rotation

    from pose3d_ros.core.body_model import canonical_pose

    body = canonical_pose(H36M17).astype(np.float64)
    ls, le, lw = H36M17.indices(["left_shoulder", "left_elbow", "left_wrist"])
    upper, forearm = np.linalg.norm(body[le] - body[ls]), np.linalg.norm(body[lw] - body[le])
    body[le] = body[ls] + [0.0, upper, 0.0]                  # forward (y), then up (z)
    body[lw] = body[le] + [0.0, 0.0, forearm]
    rng = np.random.default_rng(5)
    turns = Rotation.random(count, random_state=7).as_matrix()
    return np.einsum("nij,kj->nki", turns, body) + rng.normal(size=(count, 1, 3))


def _exchanged(points: np.ndarray, *names: str) -> np.ndarray:
    """points with the left/right pairs of `names` (e.g. "wrist") exchanged."""
    out = points.copy()
    for name in names:
        a, b = H36M17.indices([f"left_{name}", f"right_{name}"])
        out[:, [a, b]] = out[:, [b, a]]
    return out


def _flags(swapped: np.ndarray) -> set[str]:
    pairs = left_right_pairs(H36M17)
    return {H36M17.joint_names[pairs[k, 0]][len("left_"):]
            for k in np.flatnonzero(swapped.any(0))}


def test_a_limb_hung_from_the_wrong_side_in_3d_is_found_and_the_right_pair_named():
    """crossed_limbs_3d on bodies with one arm raised: the wrists alone exchanged -> the
    wrists; the elbows alone (between right shoulders and wrists) -> the elbows; the whole
    arm (elbows and wrists) -> both; the shoulders alone (the torso mirrored, the arms right)
    -> the shoulders, not the arms; a body as labelled, or a pair no view disputed
    (contested), -> nothing. (Legs hanging straight under the hips tell little: a knee
    label exchanged there changes a thigh by 4 cm.)"""
    bodies = _bodies()
    assert not crossed_limbs_3d(bodies, H36M17).any()
    left = body_left(bodies, H36M17)
    hands = handedness(bodies, left, left_right_pairs(H36M17)[[0, 3]])   # hips, shoulders
    assert (hands > 0.9).all(), hands
    for exchanged, expected in ((("wrist",), {"wrist"}), (("elbow",), {"elbow"}),
                                (("elbow", "wrist"), {"elbow", "wrist"}),
                                (("shoulder",), {"shoulder"})):
        found = crossed_limbs_3d(_exchanged(bodies, *exchanged), H36M17)
        assert _flags(found) == expected, (exchanged, _flags(found))
        assert (found.sum(1) == len(expected)).all(), (exchanged, found.sum(1))
    # only pairs that some view disputed may be exchanged
    none = np.zeros((len(bodies), len(left_right_pairs(H36M17))), bool)
    assert not crossed_limbs_3d(_exchanged(bodies, "wrist"), H36M17, contested=none).any()


def test_shoulders_the_wrong_way_round_with_their_arms_are_exchanged_whole():
    """Two of four views confusing a person's left and right alike (shoulders, elbows and
    wrists) leave a 3D body whose upper half is a mirror image of itself: every bone has its
    length, so no limb crosses its parent (the in-house 5 cameras x 4 people lost 1.2 PCP
    points to it, benchmarks/results_multiview.md 6z3). The shoulders' handedness against the
    body's own left (hips, nose) says it: all three pairs are exchanged back. Not where no
    view disputed the shoulders."""
    bodies = _bodies()
    mirrored = _exchanged(bodies, "shoulder", "elbow", "wrist")
    found = crossed_limbs_3d(mirrored, H36M17)
    assert _flags(found) == {"shoulder", "elbow", "wrist"}, _flags(found)
    assert (found.sum(1) == 3).all()
    pairs = left_right_pairs(H36M17)
    assert np.allclose(exchange_pairs(mirrored, pairs, found), bodies)
    shoulders = int(np.flatnonzero(pairs[:, 0] == H36M17.index("left_shoulder"))[0])
    disputed = np.ones_like(found)
    disputed[:, shoulders] = False
    assert not crossed_limbs_3d(mirrored, H36M17, contested=disputed)[:, shoulders].any()


def test_a_parent_of_several_children_is_exchanged_once():
    """BlazePose-33's wrists are the parent of three pairs (pinky, index, thumb): a review of
    the first version found that each child judging the wrists wrong exchanged them again
    (three times: once; twice: not at all). The exchange takes each pair once per level;
    a BlazePose-33 body with its hands exchanged gets the hands back, and nothing else."""
    from pose3d_ros.core.body_model import canonical_pose
    from pose3d_ros.core.layouts import BLAZEPOSE33
    from pose3d_ros.core.left_right import _exchange

    pairs = left_right_pairs(BLAZEPOSE33)
    wrist = int(np.flatnonzero(pairs[:, 0] == BLAZEPOSE33.index("left_wrist"))[0])
    points = canonical_pose(BLAZEPOSE33)[None].astype(np.float64)
    before = points.copy()
    swapped = np.zeros((1, len(pairs)), bool)
    _exchange(points, swapped, pairs, np.ones((1, 3), bool), np.array([wrist] * 3))
    assert np.flatnonzero(swapped[0]).tolist() == [wrist]
    a, b = pairs[wrist]
    assert np.array_equal(points[0, [a, b]], before[0, [b, a]])
    # a raised arm with its hand exchanged with the hanging one: the three hand pairs back
    body = canonical_pose(BLAZEPOSE33).astype(np.float64)
    ls, le, lw = BLAZEPOSE33.indices(["left_shoulder", "left_elbow", "left_wrist"])
    hand = BLAZEPOSE33.indices(["left_pinky", "left_index", "left_thumb"])
    upper = np.linalg.norm(body[le] - body[ls])
    forearm = np.linalg.norm(body[lw] - body[le])
    offsets = body[hand] - body[lw]                  # the hand below the wrist, turned up
    body[le] = body[ls] + [0.0, upper, 0.0]
    body[lw] = body[le] + [0.0, 0.0, forearm]
    body[hand] = body[lw] + offsets * [1.0, 1.0, -1.0]
    hands = [int(np.flatnonzero(pairs[:, 0] == BLAZEPOSE33.index(f"left_{n}"))[0])
             for n in ("pinky", "index", "thumb")]
    mixed = body.copy()
    for k in hands:
        mixed[pairs[k]] = mixed[pairs[k][::-1]]
    assert not crossed_limbs_3d(body[None], BLAZEPOSE33).any()
    assert np.flatnonzero(crossed_limbs_3d(mixed[None], BLAZEPOSE33)[0]).tolist() == hands


def test_folded_arms_keep_their_labels():
    """Each wrist at the other elbow, every bone at its length: distances alone would call
    the wrists exchanged (each is 2 cm from the other side's elbow), the bone lengths do
    not."""
    from pose3d_ros.core.plausibility import reference_body

    body = _bodies(1)[0]
    ref = reference_body(H36M17)
    bone = {frozenset(b): n for b, n in zip(ref.bones.tolist(), ref.lengths, strict=True)}
    ls, rs, le, re_, lw, rw = H36M17.indices(["left_shoulder", "right_shoulder", "left_elbow",
                                              "right_elbow", "left_wrist", "right_wrist"])
    forearm, upper = bone[frozenset((le, lw))], bone[frozenset((ls, le))]
    forearm *= np.linalg.norm(body[le] - body[lw]) / forearm        # this body's own lengths
    upper *= np.linalg.norm(body[ls] - body[le]) / upper
    lateral = (body[ls] - body[rs]) / np.linalg.norm(body[ls] - body[rs])
    up = np.array([0.0, 0.0, 1.0])
    up = up - np.dot(up, lateral) * lateral
    up /= np.linalg.norm(up)
    forward = np.cross(up, lateral)
    middle = 0.5 * (body[ls] + body[rs])
    for side, shoulder, elbow in ((1.0, ls, le), (-1.0, rs, re_)):
        # the elbows one forearm apart in front of the chest, each upper arm at its length
        across = side * 0.5 * forearm - np.dot(body[shoulder] - middle, lateral)
        rest = np.sqrt(upper ** 2 - across ** 2)
        body[elbow] = body[shoulder] + across * lateral + rest * (0.6 * forward - 0.8 * up)
    body[lw] = body[re_] + 0.02 * up
    body[rw] = body[le] + 0.02 * up
    assert abs(np.linalg.norm(body[lw] - body[le]) - forearm) < 0.03
    assert np.linalg.norm(body[lw] - body[re_]) < 0.03
    assert not crossed_limbs_3d(body[None], H36M17).any()


def test_without_the_evidence_no_correct_pair_is_exchanged():
    """Found by a review: below the torso the child was exchanged whenever the parent was not
    clearly the wrong one, so (1) a body without a face (nose unseen: no body_left) with its
    elbows mislabelled had its correct wrists exchanged too, and (2) moving people with their
    knees mislabelled (legs apart front to back: little handedness) had their correct ankles
    exchanged. Now a child needs its own handedness not clearly the better one; without a
    face, nothing below the torso moves. (3) Layouts the canonical body cannot be brought to
    (BODY-25, Campus-14, Shelf-15) raised; now nothing is exchanged there."""
    from pose3d_ros.core.layouts import LAYOUTS
    from pose3d_ros.core.synthetic import random_poses

    faceless = _exchanged(_bodies(), "elbow")
    faceless[:, H36M17.index("nose")] = np.nan
    assert not crossed_limbs_3d(faceless, H36M17).any()
    pairs = left_right_pairs(COCO17)
    walkers = random_poses(40, 30, np.random.default_rng(0), layout=COCO17).reshape(-1, 17, 3)
    for name in ("knee", "ankle", "hip"):
        k = int(np.flatnonzero(pairs[:, 0] == COCO17.index(f"left_{name}"))[0])
        mislabelled = np.zeros((len(walkers), len(pairs)), bool)
        mislabelled[:, k] = True
        found = crossed_limbs_3d(exchange_pairs(walkers, pairs, mislabelled), COCO17)
        assert not (found & ~mislabelled).any(), (name, np.nonzero(found & ~mislabelled))
    for layout in LAYOUTS.values():
        bodies = np.random.default_rng(1).normal(size=(3, layout.num_joints, 3))
        found = crossed_limbs_3d(bodies, layout)
        assert found.shape == (3, len(left_right_pairs(layout)))
