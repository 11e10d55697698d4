#!/usr/bin/env bash
# The whole test suite, from a fresh clone: set up (or update) the environment, colcon build,
# fetch the demo recordings, then run every test with real rclpy over real DDS.
#   scripts/test.sh [pytest arguments]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# The HTML report test opens the report in headless Chromium (Debian's package). Install it when
# missing and we may (CI runs as root); elsewhere the test says how to get it. It installs in
# the background while setup_env.sh installs the Python environment (mostly downloads beside
# mostly unpacking), and the tests wait for it.
chromium_install=""
if ! command -v chromium >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "[test] installing Debian's chromium for the report rendering test (in the background)"
  # apt-get clean: the downloaded packages (about 100 MB) are not needed once installed
  ( (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
       && apt-get clean) \
      >/tmp/pose3d_apt.log 2>&1 || echo "[test] chromium install failed (see /tmp/pose3d_apt.log)"
  ) &
  chromium_install=$!
fi
bash scripts/setup_env.sh
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
if [[ -n "$chromium_install" ]]; then wait "$chromium_install" || true; fi
status=0
if [[ $# -gt 0 ]]; then
  python -m pytest -q -p no:cacheprovider "$@" || status=$?
  # pytest exits 5 when it collected no test: for this suite that is a failure, not a pass.
  if [[ $status -eq 5 ]]; then echo "no tests were collected" >&2; exit 1; fi
  exit $status
fi
# The whole suite. The modules without DDS nodes of their own run in parallel workers
# (pytest-xdist, whole modules per worker: their module-scoped set-ups run once), one per core
# up to POSE3D_TEST_WORKERS (default 2, CI's cores); each module has its own DDS domain
# (conftest.py), so the few that start nodes never meet. The DDS test modules (test_ros_*),
# whose nodes answer within deadlines, run after them in one process with the machine to
# themselves, in an order that changes from commit to commit (none may depend on what ran
# before it; a reverse second pass doubled their 2.5 minutes and took CI past 20 minutes):
# the order is shuffled with a seed printed here, POSE3D_DDS_ORDER_SEED=<seed> repeats it.
mapfile -t ros_tests < <(printf '%s\n' test/test_ros_*.py | sort)
# the longest modules first (selfcalib_faults alone is about 40 % of these modules' time), so
# that no worker is left running one of them alone at the end
first=(test/test_selfcalib_faults.py test/test_run_tool.py test/test_lifter_bags.py
       test/test_selfcalib.py test/test_selfcalib_pair.py)
mapfile -t other_tests < <(printf '%s\n' "${first[@]}"; printf '%s\n' test/test_*.py \
  | grep -v '^test/test_ros_' | grep -v -x -F "$(printf '%s\n' "${first[@]}")" | sort)
workers="${POSE3D_TEST_WORKERS:-2}"
echo "[test] ${#other_tests[@]} modules in $workers workers, then ${#ros_tests[@]} DDS modules"
python -m pytest -q -p no:cacheprovider -n "$workers" --dist loadfile "${other_tests[@]}" \
  || status=$?
seed="${POSE3D_DDS_ORDER_SEED:-$(git rev-parse --short=8 HEAD 2>/dev/null || date +%s)}"
mapfile -t ordered_tests < <(printf '%s\n' "${ros_tests[@]}" | python -c '
import random, sys
modules = sys.stdin.read().split()
random.Random(sys.argv[1]).shuffle(modules)
print("\n".join(modules))' "$seed")
echo "[test] DDS test modules in the order of seed $seed (POSE3D_DDS_ORDER_SEED): ${ordered_tests[*]}"
ros=0
python -m pytest -q -p no:cacheprovider "${ordered_tests[@]}" || ros=$?
for code in $status $ros; do
  # 5: no test collected, a failure for this suite
  if [[ $code -ne 0 ]]; then [[ $code -eq 5 ]] && echo "no tests were collected" >&2; exit 1; fi
done
exit 0
