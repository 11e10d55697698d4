"""The package's one human body: a canonical standing person, and the bone proportions every
part that needs a body's size derives from it.

Users: synthetic people (core/synthetic.py), the body template of the multi-view completion
(core/completion.py), the bone-length plausibility checks of every back-end
(core/plausibility.py), the metric body-size prior of one-camera placement
(lifting/root_placement.BodySizePrior) and the metric scale of self-calibration
(core/selfcalib.py).

The body is made here, with JOINT CENTRES where pose detectors put their keypoints (the
shoulder joint, not the acromion), in the BlazePose-33 layout; any layout convertible from
it (layouts.convert_joints: COCO-17, H36M-17, ...) gets its joints and bones. Checked against
two independent real sources (bone / thigh, the ratio that does not depend on height;
`test_body_model.py`): the DeepMimic motion capture (core/mocap.py, 1,620 frames of its
1.62 m humanoid) and the person of the demo recording 'single' triangulated from its four
Qualisys-calibrated cameras (BlazePose 2D, median over 100 frames):

    bone / thigh        this body   motion capture   demo person
    upper arm           0.651       0.654            0.659-0.696
    forearm             0.582       0.615            0.649-0.665
    half shoulders      0.442       0.435            0.442
    shank               1.000       0.973            0.911-0.941

Until 2026-12-06 the one-camera prior and self-calibration used a second table (Winter's
anthropometric fractions, measured to the acromion: upper arm 0.186 H against 0.160 H here,
half shoulders 0.129 H against 0.109 H) while the rest used this body.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .layouts import BLAZEPOSE33, H36M17, JointLayout, convert_joints, convertible

# Canonical standing body for a 1.75 m person, BlazePose-33 joints, body frame:
# x to the person's right, y forward, z up, feet on z = 0 (a right-handed frame: the person's
# left is up x forward = -x). Until session 42 x pointed to the left: a mirror image of a
# person, which no rotation fits to a real one (the completion's template put a real
# person's nose 0.22 m off, median over motion-capture frames that stand like it; 0.05 m now).
_CANONICAL = {
    "nose": (0.0, 0.10, 1.62), "left_eye_inner": (-0.015, 0.085, 1.66),
    "left_eye": (-0.032, 0.08, 1.662), "left_eye_outer": (-0.048, 0.075, 1.662),
    "right_eye_inner": (0.015, 0.085, 1.66), "right_eye": (0.032, 0.08, 1.662),
    "right_eye_outer": (0.048, 0.075, 1.662), "left_ear": (-0.075, 0.0, 1.63),
    "right_ear": (0.075, 0.0, 1.63), "mouth_left": (-0.025, 0.085, 1.58),
    "mouth_right": (0.025, 0.085, 1.58), "left_shoulder": (-0.19, 0.0, 1.45),
    "right_shoulder": (0.19, 0.0, 1.45), "left_elbow": (-0.20, 0.0, 1.17),
    "right_elbow": (0.20, 0.0, 1.17), "left_wrist": (-0.21, 0.0, 0.92),
    "right_wrist": (0.21, 0.0, 0.92), "left_pinky": (-0.22, -0.01, 0.83),
    "right_pinky": (0.22, -0.01, 0.83), "left_index": (-0.21, 0.02, 0.82),
    "right_index": (0.21, 0.02, 0.82), "left_thumb": (-0.19, 0.03, 0.87),
    "right_thumb": (0.19, 0.03, 0.87), "left_hip": (-0.10, 0.0, 0.95),
    "right_hip": (0.10, 0.0, 0.95), "left_knee": (-0.10, 0.01, 0.52),
    "right_knee": (0.10, 0.01, 0.52), "left_ankle": (-0.10, 0.0, 0.09),
    "right_ankle": (0.10, 0.0, 0.09), "left_heel": (-0.10, -0.05, 0.03),
    "right_heel": (0.10, -0.05, 0.03), "left_foot_index": (-0.10, 0.16, 0.02),
    "right_foot_index": (0.10, 0.16, 0.02),
}
CANONICAL_HEIGHT_M = 1.75
# A person's standing height when nothing else is known (m): the default of every height
# prior (self-calibration's metric scale, the one-camera body-size prior, the tools' --height)
DEFAULT_PERSON_HEIGHT_M = 1.70


def canonical_pose(layout: JointLayout = BLAZEPOSE33) -> np.ndarray:
    """The canonical standing body of a CANONICAL_HEIGHT_M person in `layout`: (J, 3) metres,
    body frame (x to the person's right, y forward, z up, feet on z = 0); a new array."""
    base = np.array([_CANONICAL[n] for n in BLAZEPOSE33.joint_names])
    return base if layout.name == BLAZEPOSE33.name else convert_joints(base, BLAZEPOSE33, layout)


@lru_cache(maxsize=16)
def bone_fractions(layout: JointLayout = H36M17) -> np.ndarray:
    """(B,) the canonical body's bone lengths over its height, in the order of layout.bones
    (a person of height H has bones of about H times these); read-only. ValueError for a
    layout the body cannot be converted to."""
    if not convertible(BLAZEPOSE33, layout):
        raise ValueError(f"no body proportions for layout {layout.name} (not convertible "
                         f"from {BLAZEPOSE33.name})")
    body = canonical_pose(layout)
    pairs = layout.bones_array
    fractions = np.linalg.norm(body[pairs[:, 0]] - body[pairs[:, 1]], axis=-1)
    fractions /= CANONICAL_HEIGHT_M
    fractions.flags.writeable = False
    return fractions


def bone_fraction(first: str, second: str, layout: JointLayout = H36M17) -> float:
    """The canonical body's bone between two joints of `layout`, over its height; KeyError for
    a pair that is not one of the layout's bones."""
    index = {pair: k for k, pair in enumerate(layout.bones)}
    bone = index.get((layout.index(first), layout.index(second)))
    if bone is None:
        raise KeyError(f"({first!r}, {second!r}) is not a bone of {layout.name}")
    return float(bone_fractions(layout)[bone])
