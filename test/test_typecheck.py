"""mypy over pose3d_ros (settings: mypy.ini): every function must be annotated and is checked
inside, so a wrong type at a call into the core fails here before it fails at run time, and a
function written without annotations fails here too. mypy comes from scripts/setup_env.sh
(PY_DEPS); its cache (.mypy_cache) makes later runs faster."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_type_errors():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO / "mypy.ini"),
         "--no-error-summary", "--hide-error-context"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert result.returncode == 0 and not errors, (
        f"mypy found {len(errors)} type error(s) (run `python -m mypy` in the repository):\n"
        + "\n".join(errors[:40]) + result.stderr[-2000:])
