"""Typed, frozen node configuration generated from the parameter tables: one default per
parameter (the core's own settings taken from the core's dataclasses), one range."""
from __future__ import annotations

import dataclasses

import pytest

from pose3d_ros.core.detection import DETECTOR_NAMES
from pose3d_ros.core.filtering import OneEuroParams
from pose3d_ros.core.pipeline import PipelineParams
from pose3d_ros.core.sync import SyncParams
from pose3d_ros.core.tracking import TrackerParams
from pose3d_ros.ros.parameters import (
    ALL_IN_ONE_PARAMS,
    DETECTOR_PARAMS,
    DETECTORS,
    FUSION_PARAMS,
    ParameterError,
    config_class,
    make_config,
)


def test_config_is_a_frozen_typed_dataclass_with_the_table_defaults():
    config = make_config(ALL_IN_ONE_PARAMS, {"sync.slop_s": 0.004,
                                             "camera_names": ["cam01", "cam02"]})
    assert isinstance(config, config_class(ALL_IN_ONE_PARAMS))
    assert config.sync.slop_s == 0.004 and config.camera_names == ("cam01", "cam02")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.sync.slop_s = 1.0
    types = {f.name: f.type for f in dataclasses.fields(config)}
    assert types["autostart"] is bool and types["qos_depth"] is int
    assert types["diagnostics_period_s"] is float and types["detector"] is str
    for specs in (ALL_IN_ONE_PARAMS, DETECTOR_PARAMS, FUSION_PARAMS):
        defaults = make_config(specs, {})
        for spec in specs:
            value = defaults
            for part in spec.name.split("."):
                value = getattr(value, part)
            expected = tuple(spec.default) if isinstance(spec.default, list) else spec.default
            assert value == expected, spec.name


def test_the_core_settings_and_the_node_defaults_agree():
    config = make_config(FUSION_PARAMS, {})
    sync, track, smooth, tri = SyncParams(), TrackerParams(), OneEuroParams(), PipelineParams()
    assert (config.sync.slop_s, config.sync.min_views, config.sync.timeout_s,
            config.sync.stale_after_s, config.sync.queue_size) == (
        sync.slop_s, sync.min_views, sync.timeout_s, sync.stale_after_s, sync.queue_size)
    assert (config.tracking.max_distance_m, config.tracking.gate_growth_mps,
            config.tracking.reid_window_s) == (track.max_distance_m, track.gate_growth_mps,
                                               track.reid_window_s)
    assert (config.filter.min_cutoff_hz, config.filter.beta, config.filter.d_cutoff_hz) == (
        smooth.min_cutoff_hz, smooth.beta, smooth.d_cutoff_hz)
    assert (config.triangulation.min_views, config.triangulation.min_score,
            config.triangulation.outlier_threshold_px, config.output_layout) == (
        tri.min_views, tri.min_score, tri.outlier_threshold_px, tri.output_layout)
    assert DETECTORS is DETECTOR_NAMES


def test_the_body_height_rule_lives_in_the_table():
    spec = {s.name: s for s in ALL_IN_ONE_PARAMS}["monocular_body_height_m"]
    for fine in (0.0, 0.5, 1.75, 2.5):
        spec.check(fine)
    for bad in (0.3, 2.6):
        with pytest.raises(ParameterError, match="not a human standing height"):
            spec.check(bad)


def test_file_parameters_take_a_home_folder_as_the_launch_arguments_do():
    """`lifter_model: ~/models/mine.onnx` in a parameter file was looked for in a folder named
    '~' (the launch arguments expanded it, the parameter files did not): every file parameter
    reads a leading ~ as the home folder; other strings are kept as given."""
    import os

    import rclpy
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from pose3d_ros.ros.parameters import declare_parameters, read_parameters

    given = {"rig_file": "~/rigs/lab.yaml", "lifter_model": "~/models/mine.onnx",
             "detector": "yolo_pose", "detector_model": "~/models/pose.onnx",
             "camera_names": ["cam01", "cam02"], "fixed_frame": "rig"}
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = Node("file_parameters", context=context, start_parameter_services=False,
                    parameter_overrides=[Parameter(k, value=v) for k, v in given.items()])
        declare_parameters(node, ALL_IN_ONE_PARAMS)
        config = read_parameters(node, ALL_IN_ONE_PARAMS)
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
    for name in ("rig_file", "lifter_model", "detector_model"):
        assert getattr(config, name) == os.path.expanduser(given[name]), name
        assert not getattr(config, name).startswith("~")
    assert config.person_detector_model == "" and config.fixed_frame == "rig"
