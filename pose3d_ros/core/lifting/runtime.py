"""Monocular 3D at run time: the ONNX lifter (onnxruntime) and the BlazePose baseline.

Both produce root-relative 3D in metres in the camera's optical frame (x right, y down,
z forward), which `to_camera_frame` places with root_placement.place_in_camera.

  OnnxLifter           temporal lifter exported by training.export_onnx; takes windows of T
                       frames of 2D per person (raw pixels, H36M-17 or convertible layout).
  BlazePoseWorldLifter the baseline that exists without training: BlazePose world landmarks
                       (Detections2D.world: metric, hip-centred, camera-aligned axes)
                       converted to H36M-17 and made root-relative.
  PersonWindows        per-track ring buffers turning a stream of per-frame 2D into windows.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from ..layouts import H36M17, JointLayout, convert_joint_scores, convert_joints, get_layout
from ..left_right import mirror_index
from ..types import METHOD_DETECTOR_3D, METHOD_LIFTER, Skeletons3D
from .normalization import NORMALISATION_NAME, lifter_features, pixels_to_normalised
from .root_placement import BodySizePrior, place_in_camera, placed_confidence

# H36M-17 joint index of each joint's mirror image (left <-> right)
MIRROR_INDEX = mirror_index(H36M17)

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "lifter_t27_causal.onnx"


@dataclass(frozen=True)
class LifterMetadata:
    """What an exported lifter expects: joint layout, window T, causal, normalisation."""

    layout: str
    window: int
    causal: bool
    normalisation: str
    num_joints: int

    @classmethod
    def from_json(cls, path: str | Path) -> "LifterMetadata":
        """From the .json train_lifter writes beside the model."""
        try:
            data = json.loads(Path(path).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: the lifter's metadata is not JSON ({err}); restore the "
                             ".json train_lifter wrote beside the model, or remove it to use "
                             "the copy inside the ONNX file") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the lifter's metadata is not a JSON object")
        return cls.from_dict(data, path)

    @classmethod
    def from_onnx(cls, properties: dict[str, str], path: str | Path) -> "LifterMetadata":
        """From the copy export_onnx stores in the ONNX file's metadata_props (each value
        JSON text), used when the .json beside the model is missing."""
        try:
            data = {key: json.loads(value) for key, value in properties.items()}
        except json.JSONDecodeError:
            data = {}
        if not data:
            raise ValueError(f"{path}: no lifter metadata (neither {Path(path).stem}.json "
                             "beside it nor inside the ONNX file): not a pose3d_ros lifter")
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: dict, path: str | Path) -> "LifterMetadata":
        """From the metadata's fields (path: for messages)."""
        if data.get("format", "pose3d_ros.lifter/1") != "pose3d_ros.lifter/1":
            raise ValueError(f"{path}: metadata format {data.get('format')!r} is not a "
                             "pose3d_ros lifter's")
        fields = ("layout", "window", "causal", "normalisation", "num_joints")
        if lacking := [name for name in fields if name not in data]:
            raise ValueError(f"{path}: lifter metadata lacks "
                             + ", ".join(repr(name) for name in lacking))
        window, causal, joints = data["window"], data["causal"], data["num_joints"]
        meta = cls(data["layout"], window, causal, data["normalisation"], joints)
        # (a review: a hand-written "causal": "false" was read as causal, bool("false"), and
        # "window": null ended in int()'s TypeError, which named no file)
        for key, value in (("window", window), ("num_joints", joints)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{path}: lifter metadata {key!r} must be a whole number "
                                 f">= 1, got {value!r}")
        if not isinstance(causal, bool):
            raise ValueError(f"{path}: lifter metadata 'causal' must be true or false, got "
                             f"{causal!r}")
        if meta.layout != H36M17.name or meta.num_joints != H36M17.num_joints:
            # found by an audit: a .json saying coco17 was taken and its output read as H36M
            raise ValueError(f"{path}: a lifter of layout {meta.layout!r} with "
                             f"{meta.num_joints} joints; the nodes run lifters of "
                             f"{H36M17.name!r} ({H36M17.num_joints} joints), as train_lifter "
                             "makes them")
        if meta.normalisation != NORMALISATION_NAME:
            raise ValueError(f"{path}: normalisation {meta.normalisation!r} is not the one this "
                             f"package implements ({NORMALISATION_NAME!r})")
        return meta

    @property
    def latency_frames(self) -> int:
        """Frames between the newest input and the frame the output describes."""
        return 0 if self.causal else self.window // 2


# onnxruntime's input types a lifter may have -> what it is fed
_INPUT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16,
                 "tensor(double)": np.float64}


def _as_h36m(keypoints: np.ndarray, scores: np.ndarray, layout: JointLayout | str
             ) -> tuple[np.ndarray, np.ndarray]:
    layout = get_layout(layout) if isinstance(layout, str) else layout
    if layout.name == H36M17.name:
        return np.asarray(keypoints, np.float64), np.asarray(scores, np.float64)
    return (convert_joints(keypoints, layout, H36M17),
            convert_joint_scores(scores, layout, H36M17))


class OnnxLifter:
    """Temporal lifter on onnxruntime.

    model_path: .onnx file with its metadata .json next to it.
    providers: onnxruntime execution providers (default: CPU; pass e.g.
    ["CUDAExecutionProvider", "CPUExecutionProvider"] on a GPU machine); those that do not
    start here are left out, as for the detectors (onnx_session.select_providers: one
    ProviderUnusableWarning, where onnxruntime itself printed an ERROR and a WARN per model
    and went on on the CPU).
    """

    def __init__(self, model_path: str | Path = DEFAULT_MODEL,
                 providers: list[str] | None = None, threads: int = 1) -> None:
        from ..detection.onnx_session import import_onnxruntime, select_providers
        ort = import_onnxruntime()
        model_path = Path(model_path)
        if not model_path.is_file():
            raise FileNotFoundError(f"lifter model {model_path} not found; train one with "
                                    "python -m pose3d_ros.tools.train_lifter")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        model = model_path.read_bytes()
        # before the model's own errors: an unknown provider name is the caller's mistake, not
        # the file's (a review: "lifter model ... is not an ONNX model onnxruntime can load
        # (execution providers ['CUDA'] are no onnxruntime provider names ...)")
        chosen = select_providers(providers) if providers else ["CPUExecutionProvider"]
        try:
            self.session = ort.InferenceSession(model, options, providers=chosen)
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own error types
            raise ValueError(f"lifter model {model_path} is not an ONNX model onnxruntime "
                             f"can load ({str(err).strip().splitlines()[0]})") from None
        sidecar = model_path.with_suffix(".json")
        properties = self.session.get_modelmeta().custom_metadata_map
        if sidecar.is_file():
            self.metadata = LifterMetadata.from_json(sidecar)
            try:                            # the copy inside the file, where it has one
                inside = LifterMetadata.from_onnx(properties, model_path)
            except ValueError:
                inside = None
            if inside is not None and inside != self.metadata:
                # (a review: a new .onnx copied over an old one beside the old .json ran as
                # the .json said, e.g. a causal model read as centred, 12 mm worse)
                raise ValueError(f"{sidecar} does not describe {model_path}: the .json says "
                                 f"{self.metadata}, the model file {inside}; copy the .json "
                                 "that came with the model, or remove it")
        else:
            self.metadata = LifterMetadata.from_onnx(properties, model_path)
        inputs = self.session.get_inputs()
        width = 3 * self.metadata.num_joints + 2
        if [i.name for i in inputs] != ["features"] or inputs[0].shape[1:] != [
                self.metadata.window, width]:
            raise ValueError(f"{model_path} is not a pose3d_ros lifter: inputs "
                             f"{[(i.name, i.shape) for i in inputs]}, expected 'features' "
                             f"(batch, {self.metadata.window}, {width}), the window of "
                             f"{sidecar.name if sidecar.is_file() else 'its metadata'} "
                             "(python -m pose3d_ros.tools.train_lifter makes one)")
        # A model exported without a dynamic batch axis (torch.onnx.export's default) loaded
        # and failed at the first person (flip averaging runs 2 windows at once: a review);
        # one of batch 1 is run a window at a time.
        batch = inputs[0].shape[0]
        if isinstance(batch, int) and batch != 1:
            raise ValueError(f"{model_path}: input 'features' has a fixed batch of {batch}; "
                             "export it with a dynamic batch axis (torch.onnx.export's "
                             "dynamic_axes={'features': {0: 'batch'}}), or a batch of 1")
        self._one_at_a_time = batch == 1
        # a model exported in float16 or float64 (for a GPU box) is fed its own type
        self._input_dtype = _INPUT_DTYPES.get(inputs[0].type)
        if self._input_dtype is None:
            raise ValueError(f"{model_path}: input 'features' is {inputs[0].type}, expected "
                             f"one of {sorted(_INPUT_DTYPES)}")
        # One window of zeros through it: a model whose output is not (batch, 17, 3) (a
        # sequence-to-sequence lifter, a flat output) loaded and then failed at the first
        # person with numpy's broadcasting error, or gave (P, 1, 51) to the placement (a
        # review); onnxruntime's declared output shapes may be symbolic or missing.
        try:
            outputs = self.session.run(None, {"features": np.zeros(
                (1, self.metadata.window, width), self._input_dtype)})
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own error types
            raise ValueError(f"{model_path}: a window of zeros does not run through the "
                             f"lifter ({str(err).strip().splitlines()[0]})") from None
        expected = (1, self.metadata.num_joints, 3)
        if len(outputs) != 1 or np.shape(outputs[0]) != expected:
            raise ValueError(f"{model_path} is not a pose3d_ros lifter: outputs of shapes "
                             f"{[np.shape(o) for o in outputs]} for one window, expected one "
                             f"(batch, {expected[1]}, 3) (root-relative joints of the output "
                             "frame)")
        # NaN or infinite weights (a diverged training's export: the node found nobody,
        # without a word) reach the output of any window, zeros included (0 x NaN is NaN);
        # checked here rather than by reading the weights with the onnx package, whose
        # import cost about a second of each node's start
        if not np.isfinite(outputs[0]).all():
            raise ValueError(f"lifter model {model_path} gives values that are not numbers "
                             "for a window of zeros: its weights are not all numbers (a "
                             "diverged training); train it again")

    @property
    def window(self) -> int:
        return self.metadata.window

    def lift(self, keypoints_px: np.ndarray, scores: np.ndarray, K: np.ndarray,
             layout: JointLayout | str = H36M17, flip_average: bool = False) -> np.ndarray:
        """Windows of 2D -> root-relative 3D of the output frame (last or centre).

        keypoints_px: (P, T, J, 2) undistorted pixels of the full image (NaN missing);
        scores: (P, T, J); K: (3, 3) intrinsics of that image, or (P, 3, 3). Windows of
        another length are fitted (fit_window); a person with no usable 2D in the whole
        window (no frame with the root and another joint of score > 0) comes back NaN.
        flip_average: also lift the left/right mirrored input and average (2x the cost).
        Returns (P, 17, 3) metres, H36M-17, camera optical frame, root-relative.
        """
        kp, sc = _as_h36m(keypoints_px, scores, layout)
        if kp.ndim != 4 or kp.shape[-2:] != (H36M17.num_joints, 2) or sc.shape != kp.shape[:-1]:
            raise ValueError(f"expected keypoints (P, T, J, 2) and scores (P, T, J), got "
                             f"{np.shape(keypoints_px)} and {np.shape(scores)}")
        kp, sc = fit_window(kp, sc, self.window)
        K = np.asarray(K, np.float64)
        norm = pixels_to_normalised(kp, K if K.ndim == 2 else K[:, None])
        if kp.shape[0] == 0:
            return np.zeros((0, H36M17.num_joints, 3))
        nan_person = without_evidence(norm, sc)
        sc = np.where(np.isfinite(sc), sc, 0.0)

        def run(windows: np.ndarray, scores: np.ndarray) -> np.ndarray:
            return self.run_features(lifter_features(windows, scores))

        out = lift_with_flip(run, norm, sc) if flip_average else run(norm, sc)
        return out + nan_person

    def run_features(self, features: np.ndarray) -> np.ndarray:
        """The network alone: windows of lifter_features (N, T, 3 J + 2) -> (N, 17, 3)
        root-relative metres (float64) of their output frames (lift's steps before and after
        are the caller's)."""
        features = features.astype(self._input_dtype, copy=False)
        if self._one_at_a_time:
            return np.concatenate([self.session.run(None, {"features": one[None]})[0]
                                   for one in features]).astype(np.float64)
        (out,) = self.session.run(None, {"features": features})
        return out.astype(np.float64)


def without_evidence(windows: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(P, 1, 1): NaN for a person without a single frame of usable 2D (the root and another
    joint finite with a score > 0) in its window (P, T, J, 2) normalised, scores (P, T, J),
    else 0 (added to its 3D: OnnxLifter.lift)."""
    usable = np.isfinite(windows).all(-1) & np.isfinite(scores) & (scores > 0)
    evidence = (usable[..., 0] & (usable.sum(-1) > 1)).any(-1)
    return np.where(evidence, 0.0, np.nan)[:, None, None]


def lift_with_flip(lift: Callable[[np.ndarray, np.ndarray], np.ndarray], windows: np.ndarray,
                   scores: np.ndarray) -> np.ndarray:
    """Test-time flip averaging of any lifter `lift`((N, T, J, 2) normalised windows, (N, T, J)
    scores) -> (N, J, 3) root-relative metres (H36M-17, camera frame): the input and its
    left/right mirror (x negated, sides exchanged) go through `lift` in one batch, the mirrored
    output is mirrored back and the two are averaged."""
    return flip_averaged(lift(*flip_batch(windows, scores)), windows.shape[0])


def flip_batch(windows: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """lift_with_flip's input: the N windows (N, ..., J, 2) normalised and scores (N, ..., J)
    followed by their left/right mirrors (x negated, sides exchanged): (2N, ...) each."""
    return (np.concatenate([windows, windows[..., MIRROR_INDEX, :] * np.array([-1.0, 1.0])]),
            np.concatenate([scores, scores[..., MIRROR_INDEX]]))


def flip_averaged(out: np.ndarray, n: int) -> np.ndarray:
    """lift_with_flip's output: the 3D (2N, J, 3) of flip_batch's windows -> (N, J, 3), each
    the mean of its own and its mirror's mirrored back."""
    back = out[n:][:, MIRROR_INDEX] * np.array([-1.0, 1.0, 1.0])
    return 0.5 * (out[:n] + back)


def fit_window(keypoints: np.ndarray, scores: np.ndarray, window: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Windows (P, T', J, 2) and (P, T', J) made exactly T = window frames long: a shorter
    one (a track that just started) is padded at the old end by repeating its first frame,
    a longer one keeps its newest T frames."""
    t = keypoints.shape[1]
    if t == window:
        return keypoints, scores
    if t == 0:
        raise ValueError("a window needs at least one frame")
    if t > window:
        return keypoints[:, -window:], scores[:, -window:]
    pad = np.zeros(window - t, dtype=int)
    index = np.concatenate([pad, np.arange(t)])
    return keypoints[:, index], scores[:, index]


class BlazePoseWorldLifter:
    """Baseline: BlazePose world landmarks as root-relative 3D (no temporal context)."""

    window = 1
    method = METHOD_DETECTOR_3D

    def lift_world(self, world: np.ndarray, layout: JointLayout | str) -> np.ndarray:
        """(P, J, 3) detector world landmarks (metres, hip-centred, camera-aligned axes)
        -> (P, 17, 3) H36M-17 root-relative metres."""
        layout = get_layout(layout) if isinstance(layout, str) else layout
        world = np.asarray(world, np.float64)
        if world.ndim != 3 or world.shape[-1] != 3:
            raise ValueError(f"expected world landmarks (P, J, 3), got {world.shape}")
        h36m = world if layout.name == H36M17.name else convert_joints(world, layout, H36M17)
        return h36m - h36m[:, :1]


def to_camera_frame(points_rel: np.ndarray, keypoints_px: np.ndarray, scores: np.ndarray,
                    K: np.ndarray, frame_id: str, method: int = METHOD_LIFTER,
                    prior: BodySizePrior | None = None, refine: bool = True) -> Skeletons3D:
    """Place root-relative skeletons (P, 17, 3) in the camera frame as Skeletons3D.

    keypoints_px (P, 17, 2) undistorted pixels and scores (P, 17) of the SAME frame the
    skeletons describe; K (3, 3). Confidence = 2D score; num_views = 1.
    """
    norm = pixels_to_normalised(keypoints_px, K)
    placed, _ = place_in_camera(points_rel, norm, scores, prior=prior, refine=refine)
    p = placed.shape[0]
    return Skeletons3D(positions=placed, confidence=placed_confidence(placed, scores),
                       reprojection_error=np.full((p, H36M17.num_joints), np.nan, np.float32),
                       num_views=np.isfinite(placed).all(-1).astype(np.uint8),
                       layout=H36M17, frame_id=frame_id, method=method)


# A track whose previous frame is more than this old starts its window again (seconds): a
# window across a stall (a camera that stopped, a node that was busy) mixes 2D from before the
# stall with the present, which no training window looked like (the lifter learned frame rates
# of 15-60 fps); one from before a 4 s stall put a walking woman 111 mm off against 26 mm for a
# fresh window (a review). Under a quarter of a second, dropped frames only stretch the window.
MAX_WINDOW_GAP_S = 0.25


class PersonWindows:
    """Sliding windows of 2D per tracked person (edge frames replicated until T arrive).

    window: T; num_joints: J. Tracks not updated for max_age pushes are dropped; a track whose
    last push is more than max_gap_s before the pushed stamp starts its window again. A plain
    class, not a frozen dataclass: push() changes its buffers.
    """

    def __init__(self, window: int, num_joints: int = H36M17.num_joints,
                 max_age: int = 30, max_gap_s: float = MAX_WINDOW_GAP_S) -> None:
        if not max_gap_s > 0:
            raise ValueError(f"max_gap_s must be > 0 seconds, got {max_gap_s}")
        self.window = window
        self.num_joints = num_joints
        self.max_age = max_age
        self.max_gap_s = max_gap_s
        self._keypoints: dict[int, np.ndarray] = {}
        self._scores: dict[int, np.ndarray] = {}
        self._extra: dict[str, dict[int, np.ndarray]] = {}   # name -> per track (T, ...)
        self._age: dict[int, int] = {}
        self._stamp: dict[int, float] = {}

    def __repr__(self) -> str:
        return (f"PersonWindows(window={self.window}, num_joints={self.num_joints}, "
                f"max_age={self.max_age}, max_gap_s={self.max_gap_s})")

    def push(self, ids: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
             stamp_s: float | None = None, extra: Mapping[str, np.ndarray] | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """Add one frame: ids (P,), keypoints (P, J, 2), scores (P, J), taken at stamp_s
        (seconds; None: frames are taken to follow each other without gaps). extra: name ->
        (P, ...) more values of this frame per person, kept in windows beside it (window_of).

        Returns the windows of these people, (P, T, J, 2) and (P, T, J), oldest first.
        """
        ids = np.asarray(ids)
        if keypoints.shape != (ids.shape[0], self.num_joints, 2):
            raise ValueError(f"expected keypoints ({ids.shape[0]}, {self.num_joints}, 2), "
                             f"got {keypoints.shape}")
        if np.shape(scores) != keypoints.shape[:2]:     # (a review: taken, windows scrambled)
            raise ValueError(f"expected scores {keypoints.shape[:2]}, got {np.shape(scores)}")
        tracks = ids.tolist()
        if len(set(tracks)) != len(tracks):              # (np.unique: 5x the cost)
            raise ValueError(f"ids must be unique, got {tracks}")
        for track in list(self._age):
            self._age[track] += 1
            if self._age[track] > self.max_age:
                del self._age[track], self._keypoints[track], self._scores[track]
                self._stamp.pop(track, None)
                for ring in self._extra.values():
                    ring.pop(track, None)
        rings = [(self._keypoints, keypoints), (self._scores, scores)]
        rings += [(self._extra.setdefault(name, {}), values)
                  for name, values in (extra or {}).items()]
        for i, track in enumerate(tracks):
            last = self._stamp.get(track)
            stale = (stamp_s is not None and last is not None
                     and not stamp_s - last <= self.max_gap_s)
            restart = track not in self._keypoints or stale
            for ring, frame in rings:
                if restart or track not in ring:
                    ring[track] = np.repeat(frame[i][None], self.window, 0)
                else:
                    ring[track] = np.concatenate([ring[track][1:], frame[i][None]])
            self._age[track] = 0
            if stamp_s is not None:
                self._stamp[track] = stamp_s
        if ids.shape[0] == 0:
            return (np.zeros((0, self.window, self.num_joints, 2)),
                    np.zeros((0, self.window, self.num_joints)))
        return (np.stack([self._keypoints[t] for t in tracks]),
                np.stack([self._scores[t] for t in tracks]))

    def window_of(self, name: str, ids: np.ndarray) -> np.ndarray:
        """(P, T, ...): the `name` values (push's extra) of these people's windows, oldest
        first; every frame in them was pushed with them. No ids: (0, T)."""
        tracks = np.asarray(ids).tolist()
        if not tracks:
            return np.zeros((0, self.window))
        ring = self._extra[name]
        return np.stack([ring[t] for t in tracks])
