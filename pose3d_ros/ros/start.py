"""The executables' start (bin/pose3d_node, pose3d_detector, pose3d_fusion): join DDS first,
then load the package and run the node (nodes.run_node).

Why DDS first: a new process receives an already running camera driver's messages only once
DDS discovery has paired the two, which with Fast DDS took 0.0-2.8 s after the new process
made its first node (plain rclpy, 8 tries; the driver's periodic announcement, every 3 s,
often settled it). The node proper exists only after the package's imports (1-2 s on the
2-core VM), so its first skeleton came 0.2-2.9 s after 'active' with images flowing
(benchmarks/bench_startup.py, 8 starts). A hidden node made right after rclpy.init starts the
discovery while the package and the models load (then 0.3-1.8 s; medians of 4 starts 3.44 ->
2.64 s from the process start for one camera, 4.26 -> 3.04 s for the demo rig);
run_node removes it once the node proper exists (the process keeps its DDS participant).
Only rclpy is imported here.
"""
from __future__ import annotations

import importlib

import rclpy
from rclpy.node import Node

# hidden (leading underscore: `ros2 node list` leaves it out); alive only while the node loads
STARTING_NODE_NAME = "_pose3d_starting"
# executable -> the node class's name in pose3d_ros.ros.nodes
NODE_CLASSES = {"pose3d_node": "Pose3DNode", "pose3d_detector": "DetectorNode",
                "pose3d_fusion": "FusionNode"}


def run_executable(executable: str, args: list[str]) -> int:
    """main() of executable `executable` (a key of NODE_CLASSES) with its command line `args`.
    Ctrl-C while the package loads ends it quietly with status 0, as one after the start does
    (it printed a KeyboardInterrupt traceback of the import)."""
    rclpy.init(args=args)
    starting: Node | None = None
    try:
        starting = rclpy.create_node(STARTING_NODE_NAME, use_global_arguments=False,
                                     enable_rosout=False, start_parameter_services=False)
        nodes = importlib.import_module("pose3d_ros.ros.nodes")
        node_class = getattr(nodes, NODE_CLASSES[executable])
    except KeyboardInterrupt:
        if starting is not None:
            starting.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
        return 0
    return int(nodes.run_node(node_class, args, starting=starting))
