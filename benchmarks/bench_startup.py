"""Start-up and shut-down of the all-in-one node as a robot meets them: the node's executable
started as its own process (as `ros2 launch` starts it) while a camera driver process already
publishes real demo frames; measured from the process start to its log lines, to the first
published skeleton, and from SIGINT to the process's exit.

  python benchmarks/bench_startup.py --setup one_camera --runs 3
  python benchmarks/bench_startup.py --setup rig --runs 3 --trees /tmp/wtS /work/main

--setup one_camera: config/one_camera.yaml, one raw 1080x1920 camera (demo cam01 as
"camera") at 30 fps, sensor-data QoS. --setup rig: config/demo.yaml with the demo's Qualisys
calibration, four JPEG cameras at 15 fps (the demo launch's replay rate 0.25 of 60 fps),
reliable QoS. --trees runs the node of each checkout in turn (alternated run by run); the
publisher and the probe are this checkout's. Per run it prints: the time (s, from the process
start) of the node's first log line, of `configured`, of `active` and of the first skeleton;
CPU time (s) and peak RSS (MiB) of the node at the first skeleton; the INFO/WARN/ERROR lines
up to then; the time from SIGINT to the process's exit, and any ERROR or traceback it wrote.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", str(101 + os.getpid() % 100))

SETUPS = {
    # name: (parameter file, camera names, transport, QoS, fps)
    "one_camera": ("config/one_camera.yaml", ("camera",), "raw", "sensor_data", 30.0),
    "rig": ("config/demo.yaml", ("cam01", "cam02", "cam03", "cam04"), "compressed",
            "reliable", 15.0),
}
DISTINCT_FRAMES = 30
FIRST_SKELETON_WAIT_S = 60.0
EXIT_WAIT_S = 30.0
LOG_LINE = re.compile(r"^\[(?P<level>[A-Z]+)\] \[(?P<stamp>[0-9.]+)\] \[(?P<name>[^\]]*)\]: "
                      r"(?P<text>.*)$")


def publish(setup: str) -> None:
    """Child process: publish the setup's cameras (real demo frames, stamps = now) and their
    camera_info until killed."""
    import cv2
    import rclpy
    from rclpy.node import Node
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image

    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.image_decode import JPEG_QUALITY
    from pose3d_ros.ros.conversions import (
        RCLPY,
        camera_model_to_info,
        image_to_msg,
        seconds_to_stamp,
    )
    from pose3d_ros.ros.node_input import image_qos
    from pose3d_ros.tools.fetch_demo import calibration_path, video_paths

    _, names, transport, qos_kind, fps = SETUPS[setup]
    rig = load_rig(calibration_path("single"))
    cameras = [dataclasses.replace(c, name=n) for c, n in zip(rig.cameras, names,
                                                                strict=False)]
    captures = [cv2.VideoCapture(str(p)) for p in video_paths("single")[:len(cameras)]]
    rows = [[cap.read()[1] for cap in captures] for _ in range(DISTINCT_FRAMES)]
    if transport == "compressed":
        messages = [[RCLPY.compressed_image(image, 0, c.frame_id, quality=JPEG_QUALITY)
                     for c, image in zip(cameras, row, strict=True)] for row in rows]
    else:
        messages = [[image_to_msg(image, 0.0, c.frame_id)
                     for c, image in zip(cameras, row, strict=True)] for row in rows]
    rclpy.init()
    node = Node("startup_camera_driver")
    qos = image_qos(qos_kind, 4)
    kind, suffix = (CompressedImage, "image_raw/compressed") if transport == "compressed" \
        else (Image, "image_raw")
    pubs = [node.create_publisher(kind, f"{c.name}/{suffix}", qos) for c in cameras]
    info_pubs = [node.create_publisher(CameraInfo, f"{c.name}/camera_info", qos)
                 for c in cameras]
    infos = [camera_model_to_info(c) for c in cameras]
    print("publishing", flush=True)
    start = time.monotonic()
    k = 0
    try:
        while rclpy.ok():
            time.sleep(max(0.0, start + k / fps - time.monotonic()))
            stamp = seconds_to_stamp(time.time())
            for pub, msg, info_pub, info in zip(pubs, messages[k % DISTINCT_FRAMES],
                                                info_pubs, infos, strict=True):
                msg.header.stamp = info.header.stamp = stamp
                pub.publish(msg)
                info_pub.publish(info)
            k += 1
            if os.environ.get("STARTUP_DEBUG"):
                took = time.monotonic() - start - (k - 1) / fps
                subs = pubs[0].get_subscription_count()
                if took > 0.1 or subs != getattr(publish, "subs", 0):
                    print(f"publisher {time.time():.3f}: set {k} took {took:.3f} s, "
                          f"subscribers {subs}", file=sys.stderr, flush=True)
                    publish.subs = subs  # type: ignore[attr-defined]
    except Exception:   # noqa: BLE001 - SIGTERM shut the context down mid-publish
        if rclpy.ok():
            raise


@dataclasses.dataclass
class Run:
    tree: str
    first_log_s: float = float("nan")
    configured_s: float = float("nan")
    active_s: float = float("nan")
    first_skeleton_s: float = float("nan")
    cpu_s: float = float("nan")
    rss_mib: float = float("nan")
    hwm_mib: float = float("nan")
    exit_s: float = float("nan")
    exit_code: int | None = None
    lines: list[tuple[float, str]] = dataclasses.field(default_factory=list)


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def node_ros_args(tree: str, setup: str, detector: str) -> list[str]:
    """The node's --ros-args: the setup's parameter file in `tree`, its cameras, the demo's
    calibration for the rig, the back-end if one is given."""
    config, names, _, _, _ = SETUPS[setup]
    ros_args = ["--ros-args", "--params-file", f"{tree}/{config}",
                "-p", f"camera_names:={list(names)}".replace("'", "")]
    if setup == "rig":
        from pose3d_ros.tools.fetch_demo import calibration_path
        ros_args += ["-p", f"rig_file:={calibration_path('single')}"]
    if detector:
        ros_args += ["-p", f"detector:={detector}"]
    return ros_args


def one_run(tree: str, setup: str, first: threading.Event, detector: str,
            after_s: float) -> Run:
    """Start the node of checkout `tree`, wait for the first skeleton (`first`), let it run
    after_s, SIGINT it, wait for its exit."""
    from pose3d_ros.ros.launch_args import node_memory_profile_environment
    ros_args = node_ros_args(tree, setup, detector)
    # as the launch files start it: with the node's Fast DDS profile (node_memory_profile)
    env = dict(os.environ, **node_memory_profile_environment(
        True, str(REPO / "config" / "fastdds_node.xml"), os.environ),
               PYTHONPATH=f"{tree}:{os.environ.get('PYTHONPATH', '')}",
               PYTHONUNBUFFERED="1", RCUTILS_LOGGING_BUFFERED_STREAM="0",
               RCUTILS_COLORIZED_OUTPUT="0")
    run = Run(tree)
    first.clear()
    start = time.time()
    proc = subprocess.Popen(
        [sys.executable, f"{tree}/bin/pose3d_node", *ros_args], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, cwd=tree,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as launch has it

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            run.lines.append((time.time() - start, line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if first.wait(FIRST_SKELETON_WAIT_S):
        run.first_skeleton_s = first_time[0] - start
        run.cpu_s = proc_cpu_s(proc.pid)
        run.rss_mib = proc_mib(proc.pid, "VmRSS")
        run.hwm_mib = proc_mib(proc.pid, "VmHWM")
    time.sleep(after_s)
    lines_before = len(run.lines)
    stop = time.time()
    proc.send_signal(signal.SIGINT)
    try:
        run.exit_code = proc.wait(EXIT_WAIT_S)
        run.exit_s = time.time() - stop
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reader.join(5)
    for _, line in run.lines:
        if (m := LOG_LINE.match(line)) is None:
            continue
        stamp = float(m["stamp"]) - start
        if run.first_log_s != run.first_log_s:
            run.first_log_s = stamp
        if m["text"].startswith("configured") and run.configured_s != run.configured_s:
            run.configured_s = stamp
        if m["text"].startswith("active") and run.active_s != run.active_s:
            run.active_s = stamp
    run.lines_at_exit = run.lines[lines_before:]   # type: ignore[attr-defined]
    return run


first_time = [0.0]

# In a fresh process of the tree: the start's parts, without DDS traffic (s, perf_counter).
PHASES_CODE = """
import sys, time
t0 = time.perf_counter()
import rclpy
from rclpy.lifecycle import TransitionCallbackReturn as R
t1 = time.perf_counter()
from pose3d_ros.ros.nodes import Pose3DNode
t2 = time.perf_counter()
rclpy.init(args=sys.argv[1:])
node = Pose3DNode()
t3 = time.perf_counter()
assert node.trigger_configure() == R.SUCCESS, node.last_error
t4 = time.perf_counter()
assert node.trigger_activate() == R.SUCCESS
t5 = time.perf_counter()
heavy = [m for m in ("mediapipe", "matplotlib", "onnx", "torch") if m in sys.modules]
print(f"PHASES rclpy import {t1 - t0:.2f}, package import {t2 - t1:.2f}, init + node "
      f"{t3 - t2:.2f}, configure {t4 - t3:.2f}, activate {t5 - t4:.2f} s; loaded {heavy}")
node._stop(); node._release(); node.destroy_node(); rclpy.shutdown()
"""


def phases(tree: str, setup: str, detector: str) -> str:
    """The PHASES line of `tree`'s node configured and activated in a fresh process."""
    ros_args = node_ros_args(tree, setup, detector)
    env = dict(os.environ, PYTHONPATH=f"{tree}:{os.environ.get('PYTHONPATH', '')}")
    result = subprocess.run([sys.executable, "-c", PHASES_CODE, *ros_args], env=env, cwd=tree,
                            capture_output=True, text=True, timeout=120)
    lines = [line for line in result.stdout.splitlines() if line.startswith("PHASES")]
    return lines[0] if lines else result.stderr[-2000:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", choices=sorted(SETUPS), default="one_camera")
    parser.add_argument("--detector", default="", help="override the config's back-end")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--trees", nargs="+", default=[str(REPO)])
    parser.add_argument("--after-s", type=float, default=2.0,
                        help="time the node runs after its first skeleton before SIGINT")
    parser.add_argument("--show-log", action="store_true", help="print every run's log")
    parser.add_argument("--phases", action="store_true",
                        help="only the start's parts in a fresh process per run (no DDS "
                             "traffic): imports, init + node, configure, activate")
    parser.add_argument("--publish", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.publish:
        publish(args.setup)
        return 0
    if args.phases:
        for _ in range(args.runs):
            for tree in args.trees:
                print(f"{tree}: {phases(tree, args.setup, args.detector)}", flush=True)
        return 0

    import rclpy
    from pose3d_ros.msg import Skeleton3DArray
    from rclpy.node import Node

    from pose3d_ros.ros.launch_args import large_image_profile_environment
    from pose3d_ros.ros.node_input import OUTPUT_QOS
    from pose3d_ros.ros.rig_node import SKELETONS_3D_TOPIC

    # the camera driver with the large-image profile, as the launch files start a replay
    publisher = subprocess.Popen(
        [sys.executable, __file__, "--setup", args.setup, "--publish"], stdout=subprocess.PIPE,
        text=True, env=dict(os.environ, **large_image_profile_environment(
            True, str(REPO / "config" / "fastdds_large_images.xml"), os.environ)))
    assert publisher.stdout is not None
    publisher.stdout.readline()        # "publishing"
    rclpy.init()
    probe = Node("startup_probe")
    first = threading.Event()

    def on_skeletons(msg: Skeleton3DArray) -> None:
        if not first.is_set() and msg.skeletons:
            first_time[0] = time.time()
            first.set()

    probe.create_subscription(Skeleton3DArray, SKELETONS_3D_TOPIC, on_skeletons, OUTPUT_QOS)
    spinner = threading.Thread(target=rclpy.spin, args=(probe,), daemon=True)
    spinner.start()
    time.sleep(2.0)
    runs: list[Run] = []
    try:
        for _ in range(args.runs):
            for tree in args.trees:
                run = one_run(tree, args.setup, first, args.detector, args.after_s)
                runs.append(run)
                print(f"{tree}: first log {run.first_log_s:.2f} s, configured "
                      f"{run.configured_s:.2f}, active {run.active_s:.2f}, first skeleton "
                      f"{run.first_skeleton_s:.2f} s; CPU {run.cpu_s:.2f} s, RSS "
                      f"{run.rss_mib:.0f} MiB (peak {run.hwm_mib:.0f}); SIGINT -> exit "
                      f"{run.exit_s:.2f} s (code {run.exit_code})", flush=True)
                at_exit = run.lines_at_exit  # type: ignore[attr-defined]
                bad = [line for _, line in at_exit if "ERROR" in line or "Traceback" in line]
                if bad:
                    print("  at exit:", *bad, sep="\n    ")
                if args.show_log:
                    for t, line in run.lines:
                        print(f"  {t:7.2f} {line}")
    finally:
        publisher.terminate()
        publisher.wait(10)
        probe.destroy_node()
        rclpy.shutdown()
    for tree in args.trees:
        mine = [r for r in runs if r.tree == tree]
        print(f"{tree}: median of {len(mine)}: " + ", ".join(
            f"{name} {statistics.median(getattr(r, name) for r in mine):.2f}"
            for name in ("first_log_s", "configured_s", "active_s", "first_skeleton_s",
                         "cpu_s", "rss_mib", "hwm_mib", "exit_s")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
