#!/usr/bin/env bash
# Set everything up and run the main job on the embedded demo recordings.
#   scripts/demo.sh [demo arguments]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
help=false
for arg in "$@"; do [[ "$arg" == "-h" || "$arg" == "--help" ]] && help=true; done
if $help && ! (source scripts/env.sh >/dev/null 2>&1); then
  # (a review: --help ran the whole set-up, minutes and about 3 GB, before any text)
  echo "scripts/demo.sh sets up the environment (scripts/setup_env.sh: a few minutes, about" \
       "3 GB) and runs the demo; its options come from the package the set-up installs." \
       "Run scripts/setup_env.sh, then scripts/demo.sh --help; or see docs/evaluation.md."
  exit 0
fi
$help || bash scripts/setup_env.sh
# shellcheck disable=SC1091
source scripts/env.sh
# Fetch the recordings, make a bag, run the real node over DDS on it, collect its skeletons,
# score them and write the report (see docs/evaluation.md); prints where the report is.
exec python -m pose3d_ros.tools.demo "$@"
