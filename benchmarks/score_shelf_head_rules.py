"""Shelf PCP under each head rule: the package's output, and the 4D-association system's own
output where its release holds it (`skel.txt` beside `gt.txt`), on the same 2D.

    python benchmarks/score_shelf_head_rules.py <copy of the release's data/shelf>

The release's `skel.txt` is that system's 3D (its SKEL19 joints, the same file layout as
`gt.txt`); its joints are taken by name into COCO-17 (no eyes: the rules use nose, ears and
shoulders) and both outputs are scored by `score_multiperson` against the release's ground
truth with each rule of `multiperson_metrics.PRED_HEADS`. Printed per output and rule: PCP over
actors 0-2 (as papers report Shelf) and over all annotated actors, PCP per actor, head and
torso PCP. Shows which rule a published figure was scored with (docs/datasets.md).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose3d_ros.core.datasets import load_campus_shelf  # noqa: E402
from pose3d_ros.core.datasets.campus_shelf import published_pcp  # noqa: E402
from pose3d_ros.core.datasets.evaluation import (  # noqa: E402
    ground_truth_campus14,
    run_sequence,
)
from pose3d_ros.core.datasets.records import (  # noqa: E402
    MultiViewSequence,
    read_numbers,
    stack_people,
)
from pose3d_ros.core.layouts import COCO17, convert_joints  # noqa: E402
from pose3d_ros.core.multiperson_metrics import (  # noqa: E402
    PCP_LIMB_NAMES,
    PRED_HEADS,
    score_multiperson,
    to_campus14,
)

# The 4D-association code's SKEL19 joints by name (its BODY_25 -> SKEL19 joint mapping).
SKEL19_NAMES = ("pelvis", "neck", "right_hip", "left_hip", "nose", "right_shoulder",
                "left_shoulder", "right_knee", "left_knee", "right_ear", "left_ear",
                "right_elbow", "left_elbow", "right_ankle", "left_ankle", "right_wrist",
                "left_wrist", "left_big_toe", "right_big_toe")


def read_skel19(path: Path) -> list[np.ndarray]:
    """skel.txt -> per frame (P, 17, 3) COCO-17 metres (eyes NaN)."""
    tokens = read_numbers(path)
    joints, frames, at = int(tokens[0]), int(tokens[1]), 2
    if joints != len(SKEL19_NAMES):
        raise ValueError(f"{path}: expected {len(SKEL19_NAMES)} joints, got {joints}")
    per_frame = []
    try:
        for _ in range(frames):
            people, count, at = {}, int(tokens[at]), at + 1
            for _ in range(count):
                block = tokens[at + 1:at + 1 + 4 * joints].reshape(4, joints)
                people[int(tokens[at])] = np.where(block[3][:, None] > 0, block[:3].T, np.nan)
                at += 1 + 4 * joints
            per_frame.append(people)
    except (IndexError, ValueError):
        raise ValueError(f"{path}: truncated at frame {len(per_frame)} of {frames}") from None
    if at != tokens.size:
        raise ValueError(f"{path}: {tokens.size - at} values left after {frames} frames")
    points, _ = stack_people(per_frame, joints)                  # (F, P, 19, 3)
    coco = np.full(points.shape[:2] + (COCO17.num_joints, 3), np.nan)
    for j, name in enumerate(COCO17.joint_names):
        if name in SKEL19_NAMES:
            coco[:, :, j] = points[:, :, SKEL19_NAMES.index(name)]
    return [frame[np.isfinite(frame).any(-1).any(-1)] for frame in coco]


def package_output(sequence: MultiViewSequence) -> list[np.ndarray]:
    """The pipeline's people per frame, (P, 17, 3) COCO-17, as eval_dataset runs it."""
    return [convert_joints(skeletons.positions, skeletons.layout, COCO17)
            for skeletons, _, _ in run_sequence(sequence)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="the release's data/shelf")
    args = parser.parse_args()
    try:                  # the user's folder: one line (a review: a traceback)
        sequence = load_campus_shelf(args.directory, "shelf")
    except (OSError, ValueError) as err:
        parser.error(str(err))
    truth = sequence.ground_truth
    gt = ground_truth_campus14(truth)
    annotated = np.isfinite(gt).all(-1).any(-1)                              # (F, P)
    gts = [gt[f][annotated[f]] for f in range(len(gt))]
    ids = [truth.actor_ids[annotated[f]] for f in range(len(gt))]
    outputs = {"pose3d_ros": package_output(sequence)}
    skel = args.directory / "skel.txt"
    if skel.is_file():
        outputs["4D association (skel.txt)"] = read_skel19(skel)
    print(f"# Shelf, {len(gt)} frames; the loader's rule for Shelf: {truth.head_rule}")
    print("| output | head rule | PCP actors 0-2 | PCP all | per actor | head | torso |")
    print("|---|---|---|---|---|---|---|")
    for name, people in outputs.items():
        for rule in PRED_HEADS:
            preds = [to_campus14(p, COCO17, truth.up, derivation=rule) for p in people]
            s = score_multiperson(preds, gts, gt_ids=ids)
            per = " / ".join(f"{100 * v:.1f}" for v in s.pcp_per_actor)
            print(f"| {name} | {rule} | {100 * (published_pcp(s) or np.nan):.1f} | "
                  f"{100 * s.pcp:.1f} | {per} | "
                  f"{100 * s.pcp_per_limb[PCP_LIMB_NAMES.index('head')]:.1f} | "
                  f"{100 * s.pcp_per_limb[PCP_LIMB_NAMES.index('torso')]:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
