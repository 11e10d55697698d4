"""CPU used by an idle node: the all-in-one node, configured and active with N cameras of the
demo rig (models loaded), receiving nothing.

The node and a SingleThreadedExecutor spinning it run in this process; after a settling time
the process's CPU time (user + system, every thread: executor, processing thread, detector
runtimes) is read over --seconds and given as % of one core. The floor is the same process
with a plain rclpy node spun the same way (what any idle ROS 2 Python process costs); the
fusion node with the same cameras shows the node's own share (no detector runtime).

  python benchmarks/bench_idle.py [--cameras 4] [--seconds 20] [--source DIR]
--source runs the node of another checkout (e.g. an export of main) for a side-by-side figure.
Prints a markdown table (paste into benchmarks/results_nodes.md).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path


def _cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def measure(make_node, seconds: float, settle_s: float) -> float:
    """% of one core used by this process while `make_node(context)` idles (spun)."""
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    context = Context()
    rclpy.init(context=context)
    node = make_node(context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        time.sleep(settle_s)
        cpu0, wall0 = _cpu_s(), time.monotonic()
        time.sleep(seconds)
        return 100.0 * (_cpu_s() - cpu0) / (time.monotonic() - wall0)
    finally:
        executor.shutdown()
        spinner.join(timeout=10)
        node.destroy_node()
        rclpy.shutdown(context=context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[1],
                        help="checkout whose pose3d_ros to run (default: this one)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.source))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from pose3d_ros.ros.nodes import FusionNode, Pose3DNode
    from pose3d_ros.tools.fetch_demo import calibration_path

    names = ["cam01", "cam02", "cam03", "cam04"][:args.cameras]

    def active_node(node_class, node_name):
        """A factory: context -> an active node of `node_class` on the demo rig."""
        def make(context):
            node = node_class(node_name, context=context, parameter_overrides=[
                Parameter("camera_names", value=names), Parameter("autostart", value=False),
                Parameter("rig_file", value=str(calibration_path("single"))),
                Parameter("sync.min_views", value=min(2, len(names))),
                Parameter("extrinsics_source", value="rig_file" if len(names) > 1 else "none"),
                # one camera needs a monocular method to give 3D (config_rules, 2026-12-06:
                # --cameras 1 failed at configure); the lifter, the nodes' default
                *([Parameter("monocular_method", value="lifter")] if len(names) == 1 else [])])
            assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, node.last_error
            assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
            return node
        return make

    floor = measure(lambda context: Node("idle_floor", context=context), args.seconds,
                    args.settle)
    fusion = measure(active_node(FusionNode, "idle_fusion"), args.seconds, args.settle)
    idle = measure(active_node(Pose3DNode, "idle_bench"), args.seconds, args.settle)
    print(f"source: {args.source}; load average {os.getloadavg()[0]:.2f}")
    print("| process | CPU (% of one core) |")
    print("|---|---|")
    print(f"| plain rclpy node (floor) | {floor:.2f} |")
    print(f"| FusionNode, {len(names)} cameras, active, no input (no detector) | {fusion:.2f} |")
    print(f"| Pose3DNode, {len(names)} cameras, active, no input | {idle:.2f} |")


if __name__ == "__main__":
    main()
