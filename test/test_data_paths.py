"""Where the data folder is (core.data_paths.default_data_dir): $POSE3D_DATA if set; else
<repo>/data when the package runs from a source checkout (colcon --symlink-install included);
else the user's data folder, $XDG_DATA_HOME/pose3d_ros or ~/.local/share/pose3d_ros.

A review found an installed copy (pip, plain colcon build) putting the 51 MB of demo data into
<site-packages>/data."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pose3d_ros.core import data_paths

REPO = Path(__file__).resolve().parents[1]
PRINT_DEFAULT = ("from pose3d_ros.core.data_paths import default_data_dir; "
                 "print(default_data_dir())")


def _default_in_subprocess(pythonpath: Path, cwd: Path, **env_set: str) -> Path:
    """default_data_dir() of the pose3d_ros found on `pythonpath`, in a fresh interpreter run
    in `cwd` with POSE3D_DATA and XDG_DATA_HOME unset, then `env_set` applied."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "POSE3D_DATA", "XDG_DATA_HOME", "AMENT_PREFIX_PATH")}
    env.update(PYTHONPATH=str(pythonpath), **env_set)
    code = ("import pose3d_ros, sys; print(pose3d_ros.__file__, file=sys.stderr); "
            + PRINT_DEFAULT)
    run = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    imported = Path(run.stderr.strip().splitlines()[-1])
    assert imported.is_relative_to(pythonpath), f"imported {imported}, not from {pythonpath}"
    return Path(run.stdout.strip())


@pytest.fixture(scope="module")
def pip_site(tmp_path_factory) -> Path:
    """site-packages of a copy installed with pip (--prefix, as into a virtual environment)."""
    prefix = tmp_path_factory.mktemp("pip") / "prefix"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--prefix", str(prefix), str(REPO)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return next(prefix.glob("lib/python3*/site-packages"))


def test_installed_copy_uses_the_users_data_folder(pip_site, tmp_path):
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    home.mkdir()
    # from any working directory, the install's own folder included
    for cwd in (tmp_path, pip_site):
        assert _default_in_subprocess(pip_site, cwd, HOME=str(home)) == (
            home / ".local" / "share" / "pose3d_ros")
    assert _default_in_subprocess(pip_site, tmp_path, HOME=str(home),
                                  XDG_DATA_HOME=str(xdg)) == xdg / "pose3d_ros"
    # a relative XDG_DATA_HOME is invalid (XDG spec): ignored, not resolved against the cwd
    assert _default_in_subprocess(pip_site, tmp_path, HOME=str(home),
                                  XDG_DATA_HOME="rel") == home / ".local" / "share" / "pose3d_ros"
    assert _default_in_subprocess(pip_site, tmp_path, HOME=str(home),
                                  POSE3D_DATA=str(tmp_path / "mine")) == tmp_path / "mine"
    assert not (pip_site / "data").exists()


def test_source_checkout_uses_the_repository_data_folder(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert _default_in_subprocess(REPO, tmp_path, HOME=str(home)) == REPO / "data"
    assert _default_in_subprocess(REPO, tmp_path, HOME=str(home),
                                  POSE3D_DATA=str(tmp_path / "mine")) == tmp_path / "mine"


def test_symlink_install_uses_the_repository_data_folder(tmp_path):
    """colcon build --symlink-install (scripts/setup_env.sh): real folders in site-packages
    whose files link to the sources, so scripts/test.sh and demo.sh keep using <repo>/data."""
    site = tmp_path / "install" / "lib" / "python3" / "site-packages"
    for folder, dirs, files in os.walk(REPO / "pose3d_ros"):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        target = site / Path(folder).relative_to(REPO)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            (target / name).symlink_to(Path(folder) / name)
    assert _default_in_subprocess(site, tmp_path, HOME=str(tmp_path)) == REPO / "data"


def test_source_checkout_rule(tmp_path):
    """Only a folder with pose3d_ros' package.xml beside the package, outside site-packages and
    dist-packages, counts as a checkout."""
    def layout(root: Path, package_name: str = "pose3d_ros") -> Path:
        module = root / "pose3d_ros" / "core" / "data_paths.py"
        module.parent.mkdir(parents=True)
        module.write_text("")
        (root / "package.xml").write_text(
            f"<package format=\"3\"><name>{package_name}</name></package>\n")
        return module

    assert data_paths.source_checkout(layout(tmp_path / "ws" / "src" / "repo")) == (
        tmp_path / "ws" / "src" / "repo")
    assert data_paths.source_checkout(layout(tmp_path / "lib" / "site-packages")) is None
    assert data_paths.source_checkout(
        layout(tmp_path / "dist-packages" / "x")) is None
    assert data_paths.source_checkout(layout(tmp_path / "other", "other_pkg")) is None
    bare = tmp_path / "bare" / "pose3d_ros" / "core" / "data_paths.py"
    bare.parent.mkdir(parents=True)
    assert data_paths.source_checkout(bare) is None
    assert data_paths.source_checkout() == REPO


def test_tools_help_states_the_rule():
    for tool in ("fetch_demo", "fetch_mocap"):
        run = subprocess.run([sys.executable, "-m", f"pose3d_ros.tools.{tool}", "--help"],
                             capture_output=True, text=True, timeout=120,
                             env={**os.environ, "COLUMNS": "400"})
        assert run.returncode == 0, run.stderr
        assert data_paths.DATA_DIR_RULE in run.stdout, tool


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_no_stale_description_of_the_default():
    """No help text or document still says the default is $POSE3D_DATA or <repo>/data."""
    listed = subprocess.run(["git", "grep", "-l", "-i", "-E",
                             r"POSE3D_DATA or <repo(sitory)?>/data", "--", "README.md",
                             "docs", "pose3d_ros/tools"],
                            cwd=REPO, capture_output=True, text=True)
    assert listed.stdout.split() == []
