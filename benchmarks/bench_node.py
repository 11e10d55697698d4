"""Benchmark of the all-in-one node: latency, sustained rate, drops, per-stage split, floor.

Part 1 (live, real DDS): for 1, 2 and 4 cameras of the demo recording and each 2D back-end
(--detectors), a publisher PROCESS (as camera drivers are) streams --frames frame sets at --fps
with header stamps = the publication time (frames played forwards and backwards through
--distinct-frames frames, as prebuilt messages, so the publisher costs little CPU); the node runs
in this process with a probe that receives its output. Reported: outputs per second while
streaming (sustained rate), latency from image stamp to the arrival of the 3D message (median,
90th and 99th percentile), frame sets dropped (sent - outputs; in brackets the frames the
synchroniser dropped, by reason), the node's mean time per stage
from its diagnostics, and the floor measured in the same run on the same frames before the live
runs (landmark model only, ROIs from the previous frame, crops batched, all cores:
landmark_floor.py) with the ratios median latency / floor and processing time / floor, and
the same floor with its calls started at the input's cadence (--fps; a model that idles
between frames runs slower on this VM, and the node is fed at that cadence) with the ratio
processing time / that floor. Wall time grows when other processes take cores (on 2 cores, the
publisher and the ingest took about 0.55 of them at 4 cameras in session 41), so the CPU time
follows: the node's processing threads' CPU per output (processing_cpu_ms: all but the
executor, DDS and this script's main thread) against the process CPU per call of the floor at
the input's cadence (model threads and their idle spinning included on both sides).
`images taken` counts the images the node took from DDS and accepted while streaming (with
skip_images_while_busy, the default, images that arrive while a set is processed stay in DDS,
where the newer ones replace them: fewer are taken by design; `--skip-images-while-busy false`
takes every image that arrives); the publisher sends each camera's camera_info with every
image, as camera drivers do, and `rejected input` gives the node's counts by reason (e.g.
images_lost).
Where a set's latency goes: `arrive` (capture stamp to the set's first image in the node:
publisher, DDS, executor), `gather` (first to last image of the set in the node), `wait` (first
image to the start of processing; includes gather), the processing stages, `publish`. And the
cores each thread role used while streaming (node process: executor, processing thread,
detection pool, DDS and model threads by name; the publisher process), from /proc.
`--detection-nice N` also runs each configuration with every thread of the node's process but
the executor's and DDS's N nicer (an experiment: ingest before detection).
`--dds-profile none config/fastdds_large_images.xml` runs everything once per Fast DDS profile
(FASTRTPS_DEFAULT_PROFILES_FILE of the node's and the publisher's process; Fast DDS reads it
once per process, so each profile runs in a fresh process of this script, one after the other).
`--image-qos sensor_data` makes the publisher and the node best effort (the node's default, and
what camera drivers publish with); the default here is reliable on both sides.

Part 2 (node overhead): everything the node does per 4-camera frame set except the 2D network,
timed over --iterations repetitions on real detections of demo frames.

Soak (--soak-minutes M): 4 cameras at --soak-fps (10) for M minutes with the default detector;
per minute: outputs, rate, latency median/p99, drops, RSS of this process (node + probe) with
its anonymous and DDS shared-memory parts, and glibc's heap (in use, free but kept, mmap);
then the first 5 minutes against the last 5 (first and last third when M < 15).

  python benchmarks/bench_node.py [--cameras 1 2 4] [--frames 300] [--fps 30]
      [--detectors blazepose_multi blazepose blazepose_onnx] [--iterations 200] [--live-only]
      [--detection-nice 0 5] [--dds-profile none config/fastdds_large_images.xml]
  python benchmarks/bench_node.py --soak-minutes 30
      [--node-dds-profile config/fastdds_node.xml]   # the node's process only (docs/nodes.md)
Prints markdown tables (paste into benchmarks/results_nodes.md).
"""
from __future__ import annotations

import argparse
import ctypes
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's sources
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
# A DDS domain of its own (inherited by the publisher process): other ROS processes on this
# host (tests, other benchmarks) publish on the same camera topics in the default domain.
os.environ.setdefault("ROS_DOMAIN_ID", str(101 + os.getpid() % 100))

import rclpy  # noqa: E402
from pose3d_ros.msg import Skeleton3DArray  # noqa: E402
from rclpy.context import Context  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, CompressedImage, Image  # noqa: E402

from pose3d_ros.core.body_frame import body_frames  # noqa: E402
from pose3d_ros.core.calibration import load_rig  # noqa: E402
from pose3d_ros.core.detection import DEFAULT_DETECTOR  # noqa: E402
from pose3d_ros.core.detection.parallel import DETECTION_POOL_PREFIX  # noqa: E402
from pose3d_ros.core.image_decode import JPEG_QUALITY, decode_image  # noqa: E402
from pose3d_ros.core.pipeline import Pose3DPipeline, create_detectors  # noqa: E402
from pose3d_ros.core.sync import FrameSynchronizer  # noqa: E402
from pose3d_ros.ros.conversions import (  # noqa: E402
    RCLPY,
    camera_model_to_info,
    image_to_msg,
    seconds_to_stamp,
    skeletons3d_to_msg,
    stamp_to_seconds,
)
from pose3d_ros.ros.launch_args import (  # noqa: E402
    FASTDDS_PROFILE_VARIABLES,
    node_memory_profile_environment,
)
from pose3d_ros.ros.node_base import (  # noqa: E402
    ALLOCATOR_POLICIES,
    MEMORY_TRIM_PERIOD_S,
    heap_usage_bytes,
    set_allocator_policy,
)
from pose3d_ros.ros.node_input import image_qos  # noqa: E402
from pose3d_ros.ros.nodes import Pose3DNode  # noqa: E402
from pose3d_ros.ros.tf import people_transforms  # noqa: E402
from pose3d_ros.ros.visualization import skeleton_markers  # noqa: E402
from pose3d_ros.tools.fetch_demo import calibration_path, video_paths  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from landmark_floor import floor_ms, landmark_only_run  # noqa: E402
from process_memory import status_mib  # noqa: E402

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
TRANSPORTS = ("raw", "compressed")
PROFILE_VARIABLE = FASTDDS_PROFILE_VARIABLES[0]   # the one the launch files set too
WARM_UP_S = 30.0   # longest wait for the node's first output (< the publisher's 20 + 30 s)


def read_frames(count: int, recording: str = "single") -> list[list[np.ndarray]]:
    captures = [cv2.VideoCapture(str(p)) for p in video_paths(recording)]
    frames = [[cap.read()[1] for cap in captures] for _ in range(count)]
    return frames


def ping_pong_index(k: int, distinct: int) -> int:
    """Frame index k of a stream going forwards then backwards through `distinct` frames."""
    if distinct <= 1:
        return 0
    period = 2 * distinct - 2
    k %= period
    return k if k < distinct else period - k


def compressed_msg(image: np.ndarray, frame_id: str) -> CompressedImage:
    """A JPEG sensor_msgs/CompressedImage of a BGR image at image_transport's default
    quality (the package's message builder)."""
    return RCLPY.compressed_image(image, 0, frame_id, quality=JPEG_QUALITY)


def _end_with_parent() -> None:
    """Have the kernel kill this child process when its parent ends, however it ends (Linux
    prctl PR_SET_PDEATHSIG; SIGKILL, as rclpy handles SIGTERM by shutting its context down
    and the publishing loop went on): a benchmark killed by a signal once left its publisher
    publishing four cameras for 30 minutes into the machine's later measurements (session
    15). Its shared-memory files stay in /dev/shm (docs/nodes.md: remove fastrtps_* files)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)    # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):     # not Linux: end with the parent only when it exits
        return
    if os.getppid() == 1:                 # the parent ended before the call
        os._exit(1)


def _publish_frames(num_cameras: int, count: int, fps: float, distinct: int, warmed,
                    done, transport: str = "raw", qos_kind: str = "reliable") -> None:
    """Child process: publish `count` frame sets of the demo at `fps` (stamps = now) on
    <camera>/image_raw (or <camera>/image_raw/compressed, JPEG, with transport "compressed"),
    after warm-up sets until the parent sets `warmed`; QoS: node_input.image_qos(qos_kind)."""
    import rclpy as child_rclpy
    _end_with_parent()
    rig = load_rig(calibration_path("single"))
    cameras = rig.cameras[:num_cameras]
    make = compressed_msg if transport == "compressed" \
        else (lambda image, frame_id: image_to_msg(image, 0.0, frame_id))
    messages = [[make(image, camera.frame_id)
                 for camera, image in zip(cameras, row, strict=False)]
                for row in read_frames(distinct)]
    child_rclpy.init()
    node = Node("bench_camera_driver")
    qos = image_qos(qos_kind, RELIABLE.depth)
    if transport == "compressed":
        pubs = [node.create_publisher(CompressedImage, f"{c.name}/image_raw/compressed",
                                      qos) for c in cameras]
    else:
        pubs = [node.create_publisher(Image, f"{c.name}/image_raw", qos) for c in cameras]
    deadline = time.monotonic() + 20
    while any(p.get_subscription_count() == 0 for p in pubs) and time.monotonic() < deadline:
        time.sleep(0.05)

    # As camera drivers do, each image goes with its camera's camera_info (same stamp).
    info_pubs = [node.create_publisher(CameraInfo, f"{c.name}/camera_info", qos)
                 for c in cameras]
    infos = [camera_model_to_info(c) for c in cameras]

    def publish(row) -> None:
        stamp = seconds_to_stamp(time.time())
        for pub, msg, info_pub, info in zip(pubs, row, info_pubs, infos, strict=True):
            msg.header.stamp = info.header.stamp = stamp
            pub.publish(msg)
            info_pub.publish(info)

    try:
        while not warmed.is_set() and time.monotonic() < deadline + 30:
            publish(messages[0])          # warm-up: the first detection loads the models
            warmed.wait(2.0)
        start = time.monotonic()
        for k in range(count):
            time.sleep(max(0.0, start + k / fps - time.monotonic()))
            publish(messages[ping_pong_index(k, distinct)])
    finally:
        done.set()
        node.destroy_node()
        child_rclpy.shutdown()


class OutputRecord:
    """(latency s, people, receive time s, views) of every output, in an array allocated once, so
    that a soak's own record does not grow this process's RSS while it is measured (a list
    of tuples grows by about 140 bytes per output: 2.5 MiB over a 30-minute soak)."""

    def __init__(self, capacity: int) -> None:
        self._rows = np.zeros((max(capacity, 16), 4))
        self._count = 0

    def append(self, latency_s: float, people: int, received_s: float, views: int = 0) -> None:
        if self._count == len(self._rows):       # more outputs than expected: double it
            self._rows = np.concatenate([self._rows, np.zeros_like(self._rows)])
        self._rows[self._count] = latency_s, people, received_s, views
        self._count += 1

    def clear(self) -> None:
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def rows(self) -> np.ndarray:
        """(N, 4): latency s, people, receive time s, the most views of any joint (the set's
        cameras that saw someone: fewer than the rig's when a set left short)."""
        return self._rows[:self._count]


MEMORY_COLUMNS = ("RSS", "anonymous", "shared memory", "heap in use", "heap kept", "mmap")


def memory_sample_mib() -> tuple[float, ...]:
    """This process's memory, MiB, in MEMORY_COLUMNS' order: RSS, its anonymous and
    shared-memory parts, and glibc's heap account (node_base.heap_usage_bytes: in use from
    the heaps, free but kept in them, in use from mmap; NaN without glibc 2.33+)."""
    heap = heap_usage_bytes()
    in_use, kept, mapped = (b / 2**20 for b in heap) if heap else (float("nan"),) * 3
    return (*status_mib("VmRSS", "RssAnon", "RssShmem"), in_use, kept, mapped)


def thread_cpu_s(pid: int | str = "self") -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) so far of every thread of a process: tid -> (name, s)."""
    tick = os.sysconf("SC_CLK_TCK")
    times = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:          # the thread ended meanwhile
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        times[int(task.name)] = (name, (int(fields[11]) + int(fields[12])) / tick)
    return times


def cpu_by_role(before: dict, after: dict, roles: dict[int, str]) -> dict[str, float]:
    """CPU seconds between two thread_cpu_s() samples, summed per role: the threads named in
    `roles` (tid -> role), the others by their thread name."""
    spent: dict[str, float] = {}
    for tid, (name, seconds) in after.items():
        role = roles.get(tid, name)
        spent[role] = spent.get(role, 0.0) + seconds - before.get(tid, (name, 0.0))[1]
    return spent


NOT_PROCESSING = ("executor (callbacks)", "benchmark main thread")


def processing_cpu_ms(spent: dict[str, float], outputs: int) -> float:
    """CPU milliseconds per output of the node's processing: every thread of this process
    (cpu_by_role's seconds by role) but the executor's (ingest, the probe), DDS's (`dds.*`)
    and the benchmark's main thread: the processing thread, the detection pool and the
    model's threads. Unlike wall time, it does not grow when the publisher process and the
    ingest take cores from the 2D network (#13: on 2 cores, about 0.55 of them at 4 cameras,
    results_realtime.md session 41)."""
    busy = sum(seconds for role, seconds in spent.items()
               if role not in NOT_PROCESSING and not role.startswith("dds."))
    return busy * 1000 / outputs if outputs else float("nan")


def renice_threads(niceness: int, keep: set[int]) -> int:
    """Raise the nice value of every thread of this process but `keep` and DDS's own
    threads by `niceness` (Linux: nice is per thread); returns how many were changed."""
    changed = 0
    for tid, (name, _) in thread_cpu_s().items():
        if tid in keep or name.startswith("dds."):
            continue
        try:
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + niceness)
            changed += 1
        except OSError:      # the thread ended meanwhile
            continue
    return changed


def live(num_cameras: int, count: int, fps: float, detector: str = DEFAULT_DETECTOR,
         distinct: int = 24, sample_memory_s: float = 0.0, detection_nice: int = 0,
         allocator: str = "keep", transport: str = "raw", decode_min_side: int = 0,
         qos_kind: str = "reliable", skip_busy: bool = True,
         background_search: bool = True) -> dict:
    """Stream `count` frame sets into the node at `fps` from another process (raw Image or
    JPEG CompressedImage messages: `transport`, decoded by the node at reduced size down to
    `decode_min_side` px: compressed_decode_min_side_px); latency, rate, drops and stage
    means (and memory samples, memory_sample_mib, every sample_memory_s seconds when > 0).
    skip_busy: the node's skip_images_while_busy; background_search: its
    person_search_in_background."""
    rig = load_rig(calibration_path("single"))
    cameras = rig.cameras[:num_cameras]
    context = Context()
    rclpy.init(context=context)
    overrides = {"camera_names": [c.name for c in cameras], "autostart": False,
                 "rig_file": str(calibration_path("single")), "image_qos": qos_kind,
                 "sync.min_views": min(2, num_cameras), "sync.slop_s": 0.004,
                 "sync.timeout_s": 0.1, "detector": detector,   # detector_per_camera: default
                 "image_transport": transport,
                 "compressed_decode_min_side_px": decode_min_side,
                 "skip_images_while_busy": skip_busy,
                 "person_search_in_background": background_search}
    if num_cameras == 1:
        overrides["monocular_method"] = "detector_3d"
    node = Pose3DNode(context=context, parameter_overrides=[
        Parameter(k, value=v) for k, v in overrides.items()])
    set_allocator_policy(allocator)     # after the node's own call: this run's policy
    probe = Node("bench_probe", context=context)
    received = OutputRecord(count + 1000)     # + the warm-up's outputs
    memory: list[tuple[float, ...]] = []     # (s since start, *memory_sample_mib())

    def on_output(msg: Skeleton3DArray) -> None:
        now = time.time()
        received.append(now - stamp_to_seconds(msg.header.stamp),
                        len(msg.skeletons), now,
                        max((max(p.num_views, default=0) for p in msg.skeletons), default=0))

    probe.create_subscription(Skeleton3DArray, "skeletons", on_output, RELIABLE)
    infos = {c.name: probe.create_publisher(CameraInfo, f"{c.name}/camera_info", RELIABLE)
             for c in cameras}
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    executor.add_node(probe)
    result: dict = {"cameras": num_cameras, "detector": detector, "transport": transport,
                    "decode_min_side": decode_min_side, "skip_busy": skip_busy,
                    "background_search": background_search}
    spawn = multiprocessing.get_context("spawn")
    warmed, done = spawn.Event(), spawn.Event()
    driver = spawn.Process(target=_publish_frames,
                           args=(num_cameras, count, fps, distinct, warmed, done, transport,
                                 qos_kind))
    try:
        if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
            raise RuntimeError(node.last_error)
        node.trigger_activate()
        spinning = threading.Thread(target=executor.spin, daemon=True)
        spinning.start()
        deadline = time.monotonic() + 10
        while not all(c.calibrated for c in node.health.cameras.values()):
            for camera in cameras:
                infos[camera.name].publish(camera_model_to_info(camera))
            time.sleep(0.1)
            if time.monotonic() > deadline:
                raise RuntimeError("camera_info not taken")
        start_publisher(driver)
        # Warm-up until the first output; images that never arrive (e.g. raw best-effort
        # images over Fast DDS's defaults) end it after WARM_UP_S with nothing received.
        warm_up_end = time.monotonic() + WARM_UP_S
        while not received and driver.is_alive() and time.monotonic() < warm_up_end:
            time.sleep(0.05)
        time.sleep(0.5)                 # let the warm-up sets drain
        if detection_nice:              # every thread but the executor's and DDS's
            renice_threads(detection_nice, {spinning.native_id})
        received.clear()
        node.health._timings.clear()
        # the rejections of the measured window only: a publisher process slower to start
        # than the node's 5 s no_publisher check was reported as a rejected input (a review)
        rejected_before = Counter()
        for health in node.health.cameras.values():
            rejected_before.update(health.rejected)
        started = time.time()
        cpu_before = (thread_cpu_s(), thread_cpu_s(driver.pid), time.monotonic())
        images_before = sum(cam.frames_in for cam in node.sync.state.values())
        sync_drops_before = sum((cam.drops for cam in node.sync.state.values()), Counter())
        warmed.set()
        while not done.wait(sample_memory_s or 1.0):
            if sample_memory_s:
                memory.append((time.time() - started, *memory_sample_mib()))
        cpu_after = (thread_cpu_s(), thread_cpu_s(driver.pid), time.monotonic())
        stopped = time.time()           # the outputs after it are not in the CPU window
        time.sleep(1.0)
        images_in = sum(cam.frames_in for cam in node.sync.state.values()) - images_before
        sync_drops = sum((cam.drops for cam in node.sync.state.values()), Counter()) \
            - sync_drops_before
        roles = {t.native_id: "detection pool" for t in threading.enumerate()
                 if t.name.startswith(DETECTION_POOL_PREFIX)}
        roles.update({spinning.native_id: "executor (callbacks)",
                      node._worker.native_id: "processing thread",
                      threading.main_thread().native_id: "benchmark main thread"})
        window = cpu_after[2] - cpu_before[2]
        spent = cpu_by_role(cpu_before[0], cpu_after[0], roles)
        cores = {role: seconds / window for role, seconds in spent.items()}
        cores["publisher process"] = sum(
            cpu_by_role(cpu_before[1], cpu_after[1], {}).values()) / window
        rows = received.rows
        latencies = rows[:, 0] * 1000
        counted: Counter = Counter()
        for health in node.health.cameras.values():
            counted.update(health.rejected)
        rejected = {reason: times for reason, times in (counted - rejected_before).items()}
        result.update(sent=count, outputs=len(received), images_in=images_in, rejected=rejected,
                      sync_drops=dict(sync_drops),
                      rate_hz=(len(rows) - 1) / (rows[-1, 2] - rows[0, 2])
                      if len(rows) > 1 else 0.0,
                      latency_ms=latencies,
                      received_at=rows[:, 2] - started,
                      people=float(rows[:, 1].mean()) if len(rows) else 0.0,
                      views=Counter(int(v) for v in rows[rows[:, 1] > 0, 3]),
                      stages=node.health.stage_means_ms(), memory=memory, cores=cores,
                      processing_cpu_ms=processing_cpu_ms(
                          spent, int((rows[:, 2] <= stopped).sum())))
    finally:
        driver.join(10)
        executor.shutdown()
        node.destroy_node()
        probe.destroy_node()
        rclpy.shutdown(context=context)
    return result


def percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def overhead(frames, iterations: int, recording: str = "single",
             detector: str = "blazepose") -> dict[str, float]:
    """Mean ms per 4-camera set of everything but the 2D network."""
    rig = load_rig(calibration_path(recording))
    names = rig.names
    detectors = create_detectors(detector, len(names))
    pipeline = Pose3DPipeline(names, {c.name: c for c in rig}, detectors, frame_id=rig.frame_id)
    sets = []
    for k, row in enumerate(frames):
        found = {n: detectors[v].detect([row[v]])[0] for v, n in enumerate(names)}
        msgs = [image_to_msg(row[v], 100.0 + k / 60, rig[n].frame_id) for v, n in enumerate(names)]
        sets.append((found, msgs))
    sync = FrameSynchronizer(names, slop_s=0.004, min_views=2)
    totals: dict[str, list[float]] = {}
    for i in range(iterations):
        found, msgs = sets[i % len(sets)]
        stamp = 100.0 + i / 60
        t0 = time.perf_counter()
        for n, msg in zip(names, msgs, strict=True):
            decode_image(msg.encoding, msg.width, msg.height, msg.step, msg.data)
            sync.add(n, stamp, None, time.monotonic())
        sync.pop_latest()
        t1 = time.perf_counter()
        result = pipeline.process_detections(found, stamp)
        t2 = time.perf_counter()
        stamp_msg = seconds_to_stamp(stamp)
        bodies = body_frames(result.skeletons.positions, result.skeletons.layout)
        skeletons3d_to_msg(result.skeletons, stamp_msg, names, bodies)
        skeleton_markers(result.skeletons, stamp_msg)
        people_transforms(result.skeletons, stamp_msg, frames=bodies)
        t3 = time.perf_counter()
        stages = {k: v for k, v in result.timings.items() if k != "total"}
        row = {"people": result.skeletons.num_people, "decode + sync": t1 - t0, **stages,
               "messages (3D, markers, TF)": t3 - t2, "total": t3 - t0}
        for key, value in row.items():
            totals.setdefault(key, []).append(value if key == "people" else value * 1000)
    pipeline.close()
    return {k: float(np.mean(v)) for k, v in totals.items()}


def print_live(rows: list[dict], floors: dict[int, tuple[float, str]],
               paced: dict[int, float], fps: float) -> None:
    """One table row per live run: rate, latency, the floors (back to back and at the input's
    cadence, landmark_floor.py) and the ratios to them, the node's mean ms per stage."""
    stages = sorted({st for r in rows for st in r.get("stages", {})})
    print("| detector | cameras | images taken / sent | outputs / sets sent | dropped | "
          "rejected input | rate (Hz) | "
          "latency median / p90 / "
          f"p99 (ms) | floor (ms) | latency / floor | processing / floor | floor at {fps:g} "
          f"fps (ms) | processing / floor at {fps:g} fps | "
          + " | ".join(f"{st} (ms)" for st in stages) + " |")
    print("|---" * (13 + len(stages)) + "|")
    for r in rows:
        floor, floor_paced = floors[r["cameras"]][0], paced[r["cameras"]]
        lat = r["latency_ms"]
        processing = r["stages"].get("total", float("nan"))
        label = r["detector"] + (f" (nice +{r['nice']})" if r.get("nice") else "") \
            + (f" [{r['allocator']}]" if r.get("allocator", "keep") != "keep" else "") \
            + (f" ({r['transport']})" if r.get("transport", "raw") != "raw" else "") \
            + (f" (decode >= {r['decode_min_side']} px)" if r.get("decode_min_side") else "") \
            + ("" if r.get("skip_busy", True) else " (takes every image)") \
            + ("" if r.get("background_search", True) else " (search within the frame)")
        print(f"| {label} | {r['cameras']} | {r.get('images_in', 0)} / "
              f"{r['sent'] * r['cameras']} | {r['outputs']} / {r['sent']} | "
              f"{r['sent'] - r['outputs']}"
              + (f" (frames: {', '.join(f'{k} {v}' for k, v in sorted(r['sync_drops'].items()))})"
                 if r.get("sync_drops") else "") + " | "
              f"{', '.join(f'{k} {v}' for k, v in sorted(r.get('rejected', {}).items())) or 'none'}"
              f" | {r['rate_hz']:.1f} | "
              f"{percentile(lat, 50):.0f} / {percentile(lat, 90):.0f} / "
              f"{percentile(lat, 99):.0f} | {floor:.1f} | {percentile(lat, 50) / floor:.2f} | "
              f"{processing / floor:.2f} | {floor_paced:.1f} | {processing / floor_paced:.2f} | "
              + " | ".join(f"{r['stages'].get(st, float('nan')):.1f}" for st in stages) + " |")


def print_cpu(rows: list[dict], floor_cpu: dict[int, float], fps: float) -> None:
    """CPU per set against CPU per call of the floor at the input's cadence: the node's cost
    beside its 2D network's, whatever the other processes on the machine take."""
    print(f"\nCPU per set (processing_cpu_ms) against the floor's CPU per call at {fps:g} fps")
    print("| detector | cameras | node processing CPU (ms / set) | floor CPU (ms / call) | "
          "ratio |")
    print("|---|---|---|---|---|")
    for r in rows:
        floor = floor_cpu[r["cameras"]]
        node = r.get("processing_cpu_ms", float("nan"))
        print(f"| {r['detector']} ({r.get('transport', 'raw')}) | {r['cameras']} | "
              f"{node:.1f} | {floor:.1f} | {node / floor:.2f} |")


def print_views(rows: list[dict]) -> None:
    """Outputs with someone in them by the most views any joint was triangulated from: a
    set that left short of cameras gives fewer views than the rig has; and views a second
    (the output rate times their mean), which compares synchroniser policies that trade sets
    for views (sync.complete_after_resume)."""
    print("\nOutputs by the most views of a joint (outputs with people)")
    for r in rows:
        views = r.get("views", {})
        outputs = r.get("outputs", 0)          # views of outputs with people, over all outputs
        per_second = (r["rate_hz"] * sum(k * v for k, v in views.items()) / outputs
                      if outputs and "rate_hz" in r else float("nan"))
        print(f"- {r['detector']}, {r['cameras']} camera(s): "
              + (", ".join(f"{k} views {v}" for k, v in sorted(views.items())) or "none")
              + f"; views a second {per_second:.1f}")


def print_cores(rows: list[dict], shown: int = 6) -> None:
    """Cores used while streaming, per thread role of the node's process (the busiest
    `shown` roles, the rest summed) and by the publisher process."""
    print("\nCores used while streaming (CPU seconds per second; 2 = both cores busy)")
    for r in rows:
        cores = dict(r.get("cores", {}))
        publisher = cores.pop("publisher process", float("nan"))
        ranked = sorted(cores.items(), key=lambda item: -item[1])
        rest = sum(v for _, v in ranked[shown:])
        cells = ", ".join(f"{role} {value:.2f}" for role, value in ranked[:shown])
        print(f"- {r['detector']} [{r.get('allocator', 'keep')}, {r.get('transport', 'raw')}], "
              f"{r['cameras']} camera(s): "
              f"node process "
              f"{sum(cores.values()):.2f} ({cells}, other threads {rest:.2f}); publisher "
              f"process {publisher:.2f}")


def soak(minutes: float, fps: float, detector: str, distinct: int,
         transport: str = "raw", background_search: bool = True) -> None:
    """4 cameras for `minutes` at `fps`: per-minute rate, latency, drops and RSS; first 5 vs
    last 5 minutes (thirds when shorter than 15 minutes). background_search: the node's
    person_search_in_background."""
    count = int(minutes * 60 * fps)
    r = live(4, count, fps, detector, distinct, sample_memory_s=10.0, transport=transport,
             background_search=background_search)
    at, lat = r["received_at"], r["latency_ms"]
    memory = (np.array(r["memory"]) if r["memory"]
              else np.zeros((0, 1 + len(MEMORY_COLUMNS))))
    print(f"## Soak: 4 cameras at {fps:g} fps ({transport}) for {minutes:g} min, {detector}"
          f"{'' if background_search else ' (person search within the frame)'}: "
          f"{r['outputs']} outputs of {count} sets sent")
    print("Memory (MiB) at each minute's last sample (every 10 s): RSS, its anonymous and "
          "shared-memory (DDS segments) parts, glibc's heap (in use / free but kept / mmap; "
          f"the node trims the heap every {MEMORY_TRIM_PERIOD_S:g} s)\n")
    print("| minute | outputs | rate (Hz) | dropped | latency median (ms) | p99 (ms) | "
          + " | ".join(MEMORY_COLUMNS) + " |")
    print("|---|---|---|---|---|---|" + "---|" * len(MEMORY_COLUMNS))
    for m in range(int(np.ceil(minutes))):
        length_s = min(60.0, 60 * (minutes - m))     # the last minute may be a part of one
        mine = (at >= 60 * m) & (at < 60 * m + length_s)
        upto = memory[memory[:, 0] < 60 * m + length_s]
        end = upto[-1, 1:] if len(upto) else np.full(len(MEMORY_COLUMNS), np.nan)
        print(f"| {m + 1} | {int(mine.sum())} | {mine.sum() / length_s:.1f} | "
              f"{int(round(fps * length_s) - mine.sum())} | {percentile(lat[mine], 50):.0f} | "
              f"{percentile(lat[mine], 99):.0f} | " + " | ".join(f"{v:.1f}" for v in end)
              + " |")
    span = 5.0 if minutes >= 15 else minutes / 3
    first, last = at < 60 * span, at >= 60 * (minutes - span)
    mem_first = memory[memory[:, 0] < 60 * span, 1:].mean(axis=0)
    mem_last = memory[memory[:, 0] >= 60 * (minutes - span), 1:].mean(axis=0)
    print(f"\nfirst {span:g} min: latency median {percentile(lat[first], 50):.0f} ms, p99 "
          f"{percentile(lat[first], 99):.0f} ms, RSS {mem_first[0]:.0f} MiB; last "
          f"{span:g} min: median {percentile(lat[last], 50):.0f} ms, p99 "
          f"{percentile(lat[last], 99):.0f} ms, RSS {mem_last[0]:.0f} MiB; RSS growth "
          f"{100 * (mem_last[0] / mem_first[0] - 1):+.1f} %, p99 change "
          f"{100 * (percentile(lat[last], 99) / percentile(lat[first], 99) - 1):+.1f} %")
    print(f"means of the first / last {span:g} min (MiB): " + ", ".join(
        f"{name} {a:.1f} / {b:.1f}" for name, a, b in zip(MEMORY_COLUMNS, mem_first, mem_last,
                                                         strict=True)))


def use_dds_profile(profile: str) -> None:
    """Give this process and the publisher it spawns the Fast DDS profile (before any DDS
    participant exists: Fast DDS reads the file once); 'none' clears it."""
    if profile == "none":
        os.environ.pop(PROFILE_VARIABLE, None)
        return
    path = Path(profile).resolve()
    if not path.is_file():
        raise SystemExit(f"--dds-profile {profile}: no such file")
    os.environ[PROFILE_VARIABLE] = str(path)


_publisher_environment: dict[str, str | None] = {}   # set by use_node_dds_profile


def use_node_dds_profile(profile: str) -> None:
    """Give the node's process (this one) its own Fast DDS profile, read with the history
    memory policies of its XML (RMW_FASTRTPS_USE_QOS_FROM_XML=1), e.g. config/fastdds_node.xml;
    the publisher process keeps --dds-profile's (call after use_dds_profile)."""
    path = Path(profile).resolve()
    if not path.is_file():
        raise SystemExit(f"--node-dds-profile {profile}: no such file")
    # the variables the launch files set for the node (an empty environment: always them)
    node_environment = node_memory_profile_environment(True, str(path), {})
    _publisher_environment.update({name: os.environ.get(name) for name in node_environment})
    os.environ.update(node_environment)


def _set_environment(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def start_publisher(driver: multiprocessing.process.BaseProcess) -> None:
    """Start the publisher process with its own DDS environment (use_node_dds_profile)."""
    ours = {name: os.environ.get(name) for name in _publisher_environment}
    _set_environment(_publisher_environment)
    try:
        driver.start()
    finally:
        _set_environment(ours)


def run_per_dds_profile(argv: list[str], profiles: list[str]) -> int:
    """This script once per profile, each in a fresh process, one after the other."""
    rest, skipping = [], False
    for arg in argv:
        if arg == "--dds-profile":
            skipping = True
            continue
        if skipping and not arg.startswith("--"):
            continue
        skipping = False
        rest.append(arg)
    status = 0
    for profile in profiles:
        print(f"\n# ===== Fast DDS profile: {profile}", flush=True)
        status |= subprocess.run([sys.executable, __file__, *rest, "--dds-profile", profile],
                                 check=False).returncode
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--detectors", nargs="+",
                        default=["blazepose_multi", "blazepose", "blazepose_onnx"])
    parser.add_argument("--frames", type=int, default=300, help="frame sets streamed per run")
    parser.add_argument("--fps", type=float, default=30.0, help="streaming rate per camera")
    parser.add_argument("--distinct-frames", type=int, default=24,
                        help="distinct demo frames the publisher plays forwards and backwards")
    parser.add_argument("--iterations", type=int, default=200, help="overhead repetitions")
    parser.add_argument("--overhead-only", action="store_true", help="skip the live runs")
    parser.add_argument("--live-only", action="store_true", help="skip the overhead part")
    parser.add_argument("--detection-nice", type=int, nargs="+", default=[0],
                        help="also run with the node's threads but the executor's and DDS's "
                        "this much nicer (each value a run; 0: as the node runs)")
    parser.add_argument("--skip-images-while-busy", nargs="+", default=["true"],
                        choices=("true", "false"),
                        help="the node's skip_images_while_busy (false: it takes every image, "
                        "as before); several: one run each, side by side")
    parser.add_argument("--person-search-in-background", nargs="+", default=["true"],
                        choices=("true", "false"),
                        help="the node's person_search_in_background (false: the periodic "
                             "person search runs within its frame); several: one run each")
    parser.add_argument("--allocator", nargs="+", default=["keep"], choices=ALLOCATOR_POLICIES,
                        help="glibc policy for large buffers (node_base.set_allocator_policy); "
                        "several: one run each, side by side")
    parser.add_argument("--transport", nargs="+", default=["raw"], choices=TRANSPORTS,
                        help="image messages the publisher sends: raw sensor_msgs/Image, or "
                        "JPEG CompressedImage (node image_transport:=compressed); several: one "
                        "run each")
    parser.add_argument("--decode-min-side", type=int, nargs="+", default=[0],
                        help="compressed runs: the node's compressed_decode_min_side_px (0: "
                        "whole JPEG; 540: half size at 1080p); several: one run each")
    parser.add_argument("--image-qos", choices=("reliable", "sensor_data"), default="reliable",
                        help="QoS of the publisher's images and the node's image_qos "
                        "(sensor_data: best effort, as camera drivers publish)")
    parser.add_argument("--dds-profile", nargs="+", default=None,
                        help="Fast DDS XML profile of the node's and the publisher's process "
                        "(FASTRTPS_DEFAULT_PROFILES_FILE; 'none': Fast DDS's defaults); "
                        "several: each in a fresh process, one after the other")
    parser.add_argument("--node-dds-profile", default=None,
                        help="a Fast DDS XML profile of the node's process only, read with "
                        "its history memory policies (RMW_FASTRTPS_USE_QOS_FROM_XML=1), e.g. "
                        "config/fastdds_node.xml; the publisher keeps --dds-profile's")
    parser.add_argument("--soak-minutes", type=float, default=0.0,
                        help="run only the soak, this long (at least 1)")
    parser.add_argument("--soak-fps", type=float, default=10.0)
    parser.add_argument("--soak-detector", default=DEFAULT_DETECTOR)
    args = parser.parse_args(argv)
    if args.dds_profile and len(args.dds_profile) > 1:
        return run_per_dds_profile(sys.argv[1:] if argv is None else argv, args.dds_profile)
    if args.dds_profile:
        use_dds_profile(args.dds_profile[0])
    if args.node_dds_profile:
        use_node_dds_profile(args.node_dds_profile)
    load = os.getloadavg()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; Fast DDS profile: "
          f"{os.environ.get(PROFILE_VARIABLE) or 'none (defaults)'}"
          + (f" (the node's; the publisher's: "
             f"{_publisher_environment.get(PROFILE_VARIABLE) or 'none'})"
             if _publisher_environment else "") + "; image QoS "
          f"{args.image_qos}")
    if 0 < args.soak_minutes < 1:    # thirds shorter than 20 s hold no 10-s memory sample
        parser.error("--soak-minutes must be at least 1")
    if args.soak_minutes > 0:
        soak(args.soak_minutes, args.soak_fps, args.soak_detector, args.distinct_frames,
             args.transport[0],
             background_search=args.person_search_in_background[0] == "true")
        load = os.getloadavg()
        print(f"# load average after: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
        return 0
    if not args.live_only:
        frames = read_frames(10)
        print("## Node overhead per 4-camera frame set (all but the 2D network), mean ms")
        single = overhead(frames, args.iterations)
        multi = overhead(read_frames(10, "multi"), args.iterations, "multi", "blazepose_multi")
        print("| stage | demo 'single', mediapipe BlazePose | demo 'multi', blazepose_multi |")
        print("|---|---|---|")
        for key, value in single.items():
            print(f"| {key} | {value:.2f} | {multi[key]:.2f} |")
        print()
    if args.overhead_only:
        return 0
    distinct = read_frames(args.distinct_frames)
    stream = [distinct[ping_pong_index(k, len(distinct))] for k in range(min(args.frames, 60))]
    floors = {n: floor_ms([row[:n] for row in stream]) for n in args.cameras}
    paced_runs = {n: landmark_only_run(backend, [row[:n] for row in stream], 1.0 / args.fps)
                  for n, (_, backend) in floors.items()}
    paced = {n: statistics.median(run.times_ms) for n, run in paced_runs.items()}
    print(f"## Live: {args.frames} frame sets streamed at {args.fps:g} fps per camera")
    print("floor (same run, same frames): " + ", ".join(
        f"{n} camera(s) {f:.1f} ms ({b}), {paced[n]:.1f} ms at {args.fps:g} fps "
        f"(CPU {paced_runs[n].cpu_ms_per_call:.1f} ms per call)"
        for n, (f, b) in floors.items()))
    del distinct, stream
    rows = []
    for detector in args.detectors:
        for n in args.cameras:
            try:
                for nice in args.detection_nice:
                    for allocator in args.allocator:
                        for transport, side, skip, search in [
                                (t, s, k, g) for t in args.transport
                                for s in (args.decode_min_side if t == "compressed" else [0])
                                for k in args.skip_images_while_busy
                                for g in args.person_search_in_background]:
                            rows.append(live(n, args.frames, args.fps, detector,
                                             args.distinct_frames, detection_nice=nice,
                                             allocator=allocator, transport=transport,
                                             decode_min_side=side, qos_kind=args.image_qos,
                                             skip_busy=skip == "true",
                                             background_search=search == "true")
                                        | {"nice": nice, "allocator": allocator})
            except (FileNotFoundError, ImportError, RuntimeError) as exc:
                print(f"# {detector}, {n} camera(s): not run: {exc}")
    print_live(rows, floors, paced, args.fps)
    print_cpu(rows, {n: run.cpu_ms_per_call for n, run in paced_runs.items()}, args.fps)
    print_cores(rows)
    print_views(rows)
    load = os.getloadavg()
    print(f"\n# load average after: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
