#!/usr/bin/env bash
# The whole test suite, from a fresh clone: set up (or update) the environment, colcon build,
# fetch the demo recordings, then run every test with real rclpy over real DDS.
#   scripts/test.sh [pytest arguments]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/setup_env.sh
# shellcheck disable=SC1091
source scripts/env.sh
python -m pose3d_ros.tools.fetch_demo >/dev/null
status=0
python -m pytest -q -p no:cacheprovider test "$@" || status=$?
# pytest exits 5 when it collected no test: for this suite that is a failure, not a pass.
if [[ $status -eq 5 ]]; then echo "no tests were collected" >&2; exit 1; fi
exit $status
