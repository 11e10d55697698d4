"""The chain one synchronised frame set goes through, shared by the ROS nodes and offline tools.

    images (BGR, one per camera present) -> 2D detector
      -> >= 2 calibrated views: cross-view association + robust triangulation (rig frame)
      -> exactly 1 view: the monocular path (a lifter placing 3D in that camera's frame,
         expressed in the rig frame when the camera has extrinsics)
      -> tracking (stable ids) -> One Euro filtering -> Skeletons3D in `frame_id`

Each stage is timed (seconds, time.perf_counter) so the nodes can publish the per-stage split
and the benchmarks can separate the 2D network from everything else. The fusion node enters at
process_detections() with 2D skeletons received from detector nodes; the all-in-one node and
the offline tools enter at process_images().

Cameras are CameraModel objects (pose3d_ros.core.camera) whose R, t map the rig frame (the
output `frame_id`) into each optical frame. A camera's model may arrive late or change
(CameraInfo): set_camera() replaces it.
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import cv2
import numpy as np

from .association import associate_normalized, gather
from .camera import CameraArrays
from .completion import SkeletonCompleter
from .detection.parallel import detect_per_camera
from .filtering import OneEuroParams, SkeletonFilter
from .layouts import H36M17, convert_joint_scores, convert_joints, get_layout
from .tracking import SkeletonTracker, TrackerParams
from .triangulation import triangulate_people
from .types import (
    METHOD_DETECTOR_3D,
    METHOD_LIFTER,
    METHOD_TRIANGULATION,
    Detections2D,
    Skeletons3D,
)


class MonocularLifter(Protocol):
    """One camera's 2D people -> 3D in that camera's optical frame.

    lift(detections, camera, stamp) -> Skeletons3D with positions (P, J, 3) metres in the
    camera's optical frame (any layout; P may differ from the detections' if some people
    cannot be lifted), confidence, method (types.METHOD_*).
    """

    def lift(self, detections: Detections2D, camera: Any, stamp: float) -> Skeletons3D: ...


@dataclass
class PipelineParams:
    """Settings of the 3D stages.

    min_views: fewest views a joint needs to be triangulated (>= 2).
    min_score: 2D joint score below which a view is not used (0..1).
    outlier_threshold_px: reprojection error above which a view is rejected (pixels).
    max_ray_distance_m: association gate, mean distance between two views' joint rays (m).
    output_layout: joint layout of the 3D output ("" = the detector's layout).
    tracking / filtering: None disables the stage.
    """

    min_views: int = 2
    min_score: float = 0.3
    outlier_threshold_px: float = 40.0  # the multi-view core's default
    max_ray_distance_m: float = 0.15
    output_layout: str = ""
    tracking: TrackerParams | None = field(default_factory=TrackerParams)
    filtering: OneEuroParams | None = field(default_factory=OneEuroParams)

    def __post_init__(self) -> None:
        if self.min_views < 2:
            raise ValueError(f"min_views must be >= 2, got {self.min_views}")
        if not 0 <= self.min_score <= 1:
            raise ValueError(f"min_score must be in [0, 1], got {self.min_score}")
        if not self.outlier_threshold_px > 0:
            raise ValueError(f"outlier_threshold_px must be > 0, got "
                             f"{self.outlier_threshold_px}")
        if not self.max_ray_distance_m > 0:
            raise ValueError(f"max_ray_distance_m must be > 0, got {self.max_ray_distance_m}")
        if self.output_layout:
            get_layout(self.output_layout)


@dataclass
class PipelineResult:
    """What one frame set produced.

    skeletons: tracked, filtered 3D skeletons in `frame_id` (possibly no person).
    detections: camera name -> the 2D people found in its image.
    cameras: names of the cameras that contributed.
    timings: stage -> seconds ("detect", "undistort", "associate", "triangulate" or "lift",
        "track",
        "filter", "total"); "detect" is absent when 2D came from elsewhere.
    note: why no 3D was made ("" when it was).
    """

    stamp: float
    skeletons: Skeletons3D
    detections: dict[str, Detections2D]
    cameras: tuple[str, ...]
    timings: dict[str, float]
    note: str = ""


class Pose3DPipeline:
    """Frame set -> tracked 3D skeletons (see the module docstring).

    camera_names: the rig's cameras, in a fixed order. cameras: name -> CameraModel for those
    whose calibration is known (others can be added with set_camera()). detectors: one per
    camera (stateful back-ends such as mediapipe's tracker) or a single detector shared by all
    cameras (stateless, batched back-ends); None for fusion-only use.
    frame_id: name of the rig frame the output is expressed in.
    lifter: the monocular path, used when a set has exactly one usable view.
    """

    def __init__(self, camera_names: Sequence[str], cameras: Mapping[str, Any] | None = None,
                 detectors: Sequence[Any] | Any | None = None, *, frame_id: str,
                 params: PipelineParams | None = None,
                 lifter: MonocularLifter | None = None) -> None:
        names = list(camera_names)
        if not names:
            raise ValueError("the pipeline needs at least one camera")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate camera names {names}")
        self.camera_names = tuple(names)
        self._cameras: dict[str, Any] = {}
        self._arrays: dict[tuple[str, ...], Any] = {}
        for camera in (cameras or {}).values():
            self.set_camera(camera)
        if detectors is None or isinstance(detectors, Sequence):
            self._detectors = list(detectors or [])
            if self._detectors and len(self._detectors) != len(names):
                raise ValueError(f"{len(self._detectors)} detectors for {len(names)} cameras")
            self._shared_detector = None
        else:
            self._detectors = []
            self._shared_detector = detectors
        self.frame_id = frame_id
        self.params = params or PipelineParams()
        self.lifter = lifter
        self.tracker = SkeletonTracker(self.params.tracking) if self.params.tracking else None
        self.smoother = SkeletonFilter(self.params.filtering) if self.params.filtering else None
        self.completer = SkeletonCompleter()

    # -- cameras ---------------------------------------------------------------------------
    def set_camera(self, camera: Any) -> None:
        """Replace the model of a known camera (e.g. from a new CameraInfo)."""
        if camera.name not in self.camera_names:
            raise ValueError(f"unknown camera {camera.name!r}; known: {self.camera_names}")
        self._cameras[camera.name] = camera
        self._arrays.clear()

    def camera(self, name: str) -> Any | None:
        """The camera's model, None while its calibration is unknown."""
        return self._cameras.get(name)

    # -- entry points ----------------------------------------------------------------------
    def process_images(self, images: Mapping[str, np.ndarray], stamp: float) -> PipelineResult:
        """images: camera name -> BGR uint8 (H, W, 3); stamp: capture time (s)."""
        start = time.perf_counter()
        names = [name for name in self.camera_names if name in images]
        unknown = set(images) - set(self.camera_names)
        if unknown:
            raise ValueError(f"images of unknown cameras {sorted(unknown)}")
        index = {name: k for k, name in enumerate(self.camera_names)}
        if self._shared_detector is not None:
            found = self._shared_detector.detect([images[name] for name in names],
                                                 cameras=[index[name] for name in names])
        elif self._detectors:  # one thread per camera (detection/parallel.py)
            found = detect_per_camera([self._detectors[index[name]] for name in names],
                                      [images[name] for name in names])
        else:
            raise ValueError("this pipeline has no detector (fusion only): use "
                             "process_detections()")
        timings = {"detect": time.perf_counter() - start}
        return self.process_detections(dict(zip(names, found, strict=True)), stamp,
                                       timings=timings, started=start)

    def process_detections(self, detections: Mapping[str, Detections2D], stamp: float, *,
                           timings: dict[str, float] | None = None,
                           started: float | None = None) -> PipelineResult:
        """detections: camera name -> 2D people of that camera's image at `stamp` (s)."""
        started = time.perf_counter() if started is None else started
        timings = dict(timings or {})
        names = tuple(name for name in self.camera_names if name in detections)
        uncalibrated = [name for name in names if name not in self._cameras]
        if uncalibrated:
            raise ValueError(f"cameras {uncalibrated} have no calibration yet")
        layouts = {detections[name].layout.name for name in names}
        if len(layouts) > 1:
            raise ValueError(f"cameras {names} use different joint layouts {sorted(layouts)}")
        layout = detections[names[0]].layout if names else None
        note = ""
        positions = confidence = error = views = None
        method = METHOD_TRIANGULATION
        if len(names) >= 2:
            positions, confidence, error, views = self._multi_view(names, detections, timings,
                                                                   stamp)
        elif len(names) == 1 and self.lifter is not None:
            positions, confidence, method, layout = self._single_view(
                names[0], detections[names[0]], stamp, timings)
            error = np.full(confidence.shape, np.nan, np.float32)
            views = np.where(np.isfinite(positions).all(-1), 1, 0).astype(np.uint8)
        else:
            note = ("no camera in the set" if not names else
                    f"only camera {names[0]} in the set and no monocular lifter configured")
        if positions is None:
            out_layout = get_layout(self.params.output_layout) if self.params.output_layout \
                else (layout or get_layout("coco17"))
            skeletons = _empty(out_layout, self.frame_id)
        else:
            skeletons = self._finish(positions, confidence, error, views, layout, method,
                                     stamp, timings)
        timings["total"] = time.perf_counter() - started
        return PipelineResult(stamp, skeletons, dict(detections), names, timings, note)

    def close(self) -> None:
        for detector in self._detectors + ([self._shared_detector]
                                           if self._shared_detector else []):
            detector.close()

    # -- stages ----------------------------------------------------------------------------
    def _multi_view(self, names, detections, timings, stamp):
        t0 = time.perf_counter()
        # Undistort every camera's keypoints ONCE (OpenCV) and hand association and
        # triangulation the normalised coordinates with the cameras stacked: the same rays,
        # points and errors as the CameraModel entry points, without repeating the work.
        found = [replace(detections[name], keypoints=undistort_normalised(
            self._cameras[name], detections[name].keypoints)) for name in names]
        arrays = self._camera_arrays(names)
        t1 = time.perf_counter()
        association = associate_normalized(arrays, [d.keypoints for d in found],
                                           [d.scores for d in found],
                                           min_score=self.params.min_score,
                                           max_ray_distance_m=self.params.max_ray_distance_m)
        t2 = time.perf_counter()
        normalized, scores = gather(found, association)
        layout = found[0].layout if found else H36M17
        result, normalized, scores = triangulate_people(
            arrays, normalized, scores, layout, min_views=self.params.min_views,
            min_score=self.params.min_score,
            outlier_threshold_px=self.params.outlier_threshold_px)
        # joints seen by < 2 views filled from the body, non-human bodies refused
        done = self.completer.complete(result.points, result.num_views, result.confidence,
                                       layout, stamp, normalized=normalized, scores=scores,
                                       cameras=arrays)
        t3 = time.perf_counter()
        timings["undistort"] = t1 - t0
        timings["associate"] = t2 - t1
        timings["triangulate"] = t3 - t2
        keep = done.publish
        return (done.points[keep], done.confidence[keep],
                np.where(done.filled, np.nan, result.reprojection_error)[keep],
                done.num_views[keep])

    def _camera_arrays(self, names: tuple[str, ...]):
        """The named cameras stacked (CameraArrays), cached until set_camera()."""
        arrays = self._arrays.get(names)
        if arrays is None:
            arrays = self._arrays[names] = CameraArrays.from_cameras(
                [self._cameras[name] for name in names])
        return arrays

    def _single_view(self, name, found, stamp, timings):
        camera = self._cameras[name]
        t0 = time.perf_counter()
        lifted = self.lifter.lift(found, camera, stamp)
        # optical frame -> rig frame: x_rig = R^T (x_cam - t)
        positions = (np.asarray(lifted.positions, np.float64) - camera.t) @ camera.R
        timings["lift"] = time.perf_counter() - t0
        return (positions, np.asarray(lifted.confidence, np.float32), lifted.method,
                lifted.layout)

    def _finish(self, positions, confidence, error, views, layout, method, stamp, timings):
        out_layout = get_layout(self.params.output_layout) if self.params.output_layout \
            else layout
        if out_layout.name != layout.name:
            positions = convert_joints(positions, layout, out_layout)
            confidence = convert_joint_scores(confidence, layout, out_layout)
            error = convert_joints(np.asarray(error, np.float64)[..., None], layout,
                                   out_layout)[..., 0]
            views = convert_joint_scores(views, layout, out_layout)
        t0 = time.perf_counter()
        ids = (self.tracker.update(positions, stamp) if self.tracker is not None
               else np.zeros(positions.shape[0], np.int64))
        t1 = time.perf_counter()
        if self.smoother is not None and self.tracker is not None:
            positions = self.smoother.filter(positions, ids, stamp)
        t2 = time.perf_counter()
        timings["track"] = t1 - t0
        timings["filter"] = t2 - t1
        missing = ~np.isfinite(positions).all(-1)
        return Skeletons3D(
            positions=np.asarray(positions, np.float64),
            confidence=np.where(missing, 0.0, confidence).astype(np.float32),
            reprojection_error=np.where(missing, np.nan, error).astype(np.float32),
            num_views=np.where(missing, 0, views).astype(np.uint8),
            layout=out_layout, frame_id=self.frame_id, method=int(method), ids=ids)


_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-14)


def undistort_normalised(camera: Any, pixels: np.ndarray) -> np.ndarray:
    """Raw pixels (..., 2) -> undistorted normalised coordinates (..., 2), NaN kept.

    The same inversion as CameraModel.undistort (iterated to convergence, agreement ~1e-15 on
    plumb_bob, rational_polynomial and equidistant models), done by OpenCV's C++
    undistortPoints: about 10x faster per call, which matters on the node's hot path.
    """
    pixels = np.asarray(pixels, np.float64)
    out = np.full(pixels.shape, np.nan)
    seen = np.isfinite(pixels).all(-1)
    if not seen.any():
        return out
    points = np.ascontiguousarray(pixels[seen]).reshape(-1, 1, 2)
    if camera.K[0, 1] != 0:
        return camera.undistort(pixels)       # OpenCV's undistortPoints ignores skew
    if not np.any(camera.dist):
        flat = (points.reshape(-1, 2) - camera.K[:2, 2]) @ np.linalg.inv(camera.K[:2, :2]).T
    elif camera.distortion_model == "equidistant":
        coeffs = np.zeros(4)
        coeffs[:camera.dist.size] = camera.dist[:4]
        flat = cv2.fisheye.undistortPoints(points, camera.K, coeffs,
                                           criteria=_UNDISTORT_CRITERIA).reshape(-1, 2)
    elif camera.distortion_model in ("plumb_bob", "rational_polynomial"):
        flat = cv2.undistortPoints(points, camera.K, camera.dist,
                                   criteria=_UNDISTORT_CRITERIA).reshape(-1, 2)
    else:
        return camera.undistort(pixels)
    out[seen] = flat
    return out


def _empty(layout, frame_id: str) -> Skeletons3D:
    j = layout.num_joints
    return Skeletons3D(np.zeros((0, j, 3)), np.zeros((0, j), np.float32),
                       np.zeros((0, j), np.float32), np.zeros((0, j), np.uint8), layout,
                       frame_id, METHOD_TRIANGULATION)


class DetectorWorldLifter:
    """Monocular method "detector_3d": the detector's own metric 3D (BlazePose world
    landmarks: hip-centred, camera-aligned axes) placed in the camera frame by the lifting
    core's root placement (2D evidence + body-size prior). Output layout: H36M-17."""

    method = METHOD_DETECTOR_3D

    def __init__(self, body_height_m: float | None = None) -> None:
        self.prior = _body_prior(body_height_m)

    def lift(self, detections: Detections2D, camera: Any, stamp: float) -> Skeletons3D:
        from .lifting.runtime import BlazePoseWorldLifter, to_camera_frame
        if detections.world is None:
            raise ValueError(f"camera {camera.name!r}: the detector gives no metric 3D "
                             "(Detections2D.world); monocular_method 'detector_3d' needs a "
                             "BlazePose back-end")
        relative = BlazePoseWorldLifter().lift_world(detections.world, detections.layout)
        pixels, scores = _undistorted_h36m(detections, camera)
        return to_camera_frame(relative, pixels, np.nan_to_num(scores), camera.K,
                               frame_id=camera.frame_id, method=self.method, prior=self.prior)


def _body_prior(body_height_m: float | None):
    """BodySizePrior of a standing height in metres; None (or 0) keeps the 3D's own size."""
    if not body_height_m:
        return None
    from .lifting.root_placement import BodySizePrior
    return BodySizePrior(height_m=float(body_height_m))


def _undistorted_h36m(detections: Detections2D, camera: Any) -> tuple[np.ndarray, np.ndarray]:
    """H36M-17 keypoints as undistorted pixels (P, 17, 2) through K, and scores (P, 17)."""
    keypoints = convert_joints(detections.keypoints, detections.layout, H36M17)
    scores = convert_joint_scores(detections.scores, detections.layout, H36M17)
    normalised = undistort_normalised(camera, keypoints)
    homogeneous = np.concatenate([normalised, np.ones_like(normalised[..., :1])], -1)
    return (homogeneous @ camera.K.T)[..., :2], scores


class TemporalLifter:
    """Monocular method "lifter": the package's temporal 2D-to-3D lifter (ONNX, onnxruntime)
    over a window of T frames per person, placed in the camera frame by root placement.

    People are followed from frame to frame in 2D (Hungarian matching of their keypoint
    centres, gated at `max_jump` times the person's box diagonal) only to fill each person's
    window; the 3D tracker gives the published ids. A new person starts with a window made of
    copies of its first frame. With a causal model the output describes the newest frame; with
    a centred model it describes the frame `latency_frames` back, and is placed with that
    frame's 2D. Output layout: H36M-17.
    """

    method = METHOD_LIFTER

    def __init__(self, model_path: str | None = None, *, max_jump: float = 0.5,
                 providers: list[str] | None = None,
                 body_height_m: float | None = None) -> None:
        from .lifting.runtime import DEFAULT_MODEL, OnnxLifter, PersonWindows
        self.prior = _body_prior(body_height_m)
        self.model = OnnxLifter(model_path or DEFAULT_MODEL, providers=providers)
        self.windows = PersonWindows(self.model.window)
        self.max_jump = max_jump
        self._centres = np.zeros((0, 2))
        self._ids = np.zeros((0,), np.int64)
        self._next_id = 1

    def _follow(self, centres: np.ndarray, diagonals: np.ndarray) -> np.ndarray:
        """2D track ids (P,) for this frame's people, matched to the previous frame's."""
        from scipy.optimize import linear_sum_assignment
        ids = np.zeros(centres.shape[0], np.int64)
        if centres.shape[0] and self._centres.shape[0]:
            cost = np.linalg.norm(centres[:, None] - self._centres[None], axis=-1)
            cost = np.where(np.isfinite(cost), cost, 1e12)
            rows, cols = linear_sum_assignment(cost)
            keep = cost[rows, cols] <= self.max_jump * diagonals[rows]
            ids[rows[keep]] = self._ids[cols[keep]]
        fresh = ids == 0
        ids[fresh] = np.arange(self._next_id, self._next_id + int(fresh.sum()))
        self._next_id += int(fresh.sum())
        self._centres, self._ids = centres, ids
        return ids

    def lift(self, detections: Detections2D, camera: Any, stamp: float) -> Skeletons3D:
        from .lifting.runtime import to_camera_frame
        pixels, scores = _undistorted_h36m(detections, camera)
        with np.errstate(invalid="ignore"):
            centres = np.nanmean(pixels, axis=1) if pixels.shape[0] else np.zeros((0, 2))
        boxes = np.asarray(detections.boxes, np.float64).reshape(-1, 4)
        diagonals = np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        ids = self._follow(centres, diagonals)
        window_px, window_scores = self.windows.push(ids, pixels, np.nan_to_num(scores))
        relative = self.model.lift(window_px, window_scores, camera.K)
        frame = self.model.window - 1 - self.model.metadata.latency_frames
        return to_camera_frame(relative, window_px[:, frame], window_scores[:, frame], camera.K,
                               frame_id=camera.frame_id, method=self.method, prior=self.prior)


MONOCULAR_METHODS = ("detector_3d", "lifter")


def create_monocular_lifter(method: str, **options: Any) -> MonocularLifter:
    """The monocular path by name (see MONOCULAR_METHODS); options go to its constructor
    (both take body_height_m: scale the 3D to a person of that height before placing it;
    None keeps the 3D's own metric size)."""
    if method == "detector_3d":
        return DetectorWorldLifter(**options)
    if method == "lifter":
        return TemporalLifter(**options)
    raise ValueError(f"unknown monocular method {method!r}; known: {list(MONOCULAR_METHODS)}")


def create_detectors(name: str, num_cameras: int, *, per_camera: bool = True,
                     **options: Any) -> list[Any] | Any:
    """Detector(s) for a rig: one per camera (stateful back-ends, e.g. mediapipe's tracker keeps
    one person per camera) or one shared, batched over the cameras (stateless back-ends)."""
    from .detection import create_detector  # heavy back-ends, loaded when used
    if per_camera:
        return [create_detector(name, **options) for _ in range(num_cameras)]
    return create_detector(name, **options)
