"""What the two installation routes produce: colcon's install space and `pip install .`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ament_index_python.packages import get_package_prefix, get_package_share_directory

REPO = Path(__file__).resolve().parents[1]


def test_colcon_install_space_has_messages_module_and_resources():
    prefix = Path(get_package_prefix("pose3d_ros"))
    share = Path(get_package_share_directory("pose3d_ros"))
    assert (share / "package.xml").is_file()
    for msg in ("JointLayout", "Skeleton2D", "Skeleton2DArray", "Skeleton3D", "Skeleton3DArray"):
        assert (share / "msg" / f"{msg}.msg").is_file(), msg
    site = next(prefix.glob("lib/python3*/site-packages/pose3d_ros"))
    assert (site / "msg" / "__init__.py").is_file(), "generated Python messages"
    assert (site / "core" / "layouts.py").exists(), "the Python module beside the messages"
    for directory in ("launch", "config", "rviz"):
        assert (share / directory).is_dir(), directory
    executables = sorted(p.name for p in (prefix / "lib" / "pose3d_ros").glob("*")
                         if p.is_file() and os.access(p, os.X_OK)) if (
        prefix / "lib" / "pose3d_ros").is_dir() else []
    sources = sorted(p.name for p in (REPO / "bin").glob("[a-z]*") if p.is_file()) if (
        REPO / "bin").is_dir() else []
    assert executables == sources, "every bin/ script is installed for `ros2 run`"


def test_pip_install_gives_the_core_without_messages(tmp_path):
    """`pip install .` (into a prefix, as into a virtual environment): the core and the
    offline tools without ROS; the bag tools read and write the package's messages from the
    definitions installed in <prefix>/share/pose3d_ros/msg (a review found them missing: every
    bag tool stopped with "cannot find the pose3d_ros msg/ folder")."""
    prefix = tmp_path / "prefix"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--prefix", str(prefix), str(REPO)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    target = next(prefix.glob("lib/python3*/site-packages"))
    code = """
import importlib.util
from pathlib import Path
import numpy as np
import pose3d_ros
from pose3d_ros.core import bagio
from pose3d_ros.core.layouts import H36M17
from pose3d_ros.core.types import Skeletons3D
people = Skeletons3D(positions=np.zeros((1, 17, 3)), confidence=np.ones((1, 17), np.float32),
                     reprojection_error=np.zeros((1, 17), np.float32),
                     num_views=np.full((1, 17), 2, np.uint8), layout=H36M17, frame_id="world",
                     method=0, ids=np.array([1]))
with bagio.BagWriter("out_bag") as bag:
    bag.add_topic("/skeletons", bagio.SKELETON3D_ARRAY)
    bag.write("/skeletons", 5, bagio.skeleton3d_array_message(people, 5))
read = [bagio.skeletons_from_message(m.message)
        for m in bagio.read_messages("out_bag", ["/skeletons"])]
installed = Path("%s/share/pose3d_ros/msg")
print(pose3d_ros.__version__, H36M17.num_joints,
      importlib.util.find_spec("pose3d_ros.msg") is None,
      len(read), read[0].ids.tolist() == [1], bagio.package_msg_dir() == installed)
""" % prefix
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AMENT_PREFIX_PATH")}
    env["PYTHONPATH"] = str(target)
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0.1.0", "17", "True", "1", "True", "True"]
    assert (target / "pose3d_ros" / "core" / "layouts.py").is_file()
    # The shipped lifter model travels with the package, with its weights for fine-tuning.
    for suffix in (".onnx", ".json", ".pt"):
        assert (target / "pose3d_ros" / "models" / f"lifter_t27_causal{suffix}").is_file()


def test_a_missing_optional_library_is_told_with_how_to_install_it(tmp_path):
    """A packaging review: a pip install without the extras gave raw tracebacks: the lifter
    (used by evaluate's default pipeline) without onnxruntime, the bag tools without rosbags.
    Now a tool says in one line what to install, and importing the bag module says the same."""
    lifter = (
        "import sys; sys.modules['onnxruntime'] = None\n"
        "from pose3d_ros.core.output_files import run_cli\n"
        "from pose3d_ros.core.monocular import create_monocular_method\n"
        "sys.exit(run_cli(lambda argv: create_monocular_method('lifter') and 0, []))\n")
    run = _python(lifter, tmp_path)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "onnxruntime is not installed" in lines[0], run.stderr
    assert "pip install onnxruntime" in lines[0]
    bags = ("import sys; sys.modules['rosbags'] = None\n"
            "try:\n"
            "    import pose3d_ros.core.bagio\n"
            "except ImportError as err:\n"
            "    print(err)\n")
    run = _python(bags, tmp_path)
    assert "needs the rosbags library: pip install rosbags" in run.stdout, run.stdout


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """`code` run by this interpreter in a fresh process in `cwd` (stdout, stderr as text)."""
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
