"""Fetch the DeepMimic motion capture of the pybullet wheel and write H36M-17 sequences.

The pybullet 3.2.7 wheel on PyPI (zlib licence) ships 15 motion-capture clips and the body
model they drive (see pose3d_ros/core/mocap.py and docs/mocap.md). This tool takes them from
the installed pybullet 3.2.7 when there is one, else `pip download`s the wheel (about 100 MB;
no other network is used) and reads only the clips and the URDF out of it. It runs the forward
kinematics and writes <data_dir>/mocap/<clip>.npz (joints (F, 17, 3) metres, z-up world,
fps, name), each file atomically. A second run finds the files and does nothing.

Usage: python -m pose3d_ros.tools.fetch_mocap [--data-dir DIR] [--debug]

In code: `load_mocap(["walk", "run"])` returns the clips, fetching them on first use.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import logging
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from pose3d_ros.core.mocap import CLIP_NAMES, MocapClip, clip_from_files, load_clips, save_clip
from pose3d_ros.tools.fetch_demo import default_data_dir

log = logging.getLogger(__name__)

PYBULLET_VERSION = "3.2.7"
PYBULLET_WHEEL = f"pybullet=={PYBULLET_VERSION}"
URDF_MEMBER = "pybullet_data/humanoid/humanoid.urdf"


def _clip_member(name: str) -> str:
    return f"pybullet_data/data/motions/humanoid3d_{name}.txt"


def mocap_dir(data_dir: Path | None = None) -> Path:
    """<data_dir>/mocap holding every clip's npz, fetched on first use."""
    data_dir = data_dir or default_data_dir()
    fetch(data_dir)
    return data_dir / "mocap"


def load_mocap(names: list[str] | tuple[str, ...] | None = None,
               data_dir: Path | None = None) -> list[MocapClip]:
    """The clips `names` (default: all 15) as MocapClip, fetching them on first use."""
    return load_clips(mocap_dir(data_dir), names)


def _complete(out_dir: Path) -> bool:
    return all((out_dir / f"{n}.npz").is_file() for n in CLIP_NAMES)


def _installed_pybullet_data() -> Path | None:
    """pybullet_data of an installed pybullet 3.2.7 holding every clip, else None."""
    try:
        if importlib.metadata.version("pybullet") != PYBULLET_VERSION:
            return None
    except importlib.metadata.PackageNotFoundError:
        return None
    spec = importlib.util.find_spec("pybullet_data")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0]).parent
    members = [URDF_MEMBER] + [_clip_member(n) for n in CLIP_NAMES]
    return root if all((root / m).is_file() for m in members) else None


def _download_wheel_files(tmp: Path) -> Path:
    """pip download the wheel into tmp and extract the URDF and clips; returns their root."""
    log.info("downloading %s from the package index (about 100 MB)", PYBULLET_WHEEL)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
           "--only-binary=:all:", "--platform", "manylinux2014_x86_64", "--python-version",
           "3.11", "-d", str(tmp), PYBULLET_WHEEL]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(tmp.glob("pybullet-*.whl"))
    if result.returncode != 0 or not wheels:
        raise RuntimeError(f"could not download {PYBULLET_WHEEL}: {result.stderr.strip()}")
    members = [URDF_MEMBER] + [_clip_member(n) for n in CLIP_NAMES]
    with zipfile.ZipFile(wheels[0]) as wheel:
        missing = sorted(set(members) - set(wheel.namelist()))
        if missing:
            raise RuntimeError(f"{wheels[0].name} lacks {missing}")
        for member in members:
            wheel.extract(member, tmp / "extracted")
    return tmp / "extracted"


def fetch(data_dir: Path) -> Path:
    """Write <data_dir>/mocap/<clip>.npz for every clip (nothing to do if all exist)."""
    out_dir = data_dir / "mocap"
    if _complete(out_dir):
        return out_dir
    with tempfile.TemporaryDirectory() as tmp:
        source = _installed_pybullet_data()
        if source is None:
            source = _download_wheel_files(Path(tmp))
        else:
            log.info("reading the clips of the installed pybullet %s", PYBULLET_VERSION)
        for name in CLIP_NAMES:
            clip = clip_from_files(source / _clip_member(name), source / URDF_MEMBER, name)
            save_clip(clip, out_dir / f"{name}.npz")
    log.info("%d mocap clips in %s", len(CLIP_NAMES), out_dir)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="where to put mocap/ (default: $POSE3D_DATA or <repo>/data)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        out_dir = fetch(args.data_dir)
    except (RuntimeError, ValueError, OSError) as exc:
        if args.debug:
            raise
        print(f"fetch_mocap: error: {exc}", file=sys.stderr)
        return 1
    print(out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
