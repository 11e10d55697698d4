"""Things a process tells once: log lines that the tools' repeated reads would print again
(a bag's topic choice, a video taken as a crop, an unusable execution provider).

    if first_time("crop", camera, video):
        log.warning(...)
"""
from __future__ import annotations

import threading

_SEEN: set[tuple[object, ...]] = set()
_LOCK = threading.Lock()


def first_time(*key: object) -> bool:
    """True the first time this key (any hashable parts; start it with what is told) is seen
    in this process, False after."""
    with _LOCK:
        if key in _SEEN:
            return False
        _SEEN.add(key)
        return True
