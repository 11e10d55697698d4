"""Fetch the demo multi-camera recordings shipped in the pose2sim wheel (BSD-3-Clause) into
<data_dir>/demo/<name>/{videos,calibration}, and the one-camera demo video of the sports2d wheel
(BSD-3-Clause) into <data_dir>/videos/sports2d.mp4 (pose3d_ros.core.data_paths says what and
where). Prints the folders and the video's path.

Usage: pose3d-fetch-demo [--data-dir DIR] [--debug]   (python -m pose3d_ros.tools.fetch_demo)

Ctrl-C or SIGTERM end it with one line naming the files it already wrote (each whole; a second
run fetches the rest); the temporary download folder is removed.
"""
from __future__ import annotations

import sys

# The demo paths live in the core; tests, benchmarks and tools import them from there or here.
from pose3d_ros.core.data_paths import (  # noqa: F401
    CAMERAS,
    DATA_DIR_RULE,
    POSE2SIM_WHEEL,
    RECORDINGS,
    SINGLE_VIDEOS,
    calibration_path,
    default_data_dir,
    demo_files,
    fetch,
    fetch_arguments,
    recording_dir,
    single_video_path,
    video_paths,
)
from pose3d_ros.core.output_files import kept_on_interrupt, run_cli


def main(argv: list[str] | None = None) -> int:
    """The command line (the console script's entry point): through run_cli, so a mistake is
    one line (a traceback with --debug), and Ctrl-C and SIGTERM end it with one line after the
    temporary download folder is removed."""
    return run_cli(fetch_main, argv)


def fetch_main(argv: list[str] | None = None) -> int:
    args = fetch_arguments(__doc__ or "", "demo/<name>/", argv)
    # a mistake is run_cli's one line `error: ...` and exit status 2, as every tool's
    with kept_on_interrupt(demo_files(args.data_dir), "the same command fetches the rest"):
        fetch(args.data_dir)
        videos = [single_video_path(name, args.data_dir) for name in SINGLE_VIDEOS]
    for name in RECORDINGS:
        print(args.data_dir / "demo" / name)
    for video in videos:
        print(video)
    return 0


if __name__ == "__main__":
    sys.exit(main())
