"""Does each camera of a rig agree with the others? A camera whose pose is off (bumped, an old
calibration) or whose calibration is another camera's (topics swapped) still joins the
association and triangulation: its views are outvoted or averaged in, and nothing says so (a
review: a camera rotated 2 degrees cost more than leaving it out, PCP 0.94 -> 0.83, and two
swapped calibrations made a ghost in a third of the frames, with the published reprojection
errors falling).

Per set, each camera's 2D of the published people is compared with those people's 3D
projected into it (`view_agreement`: the median distance over its joints in groups, the views
rejected as outliers included, over each person's size in its image; and how many of the
published people in its image its 2D is part of). `CameraAgreement` keeps each camera's
figures over the last AGREEMENT_WINDOW sets and names a camera whose median residual stays
above DISAGREE_RATIO times the other cameras' (and above MIN_RELATIVE_RESIDUAL), or whose 2D
joins few of the people the others place in its image: with three cameras or more, the one
that does not fit is told apart. Measured: on the demo recordings a camera turned 5 degrees
(9 and 7 % against 3 %) and two cameras' calibrations swapped (their 2D joined none or 21 %
of the people) are told, a camera turned 2 degrees is not (3 % against 2 %); correct rigs of
the motion-capture scenes stay under 4 %. Vectorised over people, cameras and joints: about
0.1 ms a comparison at 5 cameras x 4 people, made every AGREEMENT_EVERY sets.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .array_ops import box_diagonal, finite_rows, nanmedian_axis
from .camera import CameraArrays

AGREEMENT_EVERY = 2        # the pipeline compares every this many rig sets (cost: module doc)
AGREEMENT_WINDOW = 90      # compared sets a camera's residuals are judged over
AGREEMENT_MIN_SETS = 20    # compared sets with the camera's residual before it is judged
DISAGREE_RATIO = 2.0       # its median over the other cameras' median
# a camera whose residual is under this share of the people's size in its image agrees,
# whatever the others' (correct rigs: at most 0.04 on the motion-capture scenes)
MIN_RELATIVE_RESIDUAL = 0.06
MAX_JOIN_SHARE = 0.3       # a camera's 2D joining fewer of the people in its view disagrees
MIN_OTHERS_JOIN_SHARE = 0.7  # ... when the others' join at least this share


@dataclass(frozen=True)
class ViewAgreement:
    """One set's comparison, per camera (V,): residual, the median distance between its 2D
    of the published people and their 3D projected into it, over each person's size in its
    image (the diagonal of the projected joints' box; NaN: none of its 2D is in them);
    expected, how many published people lie in its image (most of their
    measured joints in front of it and inside it) while it gave 2D in the set; joined, how
    many of those its 2D is part of."""

    residual: np.ndarray
    expected: np.ndarray
    joined: np.ndarray


def view_agreement(arrays: CameraArrays, normalized: np.ndarray, points: np.ndarray,
                   members: np.ndarray, delivered: np.ndarray) -> ViewAgreement:
    """Each camera's 2D of the published people (normalized (P, V, J, 2) undistorted
    normalised, NaN where it has none; members (P, V) its detection in each, -1 none) against
    their 3D (points (P, J, 3) rig frame, NaN where not measured); delivered (V,) bool: the
    camera gave 2D in this set."""
    normalised, _ = arrays.normalized_and_depth(points)       # (P, J, V, 2), NaN behind
    projected = normalised.transpose(0, 2, 1, 3)                  # (P, V, J, 2)
    focal = arrays.focal_xy[None, :, None, :]
    pixels = (normalized - projected) * focal
    distance = np.hypot(pixels[..., 0], pixels[..., 1])          # (P, V, J), NaN: unknown
    # over the person's size in that image (the diagonal of its projected joints' box): 2D
    # errors grow with it, and a camera near the people erred 50 px where the others did
    # 16, on a correct rig (pixels alone told it apart)
    size = box_diagonal(projected * focal, empty=np.nan)         # (P, V)
    relative = distance / np.where(size > 0, size, np.nan)[..., None]
    per_camera = relative.transpose(1, 0, 2).reshape(arrays.num_cameras, -1)  # (V, P * J)
    measured = np.isfinite(points).all(-1)                                   # (P, J)
    inside = finite_rows(projected)
    if arrays.bounds is not None:
        low, high = arrays.bounds[None, :, None, :2], arrays.bounds[None, :, None, 2:]
        with np.errstate(invalid="ignore"):
            inside &= ((projected >= low) & (projected <= high)).all(-1)
    seen = (inside & measured[:, None]).sum(-1) * 2 > measured.sum(-1)[:, None]  # (P, V)
    expected = seen & np.asarray(delivered, bool)[None]
    return ViewAgreement(nanmedian_axis(per_camera, axis=1), expected.sum(0),
                         (expected & (members >= 0)).sum(0))


@dataclass(frozen=True)
class Disagreement:
    """A camera that does not fit the others: its median residual and the other cameras'
    (over the people's size in the image) over the judged sets, or (NaN residuals) the share
    of the people in its view its 2D joined and the others' share."""

    camera: str
    own_residual: float
    others_residual: float
    sets: int
    join_share: float = float("nan")
    others_join_share: float = float("nan")

    def text(self) -> str:
        """What the node logs about it."""
        if np.isfinite(self.own_residual):
            why = (f"its 2D lies a median {100 * self.own_residual:.0f} % of the people's size "
                   f"from where the rig triangulates them, the other cameras' "
                   f"{100 * self.others_residual:.0f} %")
        else:
            why = (f"its 2D is part of {100 * self.join_share:.0f} % of the people the other "
                   f"cameras place in its image (theirs: {100 * self.others_join_share:.0f} %)")
        return (f"camera {self.camera!r} disagrees with the others over the last "
                f"{self.sets * AGREEMENT_EVERY} sets: {why}; its pose in the calibration is off "
                "(moved, bumped), or it is another camera's (topics or names swapped)")


class CameraAgreement:
    """Each camera's per-set comparisons (view_agreement) over the last AGREEMENT_WINDOW
    sets, and the cameras that stand out (disagreements)."""

    def __init__(self, names: Sequence[str]) -> None:
        self._residuals: dict[str, deque[float]] = {}
        self._joins: dict[str, deque[tuple[int, int]]] = {}
        self._updates = 0                        # comparisons since the last reset
        self._last_residual: dict[str, int] = {}  # camera -> the update of its newest residual
        # (disagreements, judged cameras) until the next update
        self._verdict: tuple[list[Disagreement], set[str]] | None = None
        for name in names:
            self._track(name)

    def _track(self, name: str) -> None:
        self._residuals.setdefault(name, deque(maxlen=AGREEMENT_WINDOW))
        self._joins.setdefault(name, deque(maxlen=AGREEMENT_WINDOW))

    def reset(self) -> None:
        """Forget everything (time went back: another pass of a replay)."""
        for residuals in self._residuals.values():
            residuals.clear()
        for joins in self._joins.values():
            joins.clear()
        self._updates = 0
        self._last_residual.clear()
        self._verdict = None

    def update(self, names: Sequence[str], agreement: ViewAgreement) -> None:
        """Add one set's comparison of the cameras `names` (in its V order)."""
        self._verdict = None
        self._updates += 1
        for k, name in enumerate(names):
            self._track(name)
            if np.isfinite(agreement.residual[k]):
                self._residuals[name].append(float(agreement.residual[k]))
                self._last_residual[name] = self._updates
            if agreement.expected[k]:
                self._joins[name].append((int(agreement.expected[k]),
                                          int(agreement.joined[k])))

    def median_residuals(self) -> dict[str, float]:
        """Camera -> the median of its kept residuals, for cameras with AGREEMENT_MIN_SETS."""
        return {name: float(np.median(kept)) for name, kept in self._residuals.items()
                if len(kept) >= AGREEMENT_MIN_SETS}

    def join_shares(self) -> dict[str, float]:
        """Camera -> the share of the published people in its image that its 2D joined, for
        cameras with people in view in AGREEMENT_MIN_SETS sets."""
        out = {}
        for name, kept in self._joins.items():
            if len(kept) >= AGREEMENT_MIN_SETS:
                expected, joined = np.asarray(kept).sum(0)
                out[name] = float(joined / expected)
        return out

    def disagreements(self) -> list[Disagreement]:
        """The cameras that do not fit the others, none with fewer than three cameras judged
        (two that disagree cannot be told apart): a median residual above DISAGREE_RATIO times
        the others' median (and above MIN_RELATIVE_RESIDUAL), or 2D that joins under
        MAX_JOIN_SHARE of the people the others place in its image while theirs join at least
        MIN_OTHERS_JOIN_SHARE (its calibration another camera's, or its pose far off).
        Judged once per update (the nodes ask after every set: 0.2 ms at 5 cameras)."""
        return list(self._judged()[0])

    def judged_cameras(self) -> set[str]:
        """The cameras with enough comparisons since the last reset to be judged either
        way (a camera not among them has not been found to agree)."""
        return set(self._judged()[1])

    def _judged(self) -> tuple[list[Disagreement], set[str]]:
        """(disagreements, judged cameras), computed once per update: the medians and
        shares both need are taken once."""
        if self._verdict is None:
            medians, shares = self.median_residuals(), self.join_shares()
            self._verdict = (self._judge(medians, shares), set(medians) | set(shares))
        return self._verdict

    def _judge(self, medians: dict[str, float], shares: dict[str, float]
               ) -> list[Disagreement]:
        out: dict[str, Disagreement] = {}
        # only once every camera still getting residuals has enough: a bad camera is often
        # left out of the groups at first, and another camera whose triangulation it spoils
        # was named before it for a second (a review); one that got a few and then none for
        # AGREEMENT_MIN_SETS comparisons (it stopped, or sees nobody now) is not waited for,
        # or it held every camera's judgement back for good (a review, session 64)
        started = sum(1 for name, kept in self._residuals.items() if kept and (
            len(kept) >= AGREEMENT_MIN_SETS
            or self._updates - self._last_residual.get(name, 0) < AGREEMENT_MIN_SETS))
        if len(medians) >= 3 and len(medians) == started:
            for name, own in medians.items():
                others = float(np.median([v for k, v in medians.items() if k != name]))
                if own > max(MIN_RELATIVE_RESIDUAL, DISAGREE_RATIO * others):
                    out[name] = Disagreement(name, own, others, len(self._residuals[name]))
        if len(shares) >= 3:
            for name, share in shares.items():
                others = float(np.median([v for k, v in shares.items() if k != name]))
                if share < MAX_JOIN_SHARE and others >= MIN_OTHERS_JOIN_SHARE \
                        and name not in out:
                    out[name] = Disagreement(name, float("nan"), float("nan"),
                                             len(self._joins[name]), share, others)
        return list(out.values())
