"""Cost of the one message layer (pose3d_ros.core.messages): building this package's messages
from numpy records with rclpy's classes (what a node publishes) and with rosbags' classes
(what the offline writer puts in a bag), and serialising them, side by side in one process.

Rows take turns per repeat, so machine load hits both libraries alike; the table gives the
median and range over the repeats in microseconds per message.

Usage: python benchmarks/bench_messages.py [--repeats 5] [--people 5]
"""
from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from call_timing import per_call_us
from rclpy.serialization import serialize_message

from pose3d_ros.core import bagio
from pose3d_ros.core.body_frame import body_frames
from pose3d_ros.core.layouts import COCO17
from pose3d_ros.core.types import METHOD_TRIANGULATION, Skeletons3D
from pose3d_ros.ros.conversions import RCLPY

STAMP_NS = 1_700_000_000_000_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--people", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    p = args.people
    skeletons = Skeletons3D(rng.normal(size=(p, 17, 3)),
                            rng.uniform(size=(p, 17)).astype(np.float32),
                            rng.uniform(size=(p, 17)).astype(np.float32),
                            np.full((p, 17), 3, np.uint8), COCO17, "rig", METHOD_TRIANGULATION,
                            np.arange(p))
    frames = body_frames(skeletons.positions, skeletons.layout)
    image = rng.integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    store = bagio.typestore()
    skel_type, image_type = bagio.SKELETON3D_ARRAY, bagio.IMAGE
    node_skel = RCLPY.skeleton3d_array(skeletons, STAMP_NS, ["cam01"], frames)
    bag_skel = bagio.ROSBAGS.skeleton3d_array(skeletons, STAMP_NS, ["cam01"], frames)
    node_image = RCLPY.image(image, STAMP_NS, "cam01_optical_frame")
    bag_image = bagio.ROSBAGS.image(image, STAMP_NS, "cam01_optical_frame")
    cases: list[tuple[str, Callable[[], object], Callable[[], object], int]] = [
        (f"Skeleton3DArray, {p} people: build",
         lambda: RCLPY.skeleton3d_array(skeletons, STAMP_NS, ["cam01"], frames),
         lambda: bagio.ROSBAGS.skeleton3d_array(skeletons, STAMP_NS, ["cam01"], frames), 300),
        (f"Skeleton3DArray, {p} people: serialise",
         lambda: serialize_message(node_skel),
         lambda: store.serialize_cdr(bag_skel, skel_type), 300),
        ("Image 1920x1080 bgr8: build",
         lambda: RCLPY.image(image, STAMP_NS, "cam01_optical_frame"),
         lambda: bagio.ROSBAGS.image(image, STAMP_NS, "cam01_optical_frame"), 10),
        ("Image 1920x1080 bgr8: serialise",
         lambda: serialize_message(node_image),
         lambda: store.serialize_cdr(bag_image, image_type), 10),
    ]
    results = {name: ([], []) for name, *_ in cases}
    for _ in range(args.repeats):
        for name, with_rclpy, with_rosbags, calls in cases:
            results[name][0].append(per_call_us(with_rclpy, calls))
            results[name][1].append(per_call_us(with_rosbags, calls))
    print(f"{'message, step':40s} {'rclpy us: median (range)':>28s} "
          f"{'rosbags us: median (range)':>28s}")
    for name, (a, b) in results.items():
        cells = [f"{np.median(v):.1f} ({min(v):.0f}-{max(v):.0f})" for v in (a, b)]
        print(f"{name:40s} {cells[0]:>28s} {cells[1]:>28s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
