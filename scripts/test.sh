#!/usr/bin/env bash
# The whole test suite, from a fresh clone: set up (or update) the environment, colcon build,
# fetch the demo recordings, then run every test with real rclpy over real DDS.
#   scripts/test.sh [pytest arguments]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/setup_env.sh
# The HTML report test opens the report in headless Chromium (Debian's package). Install it when
# missing and we may (CI runs as root); elsewhere the test says how to get it.
if ! command -v chromium >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "[test] installing Debian's chromium for the report rendering test"
  # apt-get clean: the downloaded packages (about 100 MB) are not needed once installed
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
     && apt-get clean) \
    >/tmp/pose3d_apt.log 2>&1 || echo "[test] chromium install failed (see /tmp/pose3d_apt.log)"
fi
# shellcheck disable=SC1091
source scripts/env.sh
python -m pose3d_ros.tools.fetch_demo >/dev/null
# Motion capture (DeepMimic clips of the pybullet wheel) as H36M-17 sequences in data/mocap/.
python -m pose3d_ros.tools.fetch_mocap >/dev/null
# BlazePose -> ONNX conversion from the installed mediapipe wheel, verified against TFLite, so the
# ONNX back-end's tests run on the real converted models (first run: about 2 minutes; the
# separate tensorflow/tf2onnx converter environment, 1.6 GB, is removed once the models are
# made: nothing else uses it).
data_dir="${POSE3D_DATA:-$repo/data}"
if [[ ! -f "$data_dir/models/blazepose/pose_landmark_full.onnx" ]]; then
  python -m pose3d_ros.tools.convert_blazepose_onnx --discard-venv
fi
# The ONNX back-end's tests skip on a machine without the models; here they were just made, so
# a missing model is a failure.
export POSE3D_ONNX_REQUIRED=1
status=0
python -m pytest -q -p no:cacheprovider test "$@" || status=$?
# pytest exits 5 when it collected no test: for this suite that is a failure, not a pass.
if [[ $status -eq 5 ]]; then echo "no tests were collected" >&2; exit 1; fi
# The DDS test modules once more, in reverse order (whole suite only): each module has its own
# domain and nodes, so none may depend on what ran before it.
if [[ $# -eq 0 ]]; then
  mapfile -t ros_tests < <(printf '%s\n' test/test_ros_*.py | sort -r)
  echo "[test] DDS test modules in reverse order: ${ros_tests[*]}"
  reverse=0
  python -m pytest -q -p no:cacheprovider -p no:randomly "${ros_tests[@]}" || reverse=$?
  if [[ $status -eq 0 ]]; then status=$reverse; fi
fi
exit $status
