"""Throughput of the evaluation tools: metrics, bag writing/reading, replay over DDS.

Prints a markdown table. Real demo frames for the bag and replay rows.
Usage: python benchmarks/bench_evaluation.py [--frames N]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def _timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_metrics(rows: list, frames: int) -> None:
    from pose3d_ros.core import metrics

    rng = np.random.default_rng(0)
    ref = rng.normal(scale=0.3, size=(frames, 17, 3))
    pred = ref + rng.normal(scale=0.03, size=ref.shape)
    pred[::7, 3] = np.nan
    for name, fn in (("mpjpe", lambda: metrics.mpjpe(pred, ref).mean),
                     ("p_mpjpe (Procrustes)", lambda: metrics.p_mpjpe(pred, ref).mean),
                     ("n_mpjpe", lambda: metrics.n_mpjpe(pred, ref).mean),
                     ("pss (k=50, clusters from ref)", lambda: metrics.pss(pred, ref, k=50)),
                     ("velocity_error", lambda: metrics.velocity_error(pred, ref, dt=1 / 60))):
        seconds = _timed(fn)
        rows.append((f"metrics.{name}", f"{frames} x 17 joints", f"{seconds * 1e3:.1f} ms",
                     f"{frames / seconds:,.0f} frames/s"))


def bench_bags(rows: list, frame_sets: int) -> Path:
    from pose3d_ros.core import bagio
    from pose3d_ros.tools import fetch_demo, make_bag

    cameras, rig = make_bag.cameras_from_calibration(fetch_demo.calibration_path("single"))
    tmp = Path(tempfile.mkdtemp(prefix="bench_eval_"))
    last = None
    for storage in ("sqlite3", "mcap"):
        for compressed in (True, False):
            out = tmp / f"{storage}_{compressed}"
            start = time.perf_counter()
            make_bag.write_bag(out, fetch_demo.video_paths("single"), cameras, fps=60.0,
                               start_ns=10**9, compressed=compressed, storage=storage,
                               fixed_frame=rig, scale=0.5, max_frames=frame_sets,
                               crop_to_video=True)
            write = time.perf_counter() - start
            start = time.perf_counter()
            count = sum(1 for _ in bagio.read_bag(out))
            read = time.perf_counter() - start
            kind = "JPEG" if compressed else "raw bgr8"
            rows.append((f"make_bag {storage}, {kind}", f"{frame_sets} sets x 4 cams 540x960",
                         f"{write:.2f} s (incl. video decode)",
                         f"{frame_sets / write:.1f} sets/s"))
            rows.append((f"read_bag {storage}, {kind}", f"{count} messages",
                         f"{read:.2f} s", f"{count / read:,.0f} msgs/s"))
            if storage == "mcap" and compressed:
                last = out
    return last


def bench_replay(rows: list, bag: Path) -> None:
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from sensor_msgs.msg import CompressedImage

    from pose3d_ros.ros.replay import BagReplayer

    context = Context()
    rclpy.init(context=context)
    try:
        node = Node("bench_replay", context=context)
        got = []
        node.create_subscription(CompressedImage, "/cam01/image_raw/compressed", got.append, 100)
        replayer = BagReplayer(node, bag)
        replayer.wait_for_subscribers(["/cam01/image_raw/compressed"])
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        stats = replayer.play(rate=0)
        deadline = time.monotonic() + 10
        while len(got) < stats.frame_sets and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        rows.append(("BagReplayer.play(rate=0) over DDS", f"{stats.published} messages",
                     f"{stats.wall_s:.2f} s", f"{stats.published / stats.wall_s:,.0f} msgs/s; "
                     f"{len(got)}/{stats.frame_sets} cam01 images received"))
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=10000, help="frames for the metric rows")
    parser.add_argument("--frame-sets", type=int, default=30, help="frame sets for bag rows")
    args = parser.parse_args()
    rows: list[tuple[str, str, str, str]] = []
    bench_metrics(rows, args.frames)
    bag = bench_bags(rows, args.frame_sets)
    try:
        bench_replay(rows, bag)
    finally:
        shutil.rmtree(bag.parent)
    print("| what | size | time | rate |\n| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
