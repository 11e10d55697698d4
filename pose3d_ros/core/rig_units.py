"""Is the rig in metres? The people's own size says so when the rig's translations are in
another unit.

Scaling every translation of a rig by s (millimetres read as metres: s = 1000) is a similarity:
every image point stays where it was, and each triangulated body is s times its size. The
association's metric gates (ray distances, merge distances) then fail, so a rig in the wrong
unit gave no 3D person and no word (a review: a 12 cm stereo pair in millimetres reads as
120 m, under camera.MAX_CAMERA_SPAN_M). Reprojection errors do not change with s, so the
right pairing of two views of one person is still found by its pixel error, and its bone
lengths over the package's one body (plausibility.bone_ratios) give s.

`people_size_factor` measures that from one set's detections: every pair of cameras with
people, every pairing of their people (a few each), triangulated from those two views alone
(triangulation.triangulate_normalized, batched), kept where the pixel error says the pairing
is one person, and the median body size over the kept ones. The pipeline asks it only for
sets that made no person, at most every UNIT_CHECK_PERIOD_S.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np

from .array_ops import finite_rows, nanmedian_axis, row_counts
from .body_model import CANONICAL_HEIGHT_M, STANDING_HEIGHTS_M
from .camera import CameraArrays
from .layouts import JointLayout
from .plausibility import bone_ratios, median_scale
from .ray_affinity import StackedDetections
from .triangulation import MAX_DEPTH_GAIN, triangulate_normalized

UNIT_CHECK_PERIOD_S = 5.0     # a set without people is checked at most this often (stamps)
PEOPLE_PER_CAMERA = 3         # the most confident people of each camera that are paired
PAIRING_ERROR_PX = 8.0        # median reprojection error of a pairing that is one person
MIN_PAIRED_JOINTS = 8         # joints a pairing must triangulate to be measured
# a factor this far from 1 (either way) is told: real people are 0.8-1.25 of the one body
# (body_model.STANDING_HEIGHTS_M over CANONICAL_HEIGHT_M), so 3x is no person
UNIT_FACTOR_TOLD = 3.0
_UNIT_NAMES = ((1000.0, "millimetres"), (100.0, "centimetres"), (39.37, "inches"),
               (3.281, "feet"), (10.0, "decimetres"))


def people_size_factor(arrays: CameraArrays, stacked: StackedDetections, layout: JointLayout,
                       min_score: float, max_depth_gain: float = MAX_DEPTH_GAIN
                       ) -> float | None:
    """Median size (over the canonical body, CANONICAL_HEIGHT_M tall) of the people two views
    of this set triangulate with the rig's poses, or None when no pairing of two cameras'
    people fits one person (PAIRING_ERROR_PX, MIN_PAIRED_JOINTS). stacked: the set's
    detections in normalised coordinates (ray_affinity.StackedDetections)."""
    usable = stacked.usable(min_score)                                      # (N, J)
    counts = row_counts(usable)
    rows_of = []
    for camera in range(arrays.num_cameras):
        rows = np.flatnonzero((stacked.camera_of == camera) & (counts >= MIN_PAIRED_JOINTS))
        rows_of.append(rows[np.argsort(-counts[rows], kind="stable")][:PEOPLE_PER_CAMERA])
    pairs = [(a, b, i, j) for a, b in combinations(range(arrays.num_cameras), 2)
             for i in rows_of[a] for j in rows_of[b]]
    if not pairs:
        return None
    first = np.array([p[:2] for p in pairs])                                # (K, 2) cameras
    rows = np.array([p[2:] for p in pairs])                                 # (K, 2) rows
    n_joints = stacked.xy.shape[1]
    normalized = np.full((len(pairs), arrays.num_cameras, n_joints, 2), np.nan)
    scores = np.zeros((len(pairs), arrays.num_cameras, n_joints))
    k = np.arange(len(pairs))
    for side in range(2):
        seen = usable[rows[:, side]]
        normalized[k, first[:, side]] = np.where(seen[..., None], stacked.xy[rows[:, side]],
                                                 np.nan)
        scores[k, first[:, side]] = np.where(seen, stacked.score[rows[:, side]], 0.0)
    # the pipeline's depth gain limit: views along nearly one line (a 360-degree head's
    # lenses 2 cm apart) measure no size, and gave a metric rig "24 times larger" (a review)
    result = triangulate_normalized(arrays, normalized, scores, min_score=min_score,
                                    outlier_threshold_px=np.inf, max_depth_gain=max_depth_gain)
    error = nanmedian_axis(result.reprojection_error, axis=1)                # (K,)
    one_person = ((row_counts(finite_rows(result.points)) >= MIN_PAIRED_JOINTS)
                  & (error <= PAIRING_ERROR_PX))
    if not one_person.any():
        return None
    size = median_scale(bone_ratios(result.points[one_person], layout))
    size = size[np.isfinite(size)]
    return float(np.median(size)) if size.size else None


def unit_note(factor: float) -> str:
    """Why no person was made, for a size factor out of human range (people_size_factor);
    empty when the factor is a person's."""
    if 1 / UNIT_FACTOR_TOLD <= factor <= UNIT_FACTOR_TOLD:
        return ""
    height = factor * CANONICAL_HEIGHT_M
    low, high = STANDING_HEIGHTS_M
    unit = next((f" (about {name}: divide the translations by {ratio:g})"
                 for ratio, name in _UNIT_NAMES if 0.7 < factor / ratio < 1.4), "")
    direction = "larger" if factor > 1 else "smaller"
    return (f"no person was made: two cameras' people triangulate {height:.3g} m tall with "
            f"the rig's poses (people are {low:g}-{high:g} m), {factor:.3g} times {direction}: "
            f"the rig's translations seem to be in another unit than metres{unit}")
