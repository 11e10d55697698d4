"""What the live benchmarks that run a node in this process against a publisher process share:
the node configured and active, spun with a probe node in a thread, the publisher started in
a spawned process and let go once discovery had time, everything torn down when it is done.
"""
from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any


def run_node_against_publisher(node: Any, probe: Any, context: Any,
                               publish: Callable[..., None], args: tuple,
                               settle_s: float, timeout_s: float) -> float:
    """Configure and activate the lifecycle `node`, spin it and `probe` (which records what
    the benchmark measures) in a thread, run publish(*args, ready, done) in a spawned process
    (it waits for `ready` and sets `done` at its end), let it go after settle_s (s: its set-up
    and discovery), wait for it (at most timeout_s), then stop spinning, destroy both nodes
    and shut `context` down. Returns the monotonic time (s) the publisher was let go."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.lifecycle import TransitionCallbackReturn

    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    executor.add_node(probe)
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, node.last_error
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    spawn = multiprocessing.get_context("spawn")
    ready, done = spawn.Event(), spawn.Event()
    publisher = spawn.Process(target=publish, args=(*args, ready, done))
    publisher.start()
    time.sleep(settle_s)
    ready.set()
    started = time.monotonic()
    done.wait(timeout_s)
    publisher.join(30)
    executor.shutdown()
    spinner.join(10)
    node.destroy_node()
    probe.destroy_node()
    rclpy.shutdown(context=context)
    return started
