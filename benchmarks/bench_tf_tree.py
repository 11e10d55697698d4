"""Cost of the nodes' own TF bookkeeping without tf2_ros (pose3d_ros.core.static_tf.TransformTree):
taking /tf samples in (add_timed, per transform) and looking a camera up at an image's stamp
(lookup, per camera and frame set) through chains of /tf links and static links, against the
floor of the same chain composed from precomputed matrices (no interpolation, no bookkeeping)
and against scipy's Slerp for the interpolation step itself.

Rows take turns per repeat, so machine load hits them alike; the table gives the median and
range over the repeats in microseconds per call.

Usage: python benchmarks/bench_tf_tree.py [--repeats 5] [--links 1 4 30]
"""
from __future__ import annotations

import argparse
import functools
import itertools
import os
import platform
import time

import numpy as np
from call_timing import per_call_us
from scipy.spatial.transform import Rotation, Slerp

from pose3d_ros.core.static_tf import StaticTransform, TransformTree, quaternion_matrix, slerp

RATE_HZ = 100.0          # a robot's /tf
HISTORY_SAMPLES = 1000   # 10 s of it


def _chain(links: int, rng: np.random.Generator) -> tuple[TransformTree, list[np.ndarray]]:
    """odom -> link0 -> ... -> link{links-1} -> camera: every link on /tf (100 Hz, 10 s),
    the camera static on its last link; and the chain's matrices at one instant (the floor)."""
    tree = TransformTree([StaticTransform(f"link{links - 1}", "camera", np.array([0, 0, 0.5]),
                                          np.array([0.5, -0.5, 0.5, -0.5]))])
    quats = Rotation.random(links, random_state=int(rng.integers(1 << 30))).as_quat()
    for k in range(HISTORY_SAMPLES):
        tree.add_timed([StaticTransform("odom" if i == 0 else f"link{i - 1}", f"link{i}",
                                        np.array([0.01 * k, 0.0, 0.1]), quats[i])
                        for i in range(links)], [k / RATE_HZ] * links)
    matrices = [np.eye(4) for _ in range(links + 1)]
    for m, q in zip(matrices, quats, strict=False):
        m[:3, :3] = Rotation.from_quat(q).as_matrix()
    return tree, matrices


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--links", type=int, nargs="+", default=[1, 4, 30])
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {platform.node()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, numpy {np.__version__}")
    rows: dict[str, list[float]] = {}
    chains = {n: _chain(n, rng) for n in args.links}
    a, b = (tuple(q) for q in Rotation.random(2, random_state=1).as_quat())
    scipy_slerp = Slerp([0.0, 1.0], Rotation.from_quat([a, b]))
    stamp = (HISTORY_SAMPLES - 10.5) / RATE_HZ            # between two samples
    feed, ticks = TransformTree(), itertools.count()      # /tf coming in, 100 Hz
    identity = np.array([0.0, 0.0, 0.0, 1.0])

    def take_one() -> None:
        k = next(ticks)
        feed.add_timed([StaticTransform("odom", "base", np.array([0.01 * k, 0.0, 0.1]),
                                        identity)], [k / RATE_HZ])
    for _ in range(args.repeats):
        for n, (tree, matrices) in chains.items():
            rows.setdefault(f"lookup at a stamp, {n} /tf link(s) + 1 static", []).append(
                per_call_us(lambda t=tree: t.lookup("camera", "odom", stamp), 300))
            rows.setdefault(f"floor: {n + 1} precomputed 4x4 matrices multiplied", []).append(
                per_call_us(lambda m=matrices: functools.reduce(np.matmul, m), 300))
        rows.setdefault("add_timed, one transform (history 10 s)", []).append(
            per_call_us(take_one, 2000))
        rows.setdefault("slerp + quaternion_matrix (plain floats)", []).append(
            per_call_us(lambda: quaternion_matrix(slerp(a, b, 0.3)), 2000))
        rows.setdefault("peer: scipy Slerp + as_matrix", []).append(
            per_call_us(lambda: scipy_slerp([0.3]).as_matrix(), 2000))
    print("\n| operation | median us / call | range over repeats |")
    print("|---|---|---|")
    for name, values in rows.items():
        print(f"| {name} | {np.median(values):.1f} | {min(values):.1f}-{max(values):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
