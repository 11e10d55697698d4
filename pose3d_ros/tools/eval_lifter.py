"""Evaluate monocular 3D (trained lifters, BlazePose world-landmark baseline) per camera on a
held-out multi-view recording, with its multi-view triangulation as the reference.

Root-relative metrics per camera (metres in that camera's frame, H36M-17): MPJPE, PA-MPJPE,
N-MPJPE, PSS@10 (Kocabas et al.'s score on a vocabulary of 10 k-means clusters of this
recording's reference poses of all cameras: the paper's PSS@50 / PSS@100 cluster Human3.6M,
so the figures compare between methods here, not with papers), plus the error
of the metric root placement (root_placement.place_in_camera, body-size prior of --height).

    python -m pose3d_ros.tools.eval_lifter --recording multi --multi-person \\
        --exclude-overlap single --model pose3d_ros/models/lifter_t27_causal.onnx \\
        --markdown results.md

(the shipped lifter was trained on `single`: scored there it is not held out, which the tool
says for any model whose metadata names the recording it is scored on).

The recordings and models are checked before any work; an existing --markdown is refused unless
--overwrite, and it is written under a temporary name and moved in when complete.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np

from pose3d_ros.core.body_model import DEFAULT_PERSON_HEIGHT_M
from pose3d_ros.core.output_files import (
    UserError,
    add_common_arguments,
    refuse_existing,
    run_cli,
    staged_output,
    unwritable_folder,
)

if TYPE_CHECKING:
    from pose3d_ros.core.lifting.dataset import PseudoLabels
    from pose3d_ros.core.lifting.root_placement import BodySizePrior
    from pose3d_ros.core.lifting.runtime import OnnxLifter

log = logging.getLogger(__name__)

BASELINE = "blazepose_world"   # BlazePose world landmarks (the detector_3d method)
PSS_K = 10                     # the PSS vocabulary: k-means of all cameras' reference poses
# core.metrics.pose_scores' figures -> this tool's columns
COLUMNS = {"MPJPE": "MPJPE mm", "PA-MPJPE": "PA-MPJPE mm", "N-MPJPE": "N-MPJPE mm",
           "PSS": f"PSS@{PSS_K}"}


def score_columns(pred: np.ndarray, ref: np.ndarray, centres: np.ndarray) -> dict[str, float]:
    """This tool's columns for root-relative (N, J, 3) predictions vs references: the frames
    core.metrics.scored_frames counts, scored by core.metrics.pose_scores, and their number."""
    from pose3d_ros.core import metrics

    keep = metrics.scored_frames(pred, ref)
    scores = metrics.pose_scores(pred[keep], ref[keep], centres)
    return {**{COLUMNS[name]: value for name, value in scores.items()},
            "frames": int(keep.sum())}


def lift_sequence(lifter: OnnxLifter, keypoints_px: np.ndarray, scores: np.ndarray,
                  K: np.ndarray, flip_average: bool = False) -> np.ndarray:
    """Run an OnnxLifter over a whole (F, J, 2) sequence: one window per frame (edges
    replicated, causal windows end at the frame, centred ones are centred). (F, J, 3)."""
    from pose3d_ros.core.lifting.training import window_indices

    idx = window_indices(keypoints_px.shape[0], lifter.window, lifter.metadata.causal)
    return lifter.lift(keypoints_px[idx], scores[idx], K, flip_average=flip_average)


def model_labels(models: list[Path]) -> list[str]:
    """The table's name of each model: its file name without suffix, with as many of its
    folders as tell it apart from the other models and the baseline (a/m1 and e/m1; a
    review: rows were keyed by the name alone and one model of two was dropped without a
    word). The models must be different files."""
    parts = [Path(m).resolve().with_suffix("").parts for m in models]
    depth = [1] * len(models)
    while True:
        labels = ["/".join(p[-d:]) for p, d in zip(parts, depth, strict=True)]
        clash = [i for i, label in enumerate(labels)
                 if (labels.count(label) > 1 or label == BASELINE) and depth[i] < len(parts[i])]
        if not clash:
            return labels
        for i in clash:
            depth[i] += 1


def evaluate_recording(recording: str, models: list[Path], cache_dir: Path, height_m: float,
                       refine: bool, flip: bool = False, multi_person: bool = False,
                       exclude_overlap: tuple[str, ...] = (),
                       prior_weight: float = 1.0, detector_depth: bool = False,
                       multi_person_cache_dir: Path | None = None) -> list[dict]:
    """Rows (camera, method, metrics...) for every camera of a recording.

    multi_person: evaluate every person of the recording (train_lifter's multi-person
    labels: blazepose_multi 2D and world landmarks, association, tracking); rows are then
    named <camera>/p<k>, their 2D cached in multi_person_cache_dir (None: the detection
    cache's own folder, as train_lifter's). exclude_overlap: recordings (e.g. the training
    one) whose footage a person must not share (core.lifting.labels.drop_overlapping). A
    camera is scored on the frames where it sees the person's root joint."""
    from pose3d_ros.core import metrics
    from pose3d_ros.core.lifting.dataset import world_to_camera
    from pose3d_ros.core.lifting.labels import (
        drop_overlapping,
        load_labels,
        load_multi_person_labels,
    )
    from pose3d_ros.core.lifting.root_placement import BodySizePrior
    from pose3d_ros.core.lifting.runtime import BlazePoseWorldLifter, OnnxLifter

    if multi_person:
        # (a review: --cache-dir was not passed here, the default folder always taken)
        people = load_multi_person_labels(recording, multi_person_cache_dir)
        triangulated = len(people)
        for other in exclude_overlap:
            people = drop_overlapping(people, load_labels(other, cache_dir),
                                      other, purpose="scored")
        if triangulated and not people:
            # (a review: "no person was triangulated" when --exclude-overlap had left them out)
            raise ValueError(f"recording {recording}: every person it triangulates "
                             f"({triangulated}) is the same footage as --exclude-overlap "
                             f"{', '.join(exclude_overlap)}: nobody is left to score")
    else:
        people = [load_labels(recording, cache_dir)]
    check_references(recording, people)
    centres = metrics.pose_clusters(np.concatenate([
        r - r[:, :1] for lab in people for r in
        (world_to_camera(c, lab.points_world) for c in lab.cameras)]), PSS_K)
    prior = (BodySizePrior(height_m=height_m, weight=prior_weight) if height_m
             else None)  # 0: the 3D's own size
    baseline = BlazePoseWorldLifter()
    methods: dict[str, Callable] = {   # the baseline first: lifters may take its depth
        BASELINE: lambda kp, sc, K, wl: baseline.lift_world(wl, "h36m17")}
    for path, label in zip(models, model_labels(models), strict=True):
        lifter = OnnxLifter(path)
        methods[label] = lambda kp, sc, K, wl, lf=lifter: lift_sequence(lf, kp, sc, K)
        if flip:
            methods[label + "+flip"] = (
                lambda kp, sc, K, wl, lf=lifter: lift_sequence(lf, kp, sc, K, True))
    rows = []
    for k, labels in enumerate(people):
        refs = [world_to_camera(c, labels.points_world) for c in labels.cameras]  # (F, J, 3)
        person = k if labels.person is None else labels.person   # the logs' number
        rows += _camera_rows(labels, refs, methods, centres, prior, refine,
                             f"/p{person}" if multi_person else "", detector_depth)
    return rows


def check_references(recording: str, people: list[PseudoLabels]) -> None:
    """ValueError when the recording's triangulated people give fewer complete reference poses
    (a frame with every joint triangulated, seen from each camera) than the PSS vocabulary's
    PSS_K, saying so; none: that no person was triangulated (a review: it read "PSS needs
    1 <= k <= number of complete reference poses (0)")."""
    complete = sum(int(np.isfinite(lab.points_world).all(axis=(1, 2)).sum()) * len(lab.cameras)
                   for lab in people)
    if complete == 0:
        raise ValueError(f"recording {recording}: no person was triangulated (no frame in which "
                         "two or more cameras agree on a person's 2D), so there is no reference "
                         "3D to score against")
    if complete < PSS_K:
        raise ValueError(f"recording {recording}: only {complete} complete reference poses "
                         "(frames with every joint triangulated, times the cameras), fewer than "
                         f"the {PSS_K} of the PSS pose vocabulary; score a longer recording")


def _camera_rows(labels: PseudoLabels, refs: list[np.ndarray],
                 methods: Mapping[str, Callable[..., np.ndarray]],
                 centres: np.ndarray, prior: BodySizePrior | None,
                 refine: bool, suffix: str, detector_depth: bool = False) -> list[dict]:
    """Rows of every camera and method; detector_depth: also each lifter placed at the depth
    of the BlazePose world landmarks' placement (monocular.at_depth_of, the node's
    'lifter' method with a BlazePose back-end; each frame scaled by its own factor: the node
    also sizes the body by its track's median factor, as it keeps the track's bone lengths,
    which this per-frame evaluation does neither of). The baseline must come first in methods;
    centres: the PSS vocabulary."""
    from pose3d_ros.core.lifting.dataset import undistort_pixels
    from pose3d_ros.core.lifting.normalization import pixels_to_normalised
    from pose3d_ros.core.lifting.refine import refine_relative_to_2d
    from pose3d_ros.core.lifting.root_placement import place_in_camera
    from pose3d_ros.core.monocular import at_depth_of

    rows = []
    for v, cam in enumerate(labels.cameras):
        kp = undistort_pixels(cam, labels.keypoints[v])
        sc = labels.scores[v]
        norm = pixels_to_normalised(kp, cam.K)
        seen = np.isfinite(kp[:, 0]).all(-1)          # the camera sees the person's root
        ref_rel = refs[v] - refs[v][:, :1]
        detector_placed = None
        for name, fn in methods.items():
            pred = np.where(seen[:, None, None], fn(kp, sc, cam.K, labels.world_baseline[v]),
                            np.nan)
            placed, _ = place_in_camera(pred, norm, sc, prior=prior)
            variants = {name: placed}        # scored root-relative at the method's own size
            relative = {name: pred}
            if name == BASELINE:
                detector_placed = placed
            elif detector_depth and detector_placed is not None:
                variants[name + "+detector depth"] = at_depth_of(placed, detector_placed)
            if refine:        # as the nodes do (monocular_refine_to_2d), then placed again
                relative[name + "+refine"] = refine_relative_to_2d(pred, norm, sc)
                variants[name + "+refine"], _ = place_in_camera(relative[name + "+refine"],
                                                                norm, sc, prior=prior)
            for variant, p in variants.items():
                row = {"camera": getattr(cam, "name", str(v)) + suffix, "method": variant,
                       **score_columns(relative.get(variant, p - p[:, :1]), ref_rel, centres)}
                err = np.linalg.norm(p[:, 0] - refs[v][:, 0], axis=-1)
                row["root err m (median)"] = float(np.nanmedian(err))
                depth_err = np.abs(p[:, 0, 2] - refs[v][:, 0, 2])
                row["pelvis depth err m (median)"] = float(np.nanmedian(depth_err))
                rows.append(row)
    return rows


def _fmt(key: str, value: object) -> str:
    if not isinstance(value, float):
        return "" if value is None else str(value)
    return f"{value:.3f}" if ("PSS" in key or " m " in key) else f"{value:.1f}"


def to_markdown(rows: list[dict]) -> str:
    keys = [k for k in rows[0] if k not in ("camera", "method")]
    extra = sorted({k for r in rows for k in r} - set(keys) - {"camera", "method"})
    keys += extra
    lines = ["| camera | method | " + " | ".join(keys) + " |",
             "|---|---|" + "---|" * len(keys)]
    for r in rows:
        cells = [_fmt(k, r.get(k)) for k in keys]
        lines.append(f"| {r['camera']} | {r['method']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summarise(rows: list[dict]) -> list[dict]:
    """Per method: "mean", the mean over its rows (cameras, or camera-person rows), each row
    counting once, its "frames" their total; and, where the rows hold different numbers of
    frames (--multi-person: a person seen by one camera in 41 frames, by the others in 97),
    "frame mean" too, each row weighted by its frames (a review: the row mean was called a
    mean over frames the cameras did not share)."""
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        sel = [r for r in rows if r["method"] == method]
        keys = [k for k in sel[0] if k not in ("camera", "method", "frames")]
        frames = np.array([r.get("frames", 0) for r in sel], np.float64)
        total = {"frames": float(frames.sum())} if "frames" in sel[0] else {}
        out.append({"camera": "mean", "method": method, **total,
                    **{k: float(np.mean([r[k] for r in sel if k in r])) for k in keys}})
        if total and np.ptp(frames) > 0:
            out.append({"camera": "frame mean", "method": method, **total, **{
                k: float(np.average([r[k] for r in sel if k in r],
                                    weights=[r.get("frames", 0) for r in sel if k in r]))
                for k in keys}})
    return out


def main(argv: list[str] | None = None) -> int:
    from pose3d_ros.core.data_paths import DATA_DIR_RULE, default_data_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", required=True, help="demo name or recording folder")
    parser.add_argument("--model", type=Path, action="append", default=[],
                        help="lifter .onnx (repeatable; its rows are named by its file name, with "
                             "its folders where two models share one); the baseline is "
                             "always evaluated")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="folder of the cached 2D detections (default: "
                             f"<data>/cache/lifter; <data>: {DATA_DIR_RULE}; with "
                             "--multi-person also of that back-end's 2D, else the detection "
                             "cache's own folder, as train_lifter)")
    parser.add_argument("--height", type=float, default=DEFAULT_PERSON_HEIGHT_M,
                        help="body-size prior for root placement, metres (0: place the 3D at "
                             "its own metric size, as the nodes do by default)")
    parser.add_argument("--prior-weight", type=float, default=1.0,
                        help="with --height: how far the 3D is scaled to the prior's size, in "
                             "log scale (1: the prior's size, 0.5: half way; BodySizePrior.weight)")
    parser.add_argument("--refine", action="store_true", help="also evaluate refine.py")
    parser.add_argument("--detector-depth", action="store_true",
                        help="also score each lifter placed at the depth of the BlazePose "
                             "world landmarks' placement (the node's lifter with a BlazePose "
                             "back-end, lifter_depth_from_detector)")
    parser.add_argument("--flip", action="store_true",
                        help="also evaluate lifters with left/right flip averaging")
    parser.add_argument("--multi-person", action="store_true",
                        help="evaluate every person of the recording (multi-person labels)")
    parser.add_argument("--exclude-overlap", action="append", default=[],
                        help="with --multi-person: leave out people whose motion is this "
                             "recording's (e.g. the training recording); repeatable")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table here (an "
                        "existing file only with --overwrite)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.exclude_overlap and not args.multi_person:
        parser.error("--exclude-overlap applies to --multi-person")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    check_arguments(args)
    cache = args.cache_dir or default_data_dir() / "cache" / "lifter"
    rows = evaluate_recording(args.recording, args.model, cache, args.height, args.refine,
                              prior_weight=args.prior_weight,
                              flip=args.flip, multi_person=args.multi_person,
                              exclude_overlap=tuple(args.exclude_overlap),
                              detector_depth=args.detector_depth,
                              multi_person_cache_dir=args.cache_dir)
    table = to_markdown(rows + summarise(rows))
    print(table)
    if args.markdown:
        with staged_output(args.markdown, args.overwrite) as temporary:
            temporary.write_text(table + "\n")
    return 0


def check_arguments(args: argparse.Namespace) -> None:
    """Everything that needs no computation: the output, the numbers, the models (loaded as
    the evaluation loads them) and recordings; before the 2D of the recordings (found by a
    review: --height -1 or a model that is no lifter were told after 20 s of it)."""
    from pose3d_ros.core.lifting.labels import check_recording, trained_on_scored_footage
    from pose3d_ros.core.lifting.root_placement import BodySizePrior
    from pose3d_ros.core.lifting.runtime import OnnxLifter

    if args.markdown is not None:
        refuse_existing(args.markdown, args.overwrite, "table", folder=False,
                        inputs=[*args.model, args.cache_dir])
    if args.cache_dir is not None and args.cache_dir.exists() and not args.cache_dir.is_dir():
        raise UserError(f"--cache-dir {args.cache_dir} is a file; give a folder (it is "
                        "created if missing)")
    if args.cache_dir is not None and (problem := unwritable_folder(args.cache_dir)):
        # (a review: told as a bare errno after the 2D, where train_lifter refuses it at once)
        raise UserError(f"--cache-dir {args.cache_dir} cannot be written: {problem}")
    try:        # the prior evaluate_recording makes (--height 0: the 3D's own size, none)
        if args.height != 0:
            BodySizePrior(height_m=args.height)
    except ValueError as err:
        raise UserError(f"--height: {err}") from None
    try:
        BodySizePrior(weight=args.prior_weight)
    except ValueError as err:
        raise UserError(f"--prior-weight: {err}") from None
    if args.height == 0 and args.prior_weight != 1.0:    # (it was taken and not used)
        raise UserError("--prior-weight scales towards the --height prior; --height 0 has none")
    given = [model.resolve() for model in args.model]
    if twice := sorted({str(m) for m in args.model if given.count(m.resolve()) > 1}):
        raise UserError(f"--model {twice[0]} is given twice; give each model once")
    for model in args.model:
        if not model.is_file():
            raise UserError(f"--model {model} " + ("is a folder, not a lifter .onnx"
                                                  if model.is_dir() else "does not exist"))
        try:
            OnnxLifter(model)
        except ValueError as err:
            raise UserError(f"--model: {err}") from None
    for recording in [args.recording, *args.exclude_overlap]:
        check_recording(recording)
    for model in args.model:
        if seen := trained_on_scored_footage(model, args.recording, args.exclude_overlap):
            log.warning("--model %s was trained on %s (its metadata): its figures on %s are "
                        "not held out", model, seen, args.recording)


if __name__ == "__main__":
    sys.exit(run_cli(main))
