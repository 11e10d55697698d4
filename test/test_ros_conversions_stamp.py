"""Output stamps are exact: the mean of header stamps in integer nanoseconds. Seconds: one
conversion (core.messages.ns_to_seconds / seconds_to_ns) for the nodes and the offline runs."""
from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from builtin_interfaces.msg import Time

from pose3d_ros.core import bag_tracks, bagio, pipeline
from pose3d_ros.core.layouts import COCO17
from pose3d_ros.core.messages import ns_to_seconds, seconds_to_ns
from pose3d_ros.core.types import METHOD_TRIANGULATION, Skeletons3D
from pose3d_ros.ros.conversions import mean_stamp, seconds_to_stamp, stamp_to_seconds

EMPTY = Skeletons3D(np.zeros((0, 17, 3)), np.zeros((0, 17), np.float32),
                    np.zeros((0, 17), np.float32), np.zeros((0, 17), np.uint8), COCO17, "rig",
                    METHOD_TRIANGULATION)


def _epoch_stamps(count: int = 5000, seed: int = 7) -> list[int]:
    """Random header stamps (ns) of 2020-2033, and some on and next to whole seconds."""
    rng = random.Random(seed)
    stamps = [rng.randrange(1_580_000_000 * 10**9, 2_000_000_000 * 10**9) for _ in range(count)]
    return stamps + [s - s % 10**9 + d for s in stamps[:20] for d in (0, 1, 999_999_999)]


def test_one_stamp_comes_back_bit_for_bit():
    stamp = Time(sec=1_795_306_231, nanosec=698_365_753)
    assert mean_stamp([stamp]) == stamp


def test_mean_crosses_the_second_boundary_exactly():
    stamps = [Time(sec=10, nanosec=999_999_999), Time(sec=11, nanosec=1)]
    assert mean_stamp(stamps) == Time(sec=11, nanosec=0)
    four = [Time(sec=1_700_000_000, nanosec=n) for n in (1, 2, 3, 6)]
    assert mean_stamp(four) == Time(sec=1_700_000_000, nanosec=3)


def test_the_offline_run_gives_the_pipeline_the_nodes_seconds(monkeypatch):
    """A bag's stamps reach the pipeline as the same float seconds, bit for bit, whether a node
    reads them (stamp_to_seconds of the message's header) or the offline tools replay the bag
    (bag_tracks.run_pipeline: integer ns from the bag). Before one conversion, the offline runs
    divided float(ns) by 1e9: 1 ulp apart on about 27 % of epoch stamps."""
    stamps = sorted(set(_epoch_stamps()))      # a track's stamps increase
    seen: list[float] = []

    class Recorder:                      # the pipeline, reduced to what it was given
        def __init__(self, *args, **kwargs):
            pass

        def process_detections(self, found, stamp):
            seen.append(stamp)
            return SimpleNamespace(skeletons=EMPTY, detections={}, timings={})

        def close(self):
            pass

    monkeypatch.setattr(bag_tracks, "bag_cameras", lambda bag: ({}, "rig"))
    monkeypatch.setattr(bag_tracks, "per_camera_figures", lambda *args: {})
    monkeypatch.setattr(pipeline, "Pose3DPipeline", Recorder)
    bag_tracks.run_pipeline(Path("unused.mcap"),
                            detections=[{"stamp_ns": s, "cameras": {}} for s in stamps])
    node = [stamp_to_seconds(Time(sec=s // 10**9, nanosec=s % 10**9)) for s in stamps]
    assert seen == node and all(type(s) is float for s in seen)
    # a rosbags header (the offline bags' messages) gives the same
    assert [ns_to_seconds(bagio.stamp_to_ns(bagio.header(s, "c").stamp)) for s in stamps] == node
    # the nodes' seconds are those they had before (sec + nanosec * 1e-9), the correctly
    # rounded ones; the offline runs' float(ns) / 1e9 differed from them often
    assert node == [s // 10**9 + (s % 10**9) * 1e-9 for s in stamps]
    assert sum(float(s) / 1e9 != n for s, n in zip(stamps, node, strict=True)) > len(stamps) // 5


def test_seconds_round_trip_through_a_stamp():
    """seconds -> stamp -> seconds gives the same float for any stamp's seconds, and an exact
    number of nanoseconds gives its own stamp (floor of the seconds, the nearest nanosecond:
    round(s * 1e9) is up to 128 ns off at epoch stamps)."""
    for stamp_ns in _epoch_stamps():
        seconds = ns_to_seconds(stamp_ns)
        assert stamp_to_seconds(seconds_to_stamp(seconds)) == seconds
        assert ns_to_seconds(seconds_to_ns(seconds)) == seconds
        assert abs(seconds_to_ns(seconds) - stamp_ns) <= 120    # half an ulp at 2^30..2^31 s
    assert seconds_to_stamp(12.5) == Time(sec=12, nanosec=500_000_000)
    assert seconds_to_stamp(99.05) == Time(sec=99, nanosec=50_000_000)
    assert seconds_to_stamp(0.0) == Time(sec=0, nanosec=0)
    assert seconds_to_stamp(1.9999999999) == Time(sec=2, nanosec=0)       # carried, not 1.999999999
    assert seconds_to_ns(1e-10) == 0 and seconds_to_ns(2.5e-9) == 2
