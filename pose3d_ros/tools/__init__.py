"""Command-line tools built on the pure core.

A tool run as `python -m pose3d_ros.tools.<tool>` imports this package before its own module,
whose imports (scipy, OpenCV, onnxruntime, the core) take a second or two: Ctrl-C then came
before the tool's own handling (output_files.run_cli) and printed a traceback (a review). For
such a run, an interrupt that nothing handles is told in run_cli's line instead (with --debug,
the traceback); the process still ends by SIGINT (status 130 in a shell).
"""
from __future__ import annotations

import sys
import types


def _interrupted_quietly(kind: type[BaseException], value: BaseException,
                         traceback: types.TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt) and "--debug" not in sys.argv:
        print("interrupted; no output was written", file=sys.stderr)
        return
    sys.__excepthook__(kind, value, traceback)


# "-m" is sys.argv[0] while runpy imports the package of the module it runs as __main__
if sys.argv[:1] == ["-m"] and sys.excepthook is sys.__excepthook__:
    sys.excepthook = _interrupted_quietly
