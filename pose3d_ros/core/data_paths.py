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
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

POSE2SIM_WHEEL = "pose2sim==0.10.49"
RECORDINGS = {"single": "Pose2Sim/Demo_SinglePerson/", "multi": "Pose2Sim/Demo_MultiPerson/"}
CAMERAS = ("cam01", "cam02", "cam03", "cam04")
# one-camera videos: name -> (wheel, member inside it)
SINGLE_VIDEOS = {"sports2d": ("sports2d==0.8.34", "Sports2D/Demo/demo.mp4")}


def default_data_dir() -> Path:
    """$POSE3D_DATA if set, else <repository>/data: where demo data, converted models and
    caches live."""
    env = os.environ.get("POSE3D_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data"


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


def recording_inputs(recording: str) -> tuple[list[Path], Path, str]:
    """(video paths, calibration path, cache name) of a demo name or of a recording folder
    laid out like the demos (videos/*.mp4, calibration/Calib.qca.txt)."""
    if recording in RECORDINGS:
        return video_paths(recording), calibration_path(recording), recording
    root = Path(recording)
    videos = sorted((root / "videos").glob("*.mp4"))
    calib = root / "calibration" / "Calib.qca.txt"
    if len(videos) < 2 or not calib.is_file():
        raise ValueError(f"{root}: expected videos/*.mp4 (>= 2) and calibration/Calib.qca.txt")
    return videos, calib, root.name


def _complete(root: Path) -> bool:
    return (root / "calibration" / "Calib.qca.txt").is_file() and all(
        (root / "videos" / f"{cam}.mp4").is_file() for cam in CAMERAS)


def download_wheel(requirement: str, folder: Path, *pip_options: str) -> Path:
    """pip download the one wheel of `requirement` (no dependencies, binary only, extra
    pip_options such as --platform) into `folder`; returns its path. RuntimeError with the
    last line pip printed when it cannot."""
    name = requirement.split("=")[0].replace("-", "_")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
           "--only-binary=:all:", *pip_options, "-d", str(folder), requirement]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(Path(folder).glob(f"{name}-*.whl"))
    if result.returncode != 0 or not wheels:
        said = result.stderr.strip().splitlines()        # pip's last line names the cause
        raise RuntimeError(f"could not download {requirement}: "
                           f"{said[-1] if said else f'pip exited {result.returncode}'}")
    return wheels[0]


def fetch(data_dir: Path) -> None:
    """Download the pose2sim wheel with pip and extract both recordings into data_dir/demo."""
    if all(_complete(data_dir / "demo" / n) for n in RECORDINGS):
        return
    with tempfile.TemporaryDirectory() as tmp:
        log.info("downloading %s from the package index (about 51 MB)", POSE2SIM_WHEEL)
        wheel_path = download_wheel(POSE2SIM_WHEEL, Path(tmp))
        with zipfile.ZipFile(wheel_path) as wheel:
            for name, prefix in RECORDINGS.items():
                target = data_dir / "demo" / name
                for member in wheel.namelist():
                    if not member.startswith(prefix):
                        continue
                    rel = member[len(prefix):]
                    if rel == "calibration/Calib.qca.txt" or (
                            rel.startswith("videos/") and rel.endswith(".mp4")):
                        out = target / rel
                        out.parent.mkdir(parents=True, exist_ok=True)
                        out.write_bytes(wheel.read(member))
                if not _complete(target):
                    raise RuntimeError(f"{wheel_path.name} lacks the files of recording {name!r}")
    log.info("demo recordings in %s", data_dir / "demo")


def single_video_path(name: str = "sports2d", data_dir: Path | None = None) -> Path:
    """A real one-camera video (SINGLE_VIDEOS), fetched on first use into
    <data_dir>/videos/<name>.mp4 (written whole or not at all)."""
    if name not in SINGLE_VIDEOS:
        raise ValueError(f"unknown video {name!r}; known: {sorted(SINGLE_VIDEOS)}")
    target = (data_dir or default_data_dir()) / "videos" / f"{name}.mp4"
    if target.is_file():
        return target
    requirement, member = SINGLE_VIDEOS[name]
    with tempfile.TemporaryDirectory() as tmp:
        log.info("downloading %s from the package index", requirement)
        with zipfile.ZipFile(download_wheel(requirement, Path(tmp))) as wheel:
            if member not in wheel.namelist():
                raise RuntimeError(f"{requirement} lacks {member}")
            data = wheel.read(member)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, target)
    return target
