"""Helpers for tests that talk over real DDS: one rclpy context per test, spin until a condition."""
from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor


@contextmanager
def ros_context() -> Iterator[Context]:
    """A fresh rclpy context, shut down afterwards even if the test fails.

    Nodes an earlier test left behind (held in reference cycles) are collected first: rcl keeps
    one /rosout publisher per logger name, and finalising a stale node named like one of this
    test's nodes unregisters that name, so this test's log lines would stop reaching /rosout
    whenever the garbage collector happened to run mid-test."""
    gc.collect()
    context = Context()
    rclpy.init(context=context)
    try:
        yield context
    finally:
        rclpy.shutdown(context=context)


def spin_until(executor: SingleThreadedExecutor, done: Callable[[], bool], timeout_s: float,
               tick: Callable[[], None] | None = None) -> bool:
    """Spin `executor` until done() or timeout_s seconds; call tick() between spins."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done():
            return True
        if tick is not None:
            tick()
        executor.spin_once(timeout_sec=0.05)
    return done()


def paced(send: Callable[..., None], period_s: float = 0.1) -> Callable[..., None]:
    """send, called at most once every period_s seconds of wall time (a camera's rate; the
    calls in between do nothing; arguments are passed on): a tick for spin_until. (Found by
    CI: a tick sending each spin published ~2000 images a second stamped 0.1 s apart, so
    the stamps ran 200 times faster than the clock, the sets the node processed lay ~40 s
    apart in stamp time, and its image tracker, which dropped a track unseen for a second,
    confirmed nobody in 3 runs of 12.)"""
    last = -float("inf")

    def tick(*args: Any, **kwargs: Any) -> None:
        nonlocal last
        if time.monotonic() - last >= period_s:
            last = time.monotonic()
            send(*args, **kwargs)
    return tick


def executor_with(context: Context, *nodes) -> SingleThreadedExecutor:
    """A single-threaded executor of `context` holding `nodes`."""
    executor = SingleThreadedExecutor(context=context)
    for node in nodes:
        executor.add_node(node)
    return executor


def configure_and_activate(node) -> None:
    """Drive a lifecycle node to active, failing the test with its last error if it refuses."""
    from rclpy.lifecycle import TransitionCallbackReturn

    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, node.last_error
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS, node.last_error


def wind_down(node) -> None:
    """Deactivate and clean up lifecycle node `node` from whatever state it is in: a test that
    failed before activating must still reach its executor's shutdown and destroy_node (rclpy
    raises on a transition the current state lacks, which hid the test's own failure)."""
    for transition in (node.trigger_deactivate, node.trigger_cleanup):
        with contextlib.suppress(Exception):
            transition()


@contextmanager
def with_rosout(context: Context, node) -> Iterator[tuple[SingleThreadedExecutor, object, list]]:
    """An executor holding `node` and a probe node that records /rosout (also what was logged
    before it joined: /rosout is transient local), as (executor, probe, logs); the executor,
    the probe and `node` are shut down and destroyed afterwards."""
    from rcl_interfaces.msg import Log
    from rclpy.node import Node
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    probe = Node("rosout_probe", context=context)
    logs: list[Log] = []
    probe.create_subscription(Log, "/rosout", logs.append, QoSProfile(
        depth=1000, reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL))
    executor = executor_with(context, node, probe)
    try:
        yield executor, probe, logs
    finally:
        executor.shutdown()
        node.destroy_node()
        probe.destroy_node()


def unposed_camera_node(context: Context, name: str, *parameters, cli_args=None):
    """The all-in-one node on camera cam01 alone with no pose (extrinsics_source 'none': its
    output in the camera's optical frame), not started (autostart false); `parameters` add to
    or override those; cli_args: the node's own command-line arguments (remappings)."""
    from rclpy.parameter import Parameter

    from pose3d_ros.ros.nodes import Pose3DNode

    return Pose3DNode(name, context=context, cli_args=cli_args, parameter_overrides=[
        Parameter("camera_names", value=["cam01"]), Parameter("autostart", value=False),
        Parameter("extrinsics_source", value="none"), *parameters])


def refused_at_configure(node, message: str) -> None:
    """Configure fails and the node's last error says `message`."""
    from rclpy.lifecycle import TransitionCallbackReturn

    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert message in node.last_error, node.last_error


def demo_first_frame_2d(cameras: tuple[str, ...]) -> dict:
    """camera -> Detections2D: the demo person's 2D of the first frame of the single
    recording (cached detections) in each of `cameras` (its cameras in order, cam01 first)."""
    import numpy as np

    from pose3d_ros.core.demo_2d import load_demo_2d
    from pose3d_ros.core.layouts import BLAZEPOSE33
    from pose3d_ros.core.types import Detections2D

    demo = load_demo_2d("single", frames=1)
    return {name: Detections2D(
        demo.keypoints[0, v, :1], demo.scores[0, v, :1], np.zeros((1, 4), np.float32),
        np.ones(1, np.float32), BLAZEPOSE33, tuple(int(x) for x in demo.image_sizes[v]))
        for v, name in enumerate(cameras)}
