"""Lifter latency per person per frame on this CPU, for each window T, torch and onnxruntime.

Times one lifter call for P people (one output frame each, i.e. one frame of a stream):
feature normalisation (numpy) + network, and root placement (linear + 5 Gauss-Newton steps).
Weights are random (latency does not depend on them); the architecture is the shipped one.

    python benchmarks/bench_lifter.py [--people 1 4] [--repeats 50] [--threads 1]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _time(fn, repeats: int) -> float:
    fn()  # warm-up
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main(argv: list[str] | None = None) -> int:
    from pose3d_ros.core.lifting.model import LifterConfig, TemporalLifter, count_parameters
    from pose3d_ros.core.lifting.normalization import lifter_features, pixels_to_normalised
    from pose3d_ros.core.lifting.root_placement import place_in_camera
    from pose3d_ros.core.lifting.runtime import OnnxLifter
    from pose3d_ros.core.lifting.training import export_onnx

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--channels", type=int, default=128)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    K = np.array([[1400.0, 0, 544], [0, 1400.0, 960], [0, 0, 1]])
    rng = np.random.default_rng(0)
    print(f"threads={args.threads} channels={args.channels} repeats={args.repeats}")
    print("| T | causal | params | people | torch ms/person | onnxruntime ms/person | "
          "root placement ms/person |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for window in (27, 81, 243):
            for causal in (True, False):
                config = LifterConfig(window=window, causal=causal, channels=args.channels)
                model = TemporalLifter(config).eval()
                path = Path(tmp) / f"t{window}_{int(causal)}.onnx"
                export_onnx(model, path)
                lifter = OnnxLifter(path, threads=args.threads)
                for people in args.people:
                    kp = rng.uniform(200, 900, (people, window, 17, 2))
                    sc = rng.uniform(0.5, 1, (people, window, 17))

                    def run_torch(kp=kp, sc=sc, model=model):
                        feats = lifter_features(pixels_to_normalised(kp, K), sc)
                        with torch.inference_mode():
                            return model(torch.from_numpy(feats)).numpy()

                    out = lifter.lift(kp, sc, K)
                    norm = pixels_to_normalised(kp[:, -1], K)
                    t_torch = _time(run_torch, args.repeats)
                    t_ort = _time(lambda lf=lifter, kp=kp, sc=sc: lf.lift(kp, sc, K),
                                  args.repeats)
                    t_root = _time(lambda out=out, norm=norm, sc=sc:
                                   place_in_camera(out, norm, sc[:, -1]), args.repeats)
                    print(f"| {window} | {causal} | {count_parameters(model)} | {people} | "
                          f"{1000 * t_torch / people:.2f} | {1000 * t_ort / people:.2f} | "
                          f"{1000 * t_root / people:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
