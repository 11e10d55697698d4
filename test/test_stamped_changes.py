"""core.stamped_changes: calibration changes that take effect at their stamp."""
from __future__ import annotations

import pytest

from pose3d_ros.core.stamped_changes import STAMP_TOLERANCE_S, StampedChanges


def test_a_change_waits_for_a_frame_of_its_stamp():
    changes: StampedChanges[str] = StampedChanges(wait_s=1.0)
    changes.add("cam01", 10.2, "zoomed", now=0.0)
    assert changes.take_due("cam01", 10.1, 0.1) == []          # taken before the change
    assert changes.pending("cam01") == ["zoomed"] and changes.cameras() == ("cam01",)
    assert changes.take_due("cam01", 10.2 - STAMP_TOLERANCE_S / 2, 0.2) == ["zoomed"]
    assert changes.cameras() == () and changes.take_due("cam01", 11.0, 0.3) == []


def test_changes_apply_in_arrival_order_and_only_those_due():
    changes: StampedChanges[int] = StampedChanges(wait_s=1.0)
    for k, stamp in enumerate((10.0, 10.1, 10.3)):
        changes.add("cam01", stamp, k, now=0.0)
    changes.add("cam02", 10.05, 9, now=0.0)
    assert changes.take_due("cam01", 10.15, 0.1) == [0, 1]
    assert changes.pending("cam01") == [2] and changes.pending("cam02") == [9]
    # one stamped ahead of a later one that applies goes with it (arrival order is kept)
    changes.add("cam01", 10.2, 3, now=0.1)
    assert changes.take_due("cam01", 10.25, 0.2) == [2, 3]


def test_unstamped_and_long_waiting_changes_apply_to_any_frame():
    changes: StampedChanges[str] = StampedChanges(wait_s=1.0)
    changes.add("cam01", 0.0, "latched", now=0.0)          # a camera_info without a stamp
    assert changes.take_due("cam01", None, None) == ["latched"]
    changes.add("cam01", 1e9, "other clock", now=0.0)      # stamped where frames never reach
    assert changes.take_due("cam01", 10.0, 0.5) == []
    assert changes.take_due("cam01", None, None) == []      # no frame: nothing stamped applies
    assert changes.take_due("cam01", 10.1, 1.0) == ["other clock"]   # a frame 1 s after it
    changes.add("cam01", 50.0, "first", now=2.0)
    assert changes.take_due("cam01", 10.0, 2.0, everything=True) == ["first"]


def test_a_frame_that_came_before_a_change_keeps_it_however_late_it_is_processed():
    """The wait is the frame's arrival after the change, not the processing's (a review: a
    node 1 s behind applied a change stamped 10.0 to its frames of 9.9 that came before it)."""
    changes: StampedChanges[str] = StampedChanges(wait_s=1.0)
    changes.add("cam01", 10.0, "zoomed", now=100.0)
    assert changes.take_due("cam01", 9.9, 99.95) == []       # came before it, processed late
    assert changes.take_due("cam01", 9.95, 100.9) == []      # came after it, within the wait
    assert changes.take_due("cam01", 10.0, 100.95) == ["zoomed"]


def test_dropped_changes_are_gone_and_the_wait_is_checked():
    changes: StampedChanges[str] = StampedChanges()
    changes.add("cam01", 1.0, "a", now=0.0)
    changes.add("cam02", 1.0, "b", now=0.0)
    changes.drop(["cam01", "cam03"])
    assert changes.cameras() == ("cam02",)
    changes.drop()
    assert changes.cameras() == ()
    with pytest.raises(ValueError, match="wait_s"):
        StampedChanges(wait_s=float("nan"))
