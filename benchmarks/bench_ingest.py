"""CPU time an executor thread spends taking one raw image from DDS, by image size, typed or
raw (serialized) take, and glibc allocator policy (#13: where the node's ingest time goes).

A publisher thread sends --images sensor_msgs/Image (bgr8, random pixels) at --rate Hz to a
subscriber in the same process over real DDS (reliable QoS, a DDS domain of its own); the
subscriber's SingleThreadedExecutor runs in the main thread, whose CPU time (time.thread_time)
per image taken is reported. Each (policy, size) runs in a fresh process, since glibc's
allocator settings are process-wide and sticky: "default" (glibc as it starts), "map" and
"keep" (pose3d_ros.ros.node_base.set_allocator_policy: the nodes' former and current choice).

  python benchmarks/bench_ingest.py [--heights 1080 540] [--policies default map keep]
Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's sources


def measure(height: int, policy: str, count: int, rate_hz: float) -> dict[str, float]:
    """Executor-thread CPU ms per image for a typed and a raw subscription (this process)."""
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(150 + os.getpid() % 50))
    import numpy as np
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from pose3d_ros.ros.conversions import image_to_msg
    from pose3d_ros.ros.node_base import set_allocator_policy

    if policy != "default":
        set_allocator_policy(policy)
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    width = height * 16 // 9
    pixels = np.random.default_rng(0).integers(0, 255, (height, width, 3), np.uint8)
    message = image_to_msg(pixels, 0.0, "camera")
    rclpy.init()
    result = {}
    try:
        for raw in (False, True):
            result["raw" if raw else "typed"] = _take_cost(
                Node("ingest_sender"), Node("ingest_receiver"), Image, message, qos, raw, count,
                rate_hz, SingleThreadedExecutor())
    finally:
        rclpy.try_shutdown()
    return result


def _take_cost(sender, receiver, image_type, message, qos, raw: bool, count: int,
               rate_hz: float, executor) -> float:
    """Executor-thread CPU ms per image taken by `receiver` while `sender` publishes."""
    topic = f"ingest_{int(raw)}"
    publisher = sender.create_publisher(image_type, topic, qos)
    taken: list[int] = []
    receiver.create_subscription(image_type, topic, lambda _: taken.append(1), qos, raw=raw)
    executor.add_node(receiver)
    while publisher.get_subscription_count() < 1:
        executor.spin_once(timeout_sec=0.05)

    def send() -> None:
        for _ in range(count):
            publisher.publish(message)
            time.sleep(1.0 / rate_hz)

    thread = threading.Thread(target=send)
    cpu_start = time.thread_time()
    thread.start()
    deadline = time.monotonic() + 5 + 2 * count / rate_hz
    while len(taken) < count and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.2)
    cpu = time.thread_time() - cpu_start
    thread.join()
    executor.shutdown()
    sender.destroy_node()
    receiver.destroy_node()
    return 1000 * cpu / max(len(taken), 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heights", type=int, nargs="+", default=[1080, 540, 270])
    parser.add_argument("--policies", nargs="+", default=["default", "map", "keep"],
                        choices=["default", "map", "keep"])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--rate", type=float, default=20.0, help="images per second")
    parser.add_argument("--one", nargs=2, metavar=("HEIGHT", "POLICY"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(int(args.one[0]), args.one[1], args.images, args.rate)))
        return 0
    load = os.getloadavg()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.1f}; {args.images} images at {args.rate:g} Hz per row")
    print("| image | allocator | typed take (ms CPU per image) | raw take (ms CPU per image) |")
    print("|---|---|---|---|")
    for height in args.heights:
        for policy in args.policies:
            run = subprocess.run([sys.executable, __file__, "--one", str(height), policy,
                                  "--images", str(args.images), "--rate", str(args.rate)],
                                 capture_output=True, text=True, timeout=300)
            lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
            if run.returncode or not lines:
                print(f"| {height * 16 // 9}x{height} | {policy} | failed: "
                      f"{run.stderr.strip().splitlines()[-1:]} | |")
                continue
            r = json.loads(lines[-1])
            print(f"| {height * 16 // 9}x{height} | {policy} | {r['typed']:.2f} | "
                  f"{r['raw']:.2f} |")
    load = os.getloadavg()
    print(f"# load average after: {load[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
