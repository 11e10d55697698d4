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


def _run_as_a_tool() -> bool:
    """Whether this process runs one of the tools (`python -m pose3d_ros.tools.<tool>`):
    "-m" is sys.argv[0] while runpy imports the package of the module it runs, and the
    interpreter's own command line names the module (another program run with -m that
    imports a tool's module keeps its own hook: a review)."""
    argv = list(getattr(sys, "orig_argv", ()))
    if sys.argv[:1] != ["-m"] or "-m" not in argv:
        return False
    module = argv[argv.index("-m") + 1: argv.index("-m") + 2]
    return bool(module) and module[0].startswith(f"{__name__}.")


if _run_as_a_tool() and sys.excepthook is sys.__excepthook__:
    sys.excepthook = _interrupted_quietly
