#!/usr/bin/env bash
# Set everything up and run the main job on the embedded demo recordings.
#   scripts/demo.sh [demo arguments]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/setup_env.sh
# shellcheck disable=SC1091
source scripts/env.sh
# Fetch the recordings, make a bag, run the real node over DDS on it, collect its skeletons,
# score them and write the report (see docs/evaluation.md); prints where the report is.
exec python -m pose3d_ros.tools.demo "$@"
