"""Fetch the DeepMimic motion capture of the pybullet wheel and write H36M-17 sequences
(pose3d_ros.core.mocap says what and how): <data_dir>/mocap/<clip>.npz, each atomically;
a second run finds the files and does nothing.

Usage: python -m pose3d_ros.tools.fetch_mocap [--data-dir DIR] [--debug]

Ctrl-C or SIGTERM end it with one line naming the clips it already wrote (each whole; a second
run writes the rest); the temporary download folder is removed.
"""
from __future__ import annotations

import sys

from pose3d_ros.core.data_paths import fetch_arguments

# The fetching lives in the core; callers may import load_mocap from there or from here.
from pose3d_ros.core.mocap import CLIP_NAMES, clip_path, fetch_mocap, load_mocap  # noqa: F401
from pose3d_ros.core.output_files import kept_on_interrupt, run_cli


def main(argv: list[str] | None = None) -> int:
    """The command line (the console script's entry point): through run_cli, so a mistake is
    one line (a traceback with --debug), and Ctrl-C and SIGTERM end it with one line after the
    temporary download folder is removed."""
    return run_cli(fetch_main, argv)


def fetch_main(argv: list[str] | None = None) -> int:
    args = fetch_arguments(__doc__ or "", "mocap/", argv)
    # a mistake (a data folder that cannot be written, a download that fails) is run_cli's
    # one line `error: ...` and exit status 2, as every tool's
    clips = [clip_path(args.data_dir / "mocap", name) for name in CLIP_NAMES]
    with kept_on_interrupt(clips, "the same command writes the rest"):
        print(fetch_mocap(args.data_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
