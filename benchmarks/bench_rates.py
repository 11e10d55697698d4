"""Rate diagnostics of a loaded node: do cameras all published at the same rate stay equal on
/diagnostics, with no `rate_mismatch`?

A publisher PROCESS (as camera drivers are) streams the 4 demo cameras at --fps (frames halved
to 544 x 960 to keep DDS traffic light, K scaled to match; stamps = publication time) for
--seconds into the all-in-one node (mediapipe BlazePose per camera) in this process; the node
cannot keep up on 2 cores, so its executor takes frames in bursts, which is what made the
receive-time rate estimate of main report a camera "at 31-56 Hz" while all ran at 10 Hz.
Reported from the node's /diagnostics: frames received per camera, the input rate of each
camera (min/max over the reports after the first 5 s) and the rate_mismatch rejections.

  python benchmarks/bench_rates.py [--fps 10] [--seconds 40] [--source DIR]
--source runs the node of another checkout (e.g. an export of main) for a side-by-side figure.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

CAMERAS = ("cam01", "cam02", "cam03", "cam04")


def _halved_rig():
    import numpy as np

    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.tools.fetch_demo import calibration_path
    rig = load_rig(calibration_path("single"))
    return [replace(c, K=c.K * np.array([[0.5], [0.5], [1.0]]), width=c.width // 2,
                    height=c.height // 2) for c in rig.cameras]


def _publish(source: str, fps: float, seconds: float, ready, done) -> None:
    """The camera process: camera_info and halved demo frames of 4 cameras at `fps`."""
    sys.path.insert(0, source)
    import cv2
    import rclpy
    from rclpy.context import Context
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image

    from pose3d_ros.ros.conversions import camera_model_to_info, image_to_msg
    from pose3d_ros.tools.fetch_demo import video_paths
    cameras = _halved_rig()
    frames = [cv2.resize(cv2.VideoCapture(str(p)).read()[1], None, fx=0.5, fy=0.5,
                         interpolation=cv2.INTER_AREA) for p in video_paths("single")]
    context = Context()
    rclpy.init(context=context)
    node = Node("rate_cameras", context=context)
    images = [node.create_publisher(Image, f"{c.name}/image_raw", qos_profile_sensor_data)
              for c in cameras]
    infos = [node.create_publisher(CameraInfo, f"{c.name}/camera_info",
                                   qos_profile_sensor_data) for c in cameras]
    ready.wait(60)
    start = time.monotonic()
    k = 0
    while time.monotonic() - start < seconds:
        stamp = time.time()
        for camera, image_pub, info_pub, frame in zip(cameras, images, infos, frames,
                                                      strict=True):
            info_pub.publish(camera_model_to_info(camera))
            image_pub.publish(image_to_msg(frame, stamp, camera.frame_id))
        # A camera keeps its frame clock: when this process falls behind, it skips frames
        # rather than sending the late ones back to back.
        k = max(k + 1, int((time.monotonic() - start) * fps) + 1)
        time.sleep(max(start + k / fps - time.monotonic(), 0.0))
    node.destroy_node()
    rclpy.shutdown(context=context)
    done.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    sys.path.insert(0, str(args.source))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from live_harness import run_node_against_publisher
    from rclpy.context import Context
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from pose3d_ros.ros.nodes import Pose3DNode
    from pose3d_ros.tools.fetch_demo import calibration_path
    context = Context()
    rclpy.init(context=context)
    node = Pose3DNode("rate_bench", context=context, parameter_overrides=[
        Parameter("camera_names", value=list(CAMERAS)), Parameter("autostart", value=False),
        Parameter("rig_file", value=str(calibration_path("single"))),
        Parameter("sync.min_views", value=2), Parameter("diagnostics_period_s", value=1.0)])
    probe = Node("rate_probe", context=context)
    reports: list[tuple[float, DiagnosticArray]] = []
    probe.create_subscription(DiagnosticArray, "/diagnostics",
                              lambda m: reports.append((time.monotonic(), m)), 10)
    started = run_node_against_publisher(node, probe, context, _publish,
                                         (str(args.source), args.fps, args.seconds),
                                         settle_s=3.0, timeout_s=args.seconds + 120)
    rates: dict[str, list[float]] = {c: [] for c in CAMERAS}
    mismatch = {c: 0 for c in CAMERAS}
    frames_in = {c: 0 for c in CAMERAS}
    outputs = 0
    for at, report in reports:
        for status in report.status:
            values = {kv.key: kv.value for kv in status.values}
            for camera in CAMERAS:
                if status.name.endswith(f": camera {camera}"):
                    mismatch[camera] = max(mismatch[camera],
                                           int(values.get("rejected_rate_mismatch", 0)))
                    frames_in[camera] = max(frames_in[camera], int(values.get("frames_in", 0)))
                    if at - started > 5.0 and "input_rate_hz" in values:
                        rates[camera].append(float(values["input_rate_hz"]))
            if status.name.endswith(": pipeline"):
                outputs = max(outputs, int(values.get("outputs", 0)))
    print(f"source: {args.source}; 4 cameras published at {args.fps:g} Hz for "
          f"{args.seconds:g} s; {outputs} 3D outputs; load average {os.getloadavg()[0]:.2f}")
    print("| camera | frames received | reported input rate, min-max (Hz) | "
          "rate_mismatch rejections |")
    print("|---|---|---|---|")
    for camera in CAMERAS:
        low, high = (min(rates[camera]), max(rates[camera])) if rates[camera] else (0, 0)
        print(f"| {camera} | {frames_in[camera]} | {low:.1f}-{high:.1f} | "
              f"{mismatch[camera]} |")


if __name__ == "__main__":
    main()
