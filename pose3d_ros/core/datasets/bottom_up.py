"""Bottom-up 2D detections (joint candidates + part affinity scores, as OpenPose computes them)
grouped into people, and the per-camera detection files of the 4D-association Shelf release.

Grouping (OpenPose's greedy part association): every limb connection with a positive affinity
between two scored candidates is a weighted edge; edges are taken from the strongest down. An
edge between two unassigned candidates starts a person, one between an assigned and an
unassigned candidate extends that person if it has no candidate of that joint yet, and one
between two people merges them when they share no joint type. People with fewer than
`min_joints` joints are dropped.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..layouts import BODY25, COCO18, JointLayout
from .records import file_error, read_numbers

# Skeleton type codes of the 4D-association files, their layout and limb (affinity) pairs.
BOTTOM_UP_TYPES: dict[int, tuple[JointLayout, np.ndarray]] = {
    3: (COCO18, np.array([
        (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13), (1, 2), (2, 3), (3, 4), (2, 16),
        (1, 5), (5, 6), (6, 7), (5, 17), (1, 0), (0, 14), (0, 15), (14, 16), (15, 17)])),
    4: (BODY25, np.array([
        (1, 8), (9, 10), (10, 11), (8, 9), (8, 12), (12, 13), (13, 14), (1, 2), (2, 3), (3, 4),
        (2, 17), (1, 5), (5, 6), (6, 7), (5, 18), (1, 0), (0, 15), (0, 16), (15, 17),
        (16, 18), (14, 19), (19, 20), (14, 21), (11, 22), (22, 23), (11, 24)])),
}


def group_people(candidates: Sequence[np.ndarray], affinities: Sequence[np.ndarray],
                 pairs: np.ndarray, min_joints: int = 3) -> np.ndarray:
    """Assemble people from joint candidates.

    candidates[j]: (3, n_j) x, y, score of joint type j's candidates. affinities[e]:
    (n_a, n_b) scores of limb e = pairs[e] (joint types a, b) between their candidates.
    Returns (P, J, 3) x, y, score per person, NaN where a person has no candidate.
    """
    n_joints = len(candidates)
    counts = np.array([c.shape[1] for c in candidates])
    edges = []                                   # (score, limb, candidate a, candidate b)
    for e, (joint_a, joint_b) in enumerate(pairs):
        score = affinities[e]
        if score.size == 0:
            continue
        ok = ((score > 0) & (candidates[joint_a][2][:, None] > 0)
              & (candidates[joint_b][2][None, :] > 0))
        rows, cols = np.nonzero(ok)
        edges.append(np.stack([score[rows, cols], np.full(rows.size, e), rows, cols], axis=1))
    people: list[np.ndarray] = []                # candidate index per joint type, -1 = none
    if edges:
        table = np.concatenate(edges)
        table = table[np.argsort(-table[:, 0], kind="stable")]
        owner = [np.full(n, -1) for n in counts]
        for _, limb, cand_a, cand_b in table:
            a, b = (int(j) for j in pairs[int(limb)])
            ia, ib = int(cand_a), int(cand_b)
            pa, pb = int(owner[a][ia]), int(owner[b][ib])
            if pa == -1 and pb == -1:
                person = np.full(n_joints, -1)
                person[a], person[b] = ia, ib
                owner[a][ia] = owner[b][ib] = len(people)
                people.append(person)
            elif pa == -1 or pb == -1:
                keep, joint, cand = (pa, b, ib) if pa != -1 else (pb, a, ia)
                if people[keep][joint] == -1:
                    people[keep][joint] = cand
                    owner[joint][cand] = keep
            elif pa != pb:
                first, second = min(pa, pb), max(pa, pb)
                if not ((people[first] >= 0) & (people[second] >= 0)).any():
                    moved = people[second] >= 0
                    people[first][moved] = people[second][moved]
                    people[second][:] = -1
                    for moved_joint in np.nonzero(moved)[0]:
                        owner[int(moved_joint)][people[first][moved_joint]] = first
    chosen = np.array([p for p in people if (p >= 0).sum() >= min_joints],
                      np.intp).reshape(-1, n_joints)                        # (P, J)
    out = np.full((chosen.shape[0], n_joints, 3), np.nan)
    for j in range(n_joints):                 # joint types (<= 25): each gathered at once
        has = chosen[:, j] >= 0
        out[has, j] = candidates[j][:, chosen[has, j]].T
    return out


def read_bottom_up_file(path: Path | str, image_size: tuple[int, int], min_joints: int = 3
                        ) -> tuple[JointLayout, list[np.ndarray]]:
    """A 4D-association detection file (detection/<camera>.txt) -> its layout and, per frame,
    (P, J, 3) people (x, y pixels, score; NaN where missing).

    File: whitespace-separated numbers; header `type frames`; per frame, per joint type: the
    candidate count n, then n x values, n y values (normalised to [0, 1]: pixels are
    x (width - 1), y (height - 1)) and n scores; then per limb pair the (n_a x n_b) affinity
    scores, row-major.
    """
    tokens = read_numbers(path)
    if tokens.size < 2 or int(tokens[0]) not in BOTTOM_UP_TYPES:
        raise file_error(path, f"unknown skeleton type {tokens[:1].tolist()}; supported: "
                         f"{sorted(BOTTOM_UP_TYPES)} (COCO-18, BODY_25)")
    layout, pairs = BOTTOM_UP_TYPES[int(tokens[0])]
    n_frames = int(tokens[1])
    scale = np.array([image_size[0] - 1, image_size[1] - 1, 1.0])[:, None]
    at, frames = 2, []
    try:
        for _ in range(n_frames):
            candidates = []
            for _ in range(layout.num_joints):
                n = int(tokens[at])
                if n < 0:
                    raise IndexError
                candidates.append(tokens[at + 1:at + 1 + 3 * n].reshape(3, n) * scale)
                at += 1 + 3 * n
            affinities = []
            for a, b in pairs:
                shape = (candidates[a].shape[1], candidates[b].shape[1])
                affinities.append(tokens[at:at + shape[0] * shape[1]].reshape(shape))
                at += shape[0] * shape[1]
            frames.append(group_people(candidates, affinities, pairs, min_joints))
    except (IndexError, ValueError):
        raise file_error(path, f"truncated or malformed at frame {len(frames)} of "
                         f"{n_frames}") from None
    if at != tokens.size:
        raise file_error(path, f"{tokens.size - at} values left after {n_frames} frames")
    return layout, frames
