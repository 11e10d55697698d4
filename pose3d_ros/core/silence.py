"""Silence what C libraries write straight to the process's file descriptors (Python's
sys.stdout / sys.stderr do not see it): pybullet's connection chatter on stdout, OpenCV's
FFmpeg writer's codec-tag notice on stderr."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fd_silenced(fd: int) -> Iterator[None]:
    """File descriptor `fd` (1: stdout, 2: stderr) points at /dev/null inside; Python's own
    stream of it is flushed before and after, so nothing written before is lost."""
    stream = sys.stdout if fd == 1 else sys.stderr if fd == 2 else None
    if stream is not None:
        stream.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        if stream is not None:
            stream.flush()
        os.dup2(saved, fd)
        os.close(saved)
