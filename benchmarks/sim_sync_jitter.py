"""What waiting for late frames costs a camera that is merely jittery: the synchroniser alone on a
simulated timeline (no DDS, deterministic). Four cameras at 30 Hz for --seconds; c2's frames
arrive 2-6 ms after capture but for a share of them (the tail) 10 ms up to a bound, the
others' 1-5 ms; sets are popped as the node's worker pops them, on a 1 ms clock. Printed per
tail: sets, the share of sets without c2 (after the first 60), how long sets waited after the
others' last frame (median / p99 ms) and c2's frame drops by reason.

    python benchmarks/sim_sync_jitter.py [--against OLD/pose3d_ros/core/sync.py]

A second table: c2 losing a fifth of its frames (seeded) from its first one, the others' and its
own delivered 0-4 ms after capture: how long the sets without c2 of the first second, and of
the rest, waited after the others' last frame (median / max ms), and sets dropped. Before a
camera's own lags are known its sets wait by the rig's (sync.FrameSynchronizer._gives_up_after_s).

A third table: c1 joining 1 s after the others with its frames 40-330 ms after capture (a
slower detector computer started later), theirs 10-20 ms: how many of the sets of the last 4 s
have c1, and their latency (popped - stamp) median. A camera whose late frames come within
timeout_s of their sets' opening is waited for again (sync.STEADY_LATE_FRAMES); before
session 48 such a camera was never in a set again.

--against loads another version of the synchroniser from its file (e.g. a git worktree of an
earlier commit) and prints it beside this checkout's.
"""
from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
from pathlib import Path
from types import ModuleType

CAMS = ("c1", "c2", "c3", "c4")
PERIOD_S = 1 / 30
TAILS = ((0.0, 0.02), (0.01, 0.03), (0.02, 0.04), (0.05, 0.06), (0.10, 0.08))  # share, bound s
WARM_UP_SETS = 60


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def replay(sync, events: list, seconds: float) -> list:
    """Feed `events` (arrival s, camera, stamp s; sorted) to `sync` on a 1 ms clock for
    `seconds`, popping sets as the node's worker does: [(popped at s, FrameSet)]."""
    popped, i, tick = [], 0, 0
    while tick * 0.001 < seconds:
        now = tick * 0.001
        while i < len(events) and events[i][0] <= now + 1e-9:
            sync.add(events[i][1], events[i][2], None, events[i][0])
            i += 1
        sync.poll(now)
        frame_set = sync.pop_latest()
        if frame_set is not None:
            popped.append((now, frame_set))
        tick += 1
    return popped


def simulate(sync_module: ModuleType, tail_share: float, tail_max_s: float, seconds: float,
             timeout_s: float, seed: int = 3) -> dict:
    """One run: returns sets, share without c2, wait median / p99 (ms), c2's drops."""
    rng = random.Random(seed)
    events = []
    for k in range(int(seconds * 30)):
        for camera in CAMS:
            if camera != "c2":
                lag = rng.uniform(0.001, 0.005)
            elif rng.random() > tail_share:
                lag = rng.uniform(0.002, 0.006)
            else:
                lag = rng.uniform(0.010, tail_max_s)
            events.append((round(k * PERIOD_S + lag, 3), camera, k * PERIOD_S))
    events.sort()
    sync = sync_module.FrameSynchronizer(CAMS, sync_module.SyncParams(timeout_s=timeout_s))
    popped = replay(sync, events, seconds + 0.5)
    kept = popped[WARM_UP_SETS:]
    waits = sorted(now - max(f.received for c, f in s.frames.items() if c != "c2")
                   for now, s in kept)
    return {"sets": len(kept),
            "without_c2": 1.0 - sum("c2" in s.frames for _, s in kept) / len(kept),
            "wait_ms": (statistics.median(waits) * 1e3, waits[int(0.99 * len(waits))] * 1e3),
            "drops": dict(sync.state["c2"].drops)}


def simulate_lossy_start(sync_module: ModuleType, seconds: float, timeout_s: float,
                         loss: float = 0.2, seed: int = 4) -> dict:
    """c2 loses `loss` of its frames from the start: waits (ms) of the sets without it in the
    first second and after, sets emitted and dropped."""
    rng = random.Random(seed)
    events = [(round(k * PERIOD_S + rng.uniform(0.0, 0.004), 3), camera, k * PERIOD_S)
              for k in range(int(seconds * 30)) for camera in CAMS
              if camera != "c2" or rng.random() >= loss]
    events.sort()
    sync = sync_module.FrameSynchronizer(CAMS, sync_module.SyncParams(min_views=2,
                                                                      timeout_s=timeout_s))
    popped = replay(sync, events, seconds + 0.5)
    waits: dict[bool, list[float]] = {True: [], False: []}
    for now, frame_set in popped:
        if "c2" not in frame_set.frames:
            waits[frame_set.stamp < 1.0].append(
                now - max(f.received for f in frame_set.frames.values()))
    return {"sets": len(popped), "dropped": sum(sync.set_drops.values()),
            "first": waits[True], "rest": waits[False]}


def simulate_slow_joiner(sync_module: ModuleType, lag_s: float, seconds: float,
                         timeout_s: float, seed: int = 0) -> dict:
    """c1 joins at 1 s with its frames lag_s + 0-30 ms after capture, the others' 10-20 ms:
    of the sets stamped after `seconds` - 4 s, how many, how many with c1, and their latency
    median (s)."""
    rng = random.Random(seed)
    events = sorted((round(k * PERIOD_S + (lag_s + rng.uniform(0, 0.03) if camera == "c1"
                                           else 0.01 + rng.uniform(0, 0.01)), 3),
                     camera, k * PERIOD_S)
                    for camera in CAMS for k in range(30 if camera == "c1" else 0,
                                                      int(seconds * 30)))
    sync = sync_module.FrameSynchronizer(CAMS, sync_module.SyncParams(timeout_s=timeout_s))
    last = [(now, s) for now, s in replay(sync, events, seconds + 0.5)
            if s.stamp > seconds - 4.0]
    return {"sets": len(last), "with_c1": sum("c1" in s.frames for _, s in last),
            "latency": statistics.median(now - s.stamp for now, s in last) if last else 0.0}


def versions_to_run(description: str, timeout_s: float
                    ) -> tuple[argparse.Namespace, dict[str, ModuleType]]:
    """The simulations' command line (--against, --seconds, --timeout-s) and the
    synchronisers to run: this checkout's, and --against's beside it."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--against", type=Path, help="another sync.py to run beside this one")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="simulated seconds, at least 10 (the first sets are a warm-up)")
    parser.add_argument("--timeout-s", type=float, default=timeout_s)
    args = parser.parse_args()
    if args.seconds < 10:      # (a review: 2 s left no set after the warm-up, a traceback)
        parser.error("--seconds must be at least 10: the first sets are a warm-up")
    versions = {"this checkout": _load(Path(__file__).resolve().parents[1] / "pose3d_ros"
                                       / "core" / "sync.py", "_sync_here")}
    if args.against:
        versions["--against"] = _load(args.against, "_sync_against")
    return args, versions


def main() -> None:
    args, versions = versions_to_run(__doc__.split("\n\n")[0], timeout_s=0.1)
    print("| c2's tail (share, up to ms) | version | sets | without c2 | wait median / p99 (ms) "
          "| c2's drops |\n|---|---|---|---|---|---|")
    for share, bound in TAILS:
        for label, module in versions.items():
            r = simulate(module, share, bound, args.seconds, args.timeout_s)
            drops = ", ".join(f"{k} {v}" for k, v in sorted(r["drops"].items())) or "none"
            print(f"| {share:.0%}, {bound * 1e3:.0f} | {label} | {r['sets']} | "
                  f"{r['without_c2']:.2%} | {r['wait_ms'][0]:.1f} / {r['wait_ms'][1]:.1f} | "
                  f"{drops} |")
    print("\n| c2 losing 20 % from the start | version | sets | dropped | sets without c2, first "
          "second: count, wait median / max (ms) | after: count, median / max |\n"
          "|---|---|---|---|---|---|")
    for label, module in versions.items():
        r = simulate_lossy_start(module, args.seconds, args.timeout_s)
        first, rest = (f"{len(w)}, {1e3 * statistics.median(w):.1f} / {1e3 * max(w):.1f}"
                       if w else "0" for w in (r["first"], r["rest"]))
        print(f"| | {label} | {r['sets']} | {r['dropped']} | {first} | {rest} |")
    print("\n| c1 joining late, its frames ms after capture | version | sets of the last 4 s "
          "| with c1 | latency median (ms) |\n|---|---|---|---|---|")
    for lag in (0.04, 0.06, 0.08, 0.13, 0.3):
        for label, module in versions.items():
            r = simulate_slow_joiner(module, lag, max(args.seconds, 8.0), args.timeout_s)
            print(f"| {lag * 1e3:.0f}-{lag * 1e3 + 30:.0f} | {label} | {r['sets']} | "
                  f"{r['with_c1']} | {1e3 * r['latency']:.0f} |")


if __name__ == "__main__":
    main()
