"""Where this package's data lives: the data folder, and the demo multi-camera recordings
shipped in the pose2sim wheel (BSD-3-Clause).

The pose2sim 0.10.49 wheel on PyPI carries two distinct real recordings, each with 4
synchronised 60 fps portrait videos (100 frames) and a Qualisys calibration:

  single   Pose2Sim/Demo_SinglePerson   one person moving in a lab
  multi    Pose2Sim/Demo_MultiPerson    two people, plus a bystander seen by two cameras

`pip download` fetches the wheel from the package index (no other network is used); only the
videos and calibration files are extracted, into <data_dir>/demo/<name>/{videos,calibration}.
The command line is pose3d_ros.tools.fetch_demo.
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


def fetch(data_dir: Path) -> None:
    """Download the pose2sim wheel with pip and extract both recordings into data_dir/demo."""
    if all(_complete(data_dir / "demo" / n) for n in RECORDINGS):
        return
    with tempfile.TemporaryDirectory() as tmp:
        log.info("downloading %s from the package index (about 51 MB)", POSE2SIM_WHEEL)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
               "--only-binary=:all:", "-d", tmp, POSE2SIM_WHEEL]
        result = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("pose2sim-*.whl"))
        if result.returncode != 0 or not wheels:
            raise RuntimeError(f"could not download {POSE2SIM_WHEEL}: {result.stderr.strip()}")
        with zipfile.ZipFile(wheels[0]) as wheel:
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
                    raise RuntimeError(f"{wheels[0].name} lacks the files of recording {name!r}")
    log.info("demo recordings in %s", data_dir / "demo")
