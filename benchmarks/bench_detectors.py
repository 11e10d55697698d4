"""Milliseconds per 1080x1920 frame and per batch of 4 cameras for each 2D back-end.

    python benchmarks/bench_detectors.py [--recording multi] [--repeats 8] [--compare]

Real frames of the demo recording (portrait 1080x1920, 4 cameras) go through each back-end:
"frame" = one camera's image per call, "batch of 4" = the four cameras of one instant per call.
The first call of each kind is a warm-up and not timed. Back-ends whose models are missing are
listed as such. The bring-your-own ONNX back-ends (yolo_pose, rtmpose, heatmap) have no weights
that install offline, so their rows time only the package's own pre/post-processing around a
stand-in ONNX graph that returns fixed outputs (letterbox/crops, decoding, NMS): the network's
own cost is NOT included there, and the table says so.

    python benchmarks/bench_detectors.py --compare [--cameras 1 4] [--repeats 15]

Side by side in one process (#13): each BlazePose back-end as on main before #13 and as now,
and the floor (landmark model only, ROIs from the previous frame, crops batched, all cores;
landmark_floor.py), ms per frame set of 1 or 4 cameras, with the ratio to the lower floor.
The configurations take turns frame set by frame set, so a changing load hits all alike.
"Before" is main's code path where it is still an option (two-stage: `track=False`, the
detector on every view of every frame); for mediapipe it is reproduced here: the strided
numpy BGR->RGB copy and the cameras one after another.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from landmark_floor import FLOOR_BACKENDS, FLOOR_OPTIONS  # noqa: E402

from pose3d_ros.core.detection import create_detector  # noqa: E402
from pose3d_ros.core.detection.blazepose_multi import (  # noqa: E402
    LiteRTRunner,
    TwoStageBlazePose,
    mediapipe_model_paths,
)
from pose3d_ros.core.detection.parallel import detect_per_camera, worker_count  # noqa: E402
from pose3d_ros.tools.fetch_demo import video_paths  # noqa: E402


def read_frame_sets(recording: str, count: int) -> list[list[np.ndarray]]:
    captures = [cv2.VideoCapture(str(p)) for p in video_paths(recording)]
    sets = []
    for _ in range(count):
        frames = [c.read()[1] for c in captures]
        if any(f is None for f in frames):
            break
        sets.append(frames)
    return sets


def time_calls(detector, batches: list[list[np.ndarray]]) -> tuple[float, float]:
    """Median and mean milliseconds per detect() call (first call untimed)."""
    detector.detect(batches[0])
    times = []
    for batch in batches[1:]:
        start = time.perf_counter()
        detector.detect(batch)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), statistics.fmean(times)


def stand_in_models(folder: Path) -> dict[str, dict]:
    """Fixed-output ONNX graphs in the declared formats, for timing the pipeline around them."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def build(path: Path, dims: list, outputs: dict[str, np.ndarray]) -> Path:
        nodes = [helper.make_node("ReduceMean", ["images"], ["m"], axes=[1, 2, 3], keepdims=1),
                 helper.make_node("Mul", ["m", "zero"], ["z"])]
        inits = [numpy_helper.from_array(np.zeros((), np.float32), "zero")]
        outs = []
        for name, value in outputs.items():
            inits += [numpy_helper.from_array(value.astype(np.float32), name + "_c"),
                      numpy_helper.from_array(np.array([-1] + [1] * (value.ndim - 1)),
                                              name + "_s")]
            nodes += [helper.make_node("Reshape", ["z", name + "_s"], [name + "_z"]),
                      helper.make_node("Add", [name + "_c", name + "_z"], [name])]
            outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                                      [dims[0], *value.shape[1:]]))
        graph = helper.make_graph(nodes, "standin", [helper.make_tensor_value_info(
            "images", TensorProto.FLOAT, dims)], outs, initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.save(model, path)
        return path

    rng = np.random.default_rng(0)
    pose_rows = rng.uniform(0, 1, (1, 56, 8400)).astype(np.float32) * 0.2
    pose_rows[0, :4, :2] = [[200, 420], [300, 300], [100, 90], [400, 420]]
    pose_rows[0, 4, :2] = 0.9
    det_rows = np.zeros((1, 84, 8400), np.float32)
    det_rows[0, :5, :2] = [[200, 420], [300, 300], [100, 90], [400, 420], [0.9, 0.9]]
    person = build(folder / "det.onnx", [1, 3, 640, 640], {"output0": det_rows})
    return {
        "yolo_pose": {"model": build(folder / "pose.onnx", [1, 3, 640, 640],
                                     {"output0": pose_rows})},
        "rtmpose": {"model": build(folder / "rtm.onnx", ["B", 3, 256, 192], {
            "simcc_x": rng.uniform(0, 1, (1, 17, 384)),
            "simcc_y": rng.uniform(0, 1, (1, 17, 512))}),
            "person_detector": person},
        "heatmap": {"model": build(folder / "hm.onnx", ["B", 3, 256, 192],
                                   {"heatmaps": rng.uniform(0, 1, (1, 17, 64, 48))}),
                    "person_detector": person},
    }


def ping_pong(sets: list[list[np.ndarray]], count: int) -> list[list[np.ndarray]]:
    """`count` frame sets going forwards then backwards through `sets` (no jump in time)."""
    cycle = sets + sets[-2:0:-1] if len(sets) > 1 else sets
    return [cycle[i % len(cycle)] for i in range(count)]


def mediapipe_main_path(detectors: list, images: list[np.ndarray]) -> None:
    """mediapipe BlazePose as main ran it before #13: strided RGB copy, one camera after
    another (the result objects are not converted: that part did not change)."""
    for k, image in enumerate(images):
        detectors[k]._tracker(0, image.shape).process(np.ascontiguousarray(image[:, :, ::-1]))


class TimedRunner:
    """A model runner that adds up the milliseconds spent inside the model."""

    def __init__(self, runner) -> None:
        self.runner = runner
        self.spent_ms = 0.0

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        start = time.perf_counter()
        try:
            return self.runner(batch)
        finally:
            self.spent_ms += (time.perf_counter() - start) * 1000


def timed_litert(**options) -> tuple[TwoStageBlazePose, Callable[[], float]]:
    """blazepose_multi built from its public parts with timed runners: (detector, a function
    giving the milliseconds spent in the two models so far)."""
    detector_path, landmark_path = mediapipe_model_paths()
    runners = [TimedRunner(LiteRTRunner(path, worker_count()))
               for path in (detector_path, landmark_path)]
    model = TwoStageBlazePose(*runners, name="blazepose_multi", **options)
    return model, lambda: sum(r.spent_ms for r in runners)


def compare(sets: list[list[np.ndarray]], cameras: int, repeats: int) -> list[tuple]:
    """Rows (back-end, configuration, median ms, mean ms, median pre/post-processing ms)
    before/after #13 and the floor. Pre/post-processing = the call minus the time inside the
    models (LiteRT rows only; NaN elsewhere).

    The configurations take turns on every frame set (A, B, C, ... then the next set), so
    a load that changes during the run weighs on all of them alike."""
    batches = [s[:cameras] for s in ping_pong(sets, repeats + 1)]
    configs: list[tuple[str, str, Callable, Callable[[], bool], Callable[[], float]]] = []
    owned: list = []

    def always() -> bool:
        return True

    def unknown() -> float:
        return float("nan")

    before = [create_detector("blazepose") for _ in range(cameras)]
    now = [create_detector("blazepose") for _ in range(cameras)]
    owned += before + now
    configs.append(("blazepose", "before: strided copy, cameras in sequence",
                    lambda b: mediapipe_main_path(before, b), always, unknown))
    configs.append(("blazepose", "now: cvtColor, one thread per camera",
                    lambda b: detect_per_camera(now, b), always, unknown))
    labels = ("before: detector on every view of every frame",
              "now: ROI tracking, detector every 10 frames, one view",
              "floor: landmark model only, ROIs from the previous frame")
    option_sets = ({"track": False}, {}, FLOOR_OPTIONS)
    for name in FLOOR_BACKENDS:
        try:
            if name == "blazepose_multi":
                variants = [timed_litert(**o) for o in option_sets]
            else:
                variants = [(create_detector(name, **o), unknown) for o in option_sets]
        except (FileNotFoundError, ImportError) as exc:
            print(f"# {name} not available: {exc}")
            continue
        for config, (detector, model_ms) in zip(labels, variants, strict=True):
            owned.append(detector)
            counted = (lambda d=detector: d.last_detector_views == 0) \
                if config.startswith("floor") else always
            configs.append((name, config, detector.detect, counted, model_ms))
    times: list[list[float]] = [[] for _ in configs]
    pre_post: list[list[float]] = [[] for _ in configs]
    for batch in batches[:1]:
        for config in configs:
            config[2](batch)
    for batch in batches[1:]:
        for k, (_, _, call, counted, model_ms) in enumerate(configs):
            in_models = model_ms()
            start = time.perf_counter()
            call(batch)
            elapsed = (time.perf_counter() - start) * 1000
            if counted():
                times[k].append(elapsed)
                pre_post[k].append(elapsed - (model_ms() - in_models))
    for detector in owned:
        detector.close()

    def median(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    return [(c[0], c[1], median(t), statistics.fmean(t) if t else float("nan"), median(p))
            for c, t, p in zip(configs, times, pre_post, strict=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recording", default="multi")
    parser.add_argument("--repeats", type=int, default=8, help="timed calls per row")
    parser.add_argument("--backends", nargs="+",
                        default=["blazepose", "blazepose_multi", "blazepose_onnx", "yolo_pose",
                                 "rtmpose", "heatmap"])
    parser.add_argument("--compare", action="store_true",
                        help="before/after #13 side by side, with the floor")
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 4],
                        help="cameras per call in --compare")
    args = parser.parse_args(argv)
    sets = read_frame_sets(args.recording, min(args.repeats + 1, 16))
    load = os.getloadavg()
    cpu = platform.processor() or platform.machine()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu}, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    if args.compare:
        print(f"# recording {args.recording!r}, {args.repeats} timed calls per row (frames "
              f"played forwards and backwards), ms per call of 1 or {max(args.cameras)} cameras")
        for cameras in args.cameras:
            rows = compare(sets, cameras, args.repeats)
            floor = min(r[2] for r in rows if r[1].startswith("floor"))
            print(f"\n| {cameras} camera(s): back-end | configuration | median ms | mean ms | "
                  "pre/post-processing ms (median) | median / floor |")
            print("| --- | --- | --- | --- | --- | --- |")
            for name, config, median, mean, pre_post in rows:
                print(f"| {name} | {config} | {median:.1f} | {mean:.1f} | {pre_post:.1f} | "
                      f"{median / floor:.2f} |")
        load = os.getloadavg()
        print(f"\n# load average after: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
        return 0
    print(f"# recording {args.recording!r}, frames {sets[0][0].shape[1]}x{sets[0][0].shape[0]}, "
          f"{len(sets) - 1} timed calls per row (median / mean ms)")
    print("| back-end | providers | ms per frame (1 camera) | ms per batch of 4 cameras | note |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        stand_ins = {}
        for name in args.backends:
            note = ""
            options: dict = {}
            if name in ("yolo_pose", "rtmpose", "heatmap"):
                stand_ins = stand_ins or stand_in_models(Path(tmp))
                options = stand_ins[name]
                note = "pre/post-processing only: stand-in graph, no network"
            try:
                single = create_detector(name, **options)
                batch = create_detector(name, **options)
            except (FileNotFoundError, ImportError) as exc:
                print(f"| {name} | - | - | - | not available: {exc} |")
                continue
            providers = ", ".join(p.replace("ExecutionProvider", "") for p in _providers(single))
            one = time_calls(single, [s[:1] for s in sets])
            four = time_calls(batch, sets)
            single.close()
            batch.close()
            print(f"| {name} | {providers} | {one[0]:.1f} / {one[1]:.1f} | "
                  f"{four[0]:.1f} / {four[1]:.1f} | {note} |")
    return 0


def _providers(detector) -> list[str]:
    for attr in ("model", "_detector"):
        runner = getattr(detector, attr, None)
        model = getattr(runner, "model", runner)
        if model is not None and hasattr(model, "providers"):
            return list(model.providers)
    return ["mediapipe (CPU)"] if detector.name == "blazepose" else ["LiteRT (CPU)"]


if __name__ == "__main__":
    sys.exit(main())
