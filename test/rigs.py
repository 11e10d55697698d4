"""Rigs the tests build: a rig re-posed in one of its cameras' optical frame, as the calibrate
tool writes a self-calibrated rig (its reference camera at the origin, no rotation)."""
from __future__ import annotations

from collections.abc import Iterable


def in_camera_frame(cameras: Iterable, reference) -> list:
    """The CameraModels re-posed in `reference`'s optical frame (x_cam = R x_ref + t): the
    reference itself at identity."""
    return [c.with_pose(c.R @ reference.R.T, c.t - c.R @ reference.R.T @ reference.t)
            for c in cameras]
