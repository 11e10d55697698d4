"""Output stamps are exact: the mean of header stamps in integer nanoseconds."""
from __future__ import annotations

from builtin_interfaces.msg import Time

from pose3d_ros.ros.conversions import mean_stamp


def test_one_stamp_comes_back_bit_for_bit():
    stamp = Time(sec=1_795_306_231, nanosec=698_365_753)
    assert mean_stamp([stamp]) == stamp


def test_mean_crosses_the_second_boundary_exactly():
    stamps = [Time(sec=10, nanosec=999_999_999), Time(sec=11, nanosec=1)]
    assert mean_stamp(stamps) == Time(sec=11, nanosec=0)
    four = [Time(sec=1_700_000_000, nanosec=n) for n in (1, 2, 3, 6)]
    assert mean_stamp(four) == Time(sec=1_700_000_000, nanosec=3)
