"""Lint: ruff over the package, tests, tools and benchmarks (rules in ruff.toml)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    targets = [d for d in ("pose3d_ros", "test", "benchmarks", "launch", "bin")
               if (REPO / d).exists()]
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *targets],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
