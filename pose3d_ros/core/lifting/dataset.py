"""Data for lifter training and evaluation: 2D detections of recordings, cameras, pseudo-labels.

A multi-view recording becomes, per camera, a sequence of 2D keypoints (H36M-17 layout,
pixels of the raw image) with scores, plus the pseudo-3D of each frame triangulated from all
cameras and expressed in that camera's optical frame (x right, y down, z forward, metres).

Cameras are pose3d_ros.core.camera.CameraModel (calibration.load_qualisys_qca for the demo's
Qualisys files) and triangulation is pose3d_ros.core.triangulation: no second implementation.
"""
from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..layouts import BLAZEPOSE33, H36M17, convert_joint_scores, convert_joints
from ..output_files import DamagedFileError, cache_kept, npz_file, write_atomically
from ..types import as_image_size

if TYPE_CHECKING:
    from ..camera import CameraModel

log = logging.getLogger(__name__)


def world_to_camera(camera: CameraModel, points: np.ndarray) -> np.ndarray:
    """(..., 3) world metres -> (..., 3) metres in the camera's optical frame.

    camera: a core.camera.CameraModel (x_cam = R x_world + t).
    """
    return camera.to_camera_frame(points)


def undistort_pixels(camera: CameraModel, pixels: np.ndarray) -> np.ndarray:
    """(..., 2) raw pixels -> (..., 2) undistorted pixels with the same K; NaN stays NaN.

    camera: a core.camera.CameraModel (its own distortion model is used).
    """
    K = np.asarray(camera.K, np.float64)
    xy = np.asarray(camera.undistort(np.asarray(pixels, np.float64)), np.float64)
    return xy * np.array([K[0, 0], K[1, 1]]) + np.array([K[0, 2], K[1, 2]])


def load_cameras(path: str | Path) -> list:
    """CameraModels of a Qualisys .qca.txt calibration file (calibration.load_qualisys_qca)."""
    from ..calibration import load_qualisys_qca

    return list(load_qualisys_qca(path).cameras)


@dataclass
class ViewDetections:
    """BlazePose output for one video (one person per frame; NaN where none was found).

    keypoints: (F, 33, 2) raw-image pixels; scores: (F, 33) in [0, 1] (visibility);
    world: (F, 33, 3) metres, BlazePose world landmarks (hip-centred, camera-aligned axes).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    world: np.ndarray
    image_size: tuple[int, int]


class BlazePoseSequence:
    """mediapipe BlazePose (the package's "blazepose" back-end: model_complexity=1, tracking
    mode, mediapipe's landmark smoothing on) over one camera's frames, one row per frame.

    Frames go in in capture order: add(image) detects on a uint8 BGR (H, W, 3), BGRA
    (H, W, 4) or mono (H, W) image; add(None) keeps the row of a frame that is missing (not
    received, not decodable) as NaN without disturbing the tracker. result() stacks the rows.
    """

    def __init__(self) -> None:
        from ..detection.blazepose_mediapipe import MediapipeBlazePose

        self._detector = MediapipeBlazePose(smooth_landmarks=True)
        self._kps: list[np.ndarray] = []
        self._scs: list[np.ndarray] = []
        self._wld: list[np.ndarray] = []
        self.image_size = (0, 0)

    def __enter__(self) -> "BlazePoseSequence":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._detector.close()

    def __len__(self) -> int:
        return len(self._kps)

    def _missing(self) -> None:
        self._kps.append(np.full((33, 2), np.nan, np.float32))
        self._scs.append(np.zeros(33, np.float32))
        self._wld.append(np.full((33, 3), np.nan, np.float32))

    def pad_to(self, frames: int) -> None:
        """Append NaN rows until there are `frames` rows."""
        for _ in range(frames - len(self._kps)):
            self._missing()

    def add(self, image: np.ndarray | None) -> None:
        """Detect on one frame (None: a missing frame) and append its row."""
        import cv2

        if image is None:
            self._missing()
            return
        h, w = image.shape[:2]
        self.image_size = (w, h)
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        elif image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        found = self._detector.detect([image])[0]
        if found.num_people == 0 or found.world is None:
            self._missing()
            return
        self._kps.append(found.keypoints[0])
        self._scs.append(found.scores[0])
        self._wld.append(found.world[0])

    def result(self) -> ViewDetections:
        """The rows so far as ViewDetections (float32)."""
        if not self._kps:
            return ViewDetections(np.zeros((0, 33, 2), np.float32), np.zeros((0, 33), np.float32),
                                  np.zeros((0, 33, 3), np.float32), self.image_size)
        return ViewDetections(np.array(self._kps, np.float32), np.array(self._scs, np.float32),
                              np.array(self._wld, np.float32), self.image_size)

def detect_video_blazepose(video_path: str | Path, max_frames: int | None = None,
                           progress: bool = True) -> ViewDetections:
    """BlazePoseSequence over the frames of a video file."""
    import cv2
    from tqdm import tqdm

    from ..video import end_of_videos

    cap = cv2.VideoCapture(str(video_path))
    if not cap.isOpened():
        raise ValueError(f"cannot open video {video_path}")
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    try:
        with BlazePoseSequence() as pose:
            # until the video ends, not the container's count: an estimate, fewer than the
            # frames in some files (a review: an AVI whose header said 10 of its 30 frames was
            # read to 10, and every camera cut to that); the count is the progress bar's
            for _ in tqdm(itertools.count(), desc=Path(video_path).name,
                          disable=not progress, total=total):
                if max_frames is not None and len(pose) >= max_frames:
                    break
                ok, frame = cap.read()
                if not ok:
                    # decoding that stops before the container's end is a damaged video, not
                    # a shorter one (found by a review: eval_lifter scored the first 53 of
                    # 100 frames without a word)
                    # (the lifter tools read whole videos: no option keeps the first
                    # frames, so the advice is an ffmpeg command)
                    end_of_videos([Path(video_path)], [True], len(pose), [total or 0], True,
                                  keep=None)
                    break
                pose.add(frame)
            views = pose.result()
    finally:
        cap.release()
    if not len(views.keypoints):
        raise ValueError(f"no frames read from {video_path}")
    return views


def save_views(cache_file: Path, views: list[ViewDetections], **extra: np.ndarray) -> None:
    """Write detections (and extra arrays) to an .npz cache file, whole or not at all (an
    interrupted run leaves no cut-short cache); as np.savez, '.npz' is appended to a name
    without it."""
    arrays: dict = {"num_views": len(views), **extra}
    for v, d in enumerate(views):
        arrays.update({f"kp{v}": d.keypoints, f"sc{v}": d.scores, f"w{v}": d.world,
                       f"size{v}": np.array(d.image_size)})
    name = str(cache_file)
    write_atomically(Path(name if name.endswith(".npz") else name + ".npz"),
                     lambda file: np.savez_compressed(file, **arrays))


def load_views(data: Mapping[str, np.ndarray]) -> list[ViewDetections]:
    """Detections of an opened .npz cache (np.load of a save_views file)."""
    return [ViewDetections(data[f"kp{v}"], data[f"sc{v}"], data[f"w{v}"],
                           as_image_size(data[f"size{v}"]))
            for v in range(int(data["num_views"]))]


def detect_recording(video_paths: list[Path], cache_file: Path | None = None,
                     progress: bool = True) -> list[ViewDetections]:
    """BlazePose detections of every camera of a recording, cached in an .npz file. One WARN
    when the videos are of different lengths (the pseudo-labels take the shortest's frames;
    a review: a 40-frame camera of 100-frame ones cut them all to 40 without a word)."""
    from ..video import warn_unequal_lengths

    views = None
    if cache_file is not None and Path(cache_file).is_file():
        try:
            with npz_file(cache_file, "a detection cache file") as data:
                views = load_views(data)
        except DamagedFileError as exc:     # (a disk error, a copy cut short): detect again
            log.warning("%s: detecting again", exc)
    if views is None:
        views = [detect_video_blazepose(p, progress=progress) for p in video_paths]
        if cache_file is not None:
            cache_kept(lambda: save_views(cache_file, views), Path(cache_file), "the 2D cache")
    warn_unequal_lengths(video_paths, [len(v.keypoints) for v in views])
    return views


Triangulator = Callable[[list, np.ndarray, np.ndarray], np.ndarray]
"""(cameras, raw pixels (..., V, J, 2), scores (..., V, J)) -> world points (..., J, 3)."""


def default_triangulator() -> Triangulator:
    """pose3d_ros.core.triangulation.triangulate, returning only the points."""
    from ..triangulation import triangulate

    def core(cameras: Sequence[CameraModel], keypoints: np.ndarray, scores: np.ndarray
             ) -> np.ndarray:
        return np.asarray(triangulate(cameras, keypoints, scores).points)

    return core


@dataclass(frozen=True)
class PseudoLabels:
    """Per-camera training samples of one recording.

    keypoints: (V, F, 17, 2) raw pixels, H36M-17; scores: (V, F, 17);
    points_world: (F, 17, 3) triangulated pseudo-3D, world metres (NaN where rejected);
    points_cam: (V, F, 17, 3) the same in each camera's optical frame, NaN where that camera
        did not take part (its 2D disagrees: another person, a left/right swap);
    world_baseline: (V, F, 17, 3) BlazePose world landmarks in H36M-17, root-relative;
    views_used: (V, F) bool, cameras whose 2D made the pseudo-3D of the frame;
    reprojection_px: (F, 17) RMS reprojection error over the views used, pixels.
    extrinsics: where the cameras' poses came from ("calibration <file>", "tf_static",
        "self-calibrated, people 1.7 m tall"; "" when not said), for the model's metadata.
    person: the 2D tracker's id of the person (multi-person labels), None for a recording's
        one person: the one number the logs and the tables give them.
    """

    cameras: list  # core.camera.CameraModel
    keypoints: np.ndarray
    scores: np.ndarray
    points_world: np.ndarray
    points_cam: np.ndarray
    world_baseline: np.ndarray
    views_used: np.ndarray
    reprojection_px: np.ndarray
    extrinsics: str = ""
    person: int | None = None


def _reprojection_px(cameras: Sequence[CameraModel], points_world: np.ndarray,
                     undist: np.ndarray, scores: np.ndarray, min_score: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per-view pixel error (V, F, J) of world points against undistorted 2D; NaN if unseen."""
    cam_pts = np.stack([world_to_camera(c, points_world) for c in cameras])
    K = np.stack([c.K for c in cameras])[:, None]  # (V, 1, 3, 3)
    proj = np.einsum("vfij,vfkj->vfki", K, cam_pts)
    proj = proj[..., :2] / proj[..., 2:3]
    err = np.linalg.norm(proj - undist, axis=-1)
    return np.where(scores >= min_score, err, np.nan), cam_pts


def make_pseudo_labels(cameras: list, views: list[ViewDetections],
                       triangulate: Triangulator | None = None,
                       max_frame_error_px: float = 20.0, max_joint_error_px: float = 30.0,
                       min_score: float = 0.3) -> PseudoLabels:
    """Triangulate BlazePose 2D into pseudo-3D from the largest set of cameras that agree.

    The 2D back-end follows one person per camera; in a crowded scene cameras may follow
    different people, and any camera may swap left and right. For every frame, each subset
    of >= 2 cameras is triangulated (all frames at once per subset) and the largest subset
    in which every camera's median joint reprojection error is below max_frame_error_px wins
    (ties: lowest error). Joints above max_joint_error_px become NaN. Cameras outside the
    winning subset yield no 3D label for that frame.
    """
    from itertools import combinations

    if len(cameras) != len(views):
        raise ValueError(f"{len(cameras)} cameras but {len(views)} detection sequences")
    if len(cameras) < 2:
        raise ValueError("pseudo-labels need at least 2 calibrated cameras")
    frames = min(v.keypoints.shape[0] for v in views)
    kp = np.stack([convert_joints(v.keypoints[:frames], BLAZEPOSE33, H36M17) for v in views])
    sc = np.stack([convert_joint_scores(v.scores[:frames], BLAZEPOSE33, H36M17)
                   for v in views])
    world = np.stack([convert_joints(v.world[:frames], BLAZEPOSE33, H36M17) for v in views])
    world = world - world[..., :1, :]
    undist = np.stack([undistort_pixels(c, k) for c, k in zip(cameras, kp, strict=True)])
    tri = triangulate or default_triangulator()
    n_views = len(cameras)
    best_size = np.zeros(frames, int)
    best_err = np.full(frames, np.inf)
    best_pts = np.full((frames, H36M17.num_joints, 3), np.nan)
    best_used = np.zeros((n_views, frames), bool)
    for size in range(n_views, 1, -1):
        for subset in combinations(range(n_views), size):
            mask = np.isin(np.arange(n_views), subset)
            scores_sub = np.where(mask[:, None, None], sc, 0.0)
            pts = tri(cameras, np.moveaxis(kp, 0, 1), np.moveaxis(scores_sub, 0, 1))
            err, _ = _reprojection_px(cameras, pts, undist, scores_sub, min_score)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames
                # the worst camera of the subset (its median joint error) must agree; a camera
                # with no joint scored min_score or more cannot (a review: its NaN median was
                # passed over, and it agreed)
                per_camera = np.nanmedian(err[mask], axis=-1)              # (size, F)
                frame_err = np.where(np.isnan(per_camera).any(0), np.inf,
                                     np.nanmax(per_camera, axis=0))
            take = (frame_err < max_frame_error_px) & (
                (size > best_size) | ((size == best_size) & (frame_err < best_err)))
            best_size[take], best_err[take] = size, frame_err[take]
            best_pts[take] = pts[take]
            best_used[:, take] = mask[:, None]
    err, _ = _reprojection_px(cameras, best_pts, undist, sc, min_score)
    err = np.where(best_used[..., None], err, np.nan)
    seen = np.isfinite(err)
    rms = np.sqrt(np.where(seen, err ** 2, 0).sum(0) / np.maximum(seen.sum(0), 1))
    rms[seen.sum(0) < 2] = np.nan
    best_pts[~(rms <= max_joint_error_px)] = np.nan
    cam_pts = np.stack([world_to_camera(c, best_pts) for c in cameras])
    cam_pts[~best_used] = np.nan
    log.info("pseudo-labels: %d of %d frames usable, views used per frame %.2f",
             int((best_size > 0).sum()), frames, best_size[best_size > 0].mean()
             if (best_size > 0).any() else 0.0)
    return PseudoLabels(cameras, kp, sc, best_pts, cam_pts, world, best_used, rms)


def multi_person_pseudo_labels(cameras: list, per_camera: list, fps: float,
                               min_labelled_frames: int = 30, max_ray_distance_m: float = 0.15,
                               **gates: Any) -> list[PseudoLabels]:
    """Pseudo-labels of EVERY person of a multi-person recording, one PseudoLabels each.

    per_camera: one detection.cache.VideoDetections per camera from a multi-person back-end
    (BlazePose-33 with world landmarks, e.g. blazepose_multi). Per frame the people are
    associated across cameras (core.association) and triangulated (core.triangulation); the
    3D tracker (core.tracking) gives each person an id over time. Each person's per-camera 2D
    sequence (NaN where that camera did not see them) then goes through make_pseudo_labels,
    which keeps the cameras that agree. People labelled in fewer than min_labelled_frames
    frames (passers-by, short false tracks) are dropped. gates: make_pseudo_labels options.
    """
    from ..association import associate
    from ..tracking import SkeletonTracker, TrackerParams
    from ..triangulation import triangulate

    if len(cameras) != len(per_camera):
        raise ValueError(f"{len(cameras)} cameras but {len(per_camera)} detection sequences")
    if any(d.layout.name != BLAZEPOSE33.name or d.world is None for d in per_camera):
        raise ValueError("multi-person pseudo-labels need BlazePose-33 detections with world "
                         "landmarks (e.g. the blazepose_multi back-end)")
    frames = min(len(d.num_people) for d in per_camera)
    n_views, j = len(cameras), BLAZEPOSE33.num_joints
    tracker = SkeletonTracker(TrackerParams())
    tracks: dict[int, dict[str, np.ndarray]] = {}
    for f in range(frames):
        found = [d.frame(f) for d in per_camera]
        association = associate(cameras, found, max_ray_distance_m=max_ray_distance_m)
        if association.num_people == 0:
            tracker.update(np.zeros((0, j, 3)), f / fps)
            continue
        keypoints = np.full((association.num_people, n_views, j, 2), np.nan)
        scores = np.zeros((association.num_people, n_views, j))
        world = np.full((association.num_people, n_views, j, 3), np.nan)
        for v, det in enumerate(found):
            index = association.members[:, v]
            seen = index >= 0
            keypoints[seen, v] = det.keypoints[index[seen]]
            scores[seen, v] = np.nan_to_num(det.scores[index[seen]])
            world[seen, v] = det.world[index[seen]]
        points = triangulate(cameras, keypoints, scores).points
        for person, track_id in enumerate(tracker.update(points, f / fps).tolist()):
            track = tracks.setdefault(track_id, {
                "kp": np.full((n_views, frames, j, 2), np.nan, np.float32),
                "sc": np.zeros((n_views, frames, j), np.float32),
                "w": np.full((n_views, frames, j, 3), np.nan, np.float32)})
            track["kp"][:, f] = keypoints[person]
            track["sc"][:, f] = scores[person]
            track["w"][:, f] = world[person]
    labels = []
    sizes = as_image_size(per_camera[0].image_size)
    for track_id, track in sorted(tracks.items()):
        views = [ViewDetections(track["kp"][v], track["sc"][v], track["w"][v],
                                as_image_size(per_camera[v].image_size) or sizes)
                 for v in range(n_views)]
        label = replace(make_pseudo_labels(cameras, views, **gates), person=int(track_id))
        labelled = int(np.isfinite(label.points_world[:, 0, 0]).sum())
        if labelled >= min_labelled_frames:
            log.info("person %d: %d labelled frames", track_id, labelled)
            labels.append(label)
        else:
            log.info("person %d: %d labelled frames, fewer than %d: not used", track_id,
                     labelled, min_labelled_frames)
    return labels
