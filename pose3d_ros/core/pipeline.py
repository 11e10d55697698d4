"""The chain one synchronised frame set goes through, shared by the ROS nodes and offline tools.

    images (BGR, one per camera present) -> 2D detector (detection)
      -> undistortion into normalised coordinates, once per view
         (undistortion.undistort_stacked: all cameras' detections in one stack,
          ray_affinity.StackedDetections)
      -> >= 2 calibrated views: cross-view association + robust triangulation (rig frame)
         (association, triangulation; with tracking on, the last set's people claim
         their detections first and decide the left/right labels the views disagree
         about) -> completion of joints seen by < 2 views and refusal of non-human bodies
         (completion); where lone_views is set, the people whom one camera alone sees
         (lone_views) go the one-camera way below and join them
         -> 3D tracking (tracking.SkeletonTracker)
      -> exactly 1 view: a detector's weaker, partial second box of a person dropped
         (group_checks.stronger_duplicates, as for a rig's lone views) -> image tracking
         with confirmation and left/right labels kept continuous along each track
         (tracking.ImageTracker, left_right) -> the camera's roll in quarter turns, voted by
         its confirmed straight people, and the 2D turned back to an upright camera's
         (upright) -> a monocular method placing 3D in that camera's frame (monocular), the
         3D turned again into the camera's own axes -> where the floor is known,
         each person's scale from their ankles on it (floor_contact) -> root-depth jump filter
         (filtering.RootDepthFilter) -> bone-length plausibility (plausibility) and no
         body upside down that an upright person cut off by the image edge explains
         (upright.inverted_bodies) -> the rig frame
      -> layout conversion -> One Euro filtering -> Skeletons3D in `frame_id` (one camera:
         filtered first, bone lengths kept through the filter, then converted)

This module only chains the steps; each lives in the module named beside it.

Each stage is timed (seconds, time.perf_counter) so the nodes can publish the per-stage split
and the benchmarks can separate the 2D network from everything else. The fusion node enters at
process_detections() with 2D skeletons received from detector nodes; the all-in-one node and
the offline tools enter at process_images().

Cameras are CameraModel objects (pose3d_ros.core.camera) whose R, t map the rig frame (the
output `frame_id`) into each optical frame. A camera's model may arrive late or change
(CameraInfo; with TF extrinsics, its pose at each set's image stamps): set_camera() replaces
it.
"""
from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from .array_ops import finite_rows, row_counts
from .association import Association, associate_stacked, gather_stacked
from .body_model import bone_lengths, rebuilt_with_bone_lengths
from .camera import CameraArrays, CameraModel
from .camera_agreement import AGREEMENT_EVERY, CameraAgreement, view_agreement
from .completion import LOOSE_DEPTH_GAIN, SkeletonCompleter, gross_joints, gross_joints_2d
from .detection.base import convert_detections, detect_images
from .detection.parallel import detect_per_camera
from .filtering import (
    MONOCULAR_ONE_EURO,
    DepthFilterParams,
    OneEuroParams,
    RootDepthFilter,
    SkeletonFilter,
)
from .floor_contact import FloorParams, FloorScale
from .group_checks import coincide_floor, stronger_duplicates
from .image_decode import check_image_size, check_size
from .layouts import (
    H36M17,
    TORSO_JOINTS,
    JointLayout,
    convert_joint_scores,
    convert_joints,
    convertible,
    get_layout,
    root_positions,
)
from .left_right import exchange_detections, left_right_pairs, mirror_index
from .lifting.runtime import MAX_WINDOW_GAP_S
from .lone_views import (
    LoneViewParams,
    PublishedPeople,
    kept_lone_people,
    unexplained_detections,
)
from .messages import sanitized_set
from .monocular import MONOCULAR_METHODS, MonocularMethod, create_monocular_method
from .plausibility import PlausibilityParams, checked_bone_pairs, plausible_bodies
from .ray_affinity import StackedDetections
from .rig_units import UNIT_CHECK_PERIOD_S, people_size_factor, unit_note
from .tracking import (
    ImageTracker,
    ImageTrackerParams,
    ImageTrackUpdate,
    SkeletonTracker,
    TrackerParams,
    TrackerStats,
)
from .triangulation import (
    MAX_DEPTH_GAIN,
    beyond_depth_gain,
    beyond_reach,
    triangulate_people,
)
from .types import METHOD_TRIANGULATION, Detections2D, Skeletons3D, concatenated_detections
from .undistortion import undistort_normalised, undistort_stacked
from .upright import (
    CameraUpright,
    UprightParams,
    body_parts,
    inverted_bodies,
    rotated_quarter_turns,
    turned_detections,
    upright_votes,
)

# the monocular method's per-person state is keyed by camera index * _CAMERA_KEY + image track id
# + the camera's quarter turn * _TURN_KEY (upright: a turn of the camera starts new windows)
_CAMERA_KEY = 1 << 32
_TURN_KEY = 1 << 38                     # above MAX_CAMERAS * _CAMERA_KEY
# camera subsets whose stacked arrays are kept (Pose3DPipeline._camera_arrays)
_ARRAYS_KEPT = 64
# the last rig set's people are the next set's people of a moment before (the `previous`
# of associate_stacked and triangulate_people) for this long (s): three frames at 30 fps,
# a frame at 10 fps
PREVIOUS_PEOPLE_S = 0.12

__all__ = ["MONOCULAR_METHODS", "PipelineParams", "PipelineResult", "Pose3DPipeline",
           "create_detectors", "create_monocular_method"]


@dataclass(frozen=True)
class PipelineParams:
    """Settings of the 3D stages.

    min_views: fewest views a joint needs to be triangulated (>= 2).
    min_score: 2D joint score below which a view is not used (0..1).
    outlier_threshold_px: reprojection error above which a view is rejected (pixels), when
        outlier_threshold_m is None.
    outlier_threshold_m: the outlier test in metres instead: the residual taken back to the
        joint's depth in each camera (core.triangulation; 2D detector errors grow with the
        person's size in the image, so one pixel threshold cannot suit near and far cameras,
        large and small images); None = in pixels.
    max_depth_gain: a joint whose views look at it along so nearly one line that its point's
        error along that line is more than this many times their 2D error is not measured
        (core.triangulation.depth_gain; the default MAX_DEPTH_GAIN, 10, keeps the measured
        detector's 0.05 m 2D error under 0.5 m of depth error: two views 8.1 degrees apart);
        higher where the 2D is more accurate or more depth error is accepted, np.inf for no
        limit.
    max_ray_distance_m: association gate, mean distance between two views' joint rays (m).
    output_layout: joint layout of the 3D output ("" = the detector's layout).
    monocular_filtering: the One Euro cut-off and beta of the people one view places (a
        one-camera set's, a rig's lone people; d_cutoff_hz and reset_after_s are filtering's);
        filtering=None turns smoothing off for everyone.
    tracking / filtering: None disables the stage (tracking=None also publishes one-camera
        people without confirmation, with ids 0, 1, ... in each frame's order (untracked_ids:
        not the same person from one frame to the next), and leaves triangulated joints
        uncorrected by the person's learned bone lengths: frame-by-frame 3D).
    image_tracking: the one-camera path's tracker in the image (ids, confirmation).
    depth_filter / plausibility: one-camera root-depth filter and bone-length checks; None
        disables them.
    floor: one-camera floor contact (floor_contact.FloorParams: the output frame has z up and
        a floor at floor.height_m), which sets each person's scale and distance; None (the
        default) leaves them to the monocular method.
    lone_views: in a set of several cameras, people whom one camera alone sees are placed by
        the monocular method like a one-camera set's (lone_views.LoneViewParams: which
        detections count as such people); None (the default) drops them. Needs the
        monocular method and output_layout "h36m17" (the monocular path's layout).
    upright: the one-camera path's camera roll in quarter turns, learned per camera from the
        torsos of straight, confirmed people (upright.CameraUpright: a camera mounted sideways
        or upside down has its 2D turned back before the monocular method and the 3D turned
        again after it), and the refusal (counted "implausible") of bodies upside down that an
        upright person cut off by the image edge explains (upright.inverted_bodies); None
        turns both off (no node parameter).
    """

    min_views: int = 2
    min_score: float = 0.3
    outlier_threshold_px: float = 40.0  # the multi-view core's default
    outlier_threshold_m: float | None = 0.2
    max_depth_gain: float = MAX_DEPTH_GAIN
    max_ray_distance_m: float = 0.15
    output_layout: str = ""
    tracking: TrackerParams | None = field(default_factory=TrackerParams)
    filtering: OneEuroParams | None = field(default_factory=OneEuroParams)
    monocular_filtering: OneEuroParams = MONOCULAR_ONE_EURO
    image_tracking: ImageTrackerParams = field(default_factory=ImageTrackerParams)
    depth_filter: DepthFilterParams | None = field(default_factory=DepthFilterParams)
    plausibility: PlausibilityParams | None = field(default_factory=PlausibilityParams)
    floor: FloorParams | None = None
    lone_views: LoneViewParams | None = None
    upright: UprightParams | None = field(default_factory=UprightParams)

    def __post_init__(self) -> None:
        if self.min_views < 2:
            raise ValueError(f"min_views must be >= 2, got {self.min_views}")
        if not 0 <= self.min_score <= 1:
            raise ValueError(f"min_score must be in [0, 1], got {self.min_score}")
        if not self.outlier_threshold_px > 0:
            raise ValueError(f"outlier_threshold_px must be > 0, got "
                             f"{self.outlier_threshold_px}")
        if self.outlier_threshold_m is not None and not self.outlier_threshold_m > 0:
            raise ValueError(f"outlier_threshold_m must be > 0 or None, got "
                             f"{self.outlier_threshold_m}")
        if not self.max_depth_gain >= 1:
            raise ValueError(f"max_depth_gain must be >= 1, got {self.max_depth_gain}")
        if not self.max_ray_distance_m > 0:
            raise ValueError(f"max_ray_distance_m must be > 0, got {self.max_ray_distance_m}")
        if self.output_layout:
            get_layout(self.output_layout)


@dataclass(frozen=True)
class PipelineResult:
    """What one frame set produced.

    skeletons: tracked, filtered 3D skeletons in `frame_id` (possibly no person).
    detections: camera name -> the 2D people found in its image.
    cameras: names of the cameras that contributed.
    timings: stage -> seconds ("detect", "undistort", "associate" and "triangulate", or
        "track2d", "lift" and "depth" for one camera, "track", "filter", "total"); "detect" is
        absent when 2D came from elsewhere.
    note: why no 3D was made ("" when it was).
    rejected: people not published this frame, counts. A rig set's (several cameras):
        "implausible" (bone lengths), "unconfirmed" (a new person seen by fewer views
        than completion's min_views_new, held for a second set) and "beyond_reach" (refused,
        with more joints whose views meet too nearly along one line to measure their depth
        than joints measured: triangulation.beyond_reach; a person too far for the cameras'
        baselines). A one-camera set's:
        "unconfirmed" (tracks younger than image_tracking.min_hits), "implausible" (bone
        lengths, or upside down: PipelineParams.upright) and "unplaced" (no finite joint,
        whatever PipelineParams.plausibility: no pelvis to place them by, both hips
        unseen).
    lone: camera name -> lone people of that camera published this frame (lone_views;
        cameras with none left out).
    described_stamp: the capture stamp (s) the 3D describes: `stamp`, except with a centred
        lifter (one camera), whose 3D is of the frame its window's middle holds: the set
        latency_frames sets back (Pose3DPipeline.described_stamp).
    association: a rig set's cross-view groups (association.Association; members index the
        people of `detections` of each of `cameras`, in that order), all of them, before the
        plausibility and confirmation checks; None for a set of fewer than two cameras.
    """

    stamp: float
    skeletons: Skeletons3D
    detections: dict[str, Detections2D]
    cameras: tuple[str, ...]
    timings: dict[str, float]
    note: str = ""
    rejected: dict[str, int] = field(default_factory=dict)
    lone: dict[str, int] = field(default_factory=dict)
    described_stamp: float = math.nan
    association: Association | None = None

    def __post_init__(self) -> None:
        if math.isnan(self.described_stamp):
            object.__setattr__(self, "described_stamp", self.stamp)


def sets_without_3d(described_lag: int, sets: int) -> int:
    """How many of `sets` frame sets in a row a pipeline whose 3D is `described_lag` sets late
    (Pose3DPipeline.described_lag) never describes: the last described_lag, or all but the
    first when there are no more (its windows then all centre on the first set:
    Pose3DPipeline.described_stamp)."""
    return min(described_lag, max(sets - 1, 0))


class _RigPeople(NamedTuple):
    """A rig set's people (Pose3DPipeline._multi_view): points (P, J, 3) rig frame,
    confidence, reprojection error and views (P, J) of those published; with lone views each
    camera's unexplained detections; note: why no person was made when the rig seems not to be
    in metres (rig_units), else ""; rejected: the people left out by reason
    (PipelineResult.rejected's rig keys); association: the set's cross-view groups
    (PipelineResult.association); loose (P, J): joints whose depth the views fix poorly
    (completion.gross_joints)."""

    points: np.ndarray
    confidence: np.ndarray
    error: np.ndarray
    views: np.ndarray
    unexplained: dict[str, Detections2D]
    note: str
    rejected: dict[str, int]
    association: Association
    loose: np.ndarray


class Pose3DPipeline:
    """Frame set -> tracked 3D skeletons (see the module docstring).

    camera_names: the rig's cameras, in a fixed order. cameras: name -> CameraModel for those
    whose calibration is known, or the CameraModels themselves (a Rig, load_rig's: keyed by
    their names); others can be added with set_camera(). detectors: one per
    camera (stateful back-ends such as mediapipe's tracker) or a single detector shared by all
    cameras (stateless, batched back-ends); None for fusion-only use.
    frame_id: name of the rig frame the output is expressed in.
    lifter: the monocular method (monocular.create_monocular_method), used when a set has
        exactly one usable view.
    """

    def __init__(self, camera_names: Sequence[str],
                 cameras: Mapping[str, Any] | Iterable[CameraModel] | None = None,
                 detectors: Sequence[Any] | Any | None = None, *, frame_id: str,
                 params: PipelineParams | None = None,
                 lifter: MonocularMethod | None = None) -> None:
        names = list(camera_names)
        if not names:
            raise ValueError("the pipeline needs at least one camera")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate camera names {names}")
        if len(names) > MAX_CAMERAS:             # (64 overflowed in association, crowd audit)
            raise ValueError(f"{len(names)} cameras: one pipeline takes at most {MAX_CAMERAS} "
                             "(association keeps each person's cameras as 64-bit masks); "
                             "split the rig into several")
        self.camera_names = tuple(names)
        self._cameras: dict[str, CameraModel] = {}
        self._arrays: dict[tuple[str, ...], CameraArrays] = {}
        if detectors is None or isinstance(detectors, Sequence):
            self._detectors = list(detectors or [])
            if self._detectors and len(self._detectors) != len(names):
                raise ValueError(f"{len(self._detectors)} detectors for {len(names)} cameras")
            self._shared_detector = None
        else:
            self._detectors = []
            self._shared_detector = detectors
        # (a review: rig.cameras, a list, failed as "'list' object has no attribute 'values'")
        for camera in (cameras.values() if isinstance(cameras, Mapping) else cameras or ()):
            if not isinstance(camera, CameraModel):
                raise TypeError("cameras: name -> CameraModel, or CameraModels; got "
                                f"{type(camera).__name__}")
            self.set_camera(camera)
        self.frame_id = frame_id
        self.params = params or PipelineParams()
        if (lifter is not None and self.params.output_layout
                and not convertible(H36M17, self.params.output_layout)):
            # the nodes refuse it (config_rules); the core failed on the first one-camera set
            raise ValueError(
                f"output_layout {self.params.output_layout!r} cannot be made from the "
                "monocular method's H36M-17 (it lacks that layout's joints): give "
                "output_layout '' or 'h36m17', or no monocular method")
        lag = int(getattr(lifter, "latency_frames", 0))
        if lag and len(names) > 1:
            # one message, one stamp: beside triangulated people of the newest frame
            raise ValueError(
                f"a centred lifter describes the frame {lag} sets before the newest: with "
                "several cameras its people would go out under the stamp of triangulated ones "
                "of the newest frame; use a causal lifter model (the shipped one, or "
                "train_lifter --causal)")
        self.lifter = lifter
        # the last lag + 1 sets' stamps (s): what a centred lifter's 3D describes
        self._set_stamps: deque[float] = deque(maxlen=lag + 1)
        self.tracker = SkeletonTracker(self.params.tracking) if self.params.tracking else None
        self.smoother = SkeletonFilter(
            self.params.filtering, monocular_params=self.params.monocular_filtering
        ) if self.params.filtering else None
        self.completer = SkeletonCompleter()
        # one-camera state per camera (ids are per camera): image tracker, root-depth filter,
        # floor contact
        self.image_trackers: dict[str, ImageTracker] = {}
        self.depth_filters: dict[str, RootDepthFilter] = {}
        self.floor_scales: dict[str, FloorScale] = {}
        self.uprights: dict[str, CameraUpright] = {}
        # a rig's one-camera sets: (camera index * _CAMERA_KEY + image track id) -> published
        # id, drawn from the 3D tracker's counter (_rig_one_camera_ids)
        self._one_camera_keys = np.zeros(0, np.int64)
        self._one_camera_published = np.zeros(0, np.int64)
        # the lone people published in the last rig set: camera index * _CAMERA_KEY + image
        # track id (_lone_people keeps them over another camera's view of the same body)
        self._lone_keys = np.zeros(0, np.int64)
        # every lone person's key and the stamp (s) it was last published at, for as long as
        # its image track can be re-identified (_lone_people): such a track back after a miss
        # needs no new LoneViewParams.min_streak
        self._lone_seen_keys = np.zeros(0, np.int64)
        self._lone_seen_stamps = np.zeros(0)
        # the people a rig with lone views published within the 3D tracker's re-id window,
        # whom this set's people may continue another way (_handed_over); and this set's,
        # until tracked (their ids 0 until then)
        self._handover: PublishedPeople | None = None
        self._handover_now: PublishedPeople | None = None
        self._last_stamp: float | None = None
        # the layout the cameras' detections are brought to once they disagreed (in_one_layout)
        self._detection_layout: JointLayout | None = None
        # each camera's layout, from its last detections with people in them
        self._camera_layouts: dict[str, JointLayout] = {}
        # the last rig set's triangulated people (points (P, J, 3) in their layout, stamp):
        # the next set's `previous` (their detections claimed first, their left/right labels)
        self._last_people: tuple[np.ndarray, JointLayout, float] | None = None
        # (stamp, note) of the last rig-unit check of a set without people (_rig_unit_note)
        self._unit_check: tuple[float, str] | None = None
        self.restarts = 0              # restart() calls (time went back)
        # rig sets' people left out since the pipeline was made: "implausible" (bone lengths),
        # "unconfirmed" (a new person seen by too few views, held for a second set) and
        # "beyond_reach" (too far for the cameras' baselines to measure their depth)
        self.rig_refused: Counter[str] = Counter(implausible=0, unconfirmed=0, beyond_reach=0)
        # each camera's 2D against the others' 3D over the last sets (camera_agreement): a
        # camera whose pose is off, or whose calibration is another's, is told apart
        self.camera_agreement = CameraAgreement(names)
        self._agreement_tick = 0
        self._retired_stats = TrackerStats()   # of the trackers restart() started over

    @property
    def tracker_stats(self) -> TrackerStats:
        """The counters of every tracker since the pipeline was made (the 3D tracker's and
        each camera's image tracker's together), restarts included: counters that only grow
        (they went back to zero at every restart, a review found)."""
        trackers = [t for t in (self.tracker, *self.image_trackers.values()) if t is not None]
        return sum((t.stats for t in trackers), self._retired_stats)

    def restart(self) -> None:
        """Forget everything learned over time: tracks and their ids, the smoothing and depth
        filters, the people's bone lengths, the monocular method's windows, the detectors'
        tracked regions of interest. Called when time goes backwards (a looping bag, a
        simulated clock reset): the trackers start their ids over, and state kept under an old
        id would hold the new pass's people at the old pass's last pose (the smoothing filter
        refused every earlier stamp); a detector that kept the last pass's ROIs cropped its
        first frames where the people were at the end (a review: a replay's second pass 0.12 m
        and 19 px off the first's at its first set)."""
        self._retired_stats = self.tracker_stats
        self.restarts += 1
        if self._shared_detector is not None:
            self._shared_detector.reset()
        for detector in self._detectors:
            detector.reset()
        if self.tracker is not None:
            self.tracker.reset()
        if self.smoother is not None:
            self.smoother.reset()
        self.completer.reset()
        self.camera_agreement.reset()
        self._last_people = None
        self.image_trackers.clear()
        self.depth_filters.clear()
        self.floor_scales.clear()
        self.uprights.clear()
        self._one_camera_keys = np.zeros(0, np.int64)
        self._one_camera_published = np.zeros(0, np.int64)
        self._lone_keys = np.zeros(0, np.int64)
        self._lone_seen_keys = np.zeros(0, np.int64)
        self._lone_seen_stamps = np.zeros(0)
        self._handover = None
        if self.lifter is not None:
            self.lifter.reset()
        self._last_stamp = None
        self._set_stamps.clear()

    @property
    def described_lag(self) -> int:
        """How many sets back the 3D of a set is (a centred lifter's latency_frames; else 0)."""
        return (self._set_stamps.maxlen or 1) - 1

    def described_stamp(self, stamp: float) -> float:
        """The capture stamp (s) that the 3D of the set at `stamp` describes, the set
        counted: `stamp`, except with a centred lifter, whose window's middle frame is
        latency_frames sets back (exact for people seen in each of those sets; a person first
        seen fewer sets ago is lifted at their first frame, a little later), and until that
        many sets came, the first set's (its windows are padded with their first frame). A
        set more than MAX_WINDOW_GAP_S after the one before starts the count again, as the
        windows do (a review: after a stall the first frame back went out under the stamps of
        the sets before the stall)."""
        if not self.described_lag:
            return stamp
        if self._set_stamps and not stamp - self._set_stamps[-1] <= MAX_WINDOW_GAP_S:
            self._set_stamps.clear()
        if not self._set_stamps or self._set_stamps[-1] != stamp:
            self._set_stamps.append(stamp)
        return self._set_stamps[0]

    # -- cameras ---------------------------------------------------------------------------
    def set_camera(self, camera: Any, image_moved: bool | None = None) -> None:
        """Replace the model of a known camera (e.g. from a new CameraInfo). When the image's
        pixels moved (another resolution, binning or region of interest: image_moved True;
        None: when the image size changed, as the model alone tells), its image tracker's
        pixels move by K_new K_old^-1, so the people it follows keep their ids, and its
        detector forgets the ROIs it tracks (they would crop the old pixels: a region of
        interest moved at the same size kept them); a new K of the same image (a
        recalibration) moves no pixel."""
        if camera.name not in self.camera_names:
            raise ValueError(f"unknown camera {camera.name!r}; known: {self.camera_names}")
        old = self._cameras.get(camera.name)        # (None while __init__ sets them)
        if image_moved is None:
            image_moved = old is not None and (old.width, old.height) != (camera.width,
                                                                        camera.height)
        if old is not None and image_moved:
            if (tracker := self.image_trackers.get(camera.name)) is not None:
                tracker.remap((camera.K @ np.linalg.inv(old.K))[:2])
            index = self.camera_names.index(camera.name)
            if self._shared_detector is not None:
                self._shared_detector.reset([index])
            elif self._detectors:
                self._detectors[index].reset()
        self._cameras[camera.name] = camera
        self._arrays.clear()

    def detector_layout(self) -> JointLayout | None:
        """The 2D layout the detectors give (None for a pipeline without detectors)."""
        detector = self._shared_detector or (self._detectors[0] if self._detectors else None)
        return getattr(detector, "layout", None)

    def camera(self, name: str) -> Any | None:
        """The camera's model, None while its calibration is unknown."""
        return self._cameras.get(name)

    # -- entry points ----------------------------------------------------------------------
    def process_images(self, images: Mapping[str, np.ndarray], stamp: float,
                       reductions: Mapping[str, int] | None = None) -> PipelineResult:
        """images: camera name -> BGR uint8 (H, W, 3) of the size the camera's calibration
        is for (image_decode.check_image_size: ImageDecodeError, a ValueError, otherwise; a
        review found a half-size frame placed one person 2x too far without a word); stamp:
        capture time (s). reductions: camera name -> 2, 4 or 8 for an image decoded at
        1/reduction of its size (compressed input, image_decode.decode_compressed); its 2D is
        mapped back to full-resolution pixels before anything uses it."""
        start = time.perf_counter()
        names = [name for name in self.camera_names if name in images]
        unknown = set(images) - set(self.camera_names)
        if unknown:
            raise ValueError(f"images of unknown cameras {sorted(unknown)}")
        for name in names:
            if (camera := self._cameras.get(name)) is not None:
                check_image_size(images[name], (camera.width, camera.height),
                                 source=f"camera {name!r}",
                                 reduction=(reductions or {}).get(name, 1))
        self._take_stamp(stamp)   # before the detectors run: after a restart their tracks
        # would be the last pass's
        index = {name: k for k, name in enumerate(self.camera_names)}
        stamps = [stamp] * len(names)        # a set's images share its capture time
        if self._shared_detector is not None:
            found = detect_images(self._shared_detector, [images[name] for name in names],
                                  cameras=[index[name] for name in names], stamps=stamps)
        elif self._detectors:  # one thread per camera (detection/parallel.py)
            found = detect_per_camera([self._detectors[index[name]] for name in names],
                                      [images[name] for name in names], stamps)
        else:
            raise ValueError("this pipeline has no detector (fusion only): use "
                             "process_detections()")
        detections = dict(zip(names, found, strict=True))
        for name, factor in (reductions or {}).items():
            if factor != 1 and name in detections:
                height, width = images[name].shape[:2]
                detections[name] = detections[name].upscaled(factor, (width * factor,
                                                                      height * factor))
        return self._fuse(detections, stamp, {"detect": time.perf_counter() - start}, start)

    def process_detections(self, detections: Mapping[str, Detections2D], stamp: float
                           ) -> PipelineResult:
        """detections: camera name -> 2D people of that camera's image at `stamp` (s). A
        stamp before the previous one restarts every temporal state (restart)."""
        started = time.perf_counter()
        # refused before any state moves (the 3D tracker refused it only after the joint
        # completion and the last stamp had taken it: a review)
        self._take_stamp(stamp)
        return self._fuse(detections, stamp, {}, started)

    def _fuse(self, detections: Mapping[str, Detections2D], stamp: float,
              timings: dict[str, float], started: float) -> PipelineResult:
        """process_detections once the set's stamp (s) is taken (process_images takes it
        before its detectors run); timings: the stages' seconds so far (this dict is filled
        in); started: time.perf_counter() at the set's start."""
        names = tuple(name for name in self.camera_names if name in detections)
        uncalibrated = [name for name in names if name not in self._cameras]
        if uncalibrated:
            raise ValueError(f"cameras {uncalibrated} have no calibration yet")
        for name in names:       # 2D of a resized image, placed with the full size's K: twice
            size = detections[name].image_size        # as far (a review); (0, 0): not given
            if min(size) > 0:
                camera = self._cameras[name]
                check_size(size, (camera.width, camera.height),
                           source=f"camera {name!r} (2D detections)")
        # scores outside [0, 1] or not numbers, keypoints not numbers or far off the image:
        # made safe as the fusion node makes foreign 2D safe (they reached the published
        # confidence: 7.0 from a score of 7, found by a review); cheap when nothing is wrong
        detections = sanitized_set(detections, names)
        if self._detection_layout is None:
            # layouts seen by cameras in different sets count too: a COCO-17 camera and a
            # H36M-17 one that see people in turn no longer swap the output's layout (and the
            # tracks' ids) with every turn (a review)
            self._camera_layouts.update((name, detections[name].layout) for name in names
                                        if detections[name].num_people)
            known = {layout.name: layout for layout in self._camera_layouts.values()}
            if len(known) > 1:
                with contextlib.suppress(ValueError):   # none common: refused in the sets
                    self._detection_layout = common_layout(list(known.values()))  # with both
        detections, self._detection_layout = in_one_layout(detections, names,
                                                           self._detection_layout)
        layout = detections[names[0]].layout if names else None
        note = ""
        positions = confidence = error = views = ids = one_camera_keys = loose = None
        rejected: dict[str, int] = {}
        method = METHOD_TRIANGULATION
        lone = None
        association: Association | None = None
        if len(names) >= 2:
            rig = self._multi_view(names, detections, timings, stamp)
            association = rig.association
            positions, confidence, error, views = (rig.points, rig.confidence, rig.error,
                                                   rig.views)
            unexplained, note, rejected, loose = (rig.unexplained, rig.note, rig.rejected,
                                                  rig.loose)
            if unexplained:
                assert layout is not None               # the set has cameras
                lone = self._lone_people(unexplained, positions, layout, stamp, timings)
        elif len(names) == 1 and self.lifter is not None:
            t0 = time.perf_counter()
            found = {names[0]: self._without_duplicates(
                names, self._undistort(names[0], detections[names[0]]))}
            timings["undistort"] = time.perf_counter() - t0
            positions, confidence, ids, camera_of, rejected = self._single_views(found, stamp,
                                                                                 timings)
            # the smoothing filter's state of a one-camera set's people, apart from the 3D
            # tracks' (both number from 1: a rig's set with one camera pulled a triangulated
            # person's smoothing, found by a review)
            one_camera_keys = -(camera_of.astype(np.int64) * _CAMERA_KEY + ids) - 1
            ids = self._rig_one_camera_ids(camera_of, ids)
            method, layout = self.lifter.method, H36M17
            error = np.full(confidence.shape, np.nan, np.float32)
            views = np.where(np.isfinite(positions).all(-1), 1, 0).astype(np.uint8)
        else:
            note = ("no camera in the set" if not names else
                    f"only camera {names[0]} in the set and no monocular lifter configured")
        if positions is None:
            skeletons = _empty(self._output_layout(layout or get_layout("coco17")),
                               self.frame_id)
        else:                                   # a path ran: all of its arrays are set
            assert confidence is not None and error is not None and views is not None
            assert layout is not None
            skeletons = self._finish(positions, confidence, error, views, layout, method,
                                     stamp, timings, ids, lone, one_camera_keys, loose)
        timings["total"] = time.perf_counter() - started
        lone_counts = {} if lone is None else lone[2]
        return PipelineResult(stamp, skeletons, dict(detections), names, timings, note,
                              rejected, lone_counts, self.described_stamp(stamp), association)

    def empty_result(self, stamp: float, note: str = "") -> PipelineResult:
        """The answer to a frame set that gave no 3D (no person, or a failure reported
        elsewhere): an empty Skeletons3D in the output layout, so every set gets one."""
        layout = get_layout(self.params.output_layout or "coco17")
        return PipelineResult(stamp, _empty(layout, self.frame_id), {}, (), {"total": 0.0},
                              note, described_stamp=self.described_stamp(stamp))

    def close(self) -> None:
        for detector in self._detectors + ([self._shared_detector]
                                           if self._shared_detector else []):
            detector.close()

    def _take_stamp(self, stamp: float) -> None:
        """A set's capture stamp (s): refused when not finite; one before the last set's
        restarts every temporal state (restart); then it is the last set's."""
        if not math.isfinite(stamp):
            raise ValueError(f"stamp must be finite, got {stamp}")
        if self._last_stamp is not None and stamp < self._last_stamp:
            self.restart()
        self._last_stamp = stamp

    # -- stages ----------------------------------------------------------------------------
    def _multi_view(self, names: tuple[str, ...], detections: Mapping[str, Detections2D],
                    timings: dict[str, float], stamp: float) -> "_RigPeople":
        """The rig set's published people and what the set says beside them (_RigPeople)."""
        t0 = time.perf_counter()
        # Undistort every camera's keypoints ONCE (OpenCV, or one affine map for all the
        # cameras without distortion) into one stack of all cameras' detections, and hand
        # association and triangulation the normalised coordinates with the cameras stacked:
        # the same rays, points and errors as the CameraModel entry points, without repeating
        # the work.
        arrays = self._camera_arrays(names)
        found = [detections[name] for name in names]
        stacked = StackedDetections.stacked(
            undistort_stacked([self._cameras[name] for name in names], arrays,
                              [d.keypoints for d in found]),
            np.concatenate([d.scores for d in found]), [len(d.keypoints) for d in found])
        t1 = time.perf_counter()
        layout = found[0].layout
        previous = self._previous_people(layout, stamp)
        association = associate_stacked(arrays, stacked, min_score=self.params.min_score,
                                        max_ray_distance_m=self.params.max_ray_distance_m,
                                        mirror=mirror_index(layout), previous=previous)
        t2 = time.perf_counter()
        normalized, scores = gather_stacked(stacked, association)
        result, normalized, scores = triangulate_people(
            arrays, normalized, scores, layout, min_views=self.params.min_views,
            min_score=self.params.min_score,
            outlier_threshold_px=self.params.outlier_threshold_px,
            outlier_threshold_m=self.params.outlier_threshold_m,
            max_depth_gain=self.params.max_depth_gain, previous=previous)
        # joints seen by < 2 views filled from the body, non-human bodies refused
        done = self.completer.complete(result.points, result.num_views, result.confidence,
                                       layout, stamp, normalized=normalized, scores=scores,
                                       cameras=arrays,
                                       # the bone correction is a temporal prior (the
                                       # person's learned bones): off with tracking off,
                                       # whose output is frame by frame
                                       used=result.used if self.tracker is not None else None,
                                       set_cameras=names)
        t3 = time.perf_counter()
        timings["undistort"] = t1 - t0
        timings["associate"] = t2 - t1
        timings["triangulate"] = t3 - t2
        keep = done.publish
        # the rig's people left out, counted as a one-camera set's are (a review: 103 of
        # 398 person-frames two cameras saw went unpublished with nothing saying why)
        refused = ~done.plausible
        beyond = np.zeros(refused.shape, bool)
        if refused.any():
            # refused people the rig cannot place: more of their joints seen by two views
            # lie beyond its reach than were measured (a review: people 50-80 m from a 6 m
            # baseline, or 10 m from a stereo pair, were counted as bodies no human has)
            unreachable = beyond_reach(arrays, normalized[refused], scores[refused],
                                       self.params.min_score, self.params.max_depth_gain)
            beyond[refused] = (row_counts(unreachable)
                               > row_counts(finite_rows(result.points[refused])))
        rejected = {"implausible": int((refused & ~beyond).sum()),
                    "unconfirmed": int((done.plausible & ~done.confirmed).sum()),
                    "beyond_reach": int(beyond.sum())}
        self.rig_refused.update(rejected)
        self._agreement_tick += 1
        # each camera's 2D against the published people's measured 3D, every few sets (about
        # 0.1 ms a set at 5 cameras x 4 people; the judgement is over many sets anyway)
        if keep.any() and self._agreement_tick % AGREEMENT_EVERY == 0:
            self.camera_agreement.update(names, view_agreement(
                arrays, normalized[keep], result.points[keep], association.members[keep],
                np.bincount(stacked.camera_of, minlength=len(names)) > 0))
        if self.tracker is not None:       # a temporal prior, off with tracking off
            self._last_people = (result.points[keep], layout, stamp)
        error = np.where(done.filled, np.nan, result.reprojection_error)
        unexplained = {}
        if self._lone_views_on(layout):
            # (people whose views see them along one line have no measured joint:
            # triangulation.depth_gain; their detections are unexplained)
            unexplained = self._unexplained(names, detections, arrays, stacked, association,
                                            keep, done.points[keep])
        note = "" if keep.any() else self._rig_unit_note(arrays, stacked, layout, stamp)
        # triangulated joints whose depth the views fix poorly (gross_joints: their bones are
        # judged in metres too)
        loose = beyond_depth_gain(result.points, arrays.centers, result.used.swapaxes(-1, -2),
                                  LOOSE_DEPTH_GAIN)
        if keep.all():                           # most frames: everyone is published
            return _RigPeople(done.points, done.confidence, error, done.num_views, unexplained,
                              note, rejected, association, loose)
        return _RigPeople(done.points[keep], done.confidence[keep], error[keep],
                          done.num_views[keep], unexplained, note, rejected, association,
                          loose[keep])

    def _rig_unit_note(self, arrays: CameraArrays, stacked: StackedDetections,
                       layout: JointLayout, stamp: float) -> str:
        """rig_units.unit_note for a set that made no person: measured when two cameras see
        people, at most every UNIT_CHECK_PERIOD_S of stamps (the last note in between)."""
        last = self._unit_check
        if last is not None and 0 <= stamp - last[0] < UNIT_CHECK_PERIOD_S:
            return last[1]
        factor = people_size_factor(arrays, stacked, layout, self.params.min_score,
                                    self.params.max_depth_gain)
        note = "" if factor is None else unit_note(factor)
        self._unit_check = (stamp, note)
        return note

    def _previous_people(self, layout: JointLayout, stamp: float) -> np.ndarray | None:
        """The last rig set's triangulated people (P, J, 3) when they are in `layout` and at
        most PREVIOUS_PEOPLE_S before `stamp`; else None."""
        if self._last_people is None:
            return None
        points, last_layout, last_stamp = self._last_people
        if last_layout.name != layout.name or not 0 < stamp - last_stamp <= PREVIOUS_PEOPLE_S:
            return None
        return points

    def _lone_views_on(self, layout: JointLayout) -> bool:
        """Whether people whom one camera alone sees are placed (PipelineParams.lone_views)."""
        return (self.params.lone_views is not None and self.lifter is not None
                and self._output_layout(layout).name == H36M17.name)

    def _unexplained(self, names: tuple[str, ...], detections: Mapping[str, Detections2D],
                     arrays: CameraArrays, stacked: StackedDetections,
                     association: Association, keep: np.ndarray, published: np.ndarray
                     ) -> dict[str, Detections2D]:
        """camera name -> its detections (normalised coordinates set) that no published
        triangulated person explains (lone_views.unexplained_detections) and that are not a
        weaker, partial second box of another detection of the camera; every camera of the
        set is named, with no detection where it has none, so each camera's image tracker
        sees every update and a lone person's streak (ImageTrackUpdate.streak) counts the
        updates in a row in which that person was lone."""
        assert self.params.lone_views is not None
        members = association.members[keep]                                   # (P, V)
        used = np.zeros(stacked.camera_of.size, bool)
        seen = members >= 0
        used[(stacked.offset[None, :] + members)[seen]] = True
        torso = detections[names[0]].layout.indices(TORSO_JOINTS)
        left = unexplained_detections(arrays, stacked.xy, stacked.score, stacked.camera_of,
                                      used, published, torso, self.params.lone_views,
                                      self.params.min_score)
        # a detector's second, partial box of a person would take that person's image track
        # now and then, and a lone person is placed only while followed without a break
        left &= ~self._weaker_duplicates(stacked, arrays)
        out = {}
        for v, name in enumerate(names):
            rows = np.flatnonzero(left & (stacked.camera_of == v))
            out[name] = detections[name].take(stacked.local[rows]).with_normalised(
                stacked.xy[rows])
        return out

    def _lone_people(self, found: dict[str, Detections2D], triangulated: np.ndarray,
                     layout: JointLayout, stamp: float, timings: dict[str, float]
                     ) -> tuple[np.ndarray, np.ndarray, dict[str, int], np.ndarray,
                                np.ndarray]:
        """People whom one camera alone sees (lone_views) among `found` (camera name -> its
        unexplained detections): (positions (L, 17, 3) rig frame H36M-17, confidence
        (L, 17), camera name -> how many, their cameras' centres (L, 3), their keys (L,):
        camera index * _CAMERA_KEY + image track id) of those lone for
        LoneViewParams.min_streak updates in a row, plausible, and not a triangulated person or
        a lone person of another camera published in the last set or better seen
        (lone_views.kept_lone_people)."""
        lone = self.params.lone_views
        assert lone is not None
        positions, confidence, ids, camera, _ = self._single_views(
            found, stamp, timings, lone.min_streak, self._lone_seen_keys)
        viewpoints = np.array([self._cameras[self.camera_names[c]].center
                               for c in camera.tolist()]).reshape(-1, 3)
        # (without tracking the ids are each frame's own numbering: nothing is kept)
        keys = camera * _CAMERA_KEY + ids
        before = (np.isin(keys, self._lone_keys) if self.tracker is not None
                  else np.zeros(len(keys), bool))
        keep = kept_lone_people(root_positions(positions, H36M17), camera, confidence.sum(-1),
                                viewpoints, root_positions(triangulated, layout), lone, before)
        self._lone_keys = keys[keep]
        if self.tracker is not None:
            recent = (stamp - self._lone_seen_stamps <= self.params.image_tracking.reid_window_s
                      ) & ~np.isin(self._lone_seen_keys, self._lone_keys)
            self._lone_seen_keys = np.concatenate([self._lone_seen_keys[recent], self._lone_keys])
            self._lone_seen_stamps = np.concatenate([self._lone_seen_stamps[recent],
                                                     np.full(len(self._lone_keys), stamp)])
        named, count = np.unique(camera[keep], return_counts=True)
        return positions[keep], confidence[keep], {
            self.camera_names[c]: int(k) for c, k in zip(named.tolist(), count.tolist(),
                                                  strict=True)}, viewpoints[keep], keys[keep]

    def _camera_arrays(self, names: tuple[str, ...]) -> CameraArrays:
        """The named cameras stacked (CameraArrays), cached until set_camera(); at most
        _ARRAYS_KEPT camera subsets, the least recently used forgotten (a large rig whose
        cameras each miss a set now and then meets thousands of subsets: 11,339 and 125 MB in
        20,000 sets of 32 cameras, found by a review)."""
        arrays = self._arrays.pop(names, None)
        if arrays is None:
            arrays = CameraArrays.from_cameras([self._cameras[name] for name in names])
            if len(self._arrays) >= _ARRAYS_KEPT:
                del self._arrays[next(iter(self._arrays))]
        self._arrays[names] = arrays                   # the most recent last
        return arrays

    def _undistort(self, name: str, detections: Detections2D) -> Detections2D:
        """The camera's detections with their undistorted normalised coordinates."""
        return detections.with_normalised(undistort_normalised(self._cameras[name],
                                                               detections.keypoints))

    def _weaker_duplicates(self, stacked: StackedDetections, arrays: CameraArrays
                           ) -> np.ndarray:
        """(N,) bool over the stacked detections: those that are a weaker, partial second box
        of a stronger detection of the same camera (group_checks.stronger_duplicates over
        >= 3 common joints scored >= min_score, the cameras' coincidence floor): a detector's
        duplicate of a person, which would take that person's image track now and then or be
        placed as a second person."""
        return np.asarray(stronger_duplicates(stacked, 3, self.params.min_score,
                                              floor=coincide_floor(arrays)).any(1))

    def _without_duplicates(self, names: tuple[str, ...], found: Detections2D
                            ) -> Detections2D:
        """A one-camera set's detections (.normalised set, camera names[0]) less the weaker
        duplicates of another of them (_weaker_duplicates), dropped before the image tracker
        as a rig's lone views drop them (_unexplained); nothing to test with one person."""
        if found.num_people < 2:
            return found
        assert found.normalised is not None
        # a joint no human pose puts there is no part of the person's extent: one wild
        # wrist 800 px off widened a box until a different person beside it "coincided"
        # with it and was dropped (a review)
        gross = gross_joints_2d(found.normalised, found.scores, found.layout)
        scores = np.where(gross, 0.0, found.scores) if gross.any() else found.scores
        stacked = StackedDetections.stacked(found.normalised, scores, [found.num_people])
        duplicate = self._weaker_duplicates(stacked, self._camera_arrays(names))
        return found.take(~duplicate) if duplicate.any() else found

    def _single_views(self, found: dict[str, Detections2D], stamp: float,
                      timings: dict[str, float], min_streak: int = 0,
                      streak_kept: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                 dict[str, int]]:
        """People each seen by one camera (a one-camera set, or the lone people of a rig):
        per camera, image tracking with confirmation and left/right labels kept continuous,
        the camera's quarter turn (upright, votes of its confirmed people) and its upside-down
        bodies; one call of the monocular method for all of them (it works in normalised
        coordinates, turned back to an upright camera's; its per-person state is keyed by
        camera, track and quarter turn); per camera the 3D turned to the camera's own axes,
        floor contact and the root-depth filter; plausibility (a body without a finite joint
        is never placed, with the check off too; upside-down bodies are not). found: camera
        name -> detections with .normalised set; min_streak: only people whose image track
        was matched in this many updates in a row are placed (a rig's lone people), and those
        whose key (camera index * _CAMERA_KEY + image track id) is in streak_kept (lone people
        published shortly before: a missed detection restarts the streak, and cost such a
        person the 6 sets of a new one, benchmarks/bench_handover.py).
        Returns (positions (P, 17, 3) rig frame, confidence (P, 17), ids (P,) the image
        trackers' (per camera), camera (P,) index in camera_names, rejected counts) of the
        people published this frame."""
        t0 = time.perf_counter()
        relabelled, ids, confirmed, camera, placed_cameras = [], [], [], [], []
        turned, inverted, turns = [], [], {}
        upright_params = self.params.upright
        for name, detections in found.items():
            tracker = self.image_trackers.setdefault(name,
                                                     ImageTracker(self.params.image_tracking))
            # followed by the joints the 2D trusts (score >= min_score, as triangulation uses
            # them): one stray low-score joint broke the track and its confirmation (ids 1-7 on
            # a walker, found by a review)
            trusted = np.where((detections.scores >= self.params.min_score)[..., None],
                               detections.keypoints, np.nan)
            update = tracker.update_labelled(trusted, stamp, detections.layout)
            turn, voted, parts = 0, detections, None
            if upright_params is not None:   # the camera's quarter turn: confirmed people vote
                upright = self.uprights.setdefault(name, CameraUpright(upright_params))
                parts = body_parts(detections.keypoints, detections.scores, detections.layout,
                                   self.params.min_score)
                turn = upright.update(upright_votes(
                    detections.keypoints, detections.scores, detections.layout,
                    self.params.min_score, upright_params, parts)[update.confirmed],
                    update.ids[update.confirmed])
            wanted = update.streak >= min_streak
            if streak_kept is not None and len(streak_kept):
                wanted |= np.isin(self.camera_names.index(name) * _CAMERA_KEY + update.ids,
                                  streak_kept)
            if min_streak and not wanted.any():
                continue                        # nobody of this camera is placed this frame
            if not wanted.all():
                detections = detections.take(wanted)
                update = _rows_of(update, wanted)
            people = exchange_detections(detections, left_right_pairs(detections.layout),
                                         update.swapped)      # labels continue the track
            if upright_params is not None:
                # (the voters' parts where they are these people: nobody dropped or relabelled)
                inverted.append(inverted_bodies(people.keypoints, people.scores, people.layout,
                                                self.params.min_score, people.image_size, turn,
                                                upright_params,
                                                parts if people is voted else None))
                # what an upright camera sees: the monocular method's own assumption
                people = turned_detections(people, -turn)
            relabelled.append(people)
            turned.append(np.full(len(update.ids), turn, np.int64))
            turns[name] = turn
            ids.append(update.ids)
            confirmed.append(update.confirmed)
            camera.append(np.full(len(update.ids), self.camera_names.index(name)))
            placed_cameras.append(name)
        if not ids:
            empty = np.zeros((0, H36M17.num_joints, 3))
            timings["track2d"] = time.perf_counter() - t0
            return (empty, np.zeros((0, H36M17.num_joints), np.float32),
                    np.zeros(0, np.int64), np.zeros(0, np.int64), {})
        track_ids, confirmed_all = np.concatenate(ids), np.concatenate(confirmed)
        camera_of = np.concatenate(camera).astype(np.int64)
        t1 = time.perf_counter()
        assert self.lifter is not None            # the callers chose this path for it
        lifted = self.lifter.lift(concatenated_detections(relabelled),
                                  camera_of * _CAMERA_KEY + track_ids
                                  + np.concatenate(turned) * _TURN_KEY, stamp)
        t2 = time.perf_counter()
        positions = lifted.positions.copy()
        for name in placed_cameras:
            cam = self._cameras[name]
            rows = np.flatnonzero(camera_of == self.camera_names.index(name))
            # back in the camera's own optical frame (the floor, the depth filter and the rig
            # transform work there)
            placed = rotated_quarter_turns(positions[rows], turns[name])
            if self.params.floor is not None:
                floor = self.floor_scales.setdefault(name, FloorScale(self.params.floor))
                placed = floor.apply(placed, lifted.confidence[rows], track_ids[rows], cam.R,
                                     cam.t)
            if self.params.depth_filter is not None:
                depth_filter = self.depth_filters.setdefault(
                    name, RootDepthFilter(self.params.depth_filter))
                placed = depth_filter.filter(placed, track_ids[rows], stamp)
            positions[rows] = (placed - cam.t) @ cam.R     # optical -> rig: R^T (x - t)
        # a body with no finite joint is nobody, whatever the plausibility setting (with it
        # off such bodies were published: an all-NaN skeleton, found by a review)
        has_joint = finite_rows(positions).any(-1)
        plausible = has_joint.copy()
        if self.params.plausibility:
            plausible &= plausible_bodies(positions, H36M17, self.params.plausibility)
        if inverted:                              # upside down (upright.inverted_bodies)
            plausible &= ~np.concatenate(inverted)
        if self.params.tracking is None:          # no tracking: no confirmation
            confirmed_all = np.ones(len(track_ids), bool)
        keep = confirmed_all & plausible
        rejected = {"unconfirmed": int((~confirmed_all).sum()),
                    "implausible": int((confirmed_all & has_joint & ~plausible).sum()),
                    # no pelvis to place them by (both hips unseen; one, with a shoulder):
                    # counted as implausible before, which told the user the wrong cause
                    "unplaced": int((confirmed_all & ~has_joint).sum())}
        timings.update(track2d=t1 - t0, lift=t2 - t1, depth=time.perf_counter() - t2)
        kept_ids = track_ids[keep] if self.params.tracking is not None else untracked_ids(
            int(keep.sum()))
        return positions[keep], lifted.confidence[keep], kept_ids, camera_of[keep], rejected

    def _rig_one_camera_ids(self, camera_of: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """The published ids (P,) of a one-camera set's people (camera index camera_of (P,),
        image track ids (P,)). A one-camera pipeline publishes the image tracker's ids. In a
        rig (several cameras, a set that held only one), each image track is given an id of
        the 3D tracker's counter the first time it is published and keeps it while its track
        lives: the 3D tracks number from 1 too, so consumers saw one id for two people (TF
        frames, markers, their own tracks). Without tracking, the frame's own numbering
        (untracked_ids) is kept."""
        if len(self.camera_names) < 2 or self.tracker is None:
            return ids
        keys = camera_of.astype(np.int64) * _CAMERA_KEY + ids
        live = np.concatenate([np.zeros(0, np.int64)] + [
            self.camera_names.index(name) * _CAMERA_KEY + tracker.active_ids.astype(np.int64)
            for name, tracker in self.image_trackers.items()])
        alive = np.isin(self._one_camera_keys, live)       # forget ended image tracks
        known_keys = self._one_camera_keys[alive]
        known_ids = self._one_camera_published[alive]
        new_keys = keys[~np.isin(keys, known_keys)]
        self._one_camera_keys = np.concatenate([known_keys, new_keys])
        self._one_camera_published = np.concatenate(
            [known_ids, self.tracker.reserve_ids(len(new_keys))])
        order = np.argsort(self._one_camera_keys, kind="stable")
        rows = order[np.searchsorted(self._one_camera_keys, keys, sorter=order)]
        return self._one_camera_published[rows]

    def _finish(self, positions: np.ndarray, confidence: np.ndarray, error: np.ndarray,
                views: np.ndarray, layout: JointLayout, method: int, stamp: float,
                timings: dict[str, float], ids: np.ndarray | None = None,
                lone: tuple[np.ndarray, np.ndarray, dict[str, int], np.ndarray, np.ndarray]
                | None = None,
                filter_keys: np.ndarray | None = None,
                loose: np.ndarray | None = None) -> Skeletons3D:
        """Tracking (unless `ids` come from the image tracker), One Euro filtering and layout
        conversion. Triangulated people are converted first (tracking and filtering work in
        the output layout) and lose their gross joints (completion.gross_joints) before
        tracking, filtering and publishing; the rig's lone people (`lone`: positions and
        confidence in H36M-17, the output layout then) join them there, with num_views 1 and
        the monocular method. One-camera people (`ids` given, H36M-17) are filtered first and
        keep their bone lengths through the filter: each joint's filter lags by that joint's
        own speed, which made short bones of walking people (pelvis-hip, thorax-shoulder) vary
        by 20-30 % although the monocular method holds every track's bones at their median
        (monocular.TrackBodySizes; benchmarks/results_onecam.md, session 11). filter_keys:
        the smoothing state's keys of a one-camera set's people, apart from the 3D tracks'
        (default: ids); loose (P, J): triangulated joints whose depth the views fix poorly
        (_RigPeople.loose, in `layout`), for gross_joints."""
        one_camera = ids is not None
        methods = None
        if one_camera:
            self._handover = None
        t0 = time.perf_counter()
        out_layout = self._output_layout(layout)
        if ids is None:
            positions, confidence, error, views = self._converted(
                positions, confidence, error, views, layout)
            if len(positions):
                # joints that end a bone no human has (completion.gross_joints: a 2D point
                # far off in two views made a joint metres away) are removed before the 3D
                # tracker and the smoothing filter see them, so they neither cost the
                # person their id for a frame nor drag the joint's smoothing, and are not
                # published; the rig's lone people, joined below, are not subject to it
                if loose is not None and out_layout.name != layout.name:
                    # a joint made from others is loose when one of them is
                    loose = convert_joint_scores((~loose).astype(np.float32), layout,
                                                 out_layout) == 0
                gross = gross_joints(positions, out_layout, self.completer.params, loose)
                positions = np.where(gross[..., None], np.nan, positions)
            if lone is not None and len(lone[0]):
                assert self.lifter is not None
                count = len(positions)
                positions = np.concatenate([positions, lone[0]])
                confidence = np.concatenate([confidence, lone[1]])
                error = np.concatenate([error, np.full(lone[1].shape, np.nan, np.float32)])
                views = np.concatenate([views, np.ones(lone[1].shape, np.uint8)])
                methods = np.full(len(positions), method, np.uint8)
                methods[count:] = self.lifter.method
            claims = self._handed_over(positions, out_layout, stamp, lone)
            ids = (self.tracker.update(positions, stamp, mirror_index(out_layout), claims,
                                       self._measured_body_lengths(positions, out_layout,
                                                                   methods, method))
                   if self.tracker is not None else untracked_ids(positions.shape[0]))
            self._remember_handover(ids, stamp)
        t1 = time.perf_counter()
        if self.smoother is not None and self.tracker is not None:
            # people placed by one view (a one-camera set's, a rig's lone people) are smoothed
            # with the monocular settings: their depth is one view's guess
            one_view = (np.ones(len(positions), bool) if one_camera else
                        None if methods is None else methods != method)
            filtered = self.smoother.filter(positions, ids if filter_keys is None
                                            else filter_keys, stamp, one_view)
            if one_camera and len(positions):
                filtered = rebuilt_with_bone_lengths(filtered, bone_lengths(positions, H36M17))
            positions = filtered
        t2 = time.perf_counter()
        if one_camera:
            positions, confidence, error, views = self._converted(
                positions, confidence, error, views, layout)
        timings["track"] = t1 - t0
        timings["filter"] = t2 - t1
        missing = ~finite_rows(positions)
        return Skeletons3D(
            positions=np.asarray(positions, np.float64),
            confidence=np.where(missing, 0.0, confidence).astype(np.float32),
            reprojection_error=np.where(missing, np.nan, error).astype(np.float32),
            num_views=np.where(missing, 0, views).astype(np.uint8),
            layout=out_layout, frame_id=self.frame_id, method=int(method), ids=ids,
            person_methods=methods)

    def _measured_body_lengths(self, positions: np.ndarray, layout: JointLayout,
                               methods: np.ndarray | None, method: int) -> np.ndarray:
        """(P, B) the long-bone lengths (m) of the people (P, J, 3) in `layout` whose body
        was measured (placed by `method`, the set's triangulation), NaN for the rig's lone
        people (methods (P,) other than it: the lifter's guess of a size, which differs from
        camera to camera): the 3D tracker's re-identification compares them."""
        lengths = bone_lengths(positions, checked_bone_pairs(layout,
                                                             self.completer.params.bone_check))
        if methods is not None:
            lengths[methods != method] = np.nan
        return lengths

    def _handed_over(self, positions: np.ndarray, layout: JointLayout, stamp: float,
                     lone: tuple[np.ndarray, np.ndarray, dict[str, int], np.ndarray,
                                 np.ndarray] | None) -> np.ndarray | None:
        """The 3D tracker's claims (lone_views.handed_over_ids) of a rig set's people
        (positions (P, J, 3) in `layout`: the triangulated, then `lone`'s people), against
        the people published within the tracker's re-id window (a lone person is placed
        LoneViewParams.min_streak sets after someone walked out of an overlap). None without
        lone views or tracking."""
        self._handover_now = None
        if lone is None or self.tracker is None or self.params.lone_views is None:
            self._handover = None
            return None
        count = len(positions) - len(lone[0])
        # (a triangulated person of a few joints, at an overlap's edge, often has no pelvis:
        # the centre of the joints there are then)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            centre = np.nanmean(positions, axis=1)
        pelvis = root_positions(positions, layout)
        pelvis = np.where(np.isfinite(pelvis).all(-1, keepdims=True), pelvis, centre)
        viewpoints = np.concatenate([np.full((count, 3), np.nan), lone[3]])
        keys = np.concatenate([np.full(count, -1, np.int64), lone[4]])
        self._handover_now = PublishedPeople(np.zeros(len(keys), np.int64), pelvis, viewpoints,
                                             keys, np.full(len(keys), stamp))
        if self._handover is None:
            return None
        return self._handover.claims(self._handover_now, stamp,
                                     self.tracker.params.reid_window_s, self.params.lone_views,
                                     self.tracker.params.gate_growth_mps)

    def _remember_handover(self, ids: np.ndarray, stamp: float) -> None:
        """Keep this set's people (their ids now tracked) and those of the re-id window
        whose id this set did not publish, for the next sets' _handed_over."""
        if self._handover_now is None or self.tracker is None:
            return
        now = replace(self._handover_now, ids=ids.astype(np.int64))
        self._handover = (now if self._handover is None else self._handover.followed_by(
            now, stamp, self.tracker.params.reid_window_s))
        self._handover_now = None

    def _output_layout(self, layout: JointLayout) -> JointLayout:
        """The layout published for people found in `layout`."""
        return get_layout(self.params.output_layout) if self.params.output_layout else layout

    def _converted(self, positions: np.ndarray, confidence: np.ndarray, error: np.ndarray,
                   views: np.ndarray, layout: JointLayout
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The per-joint arrays in the output layout."""
        out_layout = self._output_layout(layout)
        if out_layout.name == layout.name:
            return positions, confidence, error, views
        return (convert_joints(positions, layout, out_layout),
                convert_joint_scores(confidence, layout, out_layout),
                convert_joints(np.asarray(error, np.float64)[..., None], layout,
                               out_layout)[..., 0],
                convert_joint_scores(views, layout, out_layout))


def in_one_layout(detections: Mapping[str, Detections2D], names: tuple[str, ...],
                  common: JointLayout | None = None
                  ) -> tuple[Mapping[str, Detections2D], JointLayout | None]:
    """The cameras' detections in one joint layout, and the common layout to keep.

    A camera that found nobody says nothing about layouts (an empty Skeleton2DArray carries
    none, and is read back as COCO-17), so its empty detections take the others' layout.
    Cameras with people in different layouts (detectors of different back-ends: BlazePose-33
    beside a COCO-17 network) are converted to the one layout every other converts to
    (common_layout); that layout is returned so the caller keeps it from then on and the
    layout does not change with which cameras see someone. ValueError when none is."""
    found = {detections[name].layout.name: detections[name].layout for name in names
             if detections[name].num_people}
    if common is None and len(found) > 1:
        common = common_layout(list(found.values()))
    target = common or (next(iter(found.values())) if found else None)
    if target is None or all(detections[name].layout.name == target.name for name in names):
        return detections, common
    return {name: convert_detections(detections[name], target) if detections[name].num_people
            else Detections2D.empty(target, detections[name].image_size)
            for name in names}, common


def common_layout(layouts: Sequence[JointLayout]) -> JointLayout:
    """The layout among `layouts` that every other converts to (layouts.convert_joints), the
    one with the most joints where several do; ValueError when none does."""
    for target in sorted(layouts, key=lambda layout: -layout.num_joints):
        if all(convertible(source, target) for source in layouts):
            return target
    names = sorted(layout.name for layout in layouts)
    raise ValueError(f"the cameras' detectors give joint layouts {names} and none of them can "
                     "be made from the others; use detectors of one layout family")


def _rows_of(update: ImageTrackUpdate, rows: np.ndarray) -> ImageTrackUpdate:
    """The image tracker's answer for the detections at `rows` only."""
    return ImageTrackUpdate(update.ids[rows], update.confirmed[rows], update.swapped[rows],
                            update.streak[rows])


def _empty(layout: JointLayout, frame_id: str) -> Skeletons3D:
    j = layout.num_joints
    return Skeletons3D(np.zeros((0, j, 3)), np.zeros((0, j), np.float32),
                       np.zeros((0, j), np.float32), np.zeros((0, j), np.uint8), layout,
                       frame_id, METHOD_TRIANGULATION)


# The most cameras of one pipeline: association holds a person's set of cameras as a 64-bit
# mask (core.association._rejoin).
MAX_CAMERAS = 63


def untracked_ids(count: int) -> np.ndarray:
    """Ids of `count` people of a frame without tracking: 0, 1, ... in the frame's order,
    distinct within the frame (markers and TF frames per person stay apart; they were all 0)
    and not kept from frame to frame. A tracker's ids start at 1, so id 0 tells an untracked
    frame (evaluation.link_identities follows such people over time)."""
    return np.arange(count, dtype=np.int64)


def create_detectors(name: str, num_cameras: int, *, per_camera: bool = True,
                     **options: Any) -> list[Any] | Any:
    """Detector(s) for a rig: one per camera (stateful back-ends, e.g. mediapipe's tracker keeps
    one person per camera) or one shared, batched over the cameras (stateless back-ends)."""
    from .detection import create_detector  # heavy back-ends, loaded when used
    if per_camera:
        return [create_detector(name, **options) for _ in range(num_cameras)]
    return create_detector(name, **options)
