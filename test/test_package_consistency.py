"""package.xml, CMakeLists.txt, setup.cfg and the sources agree: name, version, messages, deps."""
from __future__ import annotations

import ast
import configparser
import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Third-party Python modules the package imports -> the rosdep key package.xml must name.
ROSDEP_KEY_OF_MODULE = {
    "numpy": "python3-numpy", "scipy": "python3-scipy", "cv2": "python3-opencv",
    "yaml": "python3-yaml", "toml": "python3-toml",
    "matplotlib": "python3-matplotlib",
    "onnxruntime": "python3-onnxruntime-pip", "rosbags": "python3-rosbags-pip",
    "apsw": "python3-rosbags-pip",              # rosbags' own SQLite reader, it brings it
    # zstd for file-compressed bags as rosbags reads them: Python 3.14's stdlib module, else
    # the backport newer rosbags bring, or the zstandard older ones do
    "compression": "python3-rosbags-pip", "backports": "python3-rosbags-pip",
    "zstandard": "python3-rosbags-pip",
    "ament_index_python": "ament_index_python",
    "rclpy": "rclpy", "builtin_interfaces": "builtin_interfaces",
    "rcl_interfaces": "rcl_interfaces", "sensor_msgs": "sensor_msgs", "std_msgs": "std_msgs",
    "geometry_msgs": "geometry_msgs", "visualization_msgs": "visualization_msgs",
    "diagnostic_msgs": "diagnostic_msgs", "lifecycle_msgs": "lifecycle_msgs",
    "rosgraph_msgs": "rosgraph_msgs",
    "tf2_msgs": "tf2_msgs", "tf2_ros": "tf2_ros_py", "launch": "launch", "launch_ros": "launch_ros",
}
# Imported only by offline tools or optional back-ends, or needed at a version no rosdep key
# gives (mediapipe==0.10.14, whose wheel holds the BlazePose weights), installed with pip
# (README says how).
PIP_ONLY = {"mediapipe", "tqdm", "plotly", "onnx", "ai_edge_litert", "aniposelib",
            "torch",                                     # training the lifter only
            "Pose2Sim", "tensorflow", "tf2onnx", "flatbuffers",
            "pybullet", "pybullet_data", "pybullet_utils"}   # the render tool only (setup_env.sh)


def _package_xml():
    return ET.parse(REPO / "package.xml").getroot()


def test_name_and_version_agree_everywhere():
    root = _package_xml()
    name, version = root.findtext("name"), root.findtext("version")
    cmake = (REPO / "CMakeLists.txt").read_text()
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    init = (REPO / "pose3d_ros" / "__init__.py").read_text()
    assert re.search(rf"project\({name}\)", cmake)
    assert cfg["metadata"]["name"] == name
    assert cfg["metadata"]["version"] == version
    assert f'__version__ = "{version}"' in init
    assert (REPO / "resource" / name).is_file(), "ament resource marker"


def test_every_message_file_is_generated():
    cmake = (REPO / "CMakeLists.txt").read_text()
    listed = set(re.findall(r'"(msg/\w+\.msg)"', cmake))
    on_disk = {f"msg/{p.name}" for p in (REPO / "msg").glob("*.msg")}
    assert listed == on_disk


def test_message_dependencies_are_declared():
    deps = {e.text for e in _package_xml() if e.tag in ("depend", "build_depend")}
    used = set()
    for path in (REPO / "msg").glob("*.msg"):
        used |= set(re.findall(r"^\s*(\w+_msgs)/", path.read_text(), flags=re.M))
    assert used <= deps, f"message packages used but not depended on: {used - deps}"


def test_every_third_party_import_is_a_declared_dependency():
    root = _package_xml()
    declared = {e.text for e in root if e.tag in ("depend", "exec_depend", "build_depend")}
    stdlib = set(sys.stdlib_module_names)
    missing: dict[str, set[str]] = {}
    for path in (REPO / "pose3d_ros").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top in stdlib or top == "pose3d_ros" or top in PIP_ONLY:
                    continue
                key = ROSDEP_KEY_OF_MODULE.get(top)
                if key is None or key not in declared:
                    missing.setdefault(top, set()).add(str(path.relative_to(REPO)))
    assert not missing, f"imports without a package.xml dependency: {missing}"


def test_installed_directories_exist():
    cmake = (REPO / "CMakeLists.txt").read_text()
    match = re.search(r"install\(DIRECTORY ([\w ]+) DESTINATION share", cmake)
    assert match
    for directory in match.group(1).split():
        assert (REPO / directory).is_dir(), f"CMakeLists installs missing directory {directory}/"


# SHA-256 of the Apache License 2.0 as apache.org publishes it (LICENSE-2.0.txt, 11358 bytes),
# the same bytes as in the wheels of colcon-core, onnx and the ROS 2 wheels.
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def test_license_file_is_apache_2_and_ships_in_the_sdist(tmp_path):
    """package.xml and setup.cfg declare Apache-2.0: LICENSE holds its exact text and the
    sdist carries it (setuptools' default license_files; a review found no LICENSE at all)."""
    license_file = REPO / "LICENSE"
    assert license_file.is_file(), "no top-level LICENSE"
    assert hashlib.sha256(license_file.read_bytes()).hexdigest() == APACHE_2_SHA256
    assert _package_xml().findtext("license") == "Apache-2.0"
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    assert cfg["metadata"]["license"] == "Apache-2.0"
    # The sdist is built from a copy, so that the shared work tree gets no build output.
    src = tmp_path / "src"
    shutil.copytree(REPO / "pose3d_ros", src / "pose3d_ros",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "msg", src / "msg")
    for name in ("setup.py", "setup.cfg", "README.md", "LICENSE", "package.xml"):
        shutil.copy2(REPO / name, src / name)
    built = subprocess.run([sys.executable, "setup.py", "-q", "sdist", "-d", str(tmp_path)],
                           cwd=src, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    with tarfile.open(next(tmp_path.glob("pose3d_ros-*.tar.gz"))) as sdist:
        top = sdist.getnames()[0].split("/")[0]
        shipped = sdist.extractfile(f"{top}/LICENSE")
        assert shipped is not None and shipped.read() == license_file.read_bytes()
        pkg_info = sdist.extractfile(f"{top}/PKG-INFO")
        assert pkg_info is not None and "License-File: LICENSE" in pkg_info.read().decode()


def test_setup_makes_a_half_made_venv_again_and_keeps_a_good_one(tmp_path):
    """Found by a review: setup_env.sh trusted a venv whose bin/python existed, so a `python -m
    venv` interrupted before pip was installed left every later setup failing on "No module
    named pip". scripts/make_venv.sh (which setup_env.sh calls) makes such a venv again and
    leaves a working one untouched. Real venvs, made by this interpreter."""
    make_venv = REPO / "scripts" / "make_venv.sh"
    half = tmp_path / "half"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(half)], check=True)
    assert subprocess.run([str(half / "bin" / "python"), "-m", "pip", "--version"],
                          capture_output=True).returncode != 0
    said = subprocess.run(["bash", str(make_venv), sys.executable, str(half)],
                          capture_output=True, text=True, check=True).stdout
    assert "is incomplete" in said and "making it again" in said, said
    subprocess.run([str(half / "bin" / "python"), "-m", "pip", "--version"], check=True,
                   capture_output=True)
    marker = half / "kept.txt"
    marker.write_text("a working venv is left as it is")
    said = subprocess.run(["bash", str(make_venv), sys.executable, str(half)],
                          capture_output=True, text=True, check=True).stdout
    assert said == "" and marker.is_file()
    fresh = tmp_path / "fresh"
    said = subprocess.run(["bash", str(make_venv), sys.executable, str(fresh)],
                          capture_output=True, text=True, check=True).stdout
    assert "creating venv" in said
    subprocess.run([str(fresh / "bin" / "python"), "-m", "pip", "--version"], check=True,
                   capture_output=True)
    # a venv that sees the system's packages (setup_env.sh with a ROS install) finds the
    # base interpreter's pip when its own was never installed: made again too (a review)
    seeing = tmp_path / "seeing"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(seeing)], check=True)
    said = subprocess.run(["bash", str(make_venv), sys.executable, str(seeing),
                           "--system-site-packages"], capture_output=True, text=True,
                          check=True).stdout
    assert "is incomplete" in said, said
    own = subprocess.run([str(seeing / "bin" / "python"), "-c", "import pip; print(pip.__file__)"],
                         capture_output=True, text=True, check=True).stdout
    assert own.startswith(str(seeing)), own


def _docstrings_with_eaten_line_continuations(path: Path) -> list[str]:
    """Lines of a file's docstrings that end in one backslash: in a Python string a backslash
    before the newline joins the lines, so a shell example's continuation vanishes from the
    text (--help showed 'c.mp4       --intrinsics' as one line)."""
    source = path.read_text()
    lines = source.encode().splitlines()        # ast's column offsets count UTF-8 bytes
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                 ast.AsyncFunctionDef)) or not node.body:
            continue
        first = node.body[0]
        if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)):
            continue
        # the docstring's own lines (ast.get_source_segment splits the whole file at every
        # call: 15 s over the package's files)
        start, end = first.value.lineno - 1, (first.value.end_lineno or first.value.lineno) - 1
        segment = lines[start:end + 1]
        segment[-1] = segment[-1][:first.value.end_col_offset]
        segment[0] = segment[0][first.value.col_offset:]
        text = b"\n".join(segment).decode()
        if text.lstrip().lower().startswith(("r", "br", "rb")):     # raw: kept as written
            continue
        for offset, line in enumerate(text.splitlines()):
            tail = len(line) - len(line.rstrip("\\"))
            if tail % 2:
                found.append(f"{path.relative_to(REPO)}:{first.value.lineno + offset}")
    return found


def test_docstring_examples_keep_their_line_continuations():
    """Found in session 54 (calibrate's --help, then train_lifter, eval_lifter, render_mocap
    and two benchmarks): every tool's help and every benchmark's usage shows its shell
    examples as they are typed."""
    files = sorted((REPO / "pose3d_ros").rglob("*.py")) + sorted((REPO / "benchmarks").glob(
        "*.py")) + sorted((REPO / "launch").glob("*.py")) + sorted((REPO / "test").glob("*.py"))
    eaten = [hit for path in files for hit in _docstrings_with_eaten_line_continuations(path)]
    assert not eaten, eaten
