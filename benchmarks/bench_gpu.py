"""BlazePose on onnxruntime with GPU execution providers: 1, 4 and 8 cameras of 1080p video.

    python benchmarks/bench_gpu.py [--providers TensorrtExecutionProvider CUDAExecutionProvider]
        [--cameras 1 4 8] [--repeats 60] [--budget-s 420]
        [--cudnn-search EXHAUSTIVE HEURISTIC DEFAULT]     # CUDA: one row per cuDNN search
        [--pad-batches auto off]          # batches padded and run at start (auto: on a GPU)
        [--first-calls 1 2 3 4 8 16]      # first call with each batch size vs the second

For each execution provider (one at a time, CPU as the session's fallback for unsupported
nodes) and each camera count, three configurations of `blazepose_onnx` take turns frame set by
frame set on real 1080x1920 frames of the demo recording (cameras 5-8 repeat cameras 1-4):
  before   detector on every view of every frame (main before #13, `track=False`);
  now      ROI tracking, detector on one view every 10 frames (the default);
  floor    landmark model only, ROIs from the previous frame, crops batched.
Printed: the providers the sessions really use, ms per frame set (median / p90 / p99), frame
sets per second, the ratio to the floor, the three slowest calls of `now` (which timed set, ms,
people found, views the detector ran on) and the batch sizes its two models first met after the
warm-up (on a GPU such a first call also picks its kernels) with the time the models' own
start-up spent running their padded batch sizes (`OnnxModel(pad_batches=...)`: on a GPU by
default, so that no new number of people meets a cold kernel; `off` is the code before); then
the first call of each model with each batch size of --first-calls against the second, on
fresh sessions; then, per GPU
provider, how far its 2D is from the CPU's on the same frames (the stateless `before`
configuration on the four real cameras; people matched as compare_detector_outputs.py does: per-
joint pixel difference median / p95 / max, people found on one side only). The first calls
(TensorRT builds its engines then; they are cached next to the models) are warm-up and not
timed; the whole run stops adding rows once --budget-s is spent (default 7 minutes, so the
script ends in under 8). It runs on a machine without a GPU too: `--providers
CPUExecutionProvider`. It needs the converted models (`python -m
pose3d_ros.tools.convert_blazepose_onnx`, as scripts/test.sh runs it): without them, or
without a usable provider, it says so in one line and exits 2.

The live node on a GPU machine that has ROS: `python benchmarks/bench_node.py --live-only
--detectors blazepose_onnx --cameras 1 2 4` (the node's `detector_providers` default, auto,
takes TensorRT or CUDA where they start; the demo has 4 cameras).
"""
from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compare_detector_outputs import joint_differences  # noqa: E402

from pose3d_ros.core.detection import create_detector  # noqa: E402
from pose3d_ros.core.detection.cache import stack_detections  # noqa: E402
from pose3d_ros.core.detection.onnx_session import (  # noqa: E402
    CUDNN_CONV_ALGO_SEARCHES,
    PROVIDER_NAMES,
    usable_providers,
)
from pose3d_ros.core.output_files import int_at_least  # noqa: E402
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


PAD_CHOICES = {"auto": None, "on": True, "off": False}


def run_row(provider: str, sets: list[list[np.ndarray]], repeats: int,
            cudnn_search: str = "EXHAUSTIVE", pad: str = "auto") -> dict:
    """Time the three configurations taking turns on `repeats` frame sets; also the slowest
    calls of `now` (index among the timed sets, ms, people found, views the detector ran on)."""
    providers = [provider] if provider == "CPUExecutionProvider" else [provider,
                                                                      "CPUExecutionProvider"]
    common = dict(providers=providers, cudnn_conv_algo_search=cudnn_search,
                  pad_batches=PAD_CHOICES[pad])
    configs = {"before": create_detector("blazepose_onnx", track=False, **common),
               "now": create_detector("blazepose_onnx", **common),
               "floor": create_detector("blazepose_onnx", redetect_every=10 ** 9, **common)}
    used = configs["now"]._landmarker.model.providers  # what the session really runs on
    batches = ping_pong(sets, repeats + 3)
    times: dict[str, list[float]] = {k: [] for k in configs}
    calls = []
    for batch in batches[:3]:  # warm-up: engine builds, first allocations
        for detector in configs.values():
            detector.detect(batch)
    models = {"detector": configs["now"]._detector.model,
              "landmarks": configs["now"]._landmarker.model}
    warmed = {role: set(model.batch_sizes_seen) for role, model in models.items()}
    for index, batch in enumerate(batches[3:]):
        for name, detector in configs.items():
            start = time.perf_counter()
            found = detector.detect(batch)
            elapsed = (time.perf_counter() - start) * 1000
            if name != "floor" or detector.last_detector_views == 0:
                times[name].append(elapsed)
            if name == "now":
                calls.append((elapsed, index, sum(d.num_people for d in found),
                              detector.last_detector_views))
    first_met = "; ".join(f"{role} {sorted(model.batch_sizes_seen - warmed[role])}"
                          for role, model in models.items()
                          if model.batch_sizes_seen - warmed[role]) or "none"
    started = "; ".join(f"{role} {sum(model.warm_up_ms.values()) / 1000:.1f} s"
                        for role, model in models.items() if model.warm_up_ms)
    first_met += f" (sizes run at start: {started})" if started else ""
    for detector in configs.values():
        detector.close()
    return {"used": used, "times": {k: np.array(v) for k, v in times.items()},
            "slowest": sorted(calls, reverse=True)[:3], "first_met": first_met}


def first_call_costs(provider: str, search: str, sizes: tuple[int, ...],
                     pad: str = "auto") -> list[str]:
    """Table rows: for each model of the back-end, on a fresh session, the first call with
    each batch size against the second call with it (ms): what a new number of people or
    views costs once on this provider (cuDNN's algorithm search on CUDA); with padding, after
    the session's own start-up has run the padded sizes."""
    from pose3d_ros.core.detection.blazepose_onnx import (
        DETECTOR_ONNX,
        LANDMARK_ONNX,
        default_model_dir,
    )
    from pose3d_ros.core.detection.onnx_session import OnnxModel
    rows = []
    providers = list(dict.fromkeys([provider, "CPUExecutionProvider"]))
    for name, role in ((DETECTOR_ONNX, "detector"), (LANDMARK_ONNX, "landmarks")):
        model = OnnxModel(default_model_dir() / name, role=role, providers=providers,
                          cudnn_conv_algo_search=search, pad_batches=PAD_CHOICES[pad])
        shape = model.input_shape[1:]
        cells = []
        for size in sizes:
            batch = np.zeros((size, *shape), np.float32)
            spent = []
            for _ in range(2):
                start = time.perf_counter()
                model.run(batch)
                spent.append((time.perf_counter() - start) * 1000)
            cells.append(f"{size}: {spent[0]:.0f} / {spent[1]:.1f}")
        model.close()
        label = search if provider == "CUDAExecutionProvider" else "-"
        rows.append(f"| {provider} | {label} | {pad} | {role} | {'; '.join(cells)} |")
    return rows


def agreement_with_cpu(provider: str, sets: list[list[np.ndarray]]) -> str:
    """One table row: the 2D of `provider` against the CPU's on the same frames (detector on
    every view, no tracking state, so both sides see the same crops)."""
    per_side = []
    for providers in ([provider, "CPUExecutionProvider"], ["CPUExecutionProvider"]):
        detector = create_detector("blazepose_onnx", providers=providers, track=False)
        per_frame = [detector.detect(batch) for batch in sets]  # (F sets) x (V views)
        detector.close()
        per_side.append(per_frame)
    diffs, only_gpu, only_cpu = [], 0, 0
    for view in range(len(sets[0])):
        stacked = [stack_detections([frame[view] for frame in side], side[0][view].layout,
                                    side[0][view].image_size) for side in per_side]
        d, a, b = joint_differences(stacked[1], stacked[0])
        diffs.append(d)
        only_cpu, only_gpu = only_cpu + a, only_gpu + b
    d = np.concatenate(diffs)
    cells = " / ".join(f"{v:.2f}" for v in (np.median(d), np.percentile(d, 95), d.max())) \
        if d.size else "- / - / -"
    return (f"| {provider} | {len(sets)} x {len(sets[0])} | {d.size} | {cells} | {only_gpu} | "
            f"{only_cpu} |")


def table_row(provider: str, search: str, pad: str, cameras: int, row: dict) -> str:
    t = row["times"]

    def cell(values: np.ndarray) -> str:
        return " / ".join(f"{np.percentile(values, q):.1f}" for q in (50, 90, 99))

    now, before = np.median(t["now"]), np.median(t["before"])
    floor = np.median(t["floor"]) if len(t["floor"]) else float("nan")
    used = ", ".join(p.replace("ExecutionProvider", "") for p in row["used"])
    slowest = ", ".join(f"{i} {ms:.0f} ({people}, {views})" for ms, i, people, views
                        in row["slowest"])
    return (f"| {provider} | {used} | {search} | {pad} | {cameras} | {cell(t['before'])} | "
            f"{cell(t['now'])} | {1000 / now:.1f} | {floor:.1f} | {now / floor:.2f} | "
            f"{before / now:.2f} | {slowest} | {row['first_met']} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", nargs="+", default=list(DEFAULT_PROVIDERS),
                        type=lambda name: PROVIDER_NAMES.get(name, name),
                        choices=list(PROVIDER_NAMES.values()),
                        help="onnxruntime execution providers, one row each (also the nodes' "
                        f"short names {list(PROVIDER_NAMES)})")
    parser.add_argument("--cameras", type=int_at_least(1), nargs="+", default=[1, 4, 8])
    parser.add_argument("--cudnn-search", nargs="+", default=["EXHAUSTIVE"],
                        choices=list(CUDNN_CONV_ALGO_SEARCHES),
                        help="the CUDA provider's cuDNN algorithm search, one row each")
    parser.add_argument("--pad-batches", nargs="+", default=["auto"],
                        choices=list(PAD_CHOICES),
                        help="batches padded to a few sizes run at start (auto: on a GPU; "
                        "off: each batch as it is, the code before), one row each")
    parser.add_argument("--repeats", type=int_at_least(1), default=60,
                        help="timed frame sets per row")
    parser.add_argument("--first-calls", type=int_at_least(1), nargs="*",
                        default=[1, 2, 3, 4, 8, 16],
                        help="batch sizes whose first call is timed against the second, per "
                        "model on a fresh session (none: skip that table)")
    parser.add_argument("--distinct-frames", type=int_at_least(1), default=20)
    parser.add_argument("--budget-s", type=float, default=420.0,
                        help="stop adding rows after this many seconds")
    args = parser.parse_args(argv)
    if not usable_providers() & set(args.providers):
        # (a review: on a machine without a GPU every row said 'not usable', the CPU's first
        # calls were timed anyway, and the script ended with 0 as if it had measured a GPU)
        print(f"bench_gpu.py: none of {args.providers} is usable on this machine (usable: "
              f"{sorted(usable_providers())}: no GPU, or onnxruntime-gpu and its CUDA/TensorRT "
              "libraries missing; docs/detectors.md); without a GPU run it with --providers "
              "CPUExecutionProvider", file=sys.stderr)
        return 2
    from pose3d_ros.core.detection.blazepose_onnx import missing_models
    if missing := missing_models():
        # (a traceback here once; then a table row saying 'not run' and exit 0, as if it had
        # measured: a review)
        print(f"bench_gpu.py: {missing}", file=sys.stderr)
        return 2
    started = time.monotonic()
    load = os.getloadavg()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.1f}; providers usable here: "
          f"{sorted(usable_providers())}")
    print("| provider asked | sessions run on | cuDNN search | padded batches | cameras | before "
          "ms (median / p90 "
          "/ p99) | now ms (median / p90 / p99) | now Hz | floor ms (median) | now / floor | "
          "before / now | now's slowest calls: set ms (people, detector views) | now's batch "
          "sizes first met after the warm-up |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    frames = read_sets(args.distinct_frames, max(args.cameras))
    for provider in args.providers:
        if provider not in usable_providers():
            print(f"| {provider} | not usable on this machine | - | - | - | - | - | - | - | - "
                  "| - | - | - |")
            continue
        searches = args.cudnn_search if provider == "CUDAExecutionProvider" else ["-"]
        for search, pad, cameras in itertools.product(searches, args.pad_batches,
                                                      args.cameras):
            if time.monotonic() - started > args.budget_s:
                print(f"| {provider} | skipped: time budget spent | {search} | {pad} | "
                      f"{cameras} | - | - | - | - | - | - | - | - |")
                continue
            row = run_row(provider, [s[:cameras] for s in frames], args.repeats,
                          search if search != "-" else "EXHAUSTIVE", pad)
            print(table_row(provider, search, pad, cameras, row), flush=True)
    gpu = [p for p in args.providers if p != "CPUExecutionProvider" and p in usable_providers()]
    if args.first_calls and time.monotonic() - started > args.budget_s:
        print("\n# first calls per batch size: skipped, time budget spent")
    elif args.first_calls:
        print("\n| provider | cuDNN search | padded batches | model | batch size: first call ms / "
              "second call ms |")
        print("|---|---|---|---|---|")
        for provider in gpu or ["CPUExecutionProvider"]:
            searches = args.cudnn_search if provider == "CUDAExecutionProvider" else ["-"]
            for search, pad in itertools.product(searches, args.pad_batches):
                for row in first_call_costs(provider, search if search != "-" else "EXHAUSTIVE",
                                            tuple(args.first_calls), pad):
                    print(row, flush=True)
    if gpu and time.monotonic() - started > args.budget_s:
        print("\n# 2D against the CPU's: skipped, time budget spent")
    elif gpu:
        print("\n| provider | frame sets x views | joints compared | px vs CPU (median / p95 / "
              "max) | people on it only | people on CPU only |")
        print("|---|---|---|---|---|---|")
        for provider in gpu:
            print(agreement_with_cpu(provider, [s[:4] for s in frames]), flush=True)
    print(f"# total {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
