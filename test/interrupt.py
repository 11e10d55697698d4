"""Interrupting a tool as a user does with Ctrl-C, from a test."""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_when(command: list[str], marker: str, log_path: Path, *,
                   timeout_s: float = 120.0, delay_s: float = 0.0) -> tuple[int, str]:
    """Run `command` (stdout discarded, stderr into log_path); once `marker` appears on its
    stderr, wait delay_s and send it SIGINT. Returns (exit code, stderr). The child gets the
    default SIGINT handler: a test run started in the background (CI, nohup) ignores SIGINT,
    and a child would inherit that and never see the interrupt."""
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log,
                                   preexec_fn=_default_sigint)
    deadline = time.monotonic() + timeout_s
    try:
        while marker not in log_path.read_text() and process.poll() is None:
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        time.sleep(delay_s)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return code, log_path.read_text()
