#!/usr/bin/env bash
# Usage: make_venv.sh PYTHON VENV [venv options such as --system-site-packages]
#
# Make the virtual environment VENV with PYTHON unless it is there with a pip of its own. A
# venv whose python exists but whose pip does not (`python -m venv` interrupted between copying the
# interpreter and installing pip) is made again with --clear: checking for bin/python alone
# left every later run of setup_env.sh failing on "No module named pip" (found by a review).
set -euo pipefail
python="$1" venv="$2"
shift 2
# pip must be the venv's own: with --system-site-packages (a ROS install's venv) a venv made
# without pip finds the system's pip instead (found by a review)
if "$venv/bin/python" -c 'import os, sys, pip
sys.exit(not os.path.realpath(pip.__file__).startswith(os.path.realpath(sys.prefix)))' \
    >/dev/null 2>&1; then
  exit 0
fi
if [[ -f "$venv/pyvenv.cfg" ]]; then
  printf '[setup_env] the venv %s is incomplete (no working pip: an earlier run was interrupted); making it again\n' "$venv"
  "$python" -m venv --clear "$@" "$venv"
else
  printf '[setup_env] creating venv %s\n' "$venv"
  "$python" -m venv "$@" "$venv"
fi
