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
