"""Memory over lifecycle cycles with input: the all-in-one node (mediapipe BlazePose per
camera) goes configure -> activate -> --sets frame sets of the demo recording (with
camera_info) -> deactivate -> cleanup, --cycles times, in one process; the resident set size
(VmRSS) is read after each cleanup. A node that releases what it made keeps RSS flat after
the first cycles (target: after cycle 50 within 10 % of after cycle 5).

  python benchmarks/bench_lifecycle.py [--cycles 50] [--cameras 2] [--sets 4] [--source DIR]
--source runs the node of another checkout (e.g. an export of main) for a side-by-side figure.
Prints a markdown table (paste into benchmarks/results_nodes.md).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from process_memory import status_mib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--sets", type=int, default=4, help="frame sets sent per cycle")
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[1],
                        help="checkout whose pose3d_ros to run (default: this one)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.source))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    import cv2
    import rclpy
    from pose3d_ros.msg import Skeleton3DArray
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image

    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.ros.conversions import camera_model_to_info, image_to_msg
    from pose3d_ros.ros.nodes import Pose3DNode
    from pose3d_ros.tools.fetch_demo import calibration_path, video_paths

    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    rig = load_rig(calibration_path("single"))
    cameras = rig.cameras[:args.cameras]
    captures = [cv2.VideoCapture(str(p)) for p in video_paths("single")[:args.cameras]]
    frames = [[cap.read()[1] for cap in captures] for _ in range(args.sets)]
    context = Context()
    rclpy.init(context=context)
    node = Pose3DNode("lifecycle_bench", context=context, parameter_overrides=[
        Parameter("camera_names", value=[c.name for c in cameras]),
        Parameter("autostart", value=False), Parameter("image_qos", value="reliable"),
        Parameter("rig_file", value=str(calibration_path("single"))),
        Parameter("sync.min_views", value=args.cameras), Parameter("sync.timeout_s", value=1.0)])
    probe = Node("lifecycle_probe", context=context)
    images = {c.name: probe.create_publisher(Image, f"{c.name}/image_raw", reliable)
              for c in cameras}
    infos = {c.name: probe.create_publisher(CameraInfo, f"{c.name}/camera_info", reliable)
             for c in cameras}
    outputs: list = []
    probe.create_subscription(Skeleton3DArray, "skeletons", outputs.append, reliable)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    executor.add_node(probe)

    def spin_until(done, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not done() and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.02)
        return done()

    rss = [status_mib("VmRSS")[0]]
    stamp = 1000.0
    start = time.monotonic()
    for _ in range(args.cycles):
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, node.last_error
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        spin_until(lambda: all(p.get_subscription_count() for p in images.values()), 10)
        for camera in cameras:
            infos[camera.name].publish(camera_model_to_info(camera))
        spin_until(lambda: all(h.calibrated for h in node.health.cameras.values()), 10)
        spin_until(lambda: False, 0.2)
        for row in frames:
            before = len(outputs)
            stamp += 1 / 30
            for camera, image in zip(cameras, row, strict=True):
                images[camera.name].publish(image_to_msg(image, stamp, camera.frame_id))
            spin_until(lambda before=before: len(outputs) > before, 20)
        node.trigger_deactivate()
        node.trigger_cleanup()
        spin_until(lambda: False, 0.1)
        rss.append(status_mib("VmRSS")[0])
    wall = time.monotonic() - start
    executor.shutdown()
    node.destroy_node()
    probe.destroy_node()
    rclpy.shutdown(context=context)
    print(f"source: {args.source}; {args.cycles} cycles, {args.cameras} cameras, {args.sets} "
          f"sets per cycle, {len(outputs)} outputs, {wall:.0f} s; load average "
          f"{os.getloadavg()[0]:.2f}")
    print("| after cycle | RSS (MiB) |")
    print("|---|---|")
    for cycle in sorted({0, 1, 5, 10, 20, 30, 40, args.cycles} & set(range(len(rss)))):
        print(f"| {cycle} | {rss[cycle]:.0f} |")
    if len(rss) > 5:
        print(f"\nafter cycle {args.cycles} / after cycle 5: {rss[-1] / rss[5]:.3f}")


if __name__ == "__main__":
    main()
