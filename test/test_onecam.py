"""The one-camera pipeline's behaviour: image tracking with confirmation, the root-depth jump
filter, bone-length plausibility, and the whole chain on motion capture seen by one virtual
camera (ids and depth known) and on each demo camera alone (cached real 2D)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from pose3d_ros.core.body_model import bone_lengths
from pose3d_ros.core.camera import CameraModel
from pose3d_ros.core.evaluation import SkeletonTrack, image_identities, stability, truth_track
from pose3d_ros.core.filtering import DepthFilterParams, RootDepthFilter
from pose3d_ros.core.layouts import H36M17
from pose3d_ros.core.monocular import create_monocular_method
from pose3d_ros.core.pipeline import PipelineParams, Pose3DPipeline
from pose3d_ros.core.plausibility import plausible_bodies
from pose3d_ros.core.tracking import ImageTracker, ImageTrackerParams
from pose3d_ros.core.types import Detections2D

FPS = 30.0


def _person_2d(offset=(0.0, 0.0), size=200.0) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.uniform(0, size, (17, 2)) + np.asarray(offset)


def test_image_tracker_confirms_after_min_hits_and_never_a_one_frame_ghost():
    tracker = ImageTracker(ImageTrackerParams(min_hits=3))
    person = _person_2d((100, 100))
    confirmed_at = []
    for k in range(6):
        people = person[None] + 3 * k
        if k == 2:                                   # a ghost for one frame, far away
            people = np.concatenate([people, _person_2d((900, 500))[None]])
        ids, confirmed = tracker.update(people, k / FPS)
        assert ids[0] == 1
        confirmed_at.append(bool(confirmed[0]))
        if k == 2:
            assert ids[1] == 2 and not confirmed[1]
    assert confirmed_at == [False, False, True, True, True, True]
    # The ghost's tentative track is dropped when missed: a later detection there is new.
    ids, confirmed = tracker.update(np.stack([person + 18, _person_2d((900, 500))]), 6 / FPS)
    assert ids.tolist() == [1, 3] and confirmed.tolist() == [True, False]


def test_image_tracker_gates_in_the_image_and_reidentifies_after_a_gap():
    tracker = ImageTracker()
    a, b = _person_2d((100, 100)), _person_2d((700, 100))
    for k in range(4):
        ids, _ = tracker.update(np.stack([a + 5 * k, b - 5 * k]), k / FPS)
    assert ids.tolist() == [1, 2]
    tracker.update(np.zeros((0, 17, 2)), 4 / FPS)            # both hidden for a frame
    ids, confirmed = tracker.update(np.stack([b - 25, a + 25]), 5 / FPS)   # listed swapped
    assert ids.tolist() == [2, 1] and confirmed.all()
    # A jump of more than the gate (half the person's size) is another person.
    ids, _ = tracker.update(np.stack([a + 25 + 400]), 6 / FPS)
    assert ids.tolist() == [3]


def test_image_tracker_keeps_a_track_through_one_wild_joint_and_a_scattered_misfire():
    """Found by a review of the core under bad input: one joint 1000 px off for one frame
    (score kept) was stored in the track, and the next frames' mean distance failed the gate:
    the person unpublished for min_hits frames, back under a new id. And a misfire of
    keypoints scattered over the image (3000 px across) was close relative to its own size:
    it took over a confirmed track at once and was published 40-300 m away. The tracker
    gates the median distance relative to the smaller of the track's and the detection's
    size."""
    rng = np.random.default_rng(3)
    person = _person_2d((400, 300), size=100.0)        # a person 100 px tall, a few metres off
    for wild in ("joint", "scattered"):
        tracker = ImageTracker()
        seen = []
        for k in range(12):
            people = person + 2.0 * k + rng.normal(0.0, 1.0, person.shape)
            if k == 6 and wild == "joint":
                people[9] += 1000.0                          # one wrist, one frame
            if k == 6 and wild == "scattered":
                people = rng.uniform((-1920, -1080), (3840, 2160), person.shape)
            ids, confirmed = tracker.update(people[None], k / FPS)
            seen.append((int(ids[0]), bool(confirmed[0])))
        if wild == "joint":
            assert seen[6] == (1, True), seen
        else:                                   # a tentative new track, never published
            assert seen[6][0] != 1 and not seen[6][1], seen
        assert all(step == (1, True) for step in seen[7:]), (wild, seen)


def test_image_tracker_streak_counts_the_updates_in_a_row_a_track_was_matched():
    """ImageTrackUpdate.streak (what a rig's lone people need: core/lone_views.py): it grows
    while a person is followed, and a lost track re-identified after a gap starts at 1."""
    tracker = ImageTracker()
    a = _person_2d((100, 100))
    streaks = [int(tracker.update_labelled(a[None] + 4 * k, k / FPS, None).streak[0])
               for k in range(4)]
    assert streaks == [1, 2, 3, 4]
    tracker.update_labelled(np.zeros((0, 17, 2)), 4 / FPS, None)           # hidden once
    back = tracker.update_labelled(a[None] + 20, 5 / FPS, None)
    assert back.ids.tolist() == [1] and back.confirmed.all() and back.streak.tolist() == [1]
    assert tracker.update_labelled(a[None] + 24, 6 / FPS, None).streak.tolist() == [2]


def test_image_tracker_predicts_a_lost_person_from_its_recent_path_not_its_last_step():
    """Two people walk the same way at different speeds (420 and 310 px/s) with the whole-body
    jitter of a detector (12 px per frame); both are lost for 19 frames, then the faster one
    alone is found again. A velocity from the last steps (300-600 px/s of noise) often
    predicted the slower one's track nearer to it; the slope of the recent path gives the
    right id."""
    base = _person_2d(size=150.0)
    start = {"fast": np.array([650.0, 300.0]), "slow": np.array([410.0, 280.0])}
    speed = {"fast": np.array([-420.0, 0.0]), "slow": np.array([-310.0, 0.0])}

    def right_id(seed: int) -> bool:
        rng = np.random.default_rng(seed)
        tracker = ImageTracker()

        def seen(who: str, t: float) -> np.ndarray:
            return base + start[who] + speed[who] * t + rng.normal(0.0, 12.0, 2)

        for k in range(25):
            ids, _ = tracker.update(np.stack([seen("fast", k / FPS), seen("slow", k / FPS)]),
                                    k / FPS)
        fast_id = ids[0]
        for k in range(25, 44):
            tracker.update(np.zeros((0, 17, 2)), k / FPS)
        ids, _ = tracker.update(seen("fast", 44 / FPS)[None], 44 / FPS)
        return bool(ids[0] == fast_id)

    assert sum(right_id(seed) for seed in range(20)) >= 19


def test_root_depth_filter_rejects_a_jump_keeps_the_ray_and_follows_a_real_move():
    filt = RootDepthFilter(DepthFilterParams())
    body = np.zeros((1, 17, 3))
    body[0, :, 1] = np.linspace(-0.9, 0.8, 17)              # a tall thin body, root first
    body[0, :, 0] = 0.1
    out = []
    for k in range(30):
        depth = 4.0 if k != 15 else 5.2                      # one 1.2 m jump at frame 15
        out.append(filt.filter(body + [0.0, 0.0, depth], np.array([7]), k / FPS))
    depths = np.array([o[0, 0, 2] for o in out])
    assert abs(depths[15] - 4.0) < 0.05 and filt.rejections == 1
    assert np.abs(np.diff(depths)).max() < 0.05
    jumped = out[15][0]
    ray = (body[0, 0] + [0, 0, 5.2])
    np.testing.assert_allclose(jumped[0, :2] / jumped[0, 2], ray[:2] / ray[2], atol=1e-12)
    np.testing.assert_allclose(np.diff(jumped, axis=0), np.diff(body[0], axis=0), atol=1e-12)
    for k in range(30, 90):                                  # the person really moved back
        last = filt.filter(body + [0.0, 0.0, 6.0], np.array([7]), k / FPS)
    assert abs(last[0, 0, 2] - 6.0) < 0.1
    with pytest.raises(ValueError, match="window"):
        DepthFilterParams(window=0)


def test_root_depth_filter_follows_a_steady_walk_without_lag_or_bursts():
    """A person walking toward the camera at 1.2 m/s with depth guesses 7 % off in stretches
    (a random walk of the error, as the lifter's guesses err): the output keeps up with the
    person (no lag that has to be caught up) and its frame-to-frame steps stay walking-sized."""
    rng = np.random.default_rng(3)
    frames = 120
    truth = 8.0 - 1.2 * np.arange(frames) / FPS
    drift = np.clip(np.cumsum(rng.normal(0.0, 0.02, frames)), -0.07, 0.07)
    guesses = truth * (1.0 + drift + rng.normal(0.0, 0.02, frames))
    body = np.zeros((1, 17, 3))
    body[0, :, 1] = np.linspace(-0.9, 0.8, 17)
    filt = RootDepthFilter()
    out = np.array([filt.filter(body + [0.0, 0.0, g], np.array([3]), k / FPS)[0, 0, 2]
                    for k, g in enumerate(guesses)])
    steps = np.abs(np.diff(out))
    # the first guesses set the level (the image tracker holds a new track back meanwhile)
    assert np.percentile(steps, 95) < 0.08 and steps[5:].max() < 0.1
    raw_error = np.abs(guesses - truth)[30:].mean()
    assert np.abs(out - truth)[30:].mean() < raw_error         # closer than the guesses
    assert abs(np.mean(out[60:] - truth[60:])) < 0.25           # no lag behind the walk


def _standing_h36m(height: float = 1.75) -> np.ndarray:
    """An H36M-17 body standing (y down, camera axes), bones in human proportions."""
    from pose3d_ros.core.lifting.root_placement import BodySizePrior
    names = H36M17.joint_names
    s = height / 1.75
    pose = {"pelvis": (0, 0), "right_hip": (-0.1, 0.02), "left_hip": (0.1, 0.02),
            "right_knee": (-0.1, 0.45), "left_knee": (0.1, 0.45), "right_ankle": (-0.1, 0.88),
            "left_ankle": (0.1, 0.88), "spine": (0, -0.25), "thorax": (0, -0.5),
            "nose": (0, -0.68), "head": (0, -0.78), "left_shoulder": (0.2, -0.48),
            "right_shoulder": (-0.2, -0.48), "left_elbow": (0.22, -0.16),
            "right_elbow": (-0.22, -0.16), "left_wrist": (0.23, 0.1),
            "right_wrist": (-0.23, 0.1)}
    assert BodySizePrior(height).lengths().shape == (16,)
    return np.array([[pose[n][0] * s, pose[n][1] * s, 0.0] for n in names])


def test_plausibility_keeps_people_and_drops_impossible_bodies():
    person = _standing_h36m(1.75)
    small = _standing_h36m(0.8)                 # a "body" 0.8 m tall: glare, a poster
    long_thigh = person.copy()
    knee = H36M17.index("left_knee")
    long_thigh[knee:knee + 2, 1] += 0.9         # one thigh three times the other
    few = np.full_like(person, np.nan)
    few[:5] = person[:5]
    ok = plausible_bodies(np.stack([person, _standing_h36m(1.5), small, long_thigh, few]))
    assert ok.tolist() == [True, True, False, False, False]


# --- the whole chain on motion capture seen by one camera ------------------------------

@lru_cache(maxsize=1)
def _mocap_scene():
    """Two people walking (real motion capture), 3 s at 30 fps, seen by one virtual camera,
    detector-like 2D (the measured error model), plus two one-frame false detections."""
    from pose3d_ros.core.error_model import apply_error_model, false_detections
    from pose3d_ros.core.mocap_scenes import SceneConfig, make_scene
    from pose3d_ros.core.mocap_views import CameraSampling, random_camera
    from pose3d_ros.tools.fetch_mocap import load_mocap

    rng = np.random.default_rng(7)
    scene = make_scene(load_mocap(["walk"]), rng, SceneConfig(
        num_people=2, fps=FPS, num_frames=90, enter_leave_probability=0.0,
        min_separation_m=1.2))
    camera = random_camera(np.array([0.0, 0.0, 1.0]), rng, CameraSampling(
        distance_m=(7.0, 7.0), height_m=(1.5, 1.5), roll_deg=(0.0, 0.0), aim_jitter_m=0.0,
        fov_deg=(60.0, 60.0), image_sizes=((1280, 720),)), azimuth=0.3)
    exact = camera.project(scene.joints)                                    # (F, P, 17, 2)
    noisy, scores = apply_error_model(exact, rng, frames_axis=0, fps=FPS)
    frames = []
    for t in range(scene.num_frames):
        keep = np.isfinite(noisy[t]).any(-1).any(-1)
        kp, sc = noisy[t][keep], scores[t][keep]
        if t in (20, 55):
            fk, fs = false_detections(rng, 1, (camera.width, camera.height),
                                      pose_pool=exact[t])
            kp, sc = np.concatenate([kp, fk]), np.concatenate([sc, fs])
        frames.append(_detections(kp, sc, camera))
    return scene, camera, frames


def _detections(keypoints: np.ndarray, scores: np.ndarray, camera: CameraModel) -> Detections2D:
    seen = np.where(np.isfinite(keypoints), keypoints, np.nan)
    with np.errstate(invalid="ignore"):
        boxes = np.concatenate([np.nanmin(seen, 1), np.nanmax(seen, 1)], -1)
    return Detections2D(keypoints.astype(np.float32), scores.astype(np.float32),
                        np.nan_to_num(boxes).astype(np.float32),
                        np.ones(len(keypoints), np.float32), H36M17,
                        (camera.width, camera.height))


def _truth_track(scene, frame_id: str) -> SkeletonTrack:
    stamps = np.round(np.arange(scene.num_frames) / FPS * 1e9).astype(np.int64)
    return truth_track(scene.joints, stamps, H36M17, frame_id, present=scene.present)


def _lifter_results(scene, camera, frames) -> list:
    """The one-camera pipeline (lifter, H36M-17 out) on the scene's 2D frames, at FPS."""
    pipeline = Pose3DPipeline([camera.name], {camera.name: camera}, frame_id="world",
                              lifter=create_monocular_method("lifter"),
                              params=PipelineParams(output_layout="h36m17"))
    return [pipeline.process_detections({camera.name: f}, t / FPS)
            for t, f in enumerate(frames)]


def test_one_camera_on_motion_capture_keeps_ids_steady_depth_and_publishes_no_ghost():
    scene, camera, frames = _mocap_scene()
    results = _lifter_results(scene, camera, frames)
    # every frame answered, with the rejected people counted
    assert len(results) == scene.num_frames
    track = SkeletonTrack(np.round(np.arange(len(results)) / FPS * 1e9).astype(np.int64),
                          [r.skeletons for r in results])
    truth = _truth_track(scene, "world")
    ident = image_identities(track, truth, camera)
    assert ident.ids_per_person == {1: 1, 2: 1}, ident       # one id per person
    assert ident.unmatched_person_frames == 0                # the false detections: never out
    assert sum(r.rejected["unconfirmed"] for r in results) >= 2
    steady = stability(track, viewpoint=camera.center).summary()
    assert steady["root-depth jitter p95 [m/frame]"] <= 0.10, steady
    # bones held to each track's median lengths: 2.8 % measured (2026-11-30), target 8 %
    assert steady["bone-length CV median"] <= 0.08, steady
    # Depth against the truth: one camera 7 m away guesses it from body size (median 0.32 m,
    # 90th percentile 0.85 m measured 2026-12-06); guard 0.5 m median.
    depth_true = np.linalg.norm(scene.joints[:, :, 0] - camera.center, axis=-1)   # (F, P)
    errors = []
    for t, r in enumerate(results):
        for person in r.skeletons.positions:
            gaps = np.abs(np.linalg.norm(person[0] - camera.center) - depth_true[t])
            errors.append(np.nanmin(gaps))
    assert len(errors) and np.median(errors) < 0.5, np.median(errors)


def test_one_camera_filter_smooths_joints_but_keeps_every_bone_length():
    """The One Euro filter lags each joint by that joint's own speed; on a one-camera track
    it must move the joints without changing the bones the monocular method holds (before,
    the pelvis-hip and thorax-shoulder bones of walking people varied by 20-30 %)."""
    scene, camera, frames = _mocap_scene()
    runs = {}
    for filtering in (True, False):
        params = PipelineParams(output_layout="h36m17") if filtering else \
            PipelineParams(output_layout="h36m17", filtering=None)
        pipeline = Pose3DPipeline([camera.name], {camera.name: camera}, frame_id="world",
                                  lifter=create_monocular_method("lifter"),
                                  params=params)
        runs[filtering] = [pipeline.process_detections({camera.name: f}, t / FPS).skeletons
                           for t, f in enumerate(frames)]
    moved, compared = [], 0
    for filtered, raw in zip(runs[True], runs[False], strict=True):
        assert filtered.ids.tolist() == raw.ids.tolist()
        if not filtered.num_people:
            continue
        np.testing.assert_allclose(bone_lengths(filtered.positions, H36M17),
                                   bone_lengths(raw.positions, H36M17), rtol=0, atol=1e-9)
        moved.append(np.nanmax(np.linalg.norm(filtered.positions - raw.positions, axis=-1)))
        compared += filtered.num_people
    assert compared >= 100
    assert np.median(moved) > 0.005                     # the filter does smooth the joints


def test_one_camera_people_have_their_own_smoothing_settings():
    """One camera's depth moves by tens of centimetres from frame to frame: its people keep
    the smoother settings measured for them (filtering.MONOCULAR_ONE_EURO) whatever the
    triangulated people's are (session 23: the latter's 0.5 Hz, 7 s/m raised a side-on
    walker's root-depth jitter over issue #12's bound)."""
    from pose3d_ros.core.filtering import MONOCULAR_ONE_EURO, OneEuroParams

    scene, camera, frames = _mocap_scene()

    def run(**params):
        pipeline = Pose3DPipeline([camera.name], {camera.name: camera}, frame_id="world",
                                  lifter=create_monocular_method("lifter"),
                                  params=PipelineParams(output_layout="h36m17", **params))
        return np.concatenate([pipeline.process_detections({camera.name: f}, t / FPS)
                               .skeletons.positions for t, f in enumerate(frames)])

    default = run()
    assert PipelineParams().monocular_filtering == MONOCULAR_ONE_EURO
    np.testing.assert_array_equal(default, run(filtering=OneEuroParams(beta=30.0)))
    np.testing.assert_array_equal(default, run(monocular_filtering=MONOCULAR_ONE_EURO))
    other = run(monocular_filtering=OneEuroParams(min_cutoff_hz=0.5, beta=7.0))
    assert np.nanmax(np.abs(other - default)) > 0.005


# --- each demo camera alone, on cached real 2D --------------------------------------------

@lru_cache(maxsize=2)
def _demo_cameras(recording: str, detector: str):
    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.data_paths import calibration_path, video_paths
    from pose3d_ros.core.detection.cache import detect_video_set

    rig = load_rig(calibration_path(recording))
    per_camera = [detect_video_set([v], detector)[0]
                  for v in video_paths(recording)]
    return rig, per_camera


@pytest.mark.parametrize("method", ["detector_3d", "lifter"])
@pytest.mark.parametrize("camera_index", [0, 1, 2, 3])
def test_each_demo_camera_alone_answers_every_frame_with_one_steady_id(camera_index, method):
    rig, per_camera = _demo_cameras("single", "blazepose")
    camera = rig[camera_index]
    detections = per_camera[camera_index]
    pipeline = Pose3DPipeline([camera.name], {camera.name: camera}, frame_id=rig.frame_id,
                              lifter=create_monocular_method(method),
                              params=PipelineParams(output_layout="h36m17"))
    T = len(detections.num_people)
    results = [pipeline.process_detections({camera.name: detections.frame(t)}, 10 + t / 60)
               for t in range(T)]
    people = np.array([r.skeletons.num_people for r in results])
    first = ImageTrackerParams().min_hits - 1
    assert (people[:first] == 0).all() and (people[first:] <= 1).all()
    # The person is published in most frames; frames whose 3D has impossible bones (cam02's
    # 2D swaps the legs in frames 41-73) are counted as rejected, not published.
    implausible = sum(r.rejected["implausible"] for r in results)
    assert (people[first:] == 1).sum() + implausible == T - first
    assert (people[first:] == 1).mean() >= 0.8, implausible
    ids = {int(i) for r in results for i in r.skeletons.ids}
    assert ids == {1}
    track = SkeletonTrack(np.round((10 + np.arange(T) / 60) * 1e9).astype(np.int64),
                          [r.skeletons for r in results])
    steady = stability(track, viewpoint=camera.center).summary()
    # 60 fps: 0.10 m per frame at 30 fps is 0.05 m per frame here for the same motion
    assert steady["root-depth jitter p95 [m/frame]"] <= 0.05, steady
    assert steady["bone-length CV median"] <= 0.08, steady          # #12's target


@pytest.mark.parametrize("method", ["detector_3d", "lifter"])
@pytest.mark.parametrize("camera_index", [0, 1, 2, 3])
def test_each_camera_of_the_two_person_demo_alone_keeps_one_id_per_person(camera_index,
                                                                           method):
    """#12's targets on the `multi` recording (a woman and a man, the default back-end's 2D),
    each camera alone (an audit: only the one-person recording was tested): every frame
    answered, two ids for the two people (cam03 sees the man in 73 of 100 frames), nobody
    published that the 2D does not show, steady depth and bones."""
    from pose3d_ros.core.detection import DEFAULT_DETECTOR

    rig, per_camera = _demo_cameras("multi", DEFAULT_DETECTOR)
    camera, detections = rig[camera_index], per_camera[camera_index]
    pipeline = Pose3DPipeline([camera.name], {camera.name: camera}, frame_id=rig.frame_id,
                              lifter=create_monocular_method(method),
                              params=PipelineParams(output_layout="h36m17"))
    T = len(detections.num_people)
    stamps = 10 + np.arange(T) / 60
    frames = [pipeline.process_detections({camera.name: detections.frame(t)}, stamps[t])
              .skeletons for t in range(T)]
    assert len(frames) == T
    people = np.array([f.num_people for f in frames])
    first = ImageTrackerParams().min_hits - 1
    assert (people[:first] == 0).all() and (people <= detections.num_people).all()
    two = detections.num_people[first:] == 2
    assert (people[first:][two] == 2).mean() >= 0.8, people
    track = SkeletonTrack(np.round(stamps * 1e9).astype(np.int64), frames)
    steady = stability(track, viewpoint=camera.center).summary()
    assert steady["distinct ids"] == 2, [f.ids.tolist() for f in frames]
    assert steady["root-depth jitter p95 [m/frame]"] <= 0.05, steady     # 60 fps
    assert steady["bone-length CV median"] <= 0.08, steady


@pytest.mark.parametrize("method", ["detector_3d", "lifter"])
def test_a_real_phone_video_of_two_people_keeps_two_ids_and_publishes_no_glare_ghost(method):
    """The sports2d wheel's demo video (real, outdoors, against the sun; 230 frames): the
    default back-end finds a third 'person' in the glare in some frames and loses the man
    for 0.77 s while he jumps into the sun. One id per person, nothing more than the two
    people published, steady depth and bones (the issue's user measured 14 and 19 ids,
    jitter p95 0.51 / 0.95 m and bone CV 15 / 19 % on this video before #12)."""
    from pose3d_ros.core.camera import pinhole_from_fov
    from pose3d_ros.core.data_paths import single_video_path
    from pose3d_ros.core.detection import DEFAULT_DETECTOR
    from pose3d_ros.core.detection.cache import detect_video_set

    found = detect_video_set([single_video_path("sports2d")], DEFAULT_DETECTOR)[0]
    assert (found.num_people >= 3).any()                 # the glare: a false third person
    camera = pinhole_from_fov("camera", *found.image_size, 65.0)
    pipeline = Pose3DPipeline([camera.name], {camera.name: camera},
                              frame_id=camera.frame_id, lifter=create_monocular_method(method))
    stamps = 10 + np.arange(len(found.num_people)) / FPS
    frames = [pipeline.process_detections({camera.name: found.frame(t)}, stamps[t]).skeletons
              for t in range(len(stamps))]
    assert max(f.num_people for f in frames) == 2
    track = SkeletonTrack(np.round(stamps * 1e9).astype(np.int64), frames)
    steady = stability(track).summary()
    assert steady["distinct ids"] == 2, [f.ids.tolist() for f in frames]
    assert steady["person-frames"] >= 300                # both people, nearly throughout
    assert steady["person-frames from one view"] == steady["person-frames"]
    assert steady["root-depth jitter p95 [m/frame]"] <= 0.10, steady
    assert steady["bone-length CV median"] <= 0.08, steady


def test_detector_3d_gives_an_empty_answer_when_nobody_is_there():
    rig, per_camera = _demo_cameras("single", "blazepose")
    camera = rig[0]
    pipeline = Pose3DPipeline([camera.name], {camera.name: camera}, frame_id=rig.frame_id,
                              lifter=create_monocular_method("detector_3d"))
    nobody = Detections2D.empty(per_camera[0].layout, per_camera[0].image_size)
    assert nobody.world is None
    result = pipeline.process_detections({camera.name: nobody}, 1.0)
    assert result.skeletons.num_people == 0 and result.note == ""


def test_one_stray_low_score_joint_does_not_break_a_one_camera_track():
    """Found by a robustness review: the image tracker followed every finite joint, so one
    joint the 2D gave a low score and put far off the image (every 30th frame) broke the track
    and its confirmation: ids 1-7 and 21 frames without a walker who was always there. The
    tracker now follows the joints triangulation would use (score >= min_score)."""
    from pose3d_ros.core.mocap import load_mocap
    from pose3d_ros.core.rig_scenes import make_scene

    scene = make_scene("3", 1, 150, 1, load_mocap(["walk"]))
    camera = scene.rig.cameras[0]

    def ids_and_gaps(stray: bool) -> tuple[set[int], int]:
        pipe = Pose3DPipeline([camera.name], {camera.name: camera}, frame_id="world",
                              params=PipelineParams(output_layout="h36m17"),
                              lifter=create_monocular_method("lifter"))
        ids, gaps = set(), 0
        for f in range(150):
            found = scene.detections[f][0]
            found = found.take([int(np.argmax(found.scores.sum(1)))])   # the walker
            if stray and f % 30 == 29:
                keypoints, scores = found.keypoints.copy(), found.scores.copy()
                keypoints[0, 16], scores[0, 16] = (-camera.width, camera.height / 2), 0.1
                found = Detections2D(keypoints=keypoints, scores=scores, boxes=found.boxes,
                                     person_scores=found.person_scores, layout=found.layout,
                                     image_size=found.image_size)
            people = pipe.process_detections({camera.name: found}, f / 30).skeletons
            ids |= set(people.ids.tolist())
            gaps += int(f > 10 and not people.num_people)
        return ids, gaps

    assert ids_and_gaps(True) == ids_and_gaps(False)
    assert len(ids_and_gaps(True)[0]) == 1


@pytest.mark.parametrize("method", ["detector_3d", "lifter"])
def test_a_stream_slower_than_the_reidentification_window_still_publishes_its_person(method):
    """Found by a CI failure: one camera whose sets the node processed ~40 s apart in stamp
    time (and so any camera throttled below 1 Hz, or a detector taking over a second a
    frame) never published anyone: every track was forgotten before its min_hits (the
    re-identification window, 1 s, counted from the track's last sighting even when it was
    seen at the previous update). Each demo camera's real 2D, every 10th frame, 1.5 s
    apart: the person is published from the third set on, with one id."""
    rig, per_camera = _demo_cameras("single", "blazepose")
    first = ImageTrackerParams().min_hits - 1
    for camera, detections in zip(rig, per_camera, strict=True):
        pipeline = Pose3DPipeline([camera.name], {camera.name: camera}, frame_id=rig.frame_id,
                                  lifter=create_monocular_method(method),
                                  params=PipelineParams(output_layout="h36m17"))
        frames = range(0, len(detections.num_people), 10)
        results = [pipeline.process_detections({camera.name: detections.frame(t)}, 10 + 1.5 * k)
                   for k, t in enumerate(frames)]
        people = np.array([r.skeletons.num_people for r in results])
        implausible = np.array([r.rejected["implausible"] for r in results])
        assert (people[:first] == 0).all() and (people[first:] + implausible[first:] == 1).all()
        assert (people[first:] == 1).mean() >= 0.7, (camera.name, people)
        assert {int(i) for r in results for i in r.skeletons.ids} == {1}
