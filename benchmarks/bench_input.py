"""Executor-thread cost of one camera frame: what a subscription callback does before the
synchroniser, with the decode there (main before #13: every JPEG decoded on arrival, though
the synchroniser then drops most frames of a camera faster than the node) and as now (cheap
checks on arrival; the decode in the processing thread, only for processed sets).

Frames: the first frame of each demo camera (1088 x 1920), as a bgr8 Image and as a
CompressedImage (JPEG quality 90), --repeats times each; median per frame. Also the decode of
one 4-camera set in the processing thread: one after another (node_input.finish_images, what
the node does) against side by side on the detectors' shared thread pool, whole and at half
size, alternating set by set.

  python benchmarks/bench_input.py [--repeats 50]
Prints a markdown table (paste into benchmarks/results_nodes.md).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's sources

from sensor_msgs.msg import CompressedImage  # noqa: E402

from pose3d_ros.core.image_decode import decode_compressed, decode_image  # noqa: E402
from pose3d_ros.ros.conversions import image_to_msg  # noqa: E402
from pose3d_ros.ros.node_input import accept_image, finish_image, finish_images  # noqa: E402
from pose3d_ros.tools.fetch_demo import video_paths  # noqa: E402


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _alternating_ms(fns, repeats: int) -> list[float]:
    """Median ms of each function, called in turn `repeats` times, the order reversed every
    other round (a changing load, and whatever the previous call left, weigh on all alike)."""
    times: list[list[float]] = [[] for _ in fns]
    for r in range(repeats):
        order = range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))
        for k in order:
            start = time.perf_counter()
            fns[k]()
            times[k].append(time.perf_counter() - start)
    return [1000 * statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    images = [cv2.VideoCapture(str(p)).read()[1] for p in video_paths("single")]
    raw = [image_to_msg(image, 1.0, "cam") for image in images]
    compressed = [CompressedImage(format="jpeg", data=cv2.imencode(
        ".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()) for image in images]
    n = len(images)
    rows = [
        ("bgr8 Image, decode on arrival (main)", _median_ms(lambda: [decode_image(
            m.encoding, m.width, m.height, m.step, m.data) for m in raw], args.repeats) / n),
        ("bgr8 Image, accept_image (branch)", _median_ms(
            lambda: [accept_image("cam", m) for m in raw], args.repeats) / n),
        ("JPEG, decode on arrival (main)", _median_ms(lambda: [decode_compressed(
            m.format, m.data) for m in compressed], args.repeats) / n),
        ("JPEG, accept_image (branch)", _median_ms(
            lambda: [accept_image("cam", m) for m in compressed], args.repeats) / n),
    ]
    print(f"{n} demo frames 1088x1920, {args.repeats} repeats; load average "
          f"{os.getloadavg()[0]:.2f}")
    print("| executor thread, per frame | median ms |")
    print("|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.3f} |")
    print(f"\nProcessing thread, the {n} JPEGs of one set (the two ways alternating set by set, "
          "median ms):")
    print("| decode | one after another (finish_image per camera) | side by side on the "
          "detectors' pool (finish_images) | ratio |")
    print("|---|---|---|---|")
    pending = {f"cam{k}": accept_image(f"cam{k}", m) for k, m in enumerate(compressed)}
    for reduction, side in ((1, 0), (2, 540)):
        sizes = {name: (image.shape[1], image.shape[0])
                 for name, image in zip(pending, images, strict=True)}
        serial, parallel = _alternating_ms([
            lambda sizes=sizes, side=side: [finish_image(name, image, sizes[name], side)
                                            for name, image in pending.items()],
            lambda sizes=sizes, side=side: finish_images(pending, sizes, side)],
            args.repeats)
        print(f"| 1/{reduction} | {serial:.1f} | {parallel:.1f} | {serial / parallel:.2f} |")


if __name__ == "__main__":
    main()
