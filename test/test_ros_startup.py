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


def _repo_env(**extra: str) -> dict[str, str]:
    """This environment with the checkout first on PYTHONPATH (and `extra`)."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), os.environ.get("PYTHONPATH", "")]), **extra)


def _run_python(code: str, timeout: float) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter from the checkout (rclpy's default context is one per
    process, as the executables have it), its output captured."""
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_repo_env(),
                          capture_output=True, text=True, timeout=timeout)


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
    result = _run_python(code, timeout=240)
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


def _start_executable(name: str, *ros_args: str) -> subprocess.Popen:
    """bin/<name> as ros2 launch starts it (SIGINT at its default: a test run in the
    background ignores it, and a child would inherit that)."""
    import signal
    return subprocess.Popen([sys.executable, str(REPO / "bin" / name), "--ros-args", *ros_args],
                            env=_repo_env(PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.parametrize("after_s", [0.3, 0.8])
def test_ctrl_c_while_the_package_loads_ends_quietly(after_s):
    """Ctrl-C in the first second of `ros2 launch` (a wrong argument seen): a
    KeyboardInterrupt traceback of the import, status -2, before."""
    import signal
    import time
    process = _start_executable("pose3d_node", "--params-file",
                                str(REPO / "config" / "one_camera.yaml"))
    time.sleep(after_s)
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=60)[0]
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert process.returncode == 0, output


def test_the_executable_joins_dds_before_loading_and_leaves_only_its_node():
    """The hidden node that starts DDS discovery (start.py) is in the process's graph when the
    package starts loading, and gone once the node proper exists (seen from inside the
    process: another process may discover either only later)."""
    from pose3d_ros.ros.start import STARTING_NODE_NAME
    code = (
        "import importlib, sys\n"
        "import rclpy\n"
        "from rclpy.lifecycle import TransitionCallbackReturn\n"
        "from pose3d_ros.ros import start\n"
        "load = importlib.import_module\n"
        "def spy(name, *args, **kwargs):\n"
        "    if name != 'pose3d_ros.ros.nodes':\n"
        "        return load(name, *args, **kwargs)\n"
        "    assert name not in sys.modules\n"
        "    look = rclpy.create_node('_spy', use_global_arguments=False, enable_rosout=False)\n"
        "    print('AT_LOAD', sorted(look.get_node_names()), flush=True)\n"
        "    look.destroy_node()\n"
        "    module = load(name, *args)\n"
        "    class Told(module.FusionNode):\n"
        "        def on_configure(self, state):\n"
        "            print('AT_CONFIGURE', sorted(self.get_node_names()), flush=True)\n"
        "            return TransitionCallbackReturn.FAILURE\n"
        "    module.FusionNode = Told\n"
        "    return module\n"
        "importlib.import_module = spy\n"
        "sys.exit(start.run_executable('pose3d_fusion', ['x', '--ros-args', '-p', "
        "'camera_names:=[cam01,cam02]', '-p', 'extrinsics_source:=none']))\n")
    result = _run_python(code, timeout=120)
    told = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in result.stdout.splitlines()
            if line.startswith("AT_")}
    assert result.returncode == 1, result.stdout + result.stderr    # configure refused above
    assert STARTING_NODE_NAME in told["AT_LOAD"], told
    assert "'pose3d_fusion'" in told["AT_CONFIGURE"], told
    assert STARTING_NODE_NAME not in told["AT_CONFIGURE"], told


def test_an_error_of_the_context_ctrl_c_shut_down_is_a_quiet_stop():
    """Ctrl-C 0.2 s after the start, between rclpy.init and the first node: rclpy's handler
    shut the context down, the node's creation failed with RCLError, and a traceback ended the
    process (-2). A fault while the context is up stays a fault. (In a fresh process, as the
    executables: rclpy's default context is one per process, and the suite's other DDS
    modules share this one.)"""
    code = (
        "import rclpy\n"
        "from pose3d_ros.ros.start import stopped_while_starting\n"
        "rclpy.init()\n"
        "try:\n"
        "    assert not stopped_while_starting(RuntimeError('a real fault'))\n"
        "    assert rclpy.ok()\n"
        "finally:\n"
        "    rclpy.shutdown()                   # what rclpy's SIGINT handler does\n"
        "try:\n"
        "    rclpy.create_node('after_ctrl_c')\n"
        "except Exception as err:\n"
        "    assert stopped_while_starting(err)\n"
        "else:\n"
        "    raise AssertionError('a node was made on a context shut down')\n"
        "assert stopped_while_starting(KeyboardInterrupt())\n"
        "print('checked')\n")
    result = _run_python(code, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "checked", result.stderr
