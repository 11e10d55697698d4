"""Tracking: stable ids through crossings, re-identification, forgetting."""
from __future__ import annotations

import numpy as np
import pytest

from pose3d_ros.core.metrics import id_switches
from pose3d_ros.core.tracking import CentreHistory, SkeletonTracker, TrackerParams


def _person(centre, rng, joints=17):
    return np.asarray(centre, float) + rng.normal(scale=0.15, size=(joints, 3))


def test_ids_are_stable_when_two_people_pass_close_and_order_shuffles():
    rng = np.random.default_rng(1)
    body_a, body_b = _person([0, 0, 1], rng), _person([0, 0, 1], rng)
    tracker = SkeletonTracker(TrackerParams(max_distance_m=0.4))
    reference, predicted = [], []
    for k in range(120):
        t = k / 30
        # A walks +x, B walks -x; they pass 0.35 m apart at t = 2 s.
        a = body_a + [t - 2.0, 0.175, 0]
        b = body_b + [2.0 - t, -0.175, 0]
        order = rng.permutation(2)
        people = np.stack([a, b])[order]
        ids = tracker.update(people, t)
        reference.append(np.array([0, 1])[order])
        predicted.append(ids)
    assert id_switches(reference, predicted) == 0
    assert tracker.stats.tracks_started == 2


def test_missing_joints_and_nobody_frames_are_fine():
    rng = np.random.default_rng(2)
    body = _person([1, 2, 1], rng)
    tracker = SkeletonTracker()
    first = tracker.update(body[None], 0.0)
    partial = body.copy()
    partial[:10] = np.nan
    assert tracker.update(partial[None], 0.033).tolist() == first.tolist()
    assert tracker.update(np.zeros((0, 17, 3)), 0.066).shape == (0,)
    assert tracker.update(body[None], 0.1).tolist() == first.tolist()


def test_reidentification_within_window_and_new_id_after_it():
    rng = np.random.default_rng(3)
    body = _person([0, 0, 1], rng)
    tracker = SkeletonTracker(TrackerParams(reid_window_s=1.0, gate_growth_mps=0.5))
    first = tracker.update(body[None], 0.0)
    for k in range(1, 10):
        tracker.update(np.zeros((0, 17, 3)), k * 0.05)
    back = tracker.update((body + [0.3, 0, 0])[None], 0.6)   # gone 0.6 s, moved 0.3 m
    assert back.tolist() == first.tolist() and tracker.stats.reidentified == 1
    for k in range(13, 40):                                  # sets without the person
        tracker.update(np.zeros((0, 17, 3)), k * 0.05)
    later = tracker.update((body + [0.3, 0, 0])[None], 2.0)  # gone 1.4 s > window
    assert later[0] != first[0] and tracker.stats.tracks_forgotten == 1


def test_far_person_gets_a_new_id_and_velocity_prediction_helps():
    rng = np.random.default_rng(4)
    body = _person([0, 0, 1], rng)
    tracker = SkeletonTracker(TrackerParams(max_distance_m=0.2))
    ids = [tracker.update((body + [3.0 * k / 30, 0, 0])[None], k / 30)[0] for k in range(30)]
    assert len(set(ids)) == 1  # 0.1 m per frame, gate 0.2 m: prediction keeps the id
    jump = tracker.update((body + [9.0, 0, 0])[None], 31 / 30)
    assert jump[0] != ids[0]


def test_two_updates_a_few_milliseconds_apart_do_not_split_a_track():
    """Found by an audit looping the multi demo into a node that kept up at 5 Hz: two sets
    17 ms apart, the second 10 cm off by noise, read as a velocity of metres per second, and
    the prediction 0.3 s later lost the person (a new id). A short interval's step weighs in
    proportionally less (smoothed_velocity)."""
    rng = np.random.default_rng(5)
    body = _person([0, 0, 1], rng)
    stamps = [0.0, 0.2, 0.4, 0.6, 0.617, 0.917, 1.15]
    noise = {0.617: [-0.10, 0, 0]}                    # one noisy reading, 17 ms after the last
    tracker = SkeletonTracker()
    ids = [tracker.update((body + [0.5 * t, 0, 0] + np.array(noise.get(t, [0, 0, 0])))[None],
                          t)[0] for t in stamps]       # walking at 0.5 m/s
    assert len(set(ids)) == 1, ids
    # at 30 fps and slower nothing changes: the step of a full frame keeps its whole weight
    from pose3d_ros.core.tracking import VELOCITY_REFERENCE_INTERVAL_S, smoothed_velocity
    previous, step = np.array([[0.5, 0, 0]]), np.array([[1.5, 0, 0]])
    for dt in (VELOCITY_REFERENCE_INTERVAL_S, 0.2):
        np.testing.assert_allclose(smoothed_velocity(previous, step, np.array([[dt]]), 0.5),
                                   [[1.0, 0, 0]])
    np.testing.assert_allclose(smoothed_velocity(
        previous, step, np.array([[VELOCITY_REFERENCE_INTERVAL_S / 4]]), 0.5), [[0.625, 0, 0]])


def test_clock_going_back_restarts_and_bad_input_is_rejected():
    tracker = SkeletonTracker()
    tracker.update(np.zeros((1, 3, 3)), 5.0)
    tracker.update(np.zeros((1, 3, 3)), 1.0)
    assert tracker.stats.tracks_started == 1  # reset clears the counters with the tracks
    with pytest.raises(ValueError, match=r"\(P, J, 3\)"):
        tracker.update(np.zeros((3, 3)), 2.0)
    with pytest.raises(ValueError, match="max_distance_m"):
        TrackerParams(max_distance_m=0)


def test_centre_history_slope_over_each_tracks_last_span():
    """Exact slopes on straight paths, over each track's own last window before its latest
    observation (however long ago), with older points, NaN centres and other tracks ignored."""
    history = CentreHistory(2)
    history.add(3)
    for k in range(40):                      # more than SLOTS: the ring wraps
        t = k / 30.0
        centres = np.array([[100.0 - 400.0 * t, 50.0 + 20.0 * t],
                            # track 1 turned round at t = 0.5 s
                            [300.0 + 200.0 * min(t, 0.5) - 100.0 * max(t - 0.5, 0.0), 10.0],
                            [np.nan, np.nan]])            # track 2: never a visible joint
        history.push(np.arange(3), t, centres)
    velocity = history.velocity(0.5)
    np.testing.assert_allclose(velocity[0], [-400.0, 20.0], atol=1e-9)
    np.testing.assert_allclose(velocity[1], [-100.0, 0.0], atol=1e-9)   # only after the turn
    np.testing.assert_array_equal(velocity[2], [0.0, 0.0])             # nothing to fit
    history.select(np.array([False, True, False]))
    np.testing.assert_allclose(history.velocity(0.5), [[-100.0, 0.0]], atol=1e-9)



def test_a_stream_slower_than_the_reidentification_window_keeps_its_ids():
    """A person seen at every update of a stream slower than reid_window_s (a camera set
    every 2.5 s: a throttled topic, a slow detector) keeps one id; before, every track was
    forgotten at the next update (its last sighting older than the window) and each update
    started a new id. A person missed once at that rate is still forgotten (lost for longer
    than the window), and the gate does not grow past the window's width."""
    rng = np.random.default_rng(6)
    body = _person([0, 0, 1], rng)
    tracker = SkeletonTracker(TrackerParams(reid_window_s=2.0, gate_growth_mps=1.0))
    ids = [tracker.update((body + [0.4 * k, 0, 0])[None], 2.5 * k)[0] for k in range(6)]
    assert len(set(ids)) == 1 and tracker.stats.tracks_started == 1
    tracker.update(np.zeros((0, 17, 3)), 15.0)                  # missed once, 2.5 s
    assert tracker.update((body + [2.0, 0, 0])[None], 17.5)[0] != ids[0]
    far = tracker.update((body + [2.0 + 0.5 + 2.0 + 0.3, 0, 0])[None], 60.0)  # 42.5 s later
    assert tracker.stats.tracks_started == 3 and far[0] not in ids   # beyond 0.5 + 2 m


def test_a_lost_person_found_again_is_published_from_the_second_frame_in_a_row():
    """A review: once a confirmed one-camera track lost its person, one false or partial
    detection inside its widening gate was published at once under the person's id (53 of
    75 ghost person-frames over 12 motion-capture scenes). After a gap over
    REID_HOLD_AFTER_S the id comes back at once but is published from the second match in a
    row; a track missing one frame at 30 fps is published at once."""
    from pose3d_ros.core.body_model import canonical_pose
    from pose3d_ros.core.layouts import H36M17
    from pose3d_ros.core.tracking import REID_HOLD_AFTER_S, ImageTracker

    body = canonical_pose(H36M17)[:, [0, 2]] * [400, -400] + [600, 700]   # ~700 px tall
    nobody = np.zeros((0, 17, 2))
    tracker = ImageTracker()
    for k in range(10):
        ids, confirmed = tracker.update(body[None] + [3 * k, 0], k / 30)
    assert ids.tolist() == [1] and confirmed.all()
    tracker.update(nobody, 10 / 30)                               # one frame missed
    assert tracker.update(body[None] + [33, 0], 11 / 30)[1].all()  # published at once
    for k in range(12, 24):
        tracker.update(nobody, k / 30)                            # gone for 0.4 s
    ghost = body + [250, 120]
    ghost[[1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16]] = np.nan    # five joints, 270 px off
    ids, confirmed = tracker.update(ghost[None], 24 / 30)
    assert ids.tolist() == [1] and not confirmed.any()            # matched, not published
    assert 24 / 30 - 11 / 30 > REID_HOLD_AFTER_S
    for k in range(25, 36):
        tracker.update(nobody, k / 30)
    ids, confirmed = tracker.update(body[None] + [40, 0], 36 / 30)  # the person, back
    assert ids.tolist() == [1] and not confirmed.any()
    ids, confirmed = tracker.update(body[None] + [43, 0], 37 / 30)
    assert ids.tolist() == [1] and confirmed.all()                # from the second frame


def test_a_left_right_flip_for_a_frame_keeps_the_persons_id():
    """A review: a triangulated person whose left/right labels flipped for a frame (a walking
    stride: the flip moves the joints 0.55 m on average, over the 0.5 m gate) took a new id,
    and the two tracks then alternated on them (ids 1, 1, 1, 2, 1, 2, 1, 1). Given the
    layout's mirror index the tracker takes the mirrored distance too. Over 24 of the
    review's motion-capture scenes (3-8 cameras, 4-6 people) id switches went 18 -> 10."""
    from pose3d_ros.core.body_model import canonical_pose
    from pose3d_ros.core.layouts import H36M17
    from pose3d_ros.core.left_right import mirror_index

    body = canonical_pose(H36M17).copy()
    body[[11, 12, 13, 14, 15, 16], 1] += [0.3, 0.45, 0.6, -0.3, -0.45, -0.6]   # arms swinging
    body[[1, 2, 3, 4, 5, 6], 1] += [0.1, 0.3, 0.4, -0.1, -0.3, -0.4]          # legs in stride
    mirror = mirror_index(H36M17)
    assert np.nanmean(np.linalg.norm(body - body[mirror], axis=-1)) > 0.5
    for given, expected in ((None, [1, 1, 1, 2, 1, 2, 1, 1]), (mirror, [1] * 8)):
        tracker = SkeletonTracker()
        ids = [int(tracker.update((body[mirror] if k in (3, 5) else body)[None], k / 30,
                                  given)[0]) for k in range(8)]
        assert ids == expected, (given is not None, ids)



def _sized_update(tracker: SkeletonTracker, people: np.ndarray, stamp: float) -> np.ndarray:
    """tracker.update of H36M-17 people (P, 17, 3) with their long bones' lengths, as the
    pipeline gives them (plausibility.checked_bone_pairs of its completion's bone check)."""
    from pose3d_ros.core.body_model import bone_lengths
    from pose3d_ros.core.completion import CompletionParams
    from pose3d_ros.core.layouts import H36M17
    from pose3d_ros.core.plausibility import checked_bone_pairs

    bones = checked_bone_pairs(H36M17, CompletionParams().bone_check)
    return tracker.update(people, stamp, body_lengths=bone_lengths(people, bones))


def _standing(height_m: float) -> np.ndarray:
    """The package's canonical body (H36M-17, (17, 3) m) at this standing height."""
    from pose3d_ros.core.body_model import CANONICAL_HEIGHT_M, canonical_pose
    from pose3d_ros.core.layouts import H36M17

    return canonical_pose(H36M17) * (height_m / CANONICAL_HEIGHT_M)


def _walk_then_leave(tracker: SkeletonTracker, body: np.ndarray) -> tuple[int, np.ndarray]:
    """`body` (17, 3) walks +x at 1 m/s for 1 s at 30 fps (1 cm noise), then nobody is seen
    until 1.8 s after its last frame; returns its id and where it was last seen (17, 3)."""
    rng = np.random.default_rng(7)
    for k in range(30):
        seen = body + [k / 30, 0, 0] + rng.normal(scale=0.01, size=body.shape)
        ids = _sized_update(tracker, seen[None], k / 30)
    for k in range(30, 29 + 54):
        _sized_update(tracker, np.zeros((0, 17, 3)), k / 30)
    return int(ids[0]), body + [29 / 30, 0, 0]


def test_a_departed_persons_id_goes_to_no_one_of_another_size():
    """A review (20 people, 8 cameras, each leaving twice): re-identification gave departed
    people's ids to others who stepped in 1.4-2.0 m away 1.7-1.9 s later, the gate growing
    with the time and judging position alone. Given the people's long-bone lengths, a lost
    track found beyond the frame-to-frame gate, later than its prediction reaches, takes only
    a body of its own size: a 1.60 m person 1.5 m from where a 1.80 m one left 1.8 s before
    gets a new id, the 1.80 m person back there gets theirs (and position alone gave the
    newcomer the old id)."""
    tall, short = _standing(1.80), _standing(1.60)
    for tolerance, newcomer, same_id in ((0.05, short, False), (0.05, tall, True),
                                         (None, short, True)):
        tracker = SkeletonTracker(TrackerParams(reid_size_tolerance=tolerance))
        left, last = _walk_then_leave(tracker, tall)
        back = newcomer - newcomer[0] + last[0] + [1.5, 0, 0]      # pelvis 1.5 m on
        found = int(_sized_update(tracker, back[None], (29 + 54) / 30)[0])
        assert (found == left) == same_id, (tolerance, newcomer is tall, found, left)
    # a size not measured (NaN: a one-view person, the lifter's guess) decides nothing
    tracker = SkeletonTracker()
    left, last = _walk_then_leave(tracker, tall)
    back = short - short[0] + last[0] + [1.5, 0, 0]
    assert tracker.update(back[None], (29 + 54) / 30,
                          body_lengths=np.full((1, 13), np.nan))[0] == left


def test_a_person_measured_smaller_just_after_a_miss_keeps_their_id():
    """Within the frame-to-frame gate, or within max_prediction_s of the loss, the motion
    places the person and the body size is not asked: a returning person's first frame is
    often measured poorly (0.05-0.3 off their size on the demo rig's scenes); nor is it of a
    track learned from a few frames, whose size says little."""
    body = _standing(1.80)
    smaller = body * 0.85                                                  # 15 % smaller
    tracker = SkeletonTracker()
    ids = [int(_sized_update(tracker, (body + [k / 30, 0, 0])[None], k / 30)[0])
           for k in range(30)]
    _sized_update(tracker, np.zeros((0, 17, 3)), 30 / 30)                  # one frame missed
    near = smaller - smaller[0] + body[0] + [31 / 30, 0, 0]
    assert int(_sized_update(tracker, near[None], 31 / 30)[0]) == ids[0]
    young = SkeletonTracker()                                              # 3 frames learned
    first = [int(_sized_update(young, (body + [k / 30, 0, 0])[None], k / 30)[0])
             for k in range(3)]
    for k in range(3, 33):
        _sized_update(young, np.zeros((0, 17, 3)), k / 30)
    far = smaller - smaller[0] + body[0] + [1.0, 0, 0]
    assert int(_sized_update(young, far[None], 33 / 30)[0]) == first[0]
