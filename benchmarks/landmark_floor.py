"""The floor of BlazePose on these cores: the landmark model only, on ROIs tracked from the
previous frame, crops of all cameras batched, every core used (#13).

Measured with the package's own two-stage back-ends with the person detector pushed out of
the way (`redetect_every` larger than the run; the first call, which detects, is not timed):
what remains per call is the crops (cv2.warpAffine), the landmark model on the batch, and the
projection of the landmarks back to the image, plus well under a millisecond of bookkeeping.
The faster of LiteRT (XNNPACK, threads = cores) and onnxruntime (CPU, intra-op threads =
cores) is the floor.

The floor at the input's cadence (`period_s`): the same calls, each started one frame period
after the one before (a sleep fills the rest of the period), as a live node receives them. On
this VM a model that idles between frames runs slower than back to back (threads asleep,
caches cold): 1 camera at 30 fps, 10.1-10.5 ms median against 7.9-8.5 (2026-12-01). A node fed
at 30 fps pays that too, so its processing time is compared with both floors.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from pose3d_ros.core.detection import create_detector

FLOOR_BACKENDS = ("blazepose_multi", "blazepose_onnx")
FLOOR_OPTIONS = {"redetect_every": 10 ** 9}  # the person detector never runs after frame 0


def floor_detector(backend: str):
    """A two-stage back-end that, after its first call (a full search), runs the landmark
    model only: the person detector never runs again while a track holds."""
    return create_detector(backend, **FLOOR_OPTIONS)


@dataclass(frozen=True)
class FloorRun:
    """One run of the floor configuration: wall milliseconds of each call that ran no
    detector view, and the process's CPU milliseconds (every thread, model threads included,
    idle periods' spinning too) per call over all calls after the first."""
    times_ms: list[float]
    cpu_ms_per_call: float


def landmark_only_run(backend: str, sets: Sequence[Sequence[np.ndarray]],
                      period_s: float = 0.0) -> FloorRun:
    """The floor configuration of `backend` on frame sets 1.. with ROIs tracked from set 0;
    period_s > 0 starts each call one period (s) after the one before (the input's cadence),
    0 back to back."""
    detector = floor_detector(backend)
    try:
        detector.detect(sets[0])
        times = []
        cpu_start = time.process_time()
        for images in sets[1:]:
            start = time.perf_counter()
            detector.detect(images)
            spent = time.perf_counter() - start
            if detector.last_detector_views == 0:
                times.append(spent * 1000)
            if period_s > spent:
                time.sleep(period_s - spent)
        cpu_ms = (time.process_time() - cpu_start) * 1000 / max(len(sets) - 1, 1)
        return FloorRun(times, cpu_ms)
    finally:
        detector.close()


def floor_ms(sets: Sequence[Sequence[np.ndarray]], period_s: float = 0.0,
             backends: Sequence[str] = FLOOR_BACKENDS) -> tuple[float, str]:
    """(median ms per frame set, back-end) of the faster floor back-end of `backends`
    available here, its calls `period_s` apart (0: back to back)."""
    best = (float("inf"), "none")
    for backend in backends:
        try:
            times = landmark_only_run(backend, sets, period_s).times_ms
        except (FileNotFoundError, ImportError):
            continue
        if times and statistics.median(times) < best[0]:
            best = (statistics.median(times), backend)
    return best


def main(argv: list[str] | None = None) -> int:
    """The default back-end against its own floor, alternating set by set on demo frames."""
    import argparse
    import os
    import sys
    from pathlib import Path

    import cv2

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # this checkout's sources
    from pose3d_ros.core.data_paths import video_paths
    from pose3d_ros.core.detection import DEFAULT_DETECTOR

    parser = argparse.ArgumentParser(description="2D stage against the landmark-only floor, "
                                     "offline, the two alternating set by set")
    parser.add_argument("--recording", default="multi", choices=("single", "multi"))
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--sets", type=int, default=100)
    parser.add_argument("--detector", default=DEFAULT_DETECTOR)
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.1f}; {args.recording} recording, {args.sets} sets")
    print("| back-end | cameras | whole 2D stage ms (mean / median) | floor ms (mean / median) "
          "| whole / floor (means) |")
    print("|---|---|---|---|---|")
    paths = video_paths(args.recording)
    for count in args.cameras:
        captures = [cv2.VideoCapture(str(path)) for path in paths[:count]]
        sets = [[capture.read()[1] for capture in captures] for _ in range(args.sets)]
        for capture in captures:
            capture.release()
        if any(image is None for images in sets for image in images):
            raise SystemExit(f"the {args.recording} videos hold fewer than {args.sets} frames")
        whole, floor = create_detector(args.detector), floor_detector(args.detector)
        try:
            whole.detect(sets[0])
            floor.detect(sets[0])
            whole_ms, floor_times = [], []
            for images in sets[1:]:
                start = time.perf_counter()
                whole.detect(images)
                whole_ms.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                floor.detect(images)
                floor_times.append((time.perf_counter() - start) * 1000)
        finally:
            whole.close()
            floor.close()
        print(f"| {args.detector} | {count} | {statistics.mean(whole_ms):.1f} / "
              f"{statistics.median(whole_ms):.1f} | {statistics.mean(floor_times):.1f} / "
              f"{statistics.median(floor_times):.1f} | "
              f"{statistics.mean(whole_ms) / statistics.mean(floor_times):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
