"""Lifter latency per person-frame on this CPU: each architecture and window T, torch and
onnxruntime, one person and a batch of people.

Times one lifter call for P people (one output frame each, i.e. one frame of a stream):
feature normalisation (numpy) + network, the same with test-time flip averaging (the node's
default: the mirrored input in the same batch), and root placement (linear + 5 Gauss-Newton
steps).
Weights are random (latency does not depend on them). Models: the temporal conv net (tcn,
128 channels; tcn-c256: 256) and the spatio-temporal transformer (stformer, see
core/lifting/transformer.py) with and without token pruning (prune<s>@<k>: after k blocks the
frames other than the output frame are merged in groups of s).

    python benchmarks/bench_lifter.py [--people 1 8] [--repeats 50] [--threads 1] [--no-torch]
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

# (name, LifterConfig keyword arguments); the window T and causal flag are added per row
MODELS = {
    "tcn": dict(architecture="tcn", channels=128),
    "tcn-c256": dict(architecture="tcn", channels=256),
    "stformer-d32x3": dict(architecture="stformer", dim=32, depth=3, heads=4),
    "stformer-d32x3-prune3@1": dict(architecture="stformer", dim=32, depth=3, heads=4,
                                    prune_stride=3, prune_after=1),
    "stformer-d32x3-prune9@0": dict(architecture="stformer", dim=32, depth=3, heads=4,
                                    prune_stride=9, prune_after=0),
    "stformer-d24x2-prune3@0": dict(architecture="stformer", dim=24, depth=2, heads=4,
                                    prune_stride=3, prune_after=0),
}
WINDOWS = {"tcn": (27, 81, 243), "stformer": (27, 81)}


def _time(fn, repeats: int) -> float:
    """Median seconds per call over `repeats` calls (after 2 warm-up calls)."""
    fn()
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    from pose3d_ros.core.lifting.model import LifterConfig, build_lifter, count_parameters
    from pose3d_ros.core.lifting.normalization import lifter_features, pixels_to_normalised
    from pose3d_ros.core.lifting.root_placement import place_in_camera
    from pose3d_ros.core.lifting.runtime import OnnxLifter
    from pose3d_ros.core.lifting.training import export_onnx

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--windows", type=int, nargs="+", default=None,
                        help="only these T (default: 27 81 243 for tcn, 27 81 for stformer)")
    parser.add_argument("--no-torch", action="store_true", help="onnxruntime only")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    K = np.array([[1400.0, 0, 544], [0, 1400.0, 960], [0, 0, 1]])
    rng = np.random.default_rng(0)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}; threads={args.threads} "
          f"repeats={args.repeats} (median)")
    print("| model | T | causal | params | people | torch ms/person | onnxruntime ms/person | "
          "onnxruntime + flip averaging ms/person | root placement ms/person |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            kwargs = MODELS[name]
            for window in args.windows or WINDOWS[kwargs["architecture"]]:
                for causal in (True, False):
                    try:
                        config = LifterConfig(window=window, causal=causal, **kwargs)
                    except ValueError:
                        continue
                    model = build_lifter(config).eval()
                    path = Path(tmp) / f"{name}_t{window}_{int(causal)}.onnx"
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
                        t_torch = (float("nan") if args.no_torch
                                   else _time(run_torch, args.repeats))
                        t_ort = _time(lambda lf=lifter, kp=kp, sc=sc: lf.lift(kp, sc, K),
                                      args.repeats)
                        t_flip = _time(lambda lf=lifter, kp=kp, sc=sc:
                                       lf.lift(kp, sc, K, flip_average=True), args.repeats)
                        t_root = _time(lambda out=out, norm=norm, sc=sc:
                                       place_in_camera(out, norm, sc[:, -1]), args.repeats)
                        print(f"| {name} | {window} | {causal} | {count_parameters(model)} | "
                              f"{people} | {1000 * t_torch / people:.2f} | "
                              f"{1000 * t_ort / people:.3f} | {1000 * t_flip / people:.3f} | "
                              f"{1000 * t_root / people:.3f} |",
                              flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
