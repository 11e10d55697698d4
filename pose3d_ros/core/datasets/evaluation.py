"""Run the package's multi-view pipeline (association, robust triangulation, completion,
tracking, filtering: pipeline.Pose3DPipeline.process_detections, as the fusion node does) on a
loaded public sequence and score it with the Campus/Shelf PCP protocol, MPJPE, ghosts and
misses (multiperson_metrics)."""
from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..detection.base import convert_detections
from ..layouts import CAMPUS14, COCO17, SHELF15, convert_joints
from ..metrics import match_people
from ..multiperson_metrics import (
    PCP_LIMB_NAMES,
    PRED_HEADS,
    MultiPersonScore,
    score_multiperson,
    to_campus14,
)
from ..pipeline import PipelineParams, Pose3DPipeline
from ..types import Skeletons3D
from .records import GroundTruth, MultiViewSequence

PIPELINE_LAYOUT = COCO17     # the 2D layout the pipeline is given (all file layouts map onto it)
SCORING_PARAMS = PipelineParams(filtering=None)


@dataclass(frozen=True)
class SequenceEvaluation:
    """Scores of one sequence.

    score: the multi-person scores (PCP per actor, MPJPE, ghosts, misses, id switches).
    frames: frames run. people_2d_per_view: mean 2D people per camera and frame.
    ms_per_frame: (median, 90th percentile) of the 3D stages' time per frame, milliseconds.
    two_d_agreement: camera -> two_d_agreement's share (1: every annotated person in view has
    a detection where the ground truth projects). head_rule: how the predictions' head ends
    were derived (multiperson_metrics.PRED_HEADS).
    """

    name: str
    score: MultiPersonScore
    frames: int
    cameras: tuple[str, ...]
    people_2d_per_view: float
    ms_per_frame: tuple[float, float]
    two_d_agreement: dict[str, float] = field(default_factory=dict)
    head_rule: str = PRED_HEADS[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        s = self.score
        return {"sequence": self.name, "frames": self.frames, "cameras": list(self.cameras),
                "people_2d_per_view": _num(self.people_2d_per_view),
                "ms_per_frame_median": _num(self.ms_per_frame[0]),
                "ms_per_frame_p90": _num(self.ms_per_frame[1]), "head_rule": self.head_rule,
                **{k: _num(v) if isinstance(v, float) else v for k, v in s.summary().items()},
                "pcp_per_actor": {str(int(a)): _num(p) for a, p in zip(s.actor_ids,
                                                                       s.pcp_per_actor,
                                                                       strict=True)},
                "pcp_per_limb": {n: _num(p) for n, p in zip(PCP_LIMB_NAMES, s.pcp_per_limb,
                                                            strict=True)},
                "2d_agreement_per_camera": {c: _num(v) for c, v in self.two_d_agreement.items()}}


def _num(value: float) -> float | None:
    """JSON has no NaN: a figure that could not be computed (nothing matched) is null."""
    return None if not np.isfinite(value) else float(value)


LOW_AGREEMENT = 0.6  # below: the 2D of that camera is likely not of these frames or camera


def two_d_agreement(sequence: MultiViewSequence, every: int = 5,
                    box_margin: float = 0.2) -> dict[str, float]:
    """Per camera, the share of annotated people in view (the mean of their joints projected
    inside the image), every `every`-th frame, that a detection's box (grown by box_margin of
    its size each way) covers. About 1 where the 2D and the ground truth are of the same frames
    and camera; on the real Shelf release 0.98-1.0, with one camera's files 300 frames off
    0.02, with every file 100 frames off 0.39-0.52, with files that leave out the frames where
    nobody was detected 0.76-0.78 (session 23): a numbering or camera order that differs
    shows here while frame numbers alone cannot show it."""
    truth = sequence.ground_truth
    if truth is None:
        return {}
    out = {}
    rows = np.arange(0, len(sequence.frames), every)
    with warnings.catch_warnings():     # people not annotated in a frame: all NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        centres = np.nanmean(truth.points[rows], axis=2)               # (F', P, 3)
    for cam in sequence.rig:
        hits = seen = 0
        for k, f in enumerate(rows):
            known = centres[k][np.isfinite(centres[k]).all(-1)]
            if not len(known):
                continue
            uv = cam.project(known)
            uv = uv[(uv >= 0).all(-1) & (uv[:, 0] < cam.width) & (uv[:, 1] < cam.height)]
            seen += len(uv)
            found = sequence.detections[f].get(cam.name)
            if found is None or not found.num_people or not len(uv):
                continue
            boxes = found.boxes.astype(np.float64)
            pad = box_margin * (boxes[:, 2:] - boxes[:, :2])
            low, high = boxes[:, :2] - pad, boxes[:, 2:] + pad
            hits += int(((uv[:, None] >= low) & (uv[:, None] <= high)).all(-1).any(-1).sum())
        out[cam.name] = hits / seen if seen else float("nan")
    return out


def nobody_in_view_note(agreement: dict[str, float]) -> str:
    """The warning when no annotated person projects into any camera (two_d_agreement NaN
    everywhere): the ground truth and the calibration are not of one frame and unit (a review:
    a ground truth in millimetres scored PCP 0 without a word); "" otherwise."""
    if agreement and all(np.isnan(share) for share in agreement.values()):
        return ("no annotated person projects into any camera's image: the ground truth is "
                "not in the calibration's frame and unit (millimetres? another sequence's "
                "calibration?)")
    return ""


def ground_truth_campus14(truth: GroundTruth, head_rule: str = PRED_HEADS[0]) -> np.ndarray:
    """(F, P, 14, 3) the ground truth in the protocol's Campus-14 joints: as annotated for
    Campus-14 / Shelf-15; for layouts without a head top (Panoptic-19) the head derived by
    `head_rule` (multiperson_metrics.PRED_HEADS; the predictions' rule: with another, head
    PCP measured the rules' difference, a review: 0.5 for 'ears' on exact 2D)."""
    if truth.layout.name in (CAMPUS14.name, SHELF15.name):
        return convert_joints(truth.points, truth.layout, CAMPUS14)
    return to_campus14(truth.points, truth.layout, truth.up, derivation=head_rule)


def run_sequence(sequence: MultiViewSequence, params: PipelineParams | None = None
                 ) -> Iterator[tuple[Skeletons3D, float, list[int]]]:
    """The pipeline (default SCORING_PARAMS) frame by frame on the sequence's 2D, as the fusion
    node runs it: per frame its skeletons, the seconds the 3D stages took, and the 2D people
    of each camera."""
    rig = sequence.rig
    pipeline = Pose3DPipeline(rig.names, {cam.name: cam for cam in rig}, frame_id=rig.frame_id,
                              params=params or SCORING_PARAMS)
    for f, found in enumerate(sequence.detections):
        found = {name: convert_detections(d, PIPELINE_LAYOUT) for name, d in found.items()}
        start = time.perf_counter()
        # stamped by frame number: the protocol's frames of Campus (350-470, 650-750) have a
        # gap, which the tracker must see as one (found by a review)
        result = pipeline.process_detections(found, stamp=float(sequence.frames[f]) / sequence.fps)
        yield (result.skeletons, time.perf_counter() - start,
               [d.num_people for d in found.values()])


def evaluate_sequence(sequence: MultiViewSequence, params: PipelineParams | None = None, *,
                      actors: Sequence[int] | None = None, match_distance_m: float = 0.5,
                      head_rule: str | None = None,
                      on_frame: Callable[[], None] | None = None) -> SequenceEvaluation:
    """Run the pipeline frame by frame on the sequence's 2D and score it (module docstring).

    params: the pipeline's settings (default: SCORING_PARAMS, the node's defaults with
    tracking but without One Euro smoothing, whose lag the protocol would count as error).

    actors: actor ids scored (default: every annotated actor; the skeletons matched to the
    others are neither scored nor ghosts, a second skeleton on one of them is a ghost but not
    a duplicate). head_rule: how the predictions'
    head ends are derived (multiperson_metrics.PRED_HEADS; default: the data set's,
    GroundTruth.head_rule). on_frame: called after each frame (progress). ValueError if the
    sequence has no ground truth or no 2D, or for an unknown head rule.
    """
    truth = sequence.ground_truth
    if truth is None:
        raise ValueError(f"sequence {sequence.name!r} has no ground truth to score against")
    rule = head_rule or truth.head_rule
    if rule not in PRED_HEADS:
        raise ValueError(f"head rule must be one of {PRED_HEADS}, got {rule!r}")
    if not any(sequence.detections):
        raise ValueError(f"sequence {sequence.name!r} has no 2D detections: give detection "
                         "files (OpenPose or COCO format)")
    if not truth.actor_ids.size or not np.isfinite(truth.points).all(-1).any():
        # (a review: "actors [] not in the ground truth (ids [])": a Panoptic sequence's
        # frames before anyone enters, say)
        raise ValueError(f"sequence {sequence.name!r}: nobody is annotated in its frames "
                         f"{int(sequence.frames[0])}..{int(sequence.frames[-1])}: choose "
                         "frames with people (--frames)")
    gt = ground_truth_campus14(truth, rule)
    keep = (np.ones(truth.actor_ids.size, bool) if actors is None
            else np.isin(truth.actor_ids, np.asarray(actors)))
    unknown = sorted(set(actors or ()) - set(truth.actor_ids.tolist()))
    if unknown or not keep.any():
        # (a review: --actors 0,9 scored actor 0 alone as if it were what was asked)
        raise ValueError(f"actors {unknown or list(actors or [])} not in the ground truth "
                         f"(ids {truth.actor_ids.tolist()})")
    preds: list[np.ndarray] = []
    pred_ids: list[np.ndarray] = []
    gts: list[np.ndarray] = []
    gt_ids: list[np.ndarray] = []
    times: list[float] = []
    counts: list[int] = []
    for f, (skeletons, seconds, people_2d) in enumerate(run_sequence(sequence, params)):
        counts.extend(people_2d)
        times.append(seconds)
        people = to_campus14(skeletons.positions, skeletons.layout, truth.up, derivation=rule)
        ids = skeletons.ids
        annotated = np.isfinite(gt[f]).all(-1).any(-1)
        present = keep & annotated
        unscored = gt[f][annotated & ~keep]
        if len(unscored) and len(people):
            # the people of actors left out (--actors) are neither scored nor ghosts (found by
            # a review: Shelf's actor 3 counted as 33 ghosts with --actors 0,1,2)
            everyone = np.concatenate([gt[f][present], unscored])
            pairs = match_people([people], [everyone], max_distance=match_distance_m,
                                 missing_cost=match_distance_m).pairs[0]
            theirs = pairs[pairs[:, 1] >= int(present.sum()), 0]
            mine = np.setdiff1d(np.arange(len(people)), theirs)
            people, ids = people[mine], ids[mine]
        preds.append(people)
        pred_ids.append(ids)
        gts.append(gt[f][present])
        gt_ids.append(truth.actor_ids[present])
        if on_frame is not None:
            on_frame()
    # without tracking the ids number each frame's people anew (pipeline.untracked_ids): no
    # identities to keep from frame to frame (CLEAR-MOT's matching) nor switches to count
    tracked = (params or SCORING_PARAMS).tracking is not None
    score = score_multiperson(preds, gts, gt_ids=gt_ids,
                              pred_ids=pred_ids if tracked else None,
                              match_distance_m=match_distance_m)
    ms = 1000.0 * np.asarray(times)
    return SequenceEvaluation(sequence.name, score, len(sequence.detections),
                              tuple(sequence.rig.names), float(np.mean(counts)) if counts else 0.0,
                              (float(np.median(ms)), float(np.percentile(ms, 90))),
                              two_d_agreement(sequence), rule)
