"""Benchmark of the all-in-one node: latency, sustained rate, per-stage split, own overhead.

Part 1 (live, real DDS): for 1, 2 and 4 cameras of the demo recording, a publisher PROCESS
(as camera drivers are) streams the frames at --fps with header stamps = the publication time;
the node (default detector: mediapipe BlazePose, one per camera) runs in this process with a
probe that receives its output. Reported: outputs per second while streaming (sustained rate),
latency from image stamp to the arrival of the 3D message (median and 90th percentile), and the
node's mean time per stage from its diagnostics.

Part 2 (node overhead): everything the node does per 4-camera frame set except the 2D network,
timed over --iterations repetitions on real detections of demo frames: decoding 4 bgr8 Image
messages (zero-copy views), synchronising them, association, triangulation, tracking,
filtering, and building the Skeleton3DArray, MarkerArray and TF messages. Target: < 5 ms.

  python benchmarks/bench_node.py [--cameras 1 2 4] [--frames 40] [--fps 30] [--iterations 200]
Prints markdown tables (paste into benchmarks/results_nodes.md).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's sources
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

import rclpy  # noqa: E402
from pose3d_ros.msg import Skeleton3DArray  # noqa: E402
from rclpy.context import Context  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402

from pose3d_ros.core.body_frame import body_frames  # noqa: E402
from pose3d_ros.core.calibration import load_rig  # noqa: E402
from pose3d_ros.core.image_decode import decode_image  # noqa: E402
from pose3d_ros.core.pipeline import Pose3DPipeline, create_detectors  # noqa: E402
from pose3d_ros.core.sync import FrameSynchronizer  # noqa: E402
from pose3d_ros.ros.conversions import (  # noqa: E402
    camera_model_to_info,
    image_to_msg,
    seconds_to_stamp,
    skeletons3d_to_msg,
)
from pose3d_ros.ros.nodes import Pose3DNode  # noqa: E402
from pose3d_ros.ros.tf import people_transforms  # noqa: E402
from pose3d_ros.ros.visualization import skeleton_markers  # noqa: E402
from pose3d_ros.tools.fetch_demo import calibration_path, video_paths  # noqa: E402

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def read_frames(count: int, recording: str = "single") -> list[list[np.ndarray]]:
    captures = [cv2.VideoCapture(str(p)) for p in video_paths(recording)]
    frames = [[cap.read()[1] for cap in captures] for _ in range(count)]
    return frames




def _publish_frames(num_cameras: int, count: int, fps: float, warmed, done) -> None:
    """Child process: publish `count` frame sets of the demo at `fps` (stamps = now) on
    <camera>/image_raw, after one warm-up set and the parent's `warmed` event."""
    import rclpy as child_rclpy
    rig = load_rig(calibration_path("single"))
    cameras = rig.cameras[:num_cameras]
    frames = read_frames(count)
    child_rclpy.init()
    node = Node("bench_camera_driver")
    pubs = [node.create_publisher(Image, f"{c.name}/image_raw", RELIABLE) for c in cameras]
    deadline = time.monotonic() + 20
    while any(p.get_subscription_count() == 0 for p in pubs) and time.monotonic() < deadline:
        time.sleep(0.05)

    def publish(row) -> None:
        stamp = time.time()
        for pub, camera, image in zip(pubs, cameras, row, strict=False):
            pub.publish(image_to_msg(image, stamp, camera.frame_id))

    try:
        while not warmed.is_set() and time.monotonic() < deadline + 30:
            publish(frames[0])          # warm-up: the first detection loads the models
            warmed.wait(2.0)
        start = time.monotonic()
        for k, row in enumerate(frames):
            time.sleep(max(0.0, start + k / fps - time.monotonic()))
            publish(row)
    finally:
        done.set()
        node.destroy_node()
        child_rclpy.shutdown()


def live(num_cameras: int, count: int, fps: float) -> dict:
    """Stream `count` frame sets into the node at `fps` from another process; latency, rate
    and stage means."""
    rig = load_rig(calibration_path("single"))
    cameras = rig.cameras[:num_cameras]
    context = Context()
    rclpy.init(context=context)
    overrides = {"camera_names": [c.name for c in cameras], "autostart": False,
                 "rig_file": str(calibration_path("single")), "image_qos": "reliable",
                 "sync.min_views": min(2, num_cameras), "sync.slop_s": 0.004,
                 "sync.timeout_s": 0.1}
    if num_cameras == 1:
        overrides["monocular_method"] = "detector_3d"
    node = Pose3DNode(context=context, parameter_overrides=[
        Parameter(k, value=v) for k, v in overrides.items()])
    probe = Node("bench_probe", context=context)
    received: list[tuple[float, float]] = []

    def on_output(msg: Skeleton3DArray) -> None:
        now = time.time()
        received.append((now - (msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9),
                         len(msg.skeletons), now))

    probe.create_subscription(Skeleton3DArray, "skeletons", on_output, RELIABLE)
    infos = {c.name: probe.create_publisher(CameraInfo, f"{c.name}/camera_info", RELIABLE)
             for c in cameras}
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    executor.add_node(probe)
    result = {"cameras": num_cameras}
    spawn = multiprocessing.get_context("spawn")
    warmed, done = spawn.Event(), spawn.Event()
    driver = spawn.Process(target=_publish_frames, args=(num_cameras, count, fps, warmed, done))
    try:
        if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
            raise RuntimeError(node.last_error)
        node.trigger_activate()
        spinning = threading.Thread(target=executor.spin, daemon=True)
        spinning.start()
        deadline = time.monotonic() + 10
        while not all(c.calibrated for c in node.health.cameras.values()):
            for camera in cameras:
                infos[camera.name].publish(camera_model_to_info(camera))
            time.sleep(0.1)
            if time.monotonic() > deadline:
                raise RuntimeError("camera_info not taken")
        driver.start()
        while not received and driver.is_alive():
            time.sleep(0.05)
        time.sleep(0.5)                 # let the warm-up sets drain
        received.clear()
        node.health._timings.clear()
        warmed.set()
        done.wait(count / fps + 60)
        time.sleep(1.0)
        latencies = np.array([r[0] for r in received]) * 1000
        result.update(sent=count, outputs=len(received),
                      rate_hz=(len(received) - 1) / (received[-1][2] - received[0][2])
                      if len(received) > 1 else 0.0,
                      latency_median_ms=float(np.median(latencies)) if len(latencies) else np.nan,
                      latency_p90_ms=float(np.percentile(latencies, 90)) if len(latencies)
                      else np.nan,
                      people=float(np.mean([r[1] for r in received])) if received else 0.0,
                      stages=node.health.stage_means_ms())
    finally:
        driver.join(10)
        executor.shutdown()
        node.destroy_node()
        probe.destroy_node()
        rclpy.shutdown(context=context)
    return result


def overhead(frames, iterations: int, recording: str = "single",
             detector: str = "blazepose") -> dict[str, float]:
    """Mean ms per 4-camera set of everything but the 2D network."""
    rig = load_rig(calibration_path(recording))
    names = rig.names
    detectors = create_detectors(detector, len(names))
    pipeline = Pose3DPipeline(names, {c.name: c for c in rig}, detectors, frame_id=rig.frame_id)
    sets = []
    for k, row in enumerate(frames):
        found = {n: detectors[v].detect([row[v]])[0] for v, n in enumerate(names)}
        msgs = [image_to_msg(row[v], 100.0 + k / 60, rig[n].frame_id) for v, n in enumerate(names)]
        sets.append((found, msgs))
    sync = FrameSynchronizer(names, slop_s=0.004, min_views=2)
    totals: dict[str, list[float]] = {}
    for i in range(iterations):
        found, msgs = sets[i % len(sets)]
        stamp = 100.0 + i / 60
        t0 = time.perf_counter()
        for n, msg in zip(names, msgs, strict=True):
            decode_image(msg.encoding, msg.width, msg.height, msg.step, msg.data)
            sync.add(n, stamp, None, time.monotonic())
        sync.pop_latest()
        t1 = time.perf_counter()
        result = pipeline.process_detections(found, stamp)
        t2 = time.perf_counter()
        stamp_msg = seconds_to_stamp(stamp)
        bodies = body_frames(result.skeletons.positions, result.skeletons.layout)
        skeletons3d_to_msg(result.skeletons, stamp_msg, names, bodies)
        skeleton_markers(result.skeletons, stamp_msg)
        people_transforms(result.skeletons, stamp_msg, frames=bodies)
        t3 = time.perf_counter()
        stages = {k: v for k, v in result.timings.items() if k != "total"}
        row = {"people": result.skeletons.num_people, "decode + sync": t1 - t0, **stages,
               "messages (3D, markers, TF)": t3 - t2, "total": t3 - t0}
        for key, value in row.items():
            totals.setdefault(key, []).append(value if key == "people" else value * 1000)
    pipeline.close()
    return {k: float(np.mean(v)) for k, v in totals.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--frames", type=int, default=40, help="frames streamed per run")
    parser.add_argument("--fps", type=float, default=30.0, help="streaming rate per camera")
    parser.add_argument("--iterations", type=int, default=200, help="overhead repetitions")
    parser.add_argument("--overhead-only", action="store_true", help="skip the live runs")
    args = parser.parse_args(argv)
    frames = read_frames(10)
    print("## Node overhead per 4-camera frame set (all but the 2D network), mean ms")
    single = overhead(frames, args.iterations)
    multi = overhead(read_frames(10, "multi"), args.iterations, "multi", "blazepose_multi")
    print("| stage | demo 'single', mediapipe BlazePose | demo 'multi', blazepose_multi |")
    print("|---|---|---|")
    for key, value in single.items():
        print(f"| {key} | {value:.2f} | {multi[key]:.2f} |")
    print()
    if args.overhead_only:
        return 0
    print(f"## Live: {args.frames} frames streamed at {args.fps:g} fps per camera")
    rows = [live(n, args.frames, args.fps) for n in args.cameras]
    stages = sorted({s for r in rows for s in r.get("stages", {})})
    print("| cameras | outputs / sent | sustained rate (Hz) | latency median (ms) | "
          "latency p90 (ms) | " + " | ".join(f"{s} (ms)" for s in stages) + " |")
    print("|---" * (5 + len(stages)) + "|")
    for r in rows:
        print(f"| {r['cameras']} | {r['outputs']} / {r['sent']} | {r['rate_hz']:.1f} | "
              f"{r['latency_median_ms']:.0f} | {r['latency_p90_ms']:.0f} | "
              + " | ".join(f"{r['stages'].get(s, float('nan')):.1f}" for s in stages) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
