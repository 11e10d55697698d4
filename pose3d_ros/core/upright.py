"""Which way is up in one camera's image: camera roll in quarter turns, and bodies upside down.

The one-camera methods assume an upright camera: the lifter was trained with camera roll of a
few degrees (sigma 4), so a camera mounted sideways or upside down gave it bodies it never saw
(demo error vs the 4-camera triangulation 62 mm -> 104 / 126 mm at 90 / 180 degrees, a fifth
to two fifths refused as implausible). People mostly stand, so the image direction of their
torsos says how the camera is mounted:

  * torso_quarter_turns: each body's torso (hips' midpoint -> shoulders' midpoint) quantised
    to quarter turns from image-up; upright_votes: those of the bodies whose legs continue the
    torso (standing, walking, lying), the only ones that vote (someone bending or cut at the
    chest says nothing about the camera).
  * CameraUpright: one camera's last UprightParams.window votes (straight bodies of confirmed
    image tracks, one per body and frame); its quarter turn k starts at 0 (upright) and
    becomes q only when q holds UprightParams.share of at least UprightParams.min_votes stored
    votes (or k less than 1 - share of them) cast by UprightParams.min_tracks image tracks or
    more, so that one person lying in view, for any time, does not turn the camera.
  * rotated_quarter_turns: the exact quarter-turn rotation of normalised 2D (..., 2) or camera
    3D (..., 3) about the optical axis. Normalised image coordinates are x/z, y/z of the
    optical frame, so turning them about the principal point IS turning the camera about its
    optical axis: the pipeline lifts the 2D turned back by -k (what an upright camera would
    see) and turns the 3D by +k, exactly (swaps and sign changes, no rounding).
  * inverted_bodies: a torso pointing down in the camera (k taken into account) is what the
    2D network makes of a person whose head and shoulders the image edge cuts off (someone
    standing close: hips at the top, shoulders and nose below, often legs folded along the
    real legs, scores 0.99; the demo's cam02 with its top 749 rows cut: 46 of 47 person-frames
    published upside down, their torsos 40-70 degrees from image-down). Such a body is refused
    when an upright person cut off by the edge explains it: its legs are not seen above the
    hips and the room between the hips and the camera's top edge is shorter than an upright
    upper body would need. Not refused: a body upside down in full view (a person touching
    their toes, a handstand, someone lying with the head towards the camera, with room above
    the hips or legs seen there). Refused too: such a body whose hips are near the top edge
    and whose legs are not seen above them (a person bending close under the camera).

Sense of a quarter turn (everywhere here): (x, y) -> (-y, x) in image coordinates (x right,
y down), (x, y, z) -> (-y, x, z) in the optical frame: image-up (0, -1) becomes right (1, 0),
clockwise on the screen. Quarter turn q of a torso: its direction is image-up turned q times
(0 up, 1 right, 2 down, 3 left); a camera of quarter turn k shows upright people turned k
times (k = 1: a camera rolled 90 degrees anticlockwise about its optical axis, seen from
behind it; the optical frame's points then are those of the upright camera turned once).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from .array_ops import finite_rows
from .layouts import TORSO_JOINTS, JointLayout
from .types import Detections2D

_LEGS = ("left_knee", "right_knee", "left_ankle", "right_ankle")
# image-up turned q quarter turns (x right, y down)
_UP = np.array([[0.0, -1.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])


@dataclass(frozen=True)
class UprightParams:
    """window: votes kept per camera; min_votes: fewest stored votes that can turn the camera;
    share: part of the stored votes (0.5..1] the new quarter turn needs; straight_deg: angle
    between torso and legs (degrees) above which a body is straight; vote_deg: a straight
    body votes only when its torso lies within this angle (degrees) of a quarter turn (a
    torso near a diagonal says little: the demo's cameras see torsos at up to 64 degrees);
    inverted_deg: a torso within this angle of the camera's down direction (degrees) is upside
    down (75: 15 degrees below the horizontal; the demo's cut-off bodies lie 40-70 degrees
    from image-down); fit_ratio: the image room above an upside-down body's hips, in
    multiples of its 2D torso length, under which an upright person cut off by the edge
    explains its 2D (inverted_bodies; the demo's cam02 cut at row 749: 3 of 47 cut-off bodies
    left at 2.5, 6 at 1.75; a person bent over in full view before a camera 0.5 m high, 2.5 m
    away, 84 of 90 frames kept at 2.5, and 38 when the legs' length counted too: the room a
    cut-off person would need is their upper body's, the torso's multiple); min_tracks:
    fewest image tracks (people, or one person seen again after leaving the view) among the
    votes of a new quarter turn: one person lying, sitting or crawling in view for any time
    never turns the camera (a review: a fallen person turned an upright camera in 2.2 s,
    after which the helper standing beside them was refused as upside down for the minute
    the fall lasted). A camera mounted sideways turns once 60 votes of three people (or of
    one person seen three times) are stored (a review: one or two people never turned it,
    and were refused as implausible); fixed_quarter_turns: a mount known beforehand (0..3, the
    turn the votes would learn), taken from the start, no votes counted."""

    window: int = 300
    min_votes: int = 60
    min_tracks: int = 3
    fixed_quarter_turns: int | None = None   # a known mount: this turn always, no votes
    share: float = 0.75
    straight_deg: float = 135.0
    vote_deg: float = 30.0
    inverted_deg: float = 75.0
    fit_ratio: float = 2.5

    def __post_init__(self) -> None:
        if self.fixed_quarter_turns is not None and self.fixed_quarter_turns not in range(4):
            raise ValueError(f"fixed_quarter_turns must be 0..3 or None, got "
                             f"{self.fixed_quarter_turns}")
        if self.min_tracks < 1:
            raise ValueError(f"min_tracks must be >= 1, got {self.min_tracks}")
        if not 1 <= self.min_votes <= self.window:
            raise ValueError(f"min_votes must be in [1, window={self.window}], got "
                             f"{self.min_votes}")
        if not 0.5 < self.share <= 1:
            raise ValueError(f"share must be in (0.5, 1], got {self.share}")
        if not 90 <= self.straight_deg < 180:
            raise ValueError(f"straight_deg must be in [90, 180), got {self.straight_deg}")
        if not 0 < self.vote_deg <= 45:
            raise ValueError(f"vote_deg must be in (0, 45], got {self.vote_deg}")
        if not 0 < self.inverted_deg < 90:
            raise ValueError(f"inverted_deg must be in (0, 90), got {self.inverted_deg}")
        if not self.fit_ratio >= 0:
            raise ValueError(f"fit_ratio must be >= 0, got {self.fit_ratio}")


def rotated_quarter_turns(points: np.ndarray, turns: int) -> np.ndarray:
    """points (..., 2) normalised image coordinates or (..., 3) optical-frame points turned
    `turns` quarter turns about the optical axis (module docstring: (x, y) -> (-y, x) per
    turn; negative turns the other way). Exact; 0 turns return `points` itself."""
    turns %= 4
    if not turns:
        return points
    x, y = points[..., 0], points[..., 1]
    out = np.array(points, copy=True)
    out[..., 0], out[..., 1] = {1: (-y, x), 2: (-x, -y), 3: (y, -x)}[turns]
    return out


def body_parts(xy: np.ndarray, scores: np.ndarray, layout: JointLayout, min_score: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per person (P,): the hips' midpoint (P, 2), the torso (hips' -> shoulders' midpoint,
    (P, 2), NaN unless all four joints are seen) and the legs (mean of each side's hip ->
    ankle, hip -> knee where the ankle is not seen, (P, 2), NaN unless both sides are)."""
    xy = np.asarray(xy, np.float64)
    scores = np.asarray(scores, np.float64)
    # a NaN score counts as 0 (np.nan_to_num's, without its cost)
    scored = scores >= min_score if min_score > 0 else (scores >= min_score) | np.isnan(scores)
    seen = scored & finite_rows(xy)
    torso, legs = _torso_legs(layout)
    torso_seen = seen[:, torso].all(1)
    hips = xy[:, torso[2:]].mean(1)
    direction = np.where(torso_seen[:, None], xy[:, torso[:2]].mean(1) - hips, np.nan)
    ankle_seen = seen[:, legs[2:]]
    end = np.where(ankle_seen[..., None], xy[:, legs[2:]], xy[:, legs[:2]])   # (P, 2, 2)
    end_seen = ankle_seen | seen[:, legs[:2]]
    leg = np.where(end_seen.all(1)[:, None], (end - xy[:, torso[2:]]).mean(1), np.nan)
    return np.where(torso_seen[:, None], hips, np.nan), direction, leg


@lru_cache(maxsize=16)
def _torso_legs(layout: JointLayout) -> tuple[np.ndarray, np.ndarray]:
    """The layout's indices of layouts.TORSO_JOINTS (shoulders, hips) and _LEGS (4,) each,
    read-only, made once per layout."""
    torso, legs = layout.indices(TORSO_JOINTS), layout.indices(_LEGS)
    torso.flags.writeable = legs.flags.writeable = False
    return torso, legs


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine of the angle between 2D vectors a, b (..., 2); NaN where either is NaN or 0."""
    norm = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (a * b).sum(-1) / norm, np.nan)


def _torso_angles(torso: np.ndarray) -> np.ndarray:
    """(P,) angle (radians, (-pi, pi]) of torso directions (P, 2) from image-up, positive
    towards image-right (the module docstring's sense); NaN where the torso is NaN or 0."""
    usable = np.isfinite(torso).all(1) & (np.abs(torso).sum(1) > 0)
    return np.where(usable, np.arctan2(torso[:, 0], -torso[:, 1]), np.nan)


def _quarters(angle: np.ndarray) -> np.ndarray:
    """(P,) int64 nearest quarter turn 0..3 of angles (P,) from image-up (0 where NaN)."""
    return np.round(np.nan_to_num(angle) / (np.pi / 2)).astype(np.int64) % 4


def _straight(torso: np.ndarray, legs: np.ndarray, straight_deg: float) -> np.ndarray:
    """(P,) bool: torso and legs (P, 2) both known, at more than straight_deg apart."""
    return np.nan_to_num(_cosine(torso, legs), nan=1.0) < np.cos(np.radians(straight_deg))


def torso_quarter_turns(xy: np.ndarray, scores: np.ndarray, layout: JointLayout,
                        min_score: float) -> np.ndarray:
    """(P,) int8: each body's torso direction (hips' -> shoulders' midpoint of xy (P, J, 2),
    image coordinates, x right, y down) in quarter turns from image-up (0 up, 1 right, 2 down,
    3 left: the module docstring's sense); -1 where a shoulder or hip is not seen (score <
    min_score, or NaN)."""
    angle = _torso_angles(body_parts(xy, scores, layout, min_score)[1])
    return np.where(np.isfinite(angle), _quarters(angle), -1).astype(np.int8)


def upright_votes(xy: np.ndarray, scores: np.ndarray, layout: JointLayout, min_score: float,
                  params: UprightParams,
                  parts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(P,) int8: each body's vote for its camera's quarter turn (torso_quarter_turns) where
    it is straight (both shoulders and hips seen, each side's ankle, or its knee where the
    ankle is not seen, and the torso and the mean hip -> ankle direction more than
    params.straight_deg apart) and its torso lies within params.vote_deg of that quarter turn;
    -1 (no vote) elsewhere. parts: body_parts of the same arguments where the caller has
    them."""
    _, torso, legs = body_parts(xy, scores, layout, min_score) if parts is None else parts
    angle = _torso_angles(torso)
    quarter = _quarters(angle)
    off = np.abs((np.nan_to_num(angle, nan=np.pi) - quarter * np.pi / 2 + np.pi) % (2 * np.pi)
                 - np.pi)                                 # from the nearest quarter turn
    clear = np.isfinite(angle) & (off <= np.radians(params.vote_deg))
    return np.where(clear & _straight(torso, legs, params.straight_deg), quarter,
                    -1).astype(np.int8)


def inverted_bodies(keypoints: np.ndarray, scores: np.ndarray, layout: JointLayout,
                    min_score: float, image_size: tuple[int, int], quarter_turns: int,
                    params: UprightParams,
                    parts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(P,) bool: the bodies of keypoints (P, J, 2) (pixels of an image of image_size (width,
    height)) that an upright person cut off by the image edge explains: the torso within
    params.inverted_deg of the down direction of a camera of `quarter_turns`, and the room
    between the hips and the image edge the camera's up direction points at shorter than
    params.fit_ratio x the body's 2D torso length, where an upright upper body would not fit,
    and no legs seen above the hips (they would fill that room). A body upside down with room
    above it (a person touching their toes, lying with the head towards the camera, a
    handstand, away from the top edge) is not; one bent over close under the top edge of a
    low camera is (0.5 m high, 1.5 m away: the 2D cannot tell it from a cut-off person).
    parts: body_parts of the same keypoints, scores, layout and min_score where the caller
    has them."""
    hips, torso, legs = (body_parts(keypoints, scores, layout, min_score) if parts is None
                         else parts)
    down = _UP[(quarter_turns + 2) % 4]
    inverted = _cosine(torso, down) > np.cos(np.radians(params.inverted_deg))
    if not inverted.any():
        return inverted
    legs_up = _cosine(legs, down) < 0               # the room above the hips shows legs
    width, height = image_size
    # distance from the hips to the image edge the camera's up direction points at (pixels)
    room = np.stack([hips[:, 1], width - 1 - hips[:, 0], height - 1 - hips[:, 1],
                     hips[:, 0]])[quarter_turns % 4]
    return inverted & ~legs_up & (room < params.fit_ratio * np.linalg.norm(torso, axis=1))


def turned_detections(detections: Detections2D, turns: int) -> Detections2D:
    """A copy of detections (.normalised set) whose normalised coordinates and metric 3D
    (.world, camera-aligned axes) are turned `turns` quarter turns about the optical axis
    (rotated_quarter_turns); pixels are kept. 0 turns return `detections` itself."""
    if not turns % 4:
        return detections
    assert detections.normalised is not None
    return replace(detections, normalised=rotated_quarter_turns(detections.normalised, turns),
                   world=None if detections.world is None
                   else rotated_quarter_turns(detections.world, turns))


class CameraUpright:
    """One camera's quarter turn (module docstring): the last params.window votes, each a
    quarter turn 0..3 with the image track that cast it; `quarter_turns` starts at 0 and, once
    params.min_votes votes are stored, becomes q when q holds at least params.share of them,
    or when the current one holds less than 1 - params.share and q the most (people seen near
    a diagonal split their votes between two quarter turns: the camera leaves one that nobody
    votes for); either way only when q's votes come from params.min_tracks image tracks or
    more."""

    def __init__(self, params: UprightParams) -> None:
        self.params = params
        self.quarter_turns = params.fixed_quarter_turns or 0
        self._votes = np.full(params.window, -1, np.int8)    # ring, -1 = empty
        self._tracks = np.zeros(params.window, np.int64)
        self._next = 0

    def update(self, votes: np.ndarray, tracks: np.ndarray) -> int:
        """Store votes (n,) (quarter turns 0..3; others are ignored) cast by image tracks
        tracks (n,) and return the camera's quarter turn after them."""
        if self.params.fixed_quarter_turns is not None:   # the mount is known
            return self.quarter_turns
        votes = np.asarray(votes, np.int8)
        tracks = np.asarray(tracks, np.int64)
        cast = (votes >= 0) & (votes < 4)
        votes, tracks = votes[cast][-self.params.window:], tracks[cast][-self.params.window:]
        if not votes.size:
            return self.quarter_turns
        slots = (self._next + np.arange(votes.size)) % self.params.window
        self._votes[slots], self._tracks[slots] = votes, tracks
        self._next = int(slots[-1] + 1) % self.params.window
        stored = self._votes >= 0
        counts = np.bincount(self._votes[stored], minlength=4)
        total, best = int(counts.sum()), int(np.argmax(counts))
        if total >= self.params.min_votes and (
                counts[best] >= self.params.share * total
                or counts[self.quarter_turns] < (1 - self.params.share) * total):
            voters = np.unique(self._tracks[stored & (self._votes == best)]).size
            if voters >= self.params.min_tracks:
                self.quarter_turns = best
        return self.quarter_turns
