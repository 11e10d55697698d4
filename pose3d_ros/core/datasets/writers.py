"""Write the package's records in the public formats the loaders read (docs/datasets.md):
to export a recording or a generated scene for other systems' evaluation code, and to test
the loaders on files of known content. Every writer is the exact inverse of its loader."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..camera import Rig
from ..layouts import BODY25, COCO17, COCO18, SHELF15, JointLayout
from .bottom_up import BOTTOM_UP_TYPES


def save_4da_calibration(rig: Rig, path: Path | str) -> None:
    """A rig as a 4D-association calibration.json (K, RT, imgSize, distCoeff; metres)."""
    doc = {cam.name: {"K": cam.K.reshape(-1).tolist(),
                      "RT": np.hstack([cam.R, cam.t[:, None]]).reshape(-1).tolist(),
                      "imgSize": [cam.width, cam.height], "distCoeff": cam.dist.tolist()}
           for cam in rig}
    Path(path).write_text(json.dumps(doc, indent=1))


def save_4da_ground_truth(path: Path | str, points: np.ndarray, actor_ids: Sequence[int]
                          ) -> None:
    """(F, P, 15, 3) Shelf-15 metres (an absent person all NaN, a NaN joint invalid) as the
    4D-association gt.txt."""
    points = np.asarray(points, np.float64)
    if points.ndim != 4 or points.shape[2:] != (SHELF15.num_joints, 3):
        raise ValueError(f"ground truth must be (F, P, 15, 3), got {points.shape}")
    lines = [f"{SHELF15.num_joints}\t{len(points)}"]
    for frame in points:
        present = np.isfinite(frame).all(-1).any(-1)
        lines.append(str(int(present.sum())))
        for actor, joints in zip(np.asarray(actor_ids)[present], frame[present], strict=True):
            valid = np.isfinite(joints).all(-1)
            rows = np.vstack([np.where(valid, joints.T, 0.0), valid.astype(float)])
            lines += [str(int(actor))] + [_row(row) for row in rows]
    Path(path).write_text("\n".join(lines) + "\n")


def _row(values: np.ndarray) -> str:
    return " ".join(f"{v:.12g}" for v in values)


def save_bottom_up_file(path: Path | str, people: np.ndarray, layout: JointLayout,
                        image_size: tuple[int, int], within: float = 0.8,
                        across: float = 0.0) -> None:
    """(F, P, J, 3) x, y pixels and score per person (NaN / score 0 = undetected) in BODY_25
    or COCO-18 as a 4D-association detection file: every detected joint a candidate, the
    affinity `within` between joints of one person and `across` between people (a positive
    `across` lets the grouping join complementary fragments of different people, as weak
    real affinities can)."""
    codes = {lay.name: code for code, (lay, _) in BOTTOM_UP_TYPES.items()}
    if layout.name not in codes:
        raise ValueError(f"bottom-up files hold BODY_25 or COCO-18, not {layout.name}")
    _, pairs = BOTTOM_UP_TYPES[codes[layout.name]]
    people = np.asarray(people, np.float64)
    scale = np.array([image_size[0] - 1, image_size[1] - 1])
    out = [f"{codes[layout.name]}\t{len(people)}"]
    for frame in people:
        seen = np.isfinite(frame).all(-1) & (np.nan_to_num(frame[..., 2]) > 0)   # (P, J)
        owners = [np.nonzero(seen[:, j])[0] for j in range(layout.num_joints)]
        for j, who in enumerate(owners):
            xy = frame[who, j, :2] / scale
            out += [str(who.size)] + [_row(v) for v in (xy[:, 0], xy[:, 1], frame[who, j, 2])]
        for a, b in pairs:
            same = owners[a][:, None] == owners[b][None, :]
            out += [_row(row) for row in np.where(same, within, across)]
    Path(path).write_text("\n".join(out) + "\n")


def save_actors_gt(path: Path | str, points: np.ndarray) -> None:
    """(F, P, 14, 3) Campus-14 metres, an absent person all NaN, as actorsGT.mat."""
    from scipy.io import savemat

    points = np.asarray(points, np.float64)
    actors = np.empty((1, points.shape[1]), dtype=object)
    for p in range(points.shape[1]):
        frames = np.empty((len(points), 1), dtype=object)
        for f in range(len(points)):
            present = np.isfinite(points[f, p]).any()
            frames[f, 0] = points[f, p] if present else np.zeros((0, 0))
        actors[0, p] = frames
    savemat(str(path), {"actor3D": actors})


def save_voxelpose_calibration(rig: Rig, path: Path | str) -> None:
    """A rig as VoxelPose's calibration_<name>.json (R, camera centre T in mm, fx fy cx cy,
    k (3), p (2)); the image size is not part of that format."""
    doc = {cam.name: {"R": cam.R.tolist(), "T": (1000.0 * cam.center[:, None]).tolist(),
                      "fx": cam.K[0, 0], "fy": cam.K[1, 1], "cx": cam.K[0, 2],
                      "cy": cam.K[1, 2], "k": [[d] for d in _dist5(cam.dist)[[0, 1, 4]]],
                      "p": [[d] for d in _dist5(cam.dist)[[2, 3]]]} for cam in rig}
    Path(path).write_text(json.dumps(doc))


def _dist5(dist: np.ndarray) -> np.ndarray:
    out = np.zeros(5)
    out[:min(5, dist.size)] = dist[:5]
    return out


def save_panoptic_calibration(rig: Rig, path: Path | str) -> None:
    """A rig as a Panoptic calibration file (HD cameras, centimetres)."""
    doc = {"calibDataSource": "pose3d_ros", "cameras": [
        {"name": cam.name, "type": "hd", "resolution": [cam.width, cam.height],
         "K": cam.K.tolist(), "distCoef": cam.dist.tolist(), "R": cam.R.tolist(),
         "t": (100.0 * cam.t[:, None]).tolist()} for cam in rig]}
    Path(path).write_text(json.dumps(doc))


def save_panoptic_ground_truth(directory: Path | str, frames: Sequence[int],
                               points: np.ndarray, actor_ids: Sequence[int]) -> None:
    """(F, P, 19, 3) Panoptic-19 metres (NaN joint: confidence -1; absent person: left out)
    as hdPose3d_stage1_coco19/body3DScene_<frame>.json files in `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for frame, people in zip(frames, np.asarray(points, np.float64), strict=True):
        bodies = []
        for actor, joints in zip(actor_ids, people, strict=True):
            valid = np.isfinite(joints).all(-1, keepdims=True)
            if valid.any():
                values = np.hstack([np.where(valid, 100.0 * joints, 0.0),
                                    np.where(valid, 1.0, -1.0)])
                bodies.append({"id": int(actor), "joints19": values.reshape(-1).tolist()})
        (directory / f"body3DScene_{int(frame):08d}.json").write_text(
            json.dumps({"version": 0.7, "bodies": bodies}))


def save_openpose_directory(directory: Path | str, name: str, frames: Sequence[int],
                            keypoints: np.ndarray, scores: np.ndarray) -> None:
    """(F, P, J, 2) pixels and (F, P, J) scores in BODY_25 or COCO-18 as OpenPose files
    `<name>_<frame:012d>_keypoints.json` (an undetected joint written 0, 0, 0)."""
    layout = {BODY25.num_joints: BODY25, COCO18.num_joints: COCO18}.get(keypoints.shape[-2])
    if layout is None:
        raise ValueError(f"OpenPose files hold 25 or 18 joints, got {keypoints.shape[-2]}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for frame, kp, sc in zip(frames, keypoints, scores, strict=True):
        seen = np.isfinite(kp).all(-1) & (sc > 0)
        values = np.concatenate([np.where(seen[..., None], kp, 0.0),
                                 np.where(seen, sc, 0.0)[..., None]], axis=-1)
        people = [{"person_id": [-1], "pose_keypoints_2d": v.reshape(-1).tolist()}
                  for v, person_seen in zip(values, seen, strict=True) if person_seen.any()]
        (directory / f"{name}_{int(frame):012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": people}))


def save_coco_keypoints(path: Path | str, frames: Sequence[int], keypoints: np.ndarray,
                        scores: np.ndarray, dataset: bool = False) -> None:
    """(F, P, 17, 2) COCO-17 pixels and (F, P, 17) scores as a COCO results list
    (image_id = frame, v = score) or, with dataset=True, an annotation file with images
    named by frame and visibility flags 2 / 0."""
    items: list[dict] = []
    images: list[dict] = []
    for frame, kp, sc in zip(frames, keypoints, scores, strict=True):
        image_id = int(frame) if not dataset else len(images) + 1
        images.append({"id": image_id, "file_name": f"{int(frame):08d}.jpg"})
        for person_kp, person_sc in zip(kp, sc, strict=True):
            seen = np.isfinite(person_kp).all(-1) & (person_sc > 0)
            if not seen.any():
                continue
            v = np.where(seen, 2.0, 0.0) if dataset else np.where(seen, person_sc, 0.0)
            values = np.concatenate([np.where(seen[:, None], person_kp, 0.0), v[:, None]], 1)
            items.append({"image_id": image_id, "category_id": 1,
                          "keypoints": values.reshape(-1).tolist(),
                          "score": float(person_sc[seen].mean())})
    if keypoints.shape[-2] != COCO17.num_joints:
        raise ValueError(f"COCO keypoints are COCO-17, got {keypoints.shape[-2]} joints")
    doc = {"images": images, "annotations": items} if dataset else items
    Path(path).write_text(json.dumps(doc))
