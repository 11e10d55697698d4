"""What a robot meets when the all-in-one node starts: the configured node loads only what its
configuration uses (mediapipe's import took 0.9-1.2 s and onnx's 0.9-1.9 s of each start of
the default configuration, which needs neither)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Packages a node never needs unless its configuration asks for them (mediapipe: the
# 'blazepose' back-end; onnx, torch: only the tools that build models).
HEAVY = ("mediapipe", "matplotlib", "onnx", "torch", "jax", "tensorflow", "plotly")


def _configured_modules(params_file: str, *parameters: str) -> list[str]:
    """The HEAVY packages loaded in a fresh process once a Pose3DNode has been configured from
    `params_file` and `parameters` (name:=value)."""
    code = (
        "import json, sys\n"
        "import rclpy\n"
        "from rclpy.lifecycle import TransitionCallbackReturn\n"
        "from pose3d_ros.ros.nodes import Pose3DNode\n"
        f"rclpy.init(args=['node', '--ros-args', '--params-file', {params_file!r}, "
        f"*[a for p in {list(parameters)!r} for a in ('-p', p)]])\n"
        "node = Pose3DNode()\n"
        "assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, node.last_error\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
        "node._release(); node.destroy_node(); rclpy.shutdown()\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_default_configurations_load_neither_mediapipe_nor_onnx_nor_torch():
    from pose3d_ros.tools.fetch_demo import calibration_path
    assert _configured_modules(str(REPO / "config" / "one_camera.yaml")) == []
    assert _configured_modules(str(REPO / "config" / "demo.yaml"),
                               f"rig_file:={calibration_path('single')}") == []


@pytest.mark.parametrize("detector", ["blazepose"])
def test_the_mediapipe_back_end_loads_mediapipe_and_no_model_tools(detector):
    loaded = _configured_modules(str(REPO / "config" / "one_camera.yaml"),
                                 f"detector:={detector}")
    assert "mediapipe" in loaded and "onnx" not in loaded and "torch" not in loaded, loaded
