"""core.config_rules: the rules between the 3D nodes' parameters, which the node's configure,
the runtime warning (ros.parameters.rules_broken) and the offline `run` tool share.

Found by a review: the three disagreed; rules_broken passed four combinations that configure
then refused (lone_view_people with monocular_method 'none', lone_view_people with
output_layout 'coco17', monocular_floor without a camera pose, one camera with output_layout
'coco17'). test_ros_monocular.py checks rules_broken and configure on a node over DDS."""
from __future__ import annotations

from typing import Any

import pytest
from rigs import in_camera_frame

from pose3d_ros.core.config_rules import configuration_problems
from pose3d_ros.core.output_files import run_cli
from pose3d_ros.core.pipeline import PipelineParams
from pose3d_ros.core.plausibility import PlausibilityParams
from pose3d_ros.core.sync import SyncParams
from pose3d_ros.tools import run

_HUMAN = PlausibilityParams()
# a rig the nodes run: two posed cameras, the defaults of the core's settings
RIG: dict[str, Any] = dict(
    cameras=2, monocular_method="lifter", output_layout="h36m17", lone_view_people=False,
    monocular_floor=False, extrinsics_source="rig_file", rig_file="rig.yaml",
    min_views=SyncParams().min_views, body_height_m=0.0,
    plausible_heights_m=(_HUMAN.min_height_m, _HUMAN.max_height_m))
# one camera without a pose (its output in its optical frame)
ONE = {**RIG, "cameras": 1, "extrinsics_source": "none", "rig_file": "",
       "output_layout": PipelineParams().output_layout}


@pytest.mark.parametrize("settings, told", [
    # the four the runtime warning passed (review)
    ({**RIG, "lone_view_people": True, "monocular_method": "none"},
     ["lone_view_people places people with the monocular method (those whom one camera "
      "alone sees), and monocular_method is 'none'"]),
    ({**RIG, "lone_view_people": True, "output_layout": "coco17"},
     ["lone_view_people places people with the monocular method, whose layout is H36M-17"
      ", beside triangulated ones: it needs output_layout 'h36m17' (now 'coco17')"]),
    ({**ONE, "monocular_floor": True}, ["monocular_floor needs a fixed frame"]),
    ({**ONE, "output_layout": "coco17"}, ["output_layout 'coco17' cannot be made"]),
    # both lone rules broken: both told, the monocular method first
    ({**RIG, "lone_view_people": True, "monocular_method": "none", "output_layout": ""},
     ["and monocular_method is 'none'", "it needs output_layout 'h36m17' (now '')"]),
    # lone_view_people needs a monocular method whatever the camera count ...
    ({**ONE, "lone_view_people": True, "monocular_method": "none"},
     ["lone_view_people places people", "one camera needs a monocular method"]),
    # ... and the H36M-17 output only beside triangulated people
    ({**ONE, "lone_view_people": True}, []),
    # rules that were in ros/parameters.py, unchanged
    ({**RIG, "min_views": 3}, ["parameter 'sync.min_views' = 3 exceeds the 2 camera(s)"]),
    ({**RIG, "rig_file": ""}, ["parameter 'rig_file' is empty"]),
    ({**RIG, "extrinsics_source": "none"}, ["extrinsics_source 'none' works with one camera "
                                            "only; camera_names has 2"]),
    ({**RIG, "plausible_heights_m": (2.0, 1.5)}, ["'plausibility.min_height_m' = 2.0 must be "
                                                  "below"]),
    ({**ONE, "body_height_m": 2.4}, ["monocular_body_height_m 2.4 m lies outside the "
                                     "standing heights the node publishes, [1, 2.3] m"]),
    # what runs: a rig (any layout without lone people: a one-camera set then gives no 3D,
    # which the node warns of), one camera, the floor with a pose, no monocular path
    ({**RIG}, []), ({**RIG, "output_layout": "coco17"}, []), ({**ONE}, []),
    ({**ONE, "output_layout": "h36m17", "body_height_m": 1.75}, []),
    ({**ONE, "monocular_floor": True, "extrinsics_source": "tf"}, []),
    # one camera without a monocular method: nothing to publish but 2D (a review: configured,
    # every message empty, diagnostics 'pipeline running'), at a node with 2D output or not
    ({**ONE, "monocular_method": "none", "output_layout": "coco17"},
     ["one camera needs a monocular method to give 3D: monocular_method 'none' gives none"]),
    ({**ONE, "monocular_method": "none", "publish_2d": False},
     ["set it to 'lifter' (or 'detector_3d' where the detector gives metric 3D), or "
      "publish_2d true for 2D skeletons only"]),
    ({**ONE, "monocular_method": "none", "publish_2d": True}, []),
    # the fusion node has the lifter alone (a review: told to choose 'detector_3d' it refuses)
    ({**ONE, "monocular_method": "none", "offered": ("lifter",)},
     ["gives none (a single camera has no other path to 3D); set it to 'lifter'"]),
    ({**ONE, "monocular_method": "none", "output_layout": "coco17", "publish_2d": True}, []),
    # the camera count and extrinsics not known yet (the run tool before reading its
    # inputs): the rules on them wait, the others are told
    ({**RIG, "cameras": None, "extrinsics_source": None, "min_views": 9,
      "monocular_floor": True, "output_layout": "coco17"}, []),
    ({**RIG, "cameras": None, "lone_view_people": True, "monocular_method": "none"},
     ["and monocular_method is 'none'"]),
])
def test_configuration_problems_over_the_combinations(settings, told):
    problems = configuration_problems(**settings)
    assert len(problems) == len(told), problems
    for problem, words in zip(problems, told, strict=True):
        assert words in problem and "\n" not in problem, (problem, words)


def test_the_run_tool_refuses_with_the_nodes_words_in_its_options(tmp_path, capsys):
    """The run tool tells the node's rule with its options' names (--lone-views for
    lone_view_people ...), before reading any video."""
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"never read: the options are refused first")
    options = {"lone_view_people": "--lone-views", "monocular_method": "--monocular-method",
               "monocular_body_height_m": "--body-height"}
    for argv, settings in (
            (["--lone-views", "--monocular-method", "none"],
             {"lone_view_people": True, "monocular_method": "none"}),
            (["--body-height", "2.4"], {"body_height_m": 2.4})):
        node_words = configuration_problems(**{**RIG, "cameras": None, **settings})[0]
        for parameter, option in options.items():
            node_words = node_words.replace(parameter, option)
        assert run_cli(run.main, ["--videos", str(video), "--hfov", "65", "--out-dir",
                                  str(tmp_path / "o"), *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"error: {node_words}"], err
    assert not (tmp_path / "o").exists()


def test_one_camera_without_a_method_is_told_only_the_methods_the_node_has():
    """The fusion node (2D in, no detector) offers the lifter alone: its refusal must not
    suggest 'detector_3d', which it would refuse in turn (a review)."""
    fusion = configuration_problems(**{**ONE, "monocular_method": "none",
                                       "offered": ("lifter",)})
    all_in_one = configuration_problems(**{**ONE, "monocular_method": "none",
                                           "publish_2d": False})
    assert len(fusion) == 1 and "detector_3d" not in fusion[0] and "publish_2d" not in fusion[0]
    assert len(all_in_one) == 1 and "detector_3d" in all_in_one[0]


def test_floor_contact_is_refused_in_a_self_calibrated_rigs_optical_frame(tmp_path):
    """A self-calibrated rig's frame is its reference camera's optical frame (z the view, y
    down): one-camera floor contact there took wrong scales, or none, without a word (session
    59). The nodes, the launch files and the run tool refuse it in these words."""
    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.camera import Rig
    from pose3d_ros.core.config_rules import floor_frame_problem
    from pose3d_ros.core.data_paths import calibration_path

    qualisys = load_rig(calibration_path("single"))               # 'world', z up, floor z = 0
    assert floor_frame_problem(qualisys, "Calib.qca.txt") is None
    reference = qualisys.cameras[1]
    optical = Rig("rig", in_camera_frame(qualisys.cameras, reference))
    told = floor_frame_problem(optical, "'self.yaml'", "--floor-height")
    assert told is not None and told.startswith(
        "--floor-height needs a frame whose z points up with the floor in it, and the frame "
        "of 'self.yaml' ('rig') is a camera's optical frame (a self-calibrated rig")
    assert "camera poses from TF" in told
    assert (floor_frame_problem(optical, "x") or "").startswith("monocular_floor needs")
