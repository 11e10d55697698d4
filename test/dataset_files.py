"""Writers of the public data set formats, for the loader tests: a small scene of real motion
capture (core/mocap_scenes) seen by a ring of virtual cameras (core/mocap_views), written out
the way Campus/Shelf, CMU Panoptic, OpenPose and COCO files are (docs/datasets.md)."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pose3d_ros.core import mocap_scenes as ms
from pose3d_ros.core import mocap_views as mv
from pose3d_ros.core.camera import Rig
from pose3d_ros.core.datasets.bottom_up import BOTTOM_UP_TYPES
from pose3d_ros.core.layouts import BODY25, COCO17, H36M17, PANOPTIC19, SHELF15, convert_joints
from pose3d_ros.core.mocap import load_mocap
from pose3d_ros.core.multiperson_metrics import to_campus14


@dataclass(frozen=True)
class SyntheticShow:
    """rig; joints (F, P, 17, 3) COCO-17 world metres (z up, NaN = absent); pixels
    (F, V, P, 17, 2) true 2D, NaN where not visible; ids (P,) actor ids."""

    rig: Rig
    joints: np.ndarray
    pixels: np.ndarray
    ids: np.ndarray


def coco17_body(h36m: np.ndarray) -> np.ndarray:
    """(..., 17, 3) H36M-17 mocap joints -> COCO-17, eyes and ears placed beside the nose and
    the head joint (the mocap body has no face)."""
    j = H36M17.index
    lateral = h36m[..., j("left_shoulder"), :] - h36m[..., j("right_shoulder"), :]
    lateral /= np.linalg.norm(lateral, axis=-1, keepdims=True)
    nose, head = h36m[..., j("nose"), :], h36m[..., j("head"), :]
    out = np.full(h36m.shape[:-2] + (17, 3), np.nan)
    for name in COCO17.joint_names:
        if name in H36M17.joint_names:
            out[..., COCO17.index(name), :] = h36m[..., j(name), :]
    up = np.array([0.0, 0.0, 0.03])
    for side, sign in (("left", 1.0), ("right", -1.0)):
        out[..., COCO17.index(f"{side}_eye"), :] = nose + sign * 0.03 * lateral + up
        out[..., COCO17.index(f"{side}_ear"), :] = head + sign * 0.075 * lateral
    return out


def make_show(num_cameras: int = 4, num_people: int = 2, num_frames: int = 12,
              seed: int = 3, distortion: bool = True,
              image_size: tuple[int, int] | None = None) -> SyntheticShow:
    """A small scene (people present throughout) in a ring rig with some lens distortion;
    image_size: every camera's (default: sizes drawn from several)."""
    rng = np.random.default_rng(seed)
    sampling = mv.CameraSampling(distance_m=(4.0, 7.0), height_m=(1.0, 3.0),
                                 roll_deg=(-3.0, 3.0), aim_jitter_m=0.3,
                                 image_sizes=(image_size,) if image_size else
                                 mv.CameraSampling().image_sizes)
    rig = mv.random_ring_rig(num_cameras, rng, sampling, target=(0.0, 0.0, 1.0))
    if distortion:
        rig = Rig(rig.frame_id, [replace(c, dist=np.array([-0.05, 0.01, 1e-4, -2e-4, 0.0]))
                                 for c in rig])
    scene = ms.make_scene(load_mocap(["walk", "dance_a"]), rng, ms.SceneConfig(
        num_people=num_people, num_frames=num_frames, fps=25.0, area_radius=1.2,
        min_separation_m=0.9, enter_leave_probability=0.0))
    joints = coco17_body(scene.joints)
    views = mv.project_scene(rig, joints, occlusion=False)
    pixels = np.where(views.in_image[..., None], views.keypoints, np.nan)
    return SyntheticShow(rig, joints, np.moveaxis(pixels, 2, 1), np.arange(num_people) * 2)


def _partial(values: np.ndarray, layout) -> np.ndarray:
    """COCO-17 (..., 17, C) -> `layout`, neck and pelvis as means, other joints NaN."""
    out = np.full(values.shape[:-2] + (layout.num_joints, values.shape[-1]), np.nan)
    for name in layout.joint_names:
        if name in COCO17.joint_names:
            out[..., layout.index(name), :] = values[..., COCO17.index(name), :]
    pairs = {"neck": ("left_shoulder", "right_shoulder"), "pelvis": ("left_hip", "right_hip")}
    for name, (a, b) in pairs.items():
        if name in layout.joint_names:
            out[..., layout.index(name), :] = 0.5 * (values[..., COCO17.index(a), :]
                                                     + values[..., COCO17.index(b), :])
    return out


def campus14_truth(show: SyntheticShow) -> np.ndarray:
    """(F, P, 14, 3) the show's ground truth as Campus/Shelf annotate it."""
    return to_campus14(show.joints, COCO17, (0.0, 0.0, 1.0))


def write_4da(directory: Path, show: SyntheticShow) -> None:
    """The 4D-association Shelf release: calibration.json, gt.txt, detection/<cam>.txt."""
    from pose3d_ros.core.datasets.campus_shelf import save_4da_calibration

    directory.mkdir(parents=True, exist_ok=True)
    save_4da_calibration(show.rig, directory / "calibration.json")
    truth = campus14_truth(show)
    pelvis = 0.5 * (truth[..., 2:3, :] + truth[..., 3:4, :])
    shelf15 = np.concatenate([truth, pelvis], axis=-2)
    lines = [f"{SHELF15.num_joints}\t{len(shelf15)}"]
    for frame in shelf15:
        lines.append(str(len(frame)))
        for actor, joints in zip(show.ids, frame, strict=True):
            lines.append(str(actor))
            rows = np.vstack([joints.T, np.ones(SHELF15.num_joints)])
            lines += [" ".join(f"{v:.9g}" for v in row) for row in rows]
    (directory / "gt.txt").write_text("\n".join(lines) + "\n")
    (directory / "detection").mkdir(exist_ok=True)
    _, pairs = BOTTOM_UP_TYPES[4]
    body = _partial(show.pixels, BODY25)                            # (F, V, P, 25, 2)
    for v, cam in enumerate(show.rig):
        scale = np.array([cam.width - 1, cam.height - 1])
        out = [f"4\t{len(body)}"]
        for frame in body[:, v]:
            seen = np.isfinite(frame).all(-1)                         # (P, 25)
            who = []
            for j in range(BODY25.num_joints):
                people = np.nonzero(seen[:, j])[0]
                who.append(people)
                xy = frame[people, j] / scale
                out += [str(people.size), " ".join(map(str, xy[:, 0])),
                        " ".join(map(str, xy[:, 1])), " ".join(["0.9"] * people.size)]
            for a, b in pairs:                     # strong within a person, weak across
                same = who[a][:, None] == who[b][None, :]
                out += [" ".join(map(str, row)) for row in np.where(same, 0.8, 0.05)]
        (directory / "detection" / f"{cam.name}.txt").write_text("\n".join(out) + "\n")


def write_voxelpose(directory: Path, show: SyntheticShow, name: str, first_frame: int) -> None:
    """actorsGT.mat (actor3D, frames 0..first_frame + F - 1) and calibration_<name>.json."""
    from scipy.io import savemat

    directory.mkdir(parents=True, exist_ok=True)
    truth = campus14_truth(show)
    n = first_frame + len(truth)
    actors = np.empty((1, truth.shape[1]), dtype=object)
    for p in range(truth.shape[1]):
        frames = np.empty((n, 1), dtype=object)
        for f in range(n):
            frames[f, 0] = (truth[f - first_frame, p] if f >= first_frame
                            else np.zeros((0, 0)))
        actors[0, p] = frames
    savemat(str(directory / "actorsGT.mat"), {"actor3D": actors})
    doc = {cam.name: {"R": cam.R.tolist(), "T": (1000.0 * cam.center[:, None]).tolist(),
                      "fx": cam.K[0, 0], "fy": cam.K[1, 1], "cx": cam.K[0, 2],
                      "cy": cam.K[1, 2], "k": [[cam.dist[0]], [cam.dist[1]], [cam.dist[4]]],
                      "p": [[cam.dist[2]], [cam.dist[3]]]} for cam in show.rig}
    (directory / f"calibration_{name}.json").write_text(json.dumps(doc))


def write_panoptic(directory: Path, show: SyntheticShow, frames: np.ndarray) -> None:
    """calibration_<seq>.json and hdPose3d_stage1_coco19/body3DScene_<frame>.json (cm, y
    down: the show's z-up world turned by x_panoptic = (x, -z, y))."""
    from pose3d_ros.core.datasets.panoptic import save_panoptic_calibration

    directory.mkdir(parents=True, exist_ok=True)
    save_panoptic_calibration(show.rig, directory / f"calibration_{directory.name}.json")
    gt_dir = directory / "hdPose3d_stage1_coco19"
    gt_dir.mkdir(exist_ok=True)
    joints = convert_joints(show.joints, COCO17, PANOPTIC19)
    for frame, people in zip(frames, joints, strict=True):
        bodies = [{"id": int(i), "joints19": np.hstack(
            [100.0 * p, np.ones((19, 1))]).reshape(-1).tolist()}
            for i, p in zip(show.ids, people, strict=True)]
        (gt_dir / f"body3DScene_{int(frame):08d}.json").write_text(
            json.dumps({"version": 0.7, "bodies": bodies}))


PANOPTIC_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def panoptic_show(show: SyntheticShow) -> SyntheticShow:
    """The same show in a y-down world (Panoptic's): points p -> M p, cameras R -> R M^T."""
    m = PANOPTIC_TO_Z_UP.T                                  # z-up -> y-down
    rig = Rig("world", [replace(c, name=f"00_{v + 3:02d}", R=c.R @ m.T)
                        for v, c in enumerate(show.rig)])
    return replace(show, rig=rig, joints=show.joints @ m.T)


def write_openpose(root: Path, show: SyntheticShow, frames: np.ndarray) -> list[Path]:
    """One directory per camera of BODY_25 OpenPose files; returns the directories."""
    body = _partial(show.pixels, BODY25)
    dirs = []
    for v, cam in enumerate(show.rig):
        d = root / cam.name
        d.mkdir(parents=True, exist_ok=True)
        for frame, people in zip(frames, body[:, v], strict=True):
            flat = [np.hstack([np.nan_to_num(p), np.isfinite(p).all(-1, keepdims=True)
                               * 0.9]).reshape(-1).tolist() for p in people]
            doc = {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": f}
                                              for f in flat]}
            (d / f"{cam.name}_{int(frame):012d}_keypoints.json").write_text(json.dumps(doc))
        dirs.append(d)
    return dirs


def write_coco(root: Path, show: SyntheticShow, frames: np.ndarray,
               results: bool = True) -> list[Path]:
    """One COCO keypoint file per camera: a results list, or a data set with images."""
    root.mkdir(parents=True, exist_ok=True)
    files = []
    for v, cam in enumerate(show.rig):
        items, images = [], []
        for frame, people in zip(frames, show.pixels[:, v], strict=True):
            image_id = int(frame) if results else 1000 + int(frame)
            images.append({"id": image_id, "file_name": f"{int(frame):08d}.jpg"})
            for p in people:
                seen = np.isfinite(p).all(-1, keepdims=True)
                kp = np.hstack([np.nan_to_num(p), seen * (0.95 if results else 2)])
                items.append({"image_id": image_id, "category_id": 1,
                              "keypoints": kp.reshape(-1).tolist(), "score": 0.9})
        doc = items if results else {"images": images, "annotations": items}
        path = root / f"{cam.name}.json"
        path.write_text(json.dumps(doc))
        files.append(path)
    return files
