"""Score the package's multi-view pipeline on a public data set in its own format: Campus or
Shelf (4D-association release, or actorsGT + VoxelPose calibration) and CMU Panoptic, with 2D
from the data set or from OpenPose / COCO keypoint files. Standard PCP (Campus/Shelf
protocol) per actor, MPJPE, ghosts, misses, id switches; formats in docs/datasets.md.

Usage:
  python -m pose3d_ros.tools.eval_dataset --format shelf DATA/Shelf --out results/shelf
  python -m pose3d_ros.tools.eval_dataset --format panoptic DATA/160422_ultimatum1 \\
      --cameras 00_03,00_06,00_12,00_13,00_23 --detections openpose op/00_03 ... op/00_23 \\
      --out results/ultimatum1
Writes <out>/evaluation.json (whole, or not at all).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from pose3d_ros.core.datasets import (
    DETECTION_FORMATS,
    attach_detections,
    evaluate_sequence,
    load_campus_shelf,
    load_panoptic,
)
from pose3d_ros.core.datasets.campus_shelf import published_pcp
from pose3d_ros.core.datasets.evaluation import LOW_AGREEMENT, nobody_in_view_note
from pose3d_ros.core.multiperson_metrics import PRED_HEADS
from pose3d_ros.core.output_files import (
    UserError,
    add_common_arguments,
    int_in,
    json_text,
    progress,
    refuse_existing,
    run_cli,
    staged_output,
)
from pose3d_ros.core.pipeline import PipelineParams

log = logging.getLogger(__name__)

FORMATS = ("shelf", "campus", "panoptic")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--format", required=True, choices=FORMATS, help="data set layout")
    parser.add_argument("directory", type=Path, help="the data set (sequence) directory")
    parser.add_argument("--detections", nargs="+", metavar="FORMAT_AND_PATHS",
                        help=f"2D files: a format ({', '.join(DETECTION_FORMATS)}) then one "
                        "path per camera in the rig's order (OpenPose: a directory of "
                        "per-frame JSON files; COCO: one JSON file)")
    # (bounded: a review's offset of 1e20 digits ended in a numpy OverflowError traceback)
    parser.add_argument("--detections-frame-offset", type=int_in(-10**9, 10**9), default=0,
                        metavar="N",
                        help="the 2D files number the data set's frame F as F + N (e.g. 300 "
                        "for OpenPose run on Shelf's images img_000300... with the "
                        "4D-association release, which numbers them from 0)")
    parser.add_argument("--cameras", default=None,
                        help="Panoptic: comma-separated camera names (default: the five HD "
                        "cameras of the literature when present)")
    parser.add_argument("--frames", default=None, metavar="FIRST:STOP",
                        help="frame numbers FIRST..STOP-1 of the data set to evaluate (default: "
                        "the protocol's for Campus/Shelf, every annotated frame for Panoptic)")
    parser.add_argument("--actors", default=None,
                        help="comma-separated actor ids to score (default: all annotated)")
    parser.add_argument("--head", choices=PRED_HEADS, default=None,
                        help="how the predictions' head ends are derived for PCP: from the "
                        "nose, the ears, or both blended (VoxelPose's Shelf evaluation); "
                        "default: the data set's (Shelf nose_ears, Campus and Panoptic nose)")
    parser.add_argument("--no-tracking", action="store_true",
                        help="score raw per-frame triangulation (no tracking, no ids)")
    parser.add_argument("--filtering", action="store_true",
                        help="also smooth with the nodes' One Euro filter (off by default: "
                        "its lag counts as error)")
    parser.add_argument("--max-ray-distance", type=float, default=None,
                        help="association gate, metres (default: the pipeline's)")
    parser.add_argument("--out", type=Path, default=Path("dataset_evaluation"),
                        help="output directory (gets evaluation.json)")
    add_common_arguments(parser)
    return parser.parse_args(argv)


def _ids(text: str | None, what: str) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--{what} must be comma-separated integers, got {text!r}") from None


def _frame_range(text: str | None) -> np.ndarray | None:
    if text is None:
        return None
    try:
        first, stop = (int(v) for v in text.split(":"))
    except ValueError:
        raise UserError(f"--frames must be FIRST:STOP (integers), got {text!r}") from None
    if stop <= first:
        raise UserError(f"--frames {text}: STOP must be greater than FIRST")
    return np.arange(first, stop)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the loaders' notes
    refuse_existing(args.out, args.overwrite, inputs=(args.directory,), folder=True)
    if args.filtering and args.no_tracking:   # (the filter was dropped without a word)
        raise UserError("--filtering smooths tracked people: it needs tracking (drop "
                        "--no-tracking)")
    if args.cameras and args.format != "panoptic":   # (it was ignored without a word)
        raise UserError(f"--cameras chooses Panoptic cameras; {args.format} uses all of its "
                        "calibration's cameras")
    if args.detections_frame_offset and not args.detections:
        # (a review: ignored without a word; the data set's own 2D has no offset)
        raise UserError("--detections-frame-offset numbers the files of --detections; the "
                        "data set's own 2D needs none")
    frames = _frame_range(args.frames)
    if args.format == "panoptic":
        cameras = args.cameras.split(",") if args.cameras else None
        sequence = load_panoptic(args.directory, cameras, frames)
    else:
        sequence = load_campus_shelf(args.directory, args.format, frames=frames)
    if args.detections:
        fmt, *paths = args.detections
        if fmt not in DETECTION_FORMATS:
            raise UserError(f"--detections starts with the format ({', '.join(DETECTION_FORMATS)}"
                            f"), got {fmt!r}")
        sequence = attach_detections(sequence, fmt, [Path(p) for p in paths],
                                     frame_offset=args.detections_frame_offset)
    options: dict = {"tracking": None} if args.no_tracking else {}
    if not args.filtering:
        options["filtering"] = None
    if args.max_ray_distance is not None:
        options["max_ray_distance_m"] = args.max_ray_distance
    params = PipelineParams(**options)
    actors = _ids(args.actors, "actors")
    with progress(len(sequence.frames), f"{args.format} {sequence.name}") as bar:
        result = evaluate_sequence(sequence, params, actors=actors,
                                   head_rule=args.head, on_frame=lambda: bar.update(1))
    if note := nobody_in_view_note(result.two_d_agreement):
        log.warning(note)
    for camera, share in result.two_d_agreement.items():
        if share < LOW_AGREEMENT:
            log.warning("camera %s: only %.0f %% of the annotated people in its view have a "
                        "detection where the ground truth projects: are its 2D files of these "
                        "frames (--detections-frame-offset) and of this camera (the rig's "
                        "order)?", camera, 100 * share)
    # Campus and Shelf papers give the mean over actors 0-2
    published = {} if args.format == "panoptic" else {
        "pcp_actors_0_2": published_pcp(result.score)}
    summary = result.to_dict() | published | {
        "format": args.format, "directory": str(args.directory),
        "detections": args.detections or "from the data set",
        "tracking": not args.no_tracking, "filtering": args.filtering,
        # what else changes the score (a review: a --frames 0:8 run and a 303:311 run could
        # not be told apart from their files)
        "frame_range": [int(sequence.frames[0]), int(sequence.frames[-1]) + 1]
        if len(sequence.frames) else None,
        "actors_requested": actors,
        "detections_frame_offset": args.detections_frame_offset,
        "max_ray_distance_m": params.max_ray_distance_m}
    if args.no_tracking:          # ids are per frame without tracking: no switches to count
        summary["id_switches"] = None
    with staged_output(args.out, args.overwrite) as out:
        out.mkdir(parents=True)
        (out / "evaluation.json").write_text(json_text(summary))
    for key in ("pcp", *published, "pcp_per_actor", "head_rule", "mpjpe_mm", "ghosts",
                "duplicates", "misses", "id_switches", "ms_per_frame_median"):
        value = summary[key]
        # (a review: every null read "ids per frame", e.g. an actor's PCP outside --actors)
        why = " (ids per frame)" if key == "id_switches" and args.no_tracking else ""
        print(f"{key:22s} {f'n/a{why}' if value is None else value}")
    print(f"json: {args.out / 'evaluation.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
