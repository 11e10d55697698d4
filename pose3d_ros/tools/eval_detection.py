"""Evaluate the BlazePose back-ends on the demo recordings: detection rate per camera and
pixel agreement between paths.

    python -m pose3d_ros.tools.eval_detection [--recordings single multi]
        [--detectors blazepose blazepose_multi blazepose_onnx] [--max-frames N] [--json FILE]

Detection rate: the fraction of frames where a camera reports at least one person (and the
mean number of people). Agreement between two paths: in each frame and camera, the people of
the first path are matched one-to-one to those of the second (core.metrics.match_people:
Hungarian on the mean joint distance); the per-joint pixel distances of matched pairs are
summarised (median, 90th percentile) over all frames. Detections come from (and go to) the
cache of pose3d_ros.core.detection.cache. The arguments are checked first; an existing --json is
refused unless --overwrite, and it is written under a temporary name and moved in when complete.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.detection import DETECTOR_NAMES, ONNX_MODEL_DETECTORS
from ..core.detection.base import ignore_all_nan_warnings
from ..core.metrics import match_people
from ..core.output_files import (
    UserError,
    add_common_arguments,
    int_at_least,
    json_text,
    progress,
    refuse_existing,
    run_cli,
    staged_output,
)

if TYPE_CHECKING:
    from tqdm import tqdm

    from ..core.detection.cache import VideoDetections

log = logging.getLogger(__name__)


def matched_joint_distances(first: VideoDetections, second: VideoDetections) -> np.ndarray:
    """Per-joint pixel distances (M, J) of the people of `first` matched to `second`.

    first, second: VideoDetections of one camera over the same frames and joint layout; in
    each frame the people are matched one-to-one (metrics.match_people: Hungarian on the mean
    joint distance, no limit), M pairs in all, by frame and then by person of `first`.
    """
    matching = match_people(list(first.keypoints), list(second.keypoints), max_distance=np.inf)
    per_frame = [np.linalg.norm(a[pairs[:, 0]] - b[pairs[:, 1]], axis=-1)
                 for a, b, pairs in zip(first.keypoints, second.keypoints, matching.pairs,
                                        strict=True)]
    return np.concatenate(per_frame) if per_frame else np.zeros((0, first.keypoints.shape[2]))


def evaluate(recordings: list[str], detectors: list[str], max_frames: int | None,
             bar: tqdm | None = None) -> dict:
    """The report of every recording and detector; `bar` (optional) advances once per
    recording and detector."""
    from ..core.data_paths import video_paths
    from ..core.detection.cache import detect_video_set
    report: dict = {}
    for recording in recordings:
        paths = video_paths(recording)
        results = {}
        for name in detectors:
            results[name] = detect_video_set(paths, name, max_frames=max_frames)
            if bar is not None:
                bar.update()
        rates = {name: [{"camera": p.stem, "frames": int(len(v.num_people)),
                         "detection_rate": v.detection_rate,
                         "mean_people": float(v.num_people.mean())}
                        for p, v in zip(paths, per_camera, strict=True)]
                 for name, per_camera in results.items()}
        agreement = {}
        for i, first in enumerate(detectors):
            for second in detectors[i + 1:]:
                rows = []
                for p, a, b in zip(paths, results[first], results[second], strict=True):
                    frames = min(len(a.num_people), len(b.num_people))
                    a.keypoints, b.keypoints = a.keypoints[:frames], b.keypoints[:frames]
                    dist = matched_joint_distances(a, b)
                    with ignore_all_nan_warnings():
                        rows.append({
                            "camera": p.stem, "matched_people": int(len(dist)),
                            "median_px": float(np.nanmedian(dist)) if dist.size else None,
                            "p90_px": float(np.nanpercentile(dist, 90)) if dist.size else None,
                            "per_joint_median_px": np.nanmedian(dist, axis=0).round(2).tolist()
                            if dist.size else None})
                agreement[f"{first} vs {second}"] = rows
        report[recording] = {"detection": rates, "agreement": agreement}
    return report


def to_markdown(report: dict) -> str:
    lines = []
    for recording, part in report.items():
        lines.append(f"### Recording `{recording}`\n")
        lines.append("| detector | camera | frames | detection rate | mean people |")
        lines.append("| --- | --- | --- | --- | --- |")
        for name, rows in part["detection"].items():
            for row in rows:
                lines.append(f"| {name} | {row['camera']} | {row['frames']} | "
                             f"{row['detection_rate']:.2f} | {row['mean_people']:.2f} |")
        lines.append("")
        lines.append("| paths compared | camera | matched people | median px | p90 px |")
        lines.append("| --- | --- | --- | --- | --- |")
        for pair, rows in part["agreement"].items():
            for row in rows:
                med = "-" if row["median_px"] is None else f"{row['median_px']:.2f}"
                p90 = "-" if row["p90_px"] is None else f"{row['p90_px']:.2f}"
                lines.append(f"| {pair} | {row['camera']} | {row['matched_people']} | {med} | "
                             f"{p90} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--recordings", nargs="+", default=["single", "multi"],
                        help="demo recordings to score on (single, multi)")
    parser.add_argument("--detectors", nargs="+", default=None,
                        help="back-ends to compare (default: blazepose, blazepose_multi, and "
                             "blazepose_onnx when its converted models are there)")
    parser.add_argument("--max-frames", type=int_at_least(1), default=None,
                        help="only the first N frames of each recording (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="also write the full report "
                        "(an existing file only with --overwrite)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    check_arguments(args)
    with progress(len(args.recordings) * len(args.detectors), "2D", unit="video set") as bar:
        report = evaluate(args.recordings, args.detectors, args.max_frames, bar)
    print(to_markdown(report))
    if args.json:
        with staged_output(args.json, args.overwrite) as temporary:
            temporary.write_text(json_text(report, indent=2))
    return 0


def check_arguments(args: argparse.Namespace) -> None:
    """Everything that needs no computation, before any detection."""
    from ..core.data_paths import RECORDINGS

    if args.json is not None:
        refuse_existing(args.json, args.overwrite, "report", folder=False)
    for recording in args.recordings:
        if recording not in RECORDINGS:
            raise UserError(f"unknown recording {recording!r}; known: {sorted(RECORDINGS)}")
    from ..core.detection.blazepose_onnx import missing_models

    missing = missing_models()
    if args.detectors is None:
        args.detectors = ["blazepose", "blazepose_multi"]
        if missing:
            log.info("blazepose_onnx left out: its models are not converted (%s)", missing)
        else:
            args.detectors.append("blazepose_onnx")
    elif "blazepose_onnx" in args.detectors and missing:
        raise UserError(missing)
    for name in args.detectors:
        if name not in DETECTOR_NAMES or name in ONNX_MODEL_DETECTORS:
            known = [d for d in DETECTOR_NAMES if d not in ONNX_MODEL_DETECTORS]
            raise UserError(f"unknown detector {name!r}; this tool compares the built-in "
                            f"back-ends: {known}")


if __name__ == "__main__":
    sys.exit(run_cli(main))
