"""Resident memory of this process from /proc/self/status, for the benchmarks (stdlib only, so
that benchmarks running another checkout's package can use it before importing that)."""
from __future__ import annotations

from pathlib import Path


def status_mib(*fields: str) -> tuple[float, ...]:
    """The named /proc/self/status fields in MiB, read in one pass: VmRSS (all resident
    memory), RssAnon (anonymous pages), RssFile (mapped files), RssShmem (shared memory, e.g.
    DDS shared-memory segments this process has touched); NaN for a field the kernel does not
    report."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in fields:
            found[name] = int(value.split()[0]) / 1024
    return tuple(found.get(name, float("nan")) for name in fields)
