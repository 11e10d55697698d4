"""The one-camera 3D methods: a person's 2D in one view -> metric 3D in that camera's frame.

Both methods work on the undistorted normalised coordinates the pipeline has already computed
(Detections2D.normalised): normalised coordinates are the pixels of a camera with K = I, so the
lifter and the root placement take them as they are and no pixel <-> normalised conversion is
repeated. Each method returns root-relative 3D (H36M-17), which root placement
(lifting.root_placement.place_in_camera) puts at the depth that makes it project onto the 2D.

  BlazePoseWorld3D  "detector_3d": the detector's own metric 3D (BlazePose world landmarks:
                    hip-centred, camera-aligned axes), no temporal context.
  WindowedLifter3D  "lifter": the package's temporal 2D-to-3D lifter (ONNX, onnxruntime) over
                    a window of T frames per person; people are keyed by the ids of the
                    pipeline's image tracker (tracking.ImageTracker), so one tracker follows
                    people in 2D for both the windows and the published ids.

One camera cannot tell a small near person from a large far one: the depth follows the size
of the 3D. A person's bones do not change length, so each track keeps the median length of
each bone over its recent 3D (TrackBodySizes) and every new skeleton is rebuilt with those
lengths (directions kept) before placement (a given body height, body_height_m, then scales
the whole body to it). Frame-to-frame size noise no longer turns into depth jumps and
bone-length changes. Before that, with refine_to_2d (the default), each skeleton is placed
once and each joint pulled sideways towards its own 2D ray as far as its confidence says
(lifting.refine.refine_to_2d: depths and bone lengths kept), so the 3D agrees with the view
it came from where the 2D is sure (measured: benchmarks/results_lifter.md, session 10).

A 2D joint no human pose puts where the detector did (completion.gross_joints_2d: a bone in
the image far longer than the person's own 2D scale allows, e.g. a wrist hundreds of pixels
off with score 0.95) is taken as not seen (NaN, score 0, as the lifter was trained to see a
missed joint) by the lifter, the refinement and the placement, and is not published (NaN,
confidence 0) in that frame: one such joint moved the placed body by 1-5 m.

Records and frames: MonocularLift.positions (P, 17, 3) metres in the camera's optical frame
(x right, y down, z forward), confidence (P, 17) in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .array_ops import nanmedian_axis
from .body_model import bone_lengths, rebuilt_with_bone_lengths
from .completion import gross_joints_2d, with_one_hip_filled
from .layouts import H36M17, convert_joint_scores, convert_joints
from .lifting.refine import refine_relative_to_2d
from .lifting.root_placement import BodySizePrior, place_in_camera, placed_confidence
from .types import METHOD_DETECTOR_3D, METHOD_LIFTER, Detections2D

MONOCULAR_METHODS = ("detector_3d", "lifter")


@dataclass(frozen=True)
class MonocularLift:
    """One frame's people placed in the camera frame (H36M-17).

    positions: (P, 17, 3) metres, camera optical frame, NaN where not estimated.
    confidence: (P, 17) float32 2D scores of the frame the 3D describes (0 where missing).
    """

    positions: np.ndarray
    confidence: np.ndarray

    @classmethod
    def empty(cls) -> "MonocularLift":
        j = H36M17.num_joints
        return cls(np.zeros((0, j, 3)), np.zeros((0, j), np.float32))


class MonocularMethod(Protocol):
    """lift(detections with .normalised set, track_ids (P,), stamp_s: the frame's time in
    seconds, None if unknown) -> MonocularLift for those P people; `method` is the
    types.METHOD_* value it publishes."""

    method: int

    @property
    def latency_frames(self) -> int:
        """Frames between the newest input and the frame the output describes."""
        ...

    def lift(self, detections: Detections2D, track_ids: np.ndarray,
             stamp_s: float | None = None) -> MonocularLift: ...

    def reset(self) -> None:
        """Forget every track's history (time went backwards: ids start over)."""


class TrackMedians:
    """Per track id: the last `window` observations of K values (NaN = not observed) in a
    ring; push() records one row per track and returns each track's median over its ring (NaN
    where it holds none). Tracks absent for max_age pushes are forgotten."""

    def __init__(self, window: int = 90, max_age: int = 60) -> None:
        self.window, self.max_age = window, max_age
        # per track: (K, window) ring, NaN where not yet filled, and the next slot to write
        # (values along the last axis: the median sorts contiguous rows)
        self._history: dict[int, np.ndarray] = {}
        self._slot: dict[int, int] = {}
        self._age: dict[int, int] = {}

    def push(self, values: np.ndarray, track_ids: np.ndarray) -> np.ndarray:
        """values (P, K), track_ids (P,) distinct -> (P, K) medians including this row."""
        for track in list(self._age):
            self._age[track] += 1
            if self._age[track] > self.max_age:
                del self._age[track], self._history[track], self._slot[track]
        tracks = np.asarray(track_ids).tolist()
        for k, track in enumerate(tracks):
            ring = self._history.get(track)
            if ring is None:
                ring = self._history[track] = np.full((values.shape[1], self.window), np.nan)
                self._slot[track] = 0
            ring[:, self._slot[track]] = values[k]
            self._slot[track] = (self._slot[track] + 1) % self.window
            self._age[track] = 0
        if not tracks:
            return np.zeros((0, values.shape[1]))
        return nanmedian_axis(np.stack([self._history[t] for t in tracks]), axis=-1)


class TrackBodySizes:
    """Per track id: the median length of each bone (m) over its last `window` root-relative
    skeletons (TrackMedians); scale() rebuilds each new skeleton from the pelvis out with
    every bone's direction kept and its length set to its track's median (a person's bones do
    not change length, a monocular estimate of them does). Tracks absent for max_age calls
    are forgotten.
    """

    def __init__(self, window: int = 90, max_age: int = 60) -> None:
        self._medians = TrackMedians(window, max_age)

    def reset(self) -> None:
        """Forget every track's bone lengths."""
        self._medians = TrackMedians(self._medians.window, self._medians.max_age)

    def scale(self, relative: np.ndarray, track_ids: np.ndarray) -> np.ndarray:
        """relative (P, 17, 3) metres H36M-17, track_ids (P,) distinct -> the skeletons
        rebuilt."""
        lengths = bone_lengths(relative, H36M17)                             # (P, B)
        wanted = self.wanted_lengths(lengths, track_ids)
        return rebuilt_with_bone_lengths(relative, wanted) if len(lengths) else relative

    def wanted_lengths(self, lengths: np.ndarray, track_ids: np.ndarray) -> np.ndarray:
        """The bone lengths (P, B) metres scale() rebuilds the skeletons of these lengths
        (P, B) with (their track's median, this frame's included), recording them."""
        median = self._medians.push(lengths, track_ids)
        return np.where(np.isfinite(median), median, lengths)   # a bone never seen: as is


def _body_prior(body_height_m: float | None) -> BodySizePrior | None:
    """BodySizePrior of a standing height in metres; None (or 0) keeps the 3D's own size."""
    if not body_height_m:
        return None
    return BodySizePrior(height_m=float(body_height_m))


def _h36m_normalised(detections: Detections2D) -> tuple[np.ndarray, np.ndarray]:
    """H36M-17 normalised coordinates (P, 17, 2) and scores (P, 17, NaN as 0)."""
    if detections.normalised is None:
        raise ValueError("detections carry no normalised coordinates: undistort them first "
                         "(Detections2D.with_normalised)")
    # a hip hidden while the other and the shoulders are seen: placed from them (else no
    # pelvis, no person: completion.with_one_hip_filled)
    source, source_scores, _ = with_one_hip_filled(detections.normalised,
                                                   np.nan_to_num(detections.scores),
                                                   detections.layout)
    normalised = convert_joints(source, detections.layout, H36M17)
    scores = convert_joint_scores(source_scores, detections.layout, H36M17)
    return normalised, np.nan_to_num(scores)


def _without_gross_joints(normalised: np.ndarray, scores: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """H36M-17 2D (..., 17, 2) and scores (..., 17) with the joints of
    completion.gross_joints_2d as not seen (NaN, score 0), and those joints (..., 17) bool.
    Without any, the arrays themselves (the usual case: the same numbers as before the check)."""
    gross = gross_joints_2d(normalised, scores, H36M17)
    if not gross.any():
        return normalised, scores, gross
    return (np.where(gross[..., None], np.nan, normalised), np.where(gross, 0.0, scores),
            gross)


def _seen_2d(detections: Detections2D) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The detections' H36M-17 normalised 2D (P, 17, 2) and scores (P, 17) with their gross
    joints as not seen, and those joints (P, 17) bool (_h36m_normalised,
    _without_gross_joints)."""
    return _without_gross_joints(*_h36m_normalised(detections))


def _place(relative: np.ndarray, normalised: np.ndarray, scores: np.ndarray,
           prior: Any) -> MonocularLift:
    placed, _ = place_in_camera(relative, normalised, scores, prior=prior, refine=True)
    return MonocularLift(placed, placed_confidence(placed, scores))


def _unpublished(positions: np.ndarray, confidence: np.ndarray,
                 gross: np.ndarray) -> MonocularLift:
    """The people (P, 17, 3) / (P, 17) with their gross 2D joints (P, 17) NaN, confidence 0."""
    if not gross.any():
        return MonocularLift(positions, confidence)
    return MonocularLift(np.where(gross[..., None], np.nan, positions),
                         np.where(gross, 0.0, confidence).astype(np.float32))


class BlazePoseWorld3D:
    """Monocular method "detector_3d" (see the module docstring). Needs a back-end that gives
    Detections2D.world (BlazePose); a frame without people needs nothing."""

    method = METHOD_DETECTOR_3D
    latency_frames = 0

    def __init__(self, body_height_m: float | None = None, bone_window: int = 90,
                 refine_to_2d: bool = True) -> None:
        self.prior = _body_prior(body_height_m)
        self.sizes = TrackBodySizes(bone_window) if bone_window else None
        self.refine_to_2d = refine_to_2d

    def reset(self) -> None:
        """Forget every track's bone lengths (ids start over)."""
        if self.sizes is not None:
            self.sizes.reset()

    def lift(self, detections: Detections2D, track_ids: np.ndarray,
             stamp_s: float | None = None) -> MonocularLift:
        if detections.num_people == 0:
            return MonocularLift.empty()
        relative, normalised, scores, gross = self.world_relative(detections)
        if self.refine_to_2d:
            relative = refine_relative_to_2d(relative, normalised, scores)
        if self.sizes is not None:
            relative = self.sizes.scale(relative, track_ids)
        placed = _place(relative, normalised, scores, self.prior)
        return _unpublished(placed.positions, placed.confidence, gross)

    def world_relative(self, detections: Detections2D,
                       seen: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The detector's root-relative H36M-17 3D (P, 17, 3) metres, before refinement and
        sizes, with the normalised 2D (P, 17, 2) and scores (P, 17) it is placed with (gross
        joints as not seen) and those gross joints (P, 17) bool (module docstring). seen:
        that 2D, scores and gross joints where the caller has them (_seen_2d of the same
        detections)."""
        if detections.world is None:
            raise ValueError("the detector gives no metric 3D (Detections2D.world); "
                             "monocular_method 'detector_3d' needs a BlazePose back-end")
        from .lifting.runtime import BlazePoseWorldLifter
        relative = BlazePoseWorldLifter().lift_world(detections.world, detections.layout)
        normalised, scores, gross = _seen_2d(detections) if seen is None else seen
        return relative, normalised, scores, gross


class WindowedLifter3D:
    """Monocular method "lifter" (see the module docstring). A new person starts with a window
    of copies of its first frame. With a causal model the output describes the newest frame;
    with a centred one the frame `latency_frames` back, placed with that frame's 2D.
    depth_from_detector: when the back-end gives metric 3D (BlazePose world landmarks), each
    person's pelvis is moved along its ray to the depth at which detector_3d places it, and
    the body around it is scaled by the median of that factor over the track's last
    bone_window frames (at_depth_of with body_factor): the lifter's pose with the detector's
    distance. The depth then comes from the detector, whose metric 3D sees the whole image and
    places people better in depth than the lifter's learned average size (measured:
    benchmarks/results_lifter.md); the track's median keeps one frame's depth error from
    resizing the bones. The rest of the body then projects off its 2D by that frame's
    deviation from the median, which is larger near the camera, where the ratio also drifts
    with distance (a person walking closer is sized for where they were over the window):
    results_onecam.md, session 26. bone_window 0: each frame's own
    factor, which keeps the projection of every joint. Without world landmarks the lifter's
    own size is used.
    flip_average: also lift the left/right mirrored 2D and average the two 3D poses (test-time
    flip augmentation: 2x the network's cost, about 0.3 ms per person-frame; see
    benchmarks/results_lifter.md for what it gains). refine_to_2d: see the module docstring."""

    method = METHOD_LIFTER

    def __init__(self, model_path: str | None = None, *, providers: list[str] | None = None,
                 body_height_m: float | None = None, flip_average: bool = True,
                 depth_from_detector: bool = True, bone_window: int = 90,
                 refine_to_2d: bool = True) -> None:
        from .lifting.runtime import DEFAULT_MODEL, OnnxLifter, PersonWindows
        self.prior = _body_prior(body_height_m)
        self.flip_average = flip_average
        self.refine_to_2d = refine_to_2d
        self.detector_3d = (BlazePoseWorld3D(body_height_m, bone_window, refine_to_2d)
                            if depth_from_detector else None)
        self.model = OnnxLifter(model_path or DEFAULT_MODEL, providers=providers)
        self.windows = PersonWindows(self.model.window)
        self.sizes = TrackBodySizes(bone_window) if bone_window else None
        # per track: the median of depth_factors, the body's size (see lift)
        self.body_factors = TrackMedians(bone_window) if bone_window else None

    @property
    def latency_frames(self) -> int:
        """0 for a causal model; a centred one describes the frame window // 2 back."""
        return self.model.metadata.latency_frames

    def reset(self) -> None:
        """Forget every track's 2D window and bone lengths (ids start over)."""
        from .lifting.runtime import PersonWindows
        self.windows = PersonWindows(self.model.window)
        for each in (self.sizes, self.detector_3d):
            if each is not None:
                each.reset()
        if self.body_factors is not None:
            self.body_factors = TrackMedians(self.body_factors.window, self.body_factors.max_age)

    def lift(self, detections: Detections2D, track_ids: np.ndarray,
             stamp_s: float | None = None) -> MonocularLift:
        # each frame's 2D with its gross joints as not seen, and the lifter's features of it
        # (and of its mirror image), found once when the frame is new (per person-frame): the
        # windows keep them beside the 2D
        seen = _seen_2d(detections)
        # a track back after a stall starts its window again (runtime.MAX_WINDOW_GAP_S)
        track_ids = np.asarray(track_ids)
        window_xy, window_scores = self.windows.push(
            track_ids, seen[0], seen[1], stamp_s,
            extra={"gross": seen[2], "features": self._frame_features(seen[0], seen[1])})
        if detections.num_people == 0:
            return MonocularLift.empty()
        relative = self._lifted(track_ids, window_xy, window_scores)
        latency = self.model.metadata.latency_frames
        frame = self.model.window - 1 - latency
        xy, xy_scores = window_xy[:, frame], window_scores[:, frame]
        gross = seen[2] if not latency else self.windows.window_of("gross", track_ids)[:, frame]
        people = len(relative)
        # the detector's metric 3D describes the newest frame: only a causal lifter's output
        # (the same frame) takes its depth. Then detector_3d's people go through the same
        # refinement and placement calls as the lifter's (what BlazePoseWorld3D.lift does,
        # batched: each step treats every person on its own).
        detector = self.detector_3d
        with_depth = detector is not None and detections.world is not None and not latency
        parts = [(slice(None, people), self.sizes)]
        if with_depth:
            assert detector is not None
            world, normalised, scores, _ = detector.world_relative(detections, seen)
            relative = np.concatenate([relative, world])
            xy, xy_scores = np.concatenate([xy, normalised]), np.concatenate([xy_scores, scores])
            parts.append((slice(people, None), detector.sizes))
        if self.refine_to_2d:
            relative = refine_relative_to_2d(relative, xy, xy_scores)
        relative = _scaled_parts(np.asarray(relative, np.float64), parts, track_ids)
        placed = _place(relative, xy, xy_scores, self.prior)
        if not with_depth:
            return _unpublished(placed.positions, placed.confidence, gross)
        # each frame's pelvis goes to the detector's depth; the body keeps its track's median
        # factor, so one frame's depth error does not resize the bones
        own, reference = placed.positions[:people], placed.positions[people:]
        body = (None if self.body_factors is None else self.body_factors.push(
            depth_factors(own, reference)[:, None], track_ids)[:, 0])
        positions = at_depth_of(own, reference, body)
        return _unpublished(positions, placed.confidence[:people], gross)

    def _frame_features(self, xy: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """One frame's lifter features (lifting.normalization.lifter_features) per person,
        of its normalised 2D (P, 17, 2) and scores (P, 17): (P, F), or with flip_average
        (P, 2, F), the person's and its mirror image's (runtime.flip_batch): each frame's row
        of the windows OnnxLifter.lift makes features of, made once."""
        from .lifting.normalization import lifter_features, num_features
        from .lifting.runtime import flip_batch
        if not len(xy):                                           # nobody: nothing to make
            return np.zeros((0, 2, num_features(H36M17.num_joints)) if self.flip_average
                            else (0, num_features(H36M17.num_joints)), np.float32)
        xy = np.array(xy, np.float64)[:, None]                    # (P, 1, 17, 2), C order
        scores = np.asarray(scores, np.float64)
        scores = np.where(np.isfinite(scores), scores, 0.0)[:, None]
        if not self.flip_average:
            return lifter_features(xy, scores)[:, 0]
        features = lifter_features(*flip_batch(xy, scores))[:, 0]           # (2P, F)
        return features.reshape(2, -1, features.shape[-1]).transpose(1, 0, 2)

    def _lifted(self, track_ids: np.ndarray, window_xy: np.ndarray, window_scores: np.ndarray
                ) -> np.ndarray:
        """OnnxLifter.lift of these people's windows (P, T, 17, 2) normalised, scores
        (P, T, 17), from their frames' stored features (_frame_features): (P, 17, 3)
        root-relative metres."""
        from .lifting.runtime import flip_averaged, without_evidence
        features = self.windows.window_of("features", track_ids)     # (P, T, [2,] F)
        nan_person = without_evidence(window_xy, np.asarray(window_scores, np.float64))
        if not self.flip_average:
            return self.model.run_features(features) + nan_person
        people, frames, _, width = features.shape
        batch = features.transpose(2, 0, 1, 3).reshape(2 * people, frames, width)
        return flip_averaged(self.model.run_features(batch), people) + nan_person


def _scaled_parts(relative: np.ndarray, parts: list[tuple[slice, TrackBodySizes | None]],
                  track_ids: np.ndarray) -> np.ndarray:
    """Root-relative H36M-17 skeletons (N, 17, 3) metres whose rows `parts` (slices of P
    people each, the same track_ids (P,)) are each rebuilt at their own TrackBodySizes' bone
    lengths (TrackBodySizes.scale; None: as they are), in one rebuild for all of them."""
    lengths = bone_lengths(relative, H36M17)                                # (N, B)
    wanted = lengths.copy()
    for part, sizes in parts:
        if sizes is not None:
            wanted[part] = sizes.wanted_lengths(lengths[part], track_ids)
    if not len(relative) or all(sizes is None for _, sizes in parts):
        return relative
    rebuilt = rebuilt_with_bone_lengths(relative, wanted)
    if all(sizes is not None for _, sizes in parts):
        return rebuilt
    out = relative.copy()
    for part, sizes in parts:
        if sizes is not None:
            out[part] = rebuilt[part]
    return out


def depth_factors(placed: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The factor (P,) that scales each camera-frame skeleton of `placed` (P, J, 3) about the
    camera centre so that its pelvis (joint 0) lies at the depth of the same person's pelvis
    in `reference` (P, J, 3), metres, camera optical frame; NaN where either depth is missing."""
    own, wanted = placed[:, 0, 2], reference[:, 0, 2]
    usable = np.isfinite(own) & np.isfinite(wanted) & (own > 1e-6) & (wanted > 1e-6)
    return np.where(usable, wanted / np.where(usable, own, 1.0), np.nan)


def at_depth_of(placed: np.ndarray, reference: np.ndarray,
                body_factor: np.ndarray | None = None) -> np.ndarray:
    """Scale camera-frame skeletons (P, J, 3) about the camera centre so that each pelvis
    (joint 0) lies at the depth of the same person's pelvis in `reference` (P, J, 3), metres,
    camera optical frame (depth_factors). Scaling about the centre keeps every joint on its
    ray: the projection is unchanged. A person without a reference pelvis depth keeps its own.
    body_factor (P,): scale the body about its pelvis by this factor instead (the pelvis is
    placed as above; NaN: the pelvis's own factor), e.g. a track's median of depth_factors,
    so that one frame's depth error moves the person without resizing its bones."""
    factor = np.nan_to_num(depth_factors(placed, reference), nan=1.0)
    scaled = placed * factor[:, None, None]
    if body_factor is None:
        return scaled
    body = np.where(np.isfinite(body_factor), body_factor, factor)
    pelvis = placed[:, :1]
    resized = pelvis * factor[:, None, None] + (placed - pelvis) * body[:, None, None]
    return np.where(np.isfinite(pelvis).all(-1)[..., None], resized, scaled)


def create_monocular_method(method: str, **options: Any) -> MonocularMethod:
    """The monocular method by name (see MONOCULAR_METHODS); options go to its constructor
    (both take body_height_m: scale the 3D to a person of that height before placing it;
    None keeps the 3D's own metric size; bone_window: frames of each track's median bone
    lengths, TrackBodySizes, 0 leaves the bones as estimated; refine_to_2d: pull each joint
    towards its 2D ray, lifting.refine)."""
    if method == "detector_3d":
        return BlazePoseWorld3D(**options)
    if method == "lifter":
        return WindowedLifter3D(**options)
    raise ValueError(f"unknown monocular method {method!r}; known: {list(MONOCULAR_METHODS)}")
