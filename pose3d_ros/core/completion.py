"""Complete, plausible skeletons: joints seen by fewer than two views are filled from what the
body says, and people whose bones are not human are refused. Batched over people x joints.

Triangulation leaves a joint NaN when fewer than two views see it. `SkeletonCompleter`
fills it, in this order of preference (each step vectorised over people and joints, one pass
per link outwards from the known joints along the skeleton tree rooted at the left hip):

1. one view + bone length: the point on that camera's viewing ray at the person's bone length
   from the (already known) parent joint; of the two intersections of the ray with that
   sphere, the one that better fits the person's other bones to known joints (e.g. a shoulder
   also lies at torso length from its hip) and the track's motion prediction; without recent
   motion, for a wrist or ankle the one farther from the known shoulder or hip (the elbow or
   knee more open, as limbs mostly are: on real motion capture, benchmarks/bench_one_view_fill.py,
   the body's centre picked the wrong wrist more often than not; it loses where a limb folds
   back to the body: hands on the hips, a phone to the ear, a squat), for other joints the
   standing template (3. below) fitted to the measured joints where the body stands like it
   and the template's joint lies near one of the two points, else the body's centre.
   num_views 1, confidence = the view's score x `ray_confidence`.
2. the track's motion: the limb keeps its last direction from the parent, at the person's bone
   length (the parent moves with the body). num_views 0, confidence `motion_confidence`.
3. the body template: the canonical body (body_model.canonical_pose) scaled to the person and
   fitted rigidly (Kabsch) to the known joints; face joints are fitted to the known face
   joints and shoulders, so a missing ear follows the nose and the other ear. Limb joints are
   taken from it only when the person's known joints fit the standing template within
   TEMPLATE_FIT_M (RMS): the legs of someone crawling stay missing rather than guessed.
   num_views 0, confidence `template_confidence`.

Bone lengths: each person's own, learned over time (exponential average of lengths measured
between two triangulated joints, those within 0.7-1.4 x the canonical bone at the person's
scale, and used within that range), keyed by track id when the caller has ids, otherwise by a
nearest-centre match to the people of the previous frames; before any is learned, the
canonical bone times the person's scale (median measured / canonical ratio).

Support: a person not seen in the previous frames (no learned state) is published at once only
when some joint was triangulated from at least `min_views_new` views; one seen by fewer waits
for a second frame (temporal confirmation: two false detections that happen to agree in two
cameras rarely agree again in the next frame). Only a person seen in the previous frame
confirms, or a published person in the frame before that (one missed frame): one last seen
several frames before, whom other false detections may have left there, does not
(_continued; frames are the calls of complete).

Plausibility (plausibility.check_bones, the package's one bone-length check, with the limits
of `bone_check`): a person is published only when at least `min_measured_bones` of its long
bones (>= 0.15 m on the canonical body: limbs, torso sides, shoulder and hip widths) were
measured with both ends triangulated, its scale (median measured / canonical ratio) is within
`scale_range`, and at most `max_bad_bone_share` of those bones are outside `bone_ratio_range`
of the canonical bone at that scale or longer than `max_tallest_bone_ratio` x the tallest
person's bone (a scale that depth errors inflate with the bones passes bones no human has).
Association errors (two people's views mixed, a false detection matched with a real one) give
such bodies. A body with fewer than `min_measured_bones` long bones measured is too little to
judge alone (its scale is one bone's or none); it is published when it is the person published
at its place a frame before (its slot continued, _continued) seen in part: at least one long
bone measured and each within `bone_ratio_range` of that person's learned bone, each measured
joint within `match_distance_m` of the same joint of that person's last pose, and its views
share few joints (no more joints seen by two views were left unmeasured than were measured:
not a body beyond the rig's reach): a person walking out of one of two views, or half behind
another person in it (31 of the 89 missed person-frames two cameras saw on
bench_multiview_people's 3-camera and demo rows, seeds 0-1).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import linear_sum_assignment

from .array_ops import (
    finite_rows,
    masked_mean,
    masked_rigid_fit,
    row_counts,
    squared_norm,
    vector_norm,
)
from .body_model import CANONICAL_HEIGHT_M, bone_lengths
from .bone_prior import joint_information, refine_with_bones
from .camera import CameraArrays
from .layouts import HIPS, SHOULDERS, JointLayout
from .plausibility import (
    PlausibilityParams,
    bone_ratios,
    check_bones,
    checked_bones,
    median_scale,
    reference_body,
    tallest_bone_ratio,
)

_LONG_BONE_M = 0.15
TEMPLATE_FIT_M = 0.12
# bones shorter than this on the canonical body (m) do not correct triangulated joints
# (CompletionParams.bone_weight): COCO-17's nose-eye and eye-ear (0.056, 0.096 m) and
# BlazePose-33's eye and mouth bones (0.017-0.086 m) are no longer than their ends' errors, so
# their directions, along which their lengths pull, are noise; with them the real Shelf
# release lost 12 head limbs to a two-view eye that dragged nose and ears 0.1-0.25 m along
# (benchmarks/results_multiview.md 6y). H36M-17's shortest, nose-head (0.1005 m), is kept.
_MIN_CORRECTING_BONE_M = 0.1
# the one-view fill follows the template's joint only where one of the ray's two points lies
# within this many bone lengths of it: a body can fit the template as a whole while one limb
# is elsewhere (a review's case: an arm swung back), and its joint then picks at random
TEMPLATE_RAY_GATE = 0.8
# learned bone lengths are kept within this factor of the canonical bone at the body's scale
# (a bone measured outside it, e.g. from a 2-view triangulation along the baseline, teaches
# nothing)
_MEMORY_RANGE = (0.7, 1.4)
# CompletionParams.max_tallest_bone_ratio: how much longer than the same bone of the tallest
# person (scale_range's upper end, 2.36 m) a measured bone may be. Human bones over the
# canonical body's at the same height: the real motion capture's 0.85-1.12 (forearm 1.12,
# thigh 1.06; data/mocap, H36M-17's checked bones); published checked bones over their true
# length on the in-house scenes (rig_scenes, 1-6 people, 99th percentile): 1.19, 1.37, 1.50
# with rings of 8, 5, 3 cameras, 1.56 on the demo rig. 1.5 passes a 2.3 m person's forearm
# measured 1.37x too long, and a thigh of 0.87 m at most (30 m from a 6 m baseline a review
# found thighs of 1.13 m published)
TALLEST_BONE_MARGIN = 1.5
# gross_joints' loose joints: triangulated joints of depth_gain (core.triangulation) over this.
# Published joints' gains on the in-house scenes (rig_scenes, 2 and 4 people): 99th
# percentile 0.73, 1.19, 2.10 on rings of 8, 5, 3 cameras, 4.72 on the demo rig (1.5 % over
# 4); 30 m from a 6 m baseline 6.95-7.55, 15 m 3.5-3.9. A bone over the tallest person's by
# the margin above, at well-placed joints, is a 2D error the relative limits judge: with the
# absolute limit on every bone, or at gains over 3, or on joints filled from one view, PCP of
# bench_multiview_people's 3-camera and demo rows fell 0.03-0.6 points (it counts limbs
# twice their length correct); at 4 no row changed
LOOSE_DEPTH_GAIN = 4.0
# A person published at a place confirms one seen there by too few views when seen in one of
# this many previous calls (one missed frame; _continued), one never published in the last.
_PUBLISHED_CONFIRM_CALLS = 2


@dataclass(frozen=True)
class CompletionParams:
    """min_score: a view is usable when its keypoint is finite with a score >= this.
    min_views_new: views a new person needs to be published in its first frame (module doc).
    min_measured_bones, scale_range, bone_ratio_range, max_bad_bone_share: plausibility
        (module docstring); scale 1 = the 1.75 m canonical body.
    memory_rate: weight of a new bone-length measurement in the person's average (0..1].
    motion_max_age_s: a joint last seen longer ago is not continued by motion (s).
    forget_s: a published person unseen this long is forgotten (s).
    tentative_s: a person never published yet is forgotten after this long unseen (s), or
        after 1.5 frame intervals when frames are further apart: to be confirmed it must be
        seen again in the next frame.
    match_distance_m: gate of the nearest-centre match when no track ids are given (m).
    ray_confidence, motion_confidence, template_confidence: confidences of filled joints.
    template_limbs: fill limb joints from the standing template too (False: face joints only;
        a limb nobody sees and with no recent motion stays missing).
    bone_weight: weight of a learned bone length against the views of its joints when
        correcting triangulated joints (core.bone_prior; 1 = one view of score 1); 0 = off.
        Bones shorter than _MIN_CORRECTING_BONE_M on the canonical body are left out.
    check_refined: a body whose raw triangulation fails the bone check but whose corrected
        joints pass it is plausible (two views facing each other place joints metres off
        along their rays; the correction pulls them back within what the views allow).
    gross_bone_ratio: gross_joints' limit: a checked bone longer than this x the canonical
        bone at the body's scale is no human bone, whatever the rest of the body.
    max_tallest_bone_ratio: a checked bone longer than this x the same bone of the tallest
        person (scale_range's upper end; plausibility.tallest_bone_ratio) is no human bone
        whatever the body's scale, which a rig's depth errors inflate with the bones: a bad
        bone of the check, and a gross joint.
    """

    min_score: float = 0.3
    min_views_new: int = 3
    min_measured_bones: int = 2
    scale_range: tuple[float, float] = (0.5, 1.35)
    bone_ratio_range: tuple[float, float] = (0.5, 1.9)
    max_bad_bone_share: float = 0.4
    memory_rate: float = 0.1
    motion_max_age_s: float = 0.5
    forget_s: float = 5.0
    tentative_s: float = 0.15
    match_distance_m: float = 0.5
    ray_confidence: float = 0.5
    motion_confidence: float = 0.3
    template_confidence: float = 0.1
    template_limbs: bool = True
    bone_weight: float = 1.0
    check_refined: bool = True
    gross_bone_ratio: float = 2.5
    max_tallest_bone_ratio: float = TALLEST_BONE_MARGIN

    def __post_init__(self) -> None:
        if not 0 < self.memory_rate <= 1:
            raise ValueError(f"memory_rate must be in (0, 1], got {self.memory_rate}")
        if not (0 < self.scale_range[0] < self.scale_range[1]
                and 0 < self.bone_ratio_range[0] < 1 < self.bone_ratio_range[1]):
            raise ValueError(f"bad ranges {self.scale_range}, {self.bone_ratio_range}")

    @property
    def bone_check(self) -> PlausibilityParams:
        """The plausibility limits above as plausibility.check_bones takes them."""
        return PlausibilityParams(
            min_height_m=self.scale_range[0] * CANONICAL_HEIGHT_M,
            max_height_m=self.scale_range[1] * CANONICAL_HEIGHT_M,
            min_bone_ratio=self.bone_ratio_range[0], max_bone_ratio=self.bone_ratio_range[1],
            max_bad_bone_share=self.max_bad_bone_share, max_asymmetry=np.inf, min_joints=0,
            min_measured_bones=self.min_measured_bones, scale_from="median",
            min_canonical_bone_m=_LONG_BONE_M, check_face_bones=True,
            max_tallest_bone_ratio=self.max_tallest_bone_ratio)


@dataclass(frozen=True)
class Completion:
    """points (P, J, 3) metres; confidence (P, J); num_views (P, J) (1 = filled from one view,
    0 = inferred, unchanged where triangulated); filled (P, J) bool; plausible (P,) bool:
    human bone lengths; confirmed (P,) bool: seen before or well supported; publish (P,):
    both; scale (P,) body scale (1 = 1.75 m canonical body, NaN when no bone was measured)."""

    points: np.ndarray
    confidence: np.ndarray
    num_views: np.ndarray
    filled: np.ndarray
    plausible: np.ndarray
    confirmed: np.ndarray
    scale: np.ndarray

    @property
    def publish(self) -> np.ndarray:
        return self.plausible & self.confirmed


@dataclass(frozen=True, eq=False)
class _Body:
    """Per-layout constants: template (J, 3), bones (B, 2), canonical lengths (B,), tree
    parent (J,) (-1 root), bone of the joint-parent edge (J,), depth (J,), face (J,)
    bool, shoulders (2,), limb_end (J,) bool: the wrists and ankles whose tree parent is
    the elbow or knee and grandparent the shoulder or hip of their side; neighbours (J, K)
    each joint's bone neighbours (-1 padded) and neighbour_bones (J, K) those bones."""

    template: np.ndarray
    bones: np.ndarray
    lengths: np.ndarray
    parent: np.ndarray
    edge: np.ndarray
    depth: np.ndarray
    face: np.ndarray
    shoulders: np.ndarray
    incidence: np.ndarray
    limb_end: np.ndarray
    neighbours: np.ndarray
    neighbour_bones: np.ndarray


@lru_cache(maxsize=8)
def _body(layout: JointLayout) -> _Body:
    ref = reference_body(layout)
    template, bones, lengths, face = ref.template, ref.bones, ref.lengths, ref.face
    n = layout.num_joints
    parent, edge, depth = np.full(n, -1), np.full(n, -1), np.full(n, -1)
    root = layout.index("left_hip")
    depth[root] = 0
    frontier = [root]
    while frontier:                       # breadth-first over the bone graph (layout constant)
        nxt = []
        for j in frontier:
            for b, (u, v) in enumerate(bones.tolist()):
                k = v if u == j else u if v == j else -1
                if k >= 0 and depth[k] < 0:
                    depth[k], parent[k], edge[k] = depth[j] + 1, j, b
                    nxt.append(k)
        frontier = nxt
    shoulders = layout.indices(SHOULDERS)
    incidence = np.zeros((2, len(bones), n))           # bone b has joint j at end 0 / end 1
    incidence[0, np.arange(len(bones)), bones[:, 0]] = 1.0
    incidence[1, np.arange(len(bones)), bones[:, 1]] = 1.0
    names = layout.joint_names
    limb_end = np.zeros(n, bool)
    for side in ("left", "right"):
        for chain in (("shoulder", "elbow", "wrist"), ("hip", "knee", "ankle")):
            top, mid, end = (f"{side}_{part}" for part in chain)
            if all(name in names for name in (top, mid, end)):
                j = layout.index(end)
                limb_end[j] = (parent[j] == layout.index(mid)
                               and parent[parent[j]] == layout.index(top))
    linked: list[list[tuple[int, int]]] = [[] for _ in range(n)]   # (neighbour, bone)
    for b, (u, v) in enumerate(bones.tolist()):
        linked[u].append((v, b))
        linked[v].append((u, b))
    neighbours = np.full((n, max(map(len, linked))), -1)
    neighbour_bones = np.zeros_like(neighbours)
    for j, links in enumerate(linked):
        for k, (other, bone) in enumerate(links):
            neighbours[j, k], neighbour_bones[j, k] = other, bone
    return _Body(template, bones, lengths, parent, edge, depth, face,
                 shoulders, incidence, limb_end, neighbours, neighbour_bones)


def _unit(vectors: np.ndarray) -> np.ndarray:
    """(..., 3) vectors scaled to length 1 (NaN where a vector is zero or NaN)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return vectors / vector_norm(vectors)[..., None]


def gross_joints(points: np.ndarray, layout: JointLayout,
                 params: CompletionParams | None = None,
                 loose: np.ndarray | None = None) -> np.ndarray:
    """(P, J) bool: the joints at the outer end (away from the hips along the skeleton tree)
    of a checked bone (plausibility: long bones) longer than params.gross_bone_ratio x its
    canonical length at the body's scale (the median of its checked bones' ratios); points
    (P, J, 3) metres. A body may pass the bone check with such a bone (it tolerates a share of
    bad bones): a 0.9 m upper arm from two views of a person whose third view was missing, a
    forearm of 3.7x on the multi demo. The pipeline does not publish these joints.
    loose (P, J) bool: joints whose depth the views fix poorly (LOOSE_DEPTH_GAIN; None: none):
    a bone with a loose end is also gross when longer than the tallest person's bone by
    params.max_tallest_bone_ratio, whatever the body's scale (depth errors inflate the
    scale with the bones: a review's thighs of 1.13 m, 30 m from a 6 m baseline)."""
    p = params or CompletionParams()
    body = _body(layout)
    checked = checked_bones(layout, p.bone_check)                                  # (B,)
    points = np.asarray(points, np.float64)
    ratio = bone_ratios(points, layout)                                            # (P, B)
    scale = median_scale(ratio, checked)                                           # (P,)
    with np.errstate(invalid="ignore"):
        too_long = checked & (ratio > p.gross_bone_ratio * scale[:, None])        # (P, B)
        if loose is not None:
            loose_bone = loose[:, body.bones[:, 0]] | loose[:, body.bones[:, 1]]
            too_long |= checked & loose_bone & (ratio > tallest_bone_ratio(p.bone_check))
    return too_long[:, np.maximum(body.edge, 0)] & (body.edge >= 0)


# gross_joints_2d: the person's 2D scale is this quantile of its checked bones' image length /
# canonical length (a person's longest bones are the least foreshortened; the median is pulled
# down by a few bones seen end-on), from at least _MIN_SCALE_BONES bones
_SCALE_QUANTILE = 0.75
_MIN_SCALE_BONES = 3
GROSS_2D_BONE_RATIO = 2.5


@dataclass(frozen=True, eq=False)
class _ImageBones:
    """Per-layout constants of gross_joints_2d: bones (B, 2), canonical lengths (B,), checked
    (B,) bool, allowed (B,) canonical length floored at _LONG_BONE_M (m), incidence (B, J)
    float (bone b has joint j), outer (B, J) float (j on the smaller side of bridge b when
    that side is a limb or the head: at most a quarter of the joints)."""

    bones: np.ndarray
    lengths: np.ndarray
    checked: np.ndarray
    allowed: np.ndarray
    incidence: np.ndarray
    outer: np.ndarray


@lru_cache(maxsize=8)
def _image_bones(layout: JointLayout) -> _ImageBones:
    ref = reference_body(layout)
    bones, n = ref.bones, layout.num_joints
    incidence = np.zeros((len(bones), n))
    incidence[np.arange(len(bones)), bones[:, 0]] = 1.0
    incidence[np.arange(len(bones)), bones[:, 1]] = 1.0
    outer = np.zeros((len(bones), n))
    pairs = bones.tolist()
    for b, (parent, child) in enumerate(pairs):    # layout constants, once per layout
        side, frontier = {child}, [child]           # what the child reaches without bone b
        while frontier:
            frontier = [k for e, pair in enumerate(pairs) if e != b
                        for j in frontier if j in pair for k in pair if k not in side]
            side.update(frontier)
        if parent in side:                # not a bridge (a cycle): no side to blame
            continue
        if 2 * len(side) > n:              # the smaller side: the parent's
            side = set(range(n)) - side
        if 4 * len(side) <= n:             # a limb or the head, never half the body
            outer[b, sorted(side)] = 1.0
    checked = checked_bones(layout, CompletionParams().bone_check)
    return _ImageBones(bones, ref.lengths, checked, np.maximum(ref.lengths, _LONG_BONE_M),
                       incidence, outer)


def gross_joints_2d(keypoints: np.ndarray, scores: np.ndarray, layout: JointLayout,
                    max_bone_ratio: float = GROSS_2D_BONE_RATIO) -> np.ndarray:
    """(..., J) bool: 2D joints no human pose puts there, per person (one view, the detector's
    own fault, e.g. a wrist hundreds of pixels off with score 0.95). keypoints (..., J, 2) in
    any image units (pixels or normalised), scores (..., J); a joint is seen when finite with
    a score > 0. The person's scale is the 75th percentile of its checked bones' image length /
    canonical length (foreshortening only shortens bones); a bone is too long beyond
    max_bone_ratio x scale x its canonical length (at least 0.15 m). A joint all of whose two
    or more seen bones are too long is gross; a too-long bone not explained so marks every
    joint on its smaller side when that is a limb or the head (a wild wrist; an elbow with
    its wrist). Nothing is marked for a person with fewer than 3 checked bones seen. Real 2D
    stays under 1.8 x (the demo's every camera and frame; the 15 motion-capture clips seen
    from 1.5-8 m)."""
    body = _image_bones(layout)
    xy = np.asarray(keypoints, np.float64)
    seen = finite_rows(xy) & (np.asarray(scores, np.float64) > 0)
    xy = np.where(seen[..., None], xy, np.nan)
    length = bone_lengths(xy, body.bones)                                  # (..., B)
    ordered = np.sort(np.where(body.checked, length / body.lengths, np.nan), axis=-1)
    count = row_counts(np.isfinite(ordered)).astype(np.intp)
    index = np.maximum(np.floor(_SCALE_QUANTILE * (count - 1)), 0).astype(np.intp)
    scale = np.take_along_axis(ordered, index[..., None], -1)[..., 0]
    scale = np.where(count >= _MIN_SCALE_BONES, scale, np.nan)
    with np.errstate(invalid="ignore"):
        too_long = length > max_bone_ratio * scale[..., None] * body.allowed       # (..., B)
    measured = np.isfinite(length)
    n_seen = measured @ body.incidence                                             # (..., J)
    culprit = (n_seen >= 2) & ((too_long @ body.incidence) == n_seen)
    explained = culprit[..., body.bones[:, 0]] | culprit[..., body.bones[:, 1]]
    return culprit | ((too_long & ~explained) @ body.outer > 0)


class SkeletonCompleter:
    """Fills missing joints and refuses non-human bodies (module docstring); keeps each
    person's bone lengths and last pose between calls."""

    def __init__(self, params: CompletionParams | None = None) -> None:
        self.params = params or CompletionParams()
        self._bone_check = self.params.bone_check
        self.reset()

    def reset(self) -> None:
        self._keys = np.zeros(0, np.int64)       # (M,) track id or own key
        self._lengths = np.zeros((0, 0))         # (M, B) learned bone lengths, NaN unknown
        self._last = np.zeros((0, 0, 3))         # (M, J, 3) last completed pose
        self._seen = np.zeros((0, 0))            # (M, J) stamp each joint was last measured
        self._stamp = np.zeros(0)                # (M,) last update
        self._published = np.zeros(0, bool)      # (M,) published at least once
        # (M,) calls since it was last seen that could have seen it (a set with one of the
        # cameras that saw it last, or any set when those are not known: _continued)
        self._missed = np.zeros(0, np.int64)
        self._seen_by = np.zeros((0, 0), bool)   # (M, C) the cameras that saw it last
        self._camera_column: dict[str, int] = {}  # camera name -> its column C
        self._next_key = -1                      # own keys are negative, track ids >= 1
        self._last_call: float | None = None

    def complete(self, points: np.ndarray, num_views: np.ndarray, confidence: np.ndarray,
                 layout: JointLayout, stamp: float, *, normalized: np.ndarray | None = None,
                 scores: np.ndarray | None = None, cameras: CameraArrays | None = None,
                 ids: np.ndarray | None = None, used: np.ndarray | None = None,
                 set_cameras: Sequence[str] | None = None) -> Completion:
        """points (P, J, 3) metres (NaN where not triangulated), num_views (P, J), confidence
        (P, J); stamp s. normalized (P, V, J, 2) / scores (P, V, J) / cameras: the people's
        associated views (triangulate_normalized's input), for the one-view fill; ids (P,)
        track ids (optional); used (P, V, J): the views the triangulation kept (with scores
        and cameras: triangulated joints are corrected with the person's learned bone
        lengths, core.bone_prior); set_cameras (V,): the names of the set's cameras, the
        views' order (a set without any camera that saw a person last does not count
        against its confirmation, _continued)."""
        p = self.params
        pts = np.array(points, np.float64)
        if pts.ndim != 3 or pts.shape[1:] != (layout.num_joints, 3):
            raise ValueError(f"points must be (P, {layout.num_joints}, 3), got {pts.shape}")
        body = _body(layout)
        if self._last_call is not None and stamp < self._last_call:
            self.reset()                            # clock went backwards: start over
        gap = None if self._last_call is None else stamp - self._last_call
        self._last_call = stamp
        if self._lengths.shape[1:] != body.lengths.shape:
            self.reset()
            self._last_call = stamp
            self._lengths = np.zeros((0, body.lengths.size))
            self._last = np.zeros((0, layout.num_joints, 3))
            self._seen = np.zeros((0, layout.num_joints))
        self._forget(stamp, gap)
        n_people = pts.shape[0]
        sees = self._count_call(set_cameras, scores, n_people)                  # (P, C)
        measured = np.asarray(finite_rows(pts))
        bones = check_bones(pts, layout, self._bone_check)
        now, scale, plausible = bones.lengths, bones.scale, bones.plausible         # (P, B)

        slot = self._match(pts, measured, ids, n_people)                          # (P,) or -1
        known_slot = slot >= 0
        learned = np.full((n_people, body.lengths.size), np.nan)
        learned[known_slot] = self._lengths[slot[known_slot]]
        body_scale = np.where(np.isfinite(scale), scale, 1.0)
        prior = body.lengths * body_scale[:, None]                                # (P, B)
        expected = np.minimum(np.maximum(np.where(np.isfinite(learned), learned, prior),   # clip
                                         _MEMORY_RANGE[0] * prior), _MEMORY_RANGE[1] * prior)
        with np.errstate(invalid="ignore"):     # only bones near the body's proportions teach
            now_good = np.where((now > _MEMORY_RANGE[0] * prior)
                                & (now < _MEMORY_RANGE[1] * prior), now, np.nan)

        out = pts.copy()
        if used is not None and scores is not None and cameras is not None \
                and p.bone_weight > 0 and known_slot.any():
            # people with a learned body and a joint only two views fix (or a body that
            # failed the check): three or more views leave little for the bones to correct
            n_used = np.asarray(used).sum(1)                                          # (P, J)
            rows = np.flatnonzero(known_slot & (((n_used == 2) & measured).any(1) | ~plausible))
            if rows.size:
                info = joint_information(pts[rows], np.asarray(used)[rows],
                                         np.asarray(scores)[rows], cameras)
                # not the eyes' and ears' bones: one of a few cm is no longer than its
                # ends' errors, so its direction, along which its length pulls, is noise
                weight = np.where(np.isfinite(learned[rows])
                                  & (body.lengths >= _MIN_CORRECTING_BONE_M), p.bone_weight, 0.0)
                out[rows] = refine_with_bones(pts[rows], info, body.bones, expected[rows],
                                              weight)
            again = rows[~plausible[rows]] if p.check_refined else rows[:0]
            if again.size:
                plausible = plausible.copy()
                plausible[again] = check_bones(out[again], layout, self._bone_check).plausible
        # a body with too few bones measured to judge it alone because its views share few
        # joints (at an image's edge in one of two views, half behind another person in the
        # other) is judged against the person published at its place the frame before
        # (_seen_in_part); not one with more joints its views share left unmeasured than
        # measured (the triangulation left them out: beyond the rig's reach, as
        # triangulation.beyond_reach tells by depth gain, or outliers): not seen in part
        checked = checked_bones(layout, self._bone_check)
        unjudged = ~plausible & (row_counts(np.isfinite(now[:, checked]))
                                 < p.min_measured_bones)
        if unjudged.any() and scores is not None:
            shared = (np.nan_to_num(np.asarray(scores, np.float64)) >= p.min_score).sum(1) >= 2
            unjudged &= row_counts(shared & ~measured) <= row_counts(measured)
            # (its own scale, from one bone or none, says nothing)
            own = np.where(np.isfinite(learned), learned, body.lengths)
            plausible = plausible | (unjudged & self._seen_in_part(slot, now / own, checked,
                                                                   pts, measured))
        views = np.asarray(num_views).astype(np.uint8)                       # a copy
        conf = np.array(confidence, np.float32)
        filled = np.zeros(measured.shape, bool)
        if not np.isfinite(out).all():               # joints to fill (most frames: none)
            out, views, conf, filled = self._fill(out, views, conf, filled, pts, measured,
                                                  expected, body, body_scale, slot, stamp,
                                                  normalized, scores, cameras)
            views[filled & (views != 1)] = 0
        support = np.asarray(num_views).max(1, initial=0)
        confirmed = self._continued(slot) | (support >= p.min_views_new)
        self._remember(slot, ids, sees, out, now_good, measured, plausible,
                       plausible & confirmed, stamp)
        return Completion(out, conf.astype(np.float32, copy=False), views, filled, plausible,
                          confirmed, scale)

    def _fill(self, out: np.ndarray, views: np.ndarray, conf: np.ndarray, filled: np.ndarray,
              pts: np.ndarray, measured: np.ndarray, expected: np.ndarray, body: _Body,
              body_scale: np.ndarray, slot: np.ndarray, stamp: float,
              normalized: np.ndarray | None, scores: np.ndarray | None,
              cameras: CameraArrays | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """complete()'s fill of the joints still missing in out (P, J, 3), in the order of the
        module docstring (one view + bone length, motion, template); returns out, views, conf
        and filled updated."""
        p = self.params
        known_slot = slot >= 0
        last = np.full(pts.shape, np.nan)
        age = np.full(measured.shape, np.inf)
        last[known_slot] = self._last[slot[known_slot]]
        age[known_slot] = stamp - self._seen[slot[known_slot]]
        one_view, ray_c, ray_d, ray_score = self._single_views(normalized, scores, cameras,
                                                               measured)
        length = expected[:, np.maximum(body.edge, 0)]                            # (P, J)
        centre = masked_mean(pts, measured)                                      # (P, 3)
        parent = np.maximum(body.parent, 0)
        # motion prediction: each limb keeps its last direction from its parent
        last_dir = _unit(last - last[:, parent])
        has_parent = body.parent >= 0
        recent = finite_rows(last_dir) & (age <= p.motion_max_age_s) & has_parent[None]
        # a joint one view sees is filled from its tree parent, or where that is unknown from
        # another known joint it shares a bone with (a review: the tree's root, the left hip,
        # has no parent and was never filled from its one view, 192 failing limbs of the
        # bench_multiview_people rows; a knee whose hip was unknown neither)
        fillable = one_view | (recent & ~body.face[None])
        person = np.arange(out.shape[0])[:, None]
        joints = np.arange(len(body.parent))[None]
        # which of a ray's two points at the bone's length: with recent motion the one nearer
        # the motion prediction; else for a wrist or ankle the one that opens the elbow or
        # knee more (nearer the upper limb's continuation); else the one nearer the standing
        # template fitted to the measured joints (a body that stands like it) where the
        # template's joint lies near one of them; else the one nearer the body's centre
        grandparent = np.maximum(body.parent[parent], 0)
        standing = np.full(out.shape, np.nan)
        rows = np.flatnonzero((one_view & ~recent).any(1))       # people who need the template
        if rows.size:
            standing[rows] = _template_fill(out[rows], finite_rows(out[rows]), body,
                                            body_scale[rows])
        prior = np.where(recent[..., None], np.nan, standing)
        while True:                       # outwards from the known joints, one link per pass
            known = finite_rows(out)
            par = np.where(has_parent[None, :, None], out[:, parent], np.nan)     # (P, J, 3)
            bone, moving, direction = length, recent, last_dir
            # a one-view joint whose tree parent is unknown: from its first known neighbour
            by_neighbour = one_view & fillable & ~known & ~finite_rows(par)
            if by_neighbour.any():
                linked = known[:, body.neighbours] & (body.neighbours >= 0)[None]  # (P, J, K)
                first = linked.argmax(-1)                                           # (P, J)
                other = body.neighbours[joints, first]
                by_neighbour &= linked.any(-1)
                par = np.where(by_neighbour[..., None], out[person, other], par)
                bone = np.where(by_neighbour,
                                expected[person, body.neighbour_bones[joints, first]], length)
                other_dir = _unit(last - last[person, other])
                moving = np.where(by_neighbour,
                                  finite_rows(other_dir) & (age <= p.motion_max_age_s), recent)
                direction = np.where(by_neighbour[..., None], other_dir, last_dir)
            at = fillable & ~known & finite_rows(par)
            if not at.any():
                break
            motion = par + bone[..., None] * direction
            use_ray = at & one_view
            if use_ray.any():             # else no joint to fill from its one view here
                ends = _ray_at_distance(ray_c, ray_d, par, bone)                # (2, P, J, 3)
                # the template only where it agrees with the ray: a body can fit it as a
                # whole while this limb is elsewhere (an arm swung back), and then its joint
                # is near neither point and would pick the wrong one
                near_template = (np.sqrt(squared_norm(ends - prior).min(0))
                                 <= TEMPLATE_RAY_GATE * bone)                       # (P, J)
                upper = par - out[:, grandparent]                                 # (P, J, 3)
                with np.errstate(invalid="ignore", divide="ignore"):
                    straight = par + (bone / vector_norm(upper))[..., None] * upper
                straight_ok = body.limb_end[None] & finite_rows(straight) & ~by_neighbour
                guess = np.where(moving[..., None], motion,
                                 np.where(straight_ok[..., None], straight,
                                          np.where(near_template[..., None], prior,
                                                   centre[:, None])))
                ray_pt = _pick_ray_point(ends, out, expected, body, guess,
                                         np.where(moving | straight_ok | near_template,
                                                  1.0, 1e-3))
                use_ray &= finite_rows(ray_pt)
                out = np.where(use_ray[..., None], ray_pt, out)
            use_motion = at & ~use_ray & recent & ~by_neighbour & ~body.face[None]
            fillable &= ~at
            out = np.where(use_motion[..., None], motion, out)
            views[use_ray] = 1
            conf = np.where(use_ray, ray_score * p.ray_confidence, conf)
            conf = np.where(use_motion, p.motion_confidence, conf)
            filled |= use_ray | use_motion
        missing = ~finite_rows(out)
        if missing.any():
            fitted = _template_fill(out, ~missing, body, body_scale)
            fill = missing & finite_rows(fitted)
            if not p.template_limbs:
                fill &= body.face[None]
            out = np.where(fill[..., None], fitted, out)
            views[fill] = 0
            conf = np.where(fill, p.template_confidence, conf)
            filled |= fill
        return out, views, conf, filled

    # -- memory ----------------------------------------------------------------------------
    def _match(self, pts: np.ndarray, measured: np.ndarray, ids: np.ndarray | None,
               n_people: int) -> np.ndarray:
        """Memory slot of each person (P,), -1 for a person not seen before; measured (P, J):
        finite_rows(pts)."""
        slot = np.full(n_people, -1)
        if not self._keys.size or not n_people:
            return slot
        if ids is not None:
            ids = np.asarray(ids, np.int64)
            hit = ids[:, None] == self._keys[None]
            slot = np.where(hit.any(1), hit.argmax(1), -1)
            return slot
        now = masked_mean(pts, measured)
        before = masked_mean(self._last, np.asarray(finite_rows(self._last)))
        dist = vector_norm(now[:, None] - before[None])
        cost = np.where(np.isfinite(dist) & (dist <= self.params.match_distance_m), dist, 1e6)
        rows, cols = linear_sum_assignment(cost)
        ok = cost[rows, cols] < 1e6
        slot[rows[ok]] = cols[ok]
        return slot

    def _seen_in_part(self, slot: np.ndarray, ratio: np.ndarray, checked: np.ndarray,
                      points: np.ndarray, measured: np.ndarray) -> np.ndarray:
        """(P,) bool: people who are the person of their memory slot seen in part: the slot
        was published and is continued (_continued), at least one checked bone (checked
        (B,)) is measured and each is within bone_ratio_range of the person's own (ratio
        (P, B): measured / learned length, or the canonical bone's where none is learned;
        NaN where not measured), and each measured joint (points (P, J, 3) m, measured
        (P, J)) lies within match_distance_m of the same joint of the person's last pose.
        (A review: with no bone measured the bone test passed by default, and only the
        joints' centre was matched: three joints 5 cm apart, or one hip moving 0.3 m a frame,
        were published as a whole person.)"""
        out = self._continued(slot)
        if not out.any():
            return out
        rows = np.maximum(slot, 0)
        with np.errstate(invalid="ignore"):
            low, high = self.params.bone_ratio_range
            bad = ((ratio < low) | (ratio > high))[:, checked].any(1)
            moved = vector_norm(points - self._last[rows]) > self.params.match_distance_m
        has_bone = np.isfinite(ratio[:, checked]).any(1)
        far = (measured & (moved | ~finite_rows(self._last[rows]))).any(1)
        return out & self._published[rows] & has_bone & ~bad & ~far

    def _continued(self, slot: np.ndarray) -> np.ndarray:
        """(P,) bool: the people whose memory slot was seen in the previous call, or, for a
        slot published before, in the call before that (_PUBLISHED_CONFIRM_CALLS): what
        confirms a person seen by fewer than min_views_new views. A slot last seen several
        calls ago confirms nothing: with 5 false bodies per camera and frame on the demo rig,
        2-view ghosts were confirmed by slots 2-26 frames old that other ghosts had left
        within match_distance_m (40 % ghost person-frames on 1 person, seed 0; 8.4 % with the
        previous call only, 10.7 % with a published slot one missed frame old), while the
        people's own slots were all one frame old. Without the second call, a two-camera rig,
        whose people are never seen by three views, lost every person for two frames after
        one missed detection (a review, session 64). Counted in calls, not in time since the
        last one: with sets dropped by a node behind, the same calls confirmed or not by the
        spacing of the last two (a review, session 65)."""
        known = slot >= 0
        if not known.any():
            return known
        rows = np.maximum(slot, 0)
        return known & (self._missed[rows] <= np.where(self._published[rows],
                                                       _PUBLISHED_CONFIRM_CALLS, 1))

    def _count_call(self, set_cameras: Sequence[str] | None, scores: np.ndarray | None,
                    n_people: int) -> np.ndarray:
        """Count this call as a missed chance for each slot it could have seen: a set with
        one of the cameras that saw the slot last, or any set where those are not known
        (set_cameras or scores not given). A set of other cameras does not count (a review:
        in a rig of 60 and 30 fps cameras, a two-view person whom only the 30 fps cameras
        see was never published, the 60 fps sets between counting as calls it missed).
        Returns (P, C) bool: the cameras of the set that see each person (scores > 0)."""
        if set_cameras is None:
            self._missed += 1
            return np.zeros((n_people, self._seen_by.shape[1]), bool)
        for name in set_cameras:
            self._camera_column.setdefault(name, len(self._camera_column))
        n_columns = len(self._camera_column)
        if self._seen_by.shape[1] < n_columns:
            self._seen_by = np.pad(self._seen_by,
                                   ((0, 0), (0, n_columns - self._seen_by.shape[1])))
        columns = np.array([self._camera_column[name] for name in set_cameras], np.int64)
        in_set = np.zeros(n_columns, bool)
        in_set[columns] = True
        self._missed += (self._seen_by & in_set).any(1) | ~self._seen_by.any(1)
        sees = np.zeros((n_people, n_columns), bool)
        if scores is not None and n_people and np.shape(scores)[:2] == (n_people, columns.size):
            sees[:, columns] = (np.nan_to_num(np.asarray(scores, np.float64)) > 0).any(-1)
        return sees

    def _remember(self, slot: np.ndarray, ids: np.ndarray | None, sees: np.ndarray,
                  out: np.ndarray,
                  now: np.ndarray, measured: np.ndarray, plausible: np.ndarray,
                  publish: np.ndarray, stamp: float) -> None:
        r = self.params.memory_rate
        old = slot >= 0
        rows = slot[old & plausible]
        if rows.size:
            prev, new = self._lengths[rows], now[old & plausible]
            blend = np.where(np.isfinite(prev), (1 - r) * prev + r * new, new)
            self._lengths[rows] = np.where(np.isfinite(new), blend, prev)
        rows = slot[old]
        if rows.size:
            self._last[rows] = out[old]
            self._seen[rows] = np.where(measured[old], stamp, self._seen[rows])
            self._stamp[rows] = stamp
            self._missed[rows] = 0
            self._seen_by[rows] = sees[old]
            self._published[rows] |= publish[old]
        fresh = ~old & plausible
        if fresh.any():
            k = int(fresh.sum())
            if ids is not None:
                keys = np.asarray(ids, np.int64)[fresh]
            else:
                keys = np.arange(self._next_key, self._next_key - k, -1)
                self._next_key -= k
            self._keys = np.concatenate([self._keys, keys])
            self._lengths = np.concatenate([self._lengths, now[fresh]])
            self._last = np.concatenate([self._last, out[fresh]])
            self._seen = np.concatenate([self._seen, np.where(measured[fresh], stamp, -np.inf)])
            self._stamp = np.concatenate([self._stamp, np.full(k, stamp)])
            self._published = np.concatenate([self._published, publish[fresh]])
            self._missed = np.concatenate([self._missed, np.zeros(k, np.int64)])
            self._seen_by = np.concatenate([self._seen_by, sees[fresh]])

    def _forget(self, stamp: float, gap: float | None = None) -> None:
        """Forget the people unseen for too long; gap: seconds since the previous call. A
        person not yet published is kept while unseen for at most tentative_s or 1.5 frame
        intervals, whichever is longer: it must be seen again in the next frame, whatever the
        frame rate (at 5 Hz a 0.15 s limit forgot every two-view person before its second
        frame, and a two-camera rig published nobody)."""
        p = self.params
        tentative = max(p.tentative_s, 1.5 * gap) if gap is not None else p.tentative_s
        keep = stamp - self._stamp <= np.where(self._published, p.forget_s, tentative)
        if not keep.all():
            self._keys, self._lengths = self._keys[keep], self._lengths[keep]
            self._last, self._seen, self._stamp = self._last[keep], self._seen[keep], \
                self._stamp[keep]
            self._published, self._missed = self._published[keep], self._missed[keep]
            self._seen_by = self._seen_by[keep]

    def _single_views(self, normalized: np.ndarray | None, scores: np.ndarray | None,
                      cameras: CameraArrays | None, measured: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(one_view (P, J), ray origin (P, J, 3), unit ray (P, J, 3), score (P, J)) of the
        joints not triangulated that exactly one usable view sees."""
        shape = measured.shape
        if normalized is None or scores is None or cameras is None or not shape[0]:
            nan3 = np.full(shape + (3,), np.nan)
            return np.zeros(shape, bool), nan3, nan3, np.zeros(shape)
        xy = np.asarray(normalized, np.float64)                                   # (P, V, J, 2)
        sc = np.asarray(scores, np.float64)
        usable = finite_rows(xy) & (sc >= self.params.min_score)          # (P, V, J)
        one = (usable.sum(1) == 1) & ~measured
        if not one.any():
            return self._single_views(None, None, None, measured)       # no joint to fill
        view = usable.argmax(1)                                                   # (P, J)
        person, joint = np.arange(shape[0])[:, None], np.arange(shape[1])[None]
        pick = xy[person, view, joint]                                            # (P, J, 2)
        d = np.concatenate([pick, np.ones(shape + (1,))], -1)
        d /= vector_norm(d)[..., None]
        rays = np.einsum("pjk,pjkl->pjl", d, cameras.rotations[view])             # R^T d
        score = sc[person, view, joint]
        return one, cameras.centers[view], rays, np.where(one, score, 0.0)


def _ray_at_distance(origin: np.ndarray, direction: np.ndarray, parent: np.ndarray,
                     length: np.ndarray) -> np.ndarray:
    """The two points (near, far) (2, P, J, 3) on each ray origin + s direction (P, J, 3;
    unit direction) at `length` (P, J) from `parent` (P, J, 3); where the sphere is missed,
    both are the ray's closest point to the parent; a point behind the camera (s <= 0) is
    replaced by the other, and both are NaN where the whole sphere is behind it or the ray is
    NaN."""
    w = parent - origin
    b = np.einsum("...i,...i->...", direction, w)
    disc = b * b - (np.einsum("...i,...i->...", w, w) - length * length)
    root = np.sqrt(np.maximum(disc, 0.0))
    near_s = np.where(b - root > 0, b - root, b + root)
    far_s = b + root
    ends = origin + np.stack([near_s, far_s])[..., None] * direction
    return np.where((far_s > 0)[..., None], ends, np.nan)


def _pick_ray_point(ends: np.ndarray, known: np.ndarray, expected: np.ndarray, body: _Body,
                    guess: np.ndarray, guess_weight: np.ndarray) -> np.ndarray:
    """Of a ray's two points ends (2, P, J, 3) (_ray_at_distance), the one whose bones to the
    other known joints (known (P, J, 3), NaN unknown) are nearest their expected lengths
    (P, B), plus guess_weight (P, J) x squared distance to `guess` (P, J, 3): (P, J, 3)."""
    cost = _bone_misfit(ends, known, expected, body) + guess_weight * squared_norm(ends - guess)
    return np.where((cost[1] < cost[0])[..., None], ends[1], ends[0])


def _bone_misfit(candidate: np.ndarray, known: np.ndarray, expected: np.ndarray,
                 body: _Body) -> np.ndarray:
    """Sum over each joint's bones to known joints of (length - expected)^2: candidate
    positions (..., P, J, 3) (e.g. both ends of rays, (2, P, J, 3)), known (P, J, 3) NaN
    where unknown, expected (P, B) -> (..., P, J)."""
    a, b = body.bones[:, 0], body.bones[:, 1]
    from_a = vector_norm(candidate[..., a, :] - known[:, b]) - expected  # (..., P, B)
    from_b = vector_norm(candidate[..., b, :] - known[:, a]) - expected
    from_a, from_b = from_a * from_a, from_b * from_b          # NaN (bone end unknown): 0
    return (np.where(from_a == from_a, from_a, 0.0) @ body.incidence[0]
            + np.where(from_b == from_b, from_b, 0.0) @ body.incidence[1])


def _template_fill(points: np.ndarray, known: np.ndarray, body: _Body,
                   scale: np.ndarray) -> np.ndarray:
    """The person-scaled template fitted rigidly to the known joints: (P, J, 3) (face joints
    from a fit to the known face joints and shoulders when there are 3 of them)."""
    template = body.template[None] * scale[:, None, None]                      # (P, J, 3)
    body_known = known & ~body.face[None]
    head_set = body.face.copy()
    head_set[body.shoulders] = True
    head_known = known & head_set[None]
    # both fits (body, head) in one batch of 2P people
    body_fit, head_fit = masked_rigid_fit(np.concatenate([template, template]),
                                          np.concatenate([points, points]),
                                          np.concatenate([body_known, head_known])
                                          ).reshape((2,) + points.shape)
    # limbs from the standing template only for a body that stands like it (known joints
    # within TEMPLATE_FIT_M RMS): a crawling or lying person's legs are not guessed
    residual = np.where(body_known, vector_norm(body_fit - points), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.sqrt((residual ** 2).sum(1) / body_known.sum(1))
    body_fit = np.where((rms <= TEMPLATE_FIT_M)[:, None, None], body_fit, np.nan)
    use_head = (head_known.sum(1) >= 3)[:, None] & body.face[None]
    return np.where(use_head[..., None], head_fit, body_fit)


@lru_cache(maxsize=16)
def _hip_and_shoulder_indices(layout: JointLayout) -> tuple[int, int, int, int] | None:
    """(left hip, right hip, left shoulder, right shoulder) joint indices, None when the
    layout lacks one."""
    names = HIPS + SHOULDERS
    if not all(name in layout.joint_names for name in names):
        return None
    left_hip, right_hip, left_shoulder, right_shoulder = (int(i) for i in layout.indices(names))
    return left_hip, right_hip, left_shoulder, right_shoulder


@lru_cache(maxsize=16)
def _hip_to_shoulder_width(layout: JointLayout) -> float:
    """The package's one body's hip width over its shoulder width (body_model.canonical_pose:
    0.53); in an image both are lateral, so the ratio holds in any view."""
    from .body_model import canonical_pose

    points = canonical_pose(layout)
    indices = _hip_and_shoulder_indices(layout)
    assert indices is not None                   # (asked only for layouts that have them)
    left_hip, right_hip, left_shoulder, right_shoulder = indices
    return float(np.linalg.norm(points[left_hip] - points[right_hip])
                 / np.linalg.norm(points[left_shoulder] - points[right_shoulder]))


def with_one_hip_filled(keypoints: np.ndarray, scores: np.ndarray, layout: JointLayout
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2D people (..., J, 2) any image units, scores (..., J), with a hip that is not seen
    (not finite, or score <= 0) while the other hip and both shoulders are placed from them:
    the seen hip moved across the body by the shoulders' vector times the body's hip /
    shoulder width ratio, scored as the least of the three. The one-camera methods place a
    person by the pelvis, the hips' midpoint: a person whose one hip a desk or the image's
    edge hides was lost (a review: counted "implausible"). Returns the arrays (the inputs
    themselves when nothing is filled) and the filled joints (..., J) bool."""
    filled = np.zeros(np.shape(scores), bool)
    indices = _hip_and_shoulder_indices(layout)
    if indices is None:
        return keypoints, scores, filled
    left_hip, right_hip, left_shoulder, right_shoulder = indices
    xy, score = np.asarray(keypoints, np.float64), np.asarray(scores, np.float64)
    seen = finite_rows(xy) & (score > 0)
    shoulders = seen[..., left_shoulder] & seen[..., right_shoulder]
    missing_left = ~seen[..., left_hip] & seen[..., right_hip] & shoulders
    missing_right = seen[..., left_hip] & ~seen[..., right_hip] & shoulders
    if not (missing_left.any() or missing_right.any()):
        return keypoints, scores, filled
    across = _hip_to_shoulder_width(layout) * (xy[..., left_shoulder, :]
                                               - xy[..., right_shoulder, :])   # right -> left
    xy, score = xy.copy(), score.copy()
    least = np.minimum(score[..., left_shoulder], score[..., right_shoulder])
    for hip, other, sign, missing in ((left_hip, right_hip, 1.0, missing_left),
                                      (right_hip, left_hip, -1.0, missing_right)):
        xy[..., hip, :] = np.where(missing[..., None], xy[..., other, :] + sign * across,
                                   xy[..., hip, :])
        score[..., hip] = np.where(missing, np.minimum(least, score[..., other]),
                                   score[..., hip])
        filled[..., hip] = missing
    return xy.astype(np.asarray(keypoints).dtype), score.astype(np.asarray(scores).dtype), filled
