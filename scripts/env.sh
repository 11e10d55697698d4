# Source this file (bash) to use the environment made by scripts/setup_env.sh:
#   source scripts/env.sh
# It activates the virtual environment, puts its ROS 2 prefix (the PyPI wheels) or the sourced
# /opt/ros distribution on the ament/CMake paths, and sources the colcon install space so that
# `import pose3d_ros.msg` works.
_pose3d_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_pose3d_venv="${POSE3D_VENV:-$_pose3d_repo/.venv}"
if [[ ! -f "$_pose3d_venv/bin/activate" || ! -f "$_pose3d_repo/build_ws/install/setup.bash" ]]; then
  echo "pose3d_ros: environment not built yet; run scripts/setup_env.sh first" >&2
  return 1 2>/dev/null || exit 1
fi
# shellcheck disable=SC1091
source "$_pose3d_venv/bin/activate"
if [[ -z "${ROS_DISTRO:-}" || ! -d "/opt/ros/${ROS_DISTRO:-none}" ]]; then
  # ROS 2 from wheels: the venv root is the ROS prefix; its libraries live in <venv>/lib.
  export AMENT_PREFIX_PATH="$_pose3d_venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
  export CMAKE_PREFIX_PATH="$_pose3d_venv${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export LD_LIBRARY_PATH="$_pose3d_venv/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
fi
# colcon's setup.bash reads unset variables: allow that while it runs, then restore the
# caller's `set -u` if it had one (scripts/test.sh and CI run with -u).
case $- in *u*) _pose3d_nounset=1; set +u ;; *) _pose3d_nounset= ;; esac
# shellcheck disable=SC1091
source "$_pose3d_repo/build_ws/install/setup.bash"
[[ -n "$_pose3d_nounset" ]] && set -u
unset _pose3d_repo _pose3d_venv _pose3d_nounset
