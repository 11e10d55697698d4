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
import sys
from typing import Any

import rclpy
import rclpy.logging
from rclpy.node import Node

# hidden (leading underscore: `ros2 node list` leaves it out); alive only while the node loads
STARTING_NODE_NAME = "_pose3d_starting"
USAGE = """usage: {executable} [--help] [--ros-args [-p name:=value] [--params-file file.yaml]
                    [-r from:=to] [--log-level level] ...]

A lifecycle node of pose3d_ros (configures and activates itself unless autostart is false).
Its parameters, topics and diagnostics: docs/nodes.md; `ros2 param list` and
`ros2 param describe` on the running node; config/*.yaml hold examples. The launch files
(launch/*.launch.py, `ros2 launch pose3d_ros <file> --show-args`) start it with them."""
# executable -> the node class's name in pose3d_ros.ros.nodes
NODE_CLASSES = {"pose3d_node": "Pose3DNode", "pose3d_detector": "DetectorNode",
                "pose3d_fusion": "FusionNode"}


def run_executable(executable: str, args: list[str]) -> int:
    """main() of executable `executable` (a key of NODE_CLASSES) with its command line `args`.
    Ctrl-C while the package loads ends it quietly with status 0, as one after the start does
    (it printed a KeyboardInterrupt traceback of the import). A command line rcl refuses (a
    params file it cannot parse or find, a bad -p) ends in one ERROR line with its reason and
    status 1."""
    own = args[1:args.index("--ros-args")] if "--ros-args" in args else args[1:]
    if own:
        # (a review: --help started the node, and a detector ran until killed)
        if any(arg in ("-h", "--help") for arg in own):
            print(USAGE.format(executable=executable))
            return 0
        print(f"{executable}: unexpected argument(s) {' '.join(own)}; this executable takes "
              "ROS arguments only (--help says which)", file=sys.stderr)
        return 2
    try:
        rclpy.init(args=args)
    except KeyboardInterrupt:
        return 0
    except Exception as err:  # noqa: BLE001 - rcl's own argument parser, told in one line
        # (a review: a params file with a typo, a missing one or a bad -p ended with status 0
        # and rcl's "Failed to parse global arguments" alone: its reason was dropped)
        rclpy.logging.get_logger(executable).error(f"cannot start: {rcl_reason(err)}")
        return 1
    try:
        nodes, starting = _join_and_load()
    except BaseException as err:  # noqa: BLE001 - told apart by stopped_while_starting
        if stopped_while_starting(err):
            return 0
        raise
    return int(nodes.run_node(getattr(nodes, NODE_CLASSES[executable]), args,
                              starting=starting))


def rcl_reason(err: Exception) -> str:
    """rcl's reason for refusing the command line, without its source locations ("failed to
    initialize rcl: Couldn't parse params file: '--params-file x.yaml'. Error: Cannot have a
    value before ros__parameters at line 4, at /project/src/parse.c:806, ..." -> the part
    between the two)."""
    reason = str(err).removeprefix("failed to initialize rcl: ")
    return reason.split(", at /")[0].split(", at ")[0].strip()


def _join_and_load() -> tuple[Any, Node]:
    """With rclpy initialised: the hidden starting node made, then pose3d_ros.ros.nodes
    imported: (that module, the starting node)."""
    starting = rclpy.create_node(STARTING_NODE_NAME, use_global_arguments=False,
                                 enable_rosout=False, start_parameter_services=False)
    return importlib.import_module("pose3d_ros.ros.nodes"), starting


def stopped_while_starting(err: BaseException) -> bool:
    """Whether `err`, raised while the process started, is Ctrl-C or SIGTERM: a
    KeyboardInterrupt, or rclpy's error of a context its signal handler shut down ('error
    creating node: the given context is not valid', found by Ctrl-C 0.2 s after the start),
    which the signal's own KeyboardInterrupt follows at once (taken here too). If so rclpy is
    shut down, and the start should end quietly with status 0."""
    try:
        stopped = isinstance(err, KeyboardInterrupt) or (
            isinstance(err, Exception) and not rclpy.ok())
        if stopped and rclpy.ok():
            rclpy.shutdown()
    except KeyboardInterrupt:           # the one that follows rclpy's error
        return stopped_while_starting(KeyboardInterrupt())
    return stopped
