"""Milliseconds per 1080x1920 frame and per batch of 4 cameras for each 2D back-end.

    python benchmarks/bench_detectors.py [--recording multi] [--repeats 8] [--threads N]

Real frames of the demo recording (portrait 1080x1920, 4 cameras) go through each back-end:
"frame" = one camera's image per call, "batch of 4" = the four cameras of one instant per call.
The first call of each kind is a warm-up and not timed. Back-ends whose models are missing are
listed as such. The bring-your-own ONNX back-ends (yolo_pose, rtmpose, heatmap) have no weights
that install offline, so their rows time only the package's own pre/post-processing around a
stand-in ONNX graph that returns fixed outputs (letterbox/crops, decoding, NMS): the network's
own cost is NOT included there, and the table says so.
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

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose3d_ros.core.detection import create_detector  # noqa: E402
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recording", default="multi")
    parser.add_argument("--repeats", type=int, default=8, help="timed calls per row")
    parser.add_argument("--backends", nargs="+",
                        default=["blazepose", "blazepose_multi", "blazepose_onnx", "yolo_pose",
                                 "rtmpose", "heatmap"])
    args = parser.parse_args(argv)
    sets = read_frame_sets(args.recording, args.repeats + 1)
    load = os.getloadavg()
    cpu = platform.processor() or platform.machine()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu}, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
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
