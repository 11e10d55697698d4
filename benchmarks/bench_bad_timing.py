"""Bad timing of one camera at the fusion node: do the other cameras' sets still leave at once?

Four stand-in detector computers in a publisher PROCESS send the single demo's real 2D
(Skeleton2DArray of the cached BlazePose detections) and camera_info at 30 Hz, stamped with
the time of sending, into a fusion node in this process (the distributed mode: the node
holds the synchroniser and the triangulation, no image work, so what is measured is the
synchroniser's rules). Each scenario runs 5 s of normal input, then 6 s with cam02 at fault,
then 3 s normal again:
  baseline   nothing wrong
  fast       cam02 at 10x the rate (its ten frames of each period sent interleaved with the
             other cameras')
  stops      cam02 sends nothing
  burst      cam02 holds its frames for 0.4 s at a time and sends them at once
  ahead      cam02's clock 0.5 s ahead (its stamps), after 3 s without it (a restart)
  behind     cam02's clock 0.5 s behind, after 3 s without it
  delayed    cam02's frames arrive 0.3 s late (a congested link)
  slow       cam02 at a third of the rate (10 Hz: every third frame)
  slower     cam02 at a sixth of the rate (5 Hz: every sixth frame)
  lossy      a fifth of cam02's frames lost on the way (which ones: seeded, the same each run)
  lossy_start  the same from the first frame on (the first two phases): the node's first
             sets, before its cameras' arrival lags are known
  slow_joiner  cam02 sends nothing in the first phase, then joins with its frames 60 ms late
             (a slower detector computer, started after the others) to the end
Reported per scenario and phase: 3D outputs and rate, the latency of /skeletons (received
minus stamp: median / p95 / max ms), how many cameras the sets had, and what the node
counted for cam02 on /diagnostics over the phase (rejections and the synchroniser's drops).

  python benchmarks/bench_bad_timing.py [--scenarios fast stops ...] [--timeout-s 0.15]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import threading
import time
from collections import Counter

CAMERAS = ("cam01", "cam02", "cam03", "cam04")
FPS = 30.0
PHASES_S = (5.0, 6.0, 3.0)
SCENARIOS = ("baseline", "fast", "stops", "burst", "ahead", "behind", "delayed", "slow",
             "slower", "lossy", "lossy_start", "slow_joiner")
LOSS_SHARE = 0.2     # of cam02's frames in the lossy scenario


def _fault(scenario: str, phase: int, since_s: float) -> dict:
    """What cam02 does at `since_s` into phase `phase` of `scenario`."""
    if scenario == "lossy_start" and phase < 2:
        return {"lose": LOSS_SHARE}
    if scenario == "slow_joiner":
        return {"off": True} if phase == 0 else {"delay": 0.06}
    if phase != 1 or scenario == "baseline":
        return {}
    if scenario in ("ahead", "behind"):        # a restart: 3 s off, then its clock is off
        if since_s < 3.0:
            return {"off": True}
        return {"offset": 0.5 if scenario == "ahead" else -0.5}
    return {"fast": {"rate": 10}, "stops": {"off": True}, "delayed": {"delay": 0.3},
            "burst": {"hold": since_s % 1.0 < 0.4}, "slow": {"every": 3},
            "slower": {"every": 6}, "lossy": {"lose": LOSS_SHARE}}[scenario]


def _publish(scenario: str, ready, done) -> None:
    """The detector computers: every camera's 2D and camera_info at FPS, cam02 at fault."""
    import rclpy
    from pose3d_ros.msg import Skeleton2DArray
    from rclpy.context import Context
    from rclpy.node import Node
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo
    from std_msgs.msg import Header

    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.detection import DEFAULT_DETECTOR
    from pose3d_ros.core.detection.cache import detect_video_set
    from pose3d_ros.ros.conversions import camera_model_to_info, detections_to_msg, seconds_to_stamp
    from pose3d_ros.tools.fetch_demo import calibration_path, video_paths

    rig = load_rig(calibration_path("single"))
    found = detect_video_set(video_paths("single"), DEFAULT_DETECTOR)
    frames = min(len(track.num_people) for track in found)
    context = Context()
    rclpy.init(context=context)
    node = Node("bad_timing_detectors", context=context)
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    twod = {c: node.create_publisher(Skeleton2DArray, f"{c}/skeletons_2d", reliable)
            for c in CAMERAS}
    infos = {c: node.create_publisher(CameraInfo, f"{c}/camera_info", reliable)
             for c in CAMERAS}
    ready.wait(60)
    held: list = []
    start, k = time.monotonic(), 0
    bounds = [sum(PHASES_S[:i + 1]) for i in range(len(PHASES_S))]
    while (elapsed := time.monotonic() - start) < bounds[-1]:
        phase = next(i for i, end in enumerate(bounds) if elapsed < end)
        fault = _fault(scenario, phase, elapsed - (bounds[phase - 1] if phase else 0.0))
        now = time.time()
        sends = []
        for v, camera in enumerate(CAMERAS):
            infos[camera].publish(camera_model_to_info(rig[camera]))
            detections = found[v].frame(k % frames)
            if camera != "cam02":
                sends.append((camera, now, detections))
            elif not fault.get("off") and k % fault.get("every", 1) == 0 and \
                    not random.Random(k).random() < fault.get("lose", 0.0):
                sends += [(camera, now + r / (FPS * fault.get("rate", 1))
                           + fault.get("offset", 0.0), detections)
                          for r in range(fault.get("rate", 1))]
        for camera, stamp, detections in sends:
            message = detections_to_msg(detections, Header(stamp=seconds_to_stamp(stamp),
                                                           frame_id=rig[camera].frame_id))
            if camera != "cam02":
                twod[camera].publish(message)
            elif fault.get("hold"):
                held.append(message)
            elif fault.get("delay"):
                threading.Timer(fault["delay"], twod[camera].publish, (message,)).start()
            else:
                for earlier in held:
                    twod[camera].publish(earlier)
                held.clear()
                twod[camera].publish(message)
        k += 1
        time.sleep(max(start + k / FPS - time.monotonic(), 0.0))
    time.sleep(0.5)
    node.destroy_node()
    rclpy.shutdown(context=context)
    done.set()


def _run(scenario: str, timeout_s: float) -> list[dict]:
    """One scenario: the fusion node here, the detectors in another process."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from live_harness import run_node_against_publisher
    from pose3d_ros.msg import Skeleton3DArray
    from rclpy.context import Context
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from pose3d_ros.ros.conversions import stamp_to_seconds
    from pose3d_ros.ros.nodes import FusionNode
    from pose3d_ros.tools.fetch_demo import calibration_path

    context = Context()
    rclpy.init(context=context)
    fusion = FusionNode(context=context, parameter_overrides=[
        Parameter("camera_names", value=list(CAMERAS)), Parameter("autostart", value=False),
        Parameter("rig_file", value=str(calibration_path("single"))),
        Parameter("sync.min_views", value=2), Parameter("sync.timeout_s", value=timeout_s),
        Parameter("diagnostics_period_s", value=0.5)])
    probe = Node("bad_timing_probe", context=context)
    outputs: list[tuple[float, float, int]] = []
    counts: list[tuple[float, dict[str, int]]] = []   # cam02's rejected_* / dropped_* keys

    def on_output(message) -> None:
        outputs.append((time.monotonic(), time.time() - stamp_to_seconds(message.header.stamp),
                        len(message.cameras)))

    def on_diagnostics(message) -> None:
        for status in message.status:
            values = {kv.key: kv.value for kv in status.values}
            if status.name.endswith("camera cam02"):
                counts.append((time.monotonic(), {
                    key: int(value) for key, value in values.items()
                    if key.startswith(("rejected_", "dropped_")) and value.isdigit()}))

    probe.create_subscription(Skeleton3DArray, "skeletons", on_output,
                              QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    probe.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)
    started = run_node_against_publisher(fusion, probe, context, _publish, (scenario,),
                                         settle_s=4.0,    # the detectors load their 2D
                                         timeout_s=sum(PHASES_S) + 120)
    rows, begin = [], started
    for phase, length in enumerate(PHASES_S):
        end = begin + length
        inside = [(latency, views) for at, latency, views in outputs if begin <= at < end]
        latencies = sorted(1000 * latency for latency, _ in inside)
        at_start = ([c for at, c in counts if at <= begin] or [{}])[-1]
        at_end = ([c for at, c in counts if at <= end] or [{}])[-1]
        told = {key: at_end[key] - at_start.get(key, 0) for key in sorted(at_end)
                if at_end[key] > at_start.get(key, 0)}
        rows.append({
            "scenario": scenario, "phase": ("before", "cam02 at fault", "after")[phase],
            "outputs": len(inside), "hz": len(inside) / length,
            "latency": (statistics.median(latencies),
                        latencies[int(0.95 * (len(latencies) - 1))], latencies[-1])
            if latencies else None,
            "views": dict(sorted(Counter(views for _, views in inside).items())),
            "told": ", ".join(f"{key} +{n}" for key, n in told.items())})
        begin = end
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--timeout-s", type=float, default=0.15,
                        help="sync.timeout_s (config/distributed.yaml's 0.15 by default)")
    args = parser.parse_args()
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
          f"{os.getloadavg()[0]:.2f}, sync.timeout_s {args.timeout_s:g}, 4 cameras at "
          f"{FPS:g} Hz, phases {PHASES_S} s")
    print("| scenario | phase | 3D outputs | Hz | latency median / p95 / max (ms) | "
          "cameras per set: sets | cam02 on /diagnostics, counted in the phase |")
    print("|---|---|---|---|---|---|---|")
    for scenario in args.scenarios:
        for row in _run(scenario, args.timeout_s):
            latency = "/".join(f"{x:.1f}" for x in row["latency"]) if row["latency"] else "-"
            views = ", ".join(f"{k}: {v}" for k, v in row["views"].items())
            print(f"| {row['scenario']} | {row['phase']} | {row['outputs']} | "
                  f"{row['hz']:.1f} | {latency} | {views} | {row['told']} |", flush=True)


if __name__ == "__main__":
    main()
