"""The suite's own log probe over real DDS: a test's log lines reach /rosout whatever earlier
tests left behind (CI failed once on this: stop 32, the reverse-order DDS pass)."""
from __future__ import annotations

import gc

from ros_helpers import ros_context, spin_until, with_rosout


def _leave_a_node_behind(name: str) -> None:
    """A node named `name` in a context that is shut down, never destroyed and held in a
    reference cycle, as a test that forgets destroy_node leaves a lifecycle node."""
    from rclpy.node import Node

    with ros_context() as context:
        node = Node(name, context=context)
        node.keep_alive = node  # type: ignore[attr-defined]


def test_a_stale_node_of_the_same_name_does_not_silence_the_next_tests_logs():
    """rcl registers one /rosout publisher per logger name; finalising a stale node of that name
    unregisters the live node's publisher, and its lines only reach stderr. Before ros_context
    collected such nodes first, the garbage collector running mid-test did that here."""
    from rclpy.node import Node

    _leave_a_node_behind("pose3d_fusion")
    with ros_context() as context:
        node = Node("pose3d_fusion", context=context)
        with with_rosout(context, node) as (executor, _probe, logs):
            gc.collect()
            node.get_logger().warning("log line of the live node")
            assert spin_until(executor, lambda: any(m.msg == "log line of the live node"
                                                    for m in logs), 5)
