"""Interrupting a tool as a user does with Ctrl-C, from a test."""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_when(command: list[str], marker: str, log_path: Path, *,
                   timeout_s: float = 120.0, delay_s: float = 0.0,
                   signal_number: int = signal.SIGINT) -> tuple[int, str]:
    """Run `command` (stdout discarded, stderr into log_path); once `marker` appears on its
    stderr, wait delay_s and send it SIGINT (or signal_number). Returns (exit status as a
    shell reports it, stderr). The child gets the default SIGINT handler: a test run started
    in the background (CI, nohup) ignores SIGINT, and a child would inherit that and never
    see the interrupt.

    The status is 128 + N for a child ended by signal N, as a shell shows it: CPython run with
    `-m` ends itself by SIGINT, after its cleanup, when a KeyboardInterrupt was raised inside
    an exec() of source text anywhere in the run, even one the program caught (rosbags builds
    its serialisers that way; 4 of 15 interrupted demo runs ended so, after printing the
    tool's line). A shell reports 130 for that and for `sys.exit(130)` alike."""
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log,
                                   preexec_fn=_default_sigint)
    deadline = time.monotonic() + timeout_s
    try:
        while marker not in log_path.read_text() and process.poll() is None:
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        time.sleep(delay_s)
        process.send_signal(signal_number)
        code = process.wait(timeout=60)
        if code < 0:
            code = 128 - code
    finally:
        if process.poll() is None:
            process.kill()
    return code, log_path.read_text()
