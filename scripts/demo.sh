#!/usr/bin/env bash
# Set everything up and run the main job on the embedded demo recordings.
#   scripts/demo.sh [demo arguments]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/setup_env.sh
# shellcheck disable=SC1091
source scripts/env.sh
python -m pose3d_ros.tools.fetch_demo
if python -c "import pose3d_ros.tools.demo" 2>/dev/null; then
  exec python -m pose3d_ros.tools.demo "$@"
fi
echo "pose3d_ros: environment built and demo recordings fetched; the demo driver" \
     "(pose3d_ros.tools.demo) is not part of this version yet." >&2
