"""What the micro-benchmarks share: the mean wall time of a call, after one warm-up call."""
from __future__ import annotations

import time
from collections.abc import Callable


def per_call_us(call: Callable[[], object], calls: int) -> float:
    """Mean microseconds per call over `calls` calls of `call`, after one not counted."""
    call()
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1e6
