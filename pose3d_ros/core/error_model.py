"""A 2D detector error model MEASURED on real video, to turn exact projections into
detector-like 2D (for training and benchmarks on the motion capture).

Measured by `python -m pose3d_ros.tools.measure_error_model` (core/error_measurement.py,
docs/mocap.md): a detector's 2D on a 4-camera demo recording against a reference made without
that camera: the person triangulated (robustly) from the OTHER three cameras with the shipped
calibration and projected into it. Two models ship: ERROR_MODEL_PATH (mediapipe BlazePose,
one-person recording; the default model) and MULTI_ERROR_MODEL_PATH (the multi-person
back-end, the nodes' default 2D, on the two-person recording). Every person-view is one
sample of H36M-17 errors:
  residual = (detection - reference) / person scale   (after undoing left/right swaps)
  score    = the detector's confidence for the joint
  swapped  = which left/right pairs the detector exchanged
plus the share of person-views where the detector found nobody. Person scale is the
diagonal of the 2D bounding box of the 17 reference joints (pixels), see person_scale().
The reference carries the 3-view triangulation's own error, so the residuals are an upper
bound of the detector's; systematic differences between BlazePose's joints and anatomical
joint centres are NOT in the model (the reference is made from the same detector).

API
    model = load_error_model()             # the default model (or load_error_model(path))
    noisy, conf = apply_error_model(points2d, rng, model, visible=mask)
        points2d (..., 17, 2) exact pixels -> noisy (..., 17, 2) NaN where not detected,
        conf (..., 17) in [0, 1], 0 where not detected; whole-skeleton samples keep the
        correlation between joints and between error and confidence.
    fakes, fake_scores = false_detections(rng, count, image_size, model, pose_pool=poses2d)
    model = measure_error_model(reference2d, detected2d, scores, ...)   # pure arrays
    model = dataclasses.replace(model, person_miss_rate=0.0)   # e.g. misses modelled elsewhere
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .array_ops import box_diagonal, finite_rows, row_counts
from .layouts import H36M17
from .left_right import crossed_pairs, exchange_pairs
from .output_files import write_atomically

ERROR_MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "error_model_blazepose.json"
# The multi-person back-end (blazepose_multi) measured on the two-person demo recording.
MULTI_ERROR_MODEL_PATH = ERROR_MODEL_PATH.with_name("error_model_blazepose_multi.json")
# Left/right joint pairs whose labels a detector can exchange.
SWAP_PAIRS = tuple((H36M17.index(f"left_{n}"), H36M17.index(f"right_{n}"))
                   for n in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist"))
_PAIRS = np.array(SWAP_PAIRS, np.intp)
_SWAP_GAIN = 0.5  # a pair counts as swapped when exchanging it at least halves its error
_SWAP_MIN = 0.03  # ... and its straight error is over 3 % of the person scale
# Partial bodies for false detections (joint name groups that a spurious detection holds).
PARTIAL_BODIES = (
    ("nose", "head", "thorax", "left_shoulder", "right_shoulder", "left_elbow",
     "right_elbow", "left_wrist", "right_wrist"),
    ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
     "right_ankle"),
    ("thorax", "left_shoulder", "left_elbow", "left_wrist", "spine", "pelvis", "left_hip",
     "left_knee", "left_ankle"),
    ("thorax", "right_shoulder", "right_elbow", "right_wrist", "spine", "pelvis", "right_hip",
     "right_knee", "right_ankle"),
    H36M17.joint_names,
)


@dataclass(frozen=True)
class ErrorModel:
    """Measured 2D errors (see module doc); N samples (person-views), J = 17 (H36M17).

    residuals: (N, J, 2) error / person scale. scores: (N, J) detector confidences.
    swapped: (N, len(SWAP_PAIRS)) bool. camera: (N,) index of the recorded view; frame: (N,)
    its frame, recorded at fps, so that consecutive samples can be drawn as sequences.
    person_miss_rate: share of person-views with no detection. false_per_view: measured
    detections per view beyond the people present (0 when not measured). source: what was
    measured how.
    """

    residuals: np.ndarray
    scores: np.ndarray
    swapped: np.ndarray
    camera: np.ndarray
    frame: np.ndarray
    person_miss_rate: float
    false_per_view: float
    source: str
    fps: float = 60.0

    @property
    def num_samples(self) -> int:
        return int(self.residuals.shape[0])

    def summary(self) -> dict:
        """Per-joint median and p90 of |residual| (fraction of scale), swap rates, the share of
        joints below LOW_CONFIDENCE (dropped by the default triangulation), misses."""
        err = np.linalg.norm(self.residuals, axis=-1)
        return {
            "samples": self.num_samples,
            "median_error_per_joint": dict(zip(H36M17.joint_names,
                                               _rounded(np.median(err, 0)),
                                               strict=True)),
            "p90_error_per_joint": dict(zip(H36M17.joint_names,
                                            _rounded(np.percentile(err, 90, 0)),
                                            strict=True)),
            "swap_rate_per_pair": dict(zip(
                (H36M17.joint_names[a].removeprefix("left_") for a, _ in SWAP_PAIRS),
                _rounded(self.swapped.mean(0)), strict=True)),
            "low_confidence_rate_per_joint": dict(zip(
                H36M17.joint_names, _rounded(np.mean(self.scores < LOW_CONFIDENCE, 0)),
                strict=True)),
            "person_miss_rate": round(self.person_miss_rate, 4),
            "false_per_view": round(self.false_per_view, 4),
            "score_error_correlation": round(float(np.corrcoef(
                self.scores.reshape(-1), err.reshape(-1))[0, 1]), 3),
            "median_error_by_score": _by_score(self.scores, err),
        }


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]


SCORE_BINS = (0.0, 0.5, 0.8, 0.95, 0.99, 1.0)
LOW_CONFIDENCE = 0.3  # triangulate()'s default min_score: joints below it count as dropped


def _by_score(scores: np.ndarray, err: np.ndarray) -> dict[str, list]:
    """Median error and joint count per confidence bin (SCORE_BINS; the last bin closed)."""
    which = np.clip(np.digitize(scores, SCORE_BINS[1:-1]), 0, len(SCORE_BINS) - 2)
    out = {}
    for k in range(len(SCORE_BINS) - 1):
        sel = err[(which == k) & (scores > 0)]
        out[f"{SCORE_BINS[k]:g}-{SCORE_BINS[k + 1]:g}"] = [
            round(float(np.median(sel)), 4) if sel.size else None, int(sel.size)]
    return out


def person_scale(points2d: np.ndarray) -> np.ndarray:
    """(..., J, 2) pixels -> (...,) diagonal of the 2D bounding box of the finite joints
    (array_ops.box_diagonal; NaN when fewer than two: a scale to divide errors by)."""
    seen = finite_rows(points2d)
    return np.where(row_counts(seen) >= 2, box_diagonal(points2d, seen, empty=np.nan), np.nan)


def _swap(points: np.ndarray, swapped: np.ndarray) -> np.ndarray:
    """Exchange the left/right joints of each SWAP_PAIRS pair where swapped (..., pairs)."""
    return exchange_pairs(points, _PAIRS, swapped)


def detect_swaps(reference: np.ndarray, detected: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(..., J, 2) both, scale (...,) -> (..., pairs) bool: the detector exchanged the pair."""
    return crossed_pairs(detected, reference, _PAIRS, gain=_SWAP_GAIN,
                         min_error=_SWAP_MIN * np.asarray(scale)[..., None])


def measure_error_model(reference: np.ndarray, detected: np.ndarray, scores: np.ndarray, *,
                        false_per_view: float = 0.0, source: str = "", fps: float = 60.0
                        ) -> ErrorModel:
    """An ErrorModel from paired 2D: reference (F, V, J, 2) pixels (NaN = not available),
    detected (F, V, J, 2) pixels (NaN = not detected), scores (F, V, J); J = 17 (H36M17);
    fps: the recording's frame rate.

    A person-view counts when every reference joint is finite; it is a miss when the
    detection has no finite joint, a sample otherwise (detected joints missing inside a
    detection get score 0 and residual 0).
    """
    if reference.shape != detected.shape or reference.shape[-2:] != (H36M17.num_joints, 2):
        raise ValueError(f"reference {reference.shape} and detected {detected.shape} must "
                         f"both be (F, V, {H36M17.num_joints}, 2)")
    f, v = reference.shape[:2]
    frame, camera = np.meshgrid(np.arange(f), np.arange(v), indexing="ij")
    usable = np.isfinite(reference).all(axis=(-1, -2))
    found = np.isfinite(detected[..., 0]).any(axis=-1)
    if not np.any(usable & found):
        raise ValueError("no person-view with both a reference and a detection")
    ref, det = reference[usable & found], detected[usable & found]
    scale = person_scale(ref)
    swapped = detect_swaps(ref, det, scale)
    det = _swap(det, swapped)
    residual = (det - ref) / scale[:, None, None]
    missing = ~np.isfinite(residual[..., 0])
    sc = np.where(missing, 0.0, np.nan_to_num(scores[usable & found]))
    residual[missing] = 0.0
    return ErrorModel(residual.astype(np.float32), sc.astype(np.float32), swapped,
                      camera[usable & found], frame[usable & found],
                      float(np.mean(~found[usable])), float(false_per_view), source, float(fps))


# Arrays are stored in JSON as integers: residuals in 1e-4 of the person scale, scores in
# 1e-3, flags as 0/1 (a tenth of the size of decimal text, finer than the measurement).
_STORED_AS = {"residuals": 1e4, "scores": 1e3}


def save_error_model(model: ErrorModel, path: Path = ERROR_MODEL_PATH) -> None:
    """Write the model as JSON atomically: a temporary file, then a rename."""
    doc: dict = {"format": "pose3d_ros error model", "version": 1, "layout": H36M17.name,
                 "summary": model.summary()}
    for key, value in asdict(model).items():
        if isinstance(value, np.ndarray):
            value = np.rint(value * _STORED_AS.get(key, 1)).astype(int).tolist()
        doc[key] = value
    write_atomically(Path(path), json.dumps(doc, separators=(",", ":")).encode())


@lru_cache(maxsize=4)
def load_error_model(path: Path = ERROR_MODEL_PATH) -> ErrorModel:
    """The error model in a JSON file written by save_error_model (default: the shipped one)."""
    try:
        doc = json.loads(Path(path).read_text())
        model = ErrorModel(
            (np.asarray(doc["residuals"]) / _STORED_AS["residuals"]).astype(np.float32),
            (np.asarray(doc["scores"]) / _STORED_AS["scores"]).astype(np.float32),
            np.asarray(doc["swapped"], bool), np.asarray(doc["camera"], int),
            np.asarray(doc["frame"], int), float(doc["person_miss_rate"]),
            float(doc["false_per_view"]), str(doc["source"]), float(doc.get("fps", 60.0)))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not an error model ({exc})") from None
    if model.residuals.shape[1:] != (H36M17.num_joints, 2) or model.num_samples == 0:
        raise ValueError(f"{path}: residuals {model.residuals.shape} are not (N, 17, 2)")
    for array in (model.residuals, model.scores, model.swapped, model.camera, model.frame):
        array.flags.writeable = False  # the loaded model is cached and shared by all callers
    return model


def _sample_table(model: ErrorModel) -> np.ndarray:
    """(C, R) sample index of each recorded camera and frame; a frame without a sample takes
    the nearest one of the same camera."""
    cams = np.unique(model.camera)
    frames = np.arange(int(model.frame.max()) + 1)
    table = np.zeros((len(cams), len(frames)), int)
    for c, cam in enumerate(cams):  # a handful of recorded cameras
        idx = np.flatnonzero(model.camera == cam)
        nearest = np.abs(frames[:, None] - model.frame[idx][None, :]).argmin(axis=1)
        table[c] = idx[nearest]
    return table


def _sequence_picks(model: ErrorModel, rng: np.random.Generator, lead: tuple[int, ...],
                    frames_axis: int, fps: float) -> np.ndarray:
    """Sample indices (lead) following the recording in time along frames_axis at fps: each
    sequence starts at a random camera, frame and direction, and reflects at the ends."""
    table = _sample_table(model)
    axis = frames_axis % len(lead)
    n_frames = lead[axis]
    rest = lead[:axis] + lead[axis + 1:]
    n_seq = int(np.prod(rest))
    last = table.shape[1] - 1
    step = model.fps / fps * rng.choice([-1.0, 1.0], size=(n_seq, 1))
    t = rng.uniform(0, last, size=(n_seq, 1)) + np.arange(n_frames) * step
    period = 2 * max(last, 1)
    m = np.mod(t, period)
    pos = np.rint(np.where(m > last, period - m, m)).astype(int)
    picks = table[rng.integers(0, table.shape[0], size=(n_seq, 1)), pos]  # (S, F)
    return np.moveaxis(picks.reshape(rest + (n_frames,)), -1, axis)


def apply_error_model(points2d: np.ndarray, rng: np.random.Generator,
                      model: ErrorModel | None = None, *, visible: np.ndarray | None = None,
                      scale: np.ndarray | None = None, frames_axis: int | None = None,
                      fps: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """Detector-like 2D from exact projections.

    points2d: (..., 17, 2) exact pixels of one person per leading index (NaN = absent).
    visible: (..., 17) bool, joints the detector can see (default: finite ones); hidden
    joints come out NaN with confidence 0. scale: (...,) person scale in pixels (default:
    person_scale(points2d), the bounding box of all given joints, hidden ones included).
    Each person-view draws one measured sample: its left/right swaps, its residuals times
    the scale, its confidences; with the measured miss rate the whole person is dropped.
    frames_axis: the leading axis that is time (None: every sample independent). Along it,
    samples follow one recorded camera's sequence at the model's rate resampled to fps, so
    errors keep the detector's correlation over time.
    Returns noisy (..., 17, 2) and confidence (..., 17).
    """
    model = model or load_error_model()
    points2d = np.asarray(points2d, float)
    if points2d.shape[-2:] != (H36M17.num_joints, 2):
        raise ValueError(f"points2d must be (..., 17, 2), got {points2d.shape}")
    lead = points2d.shape[:-2]
    visible = np.isfinite(points2d[..., 0]) if visible is None else np.asarray(visible, bool)
    scale = person_scale(points2d) if scale is None else np.asarray(scale, float)
    if frames_axis is None:
        pick = rng.integers(0, model.num_samples, size=lead)
    else:
        pick = _sequence_picks(model, rng, lead, frames_axis, fps)
    noisy = _swap(points2d, model.swapped[pick])
    noisy = noisy + model.residuals[pick] * scale[..., None, None]
    conf = model.scores[pick].astype(float)
    missed = rng.uniform(size=lead) < model.person_miss_rate
    keep = visible & ~missed[..., None] & np.isfinite(noisy[..., 0]) & (conf > 0)
    return np.where(keep[..., None], noisy, np.nan), np.where(keep, conf, 0.0)


def false_detections(rng: np.random.Generator, count: int,
                     image_size: tuple[float, float] | np.ndarray,
                     model: ErrorModel | None = None, *, pose_pool: np.ndarray | None = None,
                     height_fraction: tuple[float, float] = (0.15, 0.7)
                     ) -> tuple[np.ndarray, np.ndarray]:
    """`count` spurious detections; image_size: (width, height) pixels, or (count, 2) one
    per detection.

    Each is a partial body (one of PARTIAL_BODIES) of a pose drawn from pose_pool (N, 17, 2)
    pixels (e.g. the true 2D of the scene's people at other times; default: one standing
    outline), scaled to a random fraction height_fraction of the image height, placed at a
    random point, with the measured confidences of a random sample times a uniform factor in
    [0.3, 1] (the geometry and that factor are chosen, not measured; the rate of false
    detections, model.false_per_view, is measured). Returns keypoints (count, 17, 2), NaN
    outside the partial body, and scores (count, 17).
    """
    model = model or load_error_model()
    pool = _CANONICAL_2D[None] if pose_pool is None else np.asarray(pose_pool, float)
    size_wh = np.broadcast_to(np.asarray(image_size, float), (count, 2))
    base = pool[rng.integers(0, len(pool), size=count)]  # (C, 17, 2)
    lo, hi = np.nanmin(base, axis=1), np.nanmax(base, axis=1)  # (C, 2)
    size = np.maximum(np.max(hi - lo, axis=1), 1e-6)
    target = rng.uniform(*height_fraction, size=count) * size_wh[:, 1]
    centred = (base - 0.5 * (lo + hi)[:, None]) * (target / size)[:, None, None]
    keypoints = centred + (rng.uniform(size=(count, 2)) * size_wh)[:, None]
    parts = np.zeros((len(PARTIAL_BODIES), H36M17.num_joints), bool)
    for k, names in enumerate(PARTIAL_BODIES):
        parts[k, H36M17.indices(names)] = True
    keep = parts[rng.integers(0, len(PARTIAL_BODIES), size=count)]
    scores = model.scores[rng.integers(0, model.num_samples, size=count)] \
        * rng.uniform(0.3, 1.0, size=(count, 1))
    keep &= scores > 0
    return np.where(keep[..., None], keypoints, np.nan), np.where(keep, scores, 0.0)


# A standing person's H36M-17 outline in image coordinates (y down), metres: used by
# false_detections when no pool of real poses is given.
_CANONICAL_2D = np.array([
    [0.0, -0.95], [-0.1, -0.95], [-0.1, -0.52], [-0.1, -0.09], [0.1, -0.95], [0.1, -0.52],
    [0.1, -0.09], [0.0, -1.2], [0.0, -1.45], [0.0, -1.55], [0.0, -1.62], [0.19, -1.45],
    [0.2, -1.17], [0.21, -0.92], [-0.19, -1.45], [-0.2, -1.17], [-0.21, -0.92]])
