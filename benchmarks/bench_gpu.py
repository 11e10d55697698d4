"""BlazePose on onnxruntime with GPU execution providers: 1, 4 and 8 cameras of 1080p video.

    python benchmarks/bench_gpu.py [--providers TensorrtExecutionProvider CUDAExecutionProvider]
        [--cameras 1 4 8] [--repeats 60] [--budget-s 420]

For each execution provider (one at a time, CPU as the session's fallback for unsupported
nodes) and each camera count, three configurations of `blazepose_onnx` take turns frame set by
frame set on real 1080x1920 frames of the demo recording (cameras 5-8 repeat cameras 1-4):
  before   detector on every view of every frame (main before #13, `track=False`);
  now      ROI tracking, detector on one view every 10 frames (the default);
  floor    landmark model only, ROIs from the previous frame, crops batched.
Printed: the providers the sessions really use, ms per frame set (median / p90 / p99), frame
sets per second, the ratio to the floor. The first calls (TensorRT builds its engines then; they
are cached next to the models) are warm-up and not timed; the whole run stops adding rows once
--budget-s is spent (default 7 minutes, so the script ends in under 8). It runs on a machine
without a GPU too: `--providers CPUExecutionProvider`.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose3d_ros.core.detection import create_detector  # noqa: E402
from pose3d_ros.core.detection.onnx_session import usable_providers  # noqa: E402
from pose3d_ros.tools.fetch_demo import video_paths  # noqa: E402

DEFAULT_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def read_sets(count: int, cameras: int) -> list[list[np.ndarray]]:
    """`count` frame sets of `cameras` 1080x1920 frames (demo cameras repeated past 4)."""
    paths = video_paths("multi")
    captures = [cv2.VideoCapture(str(p)) for p in paths]
    sets = []
    for _ in range(count):
        frames = [c.read()[1] for c in captures]
        if any(f is None for f in frames):
            break
        sets.append([frames[k % len(frames)] for k in range(cameras)])
    for capture in captures:
        capture.release()
    return sets


def ping_pong(sets: list, count: int) -> list:
    cycle = sets + sets[-2:0:-1] if len(sets) > 1 else sets
    return [cycle[i % len(cycle)] for i in range(count)]


def run_row(provider: str, sets: list[list[np.ndarray]], repeats: int) -> dict:
    """Time the three configurations taking turns on `repeats` frame sets."""
    providers = [provider] if provider == "CPUExecutionProvider" else [provider,
                                                                      "CPUExecutionProvider"]
    configs = {"before": create_detector("blazepose_onnx", providers=providers, track=False),
               "now": create_detector("blazepose_onnx", providers=providers),
               "floor": create_detector("blazepose_onnx", providers=providers,
                                        redetect_every=10 ** 9)}
    used = configs["now"]._landmarker.model.providers  # what the session really runs on
    batches = ping_pong(sets, repeats + 3)
    times: dict[str, list[float]] = {k: [] for k in configs}
    for batch in batches[:3]:  # warm-up: engine builds, first allocations
        for detector in configs.values():
            detector.detect(batch)
    for batch in batches[3:]:
        for name, detector in configs.items():
            start = time.perf_counter()
            detector.detect(batch)
            elapsed = (time.perf_counter() - start) * 1000
            if name != "floor" or detector.last_detector_views == 0:
                times[name].append(elapsed)
    for detector in configs.values():
        detector.close()
    return {"used": used, "times": {k: np.array(v) for k, v in times.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", nargs="+", default=list(DEFAULT_PROVIDERS))
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--repeats", type=int, default=60, help="timed frame sets per row")
    parser.add_argument("--distinct-frames", type=int, default=20)
    parser.add_argument("--budget-s", type=float, default=420.0,
                        help="stop adding rows after this many seconds")
    args = parser.parse_args(argv)
    started = time.monotonic()
    load = os.getloadavg()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.1f}; providers usable here: "
          f"{sorted(usable_providers())}")
    print("| provider asked | sessions run on | cameras | before ms (median / p90 / p99) | "
          "now ms (median / p90 / p99) | now Hz | floor ms (median) | now / floor | "
          "before / now |")
    print("|---|---|---|---|---|---|---|---|---|")
    from pose3d_ros.core.detection.blazepose_onnx import missing_models
    if missing := missing_models():   # (a traceback here before: smoke run of every benchmark)
        print(f"| - | not run: {missing} | - | - | - | - | - | - | - |")
        return 0
    frames = read_sets(args.distinct_frames, max(args.cameras))
    for provider in args.providers:
        if provider not in usable_providers():
            print(f"| {provider} | not usable on this machine | - | - | - | - | - | - | - |")
            continue
        for cameras in args.cameras:
            if time.monotonic() - started > args.budget_s:
                print(f"| {provider} | skipped: time budget spent | {cameras} | - | - | - | - "
                      "| - | - |")
                continue
            row = run_row(provider, [s[:cameras] for s in frames], args.repeats)
            t = row["times"]

            def cell(values: np.ndarray) -> str:
                return " / ".join(f"{np.percentile(values, q):.1f}" for q in (50, 90, 99))

            now, before = np.median(t["now"]), np.median(t["before"])
            floor = np.median(t["floor"]) if len(t["floor"]) else float("nan")
            used = ", ".join(p.replace("ExecutionProvider", "") for p in row["used"])
            print(f"| {provider} | {used} | {cameras} | {cell(t['before'])} | {cell(t['now'])} | "
                  f"{1000 / now:.1f} | {floor:.1f} | {now / floor:.2f} | {before / now:.2f} |",
                  flush=True)
    print(f"# total {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
