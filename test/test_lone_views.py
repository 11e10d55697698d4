"""People whom one camera of a rig alone sees (core/lone_views.py, Pose3DPipeline lone_views):
found, placed and marked on real motion capture seen by a robot's outward cameras, and never a
second copy of a triangulated person."""
from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

from pose3d_ros.core.camera import CameraArrays
from pose3d_ros.core.evaluation import SkeletonTrack, stability
from pose3d_ros.core.floor_contact import FloorParams
from pose3d_ros.core.layouts import H36M17
from pose3d_ros.core.left_right import left_right_pairs
from pose3d_ros.core.lone_views import (
    LoneViewParams,
    handed_over_ids,
    kept_lone_people,
    projected_normalised,
    unexplained_detections,
)
from pose3d_ros.core.mocap_views import random_ring_rig
from pose3d_ros.core.monocular import create_monocular_method
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline
from pose3d_ros.core.rig_scenes import make_scene
from pose3d_ros.core.tracking import SkeletonTracker
from pose3d_ros.core.types import METHOD_LIFTER, METHOD_TRIANGULATION
from pose3d_ros.tools.fetch_mocap import load_mocap

TORSO = H36M17.indices(("left_shoulder", "right_shoulder", "left_hip", "right_hip"))


@pytest.fixture(scope="module")
def clips():
    return load_mocap()


def _standing(clips, x: float, y: float) -> np.ndarray:
    """(17, 3) a real mocap pose (walk clip, first frame) with its pelvis moved to x, y."""
    walk = next(c for c in clips if "walk" in c.name)
    pose = walk.joints[0].copy()
    pose[:, :2] += np.array([x, y]) - pose[0, :2]
    return pose


def test_only_detections_no_published_person_explains_are_left():
    clips = load_mocap()
    rig = random_ring_rig(3, np.random.default_rng(4), target=(0.0, 0.0, 1.0))
    arrays = CameraArrays.from_cameras(list(rig))
    published = _standing(clips, 0.0, 0.0)[None]            # triangulated this frame
    other = _standing(clips, 1.5, 0.3)                       # nobody triangulated them
    seen_a = projected_normalised(arrays, published)[:, 0]   # (V, 17, 2)
    seen_b = projected_normalised(arrays, other[None])[:, 0]
    swapped = seen_a[0].copy()
    pairs = left_right_pairs(H36M17)
    swapped[pairs[:, 0]], swapped[pairs[:, 1]] = seen_a[0][pairs[:, 1]], seen_a[0][pairs[:, 0]]
    fragment = np.where(np.arange(17)[:, None] < 5, seen_b[0], np.nan)
    xy = np.stack([seen_a[0] + 0.004, swapped, seen_b[0], fragment, seen_a[1]])
    score = np.where(np.isfinite(xy).all(-1), 0.9, 0.0)
    camera_of = np.array([0, 0, 0, 0, 1])
    used = np.array([False, False, False, False, True])
    left = unexplained_detections(arrays, xy, score, camera_of, used, published, TORSO,
                                  LoneViewParams(), min_score=0.3)
    # a's own view (noisy, and with left and right exchanged) is a; b is new; the fragment
    # has too few joints to be placed; the used view belongs to its group
    np.testing.assert_array_equal(left, [False, False, True, False, False])
    # with nobody published, every whole detection that is not used is left
    alone = unexplained_detections(arrays, xy, score, camera_of, used, np.zeros((0, 17, 3)),
                                   TORSO, LoneViewParams(), min_score=0.3)
    np.testing.assert_array_equal(alone, [True, True, True, False, False])


def test_a_lone_person_near_a_triangulated_one_or_a_better_seen_lone_one_goes():
    params = LoneViewParams(duplicate_distance_m=0.5)
    lone = np.array([[0.2, 0.0, 0.9], [3.0, 0.0, 0.9], [3.3, 0.0, 0.9], [3.2, 0.1, 0.9],
                     [np.nan, np.nan, np.nan]])
    camera = np.array([0, 1, 2, 1, 3])
    quality = np.array([9.0, 5.0, 8.0, 4.0, 7.0])
    viewpoints = np.array([[0.0, -3.0, 1.2], [3.0, -3.0, 1.2], [3.0, 3.0, 1.2],
                           [3.0, -3.0, 1.2], [0.0, 5.0, 1.2]])
    triangulated = np.array([[0.0, 0.0, 0.9]])
    keep = kept_lone_people(lone, camera, quality, viewpoints, triangulated, params)
    # 0 is the triangulated person; 1 and 3 are camera 2's better-seen person 2 (the same
    # camera's two people 1 and 3 would both stay); an unknown pelvis decides nothing
    np.testing.assert_array_equal(keep, [False, False, True, False, True])
    np.testing.assert_array_equal(
        kept_lone_people(lone[[1, 3]], np.array([1, 1]), quality[[1, 3]], viewpoints[[1, 3]],
                         np.zeros((0, 3)), params), [True, True])
    # two cameras side by side see one person along nearly one line, at depths 1 m apart:
    # one body (each pelvis on the other's viewing ray); a person 1 m beside it is another
    side = np.array([[0.0, 0.0, 1.2], [0.0, 0.2, 1.2], [0.0, 0.2, 1.2]])
    seen = np.array([[3.0, 0.1, 1.0], [4.0, 0.15, 1.0], [3.5, 1.2, 1.0]])
    np.testing.assert_array_equal(
        kept_lone_people(seen, np.array([0, 1, 1]), np.array([9.0, 8.0, 7.0]), side,
                         np.zeros((0, 3)), params), [True, False, True])


def test_one_body_two_cameras_see_stays_with_the_camera_that_placed_it():
    """A review (benchmarks/bench_handover.py): in the overlap of two cameras one body is a
    lone person of each, and the better seen went, frame by frame, to one camera and then the
    other, whose placements lie up to 1.5 m apart; the one published before now stays."""
    params = LoneViewParams(duplicate_distance_m=0.5)
    side = np.array([[0.0, 0.0, 1.2], [0.0, 0.2, 1.2]])
    seen = np.array([[3.0, 0.1, 1.0], [4.0, 0.15, 1.0]])        # one body, two depths
    quality = np.array([9.0, 8.0])
    none = np.zeros((0, 3))
    np.testing.assert_array_equal(
        kept_lone_people(seen, np.array([0, 1]), quality, side, none, params), [True, False])
    np.testing.assert_array_equal(
        kept_lone_people(seen, np.array([0, 1]), quality, side, none, params,
                         np.array([False, True])), [False, True])
    # both or neither published before: the better seen, as without the history
    for before in ([True, True], [False, False]):
        np.testing.assert_array_equal(
            kept_lone_people(seen, np.array([0, 1]), quality, side, none, params,
                             np.array(before)), [True, False])


def _id_changes(scene, found, within_m: float = 1.0) -> int:
    """How often the id of the published person nearest each true pelvis (within within_m)
    differs from the one before, over all true people."""
    changes = 0
    for p in range(scene.present.shape[1]):
        last = None
        for f, skeletons in enumerate(found):
            if not scene.present[f, p] or not skeletons.num_people:
                continue
            gap = np.linalg.norm(skeletons.positions[:, 0] - scene.truth[f, p, 0], axis=-1)
            nearest = int(np.argmin(np.where(np.isfinite(gap), gap, np.inf)))
            if gap[nearest] <= within_m:
                changes += last is not None and skeletons.ids[nearest] != last
                last = skeletons.ids[nearest]
    return changes


def test_people_in_the_overlap_of_two_robot_cameras_keep_their_id(clips):
    """robot_wide, 2 people, 150 frames: one walks through the overlap of two neighbours
    (0.2 m apart, their depth not measurable: both place the person the lone way). Measured:
    the id of the published person nearest each true one changed 12 times when the better-seen
    camera's placement was taken each frame, 4 times now (bench_handover.py on 12 scenes:
    camera changes 115 -> 65, 76 -> 89 % of them keeping the id)."""
    scene = make_scene("robot_wide", 2, 150, 1, clips)
    assert _id_changes(scene, _run(scene, True, floor=None)) <= 6


def test_a_lone_person_missed_for_a_frame_is_back_at_once(clips):
    """A missed detection restarted the image track's streak, and a lone person published for
    seconds then waited LoneViewParams.min_streak (6) sets to be placed again; the track kept
    its id, and now it is placed again as soon as it is confirmed (the set after)."""
    scene = make_scene("robot", 1, 60, 0, clips)
    seen = [v for v in range(len(scene.rig.cameras)) if (scene.sources[30][v] == 0).any()]
    assert len(seen) == 1                                 # one camera alone sees them
    v = seen[0]
    keep = scene.sources[30][v] != 0
    detections = [list(d) for d in scene.detections]
    detections[30][v] = detections[30][v].take(keep)      # the detector missed them once
    found = _run(replace(scene, detections=detections), True, floor=None)
    assert all(found[f].num_people for f in range(20, 30))   # published before the miss
    # frame 30: nobody to place; 31: the track is back but not confirmed; then placed
    assert all(found[f].num_people for f in range(32, 40))



def test_a_person_walking_from_one_robot_camera_into_the_next_keeps_their_id(clips):
    """robot, 1 person, seed 2: placed by one camera alone up to frame 107, unseen between the
    lenses, placed by the next camera from frame 128. The lifter's body sizes of the two
    differ by more than the 3D tracker's re-identification allows a body to (its size check,
    TrackerParams.reid_size_tolerance): the pipeline gives it the sizes of measured
    (triangulated) bodies only. With the lone people's in, bench_handover.py's robot scenes
    kept the id across 2 of 7 such hand-overs, 6 of 7 without."""
    from pose3d_ros.core.body_model import body_size_difference, bone_lengths
    from pose3d_ros.core.completion import CompletionParams
    from pose3d_ros.core.plausibility import checked_bone_pairs
    from pose3d_ros.core.tracking import TrackerParams

    scene = make_scene("robot", 1, 150, 2, clips)
    found = _run(scene, True, floor=None)
    bodies, ids = [], []
    for f in (107, 128):
        gap = np.linalg.norm(found[f].positions[:, 0] - scene.truth[f, 0, 0], axis=-1)
        nearest = int(np.nanargmin(gap))
        assert gap[nearest] < 1.0 and found[f].methods()[nearest] == METHOD_LIFTER
        bodies.append(found[f].positions[nearest])
        ids.append(int(found[f].ids[nearest]))
    assert all(not found[f].num_people for f in range(110, 125))     # unseen between
    bones = checked_bone_pairs(H36M17, CompletionParams().bone_check)
    assert body_size_difference(*bone_lengths(np.stack(bodies), bones)) \
        > TrackerParams().reid_size_tolerance
    assert ids[0] == ids[1]

def test_a_person_changing_method_is_handed_their_id():
    """A lone person and a triangulated person of the other set are one body when the
    triangulated pelvis lies on the lone one's viewing ray (one view places right in bearing,
    poorly in depth): the newcomer continues the id of the one who went, and only then."""
    params = LoneViewParams(duplicate_distance_m=0.5)
    camera = np.array([0.5, 0.0, 1.2])
    nan3 = np.full(3, np.nan)
    # last set: triangulated person 7 at (3, 0.2); this set: camera 0's new lone person,
    # placed 0.8 m too far along the ray through them, and a lone person elsewhere
    claims = handed_over_ids(np.array([7]), np.array([[3.0, 0.2, 0.9]]), nan3[None],
                             np.array([-1]),
                             np.array([[3.8, 0.26, 0.9], [0.0, 3.0, 0.9]]),
                             np.stack([camera, camera]), np.array([11, 12]), params)
    np.testing.assert_array_equal(claims, [7, 0])
    # person 7 still triangulated now: nobody takes their id
    np.testing.assert_array_equal(handed_over_ids(
        np.array([7]), np.array([[3.0, 0.2, 0.9]]), nan3[None], np.array([-1]),
        np.array([[3.05, 0.2, 0.9], [3.8, 0.26, 0.9]]), np.stack([nan3, camera]),
        np.array([-1, 11]), params), [0, 0])
    # into an overlap: lone person 4 of camera 0 (key 11) went, triangulated on its ray now
    np.testing.assert_array_equal(handed_over_ids(
        np.array([4]), np.array([[3.8, 0.26, 0.9]]), camera[None], np.array([11]),
        np.array([[3.0, 0.2, 0.9]]), nan3[None], np.array([-1]), params), [4])
    # ... unless that lone track is still published (two people on one ray)
    np.testing.assert_array_equal(handed_over_ids(
        np.array([4]), np.array([[3.8, 0.26, 0.9]]), camera[None], np.array([11]),
        np.array([[3.0, 0.2, 0.9], [3.8, 0.26, 0.9]]), np.stack([nan3, camera]),
        np.array([-1, 11]), params), [0, 0])


def test_the_tracker_gives_a_claimed_id_whatever_the_distance():
    tracker = SkeletonTracker()
    body = np.zeros((1, 17, 3)) + np.array([3.0, 0.0, 1.0])
    assert tracker.update(body, 0.0).tolist() == [1]
    assert tracker.update(body + [0.05, 0, 0], 1 / 30).tolist() == [1]     # walking
    moved = body + [1.0, 0.0, 0.0]                       # the same body placed 1 m further
    assert tracker.update(moved, 2 / 30).tolist() == [2]      # beyond the gate: a new id
    tracker = SkeletonTracker()
    tracker.update(body, 0.0)
    tracker.update(body + [0.05, 0, 0], 1 / 30)
    assert tracker.update(moved, 2 / 30, claims=np.array([1])).tolist() == [1]
    # the jump is no velocity: standing there, the person keeps the id
    assert tracker.update(moved, 3 / 30).tolist() == [1]
    # a claim of an id no track has is no claim
    assert tracker.update(moved, 4 / 30, claims=np.array([9])).tolist() == [1]


def test_a_person_walking_out_of_a_triangulated_corner_keeps_their_id(clips):
    """robot_large (120-degree lenses 0.7 m apart): a person walks from the overlap of two
    cameras, triangulated, into one camera's view, where the lone way places them
    LoneViewParams.min_streak sets later, 0.4 m from where triangulation had them (median of
    bench_handover.py's changes): beyond the 3D tracker's gate, they took a new id. The lone
    person lies on the viewing ray through the triangulated one and takes their id."""
    scene = make_scene("robot_large", 2, 150, 0, clips)
    found = _run(scene, True, floor=None)

    def nearest(f: int) -> tuple[int, int]:
        """(id, method) of the published person nearest person 1's pelvis at frame f."""
        skeletons = found[f]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            centre = np.nanmean(skeletons.positions, 1)
        gap = np.linalg.norm(centre - scene.truth[f, 1, 0], axis=-1)
        k = int(np.argmin(np.where(np.isfinite(gap), gap, np.inf)))
        assert gap[k] < 1.0
        return int(skeletons.ids[k]), int(skeletons.methods()[k])

    triangulated, lone = nearest(10), nearest(20)        # (measured: 9 frames between)
    assert triangulated[1] == METHOD_TRIANGULATION and lone[1] == METHOD_LIFTER
    assert lone[0] == triangulated[0]


def _run(scene, lone: bool | LoneViewParams, **options):
    if isinstance(lone, bool):
        lone = LoneViewParams() if lone else None
    options.setdefault("floor", FloorParams(height_m=0.0))
    params = PipelineParams(filtering=None, output_layout="h36m17", lone_views=lone,
                            **options)
    pipe = Pose3DPipeline([c.name for c in scene.rig.cameras],
                          {c.name: c for c in scene.rig.cameras}, frame_id="world",
                          params=params, lifter=create_monocular_method("lifter"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return [pipe.process_detections({c.name: d for c, d in zip(scene.rig.cameras, dets,
                                                                   strict=True)},
                                         f / scene.fps).skeletons
                for f, dets in enumerate(scene.detections)]


def test_a_robot_whose_cameras_look_outwards_finds_the_people_around_it(clips):
    """4 cameras of 90 degrees back to back, 4 people walking, running, dancing 1.5-5 m
    around (real motion capture, the measured 2D errors and false detections): without lone
    views the rig publishes nobody, with them most people, placed by the lifter on the
    floor and marked as one camera's."""
    scene = make_scene("robot", 4, 60, 0, clips)
    assert sum(s.num_people for s in _run(scene, lone=False)) == 0
    found = _run(scene, lone=True)
    root_errors, person_frames, methods = [], 0, set()
    for f, skeletons in enumerate(found):
        truth = scene.truth[f][scene.present[f]]
        person_frames += len(truth)
        if skeletons.num_people:
            methods |= set(skeletons.methods().tolist())
            assert (skeletons.num_views[np.isfinite(skeletons.positions).all(-1)] == 1).all()
            gap = np.linalg.norm(skeletons.positions[:, None, 0] - truth[None, :, 0], axis=-1)
            root_errors += gap.min(1).tolist()
    root_errors = np.array(root_errors)
    assert methods == {METHOD_LIFTER}
    track = SkeletonTrack(np.arange(len(found), dtype=np.int64) * 33_333_333, found)
    summary = stability(track).summary()               # what `evaluate` reports for a run
    assert summary["person-frames from one view"] == len(root_errors)
    # measured 2026-12-01: 160 of 180 person-frames, root error median 0.16 m, 90 % < 0.5 m
    assert len(root_errors) >= 0.7 * person_frames
    assert np.median(root_errors) < 0.25 and np.mean(root_errors < 0.5) > 0.8


def test_a_rig_that_sees_everyone_twice_publishes_the_same_people_with_lone_views(clips):
    """5 cameras on a ring, 4 people: everybody is triangulated, the leftovers are false
    detections and second boxes, and lone views add nobody."""
    scene = make_scene("5", 4, 60, 0, clips)
    without, with_lone = _run(scene, lone=False), _run(scene, lone=True)
    for a, b in zip(without, with_lone, strict=True):
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_array_equal(a.positions, b.positions)
        assert b.person_methods is None and b.method == METHOD_TRIANGULATION


def test_a_robot_whose_neighbour_cameras_share_corners_places_those_people_the_lone_way(clips):
    """4 cameras of 120 degrees back to back: two neighbours, 0.2 m apart, see the people
    at each corner along nearly one line, which fixes their depth poorly (over the 6 scenes
    of 2-6 people, triangulated: pelvis error median 0.29 m, 35 % of them more than 0.5 m
    off); triangulation leaves their joints out (triangulation.depth_gain), and with lone
    views they go the one-camera way."""
    scene = make_scene("robot_wide", 4, 60, 1, clips)

    def triangulated(frames) -> int:
        return sum(int((s.methods() == METHOD_TRIANGULATION).sum()) for s in frames)

    # without lone views hardly anybody: the neighbour pairs do not measure the corners'
    # depth (triangulation.depth_gain; 44 person-frames were triangulated before it, 3 now)
    assert triangulated(_run(scene, False)) <= 5
    found = _run(scene, True)
    errors = np.concatenate([
        np.linalg.norm(s.positions[:, None, 0] - scene.truth[f][scene.present[f]][None, :, 0],
                       axis=-1).min(1) for f, s in enumerate(found) if s.num_people])
    errors = errors[np.isfinite(errors)]
    # measured 2026-12-01: 39 triangulated person-frames without a parallax test, 1 with it; 163
    # published with a pelvis, root error median 0.31 m; with the lifter weights shipped
    # since session 22 (the documented recipe's), 157 and 0.36 m (over the benchmark's lone
    # rows as good as before: results_lifter.md, session 22)
    assert triangulated(found) <= 5 and len(errors) >= 150 and np.median(errors) < 0.40


def test_a_360_degree_head_publishes_no_depth_its_lenses_cannot_measure(clips):
    """A review: a 360-degree head of 6 cameras whose lenses are 2 cm apart (neighbours
    overlapping at their edges) triangulated the people its overlaps see, 2-5 m away, along
    rays 0.2-0.6 degrees apart: 14 person-frames of this scene, their 209 measured joints a
    median 2.3 m off (over 4 such scenes the people at 0.22 of their distance, confidence
    0.93).
    Such joints are not measured (triangulation.depth_gain): nobody is published as
    triangulated, and with lone views the people go the one-camera way."""
    scene = make_scene("head360", 4, 60, 0, clips)
    # the overlaps are used: in every frame some person is detected by two cameras
    shared = [any(sum((who == p).any() for who in scene.sources[f]) >= 2 for p in range(4))
              for f in range(scene.num_frames)]
    assert all(shared)
    def measured_errors(found) -> np.ndarray:
        """Distance (m) of every joint published as measured (num_views >= 2) to the
        nearest true person's same joint."""
        gaps = [np.nanmin(np.linalg.norm(scene.truth[f][scene.present[f]][:, joint]
                                         - skeletons.positions[p, joint], axis=-1))
                for f, skeletons in enumerate(found)
                for p, joint in zip(*np.nonzero(skeletons.num_views >= 2), strict=True)]
        return np.array(gaps)

    assert (measured_errors(_run(scene, lone=False)) < 0.5).all()
    # the node parameter triangulation.max_depth_gain: no limit publishes them as before
    unlimited = measured_errors(_run(scene, lone=False, max_depth_gain=np.inf))
    assert len(unlimited) > 100 and np.median(unlimited) > 1.5
    found = _run(scene, lone=True)
    assert all((s.methods() != METHOD_TRIANGULATION).all() for s in found)
    # measured: 176 of the 196 person-frames, placed by the lifter
    assert sum(s.num_people for s in found) >= 150


def test_lone_views_take_bad_input_without_a_crash(clips):
    """NaN keypoints, zero scores, a camera missing from some sets, and the clock jumping
    back: every set is answered, every published joint is finite or NaN as a whole."""
    scene = make_scene("robot", 2, 40, 1, clips)
    pipe = Pose3DPipeline([c.name for c in scene.rig.cameras],
                          {c.name: c for c in scene.rig.cameras}, frame_id="world",
                          params=PipelineParams(output_layout="h36m17",
                                                lone_views=LoneViewParams(),
                                                floor=FloorParams(height_m=0.0)),
                          lifter=create_monocular_method("lifter"))
    rng = np.random.default_rng(0)
    published = 0
    for f, dets in enumerate(scene.detections):
        sets = {}
        for c, d in zip(scene.rig.cameras, dets, strict=True):
            if f % 7 == 3 and c.name == "cam02":
                continue                                      # cam02 missing from this set
            d = d.take(np.arange(d.num_people))               # a copy to spoil
            if d.num_people and f % 5 == 0:
                d.keypoints[0, rng.integers(0, 17, 6)] = np.nan
                d.scores[-1] = 0.0
            sets[c.name] = d
        stamp = f / scene.fps if f < 25 else (f - 20) / scene.fps   # the clock jumps back
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            skeletons = pipe.process_detections(sets, stamp).skeletons
        finite = np.isfinite(skeletons.positions)
        assert (finite.all(-1) | ~finite.any(-1)).all()      # a joint is whole or NaN
        assert (skeletons.num_views <= 1).all()
        published += skeletons.num_people
    assert published > 0
