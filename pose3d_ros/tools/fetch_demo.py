"""Fetch the demo multi-camera recordings shipped in the pose2sim wheel (BSD-3-Clause).

The pose2sim 0.10.49 wheel on PyPI carries two distinct real recordings, each with 4
synchronised 60 fps portrait videos (100 frames) and a Qualisys calibration:

  single   Pose2Sim/Demo_SinglePerson   one person moving in a lab
  multi    Pose2Sim/Demo_MultiPerson    two people, plus a bystander seen by two cameras

`pip download` fetches the wheel from the package index (no other network is used); only the
videos and calibration files are extracted, into <data_dir>/demo/<name>/{videos,calibration}.

Usage: pose3d-fetch-demo [--data-dir DIR]      (python -m pose3d_ros.tools.fetch_demo)
"""
from __future__ import annotations

import argparse
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
    """$POSE3D_DATA if set, else <repository>/data."""
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
    root = recording_dir(name, data_dir)
    return [root / "videos" / f"{cam}.mp4" for cam in CAMERAS]


def calibration_path(name: str, data_dir: Path | None = None) -> Path:
    return recording_dir(name, data_dir) / "calibration" / "Calib.qca.txt"


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="where to put demo/<name>/ (default: $POSE3D_DATA or <repo>/data)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    fetch(args.data_dir)
    for name in RECORDINGS:
        print(args.data_dir / "demo" / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
