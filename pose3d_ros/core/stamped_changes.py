"""Changes of a camera's calibration that take effect at their stamp, not at their arrival.

A camera driver publishes a camera_info with every image, under the image's stamp. When its
calibration changes mid-stream (a zoom lens, a new resolution, binning or region of interest),
the new camera_info often arrives while frames taken before it still wait to be processed, and
a frame of the new geometry can be processed before its camera_info came. The nodes used to
apply a change between the next two sets processed, whatever their stamps: the frames before it
were placed with the new intrinsics (and a new size refused), the first frame after it with the
old ones. StampedChanges keeps each camera's pending changes with their stamps and hands a
consumer those that apply to a frame of a given stamp: stamped at or before it. A change whose
stamp frames never reach (a camera_info stamped on another clock than its images) still
applies to a frame that arrived `wait_s` of wall time or more after it, so no calibration is
held back for good; a frame that arrived before that keeps the calibration it was taken with
however late it is processed (a review: with the wait measured to the processing, a node 1 s
behind placed the frames taken before a change with the new intrinsics).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# Stamps within this of each other (s) are one instant: float seconds of epoch stamps lose a
# few hundred nanoseconds (core.messages.ns_to_seconds).
STAMP_TOLERANCE_S = 1e-4
# The nodes' wait_s: a calibration change that no frame's stamp has reached applies to the
# frames that arrive this long (s of wall time) after it anyway (a camera_info stamped on
# another clock than its images).
CALIBRATION_WAIT_S = 1.0


@dataclass(frozen=True)
class StampedChange(Generic[T]):
    """stamp: the change's capture stamp (s; 0 or less: unstamped, applies to any frame).
    received: when it came (s, a monotonic clock). value: the change."""

    stamp: float
    received: float
    value: T


class StampedChanges(Generic[T]):
    """Per camera, the changes not applied yet, in arrival order (module docstring).
    wait_s: a change applies to a frame that arrived this long (s) or longer after it, whatever
    the frame's stamp. Not thread-safe: the nodes hold their lock around every call."""

    def __init__(self, wait_s: float = 1.0) -> None:
        if not wait_s >= 0:
            raise ValueError(f"wait_s must be >= 0, got {wait_s}")
        self.wait_s = wait_s
        self._pending: dict[str, list[StampedChange[T]]] = {}

    def add(self, camera: str, stamp: float, value: T, now: float) -> None:
        """Queue `value` for `camera`'s frames stamped at or after `stamp` (s); now: the
        monotonic clock (s)."""
        self._pending.setdefault(camera, []).append(StampedChange(float(stamp), now, value))

    def cameras(self) -> tuple[str, ...]:
        """The cameras with a pending change."""
        return tuple(self._pending)

    def pending(self, camera: str) -> list[T]:
        """`camera`'s pending values, oldest first (not removed)."""
        return [change.value for change in self._pending.get(camera, ())]

    def take_due(self, camera: str, frame_stamp: float | None,
                 frame_received: float | None, everything: bool = False) -> list[T]:
        """Remove and return, oldest first, `camera`'s changes that apply to a frame stamped
        frame_stamp (s) that arrived at frame_received (s, the clock of `add`'s now; both None:
        no frame, only unstamped changes): those stamped at or before it, unstamped ones,
        those received wait_s or longer before the frame, and every one before a change that
        applies (arrival order is kept). everything: all of them."""
        changes = self._pending.get(camera)
        if not changes:
            return []
        due_until = len(changes) if everything else 0
        if not everything:
            for k, change in enumerate(changes):
                if change.stamp <= 0 or (
                        frame_received is not None
                        and frame_received - change.received >= self.wait_s) or (
                        frame_stamp is not None
                        and change.stamp <= frame_stamp + STAMP_TOLERANCE_S):
                    due_until = k + 1
        due, rest = changes[:due_until], changes[due_until:]
        if rest:
            self._pending[camera] = rest
        else:
            del self._pending[camera]
        return [change.value for change in due]

    def drop(self, cameras: Iterable[str] | None = None) -> None:
        """Forget the pending changes of `cameras` (None: of every camera)."""
        if cameras is None:
            self._pending.clear()
            return
        for camera in cameras:
            self._pending.pop(camera, None)
