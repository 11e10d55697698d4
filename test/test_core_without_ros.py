"""The pure core and the offline tools import without ROS: they are what `pip install .` ships."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROS_MODULE_PREFIXES = ("rclpy", "rosidl", "rmw", "ament_index_python", "launch", "tf2_",
                       "message_filters", "cv_bridge", "pose3d_ros.msg", "pose3d_ros.ros")
ROS_MODULE_SUFFIXES = ("_msgs", "_interfaces")


def _is_ros_module(name: str) -> bool:
    top = name.split(".")[0]
    return name.startswith(ROS_MODULE_PREFIXES) or top.endswith(ROS_MODULE_SUFFIXES)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_core_sources_import_no_ros_module():
    offenders = {
        str(path.relative_to(REPO)): [n for n in _imports(path) if _is_ros_module(n)]
        for path in sorted((REPO / "pose3d_ros" / "core").rglob("*.py"))}
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"ROS imports in the pure core: {offenders}"


def test_core_imports_in_a_python_without_any_ros_on_the_path():
    """Import every core module in a subprocess whose sys.path holds the sources and the
    third-party site-packages but NO ROS install space, and check no ROS module got loaded."""
    modules = sorted(
        ".".join(p.relative_to(REPO).with_suffix("").parts)
        for p in (REPO / "pose3d_ros" / "core").rglob("*.py") if p.name != "__init__.py")
    modules += ["pose3d_ros.core", "pose3d_ros.tools.fetch_demo"]
    code = (
        "import importlib, sys\n"
        f"mods = {modules!r}\n"
        "for m in mods: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('rclpy', 'rosidl', 'rmw')) "
        "or m.split('.')[0].endswith('_msgs') or m.startswith('pose3d_ros.msg'))\n"
        "assert not bad, bad\n"
        "print(len(mods))\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "AMENT_PREFIX_PATH", "LD_LIBRARY_PATH", "COLCON_PREFIX_PATH")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) == len(modules)
