"""Self-supervised training of the temporal lifter from multi-view recordings.

No 3D ground truth: the pseudo-3D triangulated from several calibrated cameras
(dataset.make_pseudo_labels) supervises a lifter that sees ONE camera's 2D at a time.

Samples
  real     the 2D of camera v over a window ending at (causal) or centred on frame f, target
           the pseudo-3D of frame f in camera v's optical frame, root-relative. Frames where
           camera v's 2D disagreed with the others keep only the reprojection loss.
  virtual  the pseudo-3D sequence seen by a random virtual camera (azimuth all round,
           elevation, distance, aim offset, roll), projected to normalised coordinates with
           pixel noise: new viewpoints the rig never had (EpipolarPose-style augmentation).
  synthetic optional (synthetic_people > 0): moving people from core.synthetic.random_poses
           (periodic arm/leg swings, 60 fps) seen through the same virtual cameras; they make
           synthetic_share of the virtual samples.
  mocap    real motion capture (core.mocap clips) performed anew every epoch (time warp to
           15-60 fps, stature, proportions, mirroring: mocap_training.mocap_performances),
           seen through wider-ranging virtual cameras (field of view: joints outside the image
           are missing) with the measured 2D errors of the real detector (core.error_model).
  mirror   any kind mirrored left/right with probability 1/2.

Loss = masked MPJPE to the pseudo-3D + reprojection_weight * confidence-weighted L1 between
the 2D of the target frame and the projection of the prediction placed by the differentiable
root solve (the "self-correction" of "3D Human Pose Machines with Self-supervised Learning").
"""
from __future__ import annotations

import json
import logging
import random
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..body_frame import frame_up
from ..camera import look_at_rotation
from ..layouts import H36M17
from .dataset import PseudoLabels, undistort_pixels
from .mocap_training import MocapAugment, detector_like, mocap_performances
from .model import LifterConfig, build_lifter, count_parameters
from .normalization import (
    NORMALISATION_NAME,
    lifter_features,
    num_features,
    pixels_to_normalised,
)
from .root_placement import solve_root_translation_torch
from .runtime import MIRROR_INDEX

if TYPE_CHECKING:
    from ..error_model import ErrorModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VirtualCameras:
    """Ranges of the random virtual cameras (uniform unless said otherwise).

    elevation_deg: above the aim point's horizon; distance_m: from the aim point; aim_sigma_m:
    std of the aim point around the person's root (x, y; half of it in z); roll_sigma_deg:
    std of the roll; half_fov_deg: half the horizontal field of view, None for an unbounded
    image (otherwise joints outside the image are missing, as in a real frame, with a random
    aspect of 16:9, 4:3, 3:4 or 9:16).
    """

    elevation_deg: tuple[float, float] = (-10.0, 35.0)
    distance_m: tuple[float, float] = (2.0, 7.0)
    aim_sigma_m: float = 0.6
    roll_sigma_deg: float = 4.0
    half_fov_deg: tuple[float, float] | None = None


@dataclass(frozen=True)
class TrainConfig:
    """Training options (seconds-scale CPU runs by default)."""

    model: LifterConfig = field(default_factory=LifterConfig)
    epochs: int = 80
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 1e-5
    virtual_per_epoch: int = 4000
    reprojection_weight: float = 0.5
    noise_px: float = 5.0
    limb_angle_deg: float = 35.0
    bone_scale: float = 0.12
    synthetic_people: int = 0
    synthetic_frames: int = 600
    synthetic_share: float = 0.5
    virtual_focal_px: float = 1400.0
    seed: int = 0
    # motion capture (train(..., mocap=clips)): samples per epoch, their variation, cameras
    mocap_per_epoch: int = 0
    mocap_limb_angle_deg: float = 10.0
    mocap_bone_scale: float = 0.0
    mocap_noise_px: float = 1.0
    mocap_clean_share: float = 0.0  # share of mocap performances seen with exact 2D
    mocap_augment: MocapAugment = field(default_factory=MocapAugment)
    bone_length_weight: float = 0.0  # lifter_loss's bone-length term
    mocap_cameras: VirtualCameras = field(default_factory=lambda: VirtualCameras(
        elevation_deg=(-15.0, 45.0), distance_m=(1.5, 9.0), half_fov_deg=(25.0, 45.0)))
    init_from: str | None = None  # checkpoint.pt to start from (fine-tuning)

    def __post_init__(self) -> None:
        # (a review: negative sample counts were taken, and written to the metadata as used)
        counts = ("epochs", "virtual_per_epoch", "synthetic_people", "synthetic_frames",
                  "mocap_per_epoch")
        if bad := [f"{name} {getattr(self, name)}" for name in counts
                   if getattr(self, name) < (1 if name in ("epochs", "synthetic_frames")
                                             else 0)]:
            raise ValueError(f"{', '.join(bad)}: epochs and synthetic_frames must be >= 1, "
                             "the other sample counts >= 0")
        shares = ("synthetic_share", "mocap_clean_share")
        if bad := [f"{name} {getattr(self, name)}" for name in shares
                   if not 0.0 <= getattr(self, name) <= 1.0]:
            raise ValueError(f"{', '.join(bad)}: a share is in [0, 1]")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model"] = self.model.to_dict()
        return d


@dataclass(frozen=True)
class Sequence:
    """One camera's view of a recording, ready for windowing.

    keypoints_norm (F, J, 2) normalised coordinates (NaN missing), scores (F, J),
    target (F, J, 3) root-relative metres in the camera frame (NaN: no label),
    """

    keypoints_norm: np.ndarray
    scores: np.ndarray
    target: np.ndarray


def sequences_from_labels(labels: PseudoLabels) -> list[Sequence]:
    """One Sequence per real camera of a recording (undistorted, K-normalised)."""
    seqs = []
    for v, cam in enumerate(labels.cameras):
        norm = pixels_to_normalised(undistort_pixels(cam, labels.keypoints[v]), cam.K)
        tgt = labels.points_cam[v] - labels.points_cam[v][:, :1]
        seqs.append(Sequence(norm, labels.scores[v].astype(np.float64), tgt))
    return seqs


def target_position(window: int, causal: bool) -> int:
    """The index in a window of T frames of the frame the lifter poses: the last (causal) or
    the centre."""
    return window - 1 if causal else window // 2


def window_indices(num_frames: int, window: int, causal: bool,
                   centres: np.ndarray | None = None) -> np.ndarray:
    """(N, T) frame indices of the window of each target frame, edges replicated."""
    targets = np.arange(num_frames) if centres is None else np.asarray(centres)
    offsets = np.arange(window) - target_position(window, causal)
    return np.clip(targets[:, None] + offsets, 0, num_frames - 1)


def _random_rotations(rng: np.random.Generator, count: int, max_angle: float) -> np.ndarray:
    """(count, 3, 3) rotations about random axes by angles uniform in [0, max_angle] rad."""
    axis = rng.normal(size=(count, 3))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    angle = rng.uniform(0, max_angle, count)[:, None, None]
    k = np.zeros((count, 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k = k - k.transpose(0, 2, 1)
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


# (pivot joint, moved joints) of each limb chain, proximal chains first
_LIMB_CHAINS = [(H36M17.index(p), H36M17.indices(c)) for p, c in [
    ("left_shoulder", ("left_elbow", "left_wrist")), ("left_elbow", ("left_wrist",)),
    ("right_shoulder", ("right_elbow", "right_wrist")), ("right_elbow", ("right_wrist",)),
    ("left_hip", ("left_knee", "left_ankle")), ("left_knee", ("left_ankle",)),
    ("right_hip", ("right_knee", "right_ankle")), ("right_knee", ("right_ankle",)),
    ("thorax", ("nose", "head"))]]


def vary_poses(seq: np.ndarray, rng: np.random.Generator, max_angle_rad: float,
               bone_scale: float) -> np.ndarray:
    """New poses from (N, T, J, 3) sequences: limb rotations about their proximal joints
    (fixed over T) and bone-length scaling (global size and per chain). NaN stays NaN."""
    n = seq.shape[0]
    out = seq.copy()
    root = out[:, :, :1]
    size = rng.uniform(1 - bone_scale, 1 + bone_scale, (n, 1, 1, 1))
    out = root + (out - root) * size
    for pivot, moved in _LIMB_CHAINS:
        R = _random_rotations(rng, n, max_angle_rad)
        s = rng.uniform(1 - bone_scale / 2, 1 + bone_scale / 2, (n, 1, 1, 1))
        base = out[:, :, pivot:pivot + 1]
        out[:, :, moved] = base + s * np.einsum("nij,ntkj->ntki", R, out[:, :, moved] - base)
    return out


@dataclass(frozen=True)
class ScoreBank:
    """Real score sequences of any lengths to borrow confidence patterns from: scores
    (sum F, J) of every sequence one after the other, start and length (S,) of each, frames.
    (Stacked as (S, F, J) they had to be of one length: a recording and a bag of other
    lengths failed after all their 2D detection, a review.)"""

    scores: np.ndarray
    start: np.ndarray
    length: np.ndarray

    @classmethod
    def of(cls, sequences: list[np.ndarray] | np.ndarray) -> "ScoreBank":
        """The bank of (F_s, J) score sequences (a list, or an (S, F, J) array)."""
        length = np.array([len(s) for s in sequences], np.int64)
        start = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64)
        return cls(np.concatenate(list(sequences)), start, length)

    def borrow(self, chosen: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """(N, T, J) scores of sequences `chosen` (N,) at frames idx (N, T), taken modulo
        each sequence's length."""
        c = chosen[:, None]
        return self.scores[self.start[c] + idx % self.length[c]]


def virtual_views(points_world: np.ndarray,
                  scores_like: ScoreBank | np.ndarray | ErrorModel | None,
                  count: int, window: int, causal: bool, rng: np.random.Generator,
                  noise_px: float, focal_px: float, up: np.ndarray | None = None,
                  limb_angle_rad: float = 0.0, bone_scale: float = 0.0,
                  cameras: VirtualCameras = VirtualCameras(), fps: float = 60.0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Windows of (pseudo-)3D projected through random virtual cameras.

    points_world: (F, J, 3) metres (NaN missing), `up` the world's up axis (default z).
    scores_like: a ScoreBank (or (S, F, J)) of real score sequences to borrow confidence
    patterns from (with
    Gaussian pixel noise of noise_px at focal_px), or a core.error_model.ErrorModel whose
    measured errors are applied to the sequence at `fps` (plus noise_px of Gaussian noise),
    or None: perfect 2D (plus noise_px).
    Returns (features (N, T, 3J+2), keypoints_norm of the target frame (N, J, 2), its scores
    (N, J), target (N, J, 3) root-relative metres in the virtual camera's optical frame).
    """
    up = np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, np.float64)
    up = up / np.linalg.norm(up)
    n_frames = points_world.shape[0]
    labelled = np.flatnonzero(np.isfinite(points_world[:, 0, 0]))
    if labelled.size == 0:
        raise ValueError("no labelled frame to build virtual views from")
    centres = rng.choice(labelled, count)
    idx = window_indices(n_frames, window, causal, centres)  # (N, T)
    seq = points_world[idx]  # (N, T, J, 3)
    if limb_angle_rad > 0 or bone_scale > 0:
        seq = vary_poses(seq, rng, limb_angle_rad, bone_scale)
    pos = target_position(window, causal)
    azimuth = rng.uniform(-np.pi, np.pi, count)
    elevation = np.radians(rng.uniform(*cameras.elevation_deg, count))
    distance = rng.uniform(*cameras.distance_m, count)
    aim = seq[:, pos, 0] + rng.normal(0, cameras.aim_sigma_m, (count, 3)) * np.array(
        [1.0, 1.0, 0.5])
    # the horizontal plane of `up` (x, y for a z-up world)
    first = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    first = first - (first @ up) * up
    first /= np.linalg.norm(first)
    second = np.cross(up, first)
    horizontal = np.cos(azimuth)[:, None] * first + np.sin(azimuth)[:, None] * second
    position = aim + distance[:, None] * (np.cos(elevation)[:, None] * horizontal
                                          + np.sin(elevation)[:, None] * up)
    R = look_at_rotation(position, aim, up, rng.normal(0, np.radians(cameras.roll_sigma_deg),
                                                       count))
    cam = np.einsum("nij,ntkj->ntki", R, seq - position[:, None, None])
    z = cam[..., 2:3]
    norm = np.where(z > 0.1, cam[..., :2] / np.where(z > 0.1, z, 1.0), np.nan)
    visible = np.asarray(np.isfinite(norm).all(-1))
    if cameras.half_fov_deg is not None:
        half_w = np.tan(np.radians(rng.uniform(*cameras.half_fov_deg, count)))
        aspect = rng.choice([9 / 16, 3 / 4, 4 / 3, 16 / 9], count)
        half = np.stack([half_w, half_w * aspect], -1)[:, None, None]  # (N, 1, 1, 2)
        visible &= (np.abs(np.nan_to_num(norm, nan=np.inf)) <= half).all(-1)
    if isinstance(scores_like, (ScoreBank, np.ndarray)):
        # each view's window of a random real sequence, taken in one indexing (the whole
        # sequences taken first held count x frames x joints: 7 GB per epoch for a
        # 12,800-frame recording, a review)
        bank = scores_like if isinstance(scores_like, ScoreBank) else ScoreBank.of(scores_like)
        chosen = rng.integers(0, len(bank.length), count)
        borrowed = bank.borrow(chosen, idx)  # (N, T, J)
        norm = np.where(visible[..., None], norm, np.nan)
    else:
        norm, borrowed = detector_like(norm, scores_like, rng, fps, visible)
    if noise_px > 0:
        norm = norm + rng.normal(0, noise_px / focal_px, norm.shape)
    scores = np.where(np.isfinite(norm).all(-1), borrowed, 0.0)
    feats = lifter_features(norm, scores)
    target = cam[:, pos] - cam[:, pos, :1]
    return feats, norm[:, pos], scores[:, pos], target


@dataclass(frozen=True)
class RealWindows:
    """All (camera, frame) windows of real sequences whose target frame has a root in 2D, as
    (sequence, frame) pairs: a sample's features are computed when a batch takes it (take).
    (Every window materialised, and copied again each epoch, held about 0.57 MB per frame
    of a recording: 31 GB for 30 minutes of four cameras at 30 fps, a review.)

    seqs: the sequences; sequence, frame: (N,) each kept sample's; window, causal: the
    model's."""

    seqs: list[Sequence]
    sequence: np.ndarray
    frame: np.ndarray
    window: int
    causal: bool

    @classmethod
    def of(cls, seqs: list[Sequence], window: int, causal: bool) -> "RealWindows":
        pos = target_position(window, causal)
        sequence, frame = [], []
        for k, s in enumerate(seqs):
            idx = window_indices(s.keypoints_norm.shape[0], window, causal)
            keep = np.flatnonzero(np.isfinite(s.keypoints_norm[idx[:, pos], 0]).all(-1))
            sequence.append(np.full(len(keep), k))
            frame.append(keep)
        return cls(seqs, np.concatenate(sequence + [np.zeros(0, np.int64)]),
                   np.concatenate(frame + [np.zeros(0, np.int64)]), window, causal)

    def __len__(self) -> int:
        return len(self.frame)

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        """Samples `rows` (n,) in that order: features (n, T, 3J+2) float32, the target
        frame's 2D (n, J, 2) and scores (n, J), and its 3D target (n, J, 3)."""
        pos = target_position(self.window, self.causal)
        first = self.seqs[0]
        joints = H36M17.num_joints
        feats = np.zeros((len(rows), self.window, num_features(joints)), np.float32)
        kps = np.zeros((len(rows), joints, 2), first.keypoints_norm.dtype)
        scs = np.zeros((len(rows), joints), first.scores.dtype)
        tgts = np.zeros((len(rows), joints, 3), first.target.dtype)
        for k in np.unique(self.sequence[rows]):
            here = np.flatnonzero(self.sequence[rows] == k)
            s, frames = self.seqs[k], self.frame[rows[here]]
            idx = window_indices(s.keypoints_norm.shape[0], self.window, self.causal,
                                 centres=frames)
            norm, sc = s.keypoints_norm[idx], s.scores[idx]
            feats[here] = lifter_features(norm, sc)
            kps[here], scs[here], tgts[here] = norm[:, pos], sc[:, pos], s.target[frames]
        return feats, kps, scs, tgts


def _batch(real: RealWindows | None, made: list[np.ndarray] | None, rows: np.ndarray,
           flip: np.ndarray) -> list[torch.Tensor]:
    """An epoch's samples `rows` (n,) (real windows first, then the made ones), mirrored
    where flip (all samples,) says, as float32 tensors: features, target 2D, scores, 3D. The
    values are those the whole epoch's arrays, concatenated, mirrored and converted, held."""
    n_real = len(real) if real is not None else 0
    real_rows, made_rows = np.flatnonzero(rows < n_real), np.flatnonzero(rows >= n_real)
    from_real = real.take(rows[real_rows]) if real is not None else None
    from_made = [a[rows[made_rows] - n_real] for a in made] if made is not None else None
    data = []
    for i in range(4):
        kinds = [part[i] for part in (from_real, from_made) if part is not None]
        out = np.empty((len(rows), *kinds[0].shape[1:]), np.result_type(*kinds))
        if from_real is not None:
            out[real_rows] = from_real[i]
        if from_made is not None:
            out[made_rows] = from_made[i]
        data.append(out)
    mirrored = mirror(data[0], data[1], data[2], data[3], flip[rows])
    return [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in mirrored]


def mirror(feats: np.ndarray, kps: np.ndarray, scs: np.ndarray, tgts: np.ndarray,
           flip: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mirror the selected samples (flip (N,) bool) left/right in image and camera frame."""
    j = H36M17.num_joints
    feats, kps, scs, tgts = feats.copy(), kps.copy(), scs.copy(), tgts.copy()
    f = feats[flip]
    rel = f[..., :2 * j].reshape(*f.shape[:-1], j, 2)[..., MIRROR_INDEX, :] * np.array([-1, 1])
    sc = f[..., 2 * j:3 * j][..., MIRROR_INDEX]
    root = f[..., 3 * j:] * np.array([-1, 1])
    feats[flip] = np.concatenate([rel.reshape(*f.shape[:-1], 2 * j), sc, root], -1)
    kps[flip] = kps[flip][:, MIRROR_INDEX] * np.array([-1, 1])
    scs[flip] = scs[flip][:, MIRROR_INDEX]
    tgts[flip] = tgts[flip][:, MIRROR_INDEX] * np.array([-1, 1, 1])
    return feats, kps, scs, tgts


_BONES_T = torch.from_numpy(H36M17.bones_array)


def lifter_loss(pred: torch.Tensor, kps: torch.Tensor, scs: torch.Tensor,
                tgts: torch.Tensor, reprojection_weight: float,
                bone_weight: float = 0.0) -> tuple[torch.Tensor, dict]:
    """Masked MPJPE (metres) + weighted reprojection L1 (normalised units x 1000 ~ pixels)
    + bone_weight x the mean absolute bone-length error (metres, H36M-17 bones with both ends
    labelled): without it the uncertain joints of unusual poses are pulled towards the body
    and the skeletons come out small (results_lifter.md, session 10)."""
    has = torch.isfinite(tgts).all(-1)
    tg = torch.where(has[..., None], tgts, torch.zeros_like(tgts))
    err3d = torch.linalg.norm(pred - tg, dim=-1)
    l3d = (err3d * has).sum() / has.sum().clamp(min=1)
    w = torch.where(torch.isfinite(kps).all(-1), scs, torch.zeros_like(scs))
    x = torch.where(torch.isfinite(kps), kps, torch.zeros_like(kps))
    t = solve_root_translation_torch(pred, x, w)
    placed = pred + t[:, None]
    z = placed[..., 2:3].clamp(min=0.1)
    proj = placed[..., :2] / z
    # mean absolute error per coordinate, in normalised units x 1000 (pixels at f = 1000 px)
    lrep = (w[..., None] * (proj - x).abs()).sum() / (2 * w.sum()).clamp(min=1e-6) * 1000.0
    total = l3d + reprojection_weight * 0.01 * lrep  # 10 "pixels" weigh like 0.1 m
    if bone_weight > 0:
        a, b = _BONES_T[:, 0], _BONES_T[:, 1]
        both = has[:, a] & has[:, b]
        gap = (torch.linalg.norm(pred[:, a] - pred[:, b], dim=-1)
               - torch.linalg.norm(tg[:, a] - tg[:, b], dim=-1)).abs()
        total = total + bone_weight * (gap * both).sum() / both.sum().clamp(min=1)
    return total, {"mpjpe_m": float(l3d.detach()), "reproj": float(lrep.detach())}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def config_differences(saved: Any, wanted: Any, prefix: str = "") -> list[str]:
    """The dotted keys ("epochs", "model.window") whose values differ between two
    TrainConfig.to_dict() dictionaries (a checkpoint's and the one asked for), in order."""
    if not isinstance(saved, dict) or not isinstance(wanted, dict):
        return [] if saved == wanted else [prefix.rstrip(".") or "config"]
    out = []
    for key in [*wanted, *(k for k in saved if k not in wanted)]:
        out += config_differences(saved.get(key), wanted.get(key), f"{prefix}{key}.")
    return out


def train(labels: list[PseudoLabels], config: TrainConfig, out_dir: Path,
          resume: bool = False, progress: bool = True, mocap: list | None = None,
          errors: ErrorModel | None = None) -> torch.nn.Module:
    """Train a lifter; checkpoint every epoch.

    labels: pseudo-labels of multi-camera recordings (real single-view samples + virtual
    views of their pseudo-3D; may be empty). mocap: core.mocap clips, seen through virtual
    cameras (config.mocap_per_epoch samples per epoch) with the 2D errors of `errors` (a
    core.error_model.ErrorModel; None: perfect 2D plus config.mocap_noise_px of noise).
    config.init_from: start from that checkpoint's weights (pre-train on mocap, fine-tune
    on the rig).
    out_dir receives checkpoint.pt (model, optimiser, epoch, RNG states) and history.json.
    resume=True continues from out_dir/checkpoint.pt when present.
    """
    from tqdm import tqdm

    from ..output_files import staged_outputs

    out_dir = Path(out_dir)
    if config.batch_size < 2:     # a batch of one is skipped (batch norm): none would train
        raise ValueError(f"batch size must be at least 2 samples, got {config.batch_size}")
    if not labels and not (mocap and config.mocap_per_epoch > 0):
        raise ValueError("nothing to train on: give recordings (labels) or mocap clips with "
                         "mocap_per_epoch > 0")
    if not labels and config.synthetic_people > 0:      # (a ZeroDivisionError, a review)
        raise ValueError("synthetic people are a share (synthetic_share) of the virtual views "
                         "of recordings: give recordings (labels) or no synthetic people")
    unlabelled = [k for k, lab in enumerate(labels)
                  if not np.isfinite(lab.points_world[:, 0, 0]).any()]
    if unlabelled:       # (it failed later as "no labelled frame to build virtual views from")
        raise ValueError(f"recording(s) {unlabelled} (in the order given) have no frame with a "
                         "person seen by two cameras at once, so no 3D label to learn from")
    out_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)
    rng = np.random.default_rng(config.seed)
    mc = config.model
    # a confidence that is no number (a damaged 2D cache, a detector's NaN) would make every
    # loss NaN (an audit saw a model of NaN weights written and the run end 0): it is 0
    seqs = [replace(s, scores=np.nan_to_num(s.scores, nan=0.0, posinf=0.0, neginf=0.0))
            for lab in labels for s in sequences_from_labels(lab)]
    real = RealWindows.of(seqs, mc.window, mc.causal) if seqs else None
    score_bank = ScoreBank.of([s.scores for s in seqs]) if seqs else None
    model = build_lifter(mc)
    if config.init_from:
        # weights only: a checkpoint from elsewhere must not run code when read (a review)
        model.load_state_dict(torch.load(config.init_from, weights_only=True)["model"])
        log.info("initialised from %s", config.init_from)
    opt = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                            weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs)
    start, history = 0, []
    ckpt_path = out_dir / "checkpoint.pt"
    if resume and ckpt_path.is_file():
        try:
            ckpt = torch.load(ckpt_path, weights_only=True)
        except Exception as err:  # noqa: BLE001 - torch's readers raise many kinds
            raise ValueError(f"{ckpt_path} cannot be read ({type(err).__name__}: damaged?); "
                             "remove it to start over") from None
        if differ := config_differences(ckpt["config"], config.to_dict()):
            raise ValueError(f"{ckpt_path} was written with another configuration ("
                             + ", ".join(differ) + " differ); start over in another work "
                             "folder, or give the same options")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        start, history = ckpt["epoch"], ckpt["history"]
        rng.bit_generator.state = ckpt["numpy_rng"]
        torch.set_rng_state(ckpt["torch_rng"])
        log.info("resumed from %s at epoch %d", ckpt_path, start)
    log.info("lifter %s: %d parameters, %d real samples", mc, count_parameters(model),
             0 if real is None else len(real))
    sources = [lab.points_world for lab in labels]
    # a self-calibrated rig's frame is its reference camera's optical frame (y down): its
    # virtual cameras circle the people's own up (an audit measured +12 mm N-MPJPE when they
    # circled z); a z-up frame keeps z exactly
    ups: list[np.ndarray | None] = [frame_up(points, H36M17) for points in sources]
    counts = [config.virtual_per_epoch // len(labels)] * len(labels) if labels else []
    if config.synthetic_people > 0:
        from ..synthetic import random_poses

        syn = random_poses(config.synthetic_frames, config.synthetic_people,
                           np.random.default_rng(config.seed + 1), layout=H36M17, fps=60.0)
        n_syn = int(config.virtual_per_epoch * config.synthetic_share)
        counts = [(config.virtual_per_epoch - n_syn) // len(labels)] * len(labels)
        sources += [syn[:, p] for p in range(syn.shape[1])]
        counts += [n_syn // syn.shape[1]] * syn.shape[1]
        ups += [None] * syn.shape[1]            # random_poses are z-up
    bar = tqdm(range(start, config.epochs), desc="train lifter", disable=not progress,
               initial=start, total=config.epochs)
    for epoch in bar:
        rig_errors = errors if score_bank is None else score_bank
        virt = [virtual_views(points, rig_errors, count, mc.window, mc.causal, rng,
                              config.noise_px, config.virtual_focal_px, up=up,
                              limb_angle_rad=np.radians(config.limb_angle_deg),
                              bone_scale=config.bone_scale)
                for points, count, up in zip(sources, counts, ups, strict=True) if count > 0]
        if mocap and config.mocap_per_epoch > 0:
            performances = mocap_performances(mocap, rng, config.mocap_augment)
            per = max(config.mocap_per_epoch // len(performances), 1)
            clean = (rng.random(len(performances)) < config.mocap_clean_share
                     if config.mocap_clean_share > 0 else np.zeros(len(performances), bool))
            virt += [virtual_views(p, None if exact else errors, per, mc.window, mc.causal, rng,
                                   config.mocap_noise_px, config.virtual_focal_px,
                                   limb_angle_rad=np.radians(config.mocap_limb_angle_deg),
                                   bone_scale=config.mocap_bone_scale,
                                   cameras=config.mocap_cameras, fps=fps)
                     for (p, fps), exact in zip(performances, clean, strict=True)]
        # the epoch's samples: the real windows (each shows its root), then the virtual ones
        # made for it that do (their number is the configuration's, not the recording's)
        made = [np.concatenate([v[i] for v in virt]) for i in range(4)] if virt else None
        if made is not None:
            usable = np.isfinite(made[1][:, 0]).all(-1)  # the target frame shows the root
            made = [a[usable] for a in made]
        total = (len(real) if real is not None else 0) + (len(made[0]) if made else 0)
        flip = np.asarray(rng.random(total) < 0.5)
        order = torch.from_numpy(rng.permutation(total))
        model.train()
        sums = {"loss": 0.0, "mpjpe_m": 0.0, "reproj": 0.0}
        batches = 0
        for b in range(0, len(order), config.batch_size):
            sel = order[b:b + config.batch_size]
            if sel.numel() < 2:
                continue
            f, k, s, t = _batch(real, made, sel.numpy(), flip)
            loss, terms = lifter_loss(model(f), k, s, t, config.reprojection_weight,
                                      config.bone_length_weight)
            if not torch.isfinite(loss):
                # (a review: the message named a checkpoint that no epoch had written)
                kept = (f"the last good epoch's checkpoint is {ckpt_path}" if
                        ckpt_path.is_file() else "no epoch finished, so no checkpoint")
                raise ValueError(f"the training loss is not a number at epoch {epoch + 1} "
                                 f"(diverged: try a lower --lr than {config.learning_rate:g}, "
                                 f"or check the 2D is finite and in pixels); {kept}, no model "
                                 "was written")
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sums["loss"] += float(loss.detach())
            sums["mpjpe_m"] += terms["mpjpe_m"]
            sums["reproj"] += terms["reproj"]
            batches += 1
        if batches == 0:     # (its mean error read 0 and passed as converged: an audit)
            raise ValueError(f"epoch {epoch + 1} trained on nothing: {len(order)} usable "
                             f"sample(s), fewer than a batch of 2 or more; no model was "
                             "written")
        sched.step()
        record = {"epoch": epoch + 1, **{k: v / batches for k, v in sums.items()}}
        history.append(record)
        bar.set_postfix(mpjpe_mm=f"{record['mpjpe_m'] * 1000:.0f}",
                        reproj=f"{record['reproj']:.1f}")
        if not progress:     # (a review: --no-progress printed no epoch at all)
            log.info("epoch %d/%d: MPJPE %.0f mm, reprojection %.1f px (at a focal length "
                     "of 1000 px)", epoch + 1, config.epochs, record["mpjpe_m"] * 1000,
                     record["reproj"])
        # written whole or not at all: a kill during the save left a checkpoint --resume
        # could not read (audit); history.json with it, moved in together, so that after an
        # interrupt both are of the same epoch (a review: history.json was the previous run's)
        with staged_outputs([ckpt_path, out_dir / "history.json"], overwrite=True) as (
                checkpoint_file, history_file):
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(), "epoch": epoch + 1,
                        "history": history, "config": config.to_dict(),
                        "numpy_rng": rng.bit_generator.state,
                        "torch_rng": torch.get_rng_state()}, checkpoint_file)
            history_file.write_text(json.dumps(history, indent=1))
    final = history[-1]["mpjpe_m"] if history else 0.0
    if not np.isfinite(final) or final > DIVERGED_MPJPE_M:
        raise ValueError(f"the training did not converge: its last epoch's mean joint error is "
                         f"{final:.3g} m (try a lower --lr than {config.learning_rate:g}); no "
                         f"model was written ({out_dir / 'history.json'} has every epoch)")
    model.eval()
    return model


# A lifter whose last training epoch is off by this much on average (m) has diverged: its
# joints are not a body's (an untrained one is off by about 2 m, a diverged one by thousands).
DIVERGED_MPJPE_M = 10.0


def export_onnx(model: torch.nn.Module, path: Path, extra_metadata: dict | None = None, *,
                overwrite: bool = True, train_config: dict | None = None) -> dict:
    """Write the lifter as ONNX (input 'features' (B, T, 3J+2), output 'joints' (B, J, 3))
    plus <path>.json metadata (the same metadata is stored in the ONNX metadata_props) and
    <path>.pt, its weights for further training (`train_lifter --init-from`: an ONNX model
    cannot be trained on, its batch norms are folded into its convolutions): a dict of
    'model' (the state dict) and 'config' (train_config, the TrainConfig as a dict; without
    it only {'model': LifterConfig}), readable with torch.load(weights_only=True). All three
    are written under temporary names and moved in only when all are complete; an existing
    file is replaced only if overwrite (output_files.staged_outputs)."""
    import onnx

    from ..output_files import staged_outputs

    mc = model.config
    model.eval()
    path = Path(path)
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise ValueError(f"{path}: the lifter's weights are not all numbers (a diverged "
                         "training); nothing written")
    if path.suffix in (".json", ".pt"):
        raise ValueError(f"{path}: the model's metadata and weights go to <path>.json and "
                         "<path>.pt; give the model another suffix (.onnx)")
    dummy = torch.zeros(1, mc.window, mc.num_features)
    metadata = {"format": "pose3d_ros.lifter/1", "layout": H36M17.name,
                "num_joints": mc.num_joints, "window": mc.window, "causal": mc.causal,
                "output_frame": "last" if mc.causal else "centre",
                "normalisation": NORMALISATION_NAME, "units": "metres",
                "output": "root-relative joints, camera optical frame (x right, y down, "
                          "z forward)", "model": mc.to_dict(), **(extra_metadata or {})}
    if train_config is not None:
        metadata["train_config"] = train_config
    with staged_outputs([path, path.with_suffix(".json"), path.with_suffix(".pt")],
                        overwrite) as (onnx_file, json_file, weights_file):
        torch.save({"model": model.state_dict(),
                    "config": train_config or {"model": mc.to_dict()}}, weights_file)
        torch.onnx.export(model, (dummy,), str(onnx_file), input_names=["features"],
                          output_names=["joints"], opset_version=17, dynamo=False,
                          dynamic_axes={"features": {0: "batch"}, "joints": {0: "batch"}})
        proto = onnx.load(str(onnx_file))
        for key, value in metadata.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, json.dumps(value)
        onnx.save(proto, str(onnx_file))
        json_file.write_text(json.dumps(metadata, indent=1))
    return metadata
