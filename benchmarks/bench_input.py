"""Executor-thread cost of one camera frame: what a subscription callback does before the
synchroniser, with the decode there (main before #13: every JPEG decoded on arrival, though
the synchroniser then drops most frames of a camera faster than the node) and as now (cheap
checks on arrival; the decode in the processing thread, only for processed sets).

Frames: the first frame of each demo camera (1088 x 1920), as a bgr8 Image and as a
CompressedImage (JPEG quality 90), --repeats times each; median per frame. Also the decode of
one 4-camera set in the processing thread, one after another (what the node does) against
side by side on the detectors' shared thread pool.

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

from pose3d_ros.core.detection.parallel import camera_pool  # noqa: E402
from pose3d_ros.core.image_decode import decode_compressed, decode_image  # noqa: E402
from pose3d_ros.ros.conversions import image_to_msg  # noqa: E402
from pose3d_ros.ros.node_input import accept_image  # noqa: E402
from pose3d_ros.tools.fetch_demo import video_paths  # noqa: E402


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


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
    serial = _median_ms(lambda: [decode_compressed(m.format, m.data) for m in compressed],
                        args.repeats)
    parallel = _median_ms(lambda: [f.result() for f in [camera_pool().submit(
        decode_compressed, m.format, m.data) for m in compressed]], args.repeats)
    print(f"{n} demo frames 1088x1920, {args.repeats} repeats; load average "
          f"{os.getloadavg()[0]:.2f}")
    print("| executor thread, per frame | median ms |")
    print("|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.3f} |")
    print(f"\nprocessing thread, the {n} JPEGs of one set: one after another {serial:.1f} ms, "
          f"side by side on the detectors' thread pool {parallel:.1f} ms")


if __name__ == "__main__":
    main()
