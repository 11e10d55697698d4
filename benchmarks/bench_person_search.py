"""How long a person who comes into a camera's view waits to be found, at the rates robots see.

    python benchmarks/bench_person_search.py [--rates 3 5 10 15 30] [--phases 10]

The default back-end (blazepose_multi, tracked, person search in the background) looks for
new people every `redetect_every` (10) frames while its tracks hold, one detector view per
pass (a 1088 x 1920 frame has three: the whole image and two square tiles), and, with stamps,
also once `search_within_s` seconds of capture time have passed since the camera's last pass.
This measures what that means for a person entering, on real frames of the demo recording
`multi` (two people): each camera's first frame finds both; then the second person's track is
dropped (as if they had just come in) `phase` frames later, and the camera's frames go on at
the given rate (the 60 fps video played forwards and backwards at the rate's stride, stamps
= frame / rate) until both are published again. For each rate and `search_within_s` 0 (every
10th frame only: the back-end before session 63) and 1.0 s (the default): the capture time
from the drop to the frame that publishes the person (median and max over 4 cameras x
`--phases` drop phases), and the detector views run per second of capture time (its cost).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script from a checkout: use this checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose3d_ros.core.detection import create_detector  # noqa: E402
from pose3d_ros.core.video import synchronised_frames, video_fps  # noqa: E402
from pose3d_ros.tools.fetch_demo import video_paths  # noqa: E402

GIVE_UP_S = 20.0          # capture time after which a trial counts as never found
SETTINGS = (0.0, 1.0)     # search_within_s: frames only (before), the default


def frame_at(frames: list[np.ndarray], index: int) -> np.ndarray:
    """Frame `index` of the video played forwards then backwards, over and over."""
    period = 2 * (len(frames) - 1)
    k = index % period
    return frames[k if k < len(frames) else period - k]


def trial(frames: list[np.ndarray], rate_hz: float, within_s: float, phase: int,
          video_fps: float) -> tuple[float, int, float]:
    """Capture seconds from the drop to the person published again (inf: not within
    GIVE_UP_S), detector views run over that time, and that time (s)."""
    stride = max(1, round(video_fps / rate_hz))
    detector = create_detector("blazepose_multi", search_within_s=within_s)
    try:
        first = detector.detect([frame_at(frames, 0)], stamps=[0.0])[0].num_people
        if first < 2:
            return float("nan"), 0, 0.0
        for t in range(1, phase + 1):     # the drop falls on different search phases
            detector.detect([frame_at(frames, t * stride)], stamps=[t / rate_hz])
        state = detector._tracks[0]
        state.rois = state.rois[:1]       # the second person "comes in": not tracked
        dropped_at = phase / rate_hz
        views = 0
        t = phase + 1
        while (t / rate_hz) - dropped_at <= GIVE_UP_S:
            found = detector.detect([frame_at(frames, t * stride)], stamps=[t / rate_hz])[0]
            views += detector.last_detector_views + detector.last_background_views
            if found.num_people >= 2:
                return t / rate_hz - dropped_at, views, t / rate_hz - dropped_at
            t += 1
        return float("inf"), views, GIVE_UP_S
    finally:
        detector.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[3.0, 5.0, 10.0, 15.0, 30.0])
    parser.add_argument("--phases", type=int, default=10,
                        help="drop phases per camera (frames after the first)")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in video_paths("multi")]
    videos = [list(frames) for frames in zip(*synchronised_frames(paths), strict=True)]
    fps = video_fps(paths[0])
    started = time.time()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}; demo 'multi', {len(videos)} cameras x "
          f"{args.phases} drop phases, video {fps:.0f} fps")
    print("| rate Hz | search_within_s | wait to be found s: median / max | never found "
          "| detector views per s |\n|---|---|---|---|---|")
    for rate in args.rates:
        for within in SETTINGS:
            waits, views, seconds, skipped = [], 0, 0.0, 0
            for frames in videos:
                for phase in range(args.phases):
                    wait, used, span = trial(frames, rate, within, phase, fps)
                    if np.isnan(wait):
                        skipped += 1
                        continue
                    waits.append(wait)
                    views += used
                    seconds += span
            found = np.array([w for w in waits if np.isfinite(w)])
            never = len(waits) - found.size
            text = (f"{np.median(found):.2f} / {found.max():.2f}" if found.size else "n/a")
            print(f"| {rate:g} | {within:g} | {text} | {never} of {len(waits)}"
                  f"{f' ({skipped} skipped: first frame without both)' if skipped else ''} | "
                  f"{views / seconds if seconds else float('nan'):.2f} |")
    print(f"# {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
