"""Multi-person 3D scoring: PCP as the Campus/Shelf protocol scores it, MPJPE, ghosts, misses,
id switches. Pure numpy, no ROS.

The Campus/Shelf skeleton (14 joints, `CAMPUS14_NAMES`): right ankle, knee, hip, left hip,
knee, ankle, right wrist, elbow, shoulder, left shoulder, elbow, wrist, head bottom (neck),
head top. Ground truth of those datasets comes in that order; predictions in any of the
package's layouts are mapped onto it with `to_campus14()`.

PCP (percentage of correct parts, Belagiannis et al., "3D Pictorial Structures for Multiple
Human Pose Estimation", CVPR 2014): a limb is correct when the mean of its two end-point errors
is at most `alpha` (0.5) times the limb's true length. The 10 limbs: 4 leg segments, 4 arm
segments, the head (head bottom -> head top) and the torso (mid-hip -> head bottom).
Per ground-truth person and frame the prediction with the lowest mean joint error is scored
(the protocol picks, it does not match one-to-one); PCP is reported per actor and averaged.

Head derivation (the one the multi-person literature's evaluation code uses for detectors with
no head-top joint): with M the shoulder midpoint and d = nose - M,
    head bottom = M + d / 2
    head top    = M + 0.75 d_h + 1.5 d_v
where d_v is the part of d along the world's up axis and d_h the horizontal rest: the head top
lies half again as high above the shoulders as the nose, and a little less far forward.
These are the constants of the public evaluation code of the multi-person literature (mvpose's
and VoxelPose's COCO -> Shelf/Campus conversion: head bottom at 1/2 of shoulder midpoint ->
nose, head top at (0.75, 0.75, 1.5) of it along the world's x, y, z with z up); VoxelPose's
Shelf variant further blends in an ear-based estimate. Predictions are mapped this way by
default. The ear-based estimate alone (VoxelPose's Campus conversion: head bottom halfway
between shoulder midpoint E_s and ear centre E, head top as far beyond E again,
`derive_head_from_ears`) is available as `derivation="ears"`, and VoxelPose's Shelf conversion,
3/4 of the nose-based ends plus 1/4 of the ear-based ones (`SHELF_NOSE_WEIGHT`), as
`derivation="nose_ears"`: the Shelf loader's default (datasets/campus_shelf.py); it needs the
nose and both ears, so a head or torso limb fails where one of them is missing.
Ground truth keeps its own head ends where it has them (Campus/Shelf annotate "head bottom",
i.e. chin / upper neck, and "head top"; the motion-capture body gives its head sphere's chin and
crown, core/mocap.head_ends): pass them as `head` to `to_campus14`. Without them the ground
truth is derived the same way as the predictions (GT_HEADS "derived"): both sides then agree
whenever the nose agrees, and the head limb is as short as the body's nose is low.

Ghosts, misses and id switches use one one-to-one matching on the mean joint distance
(`metrics.match_people`), gated at `match_distance_m`: an unmatched prediction is a ghost
person-frame (duplicates of a real person included), an unmatched ground-truth person a miss.
With track ids it is CLEAR-MOT's (Bernardin & Stiefelhagen 2008, as TrackEval's CLEAR and
MOTChallenge): a person matched to a track in the frame before keeps it while it stays within
the gate, and the Hungarian algorithm matches the rest; an id switch is a person matched to
another track id than at their last match, however many frames ago (`metrics.id_switches`).
So a track lost for some frames and back under its id is no switch, a ghost nearer for a
frame than a person's own track is a ghost, not two switches, and two tracks trading people
count 2 once they are more than the gate from their old people. MPJPE is each frame's own
best matching (pose accuracy, whatever the tracks did).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .layouts import CAMPUS14, H36M17, JointLayout, convert_joints
from .metrics import id_switches, match_people, mean_joint_distances
from .mocap import head_ends

CAMPUS14_NAMES = CAMPUS14.joint_names
# The 12 joints every layout of the package has under the same name.
_LIMB_JOINTS = CAMPUS14_NAMES[:12]
HEAD_BOTTOM, HEAD_TOP = 12, 13
# Limbs as pairs of Campus-14 indices; the torso (mid-hip -> head bottom) is scored apart.
PCP_LIMBS = np.array([(0, 1), (1, 2), (3, 4), (4, 5), (6, 7), (7, 8), (9, 10), (10, 11),
                      (12, 13)], np.intp)
PCP_LIMB_NAMES = ("right_lower_leg", "right_upper_leg", "left_upper_leg", "left_lower_leg",
                  "right_lower_arm", "right_upper_arm", "left_upper_arm", "left_lower_arm",
                  "head", "torso")
PCP_ALPHA = 0.5
# Ground-truth head ends of motion capture: the body's head ("body", core/mocap.head_ends) or
# derived from nose and shoulders like the predictions ("derived", derive_head). The first is
# the in-house benchmark's default (like the standard benchmarks' annotated head ends).
GT_HEADS = ("body", "derived")
DEFAULT_GT_HEAD = GT_HEADS[0]
# How a prediction's head ends are derived: from nose and shoulders (default), ears and
# shoulders, or both blended as VoxelPose's Shelf evaluation does (module docstring).
PRED_HEADS = ("nose", "ears", "nose_ears")
# VoxelPose's Shelf conversion: the nose-based head ends' weight in the blend (the ear-based
# ones get the rest).
SHELF_NOSE_WEIGHT = 0.75
# The in-house motion-capture benchmark derives the predictions' head from the ears: its clips
# lie, crawl, get up and turn over, and the nose-based derivation (built for upright people:
# "up" is the world's vertical) misses the body's head whenever it tilts more than about 45
# degrees, so even the truth scored as a prediction lost up to 6.5 PCP points; from the ears
# the truth scores 100 % on every row (benchmarks/results_multiview.md, section 6g). Public
# data sets use their own rule (datasets/campus_shelf.HEAD_RULES: Shelf nose_ears, Campus
# nose; Panoptic nose).
MOCAP_PRED_HEAD = PRED_HEADS[1]


def derive_head(shoulders_mid: np.ndarray, nose: np.ndarray,
                up: Sequence[float] = (0.0, 0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """Head bottom and head top (..., 3) from the shoulder midpoint and the nose (..., 3),
    metres, `up` the world's up direction (see the module docstring). NaN propagates."""
    up_axis = np.asarray(up, np.float64)
    up_axis = up_axis / np.linalg.norm(up_axis)
    d = np.asarray(nose, np.float64) - shoulders_mid
    d_vertical = (d @ up_axis)[..., None] * up_axis
    return shoulders_mid + 0.5 * d, shoulders_mid + 0.75 * (d - d_vertical) + 1.5 * d_vertical


def derive_head_from_ears(shoulders_mid: np.ndarray, ears_mid: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Head bottom and head top (..., 3) from the shoulder midpoint and the ears' midpoint
    (..., 3), metres: bottom halfway between them, top as far beyond the ears again
    (VoxelPose's Campus conversion). No up axis needed. NaN propagates."""
    bottom = 0.5 * (np.asarray(shoulders_mid, np.float64) + ears_mid)
    return bottom, 2.0 * np.asarray(ears_mid, np.float64) - bottom


def to_campus14(points: np.ndarray, layout: JointLayout,
                up: Sequence[float] = (0.0, 0.0, 1.0), *,
                head: tuple[np.ndarray, np.ndarray] | None = None,
                derivation: str = PRED_HEADS[0]) -> np.ndarray:
    """(..., J, 3) metres in `layout` (COCO-17, H36M-17, BlazePose-33) -> (..., 14, 3) in the
    Campus/Shelf order. Head bottom and head top: `head` = (bottom, top), (..., 3) each in the
    frame of `points`, where they are known (annotated ground truth, core/mocap.head_ends);
    else derived (module docstring) from nose and shoulders (derivation "nose", the default
    and the protocol's), from ears and shoulders ("ears"; H36M's head joint is the ears'
    midpoint, layouts.py), or from both as VoxelPose's Shelf evaluation ("nose_ears")."""
    if derivation not in PRED_HEADS:
        raise ValueError(f"derivation must be one of {PRED_HEADS}, got {derivation!r}")
    points = np.asarray(points, np.float64)
    if points.ndim < 2 or points.shape[-2:] != (layout.num_joints, 3):
        raise ValueError(f"expected (..., {layout.num_joints}, 3) for {layout.name}, "
                         f"got {points.shape}")
    out = np.empty(points.shape[:-2] + (14, 3))
    out[..., :12, :] = points[..., layout.indices(_LIMB_JOINTS), :]
    if head is not None:
        ends = np.stack(np.broadcast_arrays(*head), axis=-2)
        if ends.shape != out.shape[:-2] + (2, 3):
            raise ValueError(f"head ends {ends.shape[:-2]} x (2, 3) do not fit points "
                             f"{points.shape}")
        out[..., HEAD_BOTTOM:, :] = ends
        return out
    mid = 0.5 * (points[..., layout.index("left_shoulder"), :]
                 + points[..., layout.index("right_shoulder"), :])
    ends = np.zeros(out.shape[:-2] + (2, 3))
    if derivation in ("ears", "nose_ears"):
        ears = convert_joints(points, layout, H36M17)[..., H36M17.index("head"), :]
        from_ears = np.stack(derive_head_from_ears(mid, ears), axis=-2)
        ends += (1.0 if derivation == "ears" else 1.0 - SHELF_NOSE_WEIGHT) * from_ears
    if derivation in ("nose", "nose_ears"):
        from_nose = np.stack(derive_head(mid, points[..., layout.index("nose"), :], up), axis=-2)
        ends += (1.0 if derivation == "nose" else SHELF_NOSE_WEIGHT) * from_nose
    out[..., HEAD_BOTTOM:, :] = ends
    return out


def mocap_truth_to_campus14(joints: np.ndarray, gt_head: str = DEFAULT_GT_HEAD,
                            derivation: str = PRED_HEADS[0]) -> np.ndarray:
    """Ground truth of the motion-capture body (core/mocap.py), (..., 17, 3) H36M-17 metres,
    z up -> (..., 14, 3) Campus-14. gt_head (GT_HEADS): "body" = the body's own head sphere
    (chin level and crown, as Campus/Shelf annotate head bottom and top; mocap.head_ends),
    "derived" = derived like the predictions' (`derivation`, see to_campus14; "nose" is the
    benchmark's definition before 2026-11-30)."""
    if gt_head not in GT_HEADS:
        raise ValueError(f"gt_head must be one of {GT_HEADS}, got {gt_head!r}")
    return to_campus14(joints, H36M17, head=head_ends(joints) if gt_head == "body" else None,
                       derivation=derivation)


def pcp_limbs(pred: np.ndarray, gt: np.ndarray, alpha: float = PCP_ALPHA) -> np.ndarray:
    """Which of the 10 limbs are correct: pred, gt (..., 14, 3) Campus-14 -> (..., 10) bool.

    A limb with a missing predicted end is wrong; callers leave out ground truth that is
    missing (a limb whose true ends are NaN is returned as False and must not be counted).
    """
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    if pred.shape != gt.shape or pred.shape[-2:] != (14, 3):
        raise ValueError(f"expected two (..., 14, 3) arrays, got {pred.shape} and {gt.shape}")
    ends = np.concatenate([PCP_LIMBS, [(14, HEAD_BOTTOM)]])          # 14 = mid-hip (appended)

    def with_mid_hip(p: np.ndarray) -> np.ndarray:
        return np.concatenate([p, 0.5 * (p[..., 2:3, :] + p[..., 3:4, :])], axis=-2)

    p, g = with_mid_hip(pred), with_mid_hip(gt)
    err = np.linalg.norm(p - g, axis=-1)                               # (..., 15)
    length = np.linalg.norm(g[..., ends[:, 0], :] - g[..., ends[:, 1], :], axis=-1)
    mean_err = 0.5 * (err[..., ends[:, 0]] + err[..., ends[:, 1]])
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(mean_err, nan=np.inf) <= alpha * length


@dataclass(frozen=True)
class MultiPersonScore:
    """Scores of a multi-person sequence (see the module docstring).

    pcp_per_actor: (A,) share of correct limbs per ground-truth actor id (sorted `actor_ids`),
        NaN for an actor never annotated. pcp: mean over actors (the protocol's "average").
    pcp_per_limb: (10,) share of correct limbs per limb type over all actors (PCP_LIMB_NAMES).
    mpjpe_m: mean joint error of the one-to-one matched pairs over the Campus-14 joints.
    ghosts: unmatched predicted person-frames; misses: unmatched ground-truth person-frames;
    gt_person_frames, pred_person_frames: totals; id_switches: CLEAR-MOT identity switches.
    duplicates: the ghosts nearer than match_distance_m (mean joint distance) to an annotated
    person of their frame who has a matched skeleton: a second skeleton on someone (the other
    ghosts are people nobody annotated, where a data set leaves some out, or skeletons of
    nobody).
    """

    actor_ids: np.ndarray
    pcp_per_actor: np.ndarray
    pcp: float
    pcp_per_limb: np.ndarray
    mpjpe_m: float
    ghosts: int
    misses: int
    gt_person_frames: int
    pred_person_frames: int
    id_switches: int
    duplicates: int = 0

    @property
    def ghost_rate(self) -> float:
        """Ghost person-frames over published person-frames."""
        return self.ghosts / self.pred_person_frames if self.pred_person_frames else 0.0

    @property
    def miss_rate(self) -> float:
        return self.misses / self.gt_person_frames if self.gt_person_frames else 0.0

    def summary(self) -> dict[str, float | int]:
        return {"pcp": self.pcp, "mpjpe_mm": 1000 * self.mpjpe_m, "ghosts": self.ghosts,
                "ghost_rate": self.ghost_rate, "misses": self.misses,
                "miss_rate": self.miss_rate, "duplicates": self.duplicates,
                "id_switches": self.id_switches,
                "gt_person_frames": self.gt_person_frames,
                "pred_person_frames": self.pred_person_frames}


def score_multiperson(pred: Sequence[np.ndarray], gt: Sequence[np.ndarray], *,
                      gt_ids: Sequence[np.ndarray], pred_ids: Sequence[np.ndarray] | None = None,
                      alpha: float = PCP_ALPHA, match_distance_m: float = 0.5
                      ) -> MultiPersonScore:
    """Score a sequence of multi-person predictions against ground truth.

    pred[t]: (P_t, 14, 3) predicted people in Campus-14 (`to_campus14`), metres, NaN joints
        allowed; gt[t]: (Q_t, 14, 3) annotated people (a person absent in a frame is left out
        of gt[t], or is all NaN); gt_ids[t]: (Q_t,) actor ids; pred_ids[t]: (P_t,) track ids
        (None, e.g. an untracked output whose ids number each frame's people: each frame
        matched on its own, no id switches counted).
    """
    if len(pred) != len(gt) or len(gt) != len(gt_ids):
        raise ValueError(f"{len(pred)} predicted frames, {len(gt)} ground-truth frames, "
                         f"{len(gt_ids)} id frames")
    if pred_ids is not None and len(pred_ids) != len(pred):
        raise ValueError(f"{len(pred_ids)} frames of predicted ids for {len(pred)} frames")
    actor_ids = np.unique(np.concatenate([np.asarray(i, np.int64).ravel() for i in gt_ids])
                          if len(gt_ids) else np.zeros(0, np.int64))
    correct = np.zeros((actor_ids.size, 10))
    counted = np.zeros((actor_ids.size, 10))
    preds, gts, gids = [], [], []
    for t, (p, g, ids) in enumerate(zip(pred, gt, gt_ids, strict=True)):
        p = np.asarray(p, np.float64).reshape(-1, 14, 3)
        g = np.asarray(g, np.float64).reshape(-1, 14, 3)
        ids = np.asarray(ids, np.int64).ravel()
        if ids.size != g.shape[0]:
            raise ValueError(f"frame {t}: {g.shape[0]} ground-truth people but {ids.size} ids")
        annotated = np.isfinite(g).all(-1).any(-1)
        g, ids = g[annotated], ids[annotated]
        preds.append(p)
        gts.append(g)
        gids.append(ids)
        if not ids.size:
            continue
        row = np.searchsorted(actor_ids, ids)
        limb_known = _limbs_annotated(g)                                 # (Q, 10)
        counted[row] += limb_known
        if not p.shape[0]:
            continue
        # the prediction nearest each annotated person; a joint it lacks counts as
        # match_distance_m, so a fragment does not beat a whole body a little off
        mean = mean_joint_distances(p, g, missing_cost=match_distance_m)  # (P, Q)
        best = np.argmin(np.nan_to_num(mean, nan=np.inf), axis=0)       # (Q,)
        correct[row] += pcp_limbs(p[best], g) & limb_known
    with np.errstate(invalid="ignore", divide="ignore"):
        per_actor = correct.sum(1) / counted.sum(1)
        per_limb = correct.sum(0) / counted.sum(0)
    # with track ids, CLEAR-MOT's correspondences: a person keeps the track matched to them in
    # the frame before while it stays within the gate (a ghost nearer for a frame is a ghost)
    matching = match_people(preds, gts, max_distance=match_distance_m,
                            missing_cost=match_distance_m, pred_ids=pred_ids,
                            ref_ids=None if pred_ids is None else gids)
    # MPJPE is pose accuracy, not tracking: each frame's own best matching (as multi-person
    # 3D benchmarks score it), whatever track was matched to the person the frame before
    per_frame = matching if pred_ids is None else match_people(
        preds, gts, max_distance=match_distance_m, missing_cost=match_distance_m)
    errors = [np.linalg.norm(p[pair[:, 0]] - g[pair[:, 1]], axis=-1).ravel()
              for p, g, pair in zip(preds, gts, per_frame.pairs, strict=True)]
    errors_all = np.concatenate(errors) if errors else np.zeros(0)
    matched = sum(len(pair) for pair in matching.pairs)
    duplicates = 0
    for p, g, pair in zip(preds, gts, matching.pairs, strict=True):
        unmatched = np.setdiff1d(np.arange(p.shape[0]), pair[:, 0])
        if unmatched.size and pair.shape[0]:
            # nearer than the gate to someone who has a skeleton matched (a prediction with no
            # joint sits at exactly missing_cost from everyone: strictly nearer only)
            near = mean_joint_distances(p[unmatched], g[pair[:, 1]],
                                        missing_cost=match_distance_m)
            duplicates += int((np.nan_to_num(near, nan=np.inf) < match_distance_m)
                              .any(axis=1).sum())
    n_pred = sum(p.shape[0] for p in preds)
    n_gt = sum(g.shape[0] for g in gts)
    switches = 0
    if pred_ids is not None:
        true_ids = [ids[pair[:, 1]] for ids, pair in zip(gids, matching.pairs, strict=True)]
        track_ids = [np.asarray(i).ravel()[pair[:, 0]]
                     for i, pair in zip(pred_ids, matching.pairs, strict=True)]
        switches = id_switches(true_ids, track_ids)
    return MultiPersonScore(
        actor_ids=actor_ids, pcp_per_actor=per_actor,
        pcp=float(np.nanmean(per_actor)) if np.isfinite(per_actor).any() else float("nan"),
        pcp_per_limb=per_limb,
        mpjpe_m=float(np.nanmean(errors_all)) if np.isfinite(errors_all).any() else float("nan"),
        ghosts=n_pred - matched, misses=n_gt - matched, gt_person_frames=n_gt,
        pred_person_frames=n_pred, id_switches=switches, duplicates=duplicates)


def _limbs_annotated(gt: np.ndarray) -> np.ndarray:
    """(Q, 14, 3) -> (Q, 10) bool: both true ends of each limb are known."""
    known = np.isfinite(gt).all(-1)                                      # (Q, 14)
    mid_hip = known[:, 2] & known[:, 3]
    limbs = known[:, PCP_LIMBS[:, 0]] & known[:, PCP_LIMBS[:, 1]]
    return np.concatenate([limbs, (mid_hip & known[:, HEAD_BOTTOM])[:, None]], axis=1)
