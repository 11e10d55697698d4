"""What a node that leaves images in DDS while it processes a set (skip_images_while_busy, the
image nodes' default) gets from the synchroniser: the synchroniser alone on a simulated timeline
(no DDS, deterministic). Four cameras at 30 Hz for --seconds, each frame arriving 1-5 ms after
capture; the consumer takes a set, is busy for a processing time (+-10 %), and meanwhile DDS
keeps each camera's newest frame (QoS depth 1), handed over in a random order when it resumes
(input_resumed), on a 0.5 ms clock. Printed per processing time: sets taken (after the first
30), how old they were when taken (median / p90 ms from the set's stamp), the share taken with
fewer than four cameras, and sets dropped.

    python benchmarks/sim_sync_gate.py [--against OLD/pose3d_ros/core/sync.py]

--against loads another version of the synchroniser from its file (e.g. `git show
REV:pose3d_ros/core/sync.py > old.py`) and prints it beside this checkout's. A version with the
switch `SyncParams.complete_after_resume` (off by default since session 35) runs with it off
and on.
"""
from __future__ import annotations

import random
import statistics
from types import ModuleType

from sim_sync_jitter import versions_to_run

CAMS = ("c1", "c2", "c3", "c4")
PERIOD_S = 1 / 30
STEP_S = 0.0005
WARM_UP_SETS = 30
PROCESSING_MS = (20, 40, 60, 80, 120)


def simulate(sync_module: ModuleType, processing_s: float, seconds: float, timeout_s: float,
             seed: int = 1, rule: bool | None = None) -> dict:
    """One run: sets taken, their age median / p90 (ms), share with < 4 cameras, drops."""
    rng = random.Random(seed)
    arrivals = sorted((k * PERIOD_S + rng.uniform(0.001, 0.005), camera, k * PERIOD_S)
                      for k in range(int(seconds * 30)) for camera in CAMS)
    # rule: the resume rule's switch, for a version that has it (None: its default)
    switch = {} if rule is None else {"complete_after_resume": rule}
    sync = sync_module.FrameSynchronizer(CAMS, sync_module.SyncParams(timeout_s=timeout_s,
                                                                      **switch))
    held: dict[str, tuple] = {}                # camera -> its newest frame while busy
    busy_until: float | None = None
    taken, i, tick = [], 0, 0
    while tick * STEP_S < seconds + 0.5:
        now = tick * STEP_S
        if busy_until is not None and now >= busy_until:      # resumes: DDS hands over
            busy_until = None
            sync.input_resumed(now)
            handed = list(held.values())
            held.clear()
            rng.shuffle(handed)
            for _, camera, stamp in handed:
                sync.add(camera, stamp, None, now)
        while i < len(arrivals) and arrivals[i][0] <= now:
            if busy_until is None:
                sync.add(arrivals[i][1], arrivals[i][2], None, arrivals[i][0])
            else:
                held[arrivals[i][1]] = arrivals[i]
            i += 1
        if busy_until is None:
            sync.poll(now)
            frame_set = sync.pop_latest()
            if frame_set is not None:
                taken.append((now, frame_set))
                busy_until = now + processing_s * rng.uniform(0.9, 1.1)
        tick += 1
    kept = taken[WARM_UP_SETS:]
    ages = sorted(now - frame_set.stamp for now, frame_set in kept)
    return {"sets": len(kept),
            "age_ms": (statistics.median(ages) * 1e3, ages[int(0.9 * len(ages))] * 1e3),
            "short": sum(len(s.frames) < len(CAMS) for _, s in kept) / len(kept),
            "drops": dict(sync.set_drops)}


def main() -> None:
    args, versions = versions_to_run(__doc__.split("\n\n")[0], timeout_s=0.15)
    print("| processing (ms) | version | sets taken | age median / p90 (ms) | with < 4 cameras "
          "| sets dropped |\n|---|---|---|---|---|---|")
    runs = []                  # (label, module, switch): a version with the switch runs both
    for label, module in versions.items():
        if "complete_after_resume" in module.SyncParams.__dataclass_fields__:
            runs += [(f"{label}, complete_after_resume off (default)", module, False),
                     (f"{label}, complete_after_resume on", module, True)]
        else:
            runs.append((label, module, None))
    for processing_ms in PROCESSING_MS:
        for label, module, rule in runs:
            r = simulate(module, processing_ms / 1e3, args.seconds, args.timeout_s, rule=rule)
            drops = ", ".join(f"{k} {v}" for k, v in sorted(r["drops"].items()) if v) or "none"
            print(f"| {processing_ms} | {label} | {r['sets']} | {r['age_ms'][0]:.1f} / "
                  f"{r['age_ms'][1]:.1f} | {r['short']:.1%} | {drops} |")


if __name__ == "__main__":
    main()
