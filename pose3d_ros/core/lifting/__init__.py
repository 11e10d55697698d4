"""Monocular 3D: temporal 2D-to-3D lifter, metric root placement, self-supervised training.

Run time (numpy + onnxruntime, no torch): `runtime` (OnnxLifter, BlazePoseWorldLifter,
PersonWindows, to_camera_frame), `root_placement`, `normalization`, `refine` (numpy, closed
form).
Training (torch): `model`, `training`, `dataset`. See docs/lifter.md.
"""
from __future__ import annotations
