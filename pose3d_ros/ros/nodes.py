"""The pose3d_ros nodes, all lifecycle nodes (rclpy.lifecycle), and their executables:

  Pose3DNode        all in one: N cameras (images + camera_info) -> 3D skeletons  (pose3d_node.py)
  DetectorNode      one camera's images -> Skeleton2DArray (runs where the camera is)
                                                                               (detector_node.py)
  FusionNode        N cameras' Skeleton2DArray + camera_info -> 3D skeletons    (fusion_node.py)

What they share lives in node_base.py (lifecycle, synchroniser, processing thread, health),
rig_node.py (calibration, pipeline, 3D outputs) and node_input.py (QoS, image input).

Lifecycle: parameters are declared in the constructor; configure reads and validates them
(into a frozen configuration dataclass), loads the calibration and the models and makes the
(lifecycle) publishers; activate starts the subscriptions, the diagnostics timer and the
processing thread and enables the publishers; deactivate stops them; cleanup releases
publishers, models and buffered frames. With the parameter `autostart` (default true) main()
configures and activates the node itself, so `ros2 run` works without a lifecycle manager.
rclpy has no composable-node container (components are C++ only); several of these nodes can
share one process with one executor instead.

Bad input never stops a node: each rejected message is counted per camera and reason, shown
on /diagnostics, and logged the first time per (camera, reason), then at most once a minute
while it goes on (with the count since): WARN for input faults, DEBUG for what is expected
while a system starts (images before the first camera_info: the camera's calibration line
counts them), ERROR for failures of the processing itself. The first output with people after
each activation is one INFO line (how long after activation it came).
"""
from __future__ import annotations

import inspect
import signal
import threading

import rclpy
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.executors import ExternalShutdownException
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy_impl
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node

from .detector_node import DetectorNode
from .fusion_node import FusionNode
from .node_base import DIAGNOSTICS_TOPIC, PoseNodeBase
from .node_input import SKELETONS_2D_TOPIC, image_qos
from .parameters import ParameterError
from .pose3d_node import Pose3DNode
from .rig_node import MARKERS_TOPIC, SKELETONS_3D_TOPIC
from .start import stopped_while_starting

__all__ = ["DIAGNOSTICS_TOPIC", "MARKERS_TOPIC", "SKELETONS_2D_TOPIC", "SKELETONS_3D_TOPIC",
           "DetectorNode", "FusionNode", "Pose3DNode", "image_qos", "run_node"]

_RCLError = _rclpy_impl.RCLError   # rclpy's C-layer error (not re-exported by rclpy.exceptions)


def run_node(node_class: type[PoseNodeBase], args: list[str] | None = None,
             starting: Node | None = None) -> int:
    """Entry point of the executables: make the node, autostart it, spin until Ctrl-C or
    until it is shut down (lifecycle shutdown: finalized). starting: the node start.py made
    to join DDS early (rclpy initialised already); removed once the node exists."""
    if starting is None:
        rclpy.init(args=args)
    try:
        node = node_class()  # type: ignore[call-arg]  # every node class names itself
    except BaseException as err:  # noqa: BLE001 - told apart below
        if stopped_while_starting(err):     # Ctrl-C while the node was made
            return 0
        if starting is not None:
            starting.destroy_node()
        if not isinstance(err, ParameterError | InvalidParameterTypeException
                          | InvalidParameterValueException):
            # (rclpy's own parameters, use_sim_time:=1 in particular, were refused with a
            # 31-line traceback: a review)
            raise
        # under the node's name, as its other lines (a review: under the class name)
        default = inspect.signature(node_class.__init__).parameters.get("node_name")
        name = default.default if default is not None and isinstance(default.default, str) \
            else node_class.__name__
        rclpy.logging.get_logger(name).error(str(err))
        rclpy.shutdown()
        return 1
    if starting is not None:
        starting.destroy_node()
    status = 0
    try:
        if node.get_parameter("autostart").value:
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                status = 1
            elif node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
                status = 1      # (a review: it spun on, inactive, doing nothing)
        if status == 0:
            # until Ctrl-C, or a lifecycle shutdown (the node finalized can do nothing more:
            # a review found its process spinning on, so launch never saw it end)
            rclpy.spin_until_future_complete(node, node.finalized)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except _RCLError:
        # Ctrl-C shuts the context down from rclpy's deferred signal handler; the executor
        # inside rclpy.spin can then fail to build its next wait set on the dead context (a
        # known rclpy race, e.g. the discussion of ros2/ros2cli#854; seen once in our CI's
        # Ctrl-C test). That is the stop that was asked for, not a fault.
        if rclpy.ok():
            raise
    finally:
        # Ctrl-C in a terminal reaches the node twice under `ros2 launch` (the terminal's
        # SIGINT to the whole process group, then launch's own): the second must not break
        # the release below with a KeyboardInterrupt traceback (seen with a real ros2 launch).
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        node._stop()
        node._release()
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return status
